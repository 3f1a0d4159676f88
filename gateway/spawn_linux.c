/* The fast spawn path on Linux: clone(CLONE_VM) runs the child on a
 * stack of its own in the gateway's memory until it execs, so nothing is
 * copied, and CLONE_PIDFD gives a descriptor that becomes readable when
 * the child exits: the loop polls it (pidfd.c), and each exit costs one
 * waitid on that child alone (libuv's SIGCHLD handler would call waitpid
 * once for every live child).
 *
 * The loop does not wait for the exec (no CLONE_VFORK) unless the caller
 * asks: the child sets itself up and execs on another CPU while the loop
 * goes on. What the child reads until then is copied into a launch block
 * with its stack, which the kernel marks free by zeroing a word at the
 * child's exec or exit (CLONE_CHILD_CLEARTID); the loop takes the block
 * back at its next spawn or at that child's exit. The child shares the
 * descriptor table until it takes its own copy of the few it needs (see
 * launch_share); every descriptor of the gateway's is close-on-exec, so
 * whatever the loop opens meanwhile ends at the child's exec.
 *
 * The child shares the gateway's memory, so it does only async-signal-
 * safe work, all through raw system calls that never touch errno (it
 * shares the loop's thread-local storage too; glibc's set*id wrappers
 * would signal every thread of the gateway; sanitizer interceptors would
 * touch the gateway's state), in the SPEC's order: stdio, new session
 * (with, on a pty route, fd 0 as its controlling terminal), signal
 * dispositions, rlimits, umask, groups, gid, uid, chdir (as the new
 * user), signal mask, execve. Every signal is blocked around the clone so
 * that no handler of the gateway's runs in the child. A failure is
 * written into the launch block before the child exits, and read once the
 * kernel has zeroed the word: at once when the spawn waited, otherwise at
 * the child's exit (proc_failed). */
#include "spawn.h"

#ifndef GATEWAY_SPAWN_UV

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidfd.h"
#include "util.h"

const char spawn_path[] = "clone";

#define CHILD_STACK (32 * 1024)

static int devnull = -1;
static void slots_reserve(void);
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
	slots_reserve();
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

/* The system calls of the child, made without errno: the child runs
 * beside the gateway in its memory and its thread-local storage, and
 * glibc's syscall() would write a failure into the errno of the
 * gateway's loop. Other architectures take syscall() and wait for each
 * exec (CLONE_VFORK), so that the child's errno is never the loop's. */
#if defined(__x86_64__)
static inline long kcall(long n, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile ("syscall" : "=a"(ret)
	    : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
	    : "rcx", "r11", "memory");
	return ret;
}
#define CLONE_WAIT 0
#elif defined(__aarch64__)
static inline long kcall(long n, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile ("svc 0" : "+r"(x0)
	    : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
	return x0;
}
#define CLONE_WAIT 0
#else
static long kcall(long n, long a, long b, long c, long d)
{
	long r = syscall(n, a, b, c, d);

	return r < 0 ? -errno : r;
}
#define CLONE_WAIT CLONE_VFORK
#endif

/* One child's start: all that its code reads until the exec, copied
 * (a reload may free the route, the caller frees the environment), and
 * the stack it runs on. The kernel zeroes `running` when the child execs
 * or exits (CLONE_CHILD_CLEARTID): from then on the block is free. */
struct launch {
	struct launch *next;
	struct proc *proc;              /* told of a failure; NULL: closed */
	pid_t running;                  /* nonzero until the exec or exit */
	int err;                        /* written by the child on failure */
	const char *stage;
	size_t size;                    /* of the block */
	int fd[3];
	int own[3];                     /* slots holding fd[], or -1 */
	int shared;                     /* the child unshares the table */
	int ctty;                       /* fd 0 becomes its controlling terminal */
	unsigned share_below;
	int umask;
	int set_uid, set_gid, set_groups;
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t *groups;
	struct { int set; struct rlimit lim; } rlimit[ROUTE_RLIMITS];
	const char *cwd, *exec;
	char **argv, **env;
	char *stack;                    /* its top */
	_Alignas(16) char data[];       /* arrays and strings, then the stack */
};

/* A block is mapped on its own: its copies, a guard page, then the
 * stack. Those of the usual size are kept for reuse, up to IDLE_MAX:
 * a burst of spawns leaves no more behind than that. */
#define PAGE 4096
#define LAUNCH_SIZE (64 * 1024)
#define IDLE_MAX 16

/* Children between their clone and their exec at most: past that, a
 * burst of connections waits for each exec as the spawn used to, rather
 * than have thousands of children set up at once. */
#define RUNNING_MAX 32

static struct launch *idle, *running;
static unsigned nidle, nrunning;

/* Slots for the descriptors of children sharing the table (below): the
 * socket and a stderr pipe each, and only where the gateway may open
 * thousands of descriptors. */
#define SLOTS (2 * RUNNING_MAX)
#define SLOTS_NOFILE 1024

static int slot[SLOTS], nslot;
static unsigned share_below;

/* While children share the table, the loop looks for those that have
 * exec'd (and so let go of their slots, whose copies would otherwise
 * keep a client's connection open) at every spawn, and on a timer from
 * 1 ms to 64 ms apart between spawns, closed once none is left. */
static uv_timer_t reclaim_timer;
static enum { TIMER_NONE, TIMER_OPEN, TIMER_CLOSING } reclaim_state;
static uint64_t reclaim_ms;

static void on_reclaim_closed(uv_handle_t *h)
{
	(void)h;
	reclaim_state = TIMER_NONE;
}

static void launch_reclaim(void);

static void on_reclaim_timer(uv_timer_t *t)
{
	launch_reclaim();
	if (nrunning) {
		reclaim_ms = reclaim_ms < 64 ? reclaim_ms * 2 : 64;
		uv_timer_start(t, on_reclaim_timer, reclaim_ms, 0);
	} else {                /* nothing keeps the loop for it */
		uv_close((uv_handle_t *)t, on_reclaim_closed);
		reclaim_state = TIMER_CLOSING;
	}
}

/* 0, or -1 when no timer can run now (and the child should not share). */
static int reclaim_watch(uv_loop_t *loop)
{
	if (reclaim_state == TIMER_CLOSING)
		return -1;
	if (reclaim_state == TIMER_NONE) {
		if (uv_timer_init(loop, &reclaim_timer) < 0)
			return -1;
		reclaim_state = TIMER_OPEN;
	}
	if (!uv_is_active((uv_handle_t *)&reclaim_timer)) {
		reclaim_ms = 1;
		uv_timer_start(&reclaim_timer, on_reclaim_timer, reclaim_ms, 0);
	}
	return 0;
}

/* Gives a block's slots back, holding /dev/null again. */
static void launch_unshare(struct launch *l)
{
	for (int i = 0; i < 3; i++)
		if (l->own[i] >= 0) {
			dup3(devnull, l->own[i], O_CLOEXEC);
			slot[nslot++] = l->own[i];
			l->own[i] = -1;
		}
}

/* Frees the blocks of children that have exec'd or exited, telling the
 * child of a failure. */
static void launch_reclaim(void)
{
	struct launch **lp = &running, *l;

	while ((l = *lp)) {
		if (__atomic_load_n(&l->running, __ATOMIC_ACQUIRE)) {
			lp = &l->next;
			continue;
		}
		*lp = l->next;
		nrunning--;
		launch_unshare(l);
		if (l->proc) {
			l->proc->launch = NULL;
			l->proc->fail_err = l->err;
			l->proc->fail_stage = l->stage;
		}
		if (l->size == LAUNCH_SIZE && nidle < IDLE_MAX) {
			l->next = idle;
			idle = l;
			nidle++;
		} else {
			munmap(l, l->size);
		}
	}
}

static size_t strv_size(char **v, size_t *n)
{
	size_t size = 0;

	for (*n = 0; v[*n]; (*n)++)
		size += strlen(v[*n]) + 1;
	return size + (*n + 1) * sizeof *v;
}

static char *put(char **at, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d = memcpy(*at, s, len);

	*at += len;
	return d;
}

static char **put_strv(char ***slots, char **at, char **v, size_t n)
{
	char **d = *slots;

	for (size_t i = 0; i < n; i++)
		d[i] = put(at, v[i]);
	d[n] = NULL;
	*slots += n + 1;
	return d;
}

static struct launch *launch_new(const struct spawn_req *req)
{
	const struct route *r = req->route;
	const char *exec = req->exec ? req->exec : r->exec;
	char **argv = req->exec ? req->argv : r->argv.v;
	size_t nargv, nenv, data, size;
	struct launch *l;
	char **slots, *at;

	/* The groups, the pointer arrays aligned after them (7 bytes at
	 * most), then the strings. */
	data = r->ngroups * sizeof(gid_t) + 7 + strv_size(argv, &nargv) +
	    strv_size(req->env, &nenv) + strlen(r->cwd) + strlen(exec) + 2;
	data = (data + 15) & ~(size_t)15;
	size = ((sizeof *l + data + PAGE - 1) & ~(size_t)(PAGE - 1)) + PAGE + CHILD_STACK;
	if (size <= LAUNCH_SIZE)
		size = LAUNCH_SIZE;
	if (size == LAUNCH_SIZE && idle) {
		l = idle;
		idle = l->next;
		nidle--;
	} else {
		l = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (l == MAP_FAILED)
			return NULL;
		/* The page below the stack: an overflow faults. */
		if (mprotect((char *)l + size - CHILD_STACK - PAGE, PAGE, PROT_NONE) < 0) {
			munmap(l, size);
			return NULL;
		}
	}
	memset(l, 0, sizeof *l);
	l->size = size;
	l->stack = (char *)l + l->size;
	l->fd[0] = req->fd_in >= 0 ? req->fd_in : devnull;
	l->fd[1] = req->fd_out >= 0 ? req->fd_out : devnull;
	l->fd[2] = req->fd_err >= 0 ? req->fd_err : devnull;
	l->own[0] = l->own[1] = l->own[2] = -1;
	l->ctty = r->pty != PTY_NONE;
	l->umask = r->umask;
	l->set_uid = r->set_uid;
	l->set_gid = r->set_gid;
	l->set_groups = r->set_groups;
	l->uid = r->uid;
	l->gid = r->gid;
	memcpy(l->rlimit, r->rlimit, sizeof l->rlimit);
	l->groups = (gid_t *)l->data;
	l->ngroups = r->ngroups;
	if (r->ngroups)
		memcpy(l->groups, r->groups, r->ngroups * sizeof(gid_t));
	slots = (char **)(l->data + ((r->ngroups * sizeof(gid_t) + 7) & ~(size_t)7));
	at = (char *)(slots + nargv + 1 + nenv + 1);
	l->argv = put_strv(&slots, &at, argv, nargv);
	l->env = put_strv(&slots, &at, req->env, nenv);
	l->cwd = put(&at, r->cwd);
	l->exec = put(&at, exec);
	return l;
}

/* The kernel's struct sigaction, for rt_sigaction without glibc. */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

__attribute__((noreturn)) static void child_fail(struct launch *l,
    const char *stage, long r)
{
	l->err = (int)-r;
	l->stage = stage;
	kcall(SYS_exit_group, 127, 0, 0, 0);
	__builtin_unreachable();
}

#define CALL(l, stage, n, a, b, c, d) do {                              \
	long r_ = kcall((n), (long)(a), (long)(b), (long)(c), (long)(d)); \
	if (r_ < 0)                                                     \
		child_fail(l, stage, r_);                               \
} while (0)

/* fd onto std, not closed at the exec. */
static inline long child_dup(int fd, int std)
{
	if (fd == std)
		return kcall(SYS_fcntl, fd, F_SETFD, 0, 0);
	return kcall(SYS_dup3, fd, std, 0, 0);
}

__attribute__((no_sanitize_address)) static int child_main(void *arg)
{
	struct launch *l = arg;
	struct ksigaction dfl = { .handler = SIG_DFL };
	unsigned long none = 0;
	long r;

	if (l->shared)
		CALL(l, "unshare", SYS_close_range, l->share_below, ~0U,
		    CLOSE_RANGE_UNSHARE, 0);
	for (int i = 0; i < 3; i++)
		if ((r = child_dup(l->fd[i], i)) < 0)
			child_fail(l, "dup2", r);
	CALL(l, "setsid", SYS_setsid, 0, 0, 0, 0);
	/* Only a session leader without one can take a terminal. */
	if (l->ctty)
		CALL(l, "TIOCSCTTY", SYS_ioctl, 0, TIOCSCTTY, 0, 0);
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			kcall(SYS_rt_sigaction, sig, (long)&dfl, 0, sizeof none);
	if (!l->rlimit[0].set) /* rlimit_nofile */
		CALL(l, "setrlimit", SYS_prlimit64, 0, RLIMIT_NOFILE, &start_nofile, 0);
	for (int i = 0; i < ROUTE_RLIMITS; i++)
		if (l->rlimit[i].set)
			CALL(l, "setrlimit", SYS_prlimit64, 0, route_rlimit_resource[i],
			    &l->rlimit[i].lim, 0);
	if (l->umask >= 0)
		kcall(SYS_umask, l->umask, 0, 0, 0);
	if (l->set_groups)
		CALL(l, "setgroups", SYS_SETGROUPS, l->ngroups, l->groups, 0, 0);
	if (l->set_gid)
		CALL(l, "setgid", SYS_SETRESGID, l->gid, l->gid, l->gid, 0);
	if (l->set_uid)
		CALL(l, "setuid", SYS_SETRESUID, l->uid, l->uid, l->uid, 0);
	CALL(l, "chdir", SYS_chdir, l->cwd, 0, 0, 0);
	kcall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, sizeof none);
	CALL(l, "execve", SYS_execve, l->exec, l->argv, l->env, 0);
	return 127;
}

/* A child that is not waited for shares the descriptor table with the
 * loop (CLONE_FILES) until its first call, which takes a copy of the
 * descriptors below `share_below` alone (close_range with
 * CLOSE_RANGE_UNSHARE): the gateway's first descriptors and a set of
 * slots, reserved at start-up, into which the loop puts the descriptors
 * the child takes until its exec (the caller closes its own at once).
 * However many descriptors the gateway holds (a pidfd for each live
 * child), neither the clone nor the child copies more, nor the exec
 * closes more. Where close_range cannot unshare, or the slots cannot be
 * reserved (a low descriptor limit), or all are taken, the table is
 * copied at the clone. */
static void slots_reserve(void)
{
	struct rlimit nofile;

	if (share_below || syscall(SYS_close_range, ~0U, ~0U, CLOSE_RANGE_UNSHARE) < 0 ||
	    getrlimit(RLIMIT_NOFILE, &nofile) < 0 || nofile.rlim_cur < SLOTS_NOFILE)
		return;
	while (nslot < SLOTS) {
		int fd = fcntl(devnull, F_DUPFD_CLOEXEC, 3);

		if (fd < 0)
			break;
		slot[nslot++] = fd;
		if ((unsigned)fd >= share_below)
			share_below = (unsigned)fd + 1;
	}
}

static int launch_share(struct launch *l)
{
	int orig[3] = { l->fd[0], l->fd[1], l->fd[2] };

	if (!share_below)
		return 0;
	for (int i = 0; i < 3; i++) {
		int j = 0;

		if (orig[i] == devnull || orig[i] <= 2)
			continue;
		while (j < i && orig[j] != orig[i])
			j++;
		if (j < i) {            /* the same descriptor again */
			l->fd[i] = l->fd[j];
			continue;
		}
		if (!nslot || dup3(orig[i], slot[nslot - 1], O_CLOEXEC) < 0) {
			launch_unshare(l);
			memcpy(l->fd, orig, sizeof orig);
			return 0;
		}
		l->fd[i] = l->own[i] = slot[--nslot];
	}
	l->share_below = share_below;
	return 1;
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
	struct launch *l;
	sigset_t all, old;
	int pidfd = -1, err, wait;
	pid_t pid;

	*stage = NULL;
	p->closing = 0;
	p->launch = NULL;
	p->fail_err = 0;
	p->fail_stage = NULL;
	launch_reclaim();
	if (!(l = launch_new(req)))
		return -ENOMEM;
	wait = req->wait || nrunning >= RUNNING_MAX;
	l->shared = !wait && reclaim_watch(loop) == 0 && launch_share(l);
	l->running = 1;
	l->next = running;
	running = l;
	nrunning++;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(child_main, l->stack, CLONE_VM | CLONE_PIDFD |
	    CLONE_CHILD_CLEARTID | SIGCHLD | (wait ? CLONE_VFORK : CLONE_WAIT) |
	    (l->shared ? CLONE_FILES : 0),
	    l, &pidfd, NULL, &l->running);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		l->running = 0;
		return -err;
	}
	l->proc = p;
	p->launch = l;
	p->pid = pid;
	if (req->wait && proc_failed(p, stage) < 0) {
		reap(pidfd);
		close(pidfd);
		return -p->fail_err;
	}
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

unsigned proc_in_flight(void)
{
	launch_reclaim();
	return nrunning;
}

int proc_failed(struct proc *p, const char **stage)
{
	if (p->launch)
		launch_reclaim();
	*stage = p->fail_stage;
	return -p->fail_err;
}

int proc_signal_group(struct proc *p, int sig)
{
	int err = pidfd_proc_signal_group(p, sig);

	/* Before its setsid the child leads no group yet. */
	if (err == -ESRCH && p->launch && !p->reaped)
		err = kill(p->pid, sig) < 0 ? -errno : 0;
	return err;
}

void proc_close(struct proc *p)
{
	if (p->launch)
		((struct launch *)p->launch)->proc = NULL;
	p->launch = NULL;
	pidfd_proc_close(p);
}

#endif
