/* metrics.c: counting, the exposition's lines, and a worker's counts
 * reaching the main process whole. */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

static char *text_of(const struct metrics *m)
{
	struct metrics_gauges g = { .children = 2, .workers = 1 };
	char *out, *z;
	size_t len;

	ck_assert_int_eq(metrics_text(m, &g, &out, &len), 0);
	z = malloc(len + 1);
	memcpy(z, out, len);
	z[len] = '\0';
	free(out);
	return z;
}

static void has_line(const char *text, const char *line)
{
	char *want = malloc(strlen(line) + 3);

	sprintf(want, "\n%s\n", line);
	ck_assert_msg(strstr(text, want) != NULL, "no line '%s' in:\n%s", line, text);
	free(want);
}

START_TEST(counts_by_reason_and_outcome)
{
	struct metrics m = { 0 };
	struct route_stats *s = metrics_route(&m, "echo");
	struct child_outcome ok = { .secs = 0.002, .utime = 0.5, .stime = 0.25 };
	struct child_outcome bad = { .status = 3, .secs = 0.3, .utime = -1 };
	struct child_outcome sig = { .sig = 9, .secs = 2 };
	struct child_outcome late = { .sig = 15, .timeout = 1, .secs = 400 };
	char *t;

	ck_assert_ptr_eq(metrics_route(&m, "echo"), s);
	stats_accepted(s);
	stats_accepted(s);
	stats_refused(s, "deny");
	stats_refused(s, "per_source");
	stats_refused(s, "drained");
	stats_refused(s, "admin");
	stats_refused(s, "reload");
	stats_refused(s, "no such reason");
	stats_spawn_error(s);
	stats_exit(s, &ok);
	stats_exit(s, &bad);
	stats_exit(s, &sig);
	stats_exit(s, &late);
	stats_http(s, 204);
	stats_http(s, 503);
	stats_http(s, 0);
	stats_accepted(NULL);           /* an uncounted route */
	t = text_of(&m);
	has_line(t, "gatewayd_connections_accepted_total{route=\"echo\"} 2");
	has_line(t, "gatewayd_connections_refused_total{route=\"echo\",reason=\"deny\"} 1");
	has_line(t, "gatewayd_connections_refused_total{route=\"echo\",reason=\"per_source\"} 1");
	has_line(t, "gatewayd_connections_refused_total{route=\"echo\",reason=\"busy\"} 0");
	has_line(t, "gatewayd_connections_refused_total{route=\"echo\",reason=\"drained\"} 1");
	has_line(t, "gatewayd_connections_refused_total{route=\"echo\",reason=\"admin\"} 1");
	has_line(t, "gatewayd_connections_refused_total{route=\"echo\",reason=\"reload\"} 1");
	has_line(t, "gatewayd_spawn_errors_total{route=\"echo\"} 1");
	has_line(t, "gatewayd_child_exits_total{route=\"echo\",outcome=\"success\"} 1");
	has_line(t, "gatewayd_child_exits_total{route=\"echo\",outcome=\"failure\"} 1");
	has_line(t, "gatewayd_child_exits_total{route=\"echo\",outcome=\"signal\"} 1");
	has_line(t, "gatewayd_child_exits_total{route=\"echo\",outcome=\"timeout\"} 1");
	/* Cumulative buckets; 400 s is past the last bound. */
	has_line(t, "gatewayd_child_duration_seconds_bucket{route=\"echo\",le=\"0.005\"} 1");
	has_line(t, "gatewayd_child_duration_seconds_bucket{route=\"echo\",le=\"0.5\"} 2");
	has_line(t, "gatewayd_child_duration_seconds_bucket{route=\"echo\",le=\"5\"} 3");
	has_line(t, "gatewayd_child_duration_seconds_bucket{route=\"echo\",le=\"300\"} 3");
	has_line(t, "gatewayd_child_duration_seconds_bucket{route=\"echo\",le=\"+Inf\"} 4");
	has_line(t, "gatewayd_child_duration_seconds_count{route=\"echo\"} 4");
	has_line(t, "gatewayd_child_cpu_seconds_total{route=\"echo\",mode=\"user\"} 0.500000");
	has_line(t, "gatewayd_child_cpu_seconds_total{route=\"echo\",mode=\"system\"} 0.250000");
	has_line(t, "gatewayd_http_responses_total{route=\"echo\",class=\"2xx\"} 1");
	has_line(t, "gatewayd_http_responses_total{route=\"echo\",class=\"5xx\"} 1");
	has_line(t, "gatewayd_children 2");
	has_line(t, "gatewayd_workers 1");
	ck_assert_ptr_nonnull(strstr(t, "# TYPE gatewayd_child_duration_seconds histogram\n"));
	free(t);
	metrics_free(&m);
}
END_TEST

START_TEST(label_values_escaped)
{
	struct metrics m = { 0 };
	char *t;

	stats_accepted(metrics_route(&m, "a\"b\\c"));
	t = text_of(&m);
	has_line(t, "gatewayd_connections_accepted_total{route=\"a\\\"b\\\\c\"} 1");
	free(t);
	metrics_free(&m);
}
END_TEST

/* What a worker counts reaches the main process once, added to what it
 * counted itself, route by route. */
START_TEST(deltas_add_up_once)
{
	struct metrics w = { 0 }, main = { 0 };
	struct child_outcome ok = { .secs = 0.02, .utime = 0.1, .stime = 0.1 };
	char *data, *t;
	size_t len;

	stats_accepted(metrics_route(&main, "echo"));
	stats_exit(metrics_route(&w, "echo"), &ok);
	stats_exit(metrics_route(&w, "echo"), &ok);
	stats_http(metrics_route(&w, "web"), 200);
	ck_assert_int_eq(metrics_delta(&w, &data, &len), 0);
	ck_assert_uint_gt(len, 0);
	metrics_merge(&main, data, len);
	free(data);
	/* Nothing new: nothing to send. */
	ck_assert_int_eq(metrics_delta(&w, &data, &len), 0);
	ck_assert_uint_eq(len, 0);
	stats_exit(metrics_route(&w, "echo"), &ok);
	ck_assert_int_eq(metrics_delta(&w, &data, &len), 0);
	metrics_merge(&main, data, len);
	/* A record cut short is left alone. */
	metrics_merge(&main, data, len - 1);
	free(data);
	t = text_of(&main);
	has_line(t, "gatewayd_connections_accepted_total{route=\"echo\"} 1");
	has_line(t, "gatewayd_child_exits_total{route=\"echo\",outcome=\"success\"} 3");
	has_line(t, "gatewayd_child_duration_seconds_count{route=\"echo\"} 3");
	has_line(t, "gatewayd_child_cpu_seconds_total{route=\"echo\",mode=\"user\"} 0.300000");
	has_line(t, "gatewayd_http_responses_total{route=\"web\",class=\"2xx\"} 1");
	free(t);
	metrics_free(&w);
	metrics_free(&main);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, counts_by_reason_and_outcome);
	tcase_add_test(tc, label_values_escaped);
	tcase_add_test(tc, deltas_add_up_once);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
