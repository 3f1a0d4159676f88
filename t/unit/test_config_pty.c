/* The pty keys of a route (pty, pty_size) and what they imply: their
 * values and defaults, the stderr a pty route's child gets, and every
 * error's exact "FILE:LINE: message". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "env.h"

#include "unit.h"

#include "config_unit.h"

START_TEST(pty_default_none)
{
	struct config *c = ok(ROUTE);

	ck_assert_int_eq(c->routes[0].pty, PTY_NONE);
	ck_assert_uint_eq(c->routes[0].pty_cols, 80);
	ck_assert_uint_eq(c->routes[0].pty_rows, 24);
	ck_assert_int_eq(c->routes[0].stderr_line, 0);
	config_release(c);
}
END_TEST

START_TEST(pty_values)
{
	struct config *c = ok(ROUTE "pty = raw\n");

	ck_assert_int_eq(c->routes[0].pty, PTY_RAW);
	config_release(c);
	c = ok(ROUTE "pty = terminal\n");
	ck_assert_int_eq(c->routes[0].pty, PTY_TERMINAL);
	config_release(c);
	c = ok(ROUTE "pty = none\n");
	ck_assert_int_eq(c->routes[0].pty, PTY_NONE);
	config_release(c);
}
END_TEST

START_TEST(pty_bad_values)
{
	fails(ROUTE "pty = yes\n", 4, "pty: expected none, raw or terminal, not 'yes'");
	fails(ROUTE "pty = Raw\n", 4, "pty: expected none, raw or terminal, not 'Raw'");
	fails(ROUTE "pty =\n", 4, "pty: expected none, raw or terminal, not ''");
	fails(ROUTE "pty = raw\npty = raw\n", 5, "'pty' given twice");
}
END_TEST

START_TEST(pty_size_values)
{
	struct config *c = ok(ROUTE "pty = terminal\npty_size = 132x43\n");

	ck_assert_uint_eq(c->routes[0].pty_cols, 132);
	ck_assert_uint_eq(c->routes[0].pty_rows, 43);
	config_release(c);
	c = ok(ROUTE "pty = raw\npty_size = 1x1\n");
	ck_assert_uint_eq(c->routes[0].pty_cols, 1);
	ck_assert_uint_eq(c->routes[0].pty_rows, 1);
	config_release(c);
	c = ok(ROUTE "pty = raw\npty_size = 65535x65535\n");
	ck_assert_uint_eq(c->routes[0].pty_cols, 65535);
	ck_assert_uint_eq(c->routes[0].pty_rows, 65535);
	config_release(c);
}
END_TEST

START_TEST(pty_size_bad)
{
	const char *bad[] = {
		"80", "80x", "x24", "0x24", "80x0", "65536x24", "80x65536", "80X24",
		"80 x 24", "+80x24", "80x-24", "80x24x2", "axb", "", "99999999999999999999x1",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text, ROUTE "pty = raw\npty_size = %s\n", bad[i]);
		fails(text, 5, "pty_size: expected COLSxROWS such as 80x24, each from 1 to 65535, not '%s'",
		    bad[i]);
	}
}
END_TEST

START_TEST(pty_size_without_pty)
{
	fails(ROUTE "pty_size = 100x30\n", 4, "route [r]: pty_size is for pty = raw or terminal");
	fails(ROUTE "pty = none\npty_size = 100x30\n", 5,
	    "route [r]: pty_size is for pty = raw or terminal");
}
END_TEST

START_TEST(pty_on_http_routes_refused)
{
	fails(ROUTE "protocol = cgi\npty = raw\n", 5,
	    "route [r]: pty is for protocol = raw, not cgi or nph");
	fails(ROUTE "pty = terminal\nprotocol = nph\n", 4,
	    "route [r]: pty is for protocol = raw, not cgi or nph");
	/* none is today's behaviour, on any route */
	config_release(ok(ROUTE "protocol = cgi\npty = none\n"));
}
END_TEST

START_TEST(pty_with_stdin_null_refused)
{
	fails(ROUTE "stdin = null\npty = raw\n", 5,
	    "route [r]: pty with stdin = null: the terminal is the program's stdin");
}
END_TEST

START_TEST(stderr_line_kept)
{
	struct config *c = ok(ROUTE "pty = raw\nstderr = log\n");

	ck_assert_int_eq(c->routes[0].stderr_mode, STDERR_LOG);
	ck_assert_int_eq(c->routes[0].stderr_line, 5);
	config_release(c);
}
END_TEST

static const char *env_get(const struct strv *e, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, n) == 0 && e->v[i][n] == '=')
			return e->v[i] + n + 1;
	return NULL;
}

static void env_of(const char *text, char **parent, struct strv *out)
{
	struct config *c = ok(text);
	struct conn_info ci = { .tcp = 1, .remote_ip = "192.0.2.1", .local_ip = "192.0.2.2", .id = 1 };

	memset(out, 0, sizeof *out);
	ck_assert_int_eq(env_build(&c->routes[0], &ci, NULL, parent, out), 0);
	config_release(c);
}

START_TEST(term_on_pty_routes)
{
	char *parent[] = { "TERM=xterm-256color", NULL };
	struct strv e;

	env_of(ROUTE "pty = raw\n", parent, &e);
	ck_assert_str_eq(env_get(&e, "TERM"), "dumb");
	strv_free(&e);
	env_of(ROUTE "pty = terminal\nenv = TERM=vt100\n", parent, &e);
	ck_assert_str_eq(env_get(&e, "TERM"), "vt100");
	strv_free(&e);
	env_of(ROUTE "pty = terminal\npass_env = TERM\n", parent, &e);
	ck_assert_str_eq(env_get(&e, "TERM"), "xterm-256color");
	strv_free(&e);
	/* Without a terminal, nothing is said of one. */
	env_of(ROUTE, parent, &e);
	ck_assert_ptr_null(env_get(&e, "TERM"));
	strv_free(&e);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("config_pty");
	TCase *t = tcase_create("pty");

	tcase_add_test(t, pty_default_none);
	tcase_add_test(t, pty_values);
	tcase_add_test(t, pty_bad_values);
	tcase_add_test(t, pty_size_values);
	tcase_add_test(t, pty_size_bad);
	tcase_add_test(t, pty_size_without_pty);
	tcase_add_test(t, pty_on_http_routes_refused);
	tcase_add_test(t, pty_with_stdin_null_refused);
	tcase_add_test(t, stderr_line_kept);
	tcase_add_test(t, term_on_pty_routes);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)
