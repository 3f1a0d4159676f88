/* One connection's child: spawn, stderr lines, timeout, exit. */
#ifndef GATEWAY_CHILD_H
#define GATEWAY_CHILD_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "env.h"
#include "errlog.h"
#include "server.h"
#include "spawn.h"

struct child {
	struct proc proc;
	struct errlog err;              /* stderr = log */
	uv_timer_t timer;               /* timeout, then kill_grace */
	struct server *srv;
	const struct route *route;
	struct slot slot;               /* the server's counts, held */
	struct conn_info ci;
	uint64_t started;               /* uv_hrtime() */
	double kill_grace;
	int pid;
	int alive;                      /* not yet reaped, still watched */
	int timer_open;
	int killing;                    /* TERM sent by the timeout */
	int handles;                    /* open libuv handles; freed at 0 */
	int listed;                     /* on the server's list */
	const char *end_reason;         /* why the gateway signalled it */
	void (*on_end)(void *);         /* told when it exits (a body feeder) */
	void *on_end_arg;
	struct child *prev, *next;      /* the server's list */
};

/* For cgi and nph routes: the request, and the pipes that stand for the
 * socket on stdin (a chunked body) or stdout (a cgi response); -1 where
 * the socket itself is the child's. */
struct http_spawn {
	const struct cgi_request *cgi;
	int stdin_fd, stdout_fd;
};

/* Spawns the route's program on the accepted socket `fd` and closes the
 * gateway's copy. Returns the child, or NULL with *err set (a libuv
 * error): when child_shortage(*err) the gateway itself was short of
 * descriptors, memory or processes before anything ran, and fd is left
 * open for a later try; otherwise fd is closed and a spawn_error logged. */
struct child *child_spawn(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci, const struct http_spawn *hs, double kill_grace,
    int *err);
int child_shortage(int err);

/* Signals the child's process group (it is a session leader). */
void child_signal(struct child *c, int sig, const char *reason);

/* Whether the child still needs the gateway once it stops: its stderr
 * lines come through it. */
int child_needs_gateway(const struct child *c);

/* Stops watching a running child, which carries on by itself. */
void child_detach(struct child *c);

/* Stops reading its stderr pipe, for a gateway that is exiting. */
void child_release(struct child *c);

/* Log fields naming the connection, shared with the server's events. */
void child_log_conn(struct logline *l, const struct route *r,
    const struct conn_info *ci);
void child_log_peer(struct logline *l, const struct conn_info *ci);
/* spawn_error: the failed step (or NULL) and a libuv error. */
void child_log_spawn_error(const struct route *r, const struct conn_info *ci,
    const char *stage, int err);

/* The read end of its stderr = log pipe, or -1. */
int child_stderr_fd(const struct child *c);

/* The exit event: status= or signal=, duration=, reason= if the gateway
 * ended it. Shared with the children taken over from a dead worker. */
void child_log_exit(const struct route *r, const struct conn_info *ci,
    pid_t pid, int64_t status, int sig, double secs, const char *reason);

#endif
