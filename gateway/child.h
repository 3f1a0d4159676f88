/* One connection's child: spawn, stderr lines, exit, ending it. */
#ifndef GATEWAY_CHILD_H
#define GATEWAY_CHILD_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "env.h"

struct server;

#define CHILD_LINE_MAX 1024     /* longer stderr lines are split */

struct child {
	uv_process_t proc;
	uv_pipe_t errpipe;              /* stderr = log */
	struct server *srv;
	const struct route *route;
	struct conn_info ci;
	uint64_t started;               /* uv_hrtime() */
	int pid;
	int alive;                      /* not yet reaped */
	int pipe_open;
	int handles;                    /* open libuv handles; freed at 0 */
	int listed;                     /* on the server's list */
	const char *end_reason;         /* why the gateway signalled it */
	size_t linelen;
	char line[CHILD_LINE_MAX];
	struct child *prev, *next;      /* the server's list */
};

/* Spawns the route's program on the accepted socket `fd`, which it closes
 * in every case. On success the child is on the server's list and counted;
 * on failure a spawn_error is logged and a negative errno returned. */
int child_spawn(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci);

/* Signals the child's process group (it is a session leader). */
void child_signal(struct child *c, int sig, const char *reason);

/* Stops reading its stderr pipe, for a gateway that is exiting. */
void child_release(struct child *c);

#endif
