#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "metrics.h"
#include <uv.h>

static unsigned long nconns;

unsigned long conn_count(void)
{
	return nconns;
}

struct conn *conn_new(int fd, const struct conn_info *ci, struct config *c,
    const struct route *r)
{
	struct conn *conn = calloc(1, sizeof *conn);

	if (!conn)
		return NULL;
	nconns++;
	conn->refs = 1;
	conn->fd = fd;
	conn->ci = *ci;
	conn->config = c;
	config_hold(c);
	conn->route = r;
	conn->born = uv_hrtime();
	return conn;
}

void conn_hold(struct conn *c)
{
	c->refs++;
}

/* Most connections have none: the copy is made only for those that do,
 * so that a connection costs a few hundred bytes less. */
int conn_set_tlvs(struct conn *c, const struct proxy_tlvs *t)
{
	if (!t->ssl && !t->authority[0] && !t->alpn[0] && !t->unique_id[0])
		return 0;
	if (!c->tlvs && !(c->tlvs = malloc(sizeof *c->tlvs)))
		return -ENOMEM;
	*c->tlvs = *t;
	return 0;
}

void conn_release(struct conn *c)
{
	if (--c->refs > 0)
		return;
	if (c->fd >= 0)
		close(c->fd);
	slot_release(&c->slot);
	config_release(c->config);
	free(c->tlvs);
	free(c);
	nconns--;
}

void conn_set_route(struct conn *c, struct config *cfg, const struct route *r)
{
	config_hold(cfg);
	config_release(c->config);
	c->config = cfg;
	c->route = r;
}

int conn_take_fd(struct conn *c)
{
	int fd = c->fd;

	c->fd = -1;
	return fd;
}

void conn_log_fields(struct logline *l, const struct conn *c)
{
	log_str(l, "route", c->route->name);
	log_uint(l, "conn", c->ci.id);
}

void conn_remote_text(const struct conn_info *ci, char *out, size_t len)
{
	snprintf(out, len, strchr(ci->remote_ip, ':') ? "[%s]:%u" : "%s:%u",
	    ci->remote_ip, ci->remote_port);
}

void conn_log_peer(struct logline *l, const struct conn *c)
{
	const struct conn_info *ci = &c->ci;
	char peer[96];

	if (ci->tcp) {
		conn_remote_text(ci, peer, sizeof peer);
		log_str(l, "peer", peer);
	} else if (ci->have_cred) {
		log_uint(l, "uid", ci->uid);
		log_uint(l, "gid", ci->gid);
		/* pid= is the child's in the events that carry both. */
		log_int(l, "peer_pid", ci->pid);
	}
	if (ci->via[0])
		log_str(l, "via", ci->via);
}

void conn_event(const struct conn *c, const char *event, const char *reason)
{
	struct logline l;

	log_begin(&l, event);
	conn_log_fields(&l, c);
	conn_log_peer(&l, c);
	if (reason)
		log_str(&l, "reason", reason);
	log_end(&l);
	if (reason && strcmp(event, "refuse") == 0)
		stats_refused(c->route->stats, reason);
}
