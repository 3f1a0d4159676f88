/* The HAProxy PROXY protocol, versions 1 and 2 (HAProxy's proxy-protocol
 * specification): parsing the header a proxy puts before the client's
 * bytes. Pure: no I/O. */
#ifndef GATEWAY_PROXY_H
#define GATEWAY_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_V1 1
#define PROXY_V2 2
#define PROXY_ANY (PROXY_V1 | PROXY_V2)

#define PROXY_V1_MAX 107        /* a v1 line, CRLF included */
#define PROXY_V2_MAX (16 + 65535)

struct proxy_header {
	int version;                    /* 1 or 2 */
	/* 0: LOCAL (v2), UNKNOWN (v1), UNSPEC or UNIX (v2): the connection
	 * keeps the socket's own addresses. 1: src/dst are the client's and
	 * the proxy's listening address (AF_INET or AF_INET6, ports set). */
	int proxied;
	struct sockaddr_storage src, dst;
};

/* Looks at the first len bytes of a connection (len may be anything from
 * 0 up) accepting the versions given (PROXY_V1, PROXY_V2, PROXY_ANY).
 * Returns:
 *   n > 0  the header is complete and n bytes long (n <= len): the
 *          client's own bytes start at buf[n]; *h is filled;
 *   0      no verdict yet: every one of the len bytes belongs to the
 *          header, more are needed;
 *   -1     not a valid header of an accepted version (a wrong signature
 *          is found as early as the first byte that differs; a v1 line
 *          without CRLF within 107 bytes, bad numbers, bad addresses, a
 *          v2 length too short for its family, a bad command or version
 *          nibble: all -1). */
int proxy_parse(const uint8_t *buf, size_t len, int versions,
    struct proxy_header *h);

#endif
