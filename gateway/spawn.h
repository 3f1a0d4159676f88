/* Starting a route's program, and watching it until it exits. One
 * interface, two paths chosen at build time:
 *   spawn_linux.c  clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): the child
 *                  does the whole set-up itself, and each exit is one
 *                  readable pidfd, O(1) however many children live;
 *   spawn_uv.c     libuv's uv_spawn, with the setup step for what it
 *                  cannot do (setup.c); portable.
 * Build with SPAWN=uv to take the portable path on Linux too. pidfd.c
 * watches a process through its pidfd: every child on the clone path, and
 * on both paths a child taken over from a worker that died.
 *
 * Every child leads a process group of its own (a new session), whose id
 * is its pid. That id is free for another group once the child has been
 * reaped and the rest of its group has ended, so the group is signalled
 * only while it is known to be the child's: see proc_signal_group. */
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
	const char *exec;               /* set: this program (absolute) and argv */
	char **argv;                    /* instead of the route's exec and argv */
	char **env;
	int fd_in, fd_out, fd_err;      /* -1: /dev/null */
	int wait;                       /* return once the exec is done */
};

struct proc;
struct rusage;
/* status, or sig when a signal ended it; ru: the resources it used (its
 * own wait's rusage, which covers the children it reaped itself), or NULL
 * where the path is not told (libuv reaps its children without one). */
typedef void (*proc_exit_cb)(struct proc *p, int64_t status, int sig,
    const struct rusage *ru);
typedef void (*proc_close_cb)(struct proc *p);

struct proc {
#ifdef GATEWAY_SPAWN_UV
	uv_process_t uv;                /* spawned here: libuv reaps it */
	int by_uv;
#endif
	uv_poll_t poll;                 /* on the pidfd, where it is watched so */
	int pidfd;                      /* -1: none */
	pid_t pid;
	int exited;                     /* on_exit has been called */
	int reaped;
	int closing;                    /* on_close will be called */
	proc_exit_cb on_exit;
	proc_close_cb on_close;
#ifndef GATEWAY_SPAWN_UV
	void *launch;                   /* its start, until the exec or exit */
	int fail_err;                   /* its set-up failed: the errno */
	const char *fail_stage;         /* and the step */
#endif
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

#ifndef GATEWAY_SPAWN_UV
/* The system call numbers the clone path's child changes its ids with:
 * those that take 32-bit ids on this architecture. */
void spawn_id_calls(long *setgroups, long *setresgid, long *setresuid);
#endif

/* Starts the program and watches it: on_exit once it has exited. Where
 * the gateway watches it through its pidfd (the clone path), it is not
 * reaped yet: it stays a zombie, keeping its process group's id from
 * reuse, until proc_close. libuv reaps its own before on_exit. Returns 0,
 * or a negative errno with *stage naming the call that failed in the
 * child ("chdir", "execve", ...), or NULL when it was the spawn itself.
 * p->on_close is called once proc_close is done; after a failure too
 * when p->closing is set.
 *
 * The clone path returns before the child's exec unless req->wait: a
 * step that fails in the child then shows as an exit, which
 * proc_failed tells from the program's own. The uv path always waits. */
int proc_spawn(uv_loop_t *loop, struct proc *p, const struct spawn_req *req,
    const char **stage);

/* Children started but not yet exec'd (the clone path's in flight),
 * after a look at which have. */
unsigned proc_in_flight(void);

/* In on_exit: a negative errno, with *stage the step, when the child
 * failed in its set-up before its exec; else 0. */
int proc_failed(struct proc *p, const char **stage);

/* Takes over pid, a child started by a worker that died, now ours (the
 * main process is a child subreaper), and watches it through its pidfd
 * as above. 0, or a negative errno: -ECHILD when pid is not a child of
 * ours, -ESRCH when it does not lead a session as every child does. */
int proc_adopt(uv_loop_t *loop, struct proc *p, pid_t pid);

/* Signals the child's process group: the child and everything it
 * started. Only while the group is known to be the child's: while the
 * child is not reaped (a group id is not reused while its leader is an
 * unreaped zombie), or through the pidfd of a child libuv has reaped
 * (Linux 6.9's PIDFD_SIGNAL_PROCESS_GROUP, which reaches that group and
 * never a new one with the same id). 0, or a negative errno: -ESRCH when
 * the group has nobody left to signal, -ENOTSUP when it can no longer be
 * reached safely. sig 0 tells which. */
int proc_signal_group(struct proc *p, int sig);

/* After on_exit: 1 while a process of the child's group still runs (a
 * zombie does not count), else 0. */
int proc_group_running(const struct proc *p);

/* Stops watching and reaps the child if it has exited: after on_exit, or
 * to leave a running child alone (on_shutdown = detach; init reaps it
 * once the gateway is gone). */
void proc_close(struct proc *p);

#endif
