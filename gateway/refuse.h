/* The answers the gateway gives itself before a child has the socket: a
 * refused raw connection (its route's busy_message), an HTTP error page,
 * each logged, each written without blocking and
 * followed by a lingering close (linger.c), so that the answer is not
 * lost to a reset. Every function that takes fd (the connection's socket,
 * or the gateway's copy of it) closes it. */
#ifndef GATEWAY_REFUSE_H
#define GATEWAY_REFUSE_H

#include <uv.h>

#include "conn.h"

/* A raw route's refusal: busy_message (never for deny), then refuse. */
void refuse_raw(uv_loop_t *loop, const struct conn *c, int fd,
    const char *reason);

/* An HTTP refusal: 403 for deny, else 503 with Retry-After; refuse. */
void refuse_http(uv_loop_t *loop, const struct conn *c, int fd,
    const char *reason);

/* An HTTP error page of the gateway's own (Connection: close), logged
 * http_error status=. */
void answer_http(uv_loop_t *loop, const struct conn *c, int fd, int status);

#endif
