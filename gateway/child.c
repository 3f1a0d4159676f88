/* One connection's child. The accepted socket becomes its fds 0 and 1
 * (spawn.c starts it), a pipe read here its fd 2 when stderr = log; the
 * gateway's copy of the socket is closed as soon as the child has its
 * own. On a pty route the child's stdio is a terminal instead (pty.c),
 * and the socket stays with the gateway, which relays. Its timeout, and the one kill path by which the gateway ends a
 * child for any reason, are here too; so is the same watch over a child
 * the main process took over from a worker that died. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "errlog.h"
#include "pty.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "spawn.h"

extern char **environ;

static double timeval_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* The exit event: status= or signal=, duration=, the CPU time and peak
 * resident size the child used where its wait told them (ru), reason= if
 * the gateway ended it. */
static void child_log_exit(const struct conn *c, pid_t pid, int64_t status,
    int sig, double secs, const struct rusage *ru, const char *reason)
{
	struct logline l;

	log_begin(&l, "exit");
	conn_log_fields(&l, c);
	log_int(&l, "pid", pid);
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
	if (ru) {
		log_seconds(&l, "utime", timeval_secs(&ru->ru_utime));
		log_seconds(&l, "stime", timeval_secs(&ru->ru_stime));
		log_int(&l, "maxrss", ru->ru_maxrss); /* kB */
	}
	if (reason)
		log_str(&l, "reason", reason);
	log_end(&l);
}

/* ---- stderr = log ---- */

int child_stderr_fd(const struct child *c)
{
	return errlog_fd(&c->err);
}

/* A terminal's relay, made only for the children of pty routes: most
 * children go without its handles. */
struct child_pty {
	struct pty pty;
	struct child *child;
};

static void handle_done(struct child *c)
{
	struct conn *conn = c->conn;

	if (--c->handles > 0)
		return;
	if (conn->child == c)
		conn->child = NULL;
	free(c->pty);
	c->pty = NULL;
	c->owner->freed(c->owner, c);
	conn_release(conn);
}

static void on_handle_closed(uv_handle_t *h)
{
	handle_done(h->data);
}

static void on_proc_closed(struct proc *p)
{
	handle_done(container_of(p, struct child, proc));
}

static void on_errlog_closed(struct errlog *e)
{
	handle_done(container_of(e, struct child, err));
}

static void on_pty_closed(struct pty *p)
{
	handle_done(container_of(p, struct child_pty, pty)->child);
}

static void on_pty_client_gone(struct pty *p)
{
	struct child *c = container_of(p, struct child_pty, pty)->child;

	if (c->alive)
		child_give_up(c, "client_gone");
}

/* ---- timeout, and the kill path ---- */

#define LOOK_FIRST_MS 10        /* at a group whose leader has exited */
#define LOOK_MAX_MS 500

static uint64_t ms(double secs)
{
	return (uint64_t)(secs * 1000 + 0.5);
}

static void on_timer(uv_timer_t *t);

static void timer_start(struct child *c, uint64_t delay)
{
	if (!c->timer_open) {
		uv_timer_init(c->loop, &c->timer);
		c->timer.data = c;
		c->timer_open = 1;
		c->handles++;
	}
	uv_timer_start(&c->timer, on_timer, delay, 0);
}

static void timer_close(struct child *c)
{
	if (!c->timer_open)
		return;
	c->timer_open = 0;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* Nothing more to do for it: reaped if it has exited. */
static void unwatch(struct child *c)
{
	timer_close(c);
	if (!c->proc.closing)
		proc_close(&c->proc);
}

void child_end(struct child *c, const char *reason, double grace)
{
	if (!c->alive || c->ending)
		return;
	c->ending = 1;
	if (!c->end_reason)
		c->end_reason = reason;
	proc_signal_group(&c->proc, SIGTERM);
	c->kill_at = uv_now(c->loop) + ms(grace);
	timer_start(c, ms(grace));
}

void child_give_up(struct child *c, const char *reason)
{
	child_end(c, reason, c->kill_grace);
	/* Its place goes now, not when it has exited. */
	if (!c->given_up) {
		c->given_up = 1;
		c->owner->exited(c->owner, c);
	}
}

static void kill_group(struct child *c)
{
	c->killed = 1;
	proc_signal_group(&c->proc, SIGKILL);
	/* Still running: its exit comes, and ends the watch. */
	if (!c->alive)
		unwatch(c);
}

/* It has exited on the kill path before its KILL. What it started may
 * not have: while any of that runs, it stays unreaped and the KILL goes
 * to the group at kill_at. Those ending of the TERM as well are gone in
 * a moment: look again soon, then less often. */
static void look_at_group(struct child *c)
{
	uint64_t now = uv_now(c->loop);

	if (proc_signal_group(&c->proc, 0) < 0 || !proc_group_running(&c->proc)) {
		unwatch(c);
		return;
	}
	if (now >= c->kill_at) {
		kill_group(c);
		return;
	}
	c->look_ms = c->look_ms ? c->look_ms * 2 : LOOK_FIRST_MS;
	if (c->look_ms > LOOK_MAX_MS)
		c->look_ms = LOOK_MAX_MS;
	timer_start(c, c->look_ms < c->kill_at - now ? c->look_ms : c->kill_at - now);
}

/* The loop's timers run on its own clock, in milliseconds and as of its
 * last wake, which may be a few milliseconds behind: a timeout that comes
 * before the child has really run that long waits for the rest. */
static void on_timer(uv_timer_t *t)
{
	struct child *c = t->data;
	uint64_t ran = uv_hrtime() - c->started;
	uint64_t limit = (uint64_t)(c->conn->route->timeout * 1e9);

	if (!c->ending && ran < limit)
		timer_start(c, (limit - ran + 999999) / 1000000);
	else if (!c->ending)
		child_end(c, "timeout", c->kill_grace);
	else if (c->alive)
		kill_group(c);
	else
		look_at_group(c);
}

/* ---- exit ---- */

static void on_child_exit(struct proc *p, int64_t status, int sig,
    const struct rusage *ru)
{
	struct child *c = container_of(p, struct child, proc);
	double secs = (double)(uv_hrtime() - c->started) / 1e9;

	const char *stage;
	int failed = proc_failed(p, &stage);

	errlog_drain(&c->err);
	/* Its set-up failed before the exec, which the spawn did not wait
	 * for: the program never ran. */
	if (failed < 0) {
		child_log_spawn_error(c->conn, c->pid, stage, failed);
	} else {
		struct child_outcome o = { .status = (int)status, .sig = sig,
		    .secs = secs, .utime = -1, .stime = -1,
		    .timeout = c->end_reason && strcmp(c->end_reason, "timeout") == 0 };
		if (ru) {
			o.utime = timeval_secs(&ru->ru_utime);
			o.stime = timeval_secs(&ru->ru_stime);
		}
		child_log_exit(c->conn, c->pid, status, sig, secs, ru, c->end_reason);
		stats_exit(c->conn->route->stats, &o);
	}
	c->alive = 0;
	if (c->pty)
		pty_child_exited(&c->pty->pty);
	if (c->on_end)
		c->on_end(c->on_end_arg);
	if (c->ending && !c->killed)
		look_at_group(c);
	else
		unwatch(c);
	if (!c->given_up)
		c->owner->exited(c->owner, c);
}

int child_relayed(const struct child *c)
{
	/* A cgi response relayed, a request body fed (on_end: the
	 * feeder), or a terminal. */
	return c->conn->route->protocol == PROTO_CGI || c->on_end ||
	    c->conn->route->pty != PTY_NONE;
}

int child_needs_gateway(const struct child *c)
{
	/* Its stderr lines too go through the gateway. */
	return c->conn->route->stderr_mode == STDERR_LOG || child_relayed(c);
}

void child_detach(struct child *c)
{
	if (!c->alive)
		return;
	/* Nobody watches it now; init reaps it once we are gone. */
	c->alive = 0;
	unwatch(c);
}

void child_release(struct child *c)
{
	errlog_drain(&c->err);
	errlog_close(&c->err);
	if (c->pty)
		pty_close(&c->pty->pty);
}

/* ---- taken over from a worker that died ---- */

int child_adopt(struct child *c, uv_loop_t *loop, struct child_owner *owner,
    pid_t pid, struct conn *conn, uint64_t started, double kill_grace, int errfd)
{
	const struct route *r = conn->route;
	uint64_t ran = (uv_hrtime() - started) / 1000000;
	int err;

	c->loop = loop;
	c->owner = owner;
	c->conn = conn;
	conn_hold(conn);
	conn->child = c;
	c->started = started;
	c->kill_grace = kill_grace;
	c->proc.on_exit = on_child_exit;
	c->proc.on_close = on_proc_closed;
	c->handles = 1; /* held while starting */
	err = proc_adopt(loop, &c->proc, pid);
	if (err < 0) {
		if (errfd >= 0)
			close(errfd);
		if (c->proc.closing)
			c->handles++; /* on_proc_closed releases it */
		handle_done(c);
		return err;
	}
	c->pid = pid;
	c->alive = 1;
	c->handles++;
	if (errfd >= 0) {
		c->handles++;
		if (errlog_open(&c->err, loop, errfd, on_errlog_closed) < 0) {
			close(errfd);
			errlog_close(&c->err);
		} else {
			errlog_start(&c->err, conn, pid);
		}
	}
	if (r->timeout > 0)
		timer_start(c, ms(r->timeout) > ran ? ms(r->timeout) - ran : 0);
	handle_done(c);
	return 0;
}

/* ---- spawn ---- */

void child_log_spawn_error(const struct conn *c, pid_t pid, const char *stage,
    int err)
{
	struct logline l;
	char msg[256];

	snprintf(msg, sizeof msg, "%s%s%s", stage ? stage : "",
	    stage ? ": " : "", uv_strerror(err));
	stats_spawn_error(c->route->stats);
	log_begin(&l, "spawn_error");
	conn_log_fields(&l, c);
	if (pid > 0)
		log_int(&l, "pid", pid);
	conn_log_peer(&l, c);
	log_str(&l, "error", msg);
	log_end(&l);
}

static void log_spawn(const struct child *c)
{
	struct logline l;

	log_begin(&l, "spawn");
	conn_log_fields(&l, c->conn);
	log_int(&l, "pid", c->pid);
	conn_log_peer(&l, c->conn);
	log_end(&l);
}

/* stderr = log: a pipe whose read end the loop watches. Returns the
 * write end for the child, or a negative errno. */
static int stderr_open(struct child *c, uv_loop_t *loop)
{
	int fds[2], err;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	c->handles++;
	err = errlog_open(&c->err, loop, fds[0], on_errlog_closed);
	if (err < 0) {
		/* The handle stays open: spawn_failed closes it. */
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	return fds[1];
}

/* On a pty route stderr is the terminal (slave) unless the route says
 * otherwise. */
static int stderr_fd(struct child *c, uv_loop_t *loop, int slave)
{
	if (slave >= 0 && !c->conn->route->stderr_line)
		return slave;
	switch (c->conn->route->stderr_mode) {
	case STDERR_LOG:
		return stderr_open(c, loop);
	case STDERR_INHERIT:
		return 2;
	default:
		return -1;
	}
}

/* Frees the child once the handles it opened are closed. */
static void spawn_failed(struct child *c, const char *stage, int err, int quiet)
{
	if (!quiet)
		child_log_spawn_error(c->conn, 0, stage, err);
	c->handles++; /* hold it while closing */
	errlog_close(&c->err);
	if (c->proc.closing)
		c->handles++; /* on_proc_closed releases it */
	handle_done(c);
}

int child_shortage(int err)
{
	return err == UV_EMFILE || err == UV_ENFILE || err == UV_ENOMEM ||
	    err == UV_EAGAIN;
}

/* The argv of a program a request names (exec_dir): its name, then
 * the route's args. NULL when out of memory. */
static char **request_argv(const struct route *r, const char *arg0)
{
	char **argv = calloc(r->argv.n + 1, sizeof *argv);

	if (!argv)
		return NULL;
	argv[0] = (char *)arg0;
	for (size_t i = 1; i < r->argv.n; i++)
		argv[i] = r->argv.v[i];
	return argv;
}

struct child *child_spawn(uv_loop_t *loop, struct child_owner *owner,
    struct conn *conn, const struct http_spawn *hs, double kill_grace, int *errp)
{
	const struct route *r = conn->route;
	int fd = conn->fd;
	struct strv env = { 0 };
	struct spawn_req req = { .route = r };
	struct child *c = calloc(1, sizeof *c);
	const char *stage = NULL;
	int err, errfd, master = -1, slave = -1;

	if (hs && hs->exec) {
		req.exec = hs->exec;
		req.argv = request_argv(r, hs->arg0);
	}
	if (!c || (req.exec && !req.argv) ||
	    (hs ? env_build_cgi(r, &conn->ci, conn->tlvs, hs->cgi, environ, &env) :
	    env_build(r, &conn->ci, conn->tlvs, environ, &env)) < 0) {
		free(c);
		free(req.argv);
		*errp = UV_ENOMEM; /* fd kept: a shortage */
		return NULL;
	}
	c->loop = loop;
	c->owner = owner;
	queue_init(&c->q);
	c->kill_grace = kill_grace;
	c->conn = conn;
	conn_hold(conn);
	conn->child = c;
	c->proc.on_exit = on_child_exit;
	c->proc.on_close = on_proc_closed;
	if (r->pty != PTY_NONE && (err = pty_open(r, &master, &slave)) < 0) {
		strv_free(&env);
		free(req.argv);
		goto failed;
	}
	errfd = stderr_fd(c, loop, slave);
	if (errfd < -1) {
		err = errfd;
		strv_free(&env);
		free(req.argv);
		goto failed;
	}
	req.env = env.v;
	req.fd_in = r->stdin_mode == STDIN_SOCKET ? fd : -1;
	req.fd_out = fd;
	if (slave >= 0)
		req.fd_in = req.fd_out = slave;
	if (hs && hs->stdin_null)
		req.fd_in = -1;
	if (hs && hs->stdin_fd >= 0)
		req.fd_in = hs->stdin_fd;
	if (hs && hs->stdout_fd >= 0)
		req.fd_out = hs->stdout_fd;
	req.fd_err = errfd;
	/* An HTTP client is answered 500 if the program cannot start: the
	 * spawn waits to know. A raw route's child closes the socket as it
	 * fails. */
	req.wait = hs != NULL;
	c->started = uv_hrtime();
	err = proc_spawn(loop, &c->proc, &req, &stage);
	if (errfd != slave && r->stderr_mode == STDERR_LOG)
		close(errfd);
	if (slave >= 0)
		close(slave);
	strv_free(&env);
	free(req.argv);
	if (err < 0)
		goto failed;
	c->pid = c->proc.pid;
	c->alive = 1;
	c->handles++;
	/* The child has its own copy now: ours goes at once, or to the
	 * relay of its terminal (which, short of memory, hangs up). */
	if (master < 0) {
		close(conn_take_fd(conn));
	} else {
		c->handles++;
		if ((c->pty = calloc(1, sizeof *c->pty)))
			c->pty->child = c;
		if (!c->pty || pty_start(&c->pty->pty, loop, conn_take_fd(conn), master,
		    on_pty_client_gone, on_pty_closed) < 0) {
			if (!c->pty) {
				close(master);
				close(conn_take_fd(conn));
			}
			c->handles--;
			child_end(c, "busy", c->kill_grace);
		}
		master = -1;
	}
	if (c->err.open)
		errlog_start(&c->err, conn, c->pid);
	if (r->timeout > 0)
		timer_start(c, ms(r->timeout));
	log_spawn(c);
	return c;

failed:
	*errp = err;
	if (master >= 0)
		close(master);
	/* Short of the gateway's own resources, before anything ran: the
	 * caller keeps the client and tries again later. */
	if (!stage && child_shortage(err)) {
		spawn_failed(c, NULL, err, 1);
		return NULL;
	}
	close(conn_take_fd(conn));
	spawn_failed(c, stage, err, 0);
	return NULL;
}
