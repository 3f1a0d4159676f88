/* Admission decisions: allow/deny, a route's limits, and the places one
 * source may hold among the connections still being read. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "acl.h"
#include "admit.h"
#include "unit.h"

static struct conn_info tcp(const char *ip)
{
	struct conn_info ci;

	memset(&ci, 0, sizeof ci);
	ci.tcp = 1;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ci.peer;
		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ci.peer;
		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ci;
}

static void add(struct acl *a, const char *block)
{
	struct cidr c;
	const char *err;

	ck_assert_msg(cidr_parse(block, &c, &err) == 0, "%s: %s", block, err);
	ck_assert_int_eq(acl_add(a, &c), 0);
}

static struct route route(void)
{
	struct route r;

	memset(&r, 0, sizeof r);
	r.max_pending = 256;
	return r;
}

static void done(struct route *r)
{
	acl_free(&r->allow);
	acl_free(&r->deny);
}

START_TEST(deny_and_allow)
{
	struct route r = route();
	struct conn_info a = tcp("10.1.2.3"), b = tcp("192.0.2.7"), m = tcp("::ffff:10.1.2.3");
	struct conn_info v6 = tcp("2001:db8::1");

	ck_assert_ptr_null(admit_route(&r, &a, 0, 0));
	add(&r.deny, "10.0.0.0/8");
	ck_assert_str_eq(admit_route(&r, &a, 0, 0), "deny");
	ck_assert_str_eq(admit_route(&r, &m, 0, 0), "deny");
	ck_assert_ptr_null(admit_route(&r, &b, 0, 0));
	/* With an allow list only its matches pass. */
	add(&r.allow, "192.0.2.0/24");
	ck_assert_ptr_null(admit_route(&r, &b, 0, 0));
	ck_assert_str_eq(admit_route(&r, &v6, 0, 0), "deny");
	done(&r);
}
END_TEST

START_TEST(unix_peer_has_no_address_to_deny)
{
	struct route r = route();
	struct conn_info u;

	memset(&u, 0, sizeof u);
	u.peer.ss_family = AF_UNIX;
	add(&r.allow, "127.0.0.1");
	ck_assert_int_eq(admit_denies(&r, &u), 0);
	ck_assert_ptr_null(admit_route(&r, &u, 0, 0));
	done(&r);
}
END_TEST

START_TEST(route_limits)
{
	struct route r = route();
	struct conn_info a = tcp("10.1.2.3");

	r.max_children = 2;
	r.max_per_source = 1;
	ck_assert_ptr_null(admit_route(&r, &a, 1, 0));
	ck_assert_str_eq(admit_route(&r, &a, 2, 0), "busy");
	ck_assert_str_eq(admit_route(&r, &a, 1, 1), "per_source");
	/* deny comes first: a denied client is never told it is busy. */
	add(&r.deny, "10.1.2.3");
	ck_assert_str_eq(admit_route(&r, &a, 2, 1), "deny");
	done(&r);
}
END_TEST

START_TEST(reading_cap_is_a_quarter)
{
	ck_assert_uint_eq(admit_reading_cap(256), 64);
	ck_assert_uint_eq(admit_reading_cap(8), 2);
	ck_assert_uint_eq(admit_reading_cap(3), 1);
	ck_assert_uint_eq(admit_reading_cap(1), 1);
}
END_TEST

START_TEST(reading_refused_when_every_route_denies)
{
	struct route a = route(), b = route();
	const struct route *both[] = { &a, &b };
	struct conn_info c = tcp("10.9.9.9");

	add(&a.deny, "10.0.0.0/8");
	ck_assert_str_eq(admit_reading(both, 1, &c, 0, 0), "deny");
	/* Another route on the listener may take it: read on. */
	ck_assert_ptr_null(admit_reading(both, 2, &c, 0, 0));
	add(&b.allow, "192.0.2.0/24");
	ck_assert_str_eq(admit_reading(both, 2, &c, 0, 0), "deny");
	done(&a);
	done(&b);
}
END_TEST

START_TEST(reading_share_per_source)
{
	struct route a = route(), b = route();
	const struct route *both[] = { &a, &b };
	struct conn_info c = tcp("10.9.9.9");

	a.max_pending = b.max_pending = 8;
	ck_assert_ptr_null(admit_reading(both, 2, &c, 1, 0));
	ck_assert_str_eq(admit_reading(both, 2, &c, 2, 0), "per_source");
	/* The listener's only route: its max_per_source counts the source's
	 * connections being read with its children. */
	a.max_per_source = 2;
	ck_assert_ptr_null(admit_reading(both, 1, &c, 1, 0));
	ck_assert_str_eq(admit_reading(both, 1, &c, 1, 1), "per_source");
	ck_assert_str_eq(admit_reading(both, 1, &c, 0, 2), "per_source");
	/* Shared, the route is known only once the head is read. */
	ck_assert_ptr_null(admit_reading(both, 2, &c, 1, 5));
	done(&a);
	done(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("admit");
	TCase *tc = tcase_create("admit");

	tcase_add_test(tc, deny_and_allow);
	tcase_add_test(tc, unix_peer_has_no_address_to_deny);
	tcase_add_test(tc, route_limits);
	tcase_add_test(tc, reading_cap_is_a_quarter);
	tcase_add_test(tc, reading_refused_when_every_route_denies);
	tcase_add_test(tc, reading_share_per_source);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
