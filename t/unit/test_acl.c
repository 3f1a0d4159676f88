/* allow/deny: CIDR parsing and matching, v4, v6 and v4-mapped peers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "acl.h"
#include "unit.h"

static struct sockaddr_storage peer(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

static struct acl list(const char *const *blocks, size_t n)
{
	struct acl a = { 0 };
	const char *err;

	for (size_t i = 0; i < n; i++) {
		struct cidr c;
		ck_assert_msg(cidr_parse(blocks[i], &c, &err) == 0, "%s: %s", blocks[i], err);
		ck_assert_int_eq(acl_add(&a, &c), 0);
	}
	return a;
}

#define LIST(...) list((const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static int matches(const struct acl *a, const char *ip)
{
	struct sockaddr_storage ss = peer(ip);

	return acl_match(a, (struct sockaddr *)&ss);
}

START_TEST(v4_block)
{
	struct acl a = LIST("10.0.0.0/8");

	ck_assert(matches(&a, "10.1.2.3"));
	ck_assert(matches(&a, "10.255.255.255"));
	ck_assert(!matches(&a, "11.0.0.0"));
	ck_assert(!matches(&a, "9.255.255.255"));
	acl_free(&a);
}
END_TEST

START_TEST(v4_odd_prefix)
{
	struct acl a = LIST("192.168.4.0/22");

	ck_assert(matches(&a, "192.168.7.255"));
	ck_assert(!matches(&a, "192.168.8.0"));
	ck_assert(!matches(&a, "192.168.3.255"));
	acl_free(&a);
}
END_TEST

START_TEST(single_address_is_a_full_prefix)
{
	struct acl a = LIST("127.0.0.1", "::1");

	ck_assert(matches(&a, "127.0.0.1"));
	ck_assert(!matches(&a, "127.0.0.2"));
	ck_assert(matches(&a, "::1"));
	ck_assert(!matches(&a, "::2"));
	acl_free(&a);
}
END_TEST

START_TEST(v6_block)
{
	struct acl a = LIST("2001:db8::/32");

	ck_assert(matches(&a, "2001:db8:ffff::1"));
	ck_assert(!matches(&a, "2001:db9::1"));
	acl_free(&a);
}
END_TEST

START_TEST(mapped_peer_matches_v4_rules)
{
	struct acl a = LIST("127.0.0.0/8");

	ck_assert(matches(&a, "::ffff:127.0.0.1"));
	ck_assert(!matches(&a, "::ffff:10.0.0.1"));
	acl_free(&a);
}
END_TEST

START_TEST(families_never_cross)
{
	struct acl v6 = LIST("::/0");
	struct acl v4 = LIST("0.0.0.0/0");

	ck_assert(!matches(&v6, "1.2.3.4"));
	ck_assert(!matches(&v6, "::ffff:1.2.3.4"));
	ck_assert(matches(&v6, "fe80::1"));
	ck_assert(!matches(&v4, "fe80::1"));
	ck_assert(matches(&v4, "1.2.3.4"));
	acl_free(&v6);
	acl_free(&v4);
}
END_TEST

START_TEST(mapped_entries_match_v4_peers)
{
	struct acl host = LIST("::ffff:127.0.0.1");
	struct acl block = LIST("::ffff:127.0.0.0/104");
	struct acl all = LIST("::ffff:0:0/96");

	ck_assert(matches(&host, "127.0.0.1"));
	ck_assert(matches(&host, "::ffff:127.0.0.1"));
	ck_assert(!matches(&host, "127.0.0.2"));
	ck_assert(matches(&block, "127.1.2.3"));
	ck_assert(matches(&block, "::ffff:127.1.2.3"));
	ck_assert(!matches(&block, "128.0.0.1"));
	ck_assert(matches(&all, "1.2.3.4"));
	ck_assert(!matches(&all, "::1"));
	acl_free(&host);
	acl_free(&block);
	acl_free(&all);
}
END_TEST

START_TEST(mapped_entry_is_its_v4_block)
{
	struct acl mapped = LIST("::ffff:10.0.0.0/104", "::ffff:192.0.2.1");
	struct acl v4 = LIST("192.0.2.1", "10.0.0.0/8");
	struct cidr c;
	const char *err;

	ck_assert(acl_equal(&mapped, &v4));
	ck_assert_int_eq(cidr_parse("::ffff:10.0.0.0/104", &c, &err), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 8);
	ck_assert_int_eq(cidr_parse("::ffff:10.0.0.1/104", &c, &err), -1);
	acl_free(&mapped);
	acl_free(&v4);
}
END_TEST

START_TEST(wider_v6_blocks_stay_v6)
{
	/* A block wider than /96 that holds the mapped range is a v6 block:
	 * "all of IPv6" (::/0) does not take v4 clients with it. */
	struct acl a = LIST("::/80");

	ck_assert(!matches(&a, "127.0.0.1"));
	ck_assert(!matches(&a, "::ffff:127.0.0.1"));
	ck_assert(matches(&a, "::1"));
	acl_free(&a);
}
END_TEST

START_TEST(empty_list_matches_nothing)
{
	struct acl a = { 0 };

	ck_assert(!matches(&a, "127.0.0.1"));
}
END_TEST

START_TEST(bad_blocks_are_errors)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
		"10.0.0.1/8", "example.com", "10.0.0", "::1/-1", "1.2.3.4/8a",
	};
	struct cidr c;
	const char *err;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(cidr_parse(bad[i], &c, &err) == -1, "accepted '%s'", bad[i]);
	ck_assert_int_eq(cidr_parse("10.0.0.1/8", &c, &err), -1);
	ck_assert_str_eq(err, "host bits set beyond the prefix length");
}
END_TEST

START_TEST(zero_prefix_takes_all)
{
	struct acl a = LIST("0.0.0.0/0");

	ck_assert(matches(&a, "255.255.255.255"));
	acl_free(&a);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("cidr");

	tcase_add_test(tc, v4_block);
	tcase_add_test(tc, v4_odd_prefix);
	tcase_add_test(tc, single_address_is_a_full_prefix);
	tcase_add_test(tc, v6_block);
	tcase_add_test(tc, mapped_peer_matches_v4_rules);
	tcase_add_test(tc, families_never_cross);
	tcase_add_test(tc, mapped_entries_match_v4_peers);
	tcase_add_test(tc, mapped_entry_is_its_v4_block);
	tcase_add_test(tc, wider_v6_blocks_stay_v6);
	tcase_add_test(tc, empty_list_matches_nothing);
	tcase_add_test(tc, bad_blocks_are_errors);
	tcase_add_test(tc, zero_prefix_takes_all);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
