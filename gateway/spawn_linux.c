/* The fast spawn path on Linux: clone(CLONE_VM | CLONE_VFORK) runs the
 * child on a stack of its own in the gateway's memory until it execs, so
 * nothing is copied, and CLONE_PIDFD gives a descriptor that becomes
 * readable when the child exits: the loop polls it (pidfd.c), and each
 * exit costs one waitid on that child alone (libuv's SIGCHLD handler
 * would call waitpid once for every live child).
 *
 * The child shares the gateway's memory, so it does only async-signal-
 * safe work, all through raw system calls (glibc's set*id wrappers would
 * signal every thread of the gateway; sanitizer interceptors would touch
 * the gateway's state), in the SPEC's order: stdio, new session, signal
 * dispositions, rlimits, umask, groups, gid, uid, chdir (as the new user),
 * signal mask, execve. Every signal is blocked around the clone so that no
 * handler of the gateway's runs in the child. A failure is written into
 * the shared memory before the child exits: with CLONE_VFORK the gateway
 * resumes only after the exec or the exit, so it reads it race-free. */
#include "spawn.h"

#ifndef GATEWAY_SPAWN_UV

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidfd.h"
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

/* syscall() returns -1 and sets errno; errno lives in the gateway's
 * thread-local storage, which the child shares: read it at once. */
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
static void reap(int pidfd)
{
	siginfo_t si;

	while (waitid(P_PIDFD, pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
}

int proc_spawn(uv_loop_t *loop, struct proc *p, const struct spawn_req *req,
    const char **stage)
{
	static char *stack;
	struct child_args a = { .req = req,
	    .exec = req->exec ? req->exec : req->route->exec,
	    .argv = req->exec ? req->argv : req->route->argv.v };
	sigset_t all, old;
	int pidfd = -1, err;
	pid_t pid;

	*stage = NULL;
	p->closing = 0;
	if (!stack && !(stack = aligned_alloc(64, CHILD_STACK)))
		return -ENOMEM;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(child_main, stack + CHILD_STACK,
	    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a, &pidfd);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return -err;
	if (a.err) {
		reap(pidfd);
		close(pidfd);
		*stage = a.stage;
		return -a.err;
	}
	p->pid = pid;
	/* A child that cannot be watched is ended rather than left
	 * unreaped. */
	err = pidfd_proc_watch(loop, p, pidfd);
	if (err < 0) {
		kill(pid, SIGKILL);
		reap(pidfd);
		p->reaped = 1;
		if (!p->closing)
			close(pidfd);
	}
	return err;
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
