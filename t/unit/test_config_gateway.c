/* The [gateway] keys of the control socket, the agent-check and the
 * drain: their values, defaults, and every error's exact
 * "FILE:LINE: message". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

#include "unit.h"

#include "config_unit.h"

START_TEST(defaults)
{
	struct config *c = ok(ROUTE);

	ck_assert_int_eq(c->has_control, 0);
	ck_assert_int_eq(c->has_agent, 0);
	ck_assert_int_eq(c->control_mode, 0600);
	ck_assert(c->drain_delay == 0);
	config_release(c);
}
END_TEST

START_TEST(control_paths)
{
	struct config *c = ok("[gateway]\ncontrol = unix:run/ctl.sock\n"
	    "control_mode = 0660\n" ROUTE);

	ck_assert_int_eq(c->has_control, 1);
	ck_assert_str_eq(c->control.ipc_path, "/etc/gw/run/ctl.sock");
	ck_assert_int_eq(c->control.family, AF_UNIX);
	ck_assert_int_eq(c->control_mode, 0660);
	config_release(c);
	c = ok("[gateway]\ncontrol = unix:/run/gatewayd/control.sock\n" ROUTE);
	ck_assert_str_eq(c->control.ipc_path, "/run/gatewayd/control.sock");
	config_release(c);
	c = ok("[gateway]\ncontrol = unix:@gw-ctl\n" ROUTE);
	ck_assert_int_eq(c->control.abstract, 1);
	config_release(c);
}
END_TEST

START_TEST(control_errors)
{
	fails("[gateway]\ncontrol = 127.0.0.1:9\n" ROUTE, 2,
	    "control: expected unix:PATH or unix:@NAME, not '127.0.0.1:9'");
	fails("[gateway]\ncontrol = unix:\n" ROUTE, 2,
	    "control 'unix:': empty unix socket path");
	fails("[gateway]\ncontrol_mode = 999\n" ROUTE, 2,
	    "control_mode: expected an octal mode such as 0660, not '999'");
}
END_TEST

START_TEST(agent_addresses)
{
	struct config *c = ok("[gateway]\nagent = 127.0.0.1:9999\n" ROUTE);

	ck_assert_int_eq(c->has_agent, 1);
	ck_assert_int_eq(c->agent.family, AF_INET);
	config_release(c);
	c = ok("[gateway]\nagent = [::1]:0\n" ROUTE);
	ck_assert_int_eq(c->agent.family, AF_INET6);
	config_release(c);
}
END_TEST

START_TEST(agent_errors)
{
	fails("[gateway]\nagent = unix:/x.sock\n" ROUTE, 2,
	    "agent: expected one TCP address (HOST:PORT, [IPV6]:PORT or *:PORT), "
	    "not 'unix:/x.sock'");
	fails("[gateway]\nagent = localhost:9\n" ROUTE, 2,
	    "agent: expected one TCP address (HOST:PORT, [IPV6]:PORT or *:PORT), "
	    "not 'localhost:9'");
}
END_TEST

START_TEST(drain_delay)
{
	struct config *c = ok("[gateway]\ndrain_delay = 2.5\n" ROUTE);

	ck_assert(c->drain_delay == 2.5);
	config_release(c);
	fails("[gateway]\ndrain_delay = soon\n" ROUTE, 2,
	    "drain_delay: expected seconds, not 'soon'");
}
END_TEST

static Suite *config_gateway_suite(void)
{
	Suite *s = suite_create("config_gateway");
	TCase *tc = tcase_create("keys");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, control_paths);
	tcase_add_test(tc, control_errors);
	tcase_add_test(tc, agent_addresses);
	tcase_add_test(tc, agent_errors);
	tcase_add_test(tc, drain_delay);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(config_gateway_suite)
