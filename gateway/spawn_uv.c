/* The portable spawn path: libuv's uv_spawn, as the libuv guide draws a
 * CGI server: the accepted socket is opened as a libuv stream
 * (uv_tcp_open, uv_pipe_open) and passed with UV_INHERIT_STREAM.
 * UV_PROCESS_DETACHED gives the child its own session; libuv resets
 * signal dispositions and the mask in the child, and makes its fds 0-2
 * blocking again. What it cannot do (rlimits, umask, supplementary
 * groups, chdir after dropping ids, and a pty route's controlling
 * terminal) goes through the setup step.
 *
 * libuv reaps its children itself, in its SIGCHLD callback, just before
 * it calls on_exit: the gateway cannot keep one unreaped while it still
 * signals its group. Until then kill(-pid) is safe; after, on Linux 6.9
 * and later, the group is reached through a pidfd opened on the child
 * when the gateway first signals it (PIDFD_SIGNAL_PROCESS_GROUP: the
 * group that child led, never a new one that took its id); on older
 * kernels it is not signalled at all. */
#include "spawn.h"

#ifdef GATEWAY_SPAWN_UV

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/pidfd.h>
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2) /* Linux 6.9 */
#endif
#endif

#include "pidfd.h"
#include "setup.h"
#include "util.h"

const char spawn_path[] = "uv_spawn";

/* uv_spawn cannot give a child another limit: nothing is raised. */
int spawn_init(const struct rlimit *base)
{
	(void)base;
	return 0;
}

void spawn_base_nofile(unsigned long long *soft, unsigned long long *hard)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	*soft = rl.rlim_cur;
	*hard = rl.rlim_max;
}

static void on_uv_exit(uv_process_t *h, int64_t status, int sig)
{
	struct proc *p = container_of(h, struct proc, uv);

	p->exited = p->reaped = 1;
	p->on_exit(p, status, sig, NULL);
}

static void on_uv_close(uv_handle_t *h)
{
	struct proc *p = container_of(h, struct proc, uv);

	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->on_close(p);
}

static void set_fd(uv_stdio_container_t *s, int fd)
{
	s->flags = fd >= 0 ? UV_INHERIT_FD : UV_IGNORE; /* libuv: /dev/null */
	s->data.fd = fd;
}

/* A socket as a libuv stream: a TCP handle or, for a Unix socket, a pipe
 * handle, on a duplicate of the descriptor (the stream owns what it
 * wraps; the caller keeps its own), closed once the child has its copy. */
union sock_stream {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
};

static void free_stream(uv_handle_t *h)
{
	free(h);
}

/* NULL when fd is not a socket (a pipe of the gateway's) or the stream
 * cannot be made: then the descriptor goes in as it is. */
static union sock_stream *stream_open(uv_loop_t *loop, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	union sock_stream *s;
	int dupfd, err;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return NULL;
	if (!(s = malloc(sizeof *s)))
		return NULL;
	if ((dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(s);
		return NULL;
	}
	if (ss.ss_family == AF_UNIX) {
		uv_pipe_init(loop, &s->pipe, 0);
		err = uv_pipe_open(&s->pipe, dupfd);
	} else {
		uv_tcp_init(loop, &s->tcp);
		err = uv_tcp_open(&s->tcp, dupfd);
	}
	if (err < 0) {
		close(dupfd);
		uv_close(&s->handle, free_stream);
		return NULL;
	}
	return s;
}

static void set_stream(uv_stdio_container_t *c, union sock_stream *s, int fd)
{
	if (!s) {
		set_fd(c, fd);
		return;
	}
	c->flags = UV_INHERIT_STREAM;
	c->data.stream = &s->stream;
}

/* Waits for the setup step to exec the program (EOF on the close-on-exec
 * status pipe) or to report the call that failed, as uv_spawn itself
 * waits for its exec. Returns 0 or a negative errno. */
static int setup_wait(int fd, const char **stage)
{
	static const char *const stages[] = {
		"TIOCSCTTY", "setrlimit", "setgroups", "setgid", "setuid", "chdir", "execve",
	};
	char buf[128], name[64];
	size_t n = 0;
	ssize_t r;
	int err;

	while (n < sizeof buf - 1) {
		r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (n == 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%d %63s", &err, name) != 2)
		return UV_EIO;
	for (size_t i = 0; i < sizeof stages / sizeof *stages; i++)
		if (strcmp(name, stages[i]) == 0)
			*stage = stages[i];
	return -err;
}

unsigned proc_in_flight(void)
{
	return 0;       /* uv_spawn returns after the exec */
}

int proc_spawn(uv_loop_t *loop, struct proc *p, const struct spawn_req *req,
    const char **stage)
{
	const struct route *r = req->route;
	uv_process_options_t o;
	uv_stdio_container_t stdio[SETUP_STATUS_FD + 1];
	union sock_stream *in, *out;
	struct strv setup = { 0 };
	int err, status[2] = { -1, -1 };

	*stage = NULL;
	p->by_uv = 1;
	p->pidfd = -1;
	p->exited = p->reaped = p->closing = 0;
	memset(&o, 0, sizeof o);
	o.file = req->exec ? req->exec : r->exec;
	o.args = req->exec ? req->argv : r->argv.v;
	o.env = req->env;
	o.cwd = r->cwd;
	o.flags = UV_PROCESS_DETACHED;
	o.exit_cb = on_uv_exit;
	o.stdio = stdio;
	o.stdio_count = 3;
	in = stream_open(loop, req->fd_in);
	out = req->fd_out == req->fd_in ? in : stream_open(loop, req->fd_out);
	set_stream(&stdio[0], in, req->fd_in);
	set_stream(&stdio[1], out, req->fd_out);
	set_fd(&stdio[2], req->fd_err);
	if (setup_needed(r)) {
		if (pipe2(status, O_CLOEXEC) < 0) {
			err = -errno;
			goto out;
		}
		if (setup_argv(r, o.file, o.args, "gatewayd", &setup) < 0) {
			err = UV_ENOMEM;
			goto out;
		}
		/* The forked child's own binary, even if replaced on disk. */
		o.file = "/proc/self/exe";
		o.args = setup.v;
		o.cwd = NULL; /* entered by the setup step, as the new user */
		set_fd(&stdio[SETUP_STATUS_FD], status[1]);
		o.stdio_count = SETUP_STATUS_FD + 1;
	}
	err = uv_spawn(loop, &p->uv, &o);
	if (err < 0) {
		/* The handle was initialised: it must be closed. */
		proc_close(p);
		goto out;
	}
	p->pid = p->uv.pid;
	if (status[1] >= 0) {
		close(status[1]);
		status[1] = -1;
		err = setup_wait(status[0], stage);
		if (err < 0) {
			/* The setup step exits right after reporting: reap it
			 * here, since libuv stops watching a closed handle. */
			proc_close(p);
			while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
out:
	/* The child has its own copies: the gateway's handles go. */
	if (in)
		uv_close(&in->handle, free_stream);
	if (out && out != in)
		uv_close(&out->handle, free_stream);
	if (status[0] >= 0)
		close(status[0]);
	if (status[1] >= 0)
		close(status[1]);
	strv_free(&setup);
	return err;
}

#ifdef __linux__
/* The pidfd that reaches the child's group once libuv has reaped it,
 * opened on the first signal (a child the gateway never ends holds no
 * descriptor for it), and only while the child is ours and unreaped:
 * libuv reaps on this thread alone, but may reap several exits before it
 * reports the first, and a child reaped so is no longer ours (ECHILD). */
static void open_pidfd(struct proc *p)
{
	siginfo_t si;

	if (p->pidfd >= 0 || p->reaped)
		return;
	p->pidfd = pidfd_open(p->pid, 0);
	memset(&si, 0, sizeof si);
	if (p->pidfd >= 0 &&
	    waitid(P_PIDFD, p->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		close(p->pidfd);
		p->pidfd = -1;
		p->reaped = 1;
	}
}
#endif

int proc_signal_group(struct proc *p, int sig)
{
	if (!p->by_uv)
		return pidfd_proc_signal_group(p, sig);
#ifdef __linux__
	open_pidfd(p);
	if (p->pidfd >= 0) {
		if (pidfd_send_signal(p->pidfd, sig, NULL, PIDFD_SIGNAL_PROCESS_GROUP) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		/* An older kernel: kill(-pid) below, if the pidfd says it
		 * is not reaped yet. */
		if (pidfd_send_signal(p->pidfd, 0, NULL, 0) < 0)
			p->reaped = 1;
	}
#endif
	if (p->reaped)
		return -ENOTSUP;
	return kill(-p->pid, sig) < 0 ? -errno : 0;
}

void proc_close(struct proc *p)
{
	if (!p->by_uv) {
		pidfd_proc_close(p);
		return;
	}
	p->closing = 1;
	uv_close((uv_handle_t *)&p->uv, on_uv_close);
}

int proc_failed(struct proc *p, const char **stage)
{
	(void)p;
	*stage = NULL;
	return 0;
}

#endif
