#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "pool_int.h"
#include "log.h"
#include "orphans.h"
#include "pool_worker.h"
#include "util.h"

#define RESTART_MS 1000         /* a worker that lived less waits this long */
#define RETRY_MS 1000           /* and a connection no worker had room for */

static void on_worker_readable(uv_poll_t *h, int status, int events);


/* ---- remotes ---- */

static void unlink_remote(struct pool *p, struct remote *r)
{
	struct remote **b = &p->bucket[r->msg.conn % BUCKETS];

	while (*b != r)
		b = &(*b)->hnext;
	*b = r->hnext;
	queue_remove(&r->q);
}

void pool_remote_free(struct pool *p, struct remote *r, int keep_counted)
{
	unlink_remote(p, r);
	if (r->errfd >= 0)
		close(r->errfd);
	if (!keep_counted)
		p->owner->slot_free(p->owner, &r->conn->slot);
	conn_release(r->conn);
	free(r->head);
	free(r);
}

/* ---- workers ---- */

static int send_config(struct pool *p, struct worker *w)
{
	uint32_t generation;
	struct config *c = p->owner->config(p->owner, &generation);

	return worker_send_config(w, c, generation);
}

static int worker_spawn(struct pool *p, unsigned i)
{
	int err;
	struct worker *w = worker_start(p->owner->loop,
	    p->owner->config(p->owner, NULL)->path, i + 1, &err);

	if (!w)
		return err;
	p->w[i] = w;
	w->poll.data = p;
	uv_poll_start(&w->poll, UV_READABLE, on_worker_readable);
	return send_config(p, w);
}

/* The live worker with the fewest connections not yet spawned (a worker
 * is busy for the length of a spawn), round robin among equals. */
static int pick(struct pool *p, const char *tried)
{
	int best = -1;

	for (unsigned k = 0; k < p->n; k++) {
		unsigned i = (p->next + k) % p->n;
		if (p->w[i] && !tried[i] && !p->w[i]->retiring &&
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
		err = ipc_send(p->w[i]->sock, &r->msg, r->head, r->conn->fd);
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
	if (r->conn->fd < 0)
		return;
	close(conn_take_fd(r->conn));
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
	uint64_t now = uv_now(p->owner->loop);

	if (p->stopping) {
		struct logline l;
		log_begin(&l, "spawn_error");
		conn_log_fields(&l, r->conn);
		conn_log_peer(&l, r->conn);
		log_str(&l, "error", why);
		log_end(&l);
		pool_remote_free(p, r, 0);
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

void pool_handover(struct pool *p, const struct listener *l, struct conn *c,
    const char *head, size_t headlen)
{
	uint32_t generation;
	struct config *cfg = p->owner->config(p->owner, &generation);
	struct remote *r = calloc(1, sizeof *r);
	size_t tlvlen = c->tlvs ? sizeof *c->tlvs : 0;

	if (r && headlen + tlvlen && !(r->head = malloc(headlen + tlvlen))) {
		free(r);
		r = NULL;
	}
	if (!r) {
		close(conn_take_fd(c));
		child_log_spawn_error(c, 0, "handover", UV_ENOMEM);
		conn_release(c);
		return;
	}
	r->pool = p;
	r->conn = c;
	r->errfd = -1;
	r->started = uv_hrtime();
	r->msg.type = IPC_CONN;
	r->msg.route = (uint32_t)(c->route - cfg->routes);
	r->msg.listen = listen_index(l, c->route);
	r->msg.generation = generation;
	r->msg.conn = c->ci.id;
	r->msg.ci = c->ci;
	if (headlen)
		memcpy(r->head, head, headlen);
	if (tlvlen)
		memcpy(r->head + headlen, c->tlvs, tlvlen);
	r->msg.datalen = (uint32_t)(headlen + tlvlen);
	r->msg.tlvlen = (uint32_t)tlvlen;
	p->owner->slot_take(p->owner, &c->slot, c->route, &c->src);
	pool_link_remote(p, r);
	dispatch(p, r);
}

/* ---- what the workers report ---- */

static void on_retry_timer(uv_timer_t *t)
{
	struct pool *p = t->data;
	struct queue *q, *n;

	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);
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
		p->owner->changed(p->owner);
}

static void on_report(struct pool *p, const struct ipc_msg *m,
    const char *data, int fd)
{
	struct remote *r;

	if (m->type == IPC_STATS) {
		if (fd >= 0)
			close(fd);
		p->owner->stats(p->owner, data, m->datalen);
		return;
	}
	r = pool_find(p, m->conn);

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
		pool_remote_free(p, r, 0);
		p->owner->changed(p->owner);
	} else if (m->type == IPC_BACK) {
		sent_back(p, r);
	}
}

/* 0 at the end of the worker's socket, else 1. */
static int read_reports(struct pool *p, struct worker *w)
{
	static char data[IPC_DATA_MAX];
	struct ipc_msg m;
	int fd, n;

	while ((n = ipc_recv(w->sock, &m, data, &fd)) > 0)
		on_report(p, &m, data, fd);
	return n != 0;
}

static void on_worker_readable(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	/* EOF: the worker is ending; its exit comes through SIGCHLD. */
	if (!read_reports(h->data, container_of(h, struct worker, poll)))
		uv_poll_stop(h);
}

/* ---- orphans: children of a worker that died ---- */

static void reap(struct pool *p);

static struct pool *of_orphans(struct orphans *o)
{
	return container_of(o, struct pool, orphans);
}

static void orphan_slot_free(struct orphans *o, struct slot *sl)
{
	struct pool *p = of_orphans(o);

	p->owner->slot_free(p->owner, sl);
}

static void orphan_exited(struct orphans *o)
{
	struct pool *p = of_orphans(o);

	p->owner->changed(p->owner);
}

static void orphan_freed(struct orphans *o)
{
	reap(of_orphans(o));
}

static const struct orphans_hooks orphans_hooks = {
	.slot_free = orphan_slot_free,
	.exited = orphan_exited,
	.freed = orphan_freed,
};

/* Its worker died: the child is ours now (we are a child subreaper), and
 * the remote gives way to it. */
static void adopt(struct pool *p, struct remote *r)
{
	int err = orphans_adopt(&p->orphans, r->pid, r->conn, r->started, r->errfd);

	r->errfd = -1;
	/* Not watched: its end is reaped all the same, unlogged. */
	if (err < 0)
		log_warnx("conn %llu: cannot take over pid %d: %s",
		    (unsigned long long)r->msg.conn, (int)r->pid, strerror(-err));
	pool_remote_free(p, r, 1);
}

void pool_end_orphans(struct pool *p, double grace)
{
	orphans_end(&p->orphans, grace);
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

	for (unsigned i = 0; i < p->target && !p->stopping; i++)
		if (!p->w[i])
			restart(p, i);
}

static void worker_died(struct pool *p, unsigned i, int st)
{
	struct worker *w = p->w[i];
	struct queue *q, *n;
	int retired = w->retiring;
	pid_t pid = w->pid;
	/* One that cannot live (say, its config no longer loads) must not
	 * be forked again and again: like s6-supervise, wait a second. */
	int young = uv_now(p->owner->loop) - w->started < RESTART_MS;

	/* What it said before it died still counts. */
	read_reports(p, w);
	p->w[i] = NULL;
	worker_close(w);
	/* One replaced after an upgrade was ended on purpose. */
	if (!retired && (!p->stopping || WIFSIGNALED(st) || WEXITSTATUS(st) != 0))
		log_warnx("worker %u (pid %d) ended with %s %d%s", i + 1, (int)w->pid,
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		    p->stopping ? "" : young ? "; restarting it in 1 s" : "; restarting it");
	if (retired || i >= p->target)
		; /* not brought back */
	else if (!p->stopping && !young)
		restart(p, i);
	else if (!p->stopping && !uv_is_active((uv_handle_t *)&p->restart))
		uv_timer_start(&p->restart, on_restart_timer, RESTART_MS, 0);
	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);
		if (r->worker != i || r->waiting)
			continue;
		if (r->pid > 0)
			adopt(p, r);
		else
			dispatch(p, r);
	}
	if (retired)
		pool_retired(p, i, pid);
	p->owner->changed(p->owner);
}

static void reap_workers(struct pool *p)
{
	int st;

	for (unsigned i = 0; i < p->n; i++)
		if (p->w[i] && waitpid(p->w[i]->pid, &st, WNOHANG) == p->w[i]->pid)
			worker_died(p, i, st);
}

static int is_worker(struct pool *p, pid_t pid)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->w[i] && p->w[i]->pid == pid)
			return 1;
	return 0;
}

/* A child watched elsewhere: taken over, or a dead worker's not yet
 * taken over (that worker's end comes next). */
static int watched(struct pool *p, pid_t pid)
{
	struct queue *q, *n;

	if (orphans_has(&p->orphans, pid) || p->owner->watches(p->owner, pid))
		return 1;
	queue_foreach(q, n, &p->remotes)
		if (queue_data(q, struct remote, q)->pid == pid)
			return 1;
	return 0;
}

/* The main process reaps everything it is the parent of: its workers,
 * and whatever else comes to it as the subreaper (what the workers'
 * children started). Not a child it took over: child.c reaps that
 * through its pidfd, and may keep it unreaped a while so that its group
 * id is not reused. waitid shows the first zombie only, so one of those
 * ends the pass; the next starts once it is reaped (orphan_freed). */
static void reap(struct pool *p)
{
	siginfo_t si;

	if (p->reaping)
		return; /* the pass under way goes on */
	p->reaping = 1;
	reap_workers(p);
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
		    si.si_pid == 0 || watched(p, si.si_pid))
			break;
		if (is_worker(p, si.si_pid))
			reap_workers(p);
		else if (waitid(P_PID, (id_t)si.si_pid, &si, WEXITED | WNOHANG) < 0)
			break;
	}
	p->reaping = 0;
}

static void on_sigchld(uv_signal_t *h, int sig)
{
	(void)sig;
	reap(h->data);
}

/* ---- the pool ---- */

int pool_start(struct pool_owner *owner, struct config *c, struct handover *h,
    struct pool **out, char *errbuf, size_t errlen)
{
	struct pool *p = calloc(1, sizeof *p);
	unsigned target = c->workers > 1 ? c->workers : 0;
	unsigned n = target + pool_handed_slots(h);
	int err;

	*out = NULL;
	if (!p || !(p->w = calloc(n, sizeof *p->w))) {
		free(p);
		snprintf(errbuf, errlen, "workers: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*out = p;
	p->owner = owner;
	p->n = n;
	p->target = target;
	queue_init(&p->remotes);
	orphans_init(&p->orphans, owner->loop, &orphans_hooks);
	/* Orphans of a dead worker become ours, not init's. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER");
	uv_signal_init(owner->loop, &p->sigchld);
	p->sigchld.data = p;
	uv_signal_start(&p->sigchld, on_sigchld, SIGCHLD);
	uv_timer_init(owner->loop, &p->restart);
	p->restart.data = p;
	uv_timer_init(owner->loop, &p->retry);
	p->retry.data = p;
	uv_timer_init(owner->loop, &p->renew);
	p->renew.data = p;
	if (h && (err = pool_take_over(p, h)) < 0) {
		snprintf(errbuf, errlen, "workers handed over: %s", strerror(-err));
		return err;
	}
	/* The workers taken over are heard as the others. */
	for (unsigned i = p->target; i < p->n; i++)
		if (p->w[i]) {
			p->w[i]->poll.data = p;
			uv_poll_start(&p->w[i]->poll, UV_READABLE, on_worker_readable);
		}
	for (unsigned i = 0; i < p->target; i++)
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
		if (p->w[i] && !p->w[i]->old)
			send_config(p, p->w[i]);
}

void pool_stop(struct pool *p)
{
	struct ipc_msg m = { .type = IPC_STOP };
	struct queue *q, *n;

	p->stopping = 1;
	uv_timer_stop(&p->restart);
	uv_timer_stop(&p->retry);
	uv_timer_stop(&p->renew);
	/* Like the clients a single process keeps, those waiting for room
	 * in a worker are closed: no child will come for them now. */
	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);
		if (r->waiting) {
			conn_event(r->conn, "refuse", "shutdown");
			pool_remote_free(p, r, 0);
		}
	}
	for (unsigned i = 0; i < p->n; i++)
		if (p->w[i])
			ipc_send(p->w[i]->sock, &m, NULL, -1);
}

unsigned pool_workers(const struct pool *p, pid_t *pids, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->n && n < max; i++)
		if (p->w[i])
			pids[n++] = p->w[i]->pid;
	return n;
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
	uv_close((uv_handle_t *)&p->renew, NULL);
}

void pool_child_reaped(struct pool *p)
{
	reap(p);
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	free(p->w);
	free(p);
}
