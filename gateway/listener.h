/* Listening sockets: bind, listen, accept. The gateway accepts on its own
 * (accept4 on a socket watched with uv_poll_t) rather than through libuv's
 * uv_listen, whose EMFILE path accepts and closes queued clients
 * (PLATFORM.md): here a full table just pauses accepting. */
#ifndef GATEWAY_LISTENER_H
#define GATEWAY_LISTENER_H

#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "env.h"
#include "source.h"

struct listener {
	uv_poll_t poll;
	int fd;
	int watching;                   /* poll started */
	int polling;                    /* currently accepting */
	const struct route *route;      /* the first of routes */
	const struct route **routes;    /* HTTP routes may share a socket */
	size_t nroutes;
	const struct listen_addr *addr;
	unsigned pending;               /* connections being read */
	struct source_table reading;    /* ...counted by source (pending.c) */
	char name[160];                 /* bound address, for logs */
	int backlog, socket_mode;       /* as applied */
	dev_t dev;                      /* the socket file we made, if any */
	ino_t ino;
	int made_file;
	int passed;                     /* systemd's: never bound nor unlinked here */
	char ipc_path[110];             /* AF_UNIX: IPCLOCALPATH, a copy */
	void (*on_readable)(struct listener *);
	void *data;                     /* the owner's */
	struct own_socket *own;         /* listener_open_own's: its route and address */
};

/* Opens, binds and listens. Returns the listener, or NULL with err set,
 * or NULL with err empty when an optional address (the ::1 of localhost)
 * is unavailable on this host. */
struct listener *listener_open(const struct route *r,
    const struct listen_addr *a, char *err, size_t errlen);

/* A socket of the gateway's own (the metrics endpoint, the control
 * socket, the agent port), opened as a route's listener is (a unix:
 * file at mode, -1: per umask), named `name` in errors, and watched at
 * once: on_readable gets it, with data. The address is copied. NULL, with
 * err set, when it cannot be. */
struct listener *listener_open_own(uv_loop_t *loop, const char *name,
    const struct listen_addr *a, int mode, int backlog,
    void (*on_readable)(struct listener *), void *data, char *err, size_t errlen);

/* Hands a listener that a reloaded config keeps to its new route,
 * applying a new backlog and socket_mode in place. */
void listener_adopt(struct listener *l, const struct route *r,
    const struct listen_addr *a);

/* Another HTTP route on the same socket. 0 or -ENOMEM. */
int listener_add_route(struct listener *l, const struct route *r);

int listener_watch(struct listener *l, uv_loop_t *loop,
    void (*on_readable)(struct listener *));

/* Start or stop taking connections; queued clients wait in the backlog. */
void listener_accepting(struct listener *l, int on);

/* Accepts one connection as a blocking, close-on-exec socket and fills
 * what the child's environment needs. Returns the fd or -errno. */
int listener_accept(struct listener *l, struct conn_info *ci);

/* Closes the socket, removes the socket file it made, and frees l. */
void listener_close(struct listener *l);

/* Undoes listener_open, for a reload that failed: the same, but a socket
 * systemd passed is kept open for a later reload to take. */
void listener_discard(struct listener *l);

#endif
