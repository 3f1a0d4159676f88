/* The reload diff: which listeners a new config keeps, opens, closes. */
#include <string.h>

#include "addr.h"
#include "unit.h"

#define MAXA 8

struct set {
	struct listen_addr a[MAXA];
	const struct listen_addr *p[MAXA];
	size_t n;
};

static void add(struct set *s, const char *text)
{
	const char *err;
	int k = addr_parse(text, "/srv", &s->a[s->n], &err);

	ck_assert_msg(k > 0, "%s: %s", text, err);
	for (int i = 0; i < k; i++, s->n++)
		s->p[s->n] = &s->a[s->n];
}

/* For each new address: the old index it keeps, or -1 (opened). Closed
 * are the old ones left untaken. */
static void diff(struct set *old, struct set *new_, int *keep, char *taken)
{
	memset(taken, 0, MAXA);
	for (size_t i = 0; i < new_->n; i++) {
		size_t o = addr_find(&new_->a[i], old->p, old->n, taken);
		keep[i] = o < old->n ? (int)o : -1;
		if (o < old->n)
			taken[o] = 1;
	}
}

START_TEST(same_addresses_are_kept)
{
	struct set old = { 0 }, new_ = { 0 };
	int keep[MAXA];
	char taken[MAXA];

	add(&old, "127.0.0.1:80");
	add(&old, "unix:run/a.sock");
	add(&old, "[::1]:81");
	add(&new_, "[::1]:81");
	add(&new_, "unix:/srv/run/a.sock");
	add(&new_, "127.0.0.1:80");
	diff(&old, &new_, keep, taken);
	ck_assert_int_eq(keep[0], 2);
	ck_assert_int_eq(keep[1], 1);
	ck_assert_int_eq(keep[2], 0);
}
END_TEST

START_TEST(changed_addresses_open_and_close)
{
	struct set old = { 0 }, new_ = { 0 };
	int keep[MAXA];
	char taken[MAXA];

	add(&old, "127.0.0.1:80");
	add(&old, "unix:@gone");
	add(&new_, "127.0.0.1:8080");
	add(&new_, "127.0.0.1:80");
	diff(&old, &new_, keep, taken);
	ck_assert_int_eq(keep[0], -1);          /* opened */
	ck_assert_int_eq(keep[1], 0);           /* kept */
	ck_assert(!taken[1]);                   /* unix:@gone closes */
}
END_TEST

START_TEST(dual_stack_is_not_v4_wildcard)
{
	struct set old = { 0 }, new_ = { 0 };
	int keep[MAXA];
	char taken[MAXA];

	add(&old, "*:80");
	add(&new_, "[::]:80");                  /* v6 only: another socket */
	add(&new_, "*:80");
	diff(&old, &new_, keep, taken);
	ck_assert_int_eq(keep[0], -1);
	ck_assert_int_eq(keep[1], 0);
}
END_TEST

START_TEST(localhost_keeps_both_sockets)
{
	struct set old = { 0 }, new_ = { 0 };
	int keep[MAXA];
	char taken[MAXA];

	add(&old, "localhost:99");
	add(&new_, "localhost:99");
	diff(&old, &new_, keep, taken);
	ck_assert_int_eq(keep[0], 0);
	ck_assert_int_eq(keep[1], 1);
}
END_TEST

START_TEST(abstract_and_path_differ)
{
	struct set old = { 0 }, new_ = { 0 };
	int keep[MAXA];
	char taken[MAXA];

	add(&old, "unix:@x");
	add(&new_, "unix:/x");
	add(&new_, "unix:@x");
	diff(&old, &new_, keep, taken);
	ck_assert_int_eq(keep[0], -1);
	ck_assert_int_eq(keep[1], 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("reload_diff");
	TCase *tc = tcase_create("diff");

	tcase_add_test(tc, same_addresses_are_kept);
	tcase_add_test(tc, changed_addresses_open_and_close);
	tcase_add_test(tc, dual_stack_is_not_v4_wildcard);
	tcase_add_test(tc, localhost_keeps_both_sockets);
	tcase_add_test(tc, abstract_and_path_differ);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
