/* The signals the gateway takes (SIGHUP reloads: reload.c), and how it
 * stops: first, with drain_delay, a time of draining (still serving,
 * reported as draining) after a SIGTERM; then the stop event, listeners
 * and waiting clients closed at once,
 * shutdown_grace for the children, then each child's kill path (a second
 * signal starts it at once), on_shutdown = detach, and the finish once no
 * child and no worker is left, when the loop's own handles close. A part
 * of the server (server_int.h). */
#include "server_int.h"
#include "server.h"

#include <signal.h>
#include <string.h>

#include "child.h"
#include "held.h"
#include "log.h"
#include "notify.h"
#include "pending.h"
#include "pool.h"

static uint64_t ms(double secs)
{
	return (uint64_t)(secs * 1000 + 0.5);
}

/* Each child's kill path: TERM now, KILL after kill_grace. */
static void terminate_children(struct server *s)
{
	struct queue *q, *n;

	if (s->terminating)
		return;
	s->terminating = 1;
	queue_foreach(q, n, &s->children)
		child_end(queue_data(q, struct child, q), "shutdown", s->config->kill_grace);
	if (s->pool)
		pool_end_orphans(s->pool, s->config->kill_grace);
}

static void on_shutdown_grace_over(uv_timer_t *t)
{
	terminate_children(container_of(t, struct server, stop_timer));
}

void server_finish(struct server *s)
{
	struct queue *q, *n;

	if (s->finished)
		return;
	s->finished = 1;
	server_metrics_stop(s);
	server_metrics_worker_stop(s);
	if (s->pool)
		pool_close(s->pool);
	if (s->role)
		s->role->finish(s->role);
	uv_timer_stop(&s->stop_timer);
	uv_timer_stop(&s->retry_timer);
	uv_close((uv_handle_t *)&s->stop_timer, NULL);
	uv_close((uv_handle_t *)&s->retry_timer, NULL);
	uv_close((uv_handle_t *)&s->drain_timer, NULL);
	uv_close((uv_handle_t *)&s->upgrade.timer, NULL);
	uv_close((uv_handle_t *)&s->upgrade.idle, NULL);
	server_close_admin(s);
	for (size_t i = 0; i < sizeof s->sig / sizeof *s->sig; i++)
		uv_close((uv_handle_t *)&s->sig[i], NULL);
	queue_foreach(q, n, &s->children)
		child_release(queue_data(q, struct child, q));
}

/* on_shutdown = detach: children that no longer need the gateway are
 * left to finish on their own; the others are waited for. */
static unsigned detach_children(struct server *s)
{
	unsigned detached = 0;
	struct queue *q, *n;

	queue_foreach(q, n, &s->children) {
		struct child *c = queue_data(q, struct child, q);
		if (c->alive && !child_needs_gateway(c)) {
			child_detach(c);
			server_slot_uncount(s, &c->conn->slot);
			server_report(s, IPC_GONE, c->conn->ci.id, c->pid);
			detached++;
		}
	}
	return detached;
}

static void stop_now(struct server *s, int sig);

static void on_drain_over(uv_timer_t *t)
{
	stop_now(container_of(t, struct server, drain_timer), SIGTERM);
}

/* drain_delay: the gateway says it is draining (to systemd, the control
 * socket's status, the agent-check) and serves on until the delay is
 * over, so that a load balancer has time to send no more clients. */
static void begin_drain(struct server *s, int sig)
{
	struct logline l;

	s->draining = 1;
	log_begin(&l, "drain");
	log_str(&l, "signal", sigabbrev_np(sig));
	log_seconds(&l, "delay", s->config->drain_delay);
	log_uint(&l, "children", s->nchildren);
	log_end(&l);
	server_tell_status(s);
	uv_timer_start(&s->drain_timer, on_drain_over, ms(s->config->drain_delay), 0);
}

void server_stop_sig(struct server *s, int sig)
{
	/* A SIGTERM with drain_delay drains first; another signal, or a
	 * SIGINT, stops at once. */
	if (!s->role && !s->stopping && !s->draining && sig == SIGTERM &&
	    s->config->drain_delay > 0) {
		begin_drain(s, sig);
		return;
	}
	stop_now(s, sig);
}

static void stop_now(struct server *s, int sig)
{
	struct logline l;
	unsigned detached = 0;

	uv_timer_stop(&s->drain_timer);
	if (s->pool)
		pool_stop(s->pool); /* the workers count the signals too */
	if (s->stopping) {
		/* A second signal: end the children now. */
		terminate_children(s);
		return;
	}
	s->stopping = 1;
	if (s->config->on_shutdown == SHUTDOWN_DETACH)
		detached = detach_children(s);
	if (s->role)
		goto stopping; /* the main process logs the stop */
	log_begin(&l, "stop");
	log_str(&l, "signal", sigabbrev_np(sig));
	log_uint(&l, "children", s->nchildren);
	if (s->config->on_shutdown == SHUTDOWN_DETACH)
		log_uint(&l, "detached", detached);
	log_end(&l);
	notify_stopping("stopping: %u children", s->nchildren);
stopping:
	server_close_listeners(s->listeners, s->nlisteners);
	s->nlisteners = 0;
	held_drop(&s->held, "shutdown"); /* no child will come for them now */
	pending_drop(&s->reading, NULL, "shutdown");
	uv_timer_stop(&s->retry_timer);
	uv_timer_start(&s->stop_timer, on_shutdown_grace_over,
	    ms(s->config->shutdown_grace), 0);
	server_finish_when_done(s);
}

void server_stop(struct server *s)
{
	server_stop_sig(s, SIGTERM);
}

void server_finish_when_done(struct server *s)
{
	if (s->nchildren == 0 && (!s->pool || pool_done(s->pool)))
		server_finish(s);
}

static void on_signal(uv_signal_t *h, int sig)
{
	struct server *s = h->data;

	/* A worker takes its orders from the main process only (a ^C
	 * reaches the whole process group). */
	if (s->role)
		return;
	if (sig == SIGHUP)
		server_reload(s);
	else if (sig == SIGUSR2)
		server_upgrade(s, NULL);
	else
		server_stop_sig(s, sig);
}

/* The signals a server takes, and the timers of its stop and of a
 * shortage's pause. */
void server_start_handles(struct server *s)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2 };

	uv_timer_init(s->loop, &s->upgrade.timer);
	uv_idle_init(s->loop, &s->upgrade.idle);
	uv_timer_init(s->loop, &s->retry_timer);
	uv_timer_init(s->loop, &s->stop_timer);
	uv_timer_init(s->loop, &s->drain_timer);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		uv_signal_init(s->loop, &s->sig[i]);
		s->sig[i].data = s;
		uv_signal_start(&s->sig[i], on_signal, sigs[i]);
	}
}
