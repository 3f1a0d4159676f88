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

#define PROXY_AUTHORITY_MAX 255 /* HAProxy's own bound; a host name is 254 at most */
#define PROXY_ALPN_MAX 255      /* an ALPN protocol id's most (RFC 7301 3.1) */
#define PROXY_UNIQUE_ID_MAX 128 /* the specification's (2.2.5) */

/* What a v2 header's TLVs say of the client's connection to the proxy
 * (the specification's 2.2), kept as copies a child's environment can
 * carry: NUL-terminated printable ASCII (blanks included), "" when the
 * TLV was not sent or is left out. The first TLV of a kind counts; one
 * left out is empty, longer than its bound or has another byte, and an
 * authority must be a host name (host.h, no port). A TLV cut short by
 * the header's length ends the list: what came before it counts. */
struct proxy_tlvs {
	int ssl;                        /* PP2_TYPE_SSL with PP2_CLIENT_SSL: TLS */
	char authority[PROXY_AUTHORITY_MAX + 1];   /* PP2_TYPE_AUTHORITY: the SNI */
	char alpn[PROXY_ALPN_MAX + 1];             /* PP2_TYPE_ALPN */
	char unique_id[PROXY_UNIQUE_ID_MAX + 1];   /* PP2_TYPE_UNIQUE_ID */
};

struct proxy_header {
	int version;                    /* 1 or 2 */
	/* 0: LOCAL (v2), UNKNOWN (v1), UNSPEC or UNIX (v2): the connection
	 * keeps the socket's own addresses. 1: src/dst are the client's and
	 * the proxy's listening address (AF_INET or AF_INET6, ports set). */
	int proxied;
	struct sockaddr_storage src, dst;
	/* v2 under the PROXY command, whatever the family; all zero for v1
	 * and LOCAL (whose block the specification says to discard). */
	struct proxy_tlvs tlvs;
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
 *          nibble: all -1). What the TLVs say never refuses a header:
 *          one the gateway cannot use is left out (struct proxy_tlvs). */
int proxy_parse(const uint8_t *buf, size_t len, int versions,
    struct proxy_header *h);

#endif
