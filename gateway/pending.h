/* Connections whose first bytes the gateway must read before a child can
 * start: a PROXY header (proxy_protocol), an HTTP request head (cgi and
 * nph routes). The gateway reads exactly those bytes and nothing more:
 * it peeks to find where they end and consumes what is known to belong
 * to them, so that the socket stays readable only while bytes wait
 * (libuv polls level-triggered) and the child reads the client's own
 * bytes from the first one after them. */
#ifndef GATEWAY_PENDING_H
#define GATEWAY_PENDING_H

#include "env.h"
#include "listener.h"

struct server;
struct pending;

/* Whether a listener's connections are read first. */
int pending_needed(const struct listener *l);

/* Takes an accepted socket of such a listener. */
void pending_start(struct server *s, struct listener *l, int fd,
    const struct conn_info *ci);

/* A slot may have freed: requests waiting for their route (on_busy =
 * wait) or the gateway-wide limit get another try. */
void pending_retry(struct server *s);

/* Drops every connection still being read (stop), or those of one
 * listener (which a reload closes), each logged refuse reason=why. */
void pending_drop(struct server *s, const struct listener *l, const char *why);

#endif
