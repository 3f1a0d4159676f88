/* The fast spawn path on Linux: clone(CLONE_VM | CLONE_VFORK) runs the
 * child on a stack of its own in the gateway's memory until it execs, so
 * nothing is copied, and its pidfd, a descriptor that becomes readable
 * when the child exits, is polled by the loop (pidfd.c), and each
 * exit costs one waitid on that child alone (libuv's SIGCHLD handler
 * would call waitpid once for every live child).
 *
 * CLONE_VFORK suspends the thread that clones until the child has exec'd
 * or exited: that is a spawner thread (spawner.c), never the event loop,
 * which goes on serving and hears the outcome later. The child shares
 * the spawner thread's thread-local storage (errno), and that thread is
 * suspended meanwhile, so the child's errno is its own.
 *
 * The child shares the gateway's memory, so it does only async-signal-
 * safe work, all through raw system calls (glibc's set*id wrappers would
 * signal every thread of the gateway; sanitizer interceptors would touch
 * the gateway's state), in the SPEC's order: stdio, new session, signal
 * dispositions, rlimits, umask, groups, gid, uid, chdir (as the new user),
 * signal mask, execve. A spawner thread blocks every signal for good, so
 * no handler of the gateway's runs in the child. What the child reads
 * (the request, the route, the descriptors) stays as it is until the
 * outcome is back on the loop. The child takes a copy of the gateway's
 * descriptor table as it is at the clone, while the loop goes on opening
 * and closing: every descriptor the gateway opens is close-on-exec, so
 * the program gets fds 0-2 alone. A failure is written into the job
 * before the child exits: its spawner thread resumes only after the exec
 * or the exit, so it reads it race-free. */
#include "spawn.h"

#ifndef GATEWAY_SPAWN_UV

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidfd.h"
#include "spawner.h"
#include "util.h"

const char spawn_path[] = "clone";

#define CHILD_STACK (256 * 1024)

static int devnull = -1;
static struct rlimit start_nofile;      /* what the children get back */

/* A gateway holding thousands of children needs more descriptors than
 * the usual soft limit: it raises its own to the hard limit, and each
 * child gets back the limit the gateway was started with. */
int spawn_init(const struct rlimit *base)
{
	struct rlimit raised;

	if (devnull < 0)
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	if (getrlimit(RLIMIT_NOFILE, &raised) == 0) {
		start_nofile = base ? *base : raised;
		raised.rlim_cur = raised.rlim_max;
		setrlimit(RLIMIT_NOFILE, &raised);
	}
	return 0;
}

void spawn_base_nofile(unsigned long long *soft, unsigned long long *hard)
{
	*soft = start_nofile.rlim_cur;
	*hard = start_nofile.rlim_max;
}

/* The calls that change ids. On 32-bit x86 and ARM the plain numbers
 * are the old calls with 16-bit ids, which would cut a uid or gid above
 * 65535 to its low bits; ids of 32 bits take the *32 calls there, as
 * glibc's own wrappers do. Architectures with 32-bit ids from the start
 * (x86-64, arm64) have only the plain ones. */
#ifdef SYS_setresuid32
#define SYS_SETRESUID SYS_setresuid32
#else
#define SYS_SETRESUID SYS_setresuid
#endif
#ifdef SYS_setresgid32
#define SYS_SETRESGID SYS_setresgid32
#else
#define SYS_SETRESGID SYS_setresgid
#endif
#ifdef SYS_setgroups32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETGROUPS SYS_setgroups
#endif

void spawn_id_calls(long *setgroups, long *setresgid, long *setresuid)
{
	*setgroups = SYS_SETGROUPS;
	*setresgid = SYS_SETRESGID;
	*setresuid = SYS_SETRESUID;
}

struct child_args {
	const struct spawn_req *req;
	const char *exec;               /* the program and its argv */
	char **argv;
	int err;                        /* written by the child on failure */
	const char *stage;
};

/* The kernel's struct sigaction, for rt_sigaction without glibc. */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

__attribute__((noreturn)) static void child_fail(struct child_args *a,
    const char *stage, long r)
{
	a->err = (int)-r;
	a->stage = stage;
	syscall(SYS_exit_group, 127);
	__builtin_unreachable();
}

/* syscall() returns -1 and sets errno; errno lives in the spawner
 * thread's thread-local storage, which the child shares: read it at once. */
#define SYS(a, stage, ...) do {                                         \
	if (syscall(__VA_ARGS__) < 0)                                   \
		child_fail(a, stage, -errno);                           \
} while (0)

__attribute__((no_sanitize_address)) static int child_main(void *arg)
{
	struct child_args *a = arg;
	const struct spawn_req *req = a->req;
	const struct route *r = req->route;
	struct ksigaction dfl = { .handler = SIG_DFL };
	unsigned long none = 0;
	int in = req->fd_in >= 0 ? req->fd_in : devnull;
	int out = req->fd_out >= 0 ? req->fd_out : devnull;
	int err = req->fd_err >= 0 ? req->fd_err : devnull;

	SYS(a, "dup2", SYS_dup2, in, 0);
	SYS(a, "dup2", SYS_dup2, out, 1);
	SYS(a, "dup2", SYS_dup2, err, 2);
	SYS(a, "setsid", SYS_setsid);
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof none);
	if (!r->rlimit[0].set) /* rlimit_nofile */
		SYS(a, "setrlimit", SYS_prlimit64, 0, RLIMIT_NOFILE, &start_nofile, NULL);
	for (int i = 0; i < ROUTE_RLIMITS; i++)
		if (r->rlimit[i].set)
			SYS(a, "setrlimit", SYS_prlimit64, 0, route_rlimit_resource[i],
			    &r->rlimit[i].lim, NULL);
	if (r->umask >= 0)
		syscall(SYS_umask, r->umask);
	if (r->set_groups)
		SYS(a, "setgroups", SYS_SETGROUPS, r->ngroups, r->groups);
	if (r->set_gid)
		SYS(a, "setgid", SYS_SETRESGID, r->gid, r->gid, r->gid);
	if (r->set_uid)
		SYS(a, "setuid", SYS_SETRESUID, r->uid, r->uid, r->uid);
	SYS(a, "chdir", SYS_chdir, r->cwd);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
	SYS(a, "execve", SYS_execve, a->exec, a->argv, req->env);
	return 127;
}

/* Reaps a child that failed before its exec (it has exited already) or
 * was just killed. */
static void reap(pid_t pid)
{
	siginfo_t si;

	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
		;
}

/* One spawn, from the loop to a spawner thread and back. */
struct clone_job {
	struct spawner_job job;
	uv_loop_t *loop;
	struct proc *p;
	struct child_args a;
	int err;                        /* the clone's own errno */
	pid_t pid;
};

/* On a spawner thread, every signal blocked: only this thread waits for
 * the exec. Each thread has a child stack of its own. It opens no
 * descriptor (the pidfd is opened on the loop, proc_watch), so that the
 * loop alone decides what the process's descriptors go to, and a spawn
 * never fails for a descriptor the loop took meanwhile. */
static void clone_work(struct spawner_job *j)
{
	static _Thread_local char *stack;
	struct clone_job *cj = container_of(j, struct clone_job, job);

	if (!stack && !(stack = aligned_alloc(64, CHILD_STACK))) {
		cj->err = ENOMEM;
		return;
	}
	cj->pid = clone(child_main, stack + CHILD_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &cj->a);
	if (cj->pid < 0)
		cj->err = errno;
	else if (cj->a.err)
		reap(cj->pid);
}

/* Back on the loop's thread. */
static void clone_done(struct spawner_job *j)
{
	struct clone_job *cj = container_of(j, struct clone_job, job);
	struct proc *p = cj->p;
	const char *stage = NULL;
	int err = 0;

	if (cj->err) {
		err = -cj->err;
	} else if (cj->a.err) {
		err = -cj->a.err;
		stage = cj->a.stage;
	} else {
		p->pid = cj->pid;
	}
	free(cj);
	p->on_spawned(p, err, stage);
}

/* Nobody else reaps the gateway's children, so the pid is still this
 * child's, a zombie at worst, which pidfd_open takes as well. */
int proc_watch(uv_loop_t *loop, struct proc *p)
{
	int pidfd = pidfd_open(p->pid, 0), err;

	if (pidfd < 0) {
		err = -errno;
		p->pidfd = -1;
	} else {
		err = pidfd_proc_watch(loop, p, pidfd);
	}
	/* A child that cannot be watched is ended rather than left
	 * unreaped. */
	if (err < 0) {
		kill(p->pid, SIGKILL);
		reap(p->pid);
		p->reaped = 1;
		if (pidfd >= 0 && !p->closing)
			close(pidfd);
	}
	return err;
}

int proc_spawn(uv_loop_t *loop, struct proc *p, const struct spawn_req *req,
    const char **stage)
{
	struct clone_job *cj = calloc(1, sizeof *cj);
	int err;

	*stage = NULL;
	p->closing = 0;
	if (!cj)
		return -ENOMEM;
	cj->job.work = clone_work;
	cj->job.done = clone_done;
	cj->loop = loop;
	cj->p = p;
	cj->a.req = req;
	cj->a.exec = req->exec ? req->exec : req->route->exec;
	cj->a.argv = req->exec ? req->argv : req->route->argv.v;
	if ((err = spawner_submit(loop, &cj->job)) < 0) {
		free(cj);
		return err;
	}
	return PROC_STARTING;
}

int proc_signal_group(struct proc *p, int sig)
{
	return pidfd_proc_signal_group(p, sig);
}

void proc_close(struct proc *p)
{
	pidfd_proc_close(p);
}

#endif
