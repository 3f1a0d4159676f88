/* The children of a worker that died, which the main process takes over
 * (it is their subreaper): each a child.c object adopted through a pidfd,
 * with the exit event, the rest of its timeout and the kill path of any
 * child, and its place in the counts until it exits. */
#ifndef GATEWAY_ORPHANS_H
#define GATEWAY_ORPHANS_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "child.h"
#include "conn.h"
#include "queue.h"

struct orphans;

/* The owner (the pool) embeds the set and finds itself with
 * container_of. */
struct orphans_hooks {
	/* An orphan's place in the counts goes. */
	void (*slot_free)(struct orphans *o, struct slot *sl);
	/* One has exited: a place may have freed. */
	void (*exited)(struct orphans *o);
	/* One has been reaped (or was never watched): a zombie it held
	 * back may be reaped now. */
	void (*freed)(struct orphans *o);
};

struct orphans {
	uv_loop_t *loop;
	const struct orphans_hooks *hooks;
	struct queue list;
	struct child_owner owner;
};

void orphans_init(struct orphans *o, uv_loop_t *loop, const struct orphans_hooks *h);

/* Takes over pid, the child of connection conn started at `started` (a
 * uv_hrtime()), with the connection's place in the counts; its stderr =
 * log pipe's read end errfd (or -1) is taken. 0, or a negative errno:
 * then it is not watched, its place is given up, and its end is reaped
 * unlogged. */
int orphans_adopt(struct orphans *o, pid_t pid, struct conn *conn,
    uint64_t started, int errfd);

/* Whether pid is one of them. */
int orphans_has(struct orphans *o, pid_t pid);

/* Ends them all (the kill path, for a stop). */
void orphans_end(struct orphans *o, double grace);

/* Tells fn of each ("running"). */
void orphans_each(struct orphans *o, conn_visit_fn *fn, void *arg);

/* The one serving connection id, or NULL. */
struct child *orphans_find(struct orphans *o, uint64_t conn);

#endif
