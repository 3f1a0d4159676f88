/* The server's set of listeners: opened from a config, shared by the
 * HTTP routes written with one address, and carried over a SIGHUP reload
 * (a listener whose address stays never stops listening). */
#include "server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listener.h"
#include "log.h"
#include "pending.h"
#include "pool.h"

static void log_listen(const struct listener *l)
{
	struct logline line;

	log_begin(&line, "listen");
	log_str(&line, "route", l->route->name);
	log_str(&line, "addr", l->name);
	log_end(&line);
}

void server_close_listeners(struct listener **v, size_t n)
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

int server_attach_routes(struct server *s)
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

struct listener **server_open_listeners(struct server *s, struct config *c,
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
				server_close_listeners(v, k);
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
 * route. Returns 0, or a libuv error with err saying which listener. */
int server_watch_listeners(struct server *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->nlisteners; i++) {
		struct listener *l = s->listeners[i];
		int r;
		if (l->watching)
			continue;
		r = listener_watch(l, s->loop, server_on_readable);
		if (r < 0) {
			snprintf(err, errlen, "listen %s: %s", l->name, uv_strerror(r));
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
		log_warnx("workers: a change takes a restart; keeping %u", s->config->workers);
		c->workers = s->config->workers;
	}
	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	kept = calloc(s->nlisteners + 1, 1);
	to = calloc(total + 1, sizeof *to);
	states = server_states_for(s, c);
	v = kept && to && states ? server_open_listeners(s, c, s->listeners,
	    s->nlisteners, kept, &n, to, err, sizeof err) : NULL;
	if (!v) {
		if (!kept || !to || !states)
			snprintf(err, sizeof err, "%s", strerror(ENOMEM));
		reload_error(err);
		server_states_release(states, c->nroutes);
		free(kept);
		free(to);
		config_release(c);
		return;
	}
	/* Committed: from here on nothing fails. */
	for (size_t i = 0; i < s->nlisteners; i++)
		if (!kept[i]) {
			pending_drop(&s->reading, s->listeners[i], "reload");
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
	server_states_release(s->rstate, s->config->nroutes);
	s->rstate = states;
	config_release(s->config);
	s->config = c;
	if (server_attach_routes(s) < 0)
		log_warnx("reload: %s: a shared listener lost routes", strerror(ENOMEM));
	log_set_format(c->log_format);
	s->generation++;
	if (s->pool)
		pool_reload(s->pool);
	for (size_t i = 0; i < n; i++)
		opened += !v[i]->watching;
	if (server_watch_listeners(s, err, sizeof err) < 0)
		reload_error(err);
	log_begin(&l, "reload");
	log_str(&l, "config", c->path);
	log_uint(&l, "routes", c->nroutes);
	log_uint(&l, "listeners", n);
	log_uint(&l, "opened", opened);
	log_uint(&l, "closed", closed);
	log_end(&l);
	server_update_accepting(s);
}
