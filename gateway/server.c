#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "http.h"
#include "httpconn.h"
#include "ipc.h"
#include "linger.h"
#include "pending.h"
#include "log.h"
#include "pool.h"
#include "util.h"

/* Connections taken per wake-up of one listener, so that a busy listener
 * cannot starve the others or the children's exits. */
#define ACCEPT_BATCH 32
#define RETRY_MS 1000

/* ---- route states ---- */

static struct route_state *state_new(const char *name)
{
	struct route_state *rs = calloc(1, sizeof *rs);

	if (rs && !(rs->name = strdup(name))) {
		free(rs);
		return NULL;
	}
	if (rs)
		rs->refs = 1;
	return rs;
}

static void state_release(struct route_state *rs)
{
	if (!rs || --rs->refs > 0)
		return;
	source_table_free(&rs->sources);
	free(rs->name);
	free(rs);
}

/* States for each route of c: the one of the same name from the running
 * config (its children count toward the new limits), or a new one. */
static struct route_state **states_for(struct server *s, struct config *c)
{
	struct route_state **v = calloc(c->nroutes ? c->nroutes : 1, sizeof *v);

	for (size_t i = 0; v && i < c->nroutes; i++) {
		for (size_t j = 0; s->config && j < s->config->nroutes; j++)
			if (strcmp(s->rstate[j]->name, c->routes[i].name) == 0) {
				v[i] = s->rstate[j];
				v[i]->refs++;
			}
		if (!v[i] && !(v[i] = state_new(c->routes[i].name))) {
			while (i-- > 0)
				state_release(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void states_release(struct route_state **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		state_release(v[i]);
	free(v);
}

static struct route_state *state_of(struct server *s, const struct route *r)
{
	return s->rstate[r - s->config->routes];
}

static int route_full(struct server *s, const struct route *r)
{
	return r->max_children && state_of(s, r)->live >= r->max_children;
}

/* ---- accepting ---- */

/* The gateway-wide limit always waits; a route's own limit waits only
 * with on_busy = wait, and then for that route's listeners alone. */
static int may_accept(struct server *s, const struct listener *l)
{
	return !s->stopping && !s->starved && !s->held &&
	    l->pending < l->route->max_pending &&
	    s->nchildren < s->config->max_children &&
	    !(l->route->on_busy == BUSY_WAIT && route_full(s, l->route));
}

static void update_accepting(struct server *s)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_accepting(s->listeners[i], may_accept(s, s->listeners[i]));
}

static void resume(struct server *s);

static void on_retry(uv_timer_t *t)
{
	resume(container_of(t, struct server, retry_timer));
}

/* Out of descriptors, memory or processes: pause accepting (clients wait
 * in the backlog, none is dropped) until a child exits or a second has
 * passed. The error (accept_error, or spawn_error for a client already
 * accepted) is logged at most about once a second. */
static void starve(struct server *s, const char *event, const struct route *r,
    const char *addr, int err)
{
	uint64_t now = uv_now(s->loop);

	if (s->last_resource_log == 0 || now - s->last_resource_log >= RETRY_MS) {
		struct logline line;
		s->last_resource_log = now;
		log_begin(&line, event);
		log_str(&line, "route", r->name);
		if (addr)
			log_str(&line, "addr", addr);
		log_str(&line, "error", strerror(err));
		log_end(&line);
	}
	s->starved = 1;
	uv_timer_start(&s->retry_timer, on_retry, RETRY_MS, 0);
}

/* accept(2) passes on errors of the aborted connection itself: those
 * concern one client, not the listener. */
static int is_client_error(int err)
{
	return err == ECONNABORTED || err == EINTR || err == EPROTO ||
	    err == ENETDOWN || err == ENOPROTOOPT || err == EHOSTDOWN ||
	    err == ENONET || err == EHOSTUNREACH || err == EOPNOTSUPP ||
	    err == ENETUNREACH || err == EPERM;
}

/* Refused: the message (if any) is written without blocking, and the
 * connection lingers so that the close does not turn into a reset that
 * loses the message. */
void server_log_refuse(const struct route *r, const struct conn_info *ci,
    const char *reason)
{
	struct logline l;

	log_begin(&l, "refuse");
	child_log_conn(&l, r, ci);
	child_log_peer(&l, ci);
	log_str(&l, "reason", reason);
	log_end(&l);
}

static void refuse(struct server *s, const struct route *r, int fd,
    struct conn_info *ci, const char *reason)
{
	if (strcmp(reason, "deny") != 0 && r->busy_len)
		send(fd, r->busy_message, r->busy_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	linger_close(s->loop, fd);
	server_log_refuse(r, ci, reason);
}

static void source_of(const struct conn_info *ci, struct source_key *k)
{
	if (ci->tcp)
		source_key_addr(k, (const struct sockaddr *)&ci->peer);
	else
		source_key_uid(k, ci->uid);
}

const char *server_admit(struct server *s, const struct route *r,
    const struct conn_info *ci, struct source_key *src)
{
	const struct sockaddr *peer = (const struct sockaddr *)&ci->peer;

	if (ci->tcp && ((r->deny.n && acl_match(&r->deny, peer)) ||
	    (r->allow.n && !acl_match(&r->allow, peer))))
		return "deny";
	if (route_full(s, r))
		return "busy";
	source_of(ci, src);
	if (r->max_per_source &&
	    source_count(&state_of(s, r)->sources, src) >= r->max_per_source)
		return "per_source";
	return NULL;
}

/* The checks between accept and spawn. Returns 0 to go on, or -1 when
 * the connection was refused (and closed). */
static int admit(struct server *s, const struct route *r, int fd,
    struct conn_info *ci, struct source_key *src)
{
	const char *reason = server_admit(s, r, ci, src);

	if (!reason)
		return 0;
	refuse(s, r, fd, ci, reason);
	return -1;
}

int server_must_wait(struct server *s, const struct route *r)
{
	return s->nchildren >= s->config->max_children ||
	    (r->on_busy == BUSY_WAIT && route_full(s, r));
}

void server_slot_take(struct server *s, struct slot *sl, const struct route *r,
    const struct source_key *src)
{
	sl->config = s->config;
	config_hold(sl->config);
	sl->rs = state_of(s, r);
	sl->rs->refs++;
	sl->rs->live++;
	sl->source = *src;
	/* Without memory for the entry the source goes uncounted. */
	if (source_add(&sl->rs->sources, src) < 0)
		sl->source.kind = 0;
	sl->counted = 1;
	s->nchildren++;
}

/* Out of the counts; the references stay until the holder is freed. */
static void slot_uncount(struct server *s, struct slot *sl)
{
	if (!sl->counted)
		return;
	sl->counted = 0;
	sl->rs->live--;
	if (sl->source.kind)
		source_remove(&sl->rs->sources, &sl->source);
	s->nchildren--;
}

static void slot_release(struct slot *sl)
{
	state_release(sl->rs);
	config_release(sl->config);
	sl->rs = NULL;
	sl->config = NULL;
}

void server_slot_free(struct server *s, struct slot *sl)
{
	slot_uncount(s, sl);
	slot_release(sl);
}

/* The child joins the server's list and counts. */
static void child_started(struct server *s, struct child *c,
    const struct source_key *src)
{
	server_slot_take(s, &c->slot, c->route, src);
	c->listed = 1;
	c->prev = NULL;
	c->next = s->children;
	if (s->children)
		s->children->prev = c;
	s->children = c;
}

/* ---- clients accepted in a shortage ---- */

/* A client accepted when the gateway could not spawn for it waits here,
 * in order, for descriptors, memory or processes to come back. */
struct held {
	int fd;
	struct conn_info ci;
	struct source_key src;
	const struct route *route;
	struct config *config;          /* held: route points into it */
	struct held *next;
};

static void hold(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci, const struct source_key *src)
{
	struct held *h = calloc(1, sizeof *h);

	if (!h) {
		close(fd);
		return;
	}
	h->fd = fd;
	h->ci = *ci;
	h->src = *src;
	h->route = r;
	h->config = s->config;
	config_hold(h->config);
	if (!s->held)
		s->held_tail = &s->held;
	*s->held_tail = h;
	s->held_tail = &h->next;
}

static const struct route *route_named(struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].name, name) == 0)
			return &c->routes[i];
	return NULL;
}

static void unhold(struct server *s, struct held *h)
{
	s->held = h->next;
	config_release(h->config);
	free(h);
}

/* Spawns for the held clients, oldest first, while resources last. A
 * reload in between gives them the new route of the same name. */
static void spawn_held(struct server *s)
{
	while (s->held && s->nchildren < s->config->max_children) {
		struct held *h = s->held;
		const struct route *r = route_named(s->config, h->route->name);
		struct child *c;
		int err;

		if (!r) {
			close(h->fd);
			unhold(s, h);
			continue;
		}
		c = child_spawn(s, r, h->fd, &h->ci, NULL, s->config->kill_grace, &err);
		if (!c && child_shortage(err)) {
			starve(s, "spawn_error", r, NULL, -err);
			return;
		}
		if (c)
			child_started(s, c, &h->src);
		unhold(s, h);
	}
}

static void drop_held(struct server *s)
{
	while (s->held) {
		close(s->held->fd);
		unhold(s, s->held);
	}
}

static void resume(struct server *s)
{
	s->starved = 0;
	uv_timer_stop(&s->retry_timer);
	spawn_held(s);
	pending_retry(s);
	update_accepting(s);
}

struct child *server_spawn(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci, const struct source_key *src,
    const struct http_spawn *hs, int *err)
{
	struct child *c = child_spawn(s, r, fd, ci, hs, s->config->kill_grace, err);

	if (c)
		child_started(s, c, src);
	return c;
}

/* A connection ready for its child (raw routes): checked, then handed
 * to a worker or spawned here. Returns -1 when the gateway is short of
 * resources (the client is held; accepting pauses). */
static int take(struct server *s, struct listener *l, const struct route *r,
    int fd, struct conn_info *ci)
{
	struct source_key src;
	int err;

	if (!ci->tcp)
		ci->ipc_path = l->addr->ipc_path;
	if (admit(s, r, fd, ci, &src) < 0)
		return 0;
	if (s->pool) {
		pool_handover(s->pool, l, r, fd, ci, &src, NULL, 0);
		return 0;
	}
	if (server_spawn(s, r, fd, ci, &src, NULL, &err) || !child_shortage(err))
		return 0;
	hold(s, r, fd, ci, &src);
	starve(s, "spawn_error", r, NULL, -err);
	return -1;
}

void server_take(struct server *s, struct listener *l, const struct route *r,
    int fd, struct conn_info *ci)
{
	take(s, l, r, fd, ci);
	update_accepting(s);
}

static void on_readable(struct listener *l)
{
	struct server *s = l->data;
	struct conn_info ci;

	for (int i = 0; i < ACCEPT_BATCH && may_accept(s, l); i++) {
		int fd = listener_accept(l, &ci);

		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			break;
		if (fd < 0 && is_client_error(-fd))
			continue;
		if (fd < 0) {
			starve(s, "accept_error", l->route, l->name, -fd);
			break;
		}
		ci.id = ++s->last_conn;
		if (pending_needed(l)) {
			pending_start(s, l, fd, &ci);
			continue;
		}
		if (take(s, l, l->route, fd, &ci) < 0)
			break;
	}
	update_accepting(s);
}

/* ---- children ---- */

uv_loop_t *server_loop(struct server *s)
{
	return s->loop;
}

void server_child_forget(struct server *s, struct child *c)
{
	if (!c->listed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->children = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->listed = 0;
	slot_release(&c->slot);
}

static void finish(struct server *s);

void server_changed(struct server *s)
{
	if (s->stopping) {
		if (s->nchildren == 0 && (!s->pool || pool_done(s->pool)))
			finish(s);
		return;
	}
	/* A freed slot is the likeliest sign that resources are back. */
	resume(s);
}

/* In a worker, the main process counts too: tell it. */
static void report(struct server *s, uint32_t type, uint64_t conn, pid_t pid)
{
	struct ipc_msg m = { .type = type, .conn = conn, .pid = pid };

	if (s->ipc >= 0)
		ipc_report(s->ipc, &m);
}

void server_child_exited(struct server *s, struct child *c)
{
	slot_uncount(s, &c->slot);
	report(s, IPC_GONE, c->ci.id, c->pid);
	server_changed(s);
}

static void signal_children(struct server *s, int sig)
{
	for (struct child *c = s->children; c; c = c->next)
		child_signal(c, sig, "shutdown");
	if (s->pool)
		pool_signal_orphans(s->pool, sig, "shutdown");
}

/* ---- listeners ---- */

/* Where a listener goes in a new config. */
struct adoption {
	const struct route *route;
	const struct listen_addr *addr;
};

static void log_listen(const struct listener *l)
{
	struct logline line;

	log_begin(&line, "listen");
	log_str(&line, "route", l->route->name);
	log_str(&line, "addr", l->name);
	log_end(&line);
}

static void close_listeners(struct listener **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			listener_close(v[i]);
}

/* One socket for both: the same address, and a real one (port-0
 * addresses compare the same but are sockets of their own). */
static int one_socket(const struct listen_addr *a, const struct listen_addr *b)
{
	return addr_same(a, b) && addr_overlap(a, b);
}

/* HTTP routes written with one address share one socket: the index of
 * the earlier route whose listen address (i, j) is, or -1. */
static long shared_with(const struct config *c, size_t i, size_t j)
{
	const struct listen_addr *a = &c->routes[i].listen[j];

	for (size_t x = 0; x < i; x++)
		for (size_t y = 0; y < c->routes[x].nlisten; y++)
			if (one_socket(a, &c->routes[x].listen[y]))
				return (long)x;
	return -1;
}

/* The reload diff: for each address of c (in order), the index of the
 * old listener it keeps, or nold. A listener whose route has the same
 * name is kept first, so that routes written alike (port 0) keep theirs. */
static size_t *match_listeners(const struct config *c, struct listener **old,
    size_t nold, char *kept, size_t total)
{
	const struct listen_addr **olds = calloc(nold + 1, sizeof *olds);
	size_t *m = calloc(total + 1, sizeof *m), k;

	if (!olds || !m) {
		free(olds);
		free(m);
		return NULL;
	}
	for (size_t o = 0; o < nold; o++)
		olds[o] = old[o]->addr;
	k = 0;
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++, k++) {
			m[k] = nold;
			if (shared_with(c, i, j) >= 0)
				continue;
			for (size_t o = 0; o < nold; o++)
				if (!kept[o] && addr_same(olds[o], &c->routes[i].listen[j]) &&
				    strcmp(old[o]->route->name, c->routes[i].name) == 0) {
					kept[o] = 1;
					m[k] = o;
					break;
				}
		}
	k = 0;
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++, k++)
			if (m[k] == nold && shared_with(c, i, j) < 0) {
				m[k] = addr_find(&c->routes[i].listen[j], olds, nold, kept);
				if (m[k] < nold)
					kept[m[k]] = 1;
			}
	free(olds);
	return m;
}

/* Adds to each listener the other routes that share its socket. */
static int attach_routes(struct server *s)
{
	struct config *c = s->config;

	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++) {
			if (shared_with(c, i, j) < 0)
				continue;
			for (size_t k = 0; k < s->nlisteners; k++)
				if (one_socket(s->listeners[k]->addr, &c->routes[i].listen[j]) &&
				    listener_add_route(s->listeners[k], &c->routes[i]) < 0)
					return -ENOMEM;
		}
	return 0;
}

/* The listeners of config c: those of `old` with the same address are
 * taken over (they never stop listening), the others are opened. On
 * failure nothing of `old` has changed and what was opened is closed.
 * `kept` marks the old listeners taken over; `to[k]` is the address of
 * c that listener k serves (where a kept one goes). */
static struct listener **open_listeners(struct server *s, struct config *c,
    struct listener **old, size_t nold, char *kept, size_t *n,
    struct adoption *to, char *err, size_t errlen)
{
	size_t total = 0, k = 0, a = 0;
	struct listener **v;
	size_t *m;

	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	v = calloc(total ? total : 1, sizeof *v);
	m = match_listeners(c, old, nold, kept, total);
	if (!v || !m) {
		free(v);
		free(m);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++, a++) {
			if (shared_with(c, i, j) >= 0)
				continue; /* attach_routes adds it to that socket */
			if (to) {
				to[k].route = &c->routes[i];
				to[k].addr = &c->routes[i].listen[j];
			}
			if (m[a] < nold) {
				v[k++] = old[m[a]];
				continue;
			}
			v[k] = listener_open(&c->routes[i], &c->routes[i].listen[j],
			    err, errlen);
			if (v[k]) {
				v[k]->data = s;
				k++;
			} else if (err[0]) {
				/* Close only what was opened here. */
				for (size_t x = 0; x < k; x++)
					for (size_t o = 0; o < nold; o++)
						if (v[x] == old[o])
							v[x] = NULL;
				close_listeners(v, k);
				free(v);
				free(m);
				return NULL;
			}
		}
	free(m);
	*n = k;
	return v;
}

/* Watches the listeners that are new, and hands the kept ones their new
 * route. Returns 0 or a libuv error. */
static int watch_listeners(struct server *s)
{
	for (size_t i = 0; i < s->nlisteners; i++) {
		struct listener *l = s->listeners[i];
		int r;
		if (l->watching)
			continue;
		r = listener_watch(l, s->loop, on_readable);
		if (r < 0) {
			log_fatal("listen %s: %s", l->name, uv_strerror(r));
			return r;
		}
		log_listen(l);
	}
	return 0;
}

/* ---- reload ---- */

static void reload_error(const char *msg)
{
	struct logline l;

	log_begin(&l, "reload_error");
	log_str(&l, "error", msg);
	log_end(&l);
}


void server_reload(struct server *s)
{
	char err[1024];
	struct config *c;
	struct listener **v;
	struct route_state **states;
	struct adoption *to;
	char *kept;
	size_t n = 0, opened = 0, closed = 0, total = 0;
	struct logline l;

	if (s->stopping)
		return;
	c = config_load(s->config->path, err, sizeof err);
	if (!c) {
		reload_error(err);
		return;
	}
	if (c->workers != s->config->workers) {
		log_warning("workers: a change takes a restart; keeping %u", s->config->workers);
		c->workers = s->config->workers;
	}
	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	kept = calloc(s->nlisteners + 1, 1);
	to = calloc(total + 1, sizeof *to);
	states = states_for(s, c);
	v = kept && to && states ? open_listeners(s, c, s->listeners,
	    s->nlisteners, kept, &n, to, err, sizeof err) : NULL;
	if (!v) {
		if (!kept || !to || !states)
			snprintf(err, sizeof err, "%s", strerror(ENOMEM));
		reload_error(err);
		states_release(states, c->nroutes);
		free(kept);
		free(to);
		config_release(c);
		return;
	}
	/* Committed: from here on nothing fails. */
	for (size_t i = 0; i < s->nlisteners; i++)
		if (!kept[i]) {
			pending_drop(s, s->listeners[i]);
			listener_close(s->listeners[i]);
			closed++;
		}
	free(kept);
	free(s->listeners);
	s->listeners = v;
	s->nlisteners = n;
	/* Kept listeners serve the new config's route on their address. */
	for (size_t i = 0; i < n; i++)
		if (v[i]->route != to[i].route || v[i]->nroutes > 1)
			listener_adopt(v[i], to[i].route, to[i].addr);
	free(to);
	states_release(s->rstate, s->config->nroutes);
	s->rstate = states;
	config_release(s->config);
	s->config = c;
	if (attach_routes(s) < 0)
		log_warning("reload: %s: a shared listener lost routes", strerror(ENOMEM));
	log_set_format(c->log_format);
	s->generation++;
	if (s->pool)
		pool_reload(s->pool);
	for (size_t i = 0; i < n; i++)
		opened += !v[i]->watching;
	if (watch_listeners(s) < 0)
		reload_error("a new listener could not be watched");
	log_begin(&l, "reload");
	log_str(&l, "config", c->path);
	log_uint(&l, "routes", c->nroutes);
	log_uint(&l, "listeners", n);
	log_uint(&l, "opened", opened);
	log_uint(&l, "closed", closed);
	log_end(&l);
	update_accepting(s);
}

/* ---- stopping ---- */

static uint64_t ms(double secs)
{
	return (uint64_t)(secs * 1000 + 0.5);
}

static void on_kill_grace_over(uv_timer_t *t)
{
	struct server *s = container_of(t, struct server, stop_timer);

	signal_children(s, SIGKILL);
}

static void terminate_children(struct server *s)
{
	if (s->terminating)
		return;
	s->terminating = 1;
	signal_children(s, SIGTERM);
	uv_timer_start(&s->stop_timer, on_kill_grace_over,
	    ms(s->config->kill_grace), 0);
}

static void on_shutdown_grace_over(uv_timer_t *t)
{
	terminate_children(container_of(t, struct server, stop_timer));
}

static void finish(struct server *s)
{
	struct child *c, *next;

	if (s->finished)
		return;
	s->finished = 1;
	if (s->pool)
		pool_close(s->pool);
	if (s->ipc >= 0)
		uv_close((uv_handle_t *)&s->ipc_poll, NULL);
	uv_timer_stop(&s->stop_timer);
	uv_timer_stop(&s->retry_timer);
	uv_close((uv_handle_t *)&s->stop_timer, NULL);
	uv_close((uv_handle_t *)&s->retry_timer, NULL);
	for (size_t i = 0; i < sizeof s->sig / sizeof *s->sig; i++)
		uv_close((uv_handle_t *)&s->sig[i], NULL);
	for (c = s->children; c; c = next) {
		next = c->next;
		child_release(c);
	}
}

/* on_shutdown = detach: children that no longer need the gateway are
 * left to finish on their own; the others are waited for. */
static unsigned detach_children(struct server *s)
{
	unsigned n = 0;

	for (struct child *c = s->children; c; c = c->next)
		if (c->alive && !child_needs_gateway(c)) {
			child_detach(c);
			slot_uncount(s, &c->slot);
			report(s, IPC_GONE, c->ci.id, c->pid);
			n++;
		}
	return n;
}

static void stop(struct server *s, int sig)
{
	struct logline l;
	unsigned detached = 0;

	if (s->pool)
		pool_stop(s->pool); /* the workers count the signals too */
	if (s->stopping) {
		/* A second signal: end the children now. */
		terminate_children(s);
		return;
	}
	s->stopping = 1;
	if (s->config->on_shutdown == SHUTDOWN_DETACH)
		detached = detach_children(s);
	if (s->ipc >= 0)
		goto stopping; /* the main process logs the stop */
	log_begin(&l, "stop");
	log_str(&l, "signal", sigabbrev_np(sig));
	log_uint(&l, "children", s->nchildren);
	if (s->config->on_shutdown == SHUTDOWN_DETACH)
		log_uint(&l, "detached", detached);
	log_end(&l);
stopping:
	close_listeners(s->listeners, s->nlisteners);
	s->nlisteners = 0;
	drop_held(s); /* no child will come for them now */
	pending_drop(s, NULL);
	uv_timer_stop(&s->retry_timer);
	uv_timer_start(&s->stop_timer, on_shutdown_grace_over,
	    ms(s->config->shutdown_grace), 0);
	server_changed(s);
}

void server_stop(struct server *s)
{
	stop(s, SIGTERM);
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct server *s = h->data;

	/* A worker takes its orders from the main process only (a ^C
	 * reaches the whole process group). */
	if (s->ipc >= 0)
		return;
	if (sig == SIGHUP)
		server_reload(s);
	else
		stop(s, sig);
}

/* ---- start ---- */

static void start_handles(struct server *s)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	uv_timer_init(s->loop, &s->retry_timer);
	uv_timer_init(s->loop, &s->stop_timer);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		uv_signal_init(s->loop, &s->sig[i]);
		s->sig[i].data = s;
		uv_signal_start(&s->sig[i], on_signal, sigs[i]);
	}
}

/* ---- a worker's side ---- */

static void use_config(struct server *s, struct config *c, uint32_t generation)
{
	struct route_state **states = states_for(s, c);

	if (!states) {
		log_warning("config: %s; keeping the old one", strerror(ENOMEM));
		config_release(c);
		return;
	}
	states_release(s->rstate, s->config->nroutes);
	s->rstate = states;
	config_release(s->config);
	s->config = c;
	s->generation = generation;
	log_set_format(c->log_format);
}

/* An HTTP route's connection: its head, read and checked by the main
 * process, is parsed again here. */
static struct child *worker_http(struct server *s, const struct route *r,
    int fd, const struct conn_info *ci, const struct source_key *src,
    const char *head, size_t headlen)
{
	struct http_request *req = malloc(sizeof *req);

	if (!req) {
		http_answer(s, r, fd, ci, 503);
		return NULL;
	}
	if (http_parse_head(head, headlen, req) != (int)headlen) {
		/* Not what the main process parsed: say so, not guess. */
		free(req);
		http_answer(s, r, fd, ci, 500);
		return NULL;
	}
	return http_run(s, r, fd, ci, src, req);
}

static void worker_conn(struct server *s, const struct ipc_msg *m,
    const char *data, int fd)
{
	const struct route *r;
	struct conn_info ci = m->ci;
	struct source_key src;
	struct child *c;
	int err = 0;

	if (m->generation != s->generation || m->route >= s->config->nroutes ||
	    (s->config->routes[m->route].protocol != PROTO_RAW) != (m->datalen > 0)) {
		/* Cannot happen while the main process and we read the same
		 * text; if it does, say so rather than run the wrong route. */
		log_warning("conn %llu: config generation %u, ours %u",
		    (unsigned long long)m->conn, m->generation, s->generation);
		close(fd);
		report(s, IPC_GONE, m->conn, 0);
		return;
	}
	r = &s->config->routes[m->route];
	ci.ipc_path = m->listen < r->nlisten ? r->listen[m->listen].ipc_path : NULL;
	source_of(&ci, &src);
	if (r->protocol != PROTO_RAW) {
		c = worker_http(s, r, fd, &ci, &src, data, m->datalen);
	} else if ((c = child_spawn(s, r, fd, &ci, NULL, s->config->kill_grace, &err))) {
		child_started(s, c, &src);
	} else if (child_shortage(err)) {
		/* The main process counts it: it cannot wait here. */
		struct logline l;
		close(fd);
		log_begin(&l, "spawn_error");
		child_log_conn(&l, r, &ci);
		log_str(&l, "error", uv_strerror(err));
		log_end(&l);
	}
	report(s, c ? IPC_SPAWNED : IPC_GONE, m->conn, c ? c->pid : 0);
}

static void on_ipc(uv_poll_t *h, int status, int events)
{
	struct server *s = container_of(h, struct server, ipc_poll);
	struct ipc_msg m;
	char data[IPC_DATA_MAX];
	int fd, n;

	(void)status;
	(void)events;
	while ((n = ipc_recv(s->ipc, &m, data, &fd)) > 0) {
		if (m.type == IPC_CONN && fd >= 0) {
			worker_conn(s, &m, data, fd);
		} else if (m.type == IPC_CONFIG && fd >= 0) {
			struct config *c = config_from_fd(s->config->path, fd);
			close(fd);
			if (c)
				use_config(s, c, m.generation);
		} else {
			if (fd >= 0)
				close(fd);
			if (m.type == IPC_STOP)
				stop(s, SIGTERM);
		}
	}
	if (n == 0 || (n < 0 && n != -EAGAIN)) {
		/* The main process is gone: stop as it would have told us. */
		uv_poll_stop(&s->ipc_poll);
		if (!s->stopping)
			stop(s, SIGTERM);
	}
}

int server_start_worker(struct server *s, uv_loop_t *loop, struct config *c,
    int ipc, uint32_t generation)
{
	memset(s, 0, sizeof *s);
	s->loop = loop;
	s->ipc = ipc;
	s->generation = generation;
	s->rstate = states_for(s, c);
	if (!s->rstate) {
		log_fatal("%s", strerror(ENOMEM));
		return -1;
	}
	s->config = c;
	start_handles(s);
	uv_poll_init(loop, &s->ipc_poll, ipc);
	uv_poll_start(&s->ipc_poll, UV_READABLE, on_ipc);
	return 0;
}

/* ---- the main process ---- */

int server_start(struct server *s, uv_loop_t *loop, struct config *c)
{
	char err[1024], *kept = NULL;

	memset(s, 0, sizeof *s);
	s->loop = loop;
	s->ipc = -1;
	s->rstate = states_for(s, c);
	s->listeners = s->rstate ? open_listeners(s, c, NULL, 0, kept,
	    &s->nlisteners, NULL, err, sizeof err) : NULL;
	if (!s->listeners) {
		log_fatal("%s", s->rstate ? err : strerror(ENOMEM));
		states_release(s->rstate, c->nroutes);
		s->rstate = NULL;
		return -1;
	}
	s->config = c;
	if (attach_routes(s) < 0 || watch_listeners(s) < 0) {
		close_listeners(s->listeners, s->nlisteners);
		s->nlisteners = 0;
		states_release(s->rstate, c->nroutes);
		s->rstate = NULL;
		s->config = NULL;
		return -1;
	}
	start_handles(s);
	if (c->workers > 1 && !(s->pool = pool_start(s, c))) {
		close_listeners(s->listeners, s->nlisteners);
		s->nlisteners = 0;
		return -1;
	}
	update_accepting(s);
	return 0;
}

void server_free(struct server *s)
{
	pool_free(s->pool);
	s->pool = NULL;
	if (s->config)
		states_release(s->rstate, s->config->nroutes);
	s->rstate = NULL;
	config_release(s->config);
	s->config = NULL;
	free(s->listeners);
	s->listeners = NULL;
	s->nlisteners = 0;
}
