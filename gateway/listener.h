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

struct listener {
	uv_poll_t poll;
	int fd;
	int watching;                   /* poll started */
	int polling;                    /* currently accepting */
	const struct route *route;
	const struct listen_addr *addr;
	char name[160];                 /* bound address, for logs */
	dev_t dev;                      /* the socket file we made, if any */
	ino_t ino;
	int made_file;
	void (*on_readable)(struct listener *);
	void *data;                     /* the owner's */
};

/* Opens, binds and listens. Returns 0, 1 when an optional address (the
 * ::1 of localhost) is unavailable on this host, or -1 with err set. */
int listener_open(struct listener *l, const struct route *r,
    const struct listen_addr *a, char *err, size_t errlen);

int listener_watch(struct listener *l, uv_loop_t *loop,
    void (*on_readable)(struct listener *));

/* Start or stop taking connections; queued clients wait in the backlog. */
void listener_accepting(struct listener *l, int on);

/* Accepts one connection as a blocking, close-on-exec socket and fills
 * what the child's environment needs. Returns the fd or -errno. */
int listener_accept(struct listener *l, struct conn_info *ci);

/* Closes the socket and removes the socket file it made. */
void listener_close(struct listener *l);

#endif
