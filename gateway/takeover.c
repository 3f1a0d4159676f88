/* The new image's side of an in-place upgrade, once its config and
 * listeners are up: the running children it was handed (counted and
 * watched as its own), then the connections still being read, the
 * counters, the upgrade event, and the answer to the control client
 * that asked for it. */
#include "server_int.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admit.h"
#include "child.h"
#include "handover.h"
#include "linger.h"
#include "log.h"
#include "util.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif


/* A handed child of route name, its connection rebuilt from what was
 * written: counted and watched as one spawned here. */
static int take_child(struct server *s, struct handed_child *h)
{
	const struct route *r = NULL;
	struct conn *conn;
	struct child *c;
	int err;

	for (size_t i = 0; i < s->config->nroutes && !r; i++)
		if (strcmp(s->config->routes[i].name, h->route) == 0)
			r = &s->config->routes[i];
	if (!r)
		return -ENOENT;
	if (!(conn = conn_new(-1, &h->ci, s->config, r)))
		return -ENOMEM;
	if (!(c = calloc(1, sizeof *c))) {
		conn_release(conn);
		return -ENOMEM;
	}
	conn->born = h->started;
	admit_source_of(&conn->ci, &conn->src);
	h->taken = 1;           /* errfd: child_adopt's now */
	/* child_adopt frees c through its owner if it fails. */
	err = child_adopt(c, s->loop, &s->child_owner, h->pid, conn, h->started,
	    s->config->kill_grace, h->errfd);
	if (err == 0)
		server_child_started(s, c);
	conn_release(conn);
	return err;
}

/* A connection the image before was reading, on the listener of the
 * same address, where its reading stood. */
static void take_reading(struct server *s, struct handed_reading *h)
{
	struct listener *l = NULL;
	struct conn *c;

	/* The listener of the same route first (two may have written the
	 * same address: port 0), then of any. */
	for (size_t i = 0; i < 2 * s->nlisteners && !l; i++) {
		struct listener *x = s->listeners[i % s->nlisteners];

		if (x->addr->family == h->family && strcmp(x->addr->text, h->text) == 0 &&
		    (i >= s->nlisteners || strcmp(x->route->name, h->route) == 0))
			l = x;
	}
	if (!l || !(c = conn_new(h->fd, &h->ci, s->config, l->route))) {
		log_warnx("upgrade: connection %llu on %s: %s; closed", h->ci.id, h->text,
		    l ? strerror(ENOMEM) : "the config no longer listens there");
		close(h->fd);
		h->taken = 1;
		return;
	}
	h->taken = 1;
	c->born = h->born;
	if (h->have_tlvs)
		conn_set_tlvs(c, &h->tlvs);
	pending_resume(&s->reading, l, c, (enum pending_stage)h->stage, h->buf,
	    h->len, h->left_ms);
}

/* The control client that asked for the upgrade, if one did: its answer,
 * then a close that reads what else it sent first (a close with bytes
 * unread would reset the answer away). */
static void reply(struct server *s, struct handover *h, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply(struct server *s, struct handover *h, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	ssize_t w;
	int len;

	if (h->reply < 0)
		return;
	va_start(ap, fmt);
	len = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof line)
		len = sizeof line - 1;
	fcntl(h->reply, F_SETFL, fcntl(h->reply, F_GETFL) & ~O_NONBLOCK);
	do
		w = write(h->reply, line, (size_t)len);
	while (w < 0 && errno == EINTR);
	linger_close(s->loop, h->reply);
	h->reply = -1;
}

void server_take_over(struct server *s, struct handover *h)
{
	unsigned taken = 0, lost = 0;
	struct logline l;

	s->started = h->started;
	s->last_conn = h->last_conn;
	/* The counters, if they are of this binary's shape. */
	if (h->metrics_size == sizeof(struct stats_counts)) {
		metrics_merge(&s->metrics, h->metrics, h->metrics_len);
		s->metrics.reloads += h->reloads;
		s->metrics.reload_errors += h->reload_errors;
		if (h->metrics_start_ms)
			s->metrics.start_time = (double)h->metrics_start_ms / 1000;
	}
	for (size_t i = 0; i < h->nchildren; i++) {
		int err;

		if (h->children[i].taken)
			continue;       /* a worker's, which the pool has */
		err = take_child(s, &h->children[i]);
		if (err < 0) {
			log_warnx("upgrade: child %d of [%s]: %s", (int)h->children[i].pid,
			    h->children[i].route, strerror(-err));
			lost++;
		} else {
			taken++;
		}
	}
	/* After the children, which count toward the places these wait for. */
	for (size_t i = 0; i < h->nreading; i++)
		take_reading(s, &h->reading[i]);
	if (handover_failed()) {
		/* Fallen back to: the new binary has said why (upgrade_error). */
		log_begin(&l, "upgrade_undone");
		log_str(&l, "version", VERSION);
		log_str(&l, "error", handover_failed());
		log_uint(&l, "children", taken);
		log_end(&l);
		reply(s, h, "error: %.400s\n", handover_failed());
		server_tell_status(s);
		return;
	}
	log_begin(&l, "upgrade");
	log_str(&l, "from", h->version);
	log_str(&l, "version", VERSION);
	log_int(&l, "pid", getpid());
	log_uint(&l, "children", taken);
	log_uint(&l, "workers", (unsigned)h->nworkers);
	log_uint(&l, "reading", (unsigned)h->nreading);
	log_end(&l);
	if (lost)
		reply(s, h, "upgraded from %s to %s\nerror: some children could not be "
		    "taken over (see the log)\n", h->version, VERSION);
	else
		reply(s, h, "upgraded from %s to %s\nok\n", h->version, VERSION);
	server_tell_status(s);
}
