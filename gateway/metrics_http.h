/* The metrics endpoint: `[gateway] metrics = ADDR` answers `GET /metrics`
 * (metrics.h's exposition) and `GET /healthz` on the gateway's own event
 * loop, one short HTTP/1.x exchange per connection, never blocking. */
#ifndef GATEWAY_METRICS_HTTP_H
#define GATEWAY_METRICS_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "addr.h"
#include "config.h"
#include "queue.h"

struct listener;

/* What the endpoint asks its owner, who embeds this and finds itself
 * with container_of. */
struct metrics_source {
	/* The exposition, malloc'd. 0 or a negative errno. */
	int (*text)(struct metrics_source *src, char **out, size_t *len);
	/* 1 while the gateway is draining (/healthz answers 503). */
	int (*draining)(struct metrics_source *src);
};

struct metrics_http {
	uv_loop_t *loop;
	struct metrics_source *src;
	struct listener *l;
	unsigned clients;
	struct queue exchanges;         /* under way */
	uv_timer_t retry;               /* accepting again after a shortage */
	int retry_open;
};

enum metrics_page { PAGE_BAD, PAGE_METHOD, PAGE_METRICS, PAGE_HEALTH, PAGE_NONE };

/* What a request head's first line asks for (a GET or HEAD of
 * /metrics or /healthz; a query is ignored); *head_only for HEAD. */
enum metrics_page metrics_http_page(const char *head, size_t len, int *head_only);

/* Opens the endpoint at a (mode: the socket file's, for unix:). 0, or
 * -1 with err saying why. */
int metrics_http_open(struct metrics_http *m, uv_loop_t *loop,
    struct metrics_source *src, const struct listen_addr *a, int mode,
    char *err, size_t errlen);

/* Closes the endpoint; exchanges under way finish on their own. */
void metrics_http_close(struct metrics_http *m);

#endif
