/* max_per_source counting: one count per v4/v6 address or Unix euid. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "source.h"
#include "unit.h"

static struct source_key key(const char *ip)
{
	struct sockaddr_storage ss;
	struct source_key k;

	memset(&ss, 0, sizeof ss);
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(1000);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(2000);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	source_key_addr(&k, (struct sockaddr *)&ss);
	return k;
}

START_TEST(counts_per_address)
{
	struct source_table t = { 0 };
	struct source_key a = key("127.0.0.1"), b = key("127.0.0.2");

	ck_assert_int_eq(source_add(&t, &a), 0);
	ck_assert_int_eq(source_add(&t, &a), 0);
	ck_assert_int_eq(source_add(&t, &b), 0);
	ck_assert_uint_eq(source_count(&t, &a), 2);
	ck_assert_uint_eq(source_count(&t, &b), 1);
	source_remove(&t, &a);
	ck_assert_uint_eq(source_count(&t, &a), 1);
	source_remove(&t, &a);
	source_remove(&t, &b);
	ck_assert_uint_eq(source_count(&t, &a), 0);
	ck_assert_uint_eq(source_count(&t, &b), 0);
	for (size_t i = 0; i < SOURCE_BUCKETS; i++)
		ck_assert_ptr_null(t.bucket[i]);
}
END_TEST

START_TEST(port_does_not_matter)
{
	struct source_key a = key("10.0.0.1"), b = key("10.0.0.1");

	ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
}
END_TEST

START_TEST(mapped_is_the_v4_source)
{
	struct source_table t = { 0 };
	struct source_key v4 = key("127.0.0.1"), mapped = key("::ffff:127.0.0.1");

	ck_assert_int_eq(source_add(&t, &mapped), 0);
	ck_assert_uint_eq(source_count(&t, &v4), 1);
	source_table_free(&t);
}
END_TEST

START_TEST(v6_and_uid_are_distinct)
{
	struct source_table t = { 0 };
	struct source_key v6 = key("::1"), u0, u1000;

	source_key_uid(&u0, 0);
	source_key_uid(&u1000, 1000);
	ck_assert_int_eq(source_add(&t, &v6), 0);
	ck_assert_int_eq(source_add(&t, &u1000), 0);
	ck_assert_uint_eq(source_count(&t, &u0), 0);
	ck_assert_uint_eq(source_count(&t, &u1000), 1);
	ck_assert_uint_eq(source_count(&t, &v6), 1);
	source_table_free(&t);
}
END_TEST

START_TEST(many_sources_share_buckets)
{
	struct source_table t = { 0 };
	char ip[32];

	for (int i = 0; i < 1000; i++) {
		struct source_key k;
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
		k = key(ip);
		ck_assert_int_eq(source_add(&t, &k), 0);
	}
	for (int i = 0; i < 1000; i += 7) {
		struct source_key k;
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
		k = key(ip);
		ck_assert_uint_eq(source_count(&t, &k), 1);
		source_remove(&t, &k);
		ck_assert_uint_eq(source_count(&t, &k), 0);
	}
	source_table_free(&t);
}
END_TEST

START_TEST(removing_an_unknown_source_is_harmless)
{
	struct source_table t = { 0 };
	struct source_key k = key("1.2.3.4");

	source_remove(&t, &k);
	ck_assert_uint_eq(source_count(&t, &k), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("count");

	tcase_add_test(tc, counts_per_address);
	tcase_add_test(tc, port_does_not_matter);
	tcase_add_test(tc, mapped_is_the_v4_source);
	tcase_add_test(tc, v6_and_uid_are_distinct);
	tcase_add_test(tc, many_sources_share_buckets);
	tcase_add_test(tc, removing_an_unknown_source_is_harmless);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
