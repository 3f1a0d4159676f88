/* Listen addresses: every form the SPEC allows, overlaps, formatting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

static int parse(const char *text, struct listen_addr *a)
{
	const char *err = NULL;
	int k = addr_parse(text, "/srv/gw", a, &err);

	ck_assert_msg(k > 0, "%s: %s", text, err ? err : "?");
	return k;
}

static const char *parse_err(const char *text)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	const char *err = NULL;

	ck_assert_int_eq(addr_parse(text, "/srv/gw", a, &err), -1);
	ck_assert_ptr_nonnull(err);
	return err;
}

static const struct sockaddr_in *sin_of(const struct listen_addr *a)
{
	return (const struct sockaddr_in *)&a->ss;
}

static const struct sockaddr_in6 *sin6_of(const struct listen_addr *a)
{
	return (const struct sockaddr_in6 *)&a->ss;
}

static const struct sockaddr_un *sun_of(const struct listen_addr *a)
{
	return (const struct sockaddr_un *)&a->ss;
}

/* Whether the two texts' first addresses overlap. */
static int overlap(const char *x, const char *y)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT], b[ADDR_MAX_PER_TEXT];
	int na = parse(x, a), nb = parse(y, b), hit = 0;

	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			hit |= addr_overlap(&a[i], &b[j]);
	/* Overlap is symmetric. */
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			ck_assert_int_eq(addr_overlap(&a[i], &b[j]),
			    addr_overlap(&b[j], &a[i]));
	return hit;
}

/* ---- addr_parse ---- */

START_TEST(parse_v4)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	char ip[INET_ADDRSTRLEN];

	ck_assert_int_eq(parse("127.0.0.1:8000", a), 1);
	ck_assert_int_eq(a[0].family, AF_INET);
	ck_assert_int_eq(sin_of(a)->sin_family, AF_INET);
	ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(sin_of(a)->sin_port), 8000);
	inet_ntop(AF_INET, &sin_of(a)->sin_addr, ip, sizeof ip);
	ck_assert_str_eq(ip, "127.0.0.1");
	ck_assert_str_eq(a[0].text, "127.0.0.1:8000");
	ck_assert_int_eq(a[0].optional, 0);
	ck_assert_int_eq(a[0].abstract, 0);
}
END_TEST

START_TEST(parse_v4_wildcard_is_plain_v4)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	ck_assert_int_eq(parse("0.0.0.0:80", a), 1);
	ck_assert_int_eq(a[0].family, AF_INET);
	ck_assert_uint_eq(sin_of(a)->sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_int_eq(a[0].any_fallback, 0);
}
END_TEST

START_TEST(parse_v6_in_brackets_is_v6only)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	ck_assert_int_eq(parse("[::1]:8080", a), 1);
	ck_assert_int_eq(a[0].family, AF_INET6);
	ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(sin6_of(a)->sin6_family, AF_INET6);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6_of(a)->sin6_addr));
	ck_assert_uint_eq(ntohs(sin6_of(a)->sin6_port), 8080);
	ck_assert_int_eq(a[0].v6only, 1);
}
END_TEST

START_TEST(parse_v6_wildcard_in_brackets_is_v6only)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	ck_assert_int_eq(parse("[::]:80", a), 1);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6_of(a)->sin6_addr));
	ck_assert_int_eq(a[0].v6only, 1);
	ck_assert_int_eq(a[0].any_fallback, 0);
}
END_TEST

START_TEST(parse_star_is_dual_stack_any)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	ck_assert_int_eq(parse("*:9000", a), 1);
	ck_assert_int_eq(a[0].family, AF_INET6);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6_of(a)->sin6_addr));
	ck_assert_uint_eq(ntohs(sin6_of(a)->sin6_port), 9000);
	ck_assert_int_eq(a[0].v6only, 0);
	ck_assert_int_eq(a[0].any_fallback, 1);
}
END_TEST

START_TEST(parse_localhost_is_two_loopbacks_v6_optional)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	char ip[INET_ADDRSTRLEN];

	ck_assert_int_eq(parse("localhost:7000", a), 2);
	ck_assert_int_eq(a[0].family, AF_INET);
	inet_ntop(AF_INET, &sin_of(&a[0])->sin_addr, ip, sizeof ip);
	ck_assert_str_eq(ip, "127.0.0.1");
	ck_assert_uint_eq(ntohs(sin_of(&a[0])->sin_port), 7000);
	ck_assert_int_eq(a[0].optional, 0);
	ck_assert_int_eq(a[1].family, AF_INET6);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6_of(&a[1])->sin6_addr));
	ck_assert_uint_eq(ntohs(sin6_of(&a[1])->sin6_port), 7000);
	ck_assert_int_eq(a[1].v6only, 1);
	ck_assert_int_eq(a[1].optional, 1);
	ck_assert_str_eq(a[0].text, "localhost:7000");
	ck_assert_str_eq(a[1].text, "localhost:7000");
}
END_TEST

START_TEST(parse_unix_absolute)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	ck_assert_int_eq(parse("unix:/run/gw.sock", a), 1);
	ck_assert_int_eq(a[0].family, AF_UNIX);
	ck_assert_int_eq(sun_of(a)->sun_family, AF_UNIX);
	ck_assert_str_eq(sun_of(a)->sun_path, "/run/gw.sock");
	ck_assert_str_eq(a[0].ipc_path, "/run/gw.sock");
	ck_assert_uint_eq(a[0].len,
	    offsetof(struct sockaddr_un, sun_path) + strlen("/run/gw.sock") + 1);
	ck_assert_int_eq(a[0].abstract, 0);
}
END_TEST

START_TEST(parse_unix_relative_joins_dir)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	parse("unix:run/gw.sock", a);
	ck_assert_str_eq(sun_of(a)->sun_path, "/srv/gw/run/gw.sock");
	ck_assert_str_eq(a[0].ipc_path, "/srv/gw/run/gw.sock");
	ck_assert_str_eq(a[0].text, "unix:run/gw.sock");
}
END_TEST

START_TEST(parse_unix_relative_dot_segments_resolved)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	parse("unix:./run/../gw.sock", a);
	ck_assert_str_eq(a[0].ipc_path, "/srv/gw/gw.sock");
	parse("unix:../gw.sock", a);
	ck_assert_str_eq(a[0].ipc_path, "/srv/gw.sock");
}
END_TEST

START_TEST(parse_unix_abstract_exact_length)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	const struct sockaddr_un *sun;

	ck_assert_int_eq(parse("unix:@gw-echo", a), 1);
	sun = sun_of(a);
	ck_assert_int_eq(a[0].abstract, 1);
	ck_assert_int_eq(sun->sun_path[0], '\0');
	ck_assert_mem_eq(sun->sun_path + 1, "gw-echo", 7);
	/* No trailing NUL counted: the name's exact length. */
	ck_assert_uint_eq(a[0].len, offsetof(struct sockaddr_un, sun_path) + 1 + 7);
	ck_assert_str_eq(a[0].ipc_path, "@gw-echo");
}
END_TEST

START_TEST(parse_unix_path_107_bytes_ok_108_refused)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	char text[128] = "unix:/";

	memset(text + 6, 'p', 106);             /* "/" + 106 = 107 bytes */
	text[6 + 106] = '\0';
	ck_assert_int_eq(parse(text, a), 1);
	ck_assert_uint_eq(strlen(sun_of(a)->sun_path), 107);
	ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_un));
	strcat(text, "p");
	ck_assert_str_eq(parse_err(text), "unix socket path longer than 107 bytes");
}
END_TEST

START_TEST(parse_unix_limit_counts_resolved_path)
{
	char text[128] = "unix:";

	/* "/srv/gw/" is 8 bytes: 100 written become 108 resolved. */
	memset(text + 5, 'r', 100);
	text[105] = '\0';
	ck_assert_str_eq(parse_err(text), "unix socket path longer than 107 bytes");
	text[104] = '\0';
	{
		struct listen_addr a[ADDR_MAX_PER_TEXT];
		parse(text, a);
		ck_assert_uint_eq(strlen(a[0].ipc_path), 107);
	}
}
END_TEST

START_TEST(parse_unix_abstract_107_ok_108_refused)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	char text[128] = "unix:@";

	memset(text + 6, 'n', 107);
	text[6 + 107] = '\0';
	ck_assert_int_eq(parse(text, a), 1);
	ck_assert_uint_eq(a[0].len, sizeof(struct sockaddr_un));
	ck_assert_uint_eq(strlen(a[0].ipc_path), 108);
	strcat(text, "n");
	ck_assert_str_eq(parse_err(text), "abstract socket name longer than 107 bytes");
}
END_TEST

START_TEST(parse_unix_empty_refused)
{
	ck_assert_str_eq(parse_err("unix:"), "empty unix socket path");
	ck_assert_str_eq(parse_err("unix:@"), "empty abstract socket name");
}
END_TEST

START_TEST(parse_port_bounds)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	parse("127.0.0.1:65535", a);
	ck_assert_uint_eq(ntohs(sin_of(a)->sin_port), 65535);
	parse("127.0.0.1:1", a);
	ck_assert_uint_eq(ntohs(sin_of(a)->sin_port), 1);
	ck_assert_str_eq(parse_err("127.0.0.1:65536"), "bad port");
	ck_assert_str_eq(parse_err("127.0.0.1:99999999999999999999999"), "bad port");
}
END_TEST

START_TEST(parse_bad_ports)
{
	ck_assert_str_eq(parse_err("127.0.0.1:"), "bad port");
	ck_assert_str_eq(parse_err("127.0.0.1:http"), "bad port");
	ck_assert_str_eq(parse_err("127.0.0.1:80x"), "bad port");
	ck_assert_str_eq(parse_err("127.0.0.1:-1"), "bad port");
	ck_assert_str_eq(parse_err("127.0.0.1:+80"), "bad port");
	ck_assert_str_eq(parse_err("127.0.0.1: 80"), "bad port");
	ck_assert_str_eq(parse_err("*:"), "bad port");
	ck_assert_str_eq(parse_err("[::1]:"), "bad port");
	ck_assert_str_eq(parse_err("[::1]:x"), "bad port");
	ck_assert_str_eq(parse_err("localhost:70000"), "bad port");
}
END_TEST

START_TEST(parse_v6_needs_brackets)
{
	ck_assert_str_eq(parse_err("::1:80"), "IPv6 addresses need brackets: [IPV6]:PORT");
	ck_assert_str_eq(parse_err("fe80::1:80"), "IPv6 addresses need brackets: [IPV6]:PORT");
}
END_TEST

START_TEST(parse_bad_brackets)
{
	const char *generic =
	    "expected HOST:PORT, [IPV6]:PORT, *:PORT, unix:PATH, unix:@NAME or systemd:NAME";

	ck_assert_str_eq(parse_err("[::1:80"), generic);
	ck_assert_str_eq(parse_err("[::1]80"), generic);
	ck_assert_str_eq(parse_err("[::1]"), generic);
	ck_assert_str_eq(parse_err("[127.0.0.1]:80"), "not a numeric IPv6 address");
	ck_assert_str_eq(parse_err("[localhost]:80"), "not a numeric IPv6 address");
}
END_TEST

START_TEST(parse_host_must_be_numeric)
{
	const char *msg = "host must be a numeric IPv4 address, localhost or *";

	ck_assert_str_eq(parse_err("example.com:80"), msg);
	ck_assert_str_eq(parse_err("1.2.3:80"), msg);
	ck_assert_str_eq(parse_err("256.0.0.1:80"), msg);
	ck_assert_str_eq(parse_err(":80"), msg);
	ck_assert_str_eq(parse_err("LOCALHOST:80"), msg);
}
END_TEST

START_TEST(parse_no_port_at_all)
{
	ck_assert_str_eq(parse_err("8080"),
	    "expected HOST:PORT, [IPV6]:PORT, *:PORT, unix:PATH, unix:@NAME or systemd:NAME");
	ck_assert_str_eq(parse_err(""),
	    "expected HOST:PORT, [IPV6]:PORT, *:PORT, unix:PATH, unix:@NAME or systemd:NAME");
}
END_TEST

START_TEST(parse_text_too_long)
{
	char text[200];

	memset(text, '1', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	ck_assert_str_eq(parse_err(text), "address too long");
}
END_TEST

/* ---- addr_overlap ---- */

START_TEST(overlap_same_v4)
{
	ck_assert(overlap("127.0.0.1:80", "127.0.0.1:80"));
	ck_assert(!overlap("127.0.0.1:80", "127.0.0.2:80"));
	ck_assert(!overlap("127.0.0.1:80", "127.0.0.1:81"));
}
END_TEST

START_TEST(overlap_v4_wildcard_takes_every_v4)
{
	ck_assert(overlap("0.0.0.0:80", "127.0.0.1:80"));
	ck_assert(!overlap("0.0.0.0:80", "127.0.0.1:81"));
}
END_TEST

START_TEST(overlap_star_takes_v4_and_v6)
{
	ck_assert(overlap("*:80", "127.0.0.1:80"));
	ck_assert(overlap("*:80", "0.0.0.0:80"));
	ck_assert(overlap("*:80", "[::1]:80"));
	ck_assert(overlap("*:80", "[::]:80"));
	ck_assert(overlap("*:80", "localhost:80"));
	ck_assert(overlap("*:80", "*:80"));
	ck_assert(!overlap("*:80", "127.0.0.1:8080"));
}
END_TEST

START_TEST(overlap_v6only_wildcard_leaves_v4_alone)
{
	ck_assert(!overlap("[::]:80", "0.0.0.0:80"));
	ck_assert(!overlap("[::]:80", "127.0.0.1:80"));
	ck_assert(overlap("[::]:80", "[::1]:80"));
}
END_TEST

START_TEST(overlap_localhost_with_either_loopback)
{
	ck_assert(overlap("localhost:80", "127.0.0.1:80"));
	ck_assert(overlap("localhost:80", "[::1]:80"));
	ck_assert(!overlap("localhost:80", "[::2]:80"));
	ck_assert(!overlap("localhost:80", "localhost:81"));
}
END_TEST

START_TEST(localhost_entries_do_not_overlap_each_other)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	parse("localhost:80", a);
	ck_assert(!addr_overlap(&a[0], &a[1]));
}
END_TEST

START_TEST(overlap_unix_same_path)
{
	ck_assert(overlap("unix:/srv/gw/a.sock", "unix:a.sock"));
	ck_assert(overlap("unix:@a", "unix:@a"));
	ck_assert(!overlap("unix:/srv/gw/a.sock", "unix:b.sock"));
	ck_assert(!overlap("unix:@a", "unix:@ab"));
	ck_assert(!overlap("unix:@a", "unix:/a"));
}
END_TEST

START_TEST(parse_systemd_names)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];

	ck_assert_int_eq(parse("systemd:web", a), 1);
	ck_assert(a[0].systemd);
	ck_assert_str_eq(addr_systemd_name(&a[0]), "web");
	ck_assert_int_eq(a[0].family, 0);
	ck_assert_int_eq(parse("systemd:gateway.http-1", a), 1);
	ck_assert_str_eq(parse_err("systemd:"), "empty systemd socket name");
	ck_assert_str_eq(parse_err("systemd:a:b"),
	    "a systemd socket name is printable ASCII without blanks or ':'");
	ck_assert_str_eq(parse_err("systemd:a b"),
	    "a systemd socket name is printable ASCII without blanks or ':'");
}
END_TEST

START_TEST(systemd_same_by_name_only)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT], b[ADDR_MAX_PER_TEXT];

	parse("systemd:web", a);
	parse("systemd:web", b);
	ck_assert(addr_same(&a[0], &b[0]));
	parse("systemd:api", b);
	ck_assert(!addr_same(&a[0], &b[0]));
	/* What a passed socket is bound to is not known from the config. */
	ck_assert(overlap("systemd:web", "systemd:web"));
	ck_assert(!overlap("systemd:web", "systemd:api"));
	ck_assert(!overlap("systemd:web", "127.0.0.1:80"));
	ck_assert(!overlap("systemd:web", "unix:web"));
}
END_TEST

START_TEST(overlap_unix_same_path_written_differently)
{
	ck_assert(overlap("unix:./a.sock", "unix:a.sock"));
	ck_assert(overlap("unix:/srv//gw/a.sock", "unix:/srv/gw/a.sock"));
}
END_TEST

START_TEST(overlap_never_across_unix_and_inet)
{
	ck_assert(!overlap("unix:@80", "*:80"));
	ck_assert(!overlap("unix:/x", "127.0.0.1:80"));
}
END_TEST

/* ---- addr_same (the reload diff) ---- */

START_TEST(same_distinguishes_star_from_v6_wildcard)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT], b[ADDR_MAX_PER_TEXT];

	parse("*:80", a);
	parse("[::]:80", b);
	ck_assert(!addr_same(&a[0], &b[0]));
	parse("[::]:80", a);
	ck_assert(addr_same(&a[0], &b[0]));
}
END_TEST

/* ---- addr_host_port / addr_format ---- */

START_TEST(host_port_v4)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(51122) };
	char host[64];
	unsigned port = 0;

	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	ck_assert_int_eq(addr_host_port((struct sockaddr *)&sin, host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "10.1.2.3");
	ck_assert_uint_eq(port, 51122);
}
END_TEST

START_TEST(host_port_v6_rfc5952_no_brackets)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	char host[64];
	unsigned port = 0;

	inet_pton(AF_INET6, "2001:0db8:0000:0000:0000:0000:0000:0001", &sin6.sin6_addr);
	ck_assert_int_eq(addr_host_port((struct sockaddr *)&sin6, host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "2001:db8::1");
	ck_assert_uint_eq(port, 443);
}
END_TEST

START_TEST(host_port_v4_mapped_is_dotted_v4)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(4000) };
	char host[64];
	unsigned port = 0;

	inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr);
	ck_assert_int_eq(addr_host_port((struct sockaddr *)&sin6, host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "192.0.2.7");
	ck_assert_uint_eq(port, 4000);
}
END_TEST

START_TEST(host_port_unix_has_none)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char host[64];
	unsigned port;

	ck_assert_int_eq(addr_host_port((struct sockaddr *)&sun, host, sizeof host, &port), -1);
}
END_TEST

static void format_text(const char *text, const char *want)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	char out[160];

	parse(text, a);
	addr_format((struct sockaddr *)&a[0].ss, a[0].len, out, sizeof out);
	ck_assert_str_eq(out, want);
}

START_TEST(format_inet)
{
	format_text("127.0.0.1:80", "127.0.0.1:80");
	format_text("[::1]:8080", "[::1]:8080");
	format_text("*:9", "[::]:9");
}
END_TEST

START_TEST(format_v4_mapped_as_v4)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(51122) };
	char out[64];

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	addr_format((struct sockaddr *)&sin6, sizeof sin6, out, sizeof out);
	ck_assert_str_eq(out, "127.0.0.1:51122");
}
END_TEST

START_TEST(format_unix)
{
	format_text("unix:/run/a.sock", "unix:/run/a.sock");
	format_text("unix:rel.sock", "unix:/srv/gw/rel.sock");
	format_text("unix:@abs", "unix:@abs");
}
END_TEST

START_TEST(format_unnamed_unix_peer)
{
	struct sockaddr_un sun;
	char out[64];

	/* An unbound client: only the family, sun_path untouched. */
	memset(&sun, 'x', sizeof sun);
	sun.sun_family = AF_UNIX;
	addr_format((struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path),
	    out, sizeof out);
	ck_assert_str_eq(out, "unix:");
}
END_TEST

START_TEST(format_truncates_to_buffer)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	char out[8];

	parse("127.0.0.1:80", a);
	addr_format((struct sockaddr *)&a[0].ss, a[0].len, out, sizeof out);
	ck_assert_str_eq(out, "127.0.0");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("addr");
	TCase *p = tcase_create("parse");
	TCase *o = tcase_create("overlap");
	TCase *f = tcase_create("format");

	tcase_add_test(p, parse_v4);
	tcase_add_test(p, parse_v4_wildcard_is_plain_v4);
	tcase_add_test(p, parse_v6_in_brackets_is_v6only);
	tcase_add_test(p, parse_v6_wildcard_in_brackets_is_v6only);
	tcase_add_test(p, parse_star_is_dual_stack_any);
	tcase_add_test(p, parse_localhost_is_two_loopbacks_v6_optional);
	tcase_add_test(p, parse_unix_absolute);
	tcase_add_test(p, parse_unix_relative_joins_dir);
	tcase_add_test(p, parse_unix_relative_dot_segments_resolved);
	tcase_add_test(p, parse_unix_abstract_exact_length);
	tcase_add_test(p, parse_unix_path_107_bytes_ok_108_refused);
	tcase_add_test(p, parse_unix_limit_counts_resolved_path);
	tcase_add_test(p, parse_unix_abstract_107_ok_108_refused);
	tcase_add_test(p, parse_unix_empty_refused);
	tcase_add_test(p, parse_port_bounds);
	tcase_add_test(p, parse_bad_ports);
	tcase_add_test(p, parse_v6_needs_brackets);
	tcase_add_test(p, parse_bad_brackets);
	tcase_add_test(p, parse_host_must_be_numeric);
	tcase_add_test(p, parse_no_port_at_all);
	tcase_add_test(p, parse_text_too_long);
	tcase_add_test(p, parse_systemd_names);
	suite_add_tcase(s, p);

	tcase_add_test(o, overlap_same_v4);
	tcase_add_test(o, overlap_v4_wildcard_takes_every_v4);
	tcase_add_test(o, overlap_star_takes_v4_and_v6);
	tcase_add_test(o, overlap_v6only_wildcard_leaves_v4_alone);
	tcase_add_test(o, overlap_localhost_with_either_loopback);
	tcase_add_test(o, localhost_entries_do_not_overlap_each_other);
	tcase_add_test(o, overlap_unix_same_path);
	tcase_add_test(o, overlap_unix_same_path_written_differently);
	tcase_add_test(o, overlap_never_across_unix_and_inet);
	tcase_add_test(o, same_distinguishes_star_from_v6_wildcard);
	tcase_add_test(o, systemd_same_by_name_only);
	suite_add_tcase(s, o);

	tcase_add_test(f, host_port_v4);
	tcase_add_test(f, host_port_v6_rfc5952_no_brackets);
	tcase_add_test(f, host_port_v4_mapped_is_dotted_v4);
	tcase_add_test(f, host_port_unix_has_none);
	tcase_add_test(f, format_inet);
	tcase_add_test(f, format_v4_mapped_as_v4);
	tcase_add_test(f, format_unix);
	tcase_add_test(f, format_unnamed_unix_peer);
	tcase_add_test(f, format_truncates_to_buffer);
	suite_add_tcase(s, f);
	return s;
}

UNIT_MAIN(suite)
