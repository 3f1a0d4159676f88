/* The answers the gateway gives itself before a child has the socket: a
 * refused raw connection (its route's busy_message), an HTTP error page,
 * each logged, each written without blocking and
 * followed by a lingering close (linger.c), so that the answer is not
 * lost to a reset. Every function that takes fd (the connection's socket,
 * or the gateway's copy of it) closes it. */
#ifndef GATEWAY_REFUSE_H
#define GATEWAY_REFUSE_H

#include <stdint.h>
#include <uv.h>

#include "conn.h"

/* A raw route's refusal: busy_message (never for deny: for busy,
 * per_source and rate), then refuse. */
void refuse_raw(uv_loop_t *loop, const struct conn *c, int fd,
    const char *reason);

/* An HTTP refusal: 403 for deny, 429 for rate with Retry-After the
 * whole seconds of wait_ms (at least 1), else 503 with Retry-After;
 * refuse. */
void refuse_http(uv_loop_t *loop, const struct conn *c, int fd,
    const char *reason, uint64_t wait_ms);

/* An HTTP error page of the gateway's own (Connection: close), logged
 * http_error status=. */
void answer_http(uv_loop_t *loop, const struct conn *c, int fd, int status);

#endif
