/* The workers across an in-place upgrade. The old image hands over its
 * workers (pid, socketpair) and the connections it handed to them (pid,
 * start, stderr pipe copy) once every one has its child running. The new
 * image starts the workers its config asks for, takes the old ones over
 * behind them (they take no new connection), and replaces them one at a
 * time: a worker whose connections are all raw routes' running children
 * (no cgi response relayed, no request body fed, nothing being started)
 * is ended with SIGKILL, which any version of a worker obeys, and its
 * children are taken over as when a worker dies. */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "handover.h"
#include "log.h"
#include "pool_int.h"
#include "pool_worker.h"
#include "util.h"

#define RENEW_MS 50             /* looks again at the old workers */

int pool_serves(const struct pool *p)
{
	return p->target > 0;
}

/* ---- the old image ---- */

int pool_carriable(struct pool *p, unsigned *conns)
{
	struct queue *q, *n;

	*conns = 0;
	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);

		if (r->pid <= 0 || r->waiting || r->conn->fd >= 0)
			return 0;
		(*conns)++;
	}
	queue_foreach(q, n, &p->orphans.list) {
		if (!queue_data(q, struct child, q)->alive)
			return 0;
		(*conns)++;
	}
	return 1;
}

size_t pool_fd_count(struct pool *p)
{
	struct queue *q, *n;
	size_t count = p->n;

	queue_foreach(q, n, &p->remotes)
		count++;
	queue_foreach(q, n, &p->orphans.list)
		count++;
	return count;
}

static void put(struct handover_buf *b, const struct conn *conn, pid_t pid,
    uint64_t started, int errfd, int worker, int *fds, size_t *nfds)
{
	struct handed_child h = { .pid = pid, .started = started,
	    .errfd = errfd, .worker = worker, .ci = conn->ci,
	    .http = conn->route->protocol != PROTO_RAW || conn->route->pty != PTY_NONE };

	snprintf(h.route, sizeof h.route, "%s", conn->route->name);
	handover_put_child(b, &h);
	if (errfd >= 0)
		fds[(*nfds)++] = errfd;
}

void pool_hand_over(struct pool *p, struct handover_buf *b, int *fds, size_t *nfds)
{
	struct queue *q, *n;

	for (unsigned i = 0; i < p->n; i++) {
		struct handed_worker w = { .index = i };

		if (!p->w[i])
			continue;
		w.pid = p->w[i]->pid;
		w.fd = p->w[i]->sock;
		handover_put_worker(b, &w);
		fds[(*nfds)++] = w.fd;
	}
	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);
		/* A worker gone meanwhile: the new image takes the child over. */
		put(b, r->conn, r->pid, r->started, r->errfd,
		    r->worker < p->n && p->w[r->worker] ? (int)r->worker : -1, fds, nfds);
	}
	queue_foreach(q, n, &p->orphans.list) {
		struct child *c = queue_data(q, struct child, q);
		put(b, c->conn, c->pid, c->started, child_stderr_fd(c), -1, fds, nfds);
	}
}

/* ---- the new image ---- */

unsigned pool_handed_slots(const struct handover *h)
{
	unsigned n = 0;

	for (size_t i = 0; h && i < h->nworkers; i++)
		if (h->workers[i].index + 1 > n)
			n = h->workers[i].index + 1;
	return n;
}

/* A replaced worker's connections that are all running children of raw
 * routes: nothing of theirs lives in the worker but the watch. */
static int idle(struct pool *p, unsigned i)
{
	struct queue *q, *n;

	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);

		if (r->worker == i && (r->pid <= 0 || r->conn->fd >= 0 || r->http))
			return 0;
	}
	return 1;
}

/* One at a time: the first old worker left, once it is idle. */
static void on_renew(uv_timer_t *t)
{
	struct pool *p = t->data;

	for (unsigned i = p->target; i < p->n; i++) {
		struct worker *w = p->w[i];

		if (!w)
			continue;
		if (w->killed || !idle(p, i))
			return;
		w->killed = 1;
		kill(w->pid, SIGKILL);
		return;
	}
	uv_timer_stop(t);
}

void pool_retired(struct pool *p, unsigned i, pid_t pid)
{
	struct logline l;

	log_begin(&l, "worker_replaced");
	log_uint(&l, "worker", i - p->target + 1);
	log_int(&l, "pid", pid);
	log_end(&l);
	on_renew(&p->renew);
}

static struct remote *remote_of(struct pool *p, struct config *cfg,
    struct handed_child *h, unsigned worker)
{
	const struct route *rt = NULL;
	struct remote *r;
	struct conn *conn;

	for (size_t i = 0; i < cfg->nroutes && !rt; i++)
		if (strcmp(cfg->routes[i].name, h->route) == 0)
			rt = &cfg->routes[i];
	if (!rt || !(r = calloc(1, sizeof *r)))
		return NULL;
	if (!(conn = conn_new(-1, &h->ci, cfg, rt))) {
		free(r);
		return NULL;
	}
	conn->born = h->started;
	admit_source_of(&conn->ci, &conn->src);
	r->pool = p;
	r->conn = conn;
	r->errfd = h->errfd;
	r->started = h->started;
	r->pid = h->pid;
	r->worker = worker;
	r->http = h->http;
	r->msg.type = IPC_CONN;
	r->msg.conn = h->ci.id;
	r->msg.ci = h->ci;
	p->owner->slot_take(p->owner, &conn->slot, rt, &conn->src);
	pool_link_remote(p, r);
	return r;
}

int pool_take_over(struct pool *p, struct handover *h)
{
	struct config *cfg = p->owner->config(p->owner, NULL);

	for (size_t i = 0; i < h->nworkers; i++) {
		struct handed_worker *hw = &h->workers[i];
		unsigned slot = p->target + hw->index;
		struct worker *w;

		if (hw->fd < 0 || p->w[slot])
			continue;
		if (!(w = worker_take(p->owner->loop, hw->pid, hw->fd, hw->index + 1)))
			return -ENOMEM;
		hw->taken = 1;
		w->retiring = 1;
		p->w[slot] = w;
	}
	for (size_t i = 0; i < h->nchildren; i++) {
		struct handed_child *c = &h->children[i];
		unsigned slot = p->target + (unsigned)c->worker;

		if (c->worker < 0 || slot >= p->n || !p->w[slot])
			continue;
		if (!remote_of(p, cfg, c, slot)) {
			log_warnx("upgrade: child %d of [%s] of worker %d: not taken over",
			    (int)c->pid, c->route, c->worker + 1);
			continue;
		}
		c->taken = 1;
	}
	uv_timer_start(&p->renew, on_renew, RENEW_MS, RENEW_MS);
	return 0;
}
