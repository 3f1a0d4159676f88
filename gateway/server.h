/* The running gateway: its listeners, its children, the limits between
 * them, reload, and the way it stops. server.c accepts, counts, spawns
 * and stops; reload.c holds the set of listeners and the reload that
 * carries it over; admin.c serves the control socket and the
 * agent-check; worker.c is a worker's side (server_int.h joins them). */
#ifndef GATEWAY_SERVER_H
#define GATEWAY_SERVER_H

#include <stdint.h>
#include <signal.h>
#include <time.h>
#include <uv.h>

#include "agent.h"
#include "config.h"
#include "control.h"
#include "listener.h"
#include "child.h"
#include "held.h"
#include "httpconn.h"
#include "ipc.h"
#include "metrics.h"
#include "metrics_http.h"
#include "pending.h"
#include "pool.h"
#include "slot.h"
#include "source.h"

struct child;

struct pool;
struct held;
struct server;

/* What a server that is a worker tells its role, which worker.c embeds
 * beside it and finds itself from with container_of: each child's start
 * (with a copy of its stderr = log pipe, or -1) and end, and each client
 * it gives up (IPC_SPAWNED, IPC_GONE, IPC_BACK), for the main process
 * counts too; and that the server is finishing. A server with a role takes
 * its orders from the main process (no signals of its own) and leaves the
 * stop's log line to it. NULL in a single process and the main process. */
struct server_role {
	void (*report)(struct server_role *r, uint32_t type, uint64_t conn,
	    pid_t pid, int fd);
	/* What it counted (metrics_delta's records). */
	void (*stats)(struct server_role *r, const char *data, size_t len);
	void (*finish)(struct server_role *r);
};
struct pending;
struct http_spawn;
struct conn;

/* An in-place upgrade under way (upgrade.c). */
struct server_upgrade {
	int on;
	uv_timer_t timer;               /* looks again at what is left */
	uv_idle_t idle;                 /* the last round before the exec */
	int blocked;                    /* every signal, mask keeps the old */
	sigset_t mask;
	uint64_t until;                 /* loop ms: gives up then */
	struct control_answer *answer;  /* the control client's, or NULL */
};

struct handover;

struct server {
	uv_loop_t *loop;
	struct config *config;          /* the current one */
	struct route_state **rstate;    /* parallel to config->routes */
	struct listener **listeners;
	size_t nlisteners;
	struct queue children;          /* live or still draining stderr */
	unsigned nchildren;             /* live processes, watched */
	unsigned long long last_conn;
	int stopping;
	int finished;
	int terminating;                /* children have been sent TERM */
	int starved;                    /* out of fds or processes: paused */
	struct held_queue held;         /* accepted, waiting for resources */
	struct pending_set reading;     /* being read: PROXY header, HTTP head */
	struct http_owner http;         /* requests run here */
	struct child_owner child_owner; /* hears of its children's ends */
	struct pool_owner pool_owner;   /* what its workers' pool needs */
	uint64_t last_resource_log;     /* ms, for rate limiting */
	uv_timer_t retry_timer;         /* ends a starved pause */
	uv_timer_t stop_timer;          /* shutdown_grace */
	uv_signal_t sig[4];
	struct pool *pool;              /* main with workers: children run there */
	struct server_role *role;       /* a worker's, or NULL */
	uint32_t generation;            /* of the config, counted by reloads */
	struct metrics metrics;         /* its figures (server_metrics.c) */
	struct metrics_source metrics_src;
	struct metrics_http metrics_http;
	int metrics_open;
	uv_timer_t metrics_timer;       /* a worker's: sends its counts */
	int metrics_timer_open;
	int draining;                   /* drain_delay: serving, stopping soon */
	uv_timer_t drain_timer;         /* drain_delay */
	uint64_t started;               /* uv_hrtime() at the start */
	time_t loaded;                  /* when the config was loaded */
	struct control control;         /* the control socket, if set */
	struct control_owner control_owner;
	struct agent agent;             /* the agent-check port, if set */
	struct agent_owner agent_owner;
	struct server_upgrade upgrade;
	const char *exe;                /* the binary an upgrade runs, or NULL */
	char **argv;                    /* and its arguments */
};

/* Opens every listener of the config, which the server then owns (it
 * releases it in server_free). Returns 0, or -1 with err saying why:
 * no listener is left open and the config is still the caller's. */
int server_start(struct server *s, uv_loop_t *loop, struct config *c,
    char *err, size_t errlen);

/* What a SIGTERM does (a second call ends the children). */
void server_stop(struct server *s);

/* SIGHUP: the config file again, all or nothing. */
void server_reload(struct server *s);

/* The same, for a caller that waits for the outcome: 0, or -1 with err
 * saying why the running config was kept. */
int server_reload_now(struct server *s, char *err, size_t errlen);

/* Whether the gateway is on its way out: the drain_delay of a SIGTERM
 * (still serving), or stopping. What a health check reports as not
 * ready. */
int server_draining(const struct server *s);

/* In an image that an upgrade started: takes over the children handed
 * over (the listeners are taken as the config's are opened), logs the
 * upgrade and answers the control client that asked for it. */
void server_take_over(struct server *s, struct handover *h);

/* Releases what is left once the loop has ended, the config included. */
void server_free(struct server *s);

/* Starts the connection's child and counts it toward c->src (a worker's
 * connections; an HTTP request's through the http_owner). NULL with *err
 * as child_spawn says. */
struct child *server_spawn(struct server *s, struct conn *c,
    const struct http_spawn *hs, int *err);

/* In a worker, the main process counts too: tells it (else nothing). */
static inline void server_report(struct server *s, uint32_t type, uint64_t conn,
    pid_t pid)
{
	if (s->role)
		s->role->report(s->role, type, conn, pid, -1);
}

/* The same for a child just started: IPC_SPAWNED, with a copy of its
 * stderr = log pipe for the main process to read if this worker dies. */
static inline void server_report_spawn(struct server *s, const struct child *c)
{
	if (s->role)
		s->role->report(s->role, IPC_SPAWNED, c->conn->ci.id, c->pid,
		    child_stderr_fd(c));
}

/* Out of the counts (the references stay until the holder is freed). */
static inline void server_slot_uncount(struct server *s, struct slot *sl)
{
	if (slot_uncount(sl))
		s->nchildren--;
}

#endif
