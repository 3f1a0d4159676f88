/* workers > 1, the main process's side: it accepts and checks every
 * connection itself (so that every limit stays exact; on HTTP routes it
 * reads the head too), then hands the socket (and the head's bytes) to
 * the worker with the fewest connections not yet spawned, over a
 * SOCK_SEQPACKET socketpair with SCM_RIGHTS — libuv's multi-process echo
 * server does the same with uv_write2. The worker spawns and watches the
 * child and reports its start and end. As a child subreaper, the main
 * process takes over the children of a worker that dies, restarts the
 * worker, and hands what the dead one had not taken to another; a child
 * taken over is watched by child.c as the worker watched it (its exit,
 * its timeout, the kill path of a stop), and reaped through its pidfd. */
#ifndef GATEWAY_POOL_H
#define GATEWAY_POOL_H

#include <stdint.h>
#include <uv.h>

#include "conn.h"
#include "listener.h"

struct pool;
struct pool_owner;

/* What the pool needs of the main process that owns it, which embeds
 * this and finds itself with container_of. */
struct pool_owner {
	uv_loop_t *loop;
	/* The running config, and its generation (counted by reloads). */
	struct config *(*config)(struct pool_owner *o, uint32_t *generation);
	/* Counting a connection whose child a worker runs, and un-counting
	 * it (then dropping what it held). */
	void (*slot_take)(struct pool_owner *o, struct slot *sl,
	    const struct route *r, const struct source_key *src);
	void (*slot_free)(struct pool_owner *o, struct slot *sl);
	/* A place freed, or a worker ended. */
	void (*changed)(struct pool_owner *o);
	/* What a worker counted (metrics_delta's records). */
	void (*stats)(struct pool_owner *o, const char *data, size_t len);
	/* Whether pid is a child the owner watches itself (one it started,
	 * or took over in an upgrade): not to be reaped here. */
	int (*watches)(struct pool_owner *o, pid_t pid);
};

struct handover;
struct handover_buf;

/* Starts c->workers workers (*out, as soon as there is a pool), and
 * after an in-place upgrade takes over the workers the image before had
 * (h, else NULL): they take no new connection and are replaced one at a
 * time, each once it relays nothing (its children are taken over, as
 * when a worker dies). 0, or a negative errno with err saying what
 * failed. */
int pool_start(struct pool_owner *owner, struct config *c, struct handover *h,
    struct pool **out, char *err, size_t errlen);

/* Whether new connections go to workers (none are wanted when a config
 * without workers follows one with them, until the old ones are gone). */
int pool_serves(const struct pool *p);

/* For an in-place upgrade: whether every connection handed to a worker
 * has its child running, and how many connections the pool holds (its
 * workers' and the children it took over); the descriptors it hands
 * over at most; and writing its workers and their connections into the
 * handover (their descriptors into fds). */
int pool_carriable(struct pool *p, unsigned *conns);
size_t pool_fd_count(struct pool *p);
void pool_hand_over(struct pool *p, struct handover_buf *b, int *fds, size_t *nfds);

/* Hands an admitted connection, accepted on l, to a worker (the caller's
 * reference; the gateway's copy of its socket is closed once the worker
 * has its own). An HTTP route's request head (headlen bytes, at most
 * IPC_DATA_MAX) goes with it, for the worker to parse again. */
void pool_handover(struct pool *p, const struct listener *l, struct conn *c,
    const char *head, size_t headlen);

/* Sends the server's current config to every worker (after a reload). */
void pool_reload(struct pool *p);

/* Forwards a stop (a second one ends the children) to every worker. */
void pool_stop(struct pool *p);

/* Ends the children taken over from dead workers (child_end, for a
 * stop). */
void pool_end_orphans(struct pool *p, double grace);

/* Whether every worker has ended (after a stop). */
int pool_done(const struct pool *p);

/* The workers alive: their pids into pids (up to max), and how many. */
unsigned pool_workers(const struct pool *p, pid_t *pids, unsigned max);

/* Closes the pool's handles, for a stop that is finishing. */
void pool_close(struct pool *p);

/* Tells fn of each connection handed to a worker: "running" with its
 * child's pid once the worker has spawned it, else "waiting"; and of
 * each child taken over from a worker that died. */
void pool_each(struct pool *p, conn_visit_fn *fn, void *arg);

/* Ends connection id (the control socket's kill, reason=admin): its
 * worker is told, or a child taken over is sent down the kill path here.
 * 1, or 0 when no worker has it. */
int pool_kill(struct pool *p, uint64_t id, double grace);

/* A child the owner watched itself has been reaped: a reaping pass that
 * stopped at it goes on. */
void pool_child_reaped(struct pool *p);

/* Frees the pool once the loop has ended. */
void pool_free(struct pool *p);

#endif
