/* The server's set of listeners: opened from a config, shared by the
 * HTTP routes written with one address, and carried over a SIGHUP reload
 * (a listener whose address stays never stops listening). */
#include "server_int.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_diff.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "pending.h"
#include "pool.h"

static void log_listen(const struct listener *l)
{
	struct logline line;

	log_begin(&line, "listen");
	log_str(&line, "route", l->route->name);
	log_str(&line, "addr", l->name);
	if (l->passed)
		log_str(&line, "systemd", addr_systemd_name(l->addr));
	log_end(&line);
}

void server_close_listeners(struct listener **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			listener_close(v[i]);
}

int server_attach_routes(struct server *s)
{
	struct config_diff d;

	if (config_diff(NULL, s->config, &d) < 0)
		return -ENOMEM;
	for (size_t a = 0; a < d.n; a++)
		for (size_t k = 0; d.v[a].joins && k < s->nlisteners; k++)
			if (s->listeners[k]->addr == d.v[a].joins &&
			    listener_add_route(s->listeners[k], d.v[a].route) < 0) {
				config_diff_free(&d);
				return -ENOMEM;
			}
	config_diff_free(&d);
	return 0;
}

/* The listener of old on address a, or nold. */
static size_t listener_on(struct listener **old, size_t nold,
    const struct listen_addr *a)
{
	size_t o = 0;

	while (o < nold && old[o]->addr != a)
		o++;
	return o;
}

struct listener **server_open_listeners(struct server *s, struct config *c,
    struct listener **old, size_t nold, char *kept, size_t *n,
    struct adoption *to, char *err, size_t errlen)
{
	struct config_diff d;
	struct listener **v = NULL;
	size_t k = 0;

	if (config_diff(s->config, c, &d) < 0 ||
	    !(v = calloc(d.n ? d.n : 1, sizeof *v))) {
		config_diff_free(&d);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	for (size_t a = 0; a < d.n; a++) {
		const struct addr_diff *e = &d.v[a];
		size_t o = e->keeps ? listener_on(old, nold, e->keeps) : nold;
		if (e->joins)
			continue; /* attach_routes adds it to that socket */
		if (to) {
			to[k].route = e->route;
			to[k].addr = e->addr;
		}
		if (o < nold) {
			kept[o] = 1;
			v[k++] = old[o];
			continue;
		}
		v[k] = listener_open(e->route, e->addr, err, errlen);
		if (v[k]) {
			v[k]->data = s;
			k++;
		} else if (err[0]) {
			/* Undo only what was opened here. */
			for (size_t x = 0; x < k; x++)
				for (o = 0; o < nold; o++)
					if (v[x] == old[o])
						v[x] = NULL;
			for (size_t x = 0; x < k; x++)
				if (v[x])
					listener_discard(v[x]);
			free(v);
			config_diff_free(&d);
			return NULL;
		}
	}
	config_diff_free(&d);
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

static void reload_error(struct server *s, const char *msg)
{
	struct logline l;

	s->metrics.reload_errors++;
	log_begin(&l, "reload_error");
	log_str(&l, "error", msg);
	log_end(&l);
	notify_reloaded("reload failed, the config before it kept: %s", msg);
}


/* What takes a restart: the workers, the control socket, the agent's
 * port. A change is logged and the running value kept. */
static void keep_restart_keys(struct server *s, struct config *c)
{
	const struct config *o = s->config;

	if (c->workers != o->workers) {
		log_warnx("workers: a change takes a restart; keeping %u", o->workers);
		c->workers = o->workers;
	}
	if (c->has_control != o->has_control || c->control_mode != o->control_mode ||
	    (c->has_control && !addr_same(&c->control, &o->control)))
		log_warnx("control: a change takes a restart; keeping %s",
		    o->has_control ? o->control.text : "none");
	if (c->has_agent != o->has_agent ||
	    (c->has_agent && !addr_same(&c->agent, &o->agent)))
		log_warnx("agent: a change takes a restart; keeping %s",
		    o->has_agent ? o->agent.text : "none");
	if (strcmp(c->metrics.text, o->metrics.text) != 0 ||
	    c->metrics_mode != o->metrics_mode) {
		log_warnx("metrics: a change takes a restart; keeping %s",
		    o->metrics.text[0] ? o->metrics.text : "none");
		c->metrics = o->metrics;
		c->metrics_mode = o->metrics_mode;
	}
}

void server_reload(struct server *s)
{
	char err[1024];

	server_reload_now(s, err, sizeof err);
}

int server_reload_now(struct server *s, char *err, size_t errlen)
{
	struct config *c;
	struct listener **v;
	struct route_state **states;
	struct adoption *to;
	char *kept;
	size_t n = 0, opened = 0, closed = 0, total = 0;
	struct logline l;

	if (s->stopping) {
		snprintf(err, errlen, "the gateway is stopping");
		return -1;
	}
	notify_reloading();
	c = config_load(s->config->path, err, errlen);
	if (!c) {
		reload_error(s, err);
		return -1;
	}
	keep_restart_keys(s, c);
	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	kept = calloc(s->nlisteners + 1, 1);
	to = calloc(total + 1, sizeof *to);
	states = server_states_for(s, c);
	v = kept && to && states ? server_open_listeners(s, c, s->listeners,
	    s->nlisteners, kept, &n, to, err, errlen) : NULL;
	if (!v) {
		if (!kept || !to || !states)
			snprintf(err, errlen, "%s", strerror(ENOMEM));
		reload_error(s, err);
		route_states_release(states, c->nroutes);
		free(kept);
		free(to);
		config_release(c);
		return -1;
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
	route_states_release(s->rstate, s->config->nroutes);
	s->rstate = states;
	config_release(s->config);
	s->config = c;
	if (server_attach_routes(s) < 0)
		log_warnx("reload: %s: a shared listener lost routes", strerror(ENOMEM));
	log_set_format(c->log_format);
	server_metrics_routes(s);
	s->generation++;
	s->loaded = time(NULL);
	if (s->pool)
		pool_reload(s->pool);
	for (size_t i = 0; i < n; i++)
		opened += !v[i]->watching;
	if (server_watch_listeners(s, err, errlen) < 0) {
		reload_error(s, err);
	} else {
		s->metrics.reloads++;
		err[0] = '\0';
	}
	log_begin(&l, "reload");
	log_str(&l, "config", c->path);
	log_uint(&l, "routes", c->nroutes);
	log_uint(&l, "listeners", n);
	log_uint(&l, "opened", opened);
	log_uint(&l, "closed", closed);
	log_end(&l);
	notify_reloaded("reloaded: %zu routes, %u children", c->nroutes, s->nchildren);
	/* Connections waiting for a place choose their route again, in the
	 * new config: the one they were waiting under may be gone. */
	pending_retry(&s->reading);
	server_update_accepting(s);
	return err[0] ? -1 : 0;
}
