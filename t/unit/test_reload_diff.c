/* The reload diff (config_diff): for each listen address of a new
 * config, the socket of the running config it keeps, or none (it opens
 * one), or the earlier address whose socket it joins. Both configs are
 * parsed from text, as a reload parses them. */
#include <string.h>

#include "config.h"
#include "config_diff.h"
#include "unit.h"

struct diff {
	struct config *old, *new;
	struct config_diff d;
};

static struct config *parse(const char *text)
{
	char err[512];
	struct config *c = config_parse("/srv/gateway.ini", text, strlen(text),
	    err, sizeof err);

	ck_assert_msg(c != NULL, "%s\n---\n%s---", err, text);
	return c;
}

static void diff(struct diff *x, const char *old, const char *new)
{
	x->old = parse(old);
	x->new = parse(new);
	ck_assert_int_eq(config_diff(x->old, x->new, &x->d), 0);
}

static void done(struct diff *x)
{
	config_diff_free(&x->d);
	config_free(x->old);
	config_free(x->new);
}

/* Address j of route i. */
static const struct listen_addr *at(const struct config *c, size_t i, size_t j)
{
	ck_assert_uint_lt(i, c->nroutes);
	ck_assert_uint_lt(j, c->routes[i].nlisten);
	return &c->routes[i].listen[j];
}

/* Whether any address of the new config keeps that socket. */
static int kept(const struct diff *x, const struct listen_addr *a)
{
	for (size_t k = 0; k < x->d.n; k++)
		if (x->d.v[k].keeps == a)
			return 1;
	return 0;
}

#define ROUTE(name, listen) "[" name "]\nlisten = " listen "\nexec = /bin/cat\n"
#define HTTP(name, listen, path) ROUTE(name, listen) "protocol = cgi\npath = " path "\n"

START_TEST(every_address_in_order)
{
	struct diff x;

	diff(&x, ROUTE("a", "127.0.0.1:80"),
	    ROUTE("a", "127.0.0.1:81 unix:/x") ROUTE("b", "[::1]:82"));
	ck_assert_uint_eq(x.d.n, 3);
	ck_assert_ptr_eq(x.d.v[0].route, &x.new->routes[0]);
	ck_assert_ptr_eq(x.d.v[0].addr, at(x.new, 0, 0));
	ck_assert_ptr_eq(x.d.v[1].addr, at(x.new, 0, 1));
	ck_assert_ptr_eq(x.d.v[2].route, &x.new->routes[1]);
	ck_assert_ptr_eq(x.d.v[2].addr, at(x.new, 1, 0));
	done(&x);
}
END_TEST

START_TEST(nothing_running_keeps_nothing)
{
	struct config *c = parse(ROUTE("a", "127.0.0.1:80") ROUTE("b", "127.0.0.1:81"));
	struct config_diff d;

	ck_assert_int_eq(config_diff(NULL, c, &d), 0);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_ptr_null(d.v[0].keeps);
	ck_assert_ptr_null(d.v[1].keeps);
	config_diff_free(&d);
	config_free(c);
}
END_TEST

START_TEST(same_name_same_address_is_kept)
{
	struct diff x;

	diff(&x, ROUTE("a", "127.0.0.1:80") ROUTE("b", "127.0.0.1:81"),
	    ROUTE("b", "127.0.0.1:81") ROUTE("a", "127.0.0.1:80"));
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 1, 0));
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 0));
	done(&x);
}
END_TEST

START_TEST(renamed_route_keeps_the_socket)
{
	struct diff x;

	diff(&x, ROUTE("before", "127.0.0.1:80 unix:/run/a.sock"),
	    ROUTE("after", "127.0.0.1:80 unix:/run/a.sock"));
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0));
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 1));
	done(&x);
}
END_TEST

/* Port 0 addresses are all "the same": the name decides, whatever the
 * order of the routes. */
START_TEST(port_0_is_kept_by_name)
{
	struct diff x;

	diff(&x, ROUTE("first", "127.0.0.1:0") ROUTE("second", "127.0.0.1:0"),
	    ROUTE("second", "127.0.0.1:0") ROUTE("first", "127.0.0.1:0"));
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 1, 0));
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 0));
	done(&x);
}
END_TEST

/* A new route written with port 0, before the one that had it: the old
 * route keeps its socket, the new one opens its own. */
START_TEST(port_0_new_route_opens_its_own)
{
	struct diff x;

	diff(&x, ROUTE("first", "127.0.0.1:0"),
	    ROUTE("third", "127.0.0.1:0") ROUTE("first", "127.0.0.1:0"));
	ck_assert_ptr_null(x.d.v[0].keeps);
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 0));
	done(&x);
}
END_TEST

/* With no route of its name left, a port 0 socket goes to the first
 * address that is the same, as any other address would. */
START_TEST(port_0_renamed_keeps_the_socket)
{
	struct diff x;

	diff(&x, ROUTE("first", "127.0.0.1:0"), ROUTE("renamed", "127.0.0.1:0"));
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0));
	done(&x);
}
END_TEST

START_TEST(removed_address_is_kept_by_none)
{
	struct diff x;

	diff(&x, ROUTE("a", "127.0.0.1:80 unix:@gone") ROUTE("b", "127.0.0.1:81"),
	    ROUTE("a", "127.0.0.1:80"));
	ck_assert_uint_eq(x.d.n, 1);
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0));
	ck_assert(!kept(&x, at(x.old, 0, 1)));
	ck_assert(!kept(&x, at(x.old, 1, 0)));
	done(&x);
}
END_TEST

START_TEST(added_address_keeps_none)
{
	struct diff x;

	diff(&x, ROUTE("a", "127.0.0.1:80"),
	    ROUTE("a", "127.0.0.1:8080 127.0.0.1:80") ROUTE("new", "127.0.0.1:81"));
	ck_assert_ptr_null(x.d.v[0].keeps);
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 0));
	ck_assert_ptr_null(x.d.v[2].keeps);
	done(&x);
}
END_TEST

/* A relative path is the same socket as the absolute path it resolves
 * to; an abstract name is never a path. */
START_TEST(unix_paths)
{
	struct diff x;

	diff(&x, ROUTE("a", "unix:run/a.sock unix:@x"),
	    ROUTE("a", "unix:/x unix:/srv/run/a.sock unix:@x"));
	ck_assert_ptr_null(x.d.v[0].keeps);
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 0));
	ck_assert_ptr_eq(x.d.v[2].keeps, at(x.old, 0, 1));
	done(&x);
}
END_TEST

/* HTTP routes written with one address share the first one's socket:
 * it is the one kept, the others join it. */
START_TEST(shared_http_listener)
{
	struct diff x;

	diff(&x, HTTP("a", "127.0.0.1:80", "/a") HTTP("b", "127.0.0.1:80", "/b"),
	    HTTP("b", "127.0.0.1:80", "/b") HTTP("a", "127.0.0.1:80", "/a")
	    HTTP("c", "127.0.0.1:80", "/c"));
	ck_assert_ptr_null(x.d.v[0].joins);
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0)); /* a's was the socket */
	ck_assert_ptr_eq(x.d.v[1].joins, at(x.new, 0, 0));
	ck_assert_ptr_null(x.d.v[1].keeps);
	ck_assert_ptr_eq(x.d.v[2].joins, at(x.new, 0, 0));
	ck_assert_ptr_null(x.d.v[2].keeps);
	done(&x);
}
END_TEST

/* Port 0 is never shared: each HTTP route written so has its own. */
START_TEST(port_0_http_routes_do_not_share)
{
	struct diff x;

	diff(&x, HTTP("a", "127.0.0.1:0", "/a"),
	    HTTP("a", "127.0.0.1:0", "/a") HTTP("b", "127.0.0.1:0", "/b"));
	ck_assert_ptr_null(x.d.v[1].joins);
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0));
	ck_assert_ptr_null(x.d.v[1].keeps);
	done(&x);
}
END_TEST

/* `*:P` is one dual-stack socket: not [::]:P (v6 only), not 0.0.0.0:P. */
START_TEST(wildcards)
{
	const char *any = ROUTE("a", "*:80");
	struct diff x;

	diff(&x, any, ROUTE("a", "[::]:80"));
	ck_assert_ptr_null(x.d.v[0].keeps);
	done(&x);
	diff(&x, any, ROUTE("a", "0.0.0.0:80"));
	ck_assert_ptr_null(x.d.v[0].keeps);
	done(&x);
	diff(&x, any, ROUTE("a", "*:80"));
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0));
	done(&x);
	diff(&x, ROUTE("a", "0.0.0.0:80 [::]:81"), ROUTE("b", "[::]:81 0.0.0.0:80"));
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 1));
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 0));
	done(&x);
}
END_TEST

/* localhost is two sockets, 127.0.0.1 and ::1: each keeps its own. */
START_TEST(localhost_keeps_both_sockets)
{
	struct diff x;

	diff(&x, ROUTE("a", "localhost:99"), ROUTE("a", "localhost:99"));
	ck_assert_uint_eq(x.d.n, 2);
	ck_assert_ptr_eq(x.d.v[0].keeps, at(x.old, 0, 0));
	ck_assert_ptr_eq(x.d.v[1].keeps, at(x.old, 0, 1));
	done(&x);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("reload_diff");
	TCase *tc = tcase_create("diff");

	tcase_add_test(tc, every_address_in_order);
	tcase_add_test(tc, nothing_running_keeps_nothing);
	tcase_add_test(tc, same_name_same_address_is_kept);
	tcase_add_test(tc, renamed_route_keeps_the_socket);
	tcase_add_test(tc, port_0_is_kept_by_name);
	tcase_add_test(tc, port_0_new_route_opens_its_own);
	tcase_add_test(tc, port_0_renamed_keeps_the_socket);
	tcase_add_test(tc, removed_address_is_kept_by_none);
	tcase_add_test(tc, added_address_keeps_none);
	tcase_add_test(tc, unix_paths);
	tcase_add_test(tc, shared_http_listener);
	tcase_add_test(tc, port_0_http_routes_do_not_share);
	tcase_add_test(tc, wildcards);
	tcase_add_test(tc, localhost_keeps_both_sockets);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
