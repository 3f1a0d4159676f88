/* The server's figures (metrics.h): which counters the routes of the
 * running config count into, what a scrape adds of the moment (children,
 * connections being read and held, workers, descriptors), the endpoint
 * that serves them (metrics_http.c), and in a worker, sending what it
 * counted to the main process once a second. */
#include "server.h"
#include "server_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "util.h"

static double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void server_metrics_routes(struct server *s)
{
	for (size_t i = 0; i < s->config->nroutes; i++)
		s->config->routes[i].stats = metrics_route(&s->metrics,
		    s->config->routes[i].name);
	s->metrics.config_time = unix_now();
}

/* Descriptors open in process pid (0: this one), or 0 if unknown. */
static unsigned open_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	unsigned n = 0;
	DIR *dir;

	snprintf(path, sizeof path, pid ? "/proc/%d/fd" : "/proc/self/fd", (int)pid);
	if (!(dir = opendir(path)))
		return 0;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return pid ? n : n - 1; /* not the directory's own */
}

static int scrape(struct metrics_source *src, char **out, size_t *len)
{
	struct server *s = container_of(src, struct server, metrics_src);
	struct metrics_gauges g = { .children = s->nchildren };
	pid_t pids[WORKERS_MAX];
	unsigned nworkers = s->pool ? pool_workers(s->pool, pids, WORKERS_MAX) : 0;

	for (struct route_stats *r = s->metrics.routes; r; r = r->next)
		r->running = 0;
	for (size_t i = 0; i < s->config->nroutes; i++)
		if (s->config->routes[i].stats)
			s->config->routes[i].stats->running = s->rstate[i]->live;
	for (size_t i = 0; i < s->nlisteners; i++)
		g.reading += s->listeners[i]->pending;
	g.held = held_count(&s->held);
	g.workers = nworkers;
	g.open_fds = open_fds(0);
	for (unsigned i = 0; i < nworkers; i++)
		g.open_fds += open_fds(pids[i]);
	return metrics_text(&s->metrics, &g, out, len);
}

static int draining(struct metrics_source *src)
{
	return server_draining(container_of(src, struct server, metrics_src));
}

int server_metrics_start(struct server *s, char *err, size_t errlen)
{
	const struct config *c = s->config;
	struct logline l;

	s->metrics.start_time = unix_now();
	server_metrics_routes(s);
	if (!c->metrics.text[0])
		return 0;
	s->metrics_src.text = scrape;
	s->metrics_src.draining = draining;
	if (metrics_http_open(&s->metrics_http, s->loop, &s->metrics_src,
	    &c->metrics, c->metrics_mode, err, errlen) < 0)
		return -1;
	s->metrics_open = 1;
	log_begin(&l, "listen");
	log_str(&l, "metrics", s->metrics_http.l->name);
	log_end(&l);
	return 0;
}

void server_metrics_stop(struct server *s)
{
	if (s->metrics_open)
		metrics_http_close(&s->metrics_http);
	s->metrics_open = 0;
}

/* ---- a worker's ---- */

void server_metrics_send(struct server *s)
{
	char *data;
	size_t len;

	if (!s->role || metrics_delta(&s->metrics, &data, &len) < 0 || !len)
		return;
	s->role->stats(s->role, data, len);
	free(data);
}

static void on_send_timer(uv_timer_t *t)
{
	server_metrics_send(t->data);
}

void server_metrics_worker(struct server *s)
{
	server_metrics_routes(s);
	uv_timer_init(s->loop, &s->metrics_timer);
	s->metrics_timer.data = s;
	uv_timer_start(&s->metrics_timer, on_send_timer, 1000, 1000);
	s->metrics_timer_open = 1;
}

void server_metrics_worker_stop(struct server *s)
{
	if (!s->metrics_timer_open)
		return;
	server_metrics_send(s);
	s->metrics_timer_open = 0;
	uv_close((uv_handle_t *)&s->metrics_timer, NULL);
}
