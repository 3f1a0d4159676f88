/* One connection's child: spawn (or taking over a dead worker's), stderr
 * lines, timeout, the kill path, exit. */
#ifndef GATEWAY_CHILD_H
#define GATEWAY_CHILD_H

#include <stdint.h>
#include <uv.h>

#include "conn.h"
#include "errlog.h"
#include "queue.h"
#include "spawn.h"

struct child;
struct child_pty;

/* Who is told of a child's end: the server for the children it spawns,
 * the pool for those it took over from a worker that died. An owner
 * embeds its child_owner and finds itself with container_of. */
struct child_owner {
	/* It no longer counts: its exit event is logged, or the gateway
	 * has given up on it (child_give_up). Called once. */
	void (*exited)(struct child_owner *o, struct child *c);
	/* Done with: c may be freed (by the owner, whose memory it is);
	 * c->conn is let go of just after. */
	void (*freed)(struct child_owner *o, struct child *c);
};

struct child {
	struct proc proc;
	struct errlog err;              /* stderr = log */
	struct child_pty *pty;          /* a pty route's terminal and relay, or NULL */
	uv_timer_t timer;               /* timeout, then the kill path */
	uv_loop_t *loop;
	struct child_owner *owner;
	struct conn *conn;              /* held: the connection it serves */
	uint64_t started;               /* uv_hrtime() */
	uint64_t kill_at;               /* loop ms: the kill path's KILL */
	double kill_grace;
	unsigned look_ms;               /* until the next look at its group */
	int pid;
	int alive;                      /* not yet exited, still watched */
	int timer_open;
	int ending;                     /* on the kill path: TERM sent */
	int killed;                     /* and its KILL */
	int given_up;                   /* its owner was told it no longer counts */
	int handles;                    /* open libuv handles; freed at 0 */
	int listed;                     /* on its owner's list */
	const char *end_reason;         /* why the gateway signalled it */
	void (*on_end)(void *);         /* told when it exits (a body feeder) */
	void *on_end_arg;
	struct queue q;                 /* its owner's list (child_spawn inits it; an adopter links it) */
};

/* For cgi and nph routes: the request, and the pipes that stand for the
 * socket on stdin (a body the gateway feeds) or stdout (a cgi response);
 * -1 where the socket itself is the child's. stdin_null: a request
 * without a body, whose program reads end of file at once. */
struct http_spawn {
	const struct cgi_request *cgi;
	const char *exec;               /* exec_dir: the program the request names */
	const char *arg0;               /* and its argv[0]; NULL: the route's exec */
	int stdin_fd, stdout_fd;
	int stdin_null;
};

/* Spawns the route's program on the connection's socket and closes the
 * gateway's copy; owner hears of its end. Returns the child (calloc'd:
 * the owner frees it when told; it holds conn meanwhile), or NULL with
 * *err set (a libuv error): when child_shortage(*err) the gateway itself
 * was short of descriptors, memory or processes before anything ran, and
 * the connection keeps its socket for a later try; otherwise the socket
 * is closed and a spawn_error logged. */
struct child *child_spawn(uv_loop_t *loop, struct child_owner *owner,
    struct conn *conn, const struct http_spawn *hs, double kill_grace, int *err);
int child_shortage(int err);

/* The one way the gateway ends a child, whatever the reason (its
 * timeout, a stop): SIGTERM to its process group, SIGKILL `grace` seconds
 * later. A child that exits before its KILL is kept unreaped (its group
 * id cannot be reused) while anything of its group still runs, and the
 * KILL still goes to the group. Nothing if the child has exited, or is
 * on the kill path already. */
void child_end(struct child *c, const char *reason, double grace);

/* The gateway has no more use for it (its request failed, its client
 * left): the kill path, and its place in the counts is given up at once
 * (owner->exited), not when it has exited. */
void child_give_up(struct child *c, const char *reason);

/* Takes over pid, the child of a worker that died, for connection conn
 * (held until c is done with): its exit event, the rest of its
 * timeout (counted from `started`, a uv_hrtime()) and the kill path, as
 * for a child spawned here; its stderr = log pipe's read end errfd (or
 * -1) is read from now on. c is the caller's memory, zeroed. Returns 0,
 * or a negative errno (proc_adopt's); owner->freed(c) is called in either
 * case, once c is done with. */
int child_adopt(struct child *c, uv_loop_t *loop, struct child_owner *owner,
    pid_t pid, struct conn *conn, uint64_t started, double kill_grace, int errfd);

/* Whether the gateway relays between the child and its client: a cgi
 * response, a request body, a terminal. */
int child_relayed(const struct child *c);

/* Whether the child still needs the gateway once it stops: its stderr
 * lines, or what child_relayed says. */
int child_needs_gateway(const struct child *c);

/* Stops watching a running child, which carries on by itself. */
void child_detach(struct child *c);

/* Stops reading its stderr pipe, for a gateway that is exiting. */
void child_release(struct child *c);

/* spawn_error: the child's pid (0: none), the failed step (or NULL)
 * and a libuv error. */
void child_log_spawn_error(const struct conn *c, pid_t pid, const char *stage,
    int err);

/* The read end of its stderr = log pipe, or -1. */
int child_stderr_fd(const struct child *c);

#endif
