/* Connections whose first bytes the gateway must read before a child can
 * start: a PROXY header (proxy_protocol), an HTTP request head (cgi and
 * nph routes). The gateway reads exactly those bytes and nothing more:
 * it peeks to find where they end and consumes what is known to belong
 * to them, so that the socket stays readable only while bytes wait
 * (libuv polls level-triggered) and the child reads the client's own
 * bytes from the first one after them. */
#ifndef GATEWAY_PENDING_H
#define GATEWAY_PENDING_H

#include <stdint.h>
#include <uv.h>

#include "conn.h"
#include "http.h"
#include "listener.h"
#include "queue.h"
#include "source.h"

struct pending;
struct pending_set;

/* What the owner of the connections being read hears of them, and the
 * two counts it keeps that they are judged by. The owner embeds the set
 * and finds itself with container_of. */
struct pending_hooks {
	/* Read as far as it must be, its route chosen (c->route): a raw
	 * route's connection after its PROXY header (req NULL), or an HTTP
	 * request with its head (headlen bytes). A reference to c and req
	 * are handed over. */
	void (*ready)(struct pending_set *set, struct listener *l,
	    struct conn *c, struct http_request *req, const char *head,
	    size_t headlen);
	/* The running config, which the listeners' routes live in. */
	struct config *(*config)(struct pending_set *set);
	/* Whether a request for r must wait for a slot (on_busy = wait at
	 * its max_children, or the gateway at its own). */
	int (*must_wait)(struct pending_set *set, const struct route *r);
	/* A request about to wait for a slot of its route (c->route): its
	 * connection rate checked now, a token taken, so that one over the
	 * rate is refused at once and never waits. 0, or -1 (refused) with
	 * *wait_ms until a token is back. */
	int (*rate)(struct pending_set *set, struct conn *c, uint64_t *wait_ms);
	/* The route's children alive for one source. */
	unsigned (*source_live)(struct pending_set *set, const struct route *r,
	    const struct source_key *k);
	/* A place under max_pending may have freed. */
	void (*changed)(struct pending_set *set);
};

struct pending_set {
	uv_loop_t *loop;
	const struct pending_hooks *hooks;
	struct queue list;              /* queue_init it first */
};

/* Whether a listener's connections are read first. */
int pending_needed(const struct listener *l);

/* Takes a connection accepted on such a listener (the caller's
 * reference). */
void pending_start(struct pending_set *set, struct listener *l, struct conn *c);

/* A slot may have freed: requests waiting for their route (on_busy =
 * wait) or the gateway-wide limit get another try. */
void pending_retry(struct pending_set *set);

/* Drops every connection still being read (stop), or those of one
 * listener (which a reload closes), each logged refuse reason=why. */
void pending_drop(struct pending_set *set, const struct listener *l, const char *why);

/* Tells fn of each connection being read, or read and waiting for a
 * place. */
void pending_each(struct pending_set *set, conn_visit_fn *fn, void *arg);

/* Closes the connection numbered id, if it is here, logged refuse
 * reason=why: 1, or 0 when it is not. */
int pending_close(struct pending_set *set, uint64_t id, const char *why);

/* Across an in-place upgrade: where a connection's reading stands (its
 * stage, the bytes read so far, the time left before it times out). */
enum pending_stage { PENDING_PROXY, PENDING_HEAD, PENDING_WAIT };

typedef void pending_hand_fn(void *arg, const struct listener *l,
    const struct conn *c, enum pending_stage stage, const char *buf,
    size_t len, uint64_t left_ms);

/* Tells fn of each connection being read or waiting for a place. */
void pending_hand_each(struct pending_set *set, pending_hand_fn *fn, void *arg);

/* Takes up a connection an image before an upgrade was reading on l (the
 * caller's reference to c), where it stood. */
void pending_resume(struct pending_set *set, struct listener *l, struct conn *c,
    enum pending_stage stage, const char *buf, size_t len, uint64_t left_ms);

#endif
