/* Starting a route's program, and watching it until it exits. One
 * interface, two paths chosen at build time:
 *   spawn_linux.c  clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): the child
 *                  does the whole set-up itself, and each exit is one
 *                  readable pidfd, O(1) however many children live;
 *   spawn_uv.c     libuv's uv_spawn, with the setup step for what it
 *                  cannot do (setup.c); portable.
 * Build with SPAWN=uv to take the portable path on Linux too. */
#ifndef GATEWAY_SPAWN_H
#define GATEWAY_SPAWN_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"

#if !defined(__linux__) && !defined(GATEWAY_SPAWN_UV)
#define GATEWAY_SPAWN_UV 1
#endif

struct spawn_req {
	const struct route *route;      /* exec, argv, cwd, ids, umask, rlimits */
	char **env;
	int fd_in, fd_out, fd_err;      /* -1: /dev/null */
};

struct proc;
typedef void (*proc_exit_cb)(struct proc *p, int64_t status, int sig);
typedef void (*proc_close_cb)(struct proc *p);

struct proc {
#ifdef GATEWAY_SPAWN_UV
	uv_process_t uv;
#else
	uv_poll_t poll;                 /* on the pidfd */
	int pidfd;
#endif
	pid_t pid;
	int closing;                    /* on_close will be called */
	proc_exit_cb on_exit;
	proc_close_cb on_close;
};

/* Which path this build takes, for the start event. */
extern const char spawn_path[];

/* Opens what every spawn needs (/dev/null), and raises the descriptor
 * limit where the path can give children back `base` (the limit the
 * gateway was started with; NULL: the current one). 0 or -errno. */
struct rlimit;
int spawn_init(const struct rlimit *base);

/* The descriptor limit children get: for the workers' command line. */
void spawn_base_nofile(unsigned long long *soft, unsigned long long *hard);

/* Starts the program and watches it: on_exit once it has exited (and been
 * reaped). Returns 0, or a negative errno with *stage naming the call
 * that failed in the child ("chdir", "execve", ...), or NULL when it was
 * the spawn itself. p->on_close is called once proc_close is done; after
 * a failure too when p->closing is set. */
int proc_spawn(uv_loop_t *loop, struct proc *p, const struct spawn_req *req,
    const char **stage);

/* Stops watching: after on_exit, or to leave a running child alone
 * (on_shutdown = detach; init reaps it once the gateway is gone). */
void proc_close(struct proc *p);

#endif
