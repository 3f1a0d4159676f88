/* The gateway's figures, for Prometheus: counters per route, kept by the
 * route's name from start to exit (a reload keeps them; a route removed
 * keeps its series), the gateway's own, and the text exposition format
 * they are served in (metrics_http.c serves it). Plain data: the place
 * that sees an event counts it here, as it logs it. */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The refuse event's reasons, as labels. */
enum stats_refuse {
	REFUSED_DENY, REFUSED_BUSY, REFUSED_PER_SOURCE, REFUSED_PROXY,
	REFUSED_RATE, REFUSED_SHUTDOWN, REFUSED_RELOAD, REFUSED_DRAINED,
	REFUSED_ADMIN, REFUSED_REASONS
};

/* How a child ended: status 0, another status, a signal, or ended by
 * the gateway at its timeout. */
enum stats_exit { EXITED_OK, EXITED_ERROR, EXITED_SIGNAL, EXITED_TIMEOUT, EXIT_OUTCOMES };

#define DURATION_BUCKETS 11

/* A route's counters. A worker counts its own children and answers
 * and sends what changed to the main process (metrics_delta), which adds
 * it to its own (metrics_merge): the main process's are the gateway's. */
struct stats_counts {
	uint64_t accepted;
	uint64_t refused[REFUSED_REASONS];
	uint64_t spawn_errors;
	uint64_t exits[EXIT_OUTCOMES];
	uint64_t duration[DURATION_BUCKETS];    /* not cumulative; the last: +Inf */
	double duration_sum;
	uint64_t http[5];                       /* 1xx to 5xx */
	double cpu_user, cpu_system;            /* seconds, the children's */
};

struct route_stats {
	struct route_stats *next;
	char *name;
	struct stats_counts n;
	struct stats_counts sent;               /* a worker's, as last sent */
	unsigned running;                       /* set just before a scrape */
};

/* How one child ended, for stats_exit. */
struct child_outcome {
	int status, sig;
	int timeout;                    /* ended at its timeout */
	double secs;
	double utime, stime;            /* -1: not known */
};

struct metrics {
	struct route_stats *routes;
	double start_time;              /* Unix seconds */
	double config_time;             /* when the running config was loaded */
	uint64_t reloads, reload_errors;
};

/* The gateway's figures of the moment, filled by its owner for a scrape. */
struct metrics_gauges {
	unsigned children, reading, held, workers;
	unsigned open_fds;
};

/* The stats of the route called name, made on first use. NULL when out
 * of memory (the route then goes uncounted). */
struct route_stats *metrics_route(struct metrics *m, const char *name);

void metrics_free(struct metrics *m);

/* Each counts one event into s, which may be NULL (uncounted). */
void stats_accepted(struct route_stats *s);
void stats_refused(struct route_stats *s, const char *reason);
void stats_spawn_error(struct route_stats *s);
void stats_exit(struct route_stats *s, const struct child_outcome *o);
void stats_http(struct route_stats *s, int status);

/* What changed since the last call, as records for metrics_merge,
 * malloc'd into *out (*len 0: nothing changed). 0, or -ENOMEM. */
int metrics_delta(struct metrics *m, char **out, size_t *len);

/* Adds a worker's records (metrics_delta's, from the same binary). */
void metrics_merge(struct metrics *m, const char *data, size_t len);

/* The exposition (text format 0.0.4) into a malloc'd *out of *len
 * bytes. 0, or -ENOMEM. */
int metrics_text(const struct metrics *m, const struct metrics_gauges *g,
    char **out, size_t *len);

#endif
