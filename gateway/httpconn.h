/* One HTTP request on a cgi or nph route, once its head is read and the
 * request admitted: the child's start with the request's stdio, and the
 * two cases where bytes pass through the gateway, set going here: a cgi
 * program's response (relay.c) and a request body fed to the child's
 * stdin (body.c). */
#ifndef GATEWAY_HTTPCONN_H
#define GATEWAY_HTTPCONN_H

#include <uv.h>

#include "conn.h"
#include "http.h"

struct child;
struct http_spawn;
struct config;
struct http_owner;

/* Whoever runs requests (the single process, or a worker) gives its loop
 * and how a child is started and counted; it embeds this and finds itself
 * with container_of. */
struct http_owner {
	uv_loop_t *loop;
	/* Starts the connection's child with the request's stdio (hs),
	 * counted; NULL with *err (a libuv error) if it could not. */
	struct child *(*spawn)(struct http_owner *o, struct conn *c,
	    const struct http_spawn *hs, int *err);
};

/* Starts the child of a request already admitted, on c->route. Takes the
 * caller's reference to c, and req; returns the child, or NULL when it
 * could not start (the client has been answered). */
struct child *http_run(struct http_owner *o, struct conn *c,
    struct http_request *req);

#endif
