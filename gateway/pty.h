/* A pty route's terminal: the pseudo-terminal pair its child runs on, and
 * the relay between the client's socket and the master side. The child
 * (child.c) owns it, and hears from it by the callbacks it registers:
 * the client has gone, and the relay is closed. */
#ifndef GATEWAY_PTY_H
#define GATEWAY_PTY_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"

struct pty {
	uv_poll_t sockpoll;             /* the client's socket */
	uv_poll_t masterpoll;           /* the master side */
	uv_timer_t eoftimer;            /* the next look at a reader being stopped */
	uv_loop_t *loop;
	int sock, master;               /* ours; -1 once the relay has ended */
	int peer;                       /* the slave, once its unread bytes are taken back */
	int open;                       /* handles not yet closed; 0: never started */
	int client_eof;                 /* the client sent its last byte */
	int input_ended;                /* and the terminal was told */
	pid_t stopped;                  /* a group stopped while its input ends */
	unsigned stop_ms;
	int input_dead;                 /* the terminal takes no more input */
	int child_gone;                 /* the child exited: drain, then end */
	int drained;                    /* nothing left to read after that */
	int slave_closed;               /* EIO: nobody holds the slave any more */
	char *buf;                      /* client to terminal, then terminal to client */
	char *in;                       /* what goes to the terminal: buf, or tail */
	char *tail;                     /* the end of its input, in canonical mode */
	char *taken;                    /* what it had not read when its input ended */
	size_t taken_len, taken_cap;
	size_t in_len, in_off, out_len, out_off;
	void (*on_gone)(struct pty *);  /* the client has gone: its child is of no use */
	void (*on_closed)(struct pty *);
};

/* A new pair for route r: *master non-blocking, *slave the child's
 * stdio, both close-on-exec, the slave in the route's mode (raw, or a
 * terminal's line discipline), with its window size, and owned by the
 * route's user when it has one (as login does). 0, or a negative errno
 * (nothing left open). */
int pty_open(const struct route *r, int *master, int *slave);

/* Relays between sock, the client's socket, and master (both taken,
 * even on failure): on_gone if the client goes first, on_closed once
 * the relay is over and its handles closed. 0, or -ENOMEM. */
int pty_start(struct pty *p, uv_loop_t *loop, int sock, int master,
    void (*on_gone)(struct pty *), void (*on_closed)(struct pty *));

/* The child has exited: what it wrote is read and sent, then the
 * connection ends. */
void pty_child_exited(struct pty *p);

/* Ends the relay at once (the gateway exits): the terminal hangs up. */
void pty_close(struct pty *p);

#endif
