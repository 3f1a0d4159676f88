/* The control socket (`control = unix:PATH`): a Unix socket on the main
 * process's own loop, where an administrator's client sends one command
 * line and reads the answer's lines, the last `ok` or `error: TEXT`, and
 * the gateway closes. Only root and the gateway's own user are served
 * (SO_PEERCRED); anyone else is answered an error. A descriptor is kept
 * in reserve, so that a client is served even when the gateway has no
 * other descriptor free. What a command does is the owner's business. */
#ifndef GATEWAY_CONTROL_H
#define GATEWAY_CONTROL_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "addr.h"
#include "config_model.h"
#include "listener.h"
#include "queue.h"

/* Longest command line taken, its newline included. */
#define CONTROL_LINE_MAX 256

struct control_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* The answer's lines, as the owner builds them. */
struct control_answer {
	char *buf;
	size_t len, cap;
	int failed;                     /* out of memory on the way */
	char error[256];                /* set: the answer ends `error: ...` */
	int later;                      /* given by control_answer_done */
	int in_command;
};

/* Adds a line (printf's format, without its newline). */
void control_line(struct control_answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Ends the answer with `error: ...` instead of `ok`. */
void control_error(struct control_answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The answer is given later, by control_answer_done, within ms. */
void control_answer_later(struct control_answer *a, unsigned ms);
void control_answer_done(struct control_answer *a);

/* The client's socket (a process that replaces its image hands it on,
 * for the new image to answer). */
int control_answer_fd(struct control_answer *a);

struct control;

/* The owner embeds its control_owner and finds itself with container_of. */
struct control_owner {
	/* A command line (no newline) from a client who may give it: its
	 * answer's lines go to a. */
	void (*command)(struct control_owner *o, const struct control_peer *who,
	    const char *line, struct control_answer *a);
	/* A client who may not (neither root nor the gateway's own user)
	 * sent this line: it is answered an error. */
	void (*refused)(struct control_owner *o, const struct control_peer *who,
	    const char *line);
	/* An answer given later (control_answer_later) will not be: its
	 * client is gone (its time is up, or the socket closes). */
	void (*dropped)(struct control_owner *o, struct control_answer *a);
};

struct control {
	uv_loop_t *loop;
	struct control_owner *owner;
	struct listener *l;
	uv_timer_t retry;               /* accepting again after a shortage */
	int reserve;                    /* /dev/null, given up for one client */
	unsigned nclients;
	struct queue clients;
	int open;
};

/* Opens the socket at a (copied), its file's mode `mode`. 0, or -1 with
 * err saying why. */
int control_open(struct control *ctl, uv_loop_t *loop, struct control_owner *o,
    const struct listen_addr *a, int mode, char *err, size_t errlen);

/* Closes the socket (its file removed) and every client. */
void control_close(struct control *ctl);

#endif
