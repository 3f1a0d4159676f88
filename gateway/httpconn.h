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
#include "source.h"

struct server;

/* A parsed request for route r, accepted on l: checked, then handed to
 * a worker with its head (headlen bytes) or run here. Takes fd and req. */
void http_start(struct server *s, struct listener *l, const struct route *r,
    int fd, struct conn_info *ci, struct http_request *req,
    const char *head, size_t headlen);

/* Starts the route's child for a request already admitted (src is its
 * source, as counted). Takes fd and req; returns the child, or NULL when
 * it could not start (the client has been answered). */
struct child *http_run(struct server *s, const struct route *r, int fd,
    const struct conn_info *ci, const struct source_key *src,
    struct http_request *req);

#endif
