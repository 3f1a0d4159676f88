/* Connection-rate limits: the N/s value, the token bucket's arithmetic,
 * and a route's limiter with its buckets per source. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "rate.h"
#include "unit.h"

static struct source_key key(const char *ip)
{
	struct sockaddr_in s4;
	struct source_key k;

	memset(&s4, 0, sizeof s4);
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s4.sin_addr);
	source_key_addr(&k, (struct sockaddr *)&s4);
	return k;
}

static struct rate rate(const char *text)
{
	struct rate r;

	ck_assert_int_eq(rate_parse(text, &r), 0);
	return r;
}

static const struct rate none = { 0, 0 };

START_TEST(parses_per_second_and_per_minute)
{
	struct rate r = rate("10/s");

	ck_assert_uint_eq(r.n, 10);
	ck_assert_uint_eq(r.period_ms, 1000);
	r = rate("3/m");
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(r.period_ms, 60000);
	r = rate("1000000/s");
	ck_assert_uint_eq(r.n, 1000000);
}
END_TEST

START_TEST(refuses_what_is_not_n_per_s_or_m)
{
	static const char *const bad[] = {
		"", "10", "/s", "0/s", "-1/s", "1.5/s", "10/h", "10/", "10/ s",
		"10 /s", "10/sec", "ten/s", "1000001/s", "99999999999999999999/s",
		"10/s/s", "+5/s", " 5/s", "5/S",
	};
	struct rate r;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(rate_parse(bad[i], &r) < 0, "took '%s'", bad[i]);
}
END_TEST

START_TEST(a_full_bucket_gives_n_then_refuses)
{
	struct rate r = rate("3/s");
	struct rate_bucket b;

	rate_bucket_init(&b, &r, 1000);
	for (int i = 0; i < 3; i++) {
		ck_assert(rate_bucket_has(&b, &r));
		rate_bucket_take(&b, &r);
	}
	ck_assert(!rate_bucket_has(&b, &r));
	/* One token comes back every 1000/3 ms, rounded up. */
	ck_assert_uint_eq(rate_bucket_wait_ms(&b, &r), 334);
}
END_TEST

START_TEST(refills_continuously_and_never_past_n)
{
	struct rate r = rate("2/s");
	struct rate_bucket b;

	rate_bucket_init(&b, &r, 0);
	rate_bucket_take(&b, &r);
	rate_bucket_take(&b, &r);
	rate_bucket_refill(&b, &r, 499);
	ck_assert(!rate_bucket_has(&b, &r));
	ck_assert_uint_eq(rate_bucket_wait_ms(&b, &r), 1);
	rate_bucket_refill(&b, &r, 500);
	ck_assert(rate_bucket_has(&b, &r));
	rate_bucket_take(&b, &r);
	ck_assert(!rate_bucket_has(&b, &r));
	/* Time that goes backwards changes nothing. */
	rate_bucket_refill(&b, &r, 100);
	ck_assert(!rate_bucket_has(&b, &r));
	/* An hour later it holds N, not more. */
	rate_bucket_refill(&b, &r, 3600 * 1000);
	ck_assert(rate_bucket_full(&b, &r));
	rate_bucket_take(&b, &r);
	rate_bucket_take(&b, &r);
	ck_assert(!rate_bucket_has(&b, &r));
	ck_assert_uint_eq(rate_bucket_wait_ms(&b, &r), 500);
}
END_TEST

START_TEST(per_minute_waits_are_long)
{
	struct rate r = rate("2/m");
	struct rate_bucket b;

	rate_bucket_init(&b, &r, 0);
	rate_bucket_take(&b, &r);
	rate_bucket_take(&b, &r);
	ck_assert_uint_eq(rate_bucket_wait_ms(&b, &r), 30000);
	rate_bucket_refill(&b, &r, 29999);
	ck_assert_uint_eq(rate_bucket_wait_ms(&b, &r), 1);
	ck_assert_uint_eq(rate_retry_after(30000), 30);
	ck_assert_uint_eq(rate_retry_after(29001), 30);
	ck_assert_uint_eq(rate_retry_after(1), 1);
	ck_assert_uint_eq(rate_retry_after(0), 1);
}
END_TEST

START_TEST(the_route_bucket_admits_exactly_n)
{
	struct rate_limiter rl = { 0 };
	struct rate r = rate("5/m");
	struct source_key k = key("10.0.0.1");
	uint64_t wait = 0;

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(rate_admit(&rl, &r, &none, &k, 100, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &r, &none, &k, 100, &wait), -1);
	ck_assert_uint_eq(wait, 12000);
	/* Refused, it took nothing: a token is back 12 s later. */
	ck_assert_int_eq(rate_admit(&rl, &r, &none, &k, 12099, &wait), -1);
	ck_assert_int_eq(rate_admit(&rl, &r, &none, &k, 12100, &wait), 0);
	ck_assert_uint_eq(rate_sources_kept(&rl), 0);
	rate_limiter_free(&rl);
}
END_TEST

START_TEST(sources_have_buckets_of_their_own)
{
	struct rate_limiter rl = { 0 };
	struct rate r = rate("2/s");
	struct source_key a = key("127.0.0.1"), b = key("127.0.0.2");
	uint64_t wait = 0;

	ck_assert_int_eq(rate_admit(&rl, &none, &r, &a, 0, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &a, 0, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &a, 0, &wait), -1);
	ck_assert_uint_eq(wait, 500);
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &b, 0, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &b, 0, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &b, 0, &wait), -1);
	ck_assert_uint_eq(rate_sources_kept(&rl), 2);
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &a, 500, &wait), 0);
	rate_limiter_free(&rl);
}
END_TEST

START_TEST(both_buckets_must_have_a_token)
{
	struct rate_limiter rl = { 0 };
	struct rate all = rate("3/s"), each = rate("2/s");
	struct source_key a = key("127.0.0.1"), b = key("127.0.0.2");
	uint64_t wait = 0;

	ck_assert_int_eq(rate_admit(&rl, &all, &each, &a, 0, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &all, &each, &a, 0, &wait), 0);
	/* a's own bucket is empty: refused, and the route's token stays. */
	ck_assert_int_eq(rate_admit(&rl, &all, &each, &a, 0, &wait), -1);
	ck_assert_int_eq(rate_admit(&rl, &all, &each, &b, 0, &wait), 0);
	/* Now the route's is empty, though b's is not. */
	ck_assert_int_eq(rate_admit(&rl, &all, &each, &b, 0, &wait), -1);
	ck_assert_uint_eq(wait, 334);
	rate_limiter_free(&rl);
}
END_TEST

START_TEST(full_buckets_are_dropped)
{
	struct rate_limiter rl = { 0 };
	struct rate r = rate("1/s");
	char ip[32];
	uint64_t wait = 0;

	for (int i = 0; i < 100; i++) {
		struct source_key k;
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
		k = key(ip);
		ck_assert_int_eq(rate_admit(&rl, &none, &r, &k, (uint64_t)i, &wait), 0);
	}
	ck_assert_uint_eq(rate_sources_kept(&rl), 100);
	/* A period after the first ones, they have refilled: gone. */
	{
		struct source_key k = key("192.0.2.1");
		ck_assert_int_eq(rate_admit(&rl, &none, &r, &k, 1049, &wait), 0);
	}
	ck_assert_uint_eq(rate_sources_kept(&rl), 51);
	{
		struct source_key k = key("192.0.2.2");
		ck_assert_int_eq(rate_admit(&rl, &none, &r, &k, 5000, &wait), 0);
	}
	ck_assert_uint_eq(rate_sources_kept(&rl), 1);
	rate_limiter_free(&rl);
}
END_TEST

START_TEST(the_table_is_bounded)
{
	struct rate_limiter rl = { 0 };
	struct rate r = rate("1/m");
	uint64_t wait = 0;
	struct source_key first = key("0.0.0.0"); /* the first below, i = 0 */

	for (uint32_t i = 0; i < RATE_SOURCES_MAX + 10; i++) {
		struct source_key k;
		memset(&k, 0, sizeof k);
		k.kind = 4;
		memcpy(k.addr, &i, sizeof i);
		ck_assert_int_eq(rate_admit(&rl, &none, &r, &k, 0, &wait), 0);
	}
	ck_assert_uint_eq(rate_sources_kept(&rl), RATE_SOURCES_MAX);
	/* The one untouched longest went first: it starts over, full. */
	ck_assert_int_eq(rate_admit(&rl, &none, &r, &first, 0, &wait), 0);
	rate_limiter_free(&rl);
}
END_TEST

START_TEST(a_changed_rate_starts_over_the_same_is_kept)
{
	struct rate_limiter rl = { 0 };
	struct rate r = rate("1/m"), same = rate("1/m"), other = rate("2/m");
	struct source_key k = key("10.0.0.1");
	uint64_t wait = 0;

	ck_assert_int_eq(rate_admit(&rl, &r, &r, &k, 0, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &same, &same, &k, 10, &wait), -1);
	ck_assert_int_eq(rate_admit(&rl, &other, &other, &k, 20, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &other, &other, &k, 20, &wait), 0);
	ck_assert_int_eq(rate_admit(&rl, &other, &other, &k, 20, &wait), -1);
	/* No limit any more: every bucket goes. */
	ck_assert_int_eq(rate_admit(&rl, &none, &none, &k, 30, &wait), 0);
	ck_assert_uint_eq(rate_sources_kept(&rl), 0);
	rate_limiter_free(&rl);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rate");
	TCase *tc = tcase_create("rate");

	tcase_add_test(tc, parses_per_second_and_per_minute);
	tcase_add_test(tc, refuses_what_is_not_n_per_s_or_m);
	tcase_add_test(tc, a_full_bucket_gives_n_then_refuses);
	tcase_add_test(tc, refills_continuously_and_never_past_n);
	tcase_add_test(tc, per_minute_waits_are_long);
	tcase_add_test(tc, the_route_bucket_admits_exactly_n);
	tcase_add_test(tc, sources_have_buckets_of_their_own);
	tcase_add_test(tc, both_buckets_must_have_a_token);
	tcase_add_test(tc, full_buckets_are_dropped);
	tcase_add_test(tc, the_table_is_bounded);
	tcase_add_test(tc, a_changed_rate_starts_over_the_same_is_kept);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
