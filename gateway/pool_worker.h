/* One worker process as the main process sees it: its start (fork, then
 * exec of `gatewayd --worker` with one end of a SOCK_SEQPACKET socketpair
 * on WORKER_FD), the socket the two talk over, and the config sent to it.
 * The pool (pool.c) owns the workers and polls their sockets. */
#ifndef GATEWAY_POOL_WORKER_H
#define GATEWAY_POOL_WORKER_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"

/* A restarted worker is a new struct, since the old one's handle may
 * still be closing. */
struct worker {
	pid_t pid;
	uint64_t started;               /* ms, loop time */
	int sock;
	unsigned inflight;              /* handed over, not yet spawned */
	int old;                        /* an image before an upgrade started it */
	int retiring;                   /* being replaced: takes no more */
	int killed;                     /* and ended, its children ours */
	uv_poll_t poll;                 /* initialised; the owner starts it */
};

/* Starts worker number n for the config file at path; logs its worker
 * event. Returns it (calloc'd), or NULL with *err a negative errno. */
struct worker *worker_start(uv_loop_t *loop, const char *path, unsigned n,
    int *err);

/* Worker n, started by the image before an in-place upgrade: its pid
 * and its end of the socketpair, as handed over. NULL when out of
 * memory. */
struct worker *worker_take(uv_loop_t *loop, pid_t pid, int sock, unsigned n);

/* Sends config c (its text, through a memfd) as the given generation.
 * 0 or a negative errno. */
int worker_send_config(struct worker *w, const struct config *c,
    uint32_t generation);

/* Closes its socket and handle; w is freed once the handle is closed. */
void worker_close(struct worker *w);

#endif
