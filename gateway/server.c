#include "server_int.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admit.h"
#include "child.h"
#include "held.h"
#include "handover.h"
#include "httpconn.h"
#include "ipc.h"
#include "linger.h"
#include "pending.h"
#include "log.h"
#include "notify.h"
#include "pool.h"
#include "refuse.h"
#include "util.h"

/* Connections taken per wake-up of one listener, so that a busy listener
 * cannot starve the others or the children's exits. */
#define ACCEPT_BATCH 32
#define RETRY_MS 1000

/* ---- the counts ---- */

/* States for each route of c: the one of the same name from the running
 * config (its children count toward the new limits), or a new one. */
struct route_state **server_states_for(struct server *s, struct config *c)
{
	return route_states_for(s->config ? s->rstate : NULL, s->config, c);
}

static struct route_state *state_of(struct server *s, const struct route *r)
{
	return s->rstate[r - s->config->routes];
}

static int route_full(struct server *s, const struct route *r)
{
	return r->max_children && state_of(s, r)->live >= r->max_children;
}

int server_route_drained(struct server *s, const struct route *r)
{
	return state_of(s, r)->drained;
}

int server_listener_drained(struct server *s, const struct listener *l)
{
	for (size_t i = 0; i < l->nroutes; i++)
		if (!server_route_drained(s, l->routes[i]))
			return 0;
	return l->nroutes > 0;
}

int server_draining(const struct server *s)
{
	return s->draining || s->stopping;
}

/* ---- accepting ---- */

/* The gateway-wide limit always waits; a route's own limit waits only
 * with on_busy = wait, and then for that route's listeners alone. A
 * listener whose routes are all drained waits too (its clients stay in
 * the backlog); one a route shares with routes still served goes on. A
 * listener of HTTP routes never pauses for one route: the request names
 * its route only once read, so a full route's requests wait among the
 * pending ones (max_pending bounds them) while its neighbours are
 * served. */
static int may_accept(struct server *s, const struct listener *l)
{
	return !s->stopping && !s->starved && !s->upgrade.on && held_empty(&s->held) &&
	    l->pending < l->route->max_pending &&
	    s->nchildren < s->config->max_children &&
	    !server_listener_drained(s, l) &&
	    !(l->route->protocol == PROTO_RAW && l->route->on_busy == BUSY_WAIT &&
	    route_full(s, l->route));
}

void server_update_accepting(struct server *s)
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
void server_starve(struct server *s, const char *event, const struct route *r,
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

static unsigned server_source_live(struct server *s, const struct route *r,
    const struct source_key *k)
{
	return source_count(&state_of(s, r)->sources, k);
}

/* The connection rates of c's route (max_rate, max_rate_per_source),
 * checked once for a connection: 0 and a token taken, or -1 with
 * *wait_ms until one is back. The loop's monotonic clock. */
static int server_rate(struct server *s, struct conn *c, uint64_t *wait_ms)
{
	const struct route *r = c->route;

	c->rated = 1;
	return rate_admit(&state_of(s, r)->rate, &r->max_rate,
	    &r->max_rate_per_source, &c->src, uv_now(s->loop), wait_ms);
}

/* The checks of a connection whose route is known: NULL to go on, or
 * why it is refused (for "rate", *wait_ms until a token is back). Its
 * source is the one it counts toward from now. The rate comes last, so
 * that only a connection admitted takes a token; a request that took
 * one as it began to wait for a slot is not asked again. */
static const char *server_admit(struct server *s, struct conn *c,
    uint64_t *wait_ms)
{
	struct route_state *rs = state_of(s, c->route);
	const char *reason;

	admit_source_of(&c->ci, &c->src);
	reason = admit_route(c->route, &c->ci, rs->live, source_count(&rs->sources, &c->src));
	if (!reason && !c->rated && server_rate(s, c, wait_ms) < 0)
		reason = "rate";
	return reason;
}

/* A drained HTTP route's requests wait for nothing: they are answered
 * 503. (A raw route's connection read before the drain is served.) */
static int server_must_wait(struct server *s, const struct route *r)
{
	if (r->protocol != PROTO_RAW && server_route_drained(s, r))
		return 0;
	return s->nchildren >= s->config->max_children ||
	    (r->on_busy == BUSY_WAIT && route_full(s, r));
}

static void server_slot_take(struct server *s, struct slot *sl, const struct route *r,
    const struct source_key *src)
{
	slot_take(sl, s->config, state_of(s, r), src);
	s->nchildren++;
}

static void server_slot_free(struct server *s, struct slot *sl)
{
	server_slot_uncount(s, sl);
	slot_release(sl);
}

/* The service manager's STATUS= line (notify.h sends it at most once a
 * second, and only to one that listens). */
void server_tell_status(struct server *s)
{
	if (!s->role && !s->stopping)
		notify_status("%s: %zu routes, %u children",
		    s->draining ? "draining" : "serving", s->config->nroutes,
		    s->nchildren);
}

/* The child joins the server's list and counts. */
void server_child_started(struct server *s, struct child *c)
{
	struct conn *conn = c->conn;

	server_slot_take(s, &conn->slot, conn->route, &conn->src);
	server_tell_status(s);
	c->listed = 1;
	queue_insert_tail(&s->children, &c->q);
}

static void resume(struct server *s)
{
	s->starved = 0;
	uv_timer_stop(&s->retry_timer);
	held_serve(&s->held);
	pending_retry(&s->reading);
	server_update_accepting(s);
}

struct child *server_spawn(struct server *s, struct conn *conn,
    const struct http_spawn *hs, int *err)
{
	struct child *c = child_spawn(s->loop, &s->child_owner, conn, hs,
	    s->config->kill_grace, err);

	if (c)
		server_child_started(s, c);
	return c;
}

/* A raw route's connection ready for its child: checked, then handed to
 * a worker or spawned here. Takes the caller's reference. Returns -1
 * when the gateway is short of resources (the client is held; accepting
 * pauses). */
static int take(struct server *s, struct listener *l, struct conn *c)
{
	uint64_t wait_ms = 0;
	const char *reason = server_admit(s, c, &wait_ms);
	int err;

	if (reason) {
		refuse_raw(s->loop, c, conn_take_fd(c), reason);
	} else if (s->pool && pool_serves(s->pool)) {
		pool_handover(s->pool, l, c, NULL, 0);
		return 0;
	} else if (!server_spawn(s, c, NULL, &err) && child_shortage(err)) {
		server_hold(s, c, err);
		return -1;
	}
	conn_release(c);
	return 0;
}

/* A new connection, numbered; NULL (and the client closed, and logged)
 * when there is no memory for it. */
static struct conn *accepted(struct server *s, struct listener *l, int fd,
    struct conn_info *ci)
{
	struct conn *c;

	ci->id = ++s->last_conn;
	stats_accepted(l->route->stats);
	if (!(c = conn_new(fd, ci, s->config, l->route))) {
		struct conn gone = { .ci = *ci, .route = l->route };
		close(fd);
		conn_event(&gone, "refuse", "busy");
	}
	return c;
}

void server_on_readable(struct listener *l)
{
	struct server *s = l->data;
	struct conn_info ci;
	struct conn *c;

	for (int i = 0; i < ACCEPT_BATCH && may_accept(s, l); i++) {
		int fd = listener_accept(l, &ci);

		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			break;
		if (fd < 0 && is_client_error(-fd))
			continue;
		if (fd < 0) {
			server_starve(s, "accept_error", l->route, l->name, -fd);
			break;
		}
		if (!(c = accepted(s, l, fd, &ci)))
			continue;
		if (pending_needed(l))
			pending_start(&s->reading, l, c);
		else if (take(s, l, c) < 0)
			break;
	}
	server_update_accepting(s);
}

/* ---- children ---- */

static void server_child_forget(struct server *s, struct child *c)
{
	if (!c->listed)
		return;
	queue_remove(&c->q);
	c->listed = 0;
	/* Its last descriptors are closed only now, after its exit (a pidfd
	 * goes with its handle): a shortage may be over, so try again at
	 * once rather than on the retry timer. */
	if (s->starved && !s->stopping)
		resume(s);
}

static void server_changed(struct server *s)
{
	if (s->stopping) {
		server_finish_when_done(s);
		return;
	}
	/* A freed slot is the likeliest sign that resources are back. */
	resume(s);
	server_tell_status(s);
}

static void server_child_exited(struct server *s, struct child *c)
{
	server_slot_uncount(s, &c->conn->slot);
	server_report(s, IPC_GONE, c->conn->ci.id, c->pid);
	server_changed(s);
}

/* ---- what the connections being read tell ---- */

static struct server *of_reading(struct pending_set *set)
{
	return container_of(set, struct server, reading);
}

/* A parsed request, accepted on l: checked, then handed to a worker
 * with its head (headlen bytes) or run here. Takes the caller's
 * reference, and req. */
static void take_request(struct server *s, struct listener *l, struct conn *c,
    struct http_request *req, const char *head, size_t headlen)
{
	uint64_t wait_ms = 0;
	const char *reason = server_route_drained(s, c->route) ? "drained" :
	    server_admit(s, c, &wait_ms);

	if (reason) {
		refuse_http(s->loop, c, conn_take_fd(c), reason, wait_ms);
		free(req);
		conn_release(c);
		return;
	}
	if (s->pool && pool_serves(s->pool)) {
		free(req);
		pool_handover(s->pool, l, c, head, headlen);
		return;
	}
	http_run(&s->http, c, req);
}

static void reading_ready(struct pending_set *set, struct listener *l,
    struct conn *c, struct http_request *req, const char *head, size_t headlen)
{
	struct server *s = of_reading(set);

	if (req)
		take_request(s, l, c, req, head, headlen);
	else
		take(s, l, c);
	server_update_accepting(s);
}

static struct config *reading_config(struct pending_set *set)
{
	return of_reading(set)->config;
}

static int reading_must_wait(struct pending_set *set, const struct route *r)
{
	return server_must_wait(of_reading(set), r);
}

static int reading_rate(struct pending_set *set, struct conn *c,
    uint64_t *wait_ms)
{
	admit_source_of(&c->ci, &c->src);
	return server_rate(of_reading(set), c, wait_ms);
}

static unsigned reading_source_live(struct pending_set *set,
    const struct route *r, const struct source_key *k)
{
	return server_source_live(of_reading(set), r, k);
}

static void reading_changed(struct pending_set *set)
{
	server_changed(of_reading(set));
}

static const struct pending_hooks reading_hooks = {
	.ready = reading_ready,
	.config = reading_config,
	.must_wait = reading_must_wait,
	.rate = reading_rate,
	.source_live = reading_source_live,
	.changed = reading_changed,
};

/* ---- what requests run here need ---- */

static struct server *of_http(struct http_owner *o)
{
	return container_of(o, struct server, http);
}

static struct child *http_spawn(struct http_owner *o, struct conn *c,
    const struct http_spawn *hs, int *err)
{
	return server_spawn(of_http(o), c, hs, err);
}

/* ---- what its children tell ---- */

static void child_exited(struct child_owner *o, struct child *c)
{
	server_child_exited(container_of(o, struct server, child_owner), c);
}

static void child_freed(struct child_owner *o, struct child *c)
{
	struct server *s = container_of(o, struct server, child_owner);

	server_child_forget(s, c);
	free(c);
	/* Only after an upgrade does a main process with workers watch
	 * children of its own. */
	if (s->pool && !s->role)
		pool_child_reaped(s->pool);
}

/* ---- what the pool of workers needs ---- */

static struct server *of_pool(struct pool_owner *o)
{
	return container_of(o, struct server, pool_owner);
}

static struct config *pool_config(struct pool_owner *o, uint32_t *generation)
{
	struct server *s = of_pool(o);

	if (generation)
		*generation = s->generation;
	return s->config;
}

static void pool_slot_take(struct pool_owner *o, struct slot *sl,
    const struct route *r, const struct source_key *src)
{
	server_slot_take(of_pool(o), sl, r, src);
}

static void pool_slot_free(struct pool_owner *o, struct slot *sl)
{
	server_slot_free(of_pool(o), sl);
}

static int pool_watches(struct pool_owner *o, pid_t pid)
{
	struct server *s = of_pool(o);
	struct queue *q, *n;

	queue_foreach(q, n, &s->children)
		if (queue_data(q, struct child, q)->pid == pid)
			return 1;
	return 0;
}

static void pool_stats(struct pool_owner *o, const char *data, size_t len)
{
	metrics_merge(&container_of(o, struct server, pool_owner)->metrics, data, len);
}

static void pool_changed(struct pool_owner *o)
{
	server_changed(of_pool(o));
}

void server_init(struct server *s, uv_loop_t *loop)
{
	memset(s, 0, sizeof *s);
	s->loop = loop;
	s->reading.loop = loop;
	s->reading.hooks = &reading_hooks;
	queue_init(&s->reading.list);
	held_init(&s->held, loop, &server_held_hooks);
	queue_init(&s->children);
	s->http.loop = loop;
	s->http.spawn = http_spawn;
	s->child_owner.exited = child_exited;
	s->child_owner.freed = child_freed;
	s->pool_owner.loop = loop;
	s->pool_owner.config = pool_config;
	s->pool_owner.slot_take = pool_slot_take;
	s->pool_owner.slot_free = pool_slot_free;
	s->pool_owner.changed = pool_changed;
	s->pool_owner.stats = pool_stats;
	s->pool_owner.watches = pool_watches;
}

int server_start(struct server *s, uv_loop_t *loop, struct config *c,
    char *err, size_t errlen)
{
	struct handover *handed;
	char *kept = NULL;

	server_init(s, loop);
	s->rstate = server_states_for(s, c);
	s->listeners = s->rstate ? server_open_listeners(s, c, NULL, 0, kept,
	    &s->nlisteners, NULL, err, errlen) : NULL;
	if (!s->listeners) {
		if (!s->rstate)
			snprintf(err, errlen, "%s", strerror(ENOMEM));
		route_states_release(s->rstate, c->nroutes);
		s->rstate = NULL;
		return -1;
	}
	s->config = c;
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	if (server_attach_routes(s) < 0 || server_watch_listeners(s, err, errlen) < 0 ||
	    server_metrics_start(s, err, errlen) < 0) {
		server_close_listeners(s->listeners, s->nlisteners);
		s->nlisteners = 0;
		route_states_release(s->rstate, c->nroutes);
		s->rstate = NULL;
		s->config = NULL;
		return -1;
	}
	s->started = uv_hrtime();
	s->loaded = time(NULL);
	server_start_handles(s);
	/* After an upgrade, the workers before are taken over even when
	 * the config no longer asks for workers. */
	handed = handover_get();
	if (server_open_admin(s, err, errlen) < 0 ||
	    ((c->workers > 1 || (handed && handed->nworkers)) &&
	    pool_start(&s->pool_owner, c, handed, &s->pool, err, errlen) < 0)) {
		server_close_admin(s);
		server_metrics_stop(s);
		server_close_listeners(s->listeners, s->nlisteners);
		s->nlisteners = 0;
		return -1;
	}
	server_update_accepting(s);
	return 0;
}

void server_free(struct server *s)
{
	pool_free(s->pool);
	s->pool = NULL;
	if (s->config)
		route_states_release(s->rstate, s->config->nroutes);
	s->rstate = NULL;
	config_release(s->config);
	s->config = NULL;
	free(s->listeners);
	s->listeners = NULL;
	s->nlisteners = 0;
	metrics_free(&s->metrics);
}
