#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
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
	return !s->stopping && !s->starved &&
	    s->nchildren < s->config->max_children &&
	    !(l->route->on_busy == BUSY_WAIT && route_full(s, l->route));
}

static void update_accepting(struct server *s)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_accepting(s->listeners[i], may_accept(s, s->listeners[i]));
}

static void on_retry(uv_timer_t *t)
{
	struct server *s = container_of(t, struct server, retry_timer);

	s->starved = 0;
	update_accepting(s);
}

/* Out of descriptors, memory or processes: pause accepting (clients wait
 * in the backlog, none is dropped) until a child exits or a second has
 * passed. The error is logged at most about once a second. */
static void starve(struct server *s, const struct listener *l, int err)
{
	uint64_t now = uv_now(s->loop);

	if (l && (s->last_resource_log == 0 || now - s->last_resource_log >= RETRY_MS)) {
		struct logline line;
		s->last_resource_log = now;
		log_begin(&line, "accept_error");
		log_str(&line, "route", l->route->name);
		log_str(&line, "addr", l->name);
		log_str(&line, "error", strerror(err));
		log_end(&line);
	}
	s->starved = 1;
	uv_timer_start(&s->retry_timer, on_retry, RETRY_MS, 0);
}

static int is_resource_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM || err == EAGAIN;
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

/* Refused: the message (if any) is written without blocking, our side
 * is shut, and what the client already sent is read away so that the
 * close does not turn into a reset that loses the message. */
static void refuse(const struct route *r, int fd, struct conn_info *ci,
    const char *reason, int with_message)
{
	struct logline l;
	char junk[4096];

	if (with_message && r->busy_len)
		send(fd, r->busy_message, r->busy_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
		;
	close(fd);
	log_begin(&l, "refuse");
	child_log_conn(&l, r, ci);
	child_log_peer(&l, ci);
	log_str(&l, "reason", reason);
	log_end(&l);
}

static void source_of(const struct conn_info *ci, struct source_key *k)
{
	if (ci->tcp)
		source_key_addr(k, (const struct sockaddr *)&ci->peer);
	else
		source_key_uid(k, ci->uid);
}

/* The checks between accept and spawn. Returns 0 to go on, or -1 when
 * the connection was refused (and closed). */
static int admit(struct server *s, const struct route *r, int fd,
    struct conn_info *ci, struct source_key *src)
{
	const struct sockaddr *peer = (const struct sockaddr *)&ci->peer;

	if (ci->tcp && ((r->deny.n && acl_match(&r->deny, peer)) ||
	    (r->allow.n && !acl_match(&r->allow, peer)))) {
		refuse(r, fd, ci, "deny", 0);
		return -1;
	}
	if (route_full(s, r)) {
		refuse(r, fd, ci, "busy", 1);
		return -1;
	}
	source_of(ci, src);
	if (r->max_per_source &&
	    source_count(&state_of(s, r)->sources, src) >= r->max_per_source) {
		refuse(r, fd, ci, "per_source", 1);
		return -1;
	}
	return 0;
}

/* The child joins the server's list and counts, and holds what its
 * route lives in until it is freed. */
static void child_started(struct server *s, struct child *c,
    const struct source_key *src)
{
	struct route_state *rs = state_of(s, c->route);

	c->config = s->config;
	config_hold(c->config);
	c->rs = rs;
	rs->refs++;
	rs->live++;
	c->source = *src;
	/* Without memory for the entry the source goes uncounted. */
	if (source_add(&rs->sources, src) < 0)
		c->source.kind = 0;
	c->listed = 1;
	c->prev = NULL;
	c->next = s->children;
	if (s->children)
		s->children->prev = c;
	s->children = c;
	s->nchildren++;
}

static void on_readable(struct listener *l)
{
	struct server *s = l->data;
	struct conn_info ci;
	struct source_key src;

	for (int i = 0; i < ACCEPT_BATCH && may_accept(s, l); i++) {
		struct child *c;
		int fd, err;

		fd = listener_accept(l, &ci);
		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			break;
		if (fd < 0 && is_client_error(-fd))
			continue;
		if (fd < 0) {
			starve(s, l, -fd);
			break;
		}
		ci.id = ++s->last_conn;
		if (admit(s, l->route, fd, &ci, &src) < 0)
			continue;
		c = child_spawn(s, l->route, fd, &ci, s->config->kill_grace, &err);
		if (c) {
			child_started(s, c, &src);
		} else if (is_resource_error(-err)) {
			starve(s, NULL, -err);
			break;
		}
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
	state_release(c->rs);
	config_release(c->config);
}

static void child_uncount(struct server *s, struct child *c)
{
	c->rs->live--;
	if (c->source.kind)
		source_remove(&c->rs->sources, &c->source);
	s->nchildren--;
}

static void finish(struct server *s);

void server_child_exited(struct server *s, struct child *c)
{
	child_uncount(s, c);
	if (s->stopping) {
		if (s->nchildren == 0)
			finish(s);
		return;
	}
	/* A freed slot is the likeliest sign that resources are back. */
	if (s->starved) {
		s->starved = 0;
		uv_timer_stop(&s->retry_timer);
	}
	update_accepting(s);
}

static void signal_children(struct server *s, int sig)
{
	for (struct child *c = s->children; c; c = c->next)
		child_signal(c, sig, "shutdown");
}

/* ---- listeners ---- */

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

/* The listeners of config c: those of `old` with the same address are
 * taken over (they never stop listening), the others are opened. On
 * failure nothing of `old` has changed and what was opened is closed.
 * `kept` marks the old listeners taken over. */
static struct listener **open_listeners(struct server *s, struct config *c,
    struct listener **old, size_t nold, char *kept, size_t *n,
    char *err, size_t errlen)
{
	size_t total = 0, k = 0;
	struct listener **v;
	const struct listen_addr **olds = calloc(nold + 1, sizeof *olds);

	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	v = calloc(total ? total : 1, sizeof *v);
	if (!v || !olds) {
		free(v);
		free(olds);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (size_t o = 0; o < nold; o++)
		olds[o] = old[o]->addr;
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++) {
			const struct listen_addr *a = &c->routes[i].listen[j];
			size_t o = addr_find(a, olds, nold, kept);
			if (o < nold) {
				kept[o] = 1;
				v[k++] = old[o];
				continue;
			}
			v[k] = listener_open(&c->routes[i], a, err, errlen);
			if (v[k]) {
				v[k]->data = s;
				k++;
			} else if (err[0]) {
				/* Close only what was opened here. */
				for (size_t x = 0; x < k; x++)
					for (o = 0; o < nold; o++)
						if (v[x] == old[o])
							v[x] = NULL;
				close_listeners(v, k);
				free(v);
				free(olds);
				return NULL;
			}
		}
	free(olds);
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

/* Gives each kept listener the route (and address) of the new config
 * that listens on it. */
static void adopt_listeners(struct server *s, struct config *c)
{
	for (size_t i = 0; i < s->nlisteners; i++) {
		struct listener *l = s->listeners[i];
		for (size_t r = 0; r < c->nroutes; r++)
			for (size_t j = 0; j < c->routes[r].nlisten; j++)
				if (addr_same(l->addr, &c->routes[r].listen[j])) {
					listener_adopt(l, &c->routes[r], &c->routes[r].listen[j]);
					goto next;
				}
next:
		;
	}
}

void server_reload(struct server *s)
{
	char err[1024];
	struct config *c;
	struct listener **v;
	struct route_state **states;
	char *kept;
	size_t n = 0, opened = 0, closed = 0;
	struct logline l;

	if (s->stopping)
		return;
	c = config_load(s->config->path, err, sizeof err);
	if (!c) {
		reload_error(err);
		return;
	}
	kept = calloc(s->nlisteners + 1, 1);
	states = states_for(s, c);
	v = kept && states ? open_listeners(s, c, s->listeners, s->nlisteners,
	    kept, &n, err, sizeof err) : NULL;
	if (!v) {
		if (!kept || !states)
			snprintf(err, sizeof err, "%s", strerror(ENOMEM));
		reload_error(err);
		states_release(states, c->nroutes);
		free(kept);
		config_release(c);
		return;
	}
	/* Committed: from here on nothing fails. */
	for (size_t i = 0; i < s->nlisteners; i++)
		if (!kept[i]) {
			listener_close(s->listeners[i]);
			closed++;
		}
	free(kept);
	free(s->listeners);
	s->listeners = v;
	s->nlisteners = n;
	adopt_listeners(s, c);
	states_release(s->rstate, s->config->nroutes);
	s->rstate = states;
	config_release(s->config);
	s->config = c;
	log_set_format(c->log_format);
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
			child_uncount(s, c);
			n++;
		}
	return n;
}

static void stop(struct server *s, int sig)
{
	struct logline l;
	unsigned detached = 0;

	if (s->stopping) {
		/* A second signal: end the children now. */
		terminate_children(s);
		return;
	}
	s->stopping = 1;
	if (s->config->on_shutdown == SHUTDOWN_DETACH)
		detached = detach_children(s);
	log_begin(&l, "stop");
	log_str(&l, "signal", sigabbrev_np(sig));
	log_uint(&l, "children", s->nchildren);
	if (s->config->on_shutdown == SHUTDOWN_DETACH)
		log_uint(&l, "detached", detached);
	log_end(&l);
	close_listeners(s->listeners, s->nlisteners);
	s->nlisteners = 0;
	uv_timer_stop(&s->retry_timer);
	if (s->nchildren == 0) {
		finish(s);
		return;
	}
	uv_timer_start(&s->stop_timer, on_shutdown_grace_over,
	    ms(s->config->shutdown_grace), 0);
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct server *s = h->data;

	if (sig == SIGHUP)
		server_reload(s);
	else
		stop(s, sig);
}

/* ---- start ---- */

int server_start(struct server *s, uv_loop_t *loop, struct config *c)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	char err[1024], *kept = NULL;

	memset(s, 0, sizeof *s);
	s->loop = loop;
	s->rstate = states_for(s, c);
	s->listeners = s->rstate ? open_listeners(s, c, NULL, 0, kept,
	    &s->nlisteners, err, sizeof err) : NULL;
	if (!s->listeners) {
		log_fatal("%s", s->rstate ? err : strerror(ENOMEM));
		states_release(s->rstate, c->nroutes);
		s->rstate = NULL;
		return -1;
	}
	s->config = c;
	if (watch_listeners(s) < 0) {
		close_listeners(s->listeners, s->nlisteners);
		s->nlisteners = 0;
		states_release(s->rstate, c->nroutes);
		s->rstate = NULL;
		s->config = NULL;
		return -1;
	}
	uv_timer_init(loop, &s->retry_timer);
	uv_timer_init(loop, &s->stop_timer);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		uv_signal_init(loop, &s->sig[i]);
		s->sig[i].data = s;
		uv_signal_start(&s->sig[i], on_signal, sigs[i]);
	}
	update_accepting(s);
	return 0;
}

void server_free(struct server *s)
{
	if (s->config)
		states_release(s->rstate, s->config->nroutes);
	s->rstate = NULL;
	config_release(s->config);
	s->config = NULL;
	free(s->listeners);
	s->listeners = NULL;
	s->nlisteners = 0;
}
