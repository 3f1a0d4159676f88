/* One HTTP request on a cgi or nph route, once its head is read: the
 * checks answered in HTTP, the child's start, and the two cases where
 * bytes pass through the gateway: a cgi program's response (its header
 * block becomes a status line) and a chunked request body (decoded into
 * a pipe to the child's stdin). */
#ifndef GATEWAY_HTTPCONN_H
#define GATEWAY_HTTPCONN_H

#include "env.h"
#include "http.h"
#include "listener.h"

struct server;

/* Answers status itself (an error page with Connection: close), logs
 * http_error, and closes fd after lingering. */
void http_answer(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci, int status);

/* Starts the route's child for a parsed request; takes fd and req. */
void http_start(struct server *s, struct listener *l, const struct route *r,
    int fd, struct conn_info *ci, struct http_request *req);

#endif
