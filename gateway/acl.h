/* Client address lists (allow/deny): addresses and CIDR blocks, v4 and v6. */
#ifndef GATEWAY_ACL_H
#define GATEWAY_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family;                     /* AF_INET or AF_INET6 */
	uint8_t addr[16];               /* network order; v4 in the first 4 */
	unsigned prefix;
};

struct acl {
	struct cidr *v;
	size_t n;
};

/* "10.0.0.0/8", "::1", "2001:db8::/32". Host bits beyond the prefix are
 * an error (a typo more often than not). A v4-mapped block
 * ("::ffff:10.0.0.0/104") is returned as the v4 block it maps
 * ("10.0.0.0/8"). Returns 0 or -1 with *err. */
int cidr_parse(const char *text, struct cidr *out, const char **err);

/* Appends a parsed block; -ENOMEM. */
int acl_add(struct acl *a, const struct cidr *c);
void acl_free(struct acl *a);

/* Whether two lists hold the same blocks, in any order. */
int acl_equal(const struct acl *a, const struct acl *b);

/* Whether the address (sockaddr_in or sockaddr_in6; a v4-mapped v6
 * address is matched as its v4 address) is in one of the blocks. */
int acl_match(const struct acl *a, const struct sockaddr *sa);

#endif
