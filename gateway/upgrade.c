/* The in-place upgrade (SIGUSR2, or `upgrade` on the control socket):
 * the gateway re-executes its binary, at the path it was started from,
 * in the same process, so that its pid, its children and its listening
 * sockets stay. The old image checks the new binary against the config
 * (`-V`, `-t`), lets what cannot be carried finish (a cgi response
 * being relayed, a request body being fed, a child between its clone and
 * its exec), with accepting paused meanwhile (clients wait in the
 * backlog), then writes the handover (handover.h) and execs. The new
 * image takes the listeners as it opens its config's (listener.c), the
 * workers in the pool (pool_upgrade.c), and the rest in takeover.c.
 * Anything that fails before the exec is logged upgrade_error, and the
 * old image serves on. */
#include "server_int.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "handover.h"
#include "log.h"
#include "notify.h"
#include "util.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif

#define WAIT_MS 10000           /* for what cannot be carried to finish */
#define TICK_MS 10
#define CHECK_MS 10000          /* for `BINARY -t` to answer */

extern char **environ;

static void upgrade_log_error(const char *why)
{
	struct logline l;

	log_begin(&l, "upgrade_error");
	log_str(&l, "version", VERSION);
	log_str(&l, "error", why);
	log_end(&l);
}

/* ---- the check of the new binary ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs exe with argv, its output into out (what fits): its wait status,
 * or -1 with why set when it could not run. */
static int run_binary(const char *exe, char **argv, char *out, size_t outlen,
    char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	uint64_t until = now_ms() + CHECK_MS;
	size_t len = 0;
	int p[2], status = 0, r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		snprintf(why, whylen, "%s: %s", exe, strerror(r));
		return -1;
	}
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		uint64_t t = now_ms();
		ssize_t n;
		char sink[512];

		if (t >= until) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pf, 1, (int)(until - t)) < 0 && errno != EINTR)
			break;
		if (len + 1 < outlen)
			n = read(p[0], out + len, outlen - 1 - len);
		else
			n = read(p[0], sink, sizeof sink);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < outlen)
			len += (size_t)n;
	}
	close(p[0]);
	out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* `exe -V` says which handover it reads; `exe -t -c config` that it
 * accepts the config, its routes into out. 0, or -1 with why set. */
static int check_binary(const char *exe, const char *config, char *out,
    size_t outlen, char *why, size_t whylen)
{
	char *version[] = { (char *)exe, "-V", NULL };
	char *check[] = { (char *)exe, "-t", "-c", (char *)config, NULL };
	const char *h;
	int status = run_binary(exe, version, out, outlen, why, whylen);

	if (status == -1)
		return -1;
	if (!(h = strstr(out, "handover ")) || atoi(h + 9) != HANDOVER_FORMAT) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(why, whylen, "%s (%.100s) cannot take over from this version: "
		    "it reads no handover of format %d", exe, out, HANDOVER_FORMAT);
		return -1;
	}
	if ((status = run_binary(exe, check, out, outlen, why, whylen)) == -1)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* Its first line says why. */
	out[strcspn(out, "\n")] = '\0';
	if (WIFSIGNALED(status))
		snprintf(why, whylen, "%s -t: killed by signal %d", exe, WTERMSIG(status));
	else
		snprintf(why, whylen, "%s refuses the config: %.300s", exe,
		    out[0] ? out : "(no message)");
	return -1;
}

/* Whether route `name` is among those `-t` printed, one a line. */
static int route_listed(const char *out, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = out; *p; ) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return 1;
		p += strcspn(p, "\n");
		p += *p == '\n';
	}
	return 0;
}

/* A connection whose route the new config lacks: why it cannot be. */
static void check_route(const char *out, const struct conn *c, char *why,
    size_t whylen)
{
	if (!why[0] && !route_listed(out, c->route->name))
		snprintf(why, whylen, "route [%s] has running children and "
		    "is not in the config: reload first", c->route->name);
}

struct route_check {
	const char *out;
	char *why;
	size_t whylen;
};

static void visit_check(void *arg, const struct conn *c, pid_t pid,
    const char *state)
{
	struct route_check *rc = arg;

	(void)pid;
	(void)state;
	check_route(rc->out, c, rc->why, rc->whylen);
}

/* ---- what can be carried ---- */

static void count_reading(void *arg, const struct listener *l,
    const struct conn *c, enum pending_stage stage, const char *buf,
    size_t len, uint64_t left_ms)
{
	(void)l, (void)c, (void)stage, (void)buf, (void)len, (void)left_ms;
	(*(unsigned *)arg)++;
}

/* Every connection left is one the new image can take up: a running
 * child's of a raw or nph route (whose socket is the child's own), one
 * with the workers, or one still being read or waiting for a place. */
static int carriable(struct server *s, unsigned *alive)
{
	struct queue *q, *n;

	*alive = 0;
	if (!held_empty(&s->held) || proc_in_flight() > 0 ||
	    (s->pool && !pool_carriable(s->pool, alive)))
		return 0;
	pending_hand_each(&s->reading, count_reading, alive);
	queue_foreach(q, n, &s->children) {
		struct child *c = queue_data(q, struct child, q);

		if (!c->alive || child_relayed(c))
			return 0;
		(*alive)++;
	}
	return conn_count() == *alive;
}

/* ---- the exec ---- */

static void put_listener(struct handover_buf *b, const struct listener *l,
    int *fds, size_t *nfds)
{
	struct handed_listener h = { .fd = l->fd, .family = l->addr->family,
	    .passed = l->passed, .made = l->made_file };

	if (l->fd < 0)
		return;
	snprintf(h.text, sizeof h.text, "%s", l->addr->text);
	snprintf(h.route, sizeof h.route, "%s", l->route->name);
	if (l->made_file)
		snprintf(h.path, sizeof h.path, "%s", l->addr->ipc_path);
	handover_put_listener(b, &h);
	fds[(*nfds)++] = l->fd;
}

/* The listeners, the gateway's own three sockets, a stderr pipe for
 * each child, and the reply. */
static size_t count_fds(struct server *s)
{
	struct queue *q, *n;
	size_t count = s->nlisteners + 3 + 1 + (s->pool ? pool_fd_count(s->pool) : 0);
	unsigned reading = 0;

	pending_hand_each(&s->reading, count_reading, &reading);
	count += reading;

	queue_foreach(q, n, &s->children)
		count++;
	return count;
}

struct put_reading {
	struct handover_buf *b;
	int *fds;
	size_t *nfds;
};

static void put_reading(void *arg, const struct listener *l,
    const struct conn *c, enum pending_stage stage, const char *buf,
    size_t len, uint64_t left_ms)
{
	struct put_reading *pr = arg;
	struct handed_reading r = { .fd = c->fd, .family = l->addr->family,
	    .stage = (int)stage, .left_ms = left_ms, .born = c->born,
	    .buf = (char *)buf, .len = len, .ci = c->ci };

	snprintf(r.text, sizeof r.text, "%s", l->addr->text);
	snprintf(r.route, sizeof r.route, "%s", l->route->name);
	if (c->tlvs) {
		r.have_tlvs = 1;
		r.tlvs = *c->tlvs;
	}
	handover_put_reading(pr->b, &r);
	pr->fds[(*pr->nfds)++] = c->fd;
}

/* The counters so far, for the new image to go on from. */
static void put_metrics(struct server *s, struct handover_buf *b)
{
	char *data = NULL;
	size_t len = 0;

	if (metrics_delta(&s->metrics, &data, &len) < 0)
		return;
	handover_put_metrics(b, (unsigned)sizeof(struct stats_counts),
	    (uint64_t)(s->metrics.start_time * 1000), s->metrics.reloads,
	    s->metrics.reload_errors, data, len);
	free(data);
}

/* Writes the handover and execs: returns only when the exec failed, with
 * everything as it was and why set. */
static int exec_new(struct server *s, int reply, char *why, size_t whylen)
{
	struct handover_buf b = { 0 };
	/* The gateway's own sockets, those open. */
	struct listener *own[3] = {
		s->control.open ? s->control.l : NULL,
		s->agent.open ? s->agent.l : NULL,
		s->metrics_open ? s->metrics_http.l : NULL,
	};
	size_t nfds = 0, cap = count_fds(s) + 2;
	int *fds = calloc(cap, sizeof *fds), memfd = -1, back = -1, config_fd = -1;
	struct queue *q, *n;
	char num[48];
	unsigned long long soft, hard;

	if (!fds) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return -1;
	}
	/* The way back, should the new binary fail after the exec: this
	 * binary, and the config it runs. */
	if ((back = open("/proc/self/exe", O_PATH)) >= 0)
		fds[nfds++] = back;
	if ((config_fd = memfd_text("gateway.ini", s->config->text,
	    s->config->textlen, 0)) >= 0)
		fds[nfds++] = config_fd;
	spawn_base_nofile(&soft, &hard);
	handover_put_from(&b, VERSION, s->started, s->last_conn, reply, config_fd,
	    soft, hard);
	for (size_t i = 0; i < s->nlisteners; i++)
		put_listener(&b, s->listeners[i], fds, &nfds);
	for (size_t i = 0; i < 3; i++)
		if (own[i])
			put_listener(&b, own[i], fds, &nfds);
	queue_foreach(q, n, &s->children) {
		struct child *c = queue_data(q, struct child, q);
		struct handed_child h = { .pid = c->pid, .started = c->started,
		    .errfd = child_stderr_fd(c), .worker = -1, .ci = c->conn->ci };

		snprintf(h.route, sizeof h.route, "%s", c->conn->route->name);
		handover_put_child(&b, &h);
		if (h.errfd >= 0)
			fds[nfds++] = h.errfd;
	}
	if (s->pool)
		pool_hand_over(s->pool, &b, fds, &nfds);
	pending_hand_each(&s->reading, put_reading,
	    &(struct put_reading){ &b, fds, &nfds });
	put_metrics(s, &b);
	if (reply >= 0)
		fds[nfds++] = reply;
	if ((memfd = handover_memfd(&b)) < 0) {
		snprintf(why, whylen, "handover: %s", strerror(-memfd));
		goto out;
	}
	snprintf(num, sizeof num, "%d %d", memfd, back);
	for (size_t i = 0; i < nfds; i++)
		fcntl(fds[i], F_SETFD, 0);
	setenv(HANDOVER_ENV, num, 1);
	notify_reloading();
	log_flush();
	/* Every signal is blocked (try_exec): none may end the process
	 * between the images, and what comes is taken by the new one once
	 * its handlers are in place. */
	execve(s->exe, s->argv, environ);
	snprintf(why, whylen, "%s: %s", s->exe, strerror(errno));
	unsetenv(HANDOVER_ENV);
	for (size_t i = 0; i < nfds; i++)
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	close(memfd);
	notify_reloaded("serving: %zu routes (upgrade failed)", s->config->nroutes);
out:
	if (back >= 0)
		close(back);
	if (config_fd >= 0)
		close(config_fd);
	free(b.data);
	free(fds);
	return -1;
}

static void unblock(struct server_upgrade *u);

static void upgrade_end(struct server *s, const char *why)
{
	struct server_upgrade *u = &s->upgrade;

	u->on = 0;
	unblock(u);
	uv_timer_stop(&u->timer);
	uv_idle_stop(&u->idle);
	if (why)
		upgrade_log_error(why);
	if (u->answer) {
		if (why)
			control_error(u->answer, "%s", why);
		control_answer_done(u->answer);
		u->answer = NULL;
	}
	server_update_accepting(s);
}

static void on_tick(uv_timer_t *t);
static void on_last_look(uv_idle_t *h);

static void unblock(struct server_upgrade *u)
{
	if (u->blocked)
		sigprocmask(SIG_SETMASK, &u->mask, NULL);
	u->blocked = 0;
}

/* Once everything left can be carried, every signal is blocked and the
 * loop goes round once more (on_last_look), so that a signal that came
 * just before (a stop, a worker's end) is dealt with by this image;
 * whatever comes after stays pending across the exec for the new one. */
static void try_exec(struct server *s)
{
	struct server_upgrade *u = &s->upgrade;
	char why[512];
	unsigned alive;
	sigset_t all;

	if (server_draining(s)) {
		upgrade_end(s, "the gateway is stopping");
		return;
	}
	if (!carriable(s, &alive)) {
		if (uv_now(s->loop) < u->until) {
			uv_timer_start(&u->timer, on_tick, TICK_MS, 0);
			return;
		}
		snprintf(why, sizeof why, "still busy after %d s: %lu connections, "
		    "of which %u can be carried", WAIT_MS / 1000, conn_count(), alive);
		upgrade_end(s, why);
		return;
	}
	if (!u->blocked) {
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, &u->mask);
		u->blocked = 1;
		uv_idle_start(&u->idle, on_last_look);
		return;
	}
	exec_new(s, u->answer ? control_answer_fd(u->answer) : -1, why, sizeof why);
	unblock(u);
	upgrade_end(s, why);
}

static void on_tick(uv_timer_t *t)
{
	try_exec(container_of(t, struct server, upgrade.timer));
}

static void on_last_look(uv_idle_t *h)
{
	struct server *s = container_of(h, struct server, upgrade.idle);
	unsigned alive;

	uv_idle_stop(h);
	/* What the last round brought may have to finish first. */
	if (!server_draining(s) && !carriable(s, &alive)) {
		unblock(&s->upgrade);
		try_exec(s);
		return;
	}
	try_exec(s);
}

void server_upgrade(struct server *s, struct control_answer *a)
{
	/* What `-t` prints: a line for each route. */
	static char out[1 << 18];
	struct server_upgrade *u = &s->upgrade;
	char why[1024];
	struct queue *q, *n;

	if (s->role)
		return;
	why[0] = '\0';
	if (u->on)
		snprintf(why, sizeof why, "an upgrade is under way");
	else if (server_draining(s))
		snprintf(why, sizeof why, "the gateway is stopping");
	else if (!s->exe)
		snprintf(why, sizeof why, "the path of the gateway's binary is unknown");
	else
		check_binary(s->exe, s->config->path, out, sizeof out, why, sizeof why);
	queue_foreach(q, n, &s->children) {
		struct child *c = queue_data(q, struct child, q);

		if (!why[0] && c->alive)
			check_route(out, c->conn, why, sizeof why);
	}
	if (!why[0] && s->pool) {
		struct route_check rc = { out, why, sizeof why };
		pool_each(s->pool, visit_check, &rc);
	}
	if (why[0]) {
		upgrade_log_error(why);
		if (a)
			control_error(a, "%s", why);
		return;
	}
	u->on = 1;
	u->answer = a;
	if (a)
		control_answer_later(a, WAIT_MS + 5000);
	u->until = uv_now(s->loop) + WAIT_MS;
	server_update_accepting(s);
	try_exec(s);
}
