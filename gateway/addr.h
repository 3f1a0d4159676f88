/* Listen addresses: parsing the config's forms, comparing, formatting. */
#ifndef GATEWAY_ADDR_H
#define GATEWAY_ADDR_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* One socket to open. `localhost:P` yields two (127.0.0.1 and ::1, the
 * latter optional where the host has no IPv6). */
struct listen_addr {
	char text[128];                 /* as written in the config */
	struct sockaddr_storage ss;
	socklen_t len;
	int family;                     /* AF_INET, AF_INET6, AF_UNIX */
	int v6only;
	int any_fallback;               /* *:P: 0.0.0.0 when there is no IPv6 */
	int optional;                   /* ::1 of localhost: skip without IPv6 */
	char ipc_path[110];             /* AF_UNIX: path, or @name */
	int abstract;
	int systemd;                    /* systemd:NAME (family 0): addr_systemd_name */
	int line;
};

#define ADDR_MAX_PER_TEXT 2

/* Parses one listen value. Relative unix paths are resolved against dir;
 * systemd:NAME names a socket systemd passes (its FileDescriptorName=).
 * Fills up to ADDR_MAX_PER_TEXT entries and returns how many, or -1 with
 * *err set. */
int addr_parse(const char *text, const char *dir, struct listen_addr *out,
    const char **err);

/* The NAME of systemd:NAME. */
#define addr_systemd_name(a) ((a)->text + 8)

/* Whether two listen addresses are the same socket (a reload keeps it). */
int addr_same(const struct listen_addr *a, const struct listen_addr *b);

/* Whether two listen addresses would take the same connections. */
int addr_overlap(const struct listen_addr *a, const struct listen_addr *b);

/* Numeric host and port of a socket address, v4-mapped v6 as dotted v4,
 * no brackets. Returns 0, or -1 for a family without one. */
int addr_host_port(const struct sockaddr *sa, char *host, size_t hostlen,
    unsigned *port);

/* "1.2.3.4:80", "[::1]:80", "unix:/path" or "unix:@name", for logs. */
void addr_format(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outlen);

#endif
