/* The Host header: what the gateway takes for a host. Host becomes
 * SERVER_NAME, from which programs build their links and redirects, so a
 * value that is not a host name or an address (a path, a blank, markup,
 * a second host after a comma) is refused with 400 rather than handed on.
 * Stricter than RFC 3986's reg-name, which also allows percent-encoding
 * and sub-delims no name in DNS has. */
#include "host.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define LABEL_MAX 63            /* RFC 1035 2.3.4 */
#define DNS_NAME_MAX 253        /* a DNS name's most, final dot aside */

static int name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A host name, or an IPv4 address (whose digits and dots are one): the
 * length of its run at the start of v, or -1. */
static int host_name(const char *v)
{
	size_t i = 0, label = 0;

	for (; v[i] && v[i] != ':'; i++) {
		if (v[i] == '.') {
			/* No empty label: ".x", "a..b", "." */
			if (label == 0)
				return -1;
			label = 0;
		} else if (!name_char((unsigned char)v[i]) || ++label > LABEL_MAX) {
			return -1;
		}
	}
	if (i == 0 || i - (label == 0) > DNS_NAME_MAX)
		return -1;
	return (int)i;
}

/* "[v6]": the length up to and with ']', or -1. No zone ("%25eth0",
 * RFC 6874) and no IPvFuture: neither names this server. */
static int ip_literal(const char *v)
{
	const char *close = strchr(v, ']');
	struct in6_addr a;
	char text[INET6_ADDRSTRLEN];
	size_t n;

	if (!close)
		return -1;
	n = (size_t)(close - v - 1);
	if (n == 0 || n >= sizeof text)
		return -1;
	memcpy(text, v + 1, n);
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1)
		return -1;
	return (int)(n + 2);
}

/* ":" then at most five digits, 65535 at most; "" too. */
static int port_ok(const char *p)
{
	unsigned long v = 0;
	size_t n = 0;

	if (*p == '\0')
		return 1;
	if (*p++ != ':')
		return 0;
	for (; p[n]; n++) {
		if (p[n] < '0' || p[n] > '9' || n == 5)
			return 0;
		v = v * 10 + (unsigned long)(p[n] - '0');
	}
	return v <= 65535;
}

int host_split(const char *value, size_t *hostlen)
{
	int n;

	if (*value == '\0') {
		*hostlen = 0;
		return 0;
	}
	n = value[0] == '[' ? ip_literal(value) : host_name(value);
	if (n < 0 || !port_ok(value + n))
		return -1;
	*hostlen = (size_t)n;
	return 0;
}
