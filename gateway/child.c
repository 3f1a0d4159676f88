/* The spawn path goes through libuv's uv_spawn: the accepted socket is
 * handed over as fds 0 and 1 (UV_INHERIT_FD), UV_PROCESS_DETACHED gives
 * the child its own session and process group, and libuv resets signal
 * dispositions and the mask in the child. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "server.h"
#include "setup.h"

extern char **environ;

void child_log_conn(struct logline *l, const struct route *r,
    const struct conn_info *ci)
{
	log_str(l, "route", r->name);
	log_uint(l, "conn", ci->id);
}

void child_log_peer(struct logline *l, const struct conn_info *ci)
{
	char peer[96];

	if (ci->tcp) {
		snprintf(peer, sizeof peer, strchr(ci->remote_ip, ':') ?
		    "[%s]:%u" : "%s:%u", ci->remote_ip, ci->remote_port);
		log_str(l, "peer", peer);
	} else if (ci->have_cred) {
		log_uint(l, "uid", ci->uid);
		log_uint(l, "gid", ci->gid);
		/* pid= is the child's in the events that carry both. */
		log_int(l, "peer_pid", ci->pid);
	}
}

/* ---- stderr = log ---- */

static void log_stderr_line(struct child *c, const char *s, size_t n)
{
	struct logline l;

	log_begin(&l, "stderr");
	child_log_conn(&l, c->route, &c->ci);
	log_int(&l, "pid", c->pid);
	log_mem(&l, "line", s, n);
	log_end(&l);
}

/* Takes n new bytes at the end of the line buffer: logs every whole line,
 * and a full buffer as a line of its own. */
static void stderr_take(struct child *c, size_t n)
{
	char *start = c->line, *nl;
	size_t left;

	c->linelen += n;
	left = c->linelen;
	while ((nl = memchr(start, '\n', left)) != NULL) {
		log_stderr_line(c, start, (size_t)(nl - start));
		left -= (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	if (left == sizeof c->line) {
		log_stderr_line(c, start, left);
		left = 0;
	}
	memmove(c->line, start, left);
	c->linelen = left;
}

static void stderr_flush(struct child *c)
{
	if (c->linelen > 0)
		log_stderr_line(c, c->line, c->linelen);
	c->linelen = 0;
}

static void on_handle_closed(uv_handle_t *h)
{
	struct child *c = h->data;

	if (--c->handles == 0) {
		server_child_forget(c->srv, c);
		free(c);
	}
}

static void stderr_close(struct child *c)
{
	if (!c->pipe_open)
		return;
	stderr_flush(c);
	c->pipe_open = 0;
	uv_close((uv_handle_t *)&c->errpipe, on_handle_closed);
}

static void on_stderr_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct child *c = h->data;

	(void)hint;
	buf->base = c->line + c->linelen;
	buf->len = sizeof c->line - c->linelen;
}

static void on_stderr_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct child *c = s->data;

	(void)buf;
	if (n > 0)
		stderr_take(c, (size_t)n);
	else if (n < 0)
		stderr_close(c);
}

/* The exit can be seen before the last stderr bytes are read: read what
 * is already in the pipe so the lines come before the exit event. */
static void stderr_drain(struct child *c)
{
	int fd;
	ssize_t n;

	if (!c->pipe_open || uv_fileno((uv_handle_t *)&c->errpipe, &fd) < 0)
		return;
	while ((n = read(fd, c->line + c->linelen, sizeof c->line - c->linelen)) > 0)
		stderr_take(c, (size_t)n);
	if (n == 0)
		stderr_close(c);
	else
		stderr_flush(c);
}

/* ---- timeout ---- */

static void on_timer(uv_timer_t *t)
{
	struct child *c = t->data;

	if (!c->killing) {
		c->killing = 1;
		child_signal(c, SIGTERM, "timeout");
		uv_timer_start(&c->timer, on_timer,
		    (uint64_t)(c->kill_grace * 1000 + 0.5), 0);
	} else {
		child_signal(c, SIGKILL, "timeout");
	}
}

static void timer_close(struct child *c)
{
	if (!c->timer_open)
		return;
	c->timer_open = 0;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- exit ---- */

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	struct child *c = container_of(p, struct child, proc);
	struct logline l;
	double secs = (double)(uv_hrtime() - c->started) / 1e9;

	if (c->setup_failed) {
		/* Reported as a spawn_error already; never counted. */
		c->alive = 0;
		uv_close((uv_handle_t *)&c->proc, on_handle_closed);
		return;
	}
	stderr_drain(c);
	log_begin(&l, "exit");
	child_log_conn(&l, c->route, &c->ci);
	log_int(&l, "pid", c->pid);
	if (sig) {
		const char *name = sigabbrev_np(sig);
		if (name)
			log_str(&l, "signal", name);
		else
			log_int(&l, "signal", sig);
	} else {
		log_int(&l, "status", status);
	}
	log_seconds(&l, "duration", secs);
	if (c->end_reason)
		log_str(&l, "reason", c->end_reason);
	log_end(&l);
	c->alive = 0;
	timer_close(c);
	uv_close((uv_handle_t *)&c->proc, on_handle_closed);
	server_child_exited(c->srv, c);
}

int child_needs_gateway(const struct child *c)
{
	return c->route->stderr_mode == STDERR_LOG;
}

void child_detach(struct child *c)
{
	if (!c->alive)
		return;
	/* libuv stops watching the pid; init reaps it once we are gone. */
	c->alive = 0;
	timer_close(c);
	uv_close((uv_handle_t *)&c->proc, on_handle_closed);
}

void child_signal(struct child *c, int sig, const char *reason)
{
	if (!c->alive)
		return;
	if (!c->end_reason)
		c->end_reason = reason;
	/* The whole group: the child and anything it started. A group whose
	 * leader is a zombie still exists, so this cannot hit another one. */
	if (kill(-c->pid, sig) < 0 && errno == ESRCH)
		kill(c->pid, sig);
}

void child_release(struct child *c)
{
	if (c->pipe_open) {
		stderr_drain(c);
		stderr_close(c);
	}
}

/* ---- spawn ---- */

static void log_spawn_error(const struct route *r, const struct conn_info *ci,
    const char *stage, int err)
{
	struct logline l;
	char msg[256];

	snprintf(msg, sizeof msg, "%s%s%s", stage ? stage : "",
	    stage ? ": " : "", uv_strerror(err));
	log_begin(&l, "spawn_error");
	child_log_conn(&l, r, ci);
	child_log_peer(&l, ci);
	log_str(&l, "error", msg);
	log_end(&l);
}

/* Waits for the setup step to exec the program (EOF on the close-on-exec
 * status pipe) or to report the stage that failed, as uv_spawn itself
 * waits for its exec. Returns 0 or a negative errno with *stage set. */
static int setup_wait(int fd, char *stage, size_t stagelen)
{
	char buf[128];
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
	if (sscanf(buf, "%d %63s", &err, stage) != 2 || stagelen < 64)
		return UV_EIO;
	return -err;
}

static void log_spawn(const struct child *c)
{
	struct logline l;

	log_begin(&l, "spawn");
	child_log_conn(&l, c->route, &c->ci);
	log_int(&l, "pid", c->pid);
	child_log_peer(&l, &c->ci);
	log_end(&l);
}

static void set_stdio(uv_stdio_container_t *s, const struct route *r,
    struct child *c, int fd)
{
	s[0].flags = r->stdin_mode == STDIN_SOCKET ? UV_INHERIT_FD : UV_IGNORE;
	s[0].data.fd = fd;
	s[1].flags = UV_INHERIT_FD;
	s[1].data.fd = fd;
	switch (r->stderr_mode) {
	case STDERR_LOG:
		s[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
		s[2].data.stream = (uv_stream_t *)&c->errpipe;
		break;
	case STDERR_INHERIT:
		s[2].flags = UV_INHERIT_FD;
		s[2].data.fd = 2;
		break;
	case STDERR_NULL:
		s[2].flags = UV_IGNORE; /* libuv opens /dev/null for 0-2 */
		break;
	}
}

/* Runs uv_spawn, through the setup step when the route needs one, and
 * closes the gateway's copy of the socket. Returns 0 or a negative errno
 * (with *stage naming the setup step's failing call, if it was that). */
static int start_process(struct child *c, uv_loop_t *loop, int fd,
    char **env, char *stage, size_t stagelen)
{
	const struct route *r = c->route;
	uv_process_options_t o;
	uv_stdio_container_t stdio[SETUP_STATUS_FD + 1];
	struct strv setup = { 0 };
	int err, status[2] = { -1, -1 };

	memset(&o, 0, sizeof o);
	o.file = r->exec;
	o.args = r->argv.v;
	o.env = env;
	o.cwd = r->cwd;
	o.flags = UV_PROCESS_DETACHED;
	o.exit_cb = on_child_exit;
	o.stdio = stdio;
	o.stdio_count = 3;
	set_stdio(stdio, r, c, fd);
	if (setup_needed(r)) {
		if (pipe2(status, O_CLOEXEC) < 0) {
			err = -errno;
			goto out;
		}
		if (setup_argv(r, "gatewayd", &setup) < 0) {
			err = UV_ENOMEM;
			goto out;
		}
		/* The forked child's own binary, even if replaced on disk. */
		o.file = "/proc/self/exe";
		o.args = setup.v;
		o.cwd = NULL; /* entered by the setup step, as the new user */
		stdio[SETUP_STATUS_FD].flags = UV_INHERIT_FD;
		stdio[SETUP_STATUS_FD].data.fd = status[1];
		o.stdio_count = SETUP_STATUS_FD + 1;
	}
	c->started = uv_hrtime();
	err = uv_spawn(loop, &c->proc, &o);
	c->proc.data = c;
	c->handles++;
	if (err == 0)
		c->alive = 1;
out:
	/* The child has its own copies now (or never will): ours go at once. */
	close(fd);
	if (status[1] >= 0)
		close(status[1]);
	if (err == 0 && status[0] >= 0)
		err = setup_wait(status[0], stage, stagelen);
	if (status[0] >= 0)
		close(status[0]);
	strv_free(&setup);
	return err;
}

static void spawn_failed(struct child *c, const char *stage, int err)
{
	log_spawn_error(c->route, &c->ci, *stage ? stage : NULL, err);
	if (c->pipe_open) {
		c->pipe_open = 0;
		uv_close((uv_handle_t *)&c->errpipe, on_handle_closed);
	}
	if (c->alive) {
		/* The setup step failed and exits by itself: reaped quietly. */
		c->setup_failed = 1;
		return;
	}
	if (c->handles > 0)
		uv_close((uv_handle_t *)&c->proc, on_handle_closed);
	else
		free(c);
}

struct child *child_spawn(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci, double kill_grace, int *errp)
{
	uv_loop_t *loop = server_loop(s);
	struct strv env = { 0 };
	struct child *c = calloc(1, sizeof *c);
	char stage[64] = "";
	int err;

	if (!c || env_build(r, ci, environ, &env) < 0) {
		free(c);
		close(fd);
		log_spawn_error(r, ci, NULL, UV_ENOMEM);
		*errp = UV_ENOMEM;
		return NULL;
	}
	c->srv = s;
	c->kill_grace = kill_grace;
	c->route = r;
	c->ci = *ci;
	if (r->stderr_mode == STDERR_LOG) {
		uv_pipe_init(loop, &c->errpipe, 0);
		c->errpipe.data = c;
		c->pipe_open = 1;
		c->handles++;
	}
	err = start_process(c, loop, fd, env.v, stage, sizeof stage);
	strv_free(&env);
	if (err < 0) {
		spawn_failed(c, stage, err);
		*errp = err;
		return NULL;
	}
	c->pid = c->proc.pid;
	if (c->pipe_open)
		uv_read_start((uv_stream_t *)&c->errpipe, on_stderr_alloc, on_stderr_read);
	if (r->timeout > 0) {
		uv_timer_init(loop, &c->timer);
		c->timer.data = c;
		c->timer_open = 1;
		c->handles++;
		uv_timer_start(&c->timer, on_timer, (uint64_t)(r->timeout * 1000 + 0.5), 0);
	}
	log_spawn(c);
	return c;
}
