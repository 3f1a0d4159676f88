/* The upgrade's handover text: what one image writes, the next reads
 * back whole; later versions' records and keys are passed over; anything
 * malformed is refused with its line. */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "handover_text.h"
#include "unit.h"

static struct handover_buf written(void)
{
	struct handover_buf b = { 0 };
	struct handed_listener l = { .fd = 7, .family = AF_INET, .made = 0 };
	struct handed_listener u = { .fd = 9, .family = AF_UNIX, .made = 1 };
	struct handed_child c = { .pid = 4242, .errfd = 11, .started = 123456789012ULL,
	    .worker = -1 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.ci.peer;

	strcpy(l.text, "127.0.0.1:8080");
	strcpy(u.text, "unix:/run/a b/%s=x.sock");
	strcpy(u.path, "/run/a b/%s=x.sock");
	strcpy(c.route, "echo");
	c.ci.tcp = 1;
	c.ci.id = 77;
	strcpy(c.ci.remote_ip, "192.0.2.1");
	c.ci.remote_port = 5555;
	strcpy(c.ci.local_ip, "127.0.0.1");
	c.ci.local_port = 8080;
	strcpy(c.ci.via, "127.0.0.1:40000");
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5555);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	handover_put_from(&b, "1.2.3", 99, 76, 12, -1, 1024, 4096);
	handover_put_listener(&b, &l);
	handover_put_listener(&b, &u);
	handover_put_child(&b, &c);
	handover_put_worker(&b, &(struct handed_worker){ .index = 1, .pid = 99, .fd = 13 });
	c.worker = 1;
	c.pid = 4243;
	handover_put_child(&b, &c);
	return b;
}

START_TEST(round_trip)
{
	struct handover_buf b = written();
	struct handover h;
	char err[128];

	ck_assert_int_eq(b.failed, 0);
	ck_assert_int_eq(handover_parse(b.data, b.len, &h, err, sizeof err), 0);
	ck_assert_str_eq(h.version, "1.2.3");
	ck_assert_uint_eq(h.started, 99);
	ck_assert_uint_eq(h.last_conn, 76);
	ck_assert_int_eq(h.reply, 12);
	ck_assert_uint_eq(h.nofile_soft, 1024);
	ck_assert_uint_eq(h.nofile_hard, 4096);
	ck_assert_uint_eq(h.nlisteners, 2);
	ck_assert_int_eq(h.listeners[0].fd, 7);
	ck_assert_str_eq(h.listeners[0].text, "127.0.0.1:8080");
	ck_assert_int_eq(h.listeners[1].family, AF_UNIX);
	ck_assert_int_eq(h.listeners[1].made, 1);
	ck_assert_str_eq(h.listeners[1].text, "unix:/run/a b/%s=x.sock");
	ck_assert_str_eq(h.listeners[1].path, "/run/a b/%s=x.sock");
	ck_assert_uint_eq(h.nchildren, 2);
	ck_assert_int_eq(h.children[0].worker, -1);
	ck_assert_int_eq(h.children[1].worker, 1);
	ck_assert_int_eq(h.children[1].pid, 4243);
	ck_assert_uint_eq(h.nworkers, 1);
	ck_assert_uint_eq(h.workers[0].index, 1);
	ck_assert_int_eq(h.workers[0].pid, 99);
	ck_assert_int_eq(h.workers[0].fd, 13);
	ck_assert_int_eq(h.children[0].pid, 4242);
	ck_assert_int_eq(h.children[0].errfd, 11);
	ck_assert_uint_eq(h.children[0].started, 123456789012ULL);
	ck_assert_str_eq(h.children[0].route, "echo");
	ck_assert_uint_eq(h.children[0].ci.id, 77);
	ck_assert_str_eq(h.children[0].ci.remote_ip, "192.0.2.1");
	ck_assert_uint_eq(h.children[0].ci.remote_port, 5555);
	ck_assert_str_eq(h.children[0].ci.via, "127.0.0.1:40000");
	ck_assert_int_eq(((struct sockaddr_in *)&h.children[0].ci.peer)->sin_port,
	    htons(5555));
	handover_free(&h);
	free(b.data);
}
END_TEST

START_TEST(later_records_and_keys_are_passed_over)
{
	const char *t = "gatewayd-upgrade 1\n"
	    "from version=9 started=1 last_conn=2 reply=-1 colour=blue\n"
	    "gadget fd=3 whatever\n"
	    "listen fd=5 family=2 passed=0 made=0 text=x:1 path= shiny=yes\n";
	struct handover h;
	char err[128];

	ck_assert_int_eq(handover_parse(t, strlen(t), &h, err, sizeof err), 0);
	ck_assert_uint_eq(h.nlisteners, 1);
	ck_assert_int_eq(h.listeners[0].fd, 5);
	ck_assert_int_eq(h.reply, -1);
	handover_free(&h);
}
END_TEST

static void refused(const char *t, const char *why)
{
	struct handover h;
	char err[128] = "";

	ck_assert_int_eq(handover_parse(t, strlen(t), &h, err, sizeof err), -1);
	ck_assert_msg(strstr(err, why) != NULL, "%s: %s", t, err);
	handover_free(&h);
}

START_TEST(malformed_is_refused)
{
	refused("", "empty");
	refused("gatewayd-upgrade 2\n", "not a handover");
	refused("gatewayd-upgrade 1\nlisten fd=x\n", "line 2");
	refused("gatewayd-upgrade 1\nlisten fd\n", "line 2");
	refused("gatewayd-upgrade 1\nchild pid=99999999999999999999999\n", "line 2");
	refused("gatewayd-upgrade 1\nchild rport=65536\n", "line 2");
	refused("gatewayd-upgrade 1\nchild route=%4\n", "line 2");
	refused("gatewayd-upgrade 1\nchild route=%zz\n", "line 2");
	refused("gatewayd-upgrade 1\nchild peer=00\n", "line 2");
	/* One digit over a small bound is over it too. */
	refused("gatewayd-upgrade 1\nreading stage=9\n", "line 2");
	refused("gatewayd-upgrade 1\nlisten passed=7\n", "line 2");
	refused("gatewayd-upgrade 1\nchild tcp=5\n", "line 2");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("handover");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, later_records_and_keys_are_passed_over);
	tcase_add_test(tc, malformed_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
