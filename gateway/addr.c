#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, unsigned short *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

static void set_v4(struct listen_addr *a, const char *ip, unsigned short port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	a->family = AF_INET;
	a->len = sizeof *sin;
}

static void set_v6(struct listen_addr *a, const struct in6_addr *ip,
    unsigned short port, int v6only)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = *ip;
	a->family = AF_INET6;
	a->len = sizeof *sin6;
	a->v6only = v6only;
}

/* Removes ".", ".." and repeated slashes of an absolute path in place,
 * lexically, as value_path does for exec and cwd: one file written two ways
 * must be seen as one socket (overlaps, the reload diff). */
static void path_clean(char *path)
{
	char *w = path;
	const char *r = path;

	while (*r) {
		const char *seg;
		size_t len;

		while (*r == '/')
			r++;
		seg = r;
		len = strcspn(r, "/");
		r += len;
		if (len == 0 || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (w > path && *--w != '/')
				;
			continue;
		}
		*w++ = '/';
		memmove(w, seg, len);
		w += len;
	}
	if (w == path)
		*w++ = '/';
	*w = '\0';
}

static int parse_unix(const char *spec, const char *dir,
    struct listen_addr *a, const char **err)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
	size_t max = sizeof sun->sun_path - 1; /* 107 */
	size_t n;
	char *path;

	sun->sun_family = AF_UNIX;
	a->family = AF_UNIX;
	if (spec[0] == '@') {
		n = strlen(spec + 1);
		if (n == 0 || n > max) {
			*err = n ? "abstract socket name longer than 107 bytes"
			    : "empty abstract socket name";
			return -1;
		}
		/* The name's exact length, no trailing NULs, as socat and
		 * systemd use: otherwise clients could not find it. */
		memcpy(sun->sun_path + 1, spec + 1, n);
		a->len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
		a->abstract = 1;
		snprintf(a->ipc_path, sizeof a->ipc_path, "@%s", spec + 1);
		return 1;
	}
	if (!*spec) {
		*err = "empty unix socket path";
		return -1;
	}
	if (asprintf(&path, "%s/%s", spec[0] == '/' ? "" : dir, spec) < 0) {
		*err = "out of memory";
		return -1;
	}
	path_clean(path);
	n = strlen(path);
	if (n > max) {
		free(path);
		*err = "unix socket path longer than 107 bytes";
		return -1;
	}
	memcpy(sun->sun_path, path, n + 1);
	free(path);
	a->len = offsetof(struct sockaddr_un, sun_path) + n + 1;
	memcpy(a->ipc_path, sun->sun_path, n + 1);
	return 1;
}

/* A socket systemd passes, by the name its unit gives it
 * (FileDescriptorName=: printable ASCII, no ':', at most 255 bytes). */
static int parse_systemd(const char *name, struct listen_addr *a, const char **err)
{
	if (!*name) {
		*err = "empty systemd socket name";
		return -1;
	}
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == ':') {
			*err = "a systemd socket name is printable ASCII without blanks or ':'";
			return -1;
		}
	a->systemd = 1;
	return 1;
}

int addr_parse(const char *text, const char *dir, struct listen_addr *out,
    const char **err)
{
	char host[128];
	const char *colon;
	unsigned short port;
	struct in6_addr in6;
	struct in_addr in4;

	memset(out, 0, ADDR_MAX_PER_TEXT * sizeof *out);
	if (strlen(text) >= sizeof out->text) {
		*err = "address too long";
		return -1;
	}
	for (int i = 0; i < ADDR_MAX_PER_TEXT; i++)
		strcpy(out[i].text, text);
	if (strncmp(text, "unix:", 5) == 0)
		return parse_unix(text + 5, dir, out, err);
	if (strncmp(text, "systemd:", 8) == 0)
		return parse_systemd(text + 8, out, err);

	*err = "expected HOST:PORT, [IPV6]:PORT, *:PORT, unix:PATH, unix:@NAME or systemd:NAME";
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' ||
		    (size_t)(close - text - 1) >= sizeof host)
			return -1;
		memcpy(host, text + 1, close - text - 1);
		host[close - text - 1] = '\0';
		colon = close + 1;
		if (inet_pton(AF_INET6, host, &in6) != 1) {
			*err = "not a numeric IPv6 address";
			return -1;
		}
		if (parse_port(colon + 1, &port) < 0) {
			*err = "bad port";
			return -1;
		}
		set_v6(out, &in6, port, 1);
		return 1;
	}
	colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof host)
		return -1;
	memcpy(host, text, colon - text);
	host[colon - text] = '\0';
	if (parse_port(colon + 1, &port) < 0) {
		*err = "bad port";
		return -1;
	}
	if (strcmp(host, "*") == 0) {
		set_v6(out, &in6addr_any, port, 0);
		out->any_fallback = 1;
		return 1;
	}
	if (strcmp(host, "localhost") == 0) {
		set_v4(&out[0], "127.0.0.1", port);
		set_v6(&out[1], &in6addr_loopback, port, 1);
		out[1].optional = 1;
		return 2;
	}
	if (inet_pton(AF_INET, host, &in4) != 1) {
		*err = strchr(host, ':') ? "IPv6 addresses need brackets: [IPV6]:PORT"
		    : "host must be a numeric IPv4 address, localhost or *";
		return -1;
	}
	set_v4(out, host, port);
	return 1;
}

static unsigned short port_of(const struct listen_addr *a)
{
	if (a->family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* The v4 address a v6 listener would also take, if any: a dual-stack
 * wildcard takes every v4 address; a v4-mapped address its v4 one. */
static int is_any(const struct listen_addr *a)
{
	if (a->family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

int addr_same(const struct listen_addr *a, const struct listen_addr *b)
{
	if (a->systemd || b->systemd)
		return a->systemd && b->systemd &&
		    strcmp(addr_systemd_name(a), addr_systemd_name(b)) == 0;
	return a->family == b->family && a->len == b->len &&
	    a->v6only == b->v6only && memcmp(&a->ss, &b->ss, a->len) == 0;
}

int addr_overlap(const struct listen_addr *a, const struct listen_addr *b)
{
	/* What a passed socket is bound to is known only when it comes. */
	if (a->systemd || b->systemd)
		return addr_same(a, b);
	if ((a->family == AF_UNIX) != (b->family == AF_UNIX))
		return 0;
	if (a->family == AF_UNIX)
		return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
	if (port_of(a) != port_of(b) || port_of(a) == 0)
		return 0;
	if (a->family == b->family) {
		if (is_any(a) || is_any(b))
			return 1;
		if (a->family == AF_INET)
			return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
			    ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
		return IN6_ARE_ADDR_EQUAL(
		    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		    &((const struct sockaddr_in6 *)&b->ss)->sin6_addr);
	}
	/* v4 beside v6: only a dual-stack v6 wildcard takes v4 too. */
	{
		const struct listen_addr *v6 = a->family == AF_INET6 ? a : b;
		return !v6->v6only && is_any(v6);
	}
}

int addr_host_port(const struct sockaddr *sa, char *host, size_t hostlen,
    unsigned *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, hostlen);
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host, hostlen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, host, hostlen);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -1;
}

void addr_format(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outlen)
{
	char host[64];
	unsigned port;

	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
		size_t n = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) : 0;
		/* Only len bytes are the address: an unbound peer has none,
		 * and a full-length path has no NUL. */
		if (n > sizeof sun->sun_path)
			n = sizeof sun->sun_path;
		if (n > 0 && sun->sun_path[0] == '\0')
			snprintf(out, outlen, "unix:@%.*s", (int)(n - 1),
			    sun->sun_path + 1);
		else
			snprintf(out, outlen, "unix:%.*s",
			    (int)strnlen(sun->sun_path, n), sun->sun_path);
		return;
	}
	if (addr_host_port(sa, host, sizeof host, &port) < 0) {
		snprintf(out, outlen, "?");
		return;
	}
	if (strchr(host, ':'))
		snprintf(out, outlen, "[%s]:%u", host, port);
	else
		snprintf(out, outlen, "%s:%u", host, port);
}
