/* What the parts of the server share: server.c (accepting, the limits,
 * dispatching, the children), stop.c (signals, drain_delay, and the way
 * it stops), reload.c (the set of listeners, and the reload that carries
 * it over), admin.c (the control socket's commands, the agent-check) and
 * worker.c (a worker's side). */
#ifndef GATEWAY_SERVER_INT_H
#define GATEWAY_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct server;
struct config;
struct route;
struct route_state;
struct listener;
struct listen_addr;
struct conn;
struct child;
struct control_answer;

/* Route states for each route of c: the running config's state of the
 * same name (its children count toward the new limits), or a new one;
 * route_states_release (slot.h) lets them go. */
struct route_state **server_states_for(struct server *s, struct config *c);

/* A server with nothing open yet, on loop. */
void server_init(struct server *s, uv_loop_t *loop);

/* Polls each listener or not, as the limits and resources say. */
void server_update_accepting(struct server *s);
void server_on_readable(struct listener *l);

/* Keeps a client (the caller's reference) that cannot have its child yet (the gateway is short of
 * descriptors, memory or processes: err, which pauses and is logged; or
 * 0, behind others already kept). It is spawned, in order, when they are
 * back. */
void server_hold(struct server *s, struct conn *c, int err);

/* What the held queue asks of the server (server_held.c). */
extern const struct held_hooks server_held_hooks;

/* Short of descriptors or processes: accepting pauses until a child
 * exits or a second has passed; event (accept_error or spawn_error) is
 * logged at most about once a second. */
void server_starve(struct server *s, const char *event, const struct route *r,
    const char *addr, int err);

/* The service manager's STATUS= line, kept current. */
void server_tell_status(struct server *s);

/* admin.c: the control socket and the agent-check port, if the config
 * sets them (main process only). 0, or -1 with err saying why. */
int server_open_admin(struct server *s, char *err, size_t errlen);
void server_close_admin(struct server *s);

/* Ends connection id, reason=admin: its child's kill path, or, with no
 * child yet, the client closed. 1, or 0 when there is no such connection
 * here. */
int server_end_conn(struct server *s, uint64_t id);

/* Whether every route of the listener is drained. */
int server_listener_drained(struct server *s, const struct listener *l);

/* Whether route r is drained. */
int server_route_drained(struct server *s, const struct route *r);

/* stop.c: a stop for signal sig (a second one ends the children). */
void server_stop_sig(struct server *s, int sig);

/* While stopping: finishes once no child and no worker is left. */
void server_finish_when_done(struct server *s);

/* The child joins the server's list and counts. */
void server_child_started(struct server *s, struct child *c);

/* upgrade.c (the old image) and takeover.c (the new): re-executes the
 * gateway's binary in place (SIGUSR2, or the
 * control socket's `upgrade`, whose answer a is given once the outcome
 * is known: by the new image when it succeeds). */
void server_upgrade(struct server *s, struct control_answer *a);

/* The timers and the signal handlers every server has. */
void server_start_handles(struct server *s);

/* Where a listener goes in a new config. */
struct adoption {
	const struct route *route;
	const struct listen_addr *addr;
};

/* The listeners of config c: those of `old` (the listeners of s->config,
 * none at the start) that config_diff says c keeps are taken over (they
 * never stop listening), the others are opened. On failure nothing of
 * `old` has changed and what was opened is closed. `kept` marks the old
 * listeners taken over; `to[k]` is the address of c that listener k
 * serves (where a kept one goes). */
struct listener **server_open_listeners(struct server *s, struct config *c,
    struct listener **old, size_t nold, char *kept, size_t *n,
    struct adoption *to, char *err, size_t errlen);

/* Adds to each listener the other routes that share its socket. */
int server_attach_routes(struct server *s);

/* Watches the listeners that are new. Returns 0 or a libuv error. */
int server_watch_listeners(struct server *s, char *err, size_t errlen);

void server_close_listeners(struct listener **v, size_t n);

/* The figures (server_metrics.c): the counters of the running config's
 * routes (after each change of config), the endpoint, and a worker's
 * sending of its counts to the main process. */
void server_metrics_routes(struct server *s);
int server_metrics_start(struct server *s, char *err, size_t errlen);
void server_metrics_stop(struct server *s);
void server_metrics_worker(struct server *s);
void server_metrics_worker_stop(struct server *s);

#endif
