/* A child's stderr = log pipe: read by the loop and cut into `stderr`
 * events, at each newline and every ERRLOG_LINE_MAX bytes of a longer
 * line. Its owner is the child (child.c), spawned here or taken over
 * from a worker that died. */
#ifndef GATEWAY_ERRLOG_H
#define GATEWAY_ERRLOG_H

#include <sys/types.h>
#include <uv.h>

#include "conn.h"

#define ERRLOG_LINE_MAX 1024

struct errlog {
	uv_pipe_t pipe;
	const struct conn *conn;        /* the owner's */
	pid_t pid;
	int open;                       /* the handle is not closing */
	void (*on_closed)(struct errlog *);
	size_t len;
	char buf[ERRLOG_LINE_MAX + 1];  /* + 1: room for the newline */
};

/* Takes the pipe's read end fd. On failure the handle is open all the
 * same: errlog_close it (fd is still the caller's). on_closed is called
 * once the handle is closed. */
int errlog_open(struct errlog *e, uv_loop_t *loop, int fd,
    void (*on_closed)(struct errlog *));

/* Starts reading, for the child pid of connection c. */
void errlog_start(struct errlog *e, const struct conn *c, pid_t pid);

/* The pipe's descriptor, or -1 once closing. */
int errlog_fd(const struct errlog *e);

/* The exit can be seen before the last bytes are read: logs what is
 * already in the pipe (and closes it at its end), so that the lines come
 * before the exit event. */
void errlog_drain(struct errlog *e);

/* Logs a last line without its newline, and closes the handle. */
void errlog_close(struct errlog *e);

#endif
