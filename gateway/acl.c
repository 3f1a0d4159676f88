#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* A v4-mapped block (::ffff:a.b.c.d/N, N at least 96) is kept as the v4
 * block it maps, a.b.c.d/(N-96): a v4-mapped peer is matched as its v4
 * address, so a mapped entry would otherwise match no one, and a deny
 * written that way would let everyone in. A wider v6 block (::/0) stays
 * a v6 block: it matches v6 clients only. */
static void unmap_v4(struct cidr *c)
{
	struct in6_addr in6;

	memcpy(&in6, c->addr, sizeof in6);
	if (c->family != AF_INET6 || c->prefix < 96 || !IN6_IS_ADDR_V4MAPPED(&in6))
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, sizeof c->addr - 4);
	c->family = AF_INET;
	c->prefix -= 96;
}

int cidr_parse(const char *text, struct cidr *out, const char **err)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;

	memset(out, 0, sizeof *out);
	if (n == 0 || n >= sizeof host) {
		*err = "expected an address or CIDR block";
		return -1;
	}
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		*err = "not a numeric IPv4 or IPv6 address";
		return -1;
	}
	out->prefix = max;
	if (slash) {
		char *end;
		unsigned long p;
		if (slash[1] < '0' || slash[1] > '9') {
			*err = "bad prefix length";
			return -1;
		}
		p = strtoul(slash + 1, &end, 10);
		if (*end || p > max) {
			*err = "bad prefix length";
			return -1;
		}
		out->prefix = (unsigned)p;
	}
	for (unsigned bit = out->prefix; bit < max; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8))) {
			*err = "host bits set beyond the prefix length";
			return -1;
		}
	unmap_v4(out);
	return 0;
}

int acl_add(struct acl *a, const struct cidr *c)
{
	struct cidr *v = realloc(a->v, (a->n + 1) * sizeof *v);

	if (!v)
		return -ENOMEM;
	a->v = v;
	a->v[a->n++] = *c;
	return 0;
}

void acl_free(struct acl *a)
{
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static int prefix_equal(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(x, y, bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((x[bytes] ^ y[bytes]) & (0xff00 >> rest)) == 0;
}

int acl_match(const struct acl *a, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family;

	if (sa->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		family = AF_INET6;
		addr = in6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].family == family &&
		    prefix_equal(a->v[i].addr, addr, a->v[i].prefix))
			return 1;
	return 0;
}

static int acl_has(const struct acl *a, const struct cidr *c)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].family == c->family && a->v[i].prefix == c->prefix &&
		    memcmp(a->v[i].addr, c->addr, sizeof c->addr) == 0)
			return 1;
	return 0;
}

int acl_equal(const struct acl *a, const struct acl *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!acl_has(b, &a->v[i]))
			return 0;
	for (size_t i = 0; i < b->n; i++)
		if (!acl_has(a, &b->v[i]))
			return 0;
	return 1;
}
