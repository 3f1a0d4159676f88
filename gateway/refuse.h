/* The answers the gateway gives itself, and the one line each connection
 * event leaves in the log: a refused raw connection (its route's
 * busy_message), an HTTP error page, each written without blocking and
 * followed by a lingering close (linger.c), so that the answer is not
 * lost to a reset. Every function that takes fd closes it. */
#ifndef GATEWAY_REFUSE_H
#define GATEWAY_REFUSE_H

#include <uv.h>

#include "config.h"
#include "env.h"
#include "log.h"

/* The fields that name a connection in every event about it: route= and
 * conn=; then the peer: peer= (TCP, or a PROXY header's source) or a Unix
 * peer's uid= gid= peer_pid=, and via= (the proxy) when a header was
 * believed. */
void conn_log_fields(struct logline *l, const struct route *r,
    const struct conn_info *ci);
void conn_log_peer(struct logline *l, const struct conn_info *ci);

/* One connection event: event=, route=, conn=, the peer's fields, and
 * reason= unless NULL (refuse, gone). */
void conn_event(const char *event, const struct route *r,
    const struct conn_info *ci, const char *reason);

/* A raw route's refusal: busy_message (never for deny), then refuse. */
void refuse_raw(uv_loop_t *loop, const struct route *r, int fd,
    const struct conn_info *ci, const char *reason);

/* An HTTP refusal: 403 for deny, else 503 with Retry-After; refuse. */
void refuse_http(uv_loop_t *loop, const struct route *r, int fd,
    const struct conn_info *ci, const char *reason);

/* An HTTP error page of the gateway's own (Connection: close), logged
 * http_error status=. */
void answer_http(uv_loop_t *loop, const struct route *r, int fd,
    const struct conn_info *ci, int status);

#endif
