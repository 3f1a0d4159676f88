/* One client connection, from accept to its last byte. The object holds
 * what the connection is: its socket while the gateway has it, its
 * addresses (copies), the route it is for and a counted reference to the
 * config that route lives in, its place in the counts while its child
 * lives, and the fields that name it in every log line. It moves through
 * one chain: accepted (server.c) → being read, a PROXY header or an HTTP
 * head (pending.c) → admitted and its route chosen → waiting, if the
 * gateway is short of resources (held.c) → dispatched: its child started
 * (child.c, httpconn.c for HTTP) or handed to a worker (pool.c) → done.
 * Each stage that has it holds a reference; conn_release of the last one
 * is the one place a connection is freed. */
#ifndef GATEWAY_CONN_H
#define GATEWAY_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "env.h"
#include "log.h"
#include "slot.h"
#include "source.h"

struct child;

struct conn {
	unsigned refs;
	struct conn_info ci;            /* its addresses; ci.id numbers it */
	struct proxy_tlvs *tlvs;        /* what a PROXY v2 header's TLVs said; NULL: nothing */
	struct config *config;          /* held: route points into it */
	const struct route *route;      /* its route (an HTTP one once chosen) */
	struct source_key src;          /* the source it counts toward */
	struct slot slot;               /* its place in the counts, if taken */
	int fd;                         /* the socket while the gateway has it */
	struct child *child;            /* its child while there is one (child.c) */
	int body_error;                 /* HTTP: the status a body that ended early leaves */
	int rated;                      /* its route's rate was checked (a token taken) */
	uint64_t born;                  /* uv_hrtime() at accept */
};

/* What a listing of the live connections is told of each: its child's
 * pid (0: none yet) and its state, "reading" (a PROXY header or an HTTP
 * head), "waiting" (for a place) or "running" (its child). */
typedef void conn_visit_fn(void *arg, const struct conn *c, pid_t pid,
    const char *state);

/* A connection on socket fd (taken) for route r of config c (held).
 * NULL when out of memory: fd is then still the caller's. */
struct conn *conn_new(int fd, const struct conn_info *ci, struct config *c,
    const struct route *r);

void conn_hold(struct conn *c);

/* How many connections the process has, from accept to their end. */
unsigned long conn_count(void);

/* Keeps a copy of what a PROXY v2 header's TLVs said, if they said
 * anything. 0, or -ENOMEM. */
int conn_set_tlvs(struct conn *c, const struct proxy_tlvs *t);

/* Drops a reference; the last one closes the socket if the gateway still
 * has it and lets go of the config. Its place in the counts must be given
 * up before (whoever counted it knows how). */
void conn_release(struct conn *c);

/* The route it is for now, in config cfg (held; the old one is let go). */
void conn_set_route(struct conn *c, struct config *cfg, const struct route *r);

/* Hands the socket on: the caller has it now. */
int conn_take_fd(struct conn *c);

/* "HOST:PORT" ("[HOST]:PORT" for v6) of ci's remote address. */
void conn_remote_text(const struct conn_info *ci, char *out, size_t len);

/* The fields that name a connection in every event about it: route= and
 * conn=; then the peer: peer= (TCP, or a PROXY header's source) or a Unix
 * peer's uid= gid= peer_pid=, and via= (the proxy) when a header was
 * believed. */
void conn_log_fields(struct logline *l, const struct conn *c);
void conn_log_peer(struct logline *l, const struct conn *c);

/* The one way a connection event is written: event=, the connection's
 * fields, the peer's, and reason= unless NULL (refuse, gone). */
void conn_event(const struct conn *c, const char *event, const char *reason);

#endif
