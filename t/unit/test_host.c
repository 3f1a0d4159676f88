/* The Host header: which values are a host, and the part of one that
 * SERVER_NAME gets. */
#include <string.h>

#include "host.h"
#include "unit.h"

/* The host part host_split finds in v, or "(refused)". */
static const char *host_of(const char *v)
{
	static char out[300];
	size_t n = 12345;

	if (host_split(v, &n) < 0)
		return "(refused)";
	ck_assert_uint_le(n, strlen(v));
	memcpy(out, v, n);
	out[n] = '\0';
	return out;
}

START_TEST(names_and_ports)
{
	ck_assert_str_eq(host_of("example.org"), "example.org");
	ck_assert_str_eq(host_of("Example.ORG:8080"), "Example.ORG");
	ck_assert_str_eq(host_of("example.org."), "example.org.");
	ck_assert_str_eq(host_of("example.org.:443"), "example.org.");
	ck_assert_str_eq(host_of("my_service:80"), "my_service");
	ck_assert_str_eq(host_of("a-b.c-d"), "a-b.c-d");
	ck_assert_str_eq(host_of("h:"), "h");
	ck_assert_str_eq(host_of("h:0"), "h");
	ck_assert_str_eq(host_of("h:00080"), "h");
	ck_assert_str_eq(host_of("h:65535"), "h");
	ck_assert_str_eq(host_of("h:65536"), "(refused)");
	ck_assert_str_eq(host_of("h:000080"), "(refused)");
	ck_assert_str_eq(host_of("h:8o"), "(refused)");
	ck_assert_str_eq(host_of("h:-1"), "(refused)");
	ck_assert_str_eq(host_of("h:1:2"), "(refused)");
	ck_assert_str_eq(host_of(":80"), "(refused)");
}
END_TEST

START_TEST(addresses)
{
	ck_assert_str_eq(host_of("192.0.2.1"), "192.0.2.1");
	ck_assert_str_eq(host_of("192.0.2.1:80"), "192.0.2.1");
	ck_assert_str_eq(host_of("[::1]"), "[::1]");
	ck_assert_str_eq(host_of("[2001:db8::1]:8443"), "[2001:db8::1]");
	ck_assert_str_eq(host_of("[::ffff:192.0.2.1]:1"), "[::ffff:192.0.2.1]");
	ck_assert_str_eq(host_of("[::1]:"), "[::1]");
	/* A v6 address needs its brackets; a zone or IPvFuture names no
	 * address of this server. */
	ck_assert_str_eq(host_of("::1"), "(refused)");
	ck_assert_str_eq(host_of("2001:db8::1"), "(refused)");
	ck_assert_str_eq(host_of("[::1"), "(refused)");
	ck_assert_str_eq(host_of("[::1]]"), "(refused)");
	ck_assert_str_eq(host_of("[::1]80"), "(refused)");
	ck_assert_str_eq(host_of("[]"), "(refused)");
	ck_assert_str_eq(host_of("[192.0.2.1]"), "(refused)");
	ck_assert_str_eq(host_of("[fe80::1%25eth0]"), "(refused)");
	ck_assert_str_eq(host_of("[v1.fe80::a]"), "(refused)");
	ck_assert_str_eq(host_of("[example.org]"), "(refused)");
	ck_assert_str_eq(host_of("[1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17]"),
	    "(refused)");
}
END_TEST

/* An empty Host is what a client sends for a target without an
 * authority (RFC 9112 3.2): valid, with no name in it. */
START_TEST(empty_is_valid_and_names_nothing)
{
	size_t n = 7;

	ck_assert_int_eq(host_split("", &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(what_is_not_a_host)
{
	static const char *const bad[] = {
		".", "..", ".example.org", "example..org", "example.org..",
		"exa mple.org", "example.org/", "/", "example.org?x", "a#b",
		"user@example.org", "user:pw@example.org", "ex%41mple.org",
		"a,b", "a;b", "<b>", "\"h\"", "h\t", "*", "a+b", "a~b", "a!b",
		"caf\xc3\xa9.example", "h\x7f",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(strcmp(host_of(bad[i]), "(refused)") == 0,
		    "accepted: '%s'", bad[i]);
}
END_TEST

/* 63 characters a label (RFC 1035 2.3.4), 253 a name, a final dot
 * aside. */
START_TEST(lengths)
{
	char v[300];

	memset(v, 'a', 63);
	v[63] = '\0';
	ck_assert_str_eq(host_of(v), v);
	memset(v, 'a', 64);
	v[64] = '\0';
	ck_assert_str_eq(host_of(v), "(refused)");
	/* Four labels: 63 + 63 + 63 + 61 characters and three dots. */
	memset(v, 'b', 253);
	v[63] = v[127] = v[191] = '.';
	v[253] = '\0';
	ck_assert_str_eq(host_of(v), v);
	strcpy(v + 253, ".:80");
	ck_assert_uint_eq(strlen(host_of(v)), 254);
	v[253] = 'b';
	v[254] = '\0';
	ck_assert_str_eq(host_of(v), "(refused)");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("host");
	TCase *t = tcase_create("host");

	tcase_add_test(t, names_and_ports);
	tcase_add_test(t, addresses);
	tcase_add_test(t, empty_is_valid_and_names_nothing);
	tcase_add_test(t, what_is_not_a_host);
	tcase_add_test(t, lengths);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)
