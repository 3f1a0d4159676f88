/* The control socket's command lines: each command, its argument, and
 * what is refused. */
#include <string.h>

#include "admin_cmd.h"
#include "unit.h"

static struct admin_command ok(const char *line)
{
	struct admin_command c;
	const char *err = NULL;

	ck_assert_msg(admin_parse(line, &c, &err) == 0, "'%s': %s", line, err);
	return c;
}

static const char *bad(const char *line)
{
	struct admin_command c;
	const char *err = NULL;

	ck_assert_msg(admin_parse(line, &c, &err) < 0, "'%s' was taken", line);
	ck_assert_ptr_nonnull(err);
	return err;
}

START_TEST(commands_without_argument)
{
	ck_assert_int_eq(ok("status").cmd, CMD_STATUS);
	ck_assert_int_eq(ok("reload").cmd, CMD_RELOAD);
	ck_assert_int_eq(ok("  status\t").cmd, CMD_STATUS);
	ck_assert_str_eq(ok("reload").name, "reload");
	bad("status now");
	bad("reload x");
	ck_assert_int_eq(ok("upgrade").cmd, CMD_UPGRADE);
	bad("upgrade now");
}
END_TEST

START_TEST(conns_takes_an_optional_route)
{
	struct admin_command c = ok("conns");

	ck_assert_int_eq(c.cmd, CMD_CONNS);
	ck_assert_str_eq(c.route, "");
	c = ok("conns web-1.a_b");
	ck_assert_str_eq(c.route, "web-1.a_b");
	ck_assert_int_eq(c.all, 0);
	bad("conns a b");
	bad("conns a/b");
}
END_TEST

START_TEST(kill_takes_an_id)
{
	struct admin_command c = ok("kill 42");

	ck_assert_int_eq(c.cmd, CMD_KILL);
	ck_assert_uint_eq(c.id, 42);
	ck_assert_uint_eq(ok("kill 18446744073709551615").id, UINT64_MAX);
	bad("kill");
	bad("kill 0");
	bad("kill -1");
	bad("kill +3");
	bad("kill 12x");
	bad("kill 18446744073709551616");
	bad("kill 1 2");
}
END_TEST

START_TEST(drain_and_resume_take_a_route_or_all)
{
	struct admin_command c = ok("drain web");

	ck_assert_int_eq(c.cmd, CMD_DRAIN);
	ck_assert_str_eq(c.route, "web");
	c = ok("resume all");
	ck_assert_int_eq(c.cmd, CMD_RESUME);
	ck_assert_int_eq(c.all, 1);
	ck_assert_int_eq(ok("drain all").all, 1);
	bad("drain");
	bad("resume");
	bad("drain a;b");
}
END_TEST

START_TEST(unknown_and_empty_lines)
{
	bad("");
	bad("   ");
	bad("STATUS");
	bad("stop");
	bad("drain a b c d");
}
END_TEST

START_TEST(long_lines_are_refused)
{
	char line[600];

	memset(line, 'a', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	memcpy(line, "conns ", 6);
	bad(line);
}
END_TEST

static Suite *admin_cmd_suite(void)
{
	Suite *s = suite_create("admin_cmd");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, commands_without_argument);
	tcase_add_test(tc, conns_takes_an_optional_route);
	tcase_add_test(tc, kill_takes_an_id);
	tcase_add_test(tc, drain_and_resume_take_a_route_or_all);
	tcase_add_test(tc, unknown_and_empty_lines);
	tcase_add_test(tc, long_lines_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(admin_cmd_suite)
