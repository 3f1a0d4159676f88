/* What the two files of the main process's side of the workers share:
 * pool.c (handing connections over, the workers' reports, restarts,
 * reaping) and pool_admin.c (the handed-over connections as the control
 * socket lists and ends them). */
#ifndef GATEWAY_POOL_INT_H
#define GATEWAY_POOL_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "conn.h"
#include "ipc.h"
#include "orphans.h"
#include "queue.h"

#define BUCKETS 1024

struct pool_owner;
struct worker;

/* A connection handed to a worker, as the main process counts it. */
struct remote {
	struct conn *conn;              /* held; its socket until a worker has it */
	struct pool *pool;
	struct ipc_msg msg;             /* as sent, for a resend */
	char *head;                     /* msg.datalen bytes: an HTTP head, TLVs */
	unsigned worker;
	pid_t pid;                      /* once the worker has spawned it */
	int waiting;                    /* sent back: no worker had room */
	int errfd;                      /* its stderr = log pipe, or -1 */
	int http;                       /* an old worker's, of an HTTP route then */
	uint64_t started;               /* uv_hrtime() */
	struct queue q;                 /* in the pool's remotes */
	struct remote *hnext;           /* by connection id */
};

struct pool {
	struct pool_owner *owner;
	struct worker **w;              /* NULL: not running */
	unsigned n, next;
	struct queue remotes;
	struct remote *bucket[BUCKETS];
	unsigned target;                /* workers wanted: the first ones */
	struct orphans orphans;         /* taken over from dead workers */
	uv_signal_t sigchld;
	uv_timer_t restart;             /* brings back workers that died young */
	uv_timer_t retry;               /* sends the waiting connections again */
	uv_timer_t renew;               /* replaces workers after an upgrade */
	uint64_t last_wait_log;         /* ms: the waiting warning, rate-limited */
	int stopping;
	int reaping;                    /* a pass of reap() is under way */
};

/* Its child is gone (or taken over, with the connection's place in the
 * counts): freed, and out of the counts unless keep_counted. */
void pool_remote_free(struct pool *p, struct remote *r, int keep_counted);

/* Lists the connection (by its id too). */
static inline void pool_link_remote(struct pool *p, struct remote *r)
{
	struct remote **b = &p->bucket[r->msg.conn % BUCKETS];

	r->hnext = *b;
	*b = r;
	queue_insert_tail(&p->remotes, &r->q);
}

/* pool_upgrade.c: the slots the workers handed over by the image before
 * an upgrade take (after the `target` new ones); taking them and their
 * connections over (0 or a negative errno); a replaced worker's end. */
struct handover;
unsigned pool_handed_slots(const struct handover *h);
int pool_take_over(struct pool *p, struct handover *h);
void pool_retired(struct pool *p, unsigned i, pid_t pid);

/* The connection numbered conn, handed to a worker, or NULL. */
static inline struct remote *pool_find(struct pool *p, uint64_t conn)
{
	struct remote *r = p->bucket[conn % BUCKETS];

	while (r && r->msg.conn != conn)
		r = r->hnext;
	return r;
}

#endif
