/* Counting (metrics.h), and writing the figures in Prometheus' text
 * exposition format: `gatewayd_` names, `_total` counters, seconds, the
 * labels `route`, `reason`, `outcome`, `class` and `mode`. */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const refuse_label[REFUSED_REASONS] = {
	"deny", "busy", "per_source", "proxy", "rate", "shutdown", "reload",
	"drained", "admin",
};

static const char *const exit_label[EXIT_OUTCOMES] = {
	"success", "failure", "signal", "timeout",
};

/* Upper bounds of the duration buckets, seconds; the last is +Inf. */
static const double bucket_le[DURATION_BUCKETS - 1] = {
	0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300,
};

struct route_stats *metrics_route(struct metrics *m, const char *name)
{
	struct route_stats *s, **tail = &m->routes;

	for (s = m->routes; s; s = s->next) {
		if (strcmp(s->name, name) == 0)
			return s;
		tail = &s->next;
	}
	if (!(s = calloc(1, sizeof *s)) || !(s->name = strdup(name))) {
		free(s);
		return NULL;
	}
	*tail = s;
	return s;
}

void metrics_free(struct metrics *m)
{
	struct route_stats *s, *next;

	for (s = m->routes; s; s = next) {
		next = s->next;
		free(s->name);
		free(s);
	}
	m->routes = NULL;
}

void stats_accepted(struct route_stats *s)
{
	if (s)
		s->n.accepted++;
}

void stats_refused(struct route_stats *s, const char *reason)
{
	if (!s)
		return;
	for (int i = 0; i < REFUSED_REASONS; i++)
		if (strcmp(reason, refuse_label[i]) == 0)
			s->n.refused[i]++;
}

void stats_spawn_error(struct route_stats *s)
{
	if (s)
		s->n.spawn_errors++;
}

void stats_http(struct route_stats *s, int status)
{
	if (s && status >= 100 && status < 600)
		s->n.http[status / 100 - 1]++;
}

void stats_exit(struct route_stats *s, const struct child_outcome *o)
{
	int b = 0;

	if (!s)
		return;
	if (o->timeout)
		s->n.exits[EXITED_TIMEOUT]++;
	else if (o->sig)
		s->n.exits[EXITED_SIGNAL]++;
	else
		s->n.exits[o->status == 0 ? EXITED_OK : EXITED_ERROR]++;
	while (b < DURATION_BUCKETS - 1 && o->secs > bucket_le[b])
		b++;
	s->n.duration[b]++;
	s->n.duration_sum += o->secs;
	if (o->utime >= 0) {
		s->n.cpu_user += o->utime;
		s->n.cpu_system += o->stime;
	}
}

/* ---- a worker's counts, sent to the main process ---- */

/* The counters, as an array of each kind, for adding and subtracting. */
#define COUNTS_U64 (offsetof(struct stats_counts, duration_sum) / sizeof(uint64_t))

static void counts_walk(struct stats_counts *to, const struct stats_counts *a,
    const struct stats_counts *b, int sign)
{
	uint64_t *t = (uint64_t *)to;
	const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;

	for (size_t i = 0; i < COUNTS_U64; i++)
		t[i] = sign > 0 ? x[i] + y[i] : x[i] - y[i];
	to->duration_sum = a->duration_sum + sign * b->duration_sum;
	for (int i = 0; i < 5; i++)
		to->http[i] = sign > 0 ? a->http[i] + b->http[i] : a->http[i] - b->http[i];
	to->cpu_user = a->cpu_user + sign * b->cpu_user;
	to->cpu_system = a->cpu_system + sign * b->cpu_system;
}

/* A record: the name's length (a byte), the name, the counts. */
int metrics_delta(struct metrics *m, char **out, size_t *len)
{
	size_t size = 0, o = 0;
	char *buf;

	for (struct route_stats *s = m->routes; s; s = s->next)
		if (strlen(s->name) < 256 && memcmp(&s->n, &s->sent, sizeof s->n) != 0)
			size += 1 + strlen(s->name) + sizeof(struct stats_counts);
	*out = NULL;
	*len = 0;
	if (!size)
		return 0;
	if (!(buf = malloc(size)))
		return -ENOMEM;
	for (struct route_stats *s = m->routes; s; s = s->next) {
		struct stats_counts d;
		size_t n = strlen(s->name);
		if (n >= 256 || memcmp(&s->n, &s->sent, sizeof s->n) == 0)
			continue;
		counts_walk(&d, &s->n, &s->sent, -1);
		s->sent = s->n;
		buf[o++] = (char)n;
		memcpy(buf + o, s->name, n);
		o += n;
		memcpy(buf + o, &d, sizeof d);
		o += sizeof d;
	}
	*out = buf;
	*len = o;
	return 0;
}

void metrics_merge(struct metrics *m, const char *data, size_t len)
{
	char name[256];
	struct stats_counts d;
	struct route_stats *s;
	size_t o = 0, n;

	while (o < len) {
		n = (unsigned char)data[o++];
		if (len - o < n + sizeof d)
			return;
		memcpy(name, data + o, n);
		name[n] = '\0';
		memcpy(&d, data + o + n, sizeof d);
		o += n + sizeof d;
		if ((s = metrics_route(m, name)))
			counts_walk(&s->n, &s->n, &d, 1);
	}
}

/* ---- the text format ---- */

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->err = -EINVAL;
			return;
		}
		if ((size_t)n < o->cap - o->len)
			break;
		char *b = realloc(o->buf, o->cap * 2 + (size_t)n);
		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = o->cap * 2 + (size_t)n;
	}
	o->len += (size_t)n;
}

static void family(struct out *o, const char *name, const char *type,
    const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, quote and newline escaped. */
static const char *label(const char *v, char *buf, size_t len)
{
	size_t o = 0;

	for (; *v && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			buf[o++] = '\\';
		buf[o++] = *v == '\n' ? 'n' : *v;
	}
	buf[o] = '\0';
	return buf;
}

#define EACH_ROUTE(s, m) for (const struct route_stats *s = (m)->routes; s; s = s->next)

static void per_route(struct out *o, const struct metrics *m, const char *name,
    const char *help, size_t offset)
{
	char l[256];

	family(o, name, "counter", help);
	EACH_ROUTE(s, m)
		put(o, "%s{route=\"%s\"} %llu\n", name, label(s->name, l, sizeof l),
		    (unsigned long long)*(const uint64_t *)((const char *)s + offset));
}

static void routes(struct out *o, const struct metrics *m)
{
	char l[256];

	per_route(o, m, "gatewayd_connections_accepted_total",
	    "Connections accepted.", offsetof(struct route_stats, n.accepted));
	family(o, "gatewayd_connections_refused_total", "counter",
	    "Connections refused without a child, by reason.");
	EACH_ROUTE(s, m)
		for (int i = 0; i < REFUSED_REASONS; i++)
			put(o, "gatewayd_connections_refused_total{route=\"%s\",reason=\"%s\"} %llu\n",
			    label(s->name, l, sizeof l), refuse_label[i],
			    (unsigned long long)s->n.refused[i]);
	per_route(o, m, "gatewayd_spawn_errors_total",
	    "Programs that could not be started.", offsetof(struct route_stats, n.spawn_errors));
	family(o, "gatewayd_route_children", "gauge", "Children running.");
	EACH_ROUTE(s, m)
		put(o, "gatewayd_route_children{route=\"%s\"} %u\n",
		    label(s->name, l, sizeof l), s->running);
	family(o, "gatewayd_child_exits_total", "counter",
	    "Children that exited, by outcome.");
	EACH_ROUTE(s, m)
		for (int i = 0; i < EXIT_OUTCOMES; i++)
			put(o, "gatewayd_child_exits_total{route=\"%s\",outcome=\"%s\"} %llu\n",
			    label(s->name, l, sizeof l), exit_label[i],
			    (unsigned long long)s->n.exits[i]);
	family(o, "gatewayd_child_duration_seconds", "histogram",
	    "How long children ran.");
	EACH_ROUTE(s, m) {
		uint64_t n = 0;
		label(s->name, l, sizeof l);
		for (int b = 0; b < DURATION_BUCKETS; b++) {
			n += s->n.duration[b];
			if (b < DURATION_BUCKETS - 1)
				put(o, "gatewayd_child_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				    l, bucket_le[b], (unsigned long long)n);
			else
				put(o, "gatewayd_child_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
				    l, (unsigned long long)n);
		}
		put(o, "gatewayd_child_duration_seconds_sum{route=\"%s\"} %.6f\n", l, s->n.duration_sum);
		put(o, "gatewayd_child_duration_seconds_count{route=\"%s\"} %llu\n", l,
		    (unsigned long long)n);
	}
	family(o, "gatewayd_child_cpu_seconds_total", "counter",
	    "CPU time of the children that exited, by mode.");
	EACH_ROUTE(s, m) {
		label(s->name, l, sizeof l);
		put(o, "gatewayd_child_cpu_seconds_total{route=\"%s\",mode=\"user\"} %.6f\n",
		    l, s->n.cpu_user);
		put(o, "gatewayd_child_cpu_seconds_total{route=\"%s\",mode=\"system\"} %.6f\n",
		    l, s->n.cpu_system);
	}
	family(o, "gatewayd_http_responses_total", "counter",
	    "HTTP responses, by status class.");
	EACH_ROUTE(s, m)
		for (int i = 0; i < 5; i++)
			put(o, "gatewayd_http_responses_total{route=\"%s\",class=\"%dxx\"} %llu\n",
			    label(s->name, l, sizeof l), i + 1, (unsigned long long)s->n.http[i]);
}

static void gauge(struct out *o, const char *name, const char *help, double v)
{
	family(o, name, "gauge", help);
	put(o, "%s %.17g\n", name, v);
}

int metrics_text(const struct metrics *m, const struct metrics_gauges *g,
    char **out, size_t *len)
{
	struct out o = { .cap = 8192 };

	if (!(o.buf = malloc(o.cap)))
		return -ENOMEM;
	routes(&o, m);
	gauge(&o, "gatewayd_children", "Children running, all routes.", g->children);
	gauge(&o, "gatewayd_connections_reading",
	    "Connections whose PROXY header or HTTP head is being read.", g->reading);
	gauge(&o, "gatewayd_connections_held",
	    "Clients kept while descriptors or processes are short.", g->held);
	gauge(&o, "gatewayd_workers", "Worker processes alive.", g->workers);
	family(&o, "gatewayd_reloads_total", "counter", "Reloads, by result.");
	put(&o, "gatewayd_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)m->reloads);
	put(&o, "gatewayd_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)m->reload_errors);
	gauge(&o, "gatewayd_start_time_seconds",
	    "When the gateway started, in Unix time.", m->start_time);
	gauge(&o, "gatewayd_config_load_time_seconds",
	    "When the running config was loaded, in Unix time.", m->config_time);
	gauge(&o, "gatewayd_open_fds",
	    "Open descriptors of the gateway's processes.", g->open_fds);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*out = o.buf;
	*len = o.len;
	return 0;
}
