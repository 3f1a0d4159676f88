#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "ipc.h"
#include "errlog.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#define BUCKETS 1024
#define RESTART_MS 1000         /* a worker that lived less waits this long */
#define RETRY_MS 1000           /* and a connection no worker had room for */

/* A connection handed to a worker, as the main process counts it. */
struct remote {
	struct slot slot;
	struct pool *pool;
	const struct route *route;
	struct ipc_msg msg;             /* as sent, for a resend */
	char *head;                     /* msg.datalen bytes: an HTTP head */
	int fd;                         /* ours, until a worker has it */
	unsigned worker;
	pid_t pid;                      /* once the worker has spawned it */
	int orphan;                     /* its worker died: ours to watch */
	int waiting;                    /* sent back: no worker had room */
	int errfd;                      /* its stderr = log pipe, or -1 */
	struct errpipe *errpipe;        /* reading it: its worker died */
	uint64_t started;
	uv_timer_t timer;               /* an orphan's timeout */
	int timer_open, killing;
	const char *end_reason;
	struct remote *prev, *next;     /* every remote */
	struct remote *hnext;           /* by connection id */
};

/* One worker process; a restarted worker is a new struct, since the old
 * one's handle may still be closing. */
struct worker {
	pid_t pid;
	uint64_t started;               /* ms, loop time */
	int sock;
	unsigned inflight;              /* handed over, not yet spawned */
	uv_poll_t poll;
	struct pool *pool;
};

struct pool {
	struct server *s;
	struct worker **w;              /* NULL: not running */
	unsigned n, next;
	struct remote *remotes;
	struct remote *bucket[BUCKETS];
	uv_signal_t sigchld;
	uv_timer_t restart;             /* brings back workers that died young */
	uv_timer_t retry;               /* sends the waiting connections again */
	uint64_t last_wait_log;         /* ms: the waiting warning, rate-limited */
	int stopping;
};

static void on_worker_readable(uv_poll_t *h, int status, int events);

/* ---- the stderr pipes of children taken over ---- */

/* A worker sends along the read end of each child's stderr = log pipe;
 * we hold it, unread, while the worker lives. If it dies, we read it
 * from then on: the child's lines still reach the log, and its writes
 * do not fail (SIGPIPE) for want of a reader. */
struct errpipe {
	struct errlog log;
	struct remote *remote;          /* NULL once the child is gone */
	struct config *config;          /* held: the route points into it */
	struct conn_info ci;
};

static void on_errpipe_closed(struct errlog *l)
{
	struct errpipe *e = container_of(l, struct errpipe, log);

	if (e->remote)
		e->remote->errpipe = NULL;
	config_release(e->config);
	free(e);
}

/* Starts reading the pipe of a child whose worker died. */
static void errpipe_adopt(struct pool *p, struct remote *r)
{
	struct errpipe *e = calloc(1, sizeof *e);
	int fd = r->errfd;

	r->errfd = -1;
	if (!e) {
		close(fd);
		return;
	}
	e->remote = r;
	e->config = r->slot.config;
	config_hold(e->config);
	e->ci = r->msg.ci;
	r->errpipe = e;
	if (errlog_open(&e->log, p->s->loop, fd, on_errpipe_closed) < 0) {
		close(fd);
		errlog_close(&e->log);
		return;
	}
	errlog_start(&e->log, r->route, &e->ci, r->pid);
}

/* The child is gone: what is already in its pipe comes before its exit
 * event, then the pipe closes. */
static void errpipe_end(struct remote *r)
{
	struct errpipe *e = r->errpipe;

	if (r->errfd >= 0)
		close(r->errfd);
	r->errfd = -1;
	if (!e)
		return;
	e->remote = NULL;
	r->errpipe = NULL;
	errlog_drain(&e->log);
	errlog_close(&e->log);
}

/* ---- remotes ---- */

static struct remote *find(struct pool *p, uint64_t conn)
{
	struct remote *r = p->bucket[conn % BUCKETS];

	while (r && r->msg.conn != conn)
		r = r->hnext;
	return r;
}

static void link_remote(struct pool *p, struct remote *r)
{
	struct remote **b = &p->bucket[r->msg.conn % BUCKETS];

	r->hnext = *b;
	*b = r;
	r->next = p->remotes;
	if (p->remotes)
		p->remotes->prev = r;
	p->remotes = r;
}

static void unlink_remote(struct pool *p, struct remote *r)
{
	struct remote **b = &p->bucket[r->msg.conn % BUCKETS];

	while (*b != r)
		b = &(*b)->hnext;
	*b = r->hnext;
	if (r->prev)
		r->prev->next = r->next;
	else
		p->remotes = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Its child is gone: out of the counts and freed. */
static void remote_free(struct pool *p, struct remote *r)
{
	char *head = r->head; /* r itself may outlive this call */

	unlink_remote(p, r);
	errpipe_end(r);
	if (r->fd >= 0)
		close(r->fd);
	server_slot_free(p->s, &r->slot);
	if (r->timer_open) {
		r->timer.data = r;
		uv_close((uv_handle_t *)&r->timer, on_timer_closed);
	} else {
		free(r);
	}
	free(head);
}

/* ---- workers ---- */

static int send_config(struct pool *p, struct worker *w)
{
	struct config *c = p->s->config;
	struct ipc_msg m = { .type = IPC_CONFIG, .generation = p->s->generation };
	int fd = memfd_create("gateway.ini", MFD_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	if (write(fd, c->text, c->textlen) != (ssize_t)c->textlen) {
		err = errno ? -errno : -EIO;
		close(fd);
		return err;
	}
	err = ipc_send(w->sock, &m, NULL, fd);
	close(fd);
	return err;
}

static void on_worker_closed(uv_handle_t *h)
{
	free(h->data);
}

static int worker_spawn(struct pool *p, unsigned i)
{
	struct worker *w = calloc(1, sizeof *w);
	sigset_t all, old;
	int sv[2], err;
	pid_t pid;
	unsigned long long soft, hard;
	char ssoft[24], shard[24];

	spawn_base_nofile(&soft, &hard);
	snprintf(ssoft, sizeof ssoft, "%llu", soft);
	snprintf(shard, sizeof shard, "%llu", hard);
	if (!w)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(w);
		return -errno;
	}
	/* No handler of ours may run between fork and exec; the worker
	 * unblocks its signals itself. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		if (sv[1] == WORKER_FD)
			fcntl(WORKER_FD, F_SETFD, 0);
		else
			dup2(sv[1], WORKER_FD);
		execl("/proc/self/exe", "gatewayd", WORKER_ARG,
		    p->s->config->path, ssoft, shard, (char *)NULL);
		_exit(127);
	}
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		free(w);
		return -err;
	}
	w->pid = pid;
	w->started = uv_now(p->s->loop);
	w->sock = sv[0];
	w->pool = p;
	p->w[i] = w;
	uv_poll_init(p->s->loop, &w->poll, w->sock);
	w->poll.data = w;
	uv_poll_start(&w->poll, UV_READABLE, on_worker_readable);
	{
		struct logline l;
		log_begin(&l, "worker");
		log_uint(&l, "worker", i + 1);
		log_int(&l, "pid", pid);
		log_end(&l);
	}
	return send_config(p, w);
}

/* The live worker with the fewest connections not yet spawned (a worker
 * is busy for the length of a spawn), round robin among equals. */
static int pick(struct pool *p, const char *tried)
{
	int best = -1;

	for (unsigned k = 0; k < p->n; k++) {
		unsigned i = (p->next + k) % p->n;
		if (p->w[i] && !tried[i] &&
		    (best < 0 || p->w[i]->inflight < p->w[best]->inflight))
			best = (int)i;
	}
	return best;
}

/* A full queue passes the turn on to the next worker. */
static int send_remote(struct pool *p, struct remote *r)
{
	char tried[WORKERS_MAX] = { 0 };
	int err = -ESRCH, i;

	while ((i = pick(p, tried)) >= 0) {
		tried[i] = 1;
		err = ipc_send(p->w[i]->sock, &r->msg, r->head, r->fd);
		if (err == 0) {
			r->worker = (unsigned)i;
			p->w[i]->inflight++;
			p->next = (unsigned)i + 1;
			return 0;
		}
	}
	return err;
}

/* The worker it went to no longer has it waiting to be spawned. */
static void off_worker(struct pool *p, struct remote *r)
{
	if (r->worker < p->n && p->w[r->worker] && p->w[r->worker]->inflight)
		p->w[r->worker]->inflight--;
}

/* The worker has the connection's socket now, or has given it up: no
 * resend will need the socket or the head. */
static void landed(struct pool *p, struct remote *r)
{
	if (r->fd < 0)
		return;
	close(r->fd);
	r->fd = -1;
	free(r->head);
	r->head = NULL;
	off_worker(p, r);
}

static void on_retry_timer(uv_timer_t *t);

/* A connection no worker can take now: none is running, every queue is
 * full, or the one it went to had no descriptor free for it. Our copy of
 * the socket stays open, and it goes out again a second later to the
 * worker with the fewest waiting then. Only a stop closes it. */
static int wait_for_worker(struct pool *p, struct remote *r, const char *why)
{
	uint64_t now = uv_now(p->s->loop);

	if (p->stopping) {
		struct logline l;
		log_begin(&l, "spawn_error");
		child_log_conn(&l, r->route, &r->msg.ci);
		child_log_peer(&l, &r->msg.ci);
		log_str(&l, "error", why);
		log_end(&l);
		remote_free(p, r);
		return -1;
	}
	r->waiting = 1;
	if (p->last_wait_log == 0 || now - p->last_wait_log >= RETRY_MS) {
		p->last_wait_log = now;
		log_warnx("%s; trying again in 1 s", why);
	}
	if (!uv_is_active((uv_handle_t *)&p->retry))
		uv_timer_start(&p->retry, on_retry_timer, RETRY_MS, 0);
	return 0;
}

/* Sends the connection to a worker, or keeps it waiting for one.
 * Returns -1 when it was closed instead (during a stop). */
static int dispatch(struct pool *p, struct remote *r)
{
	int err = send_remote(p, r);

	if (err == 0)
		return 0;
	return wait_for_worker(p, r, err == -EAGAIN ? "every worker's queue is full" :
	    err == -ESRCH ? "no worker is running" : strerror(-err));
}

/* The index of the route's listen address that is the listener's (an
 * HTTP listener is shared, and its first route may be another). */
static uint32_t listen_index(const struct listener *l, const struct route *r)
{
	uint32_t i = 0;

	while (i < r->nlisten && !addr_same(&r->listen[i], l->addr))
		i++;
	return i;
}

void pool_handover(struct pool *p, const struct listener *l,
    const struct route *route, int fd, const struct conn_info *ci,
    const struct source_key *src, const char *head, size_t headlen)
{
	struct config *c = p->s->config;
	struct remote *r = calloc(1, sizeof *r);

	if (r && headlen && !(r->head = malloc(headlen))) {
		free(r);
		r = NULL;
	}
	if (!r) {
		close(fd);
		child_log_spawn_error(route, ci, "handover", UV_ENOMEM);
		return;
	}
	r->pool = p;
	r->route = route;
	r->fd = fd;
	r->errfd = -1;
	r->started = uv_now(p->s->loop);
	r->msg.type = IPC_CONN;
	r->msg.route = (uint32_t)(route - c->routes);
	r->msg.listen = listen_index(l, route);
	r->msg.generation = p->s->generation;
	r->msg.conn = ci->id;
	r->msg.ci = *ci;
	if (headlen)
		memcpy(r->head, head, headlen);
	r->msg.datalen = (uint32_t)headlen;
	server_slot_take(p->s, &r->slot, route, src);
	link_remote(p, r);
	dispatch(p, r);
}

/* ---- what the workers report ---- */

static void on_retry_timer(uv_timer_t *t)
{
	struct pool *p = t->data;

	for (struct remote *r = p->remotes, *next; r; r = next) {
		next = r->next;
		if (r->waiting) {
			r->waiting = 0;
			dispatch(p, r);
		}
	}
}

/* The worker had no descriptor free for the socket. */
static void sent_back(struct pool *p, struct remote *r)
{
	char why[96];

	off_worker(p, r);
	snprintf(why, sizeof why, "worker %u has no descriptor free for a connection",
	    r->worker + 1);
	if (wait_for_worker(p, r, why) < 0)
		server_changed(p->s);
}

static void on_report(struct pool *p, const struct ipc_msg *m, int fd)
{
	struct remote *r = find(p, m->conn);

	if (!r || m->type != IPC_SPAWNED || r->errfd >= 0) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (!r)
		return;
	if (m->type == IPC_SPAWNED) {
		r->pid = m->pid;
		r->errfd = fd >= 0 ? fd : -1;
		landed(p, r);
	} else if (m->type == IPC_GONE) {
		landed(p, r);
		remote_free(p, r);
		server_changed(p->s);
	} else if (m->type == IPC_BACK) {
		sent_back(p, r);
	}
}

static void read_reports(struct pool *p, struct worker *w)
{
	struct ipc_msg m;
	int fd, n;

	while ((n = ipc_recv(w->sock, &m, NULL, &fd)) > 0)
		on_report(p, &m, fd);
}

static void on_worker_readable(uv_poll_t *h, int status, int events)
{
	struct worker *w = h->data;

	(void)status;
	(void)events;
	read_reports(w->pool, w);
	/* EOF: the worker is ending; its exit comes through SIGCHLD. */
}

/* ---- orphans: children of a worker that died ---- */

static void on_orphan_timer(uv_timer_t *t)
{
	struct remote *r = t->data;

	if (!r->killing) {
		r->killing = 1;
		r->end_reason = "timeout";
		kill(-r->pid, SIGTERM);
		uv_timer_start(&r->timer, on_orphan_timer,
		    (uint64_t)(r->msg.kill_grace * 1000 + 0.5), 0);
	} else {
		kill(-r->pid, SIGKILL);
	}
}

static void adopt(struct pool *p, struct remote *r)
{
	uint64_t now = uv_now(p->s->loop), limit;

	r->orphan = 1;
	if (r->errfd >= 0)
		errpipe_adopt(p, r);
	if (r->route->timeout <= 0)
		return;
	limit = (uint64_t)(r->route->timeout * 1000 + 0.5);
	uv_timer_init(p->s->loop, &r->timer);
	r->timer.data = r;
	r->timer_open = 1;
	uv_timer_start(&r->timer, on_orphan_timer,
	    now - r->started >= limit ? 0 : limit - (now - r->started), 0);
}

static void orphan_exited(struct pool *p, struct remote *r, int st)
{
	errpipe_end(r); /* its last lines first */
	child_log_exit(r->route, &r->msg.ci, r->pid,
	    WIFSIGNALED(st) ? 0 : WEXITSTATUS(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0,
	    (double)(uv_now(p->s->loop) - r->started) / 1e3, r->end_reason);
	remote_free(p, r);
}

void pool_signal_orphans(struct pool *p, int sig, const char *reason)
{
	for (struct remote *r = p->remotes; r; r = r->next)
		if (r->orphan && r->pid > 0) {
			if (!r->end_reason)
				r->end_reason = reason;
			kill(-r->pid, sig);
		}
}

static void restart(struct pool *p, unsigned i)
{
	int err = worker_spawn(p, i);

	if (err < 0)
		log_warnx("worker %u: cannot restart: %s", i + 1, strerror(-err));
}

static void on_restart_timer(uv_timer_t *t)
{
	struct pool *p = t->data;

	for (unsigned i = 0; i < p->n && !p->stopping; i++)
		if (!p->w[i])
			restart(p, i);
}

static void worker_died(struct pool *p, unsigned i, int st)
{
	struct worker *w = p->w[i];
	/* One that cannot live (say, its config no longer loads) must not
	 * be forked again and again: like s6-supervise, wait a second. */
	int young = uv_now(p->s->loop) - w->started < RESTART_MS;

	/* What it said before it died still counts. */
	read_reports(p, w);
	p->w[i] = NULL;
	uv_close((uv_handle_t *)&w->poll, on_worker_closed);
	close(w->sock);
	if (!p->stopping || WIFSIGNALED(st) || WEXITSTATUS(st) != 0)
		log_warnx("worker %u (pid %d) ended with %s %d%s", i + 1, (int)w->pid,
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		    p->stopping ? "" : young ? "; restarting it in 1 s" : "; restarting it");
	if (!p->stopping && !young)
		restart(p, i);
	else if (!p->stopping && !uv_is_active((uv_handle_t *)&p->restart))
		uv_timer_start(&p->restart, on_restart_timer, RESTART_MS, 0);
	for (struct remote *r = p->remotes, *next; r; r = next) {
		next = r->next;
		if (r->worker != i || r->orphan || r->waiting)
			continue;
		if (r->pid > 0)
			adopt(p, r);
		else
			dispatch(p, r);
	}
	server_changed(p->s);
}

/* The main process reaps everything it is the parent of: its workers,
 * the orphans it took over, and whatever they had started. */
static void on_sigchld(uv_signal_t *h, int sig)
{
	struct pool *p = h->data;
	pid_t pid;
	int st;

	(void)sig;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		unsigned i;
		for (i = 0; i < p->n; i++)
			if (p->w[i] && p->w[i]->pid == pid)
				break;
		if (i < p->n) {
			worker_died(p, i, st);
			continue;
		}
		for (struct remote *r = p->remotes; r; r = r->next)
			if (r->orphan && r->pid == pid) {
				orphan_exited(p, r, st);
				server_changed(p->s);
				break;
			}
	}
}

/* ---- the pool ---- */

int pool_start(struct server *s, struct config *c, struct pool **out,
    char *errbuf, size_t errlen)
{
	struct pool *p = calloc(1, sizeof *p);
	int err;

	*out = NULL;
	if (!p || !(p->w = calloc(c->workers, sizeof *p->w))) {
		free(p);
		snprintf(errbuf, errlen, "workers: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*out = p;
	p->s = s;
	p->n = c->workers;
	/* Orphans of a dead worker become ours, not init's. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER");
	uv_signal_init(s->loop, &p->sigchld);
	p->sigchld.data = p;
	uv_signal_start(&p->sigchld, on_sigchld, SIGCHLD);
	uv_timer_init(s->loop, &p->restart);
	p->restart.data = p;
	uv_timer_init(s->loop, &p->retry);
	p->retry.data = p;
	for (unsigned i = 0; i < p->n; i++)
		if ((err = worker_spawn(p, i)) < 0) {
			snprintf(errbuf, errlen, "worker %u: %s", i + 1, strerror(-err));
			/* Those started end on the stop, or on EOF. */
			pool_stop(p);
			return err;
		}
	return 0;
}

void pool_reload(struct pool *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->w[i])
			send_config(p, p->w[i]);
}

void pool_stop(struct pool *p)
{
	struct ipc_msg m = { .type = IPC_STOP };

	p->stopping = 1;
	uv_timer_stop(&p->restart);
	uv_timer_stop(&p->retry);
	/* Like the clients a single process keeps, those waiting for room
	 * in a worker are closed: no child will come for them now. */
	for (struct remote *r = p->remotes, *next; r; r = next) {
		next = r->next;
		if (r->waiting)
			remote_free(p, r);
	}
	for (unsigned i = 0; i < p->n; i++)
		if (p->w[i])
			ipc_send(p->w[i]->sock, &m, NULL, -1);
}

int pool_done(const struct pool *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->w[i])
			return 0;
	return 1;
}

void pool_close(struct pool *p)
{
	uv_close((uv_handle_t *)&p->sigchld, NULL);
	uv_close((uv_handle_t *)&p->restart, NULL);
	uv_close((uv_handle_t *)&p->retry, NULL);
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	free(p->w);
	free(p);
}
