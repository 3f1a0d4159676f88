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

static struct route_state *state_of(struct server *s, const struct route *r)
{
	return &s->rstate[r - s->config->routes];
}

static int route_full(struct server *s, const struct route *r)
{
	return r->max_children && state_of(s, r)->live >= r->max_children;
}

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
		listener_accepting(&s->listeners[i], may_accept(s, &s->listeners[i]));
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

static void child_started(struct server *s, struct child *c,
    const struct source_key *src)
{
	struct route_state *rs = state_of(s, c->route);

	c->rs = rs;
	c->source = *src;
	rs->live++;
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
}

static void finish(struct server *s);

static void child_uncount(struct server *s, struct child *c)
{
	c->rs->live--;
	if (c->source.kind)
		source_remove(&c->rs->sources, &c->source);
	s->nchildren--;
}

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

static void close_listeners(struct server *s)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		listener_close(&s->listeners[i]);
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
	close_listeners(s);
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

	if (sig == SIGHUP) {
		log_warning("SIGHUP: reload is not supported by this version; the config is unchanged");
		return;
	}
	stop(s, sig);
}

/* ---- start ---- */

static int open_listeners(struct server *s)
{
	struct config *c = s->config;
	size_t total = 0;
	char err[512];

	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	s->listeners = calloc(total, sizeof *s->listeners);
	if (!s->listeners) {
		log_fatal("%s", strerror(ENOMEM));
		return -1;
	}
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++) {
			struct listener *l = &s->listeners[s->nlisteners];
			int r = listener_open(l, &c->routes[i], &c->routes[i].listen[j],
			    err, sizeof err);
			if (r < 0) {
				log_fatal("%s", err);
				close_listeners(s);
				return -1;
			}
			if (r == 0)
				s->nlisteners++;
		}
	return 0;
}

int server_start(struct server *s, uv_loop_t *loop, struct config *c)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	memset(s, 0, sizeof *s);
	s->loop = loop;
	s->config = c;
	s->rstate = calloc(c->nroutes, sizeof *s->rstate);
	if (!s->rstate) {
		log_fatal("%s", strerror(ENOMEM));
		return -1;
	}
	if (open_listeners(s) < 0)
		return -1;
	for (size_t i = 0; i < s->nlisteners; i++) {
		struct listener *l = &s->listeners[i];
		struct logline line;
		int r;
		l->data = s;
		r = listener_watch(l, loop, on_readable);
		if (r < 0) {
			log_fatal("listen %s: %s", l->name, uv_strerror(r));
			close_listeners(s);
			return -1;
		}
		log_begin(&line, "listen");
		log_str(&line, "route", l->route->name);
		log_str(&line, "addr", l->name);
		log_end(&line);
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
	for (size_t i = 0; s->rstate && i < s->config->nroutes; i++)
		source_table_free(&s->rstate[i].sources);
	free(s->rstate);
	s->rstate = NULL;
	free(s->listeners);
	s->listeners = NULL;
	s->nlisteners = 0;
}
