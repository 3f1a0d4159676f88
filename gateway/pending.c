#include "pending.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admit.h"
#include "http.h"
#include "log.h"
#include "proxy.h"
#include "queue.h"
#include "refuse.h"
#include "util.h"

#define PROXY_MS 5000           /* the SPEC's bound for a PROXY header */
#define HEAD_MS 10000           /* and for an HTTP request head */

enum stage { READ_PROXY = PENDING_PROXY, READ_HEAD = PENDING_HEAD, WAIT_SLOT = PENDING_WAIT };

struct pending {
	uv_poll_t poll;
	uv_timer_t timer;
	struct pending_set *set;
	struct listener *l;
	struct conn *conn;              /* held until the handles are closed */
	enum stage stage;
	struct http_request *req;       /* READ_HEAD, WAIT_SLOT */
	struct source_key src;          /* counted in l->reading, if counted */
	int counted;
	size_t len, cap;
	char *buf;                      /* what was consumed so far */
	uint64_t left_ms;               /* taken up after an upgrade: its time */
	int closing;
	struct queue q;                 /* in set->list, oldest first */
};

int pending_needed(const struct listener *l)
{
	return l->route->proxy_protocol || l->route->protocol != PROTO_RAW;
}

/* ---- life ---- */

/* closing: 1 once ended, then one more for each of the two handles. */
static void on_closed(uv_handle_t *h)
{
	struct pending *p = h->data;

	if (++p->closing == 3) {
		conn_release(p->conn);
		free(p->buf);
		free(p->req);
		free(p);
	}
}

/* Ends the reading stage; the socket stays the connection's, or is
 * closed. */
static void pending_end(struct pending *p, int close_fd)
{
	queue_remove(&p->q);
	p->l->pending--;
	if (p->counted)
		source_remove(&p->l->reading, &p->src);
	p->counted = 0;
	if (close_fd && p->conn->fd >= 0)
		close(conn_take_fd(p->conn));
	p->closing = 1;
	uv_close((uv_handle_t *)&p->poll, on_closed);
	uv_close((uv_handle_t *)&p->timer, on_closed);
}

static void refuse_proxy(struct pending *p)
{
	conn_event(p->conn, "refuse", "proxy");
	pending_end(p, 1);
}

/* Ends the reading stage, the socket kept for the connection's next
 * stage, which may poll it (to linger after an answer). Our handle on it
 * is closed first: libuv polls a descriptor with one handle at a time
 * (uv_poll_init on one still polled is UV_EEXIST), and closing ours later
 * would take the descriptor out of epoll under the new one. p stays
 * readable until its close callbacks, after the caller is done with it. */
static void hand_on(struct pending *p)
{
	pending_end(p, 0);
}

static void http_fail(struct pending *p, int status)
{
	hand_on(p);
	answer_http(p->set->loop, p->conn, conn_take_fd(p->conn), status);
}

/* ---- who may hold a place while being read ---- */

/* A refusal before the child: in HTTP on HTTP routes (wait_ms: for
 * rate). Takes the socket. */
static void refuse(struct pending_set *set, struct conn *c, const char *reason,
    uint64_t wait_ms)
{
	if (c->route->protocol == PROTO_RAW)
		refuse_raw(set->loop, c, conn_take_fd(c), reason);
	else
		refuse_http(set->loop, c, conn_take_fd(c), reason, wait_ms);
}

/* The admission of a connection about to be read, by the address it
 * will be judged by (admit.h); admitted, it is counted toward its source
 * among those being read on its listener (*counted). Idle sockets from
 * one address must not make everyone else wait. */
static const char *admit_reading_conn(struct pending_set *set, struct listener *l,
    const struct conn_info *ci, struct source_key *k, int *counted)
{
	const char *reason;

	*counted = 0;
	admit_source_of(ci, k);
	reason = admit_reading(l->routes, l->nroutes, ci, source_count(&l->reading, k),
	    l->nroutes == 1 ? set->hooks->source_live(set, l->route, k) : 0);
	/* Without memory for the entry the source goes uncounted. */
	if (!reason)
		*counted = source_add(&l->reading, k) == 0;
	return reason;
}

/* ---- reading exactly what belongs to the header or head ---- */

/* Peeks at what waits, without consuming: into buf after what is held. */
static ssize_t peek(struct pending *p, size_t max)
{
	ssize_t n;

	if (p->cap < max) {
		char *b = realloc(p->buf, max);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = max;
	}
	do
		n = recv(p->conn->fd, p->buf + p->len, max - p->len, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Consumes n bytes that a peek has shown are there. */
static int consume(struct pending *p, size_t n)
{
	char junk[4096];

	while (n > 0) {
		ssize_t r = recv(p->conn->fd, junk, n < sizeof junk ? n : sizeof junk, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n -= (size_t)r;
	}
	return 0;
}

/* The header's addresses become the connection's: the client's for
 * TCPREMOTEIP, allow/deny and max_per_source; the proxy's is logged as
 * via=. Its TLVs are kept too. 0, or -ENOMEM. */
static int believe(struct pending *p, const struct proxy_header *h)
{
	struct conn_info *ci = &p->conn->ci;

	if (conn_set_tlvs(p->conn, &h->tlvs) < 0)
		return -ENOMEM;
	if (!h->proxied)
		return 0;
	if (ci->tcp)
		conn_remote_text(ci, ci->via, sizeof ci->via);
	else
		snprintf(ci->via, sizeof ci->via, "unix:%s", ci->ipc_path);
	ci->tcp = 1;
	ci->have_cred = 0;
	ci->peer = h->src;
	addr_host_port((const struct sockaddr *)&h->src, ci->remote_ip,
	    sizeof ci->remote_ip, &ci->remote_port);
	addr_host_port((const struct sockaddr *)&h->dst, ci->local_ip,
	    sizeof ci->local_ip, &ci->local_port);
	return 0;
}

static void start_head(struct pending *p);
static void dispatch(struct pending *p);
static void try_start(struct pending *p);

static void read_proxy(struct pending *p)
{
	struct proxy_header h;
	ssize_t n = peek(p, PROXY_V2_MAX);
	int r;

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		refuse_proxy(p); /* closed, reset, or nothing but EOF */
		return;
	}
	r = proxy_parse((const uint8_t *)p->buf, p->len + (size_t)n,
	    p->l->route->proxy_protocol, &h);
	if (r < 0) {
		refuse_proxy(p);
		return;
	}
	/* Incomplete: all that came is header. Complete: exactly its rest. */
	if (consume(p, r == 0 ? (size_t)n : (size_t)r - p->len) < 0) {
		refuse_proxy(p);
		return;
	}
	if (r == 0) {
		p->len += (size_t)n;
		return;
	}
	p->len = 0;
	if (believe(p, &h) < 0) {
		refuse_proxy(p); /* as when out of memory for the header */
		return;
	}
	if (p->l->route->protocol != PROTO_RAW) {
		/* The proxy was nobody; now the client it names counts. */
		const char *reason = admit_reading_conn(p->set, p->l, &p->conn->ci,
		    &p->src, &p->counted);
		if (reason) {
			hand_on(p);
			refuse(p->set, p->conn, reason, 0);
			return;
		}
	}
	if (p->l->route->protocol == PROTO_RAW) {
		/* Its child may have to wait for a place, as a request's. */
		uv_timer_stop(&p->timer);
		try_start(p);
		return;
	}
	start_head(p);
}

static void read_head(struct pending *p)
{
	ssize_t n = peek(p, HTTP_HEAD_MAX);
	int r;

	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		/* The client left before asking anything. */
		conn_event(p->conn, "gone", n == 0 ? "closed" : "reset");
		pending_end(p, 1);
		return;
	}
	r = http_parse_head(p->buf, p->len + (size_t)n, p->req);
	if (r < 0) {
		consume(p, (size_t)n);
		http_fail(p, -r);
		return;
	}
	if (consume(p, r == 0 ? (size_t)n : (size_t)r - p->len) < 0) {
		conn_event(p->conn, "gone", "reset");
		pending_end(p, 1);
		return;
	}
	if (r == 0) {
		p->len += (size_t)n;
		if (p->len >= HTTP_HEAD_MAX)
			http_fail(p, 431);
		return;
	}
	p->len = (size_t)r; /* buf holds the whole head, for a worker */
	dispatch(p);
}

/* A connection waiting for its slot, whose client hung up: gone if it
 * reset the connection, or, for an HTTP request, closed its side with
 * nothing left unread (a client that half-closes after its request is
 * taken to have left, as nginx does; a raw client may half-close and
 * still read). Otherwise nothing is known, and it is watched no more. */
static void waiting_hung_up(struct pending *p)
{
	int state = sock_peek_state(p->conn->fd);

	if (state > 0 || (state == 0 && !p->req)) {
		uv_poll_stop(&p->poll);
		return;
	}
	conn_event(p->conn, "gone", state < 0 ? "reset" : "closed");
	pending_end(p, 1);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct pending *p = h->data;
	struct pending_set *set = p->set;

	(void)events;
	if (status < 0) {
		conn_event(p->conn, "gone", "reset");
		pending_end(p, 1);
		set->hooks->changed(set);
		return;
	}
	if (p->stage == WAIT_SLOT) {
		waiting_hung_up(p);
		set->hooks->changed(set);
		return;
	}
	if (p->stage == READ_PROXY)
		read_proxy(p);
	else if (p->stage == READ_HEAD)
		read_head(p);
	set->hooks->changed(set); /* a place under max_pending may be free */
}

static void on_timeout(uv_timer_t *t)
{
	struct pending *p = t->data;

	if (p->stage == READ_PROXY)
		refuse_proxy(p);
	else if (p->stage == READ_HEAD)
		http_fail(p, 408);
	p->set->hooks->changed(p->set);
}

/* ---- HTTP ---- */

static void start_head(struct pending *p)
{
	p->stage = READ_HEAD;
	p->len = 0;
	if (!p->req && !(p->req = malloc(sizeof *p->req))) {
		conn_event(p->conn, "refuse", "busy"); /* no memory */
		pending_end(p, 1);
		return;
	}
	uv_timer_start(&p->timer, on_timeout, HEAD_MS, 0);
	/* Bytes after the PROXY header may be waiting already. */
	read_head(p);
}

/* The route with the longest path prefix that serves the path. */
static const struct route *choose(const struct listener *l,
    const struct http_request *req)
{
	const struct route *best = NULL;
	int bestlen = -1;

	for (size_t i = 0; i < l->nroutes; i++) {
		int n = http_prefix_match(l->routes[i]->path, req->path);
		if (n > bestlen || (n == bestlen && n == 0 && !best)) {
			if (n < 0)
				continue;
			best = l->routes[i];
			bestlen = n;
		}
	}
	return best;
}

/* Tries to start the chosen route's child; a full route with on_busy =
 * wait (or a full gateway) keeps the parsed request waiting, unless it
 * is over its route's rate: then it is refused at once. */
static void try_start(struct pending *p)
{
	/* Chosen again each time: a reload may have changed the routes (a
	 * raw route's connection has its listener's only route). */
	const struct route *r = p->req ? choose(p->l, p->req) : p->l->route;

	if (!r) {
		http_fail(p, 404);
		return;
	}
	conn_set_route(p->conn, p->set->hooks->config(p->set), r);
	if (p->set->hooks->must_wait(p->set, r)) {
		if (p->stage != WAIT_SLOT) {
			uint64_t wait_ms = 0;
			if (p->set->hooks->rate(p->set, p->conn, &wait_ms) < 0) {
				hand_on(p);
				refuse(p->set, p->conn, "rate", wait_ms);
				return;
			}
			p->stage = WAIT_SLOT;
			uv_timer_stop(&p->timer);
			/* Watched while it waits (not its body's bytes): a
			 * client that leaves gets no child. */
			uv_poll_start(&p->poll, UV_DISCONNECT, on_readable);
		}
		return;
	}
	hand_on(p);
	conn_hold(p->conn); /* the owner's, from now on */
	p->set->hooks->ready(p->set, p->l, p->conn, p->req, p->buf, p->len);
	p->req = NULL; /* handed over */
}

static void dispatch(struct pending *p)
{
	uv_timer_stop(&p->timer);
	try_start(p);
}

void pending_retry(struct pending_set *set)
{
	struct queue *q, *n;

	queue_foreach(q, n, &set->list) {
		struct pending *p = queue_data(q, struct pending, q);
		if (p->stage == WAIT_SLOT && !p->closing)
			try_start(p);
	}
}

void pending_drop(struct pending_set *set, const struct listener *l, const char *why)
{
	struct queue *q, *n;

	queue_foreach(q, n, &set->list) {
		struct pending *p = queue_data(q, struct pending, q);
		if (!l || p->l == l) {
			conn_event(p->conn, "refuse", why);
			pending_end(p, 1);
		}
	}
}

void pending_each(struct pending_set *set, conn_visit_fn *fn, void *arg)
{
	struct queue *q, *n;

	queue_foreach(q, n, &set->list) {
		struct pending *p = queue_data(q, struct pending, q);
		fn(arg, p->conn, 0, p->stage == WAIT_SLOT ? "waiting" : "reading");
	}
}

int pending_close(struct pending_set *set, uint64_t id, const char *why)
{
	struct queue *q, *n;

	queue_foreach(q, n, &set->list) {
		struct pending *p = queue_data(q, struct pending, q);
		if (p->conn->ci.id == id) {
			conn_event(p->conn, "refuse", why);
			pending_end(p, 1);
			set->hooks->changed(set);
			return 1;
		}
	}
	return 0;
}

/* ---- start ---- */

/* A header is believed only from proxy_from: anyone else could claim
 * any address and pass deny. */
static int from_proxy(const struct listener *l, const struct conn_info *ci)
{
	if (!ci->tcp)
		return l->route->proxy_from_unix;
	return acl_match(&l->route->proxy_from, (const struct sockaddr *)&ci->peer);
}

void pending_start(struct pending_set *set, struct listener *l, struct conn *c)
{
	struct pending *p;
	struct source_key src = { 0 };
	const char *reason;
	int counted = 0;

	if (l->route->proxy_protocol && !from_proxy(l, &c->ci)) {
		conn_event(c, "refuse", "proxy"); /* before a byte is read */
		conn_release(c);
		return;
	}
	/* A proxy's connections count toward no source until its header
	 * names the client; others by their own address, before a byte is
	 * read. */
	if (!l->route->proxy_protocol &&
	    (reason = admit_reading_conn(set, l, &c->ci, &src, &counted))) {
		refuse(set, c, reason, 0);
		conn_release(c);
		return;
	}
	if (!(p = calloc(1, sizeof *p)) || uv_poll_init(set->loop, &p->poll, c->fd) < 0) {
		if (counted)
			source_remove(&l->reading, &src);
		free(p);
		conn_event(c, "refuse", "busy"); /* out of memory */
		conn_release(c);
		return;
	}
	p->src = src;
	p->counted = counted;
	fd_set_blocking(c->fd);
	p->set = set;
	p->l = l;
	p->conn = c;
	p->poll.data = p;
	uv_timer_init(set->loop, &p->timer);
	p->timer.data = p;
	queue_insert_tail(&set->list, &p->q);
	l->pending++;
	uv_poll_start(&p->poll, UV_READABLE, on_readable);
	if (l->route->proxy_protocol) {
		p->stage = READ_PROXY;
		uv_timer_start(&p->timer, on_timeout, PROXY_MS, 0);
	} else {
		start_head(p);
	}
}

/* ---- across an upgrade ---- */

void pending_hand_each(struct pending_set *set, pending_hand_fn *fn, void *arg)
{
	struct queue *q, *n;

	queue_foreach(q, n, &set->list) {
		struct pending *p = queue_data(q, struct pending, q);
		uint64_t left = uv_is_active((uv_handle_t *)&p->timer) ?
		    uv_timer_get_due_in(&p->timer) : 0;

		if (!p->closing)
			fn(arg, p->l, p->conn, (enum pending_stage)p->stage, p->buf,
			    p->len, left);
	}
}

static void on_resumed(uv_timer_t *t)
{
	struct pending *p = t->data;

	/* An HTTP request's head is parsed into req (again, when it was read
	 * whole and waits for a place). */
	if (p->stage != READ_PROXY && p->l->route->protocol != PROTO_RAW &&
	    !(p->req = malloc(sizeof *p->req))) {
		conn_event(p->conn, "refuse", "busy");
		pending_end(p, 1);
		return;
	}
	if (p->stage == WAIT_SLOT) {
		if (p->req && http_parse_head(p->buf, p->len, p->req) <= 0) {
			http_fail(p, 400);
			return;
		}
		uv_poll_start(&p->poll, UV_DISCONNECT, on_readable);
		try_start(p);
		return;
	}
	uv_poll_start(&p->poll, UV_READABLE, on_readable);
	uv_timer_start(&p->timer, on_timeout, p->left_ms, 0);
	if (p->stage == READ_PROXY)
		read_proxy(p);
	else
		read_head(p);
	p->set->hooks->changed(p->set);
}

void pending_resume(struct pending_set *set, struct listener *l, struct conn *c,
    enum pending_stage stage, const char *buf, size_t len, uint64_t left_ms)
{
	struct pending *p = calloc(1, sizeof *p);

	if (!p || (len && !(p->buf = malloc(len))) ||
	    uv_poll_init(set->loop, &p->poll, c->fd) < 0) {
		if (p)
			free(p->buf);
		free(p);
		conn_event(c, "refuse", "busy");
		conn_release(c);
		return;
	}
	if (len)
		memcpy(p->buf, buf, len);
	p->len = p->cap = len;
	p->set = set;
	p->l = l;
	p->conn = c;
	p->poll.data = p;
	p->left_ms = left_ms ? left_ms : 1;
	p->stage = (enum stage)stage;
	uv_timer_init(set->loop, &p->timer);
	p->timer.data = p;
	queue_insert_tail(&set->list, &p->q);
	l->pending++;
	/* Counted by its source again, as when it came. */
	if (stage != PENDING_PROXY && admit_reading_conn(set, l, &c->ci, &p->src,
	    &p->counted) != NULL)
		p->counted = 0;
	/* Nothing is read or started before the image has taken up all it
	 * was handed (its children count first): from the loop. */
	uv_timer_start(&p->timer, on_resumed, 0, 0);
}
