/* Clients accepted when the gateway could not start their child (short
 * of descriptors, memory or processes): kept in order, each watched
 * while it waits (one that resets its connection is gone, and gets no
 * child), and handed back to the owner one by one when there is room. A
 * FIN alone may be a half-close by a client that still reads (`nc -N`):
 * such a client keeps its place. */
#ifndef GATEWAY_HELD_H
#define GATEWAY_HELD_H

#include <uv.h>

#include "conn.h"
#include "queue.h"

struct held_queue;

/* The owner embeds the queue and finds itself with container_of. */
struct held_hooks {
	/* Whether a child may start now (the gateway's max_children). */
	int (*room)(struct held_queue *hq);
	/* A held client's turn (its route as it was when it was held: a
	 * reload may have changed it). Returns 0 once it is dealt with (a
	 * child started, or the client given up and logged), or a negative
	 * errno of a shortage: it keeps its socket, and its place. */
	int (*start)(struct held_queue *hq, struct conn *c);
	/* A client that leaves the queue without a child (for a worker,
	 * whose main process counts it). */
	void (*gone)(struct held_queue *hq, const struct conn *c);
};

struct held_queue {
	uv_loop_t *loop;
	const struct held_hooks *hooks;
	struct queue list;              /* oldest first */
};

void held_init(struct held_queue *hq, uv_loop_t *loop, const struct held_hooks *h);

int held_empty(const struct held_queue *hq);

/* How many are held: for a scrape. */
unsigned held_count(const struct held_queue *hq);

/* Keeps a client, with its socket: takes the caller's reference to c. */
void held_add(struct held_queue *hq, struct conn *c);

/* Hands held clients to hooks->start, oldest first, while there is room
 * and no shortage. */
void held_serve(struct held_queue *hq);

/* Closes every held client, each logged refuse reason=why. */
void held_drop(struct held_queue *hq, const char *why);

/* Tells fn of each held client ("waiting"). */
void held_each(struct held_queue *hq, conn_visit_fn *fn, void *arg);

/* Closes the held client numbered id, logged refuse reason=why: 1, or 0
 * when it is not here. */
int held_close(struct held_queue *hq, uint64_t id, const char *why);

#endif
