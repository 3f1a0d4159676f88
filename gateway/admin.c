/* What the control socket's commands do to the running gateway (status,
 * conns, kill, drain, resume, reload), each logged as an admin event, and
 * the state the agent-check port answers. A part of the server
 * (server_int.h): the control socket and the agent are its own, opened at
 * its start in the main process and closed at its finish. */
#include "server_int.h"
#include "server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_cmd.h"
#include "agent.h"
#include "child.h"
#include "control.h"
#include "held.h"
#include "log.h"
#include "pending.h"
#include "pool.h"
#include "util.h"

static const char *gateway_state(const struct server *s)
{
	return s->stopping ? "stopping" : s->draining ? "draining" :
	    s->upgrade.on ? "upgrading" : "serving";
}

static const struct route *route_named(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].name, name) == 0)
			return &c->routes[i];
	return NULL;
}

static struct route_state *state_of(struct server *s, const struct route *r)
{
	return s->rstate[r - s->config->routes];
}

/* ---- status ---- */

static void utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A route's listeners, "A,B" (its own, and those it shares). */
static void route_listeners(struct server *s, const struct route *r, char *buf,
    size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->nlisteners; i++)
		for (size_t k = 0; k < s->listeners[i]->nroutes; k++)
			if (s->listeners[i]->routes[k] == r && o < len)
				o += snprintf(buf + o, len - o, "%s%s", o ? "," : "",
				    s->listeners[i]->name);
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void cmd_status(struct server *s, struct control_answer *a)
{
	const struct config *c = s->config;
	char when[32], listen[1024];

	utc(s->loaded, when, sizeof when);
	control_line(a, "version %s", VERSION);
	control_line(a, "pid %ld", (long)getpid());
	control_line(a, "state %s", gateway_state(s));
	control_line(a, "uptime %" PRIu64, (uv_hrtime() - s->started) / 1000000000);
	control_line(a, "config %s", c->path);
	control_line(a, "loaded %s", when);
	control_line(a, "children %u", s->nchildren);
	control_line(a, "max_children %u", c->max_children);
	control_line(a, "workers %u", c->workers);
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct route *r = &c->routes[i];
		struct route_state *rs = state_of(s, r);
		route_listeners(s, r, listen, sizeof listen);
		control_line(a, "route %s state=%s children=%u max_children=%u "
		    "max_per_source=%u on_busy=%s protocol=%s listen=%s", r->name,
		    rs->drained ? "draining" : "serving", rs->live, r->max_children,
		    r->max_per_source, r->on_busy == BUSY_WAIT ? "wait" : "refuse",
		    r->protocol == PROTO_CGI ? "cgi" : r->protocol == PROTO_NPH ?
		    "nph" : "raw", listen);
	}
}

/* ---- conns ---- */

struct listing {
	const char *route;              /* only this one's, or NULL */
	struct conn_row {
		const struct conn *c;
		pid_t pid;
		const char *state;
	} *v;
	size_t n, cap;
	int failed;
};

static void visit(void *arg, const struct conn *c, pid_t pid, const char *state)
{
	struct listing *ls = arg;

	if (ls->route && strcmp(c->route->name, ls->route) != 0)
		return;
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 64;
		struct conn_row *v = realloc(ls->v, cap * sizeof *v);
		if (!v) {
			ls->failed = 1;
			return;
		}
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = (struct conn_row){ c, pid, state };
}

static int by_id(const void *a, const void *b)
{
	unsigned long long x = ((const struct conn_row *)a)->c->ci.id;
	unsigned long long y = ((const struct conn_row *)b)->c->ci.id;

	return x < y ? -1 : x > y;
}

static void conn_row(struct control_answer *a, const struct conn_row *row,
    uint64_t now)
{
	const struct conn *c = row->c;
	char peer[128], pid[16];

	if (c->ci.tcp)
		conn_remote_text(&c->ci, peer, sizeof peer);
	else if (c->ci.have_cred)
		snprintf(peer, sizeof peer, "uid=%ld", (long)c->ci.uid);
	else
		snprintf(peer, sizeof peer, "-");
	if (row->pid > 0)
		snprintf(pid, sizeof pid, "%ld", (long)row->pid);
	else
		snprintf(pid, sizeof pid, "-");
	control_line(a, "%llu %s %s %s %" PRIu64 " %s", c->ci.id, c->route->name,
	    peer, pid, (now - c->born) / 1000000000, row->state);
}

static void cmd_conns(struct server *s, const struct admin_command *cmd,
    struct control_answer *a)
{
	struct listing ls = { .route = cmd->route[0] ? cmd->route : NULL };
	struct queue *q, *n;
	uint64_t now = uv_hrtime();

	if (ls.route && !route_named(s->config, ls.route)) {
		control_error(a, "no route %s", ls.route);
		return;
	}
	queue_foreach(q, n, &s->children) {
		struct child *c = queue_data(q, struct child, q);
		if (c->alive)
			visit(&ls, c->conn, c->pid, "running");
	}
	pending_each(&s->reading, visit, &ls);
	held_each(&s->held, visit, &ls);
	if (s->pool)
		pool_each(s->pool, visit, &ls);
	if (ls.failed)
		control_error(a, "out of memory");
	if (ls.n)
		qsort(ls.v, ls.n, sizeof *ls.v, by_id);
	for (size_t i = 0; i < ls.n && !ls.failed; i++)
		conn_row(a, &ls.v[i], now);
	free(ls.v);
}

/* ---- kill ---- */

int server_end_conn(struct server *s, uint64_t id)
{
	struct queue *q, *n;

	queue_foreach(q, n, &s->children) {
		struct child *c = queue_data(q, struct child, q);
		if (c->alive && c->conn->ci.id == id) {
			child_end(c, "admin", s->config->kill_grace);
			return 1;
		}
	}
	return pending_close(&s->reading, id, "admin") ||
	    held_close(&s->held, id, "admin");
}

static void cmd_kill(struct server *s, const struct admin_command *cmd,
    struct control_answer *a)
{
	if (!server_end_conn(s, cmd->id) &&
	    !(s->pool && pool_kill(s->pool, cmd->id, s->config->kill_grace)))
		control_error(a, "no connection %" PRIu64, cmd->id);
}

/* ---- drain, resume ---- */

static void cmd_drain(struct server *s, const struct admin_command *cmd,
    struct control_answer *a)
{
	int on = cmd->cmd == CMD_DRAIN;
	const struct route *only = NULL;

	if (!cmd->all && !(only = route_named(s->config, cmd->route))) {
		control_error(a, "no route %s", cmd->route);
		return;
	}
	for (size_t i = 0; i < s->config->nroutes; i++) {
		const struct route *r = &s->config->routes[i];
		if (only && r != only)
			continue;
		state_of(s, r)->drained = on;
		control_line(a, "route %s %s", r->name, on ? "draining" : "serving");
	}
	/* HTTP requests of a drained route waiting for a place are answered
	 * now; the listeners pause or go on. */
	pending_retry(&s->reading);
	server_update_accepting(s);
}

static void cmd_reload(struct server *s, struct control_answer *a)
{
	char err[1024];

	if (server_reload_now(s, err, sizeof err) < 0)
		control_error(a, "%s", err);
}

/* ---- the control socket ---- */

static void log_admin(const struct control_peer *who, const char *cmd,
    const char *arg, const char *error)
{
	struct logline l;

	log_begin(&l, "admin");
	if (cmd)
		log_str(&l, "cmd", cmd);
	if (arg && arg[0])
		log_str(&l, cmd ? "arg" : "line", arg);
	log_int(&l, "uid", (long long)who->uid);
	log_int(&l, "pid", (long long)who->pid);
	log_str(&l, "result", error ? "error" : "ok");
	if (error)
		log_str(&l, "error", error);
	log_end(&l);
}

static void on_command(struct control_owner *o, const struct control_peer *who,
    const char *line, struct control_answer *a)
{
	struct server *s = container_of(o, struct server, control_owner);
	struct admin_command cmd;
	const char *err;
	char arg[32];

	if (admin_parse(line, &cmd, &err) < 0) {
		control_error(a, "%s", err);
		log_admin(who, NULL, line, err);
		return;
	}
	switch (cmd.cmd) {
	case CMD_STATUS: cmd_status(s, a); break;
	case CMD_CONNS: cmd_conns(s, &cmd, a); break;
	case CMD_KILL: cmd_kill(s, &cmd, a); break;
	case CMD_DRAIN: case CMD_RESUME: cmd_drain(s, &cmd, a); break;
	case CMD_RELOAD: cmd_reload(s, a); break;
	case CMD_UPGRADE: server_upgrade(s, a); break;
	}
	snprintf(arg, sizeof arg, "%" PRIu64, cmd.id);
	log_admin(who, cmd.name, cmd.cmd == CMD_KILL ? arg : cmd.all ? "all" :
	    cmd.route, a->error[0] ? a->error : NULL);
}

static void on_refused(struct control_owner *o, const struct control_peer *who,
    const char *line)
{
	(void)o;
	log_admin(who, NULL, line, "permission denied");
}

static void on_dropped(struct control_owner *o, struct control_answer *a)
{
	struct server *s = container_of(o, struct server, control_owner);

	if (s->upgrade.answer == a)
		s->upgrade.answer = NULL;
}

/* ---- the agent-check ---- */

/* drain while the gateway drains, maint when every route is drained,
 * else up and the free share of max_children, with ready: haproxy keeps
 * a server in the maint or drain an agent set until it hears ready. */
static void agent_state(struct agent_owner *o, char *buf, size_t len)
{
	struct server *s = container_of(o, struct server, agent_owner);
	unsigned max = s->config->max_children, used = s->nchildren;
	size_t drained = 0;

	for (size_t i = 0; i < s->config->nroutes; i++)
		drained += state_of(s, &s->config->routes[i])->drained != 0;
	if (server_draining(s))
		snprintf(buf, len, "drain");
	else if (s->config->nroutes && drained == s->config->nroutes)
		snprintf(buf, len, "maint");
	else
		snprintf(buf, len, "up ready %u%%", used >= max ? 0 :
		    (unsigned)((unsigned long long)(max - used) * 100 / max));
}

static void log_admin_socket(const char *event, const char *unix_path,
    const char *addr)
{
	struct logline l;
	char path[128];

	log_begin(&l, event);
	if (unix_path) {
		snprintf(path, sizeof path, "unix:%s", unix_path);
		addr = path;
	}
	log_str(&l, "addr", addr);
	log_end(&l);
}

int server_open_admin(struct server *s, char *err, size_t errlen)
{
	const struct config *c = s->config;

	s->control_owner.command = on_command;
	s->control_owner.refused = on_refused;
	s->control_owner.dropped = on_dropped;
	s->agent_owner.state = agent_state;
	if (c->has_control) {
		if (control_open(&s->control, s->loop, &s->control_owner, &c->control,
		    c->control_mode, err, errlen) < 0)
			return -1;
		log_admin_socket("control", s->control.l->addr->ipc_path, NULL);
	}
	if (c->has_agent) {
		if (agent_open(&s->agent, s->loop, &s->agent_owner, &c->agent,
		    err, errlen) < 0)
			return -1;
		log_admin_socket("agent", NULL, agent_name(&s->agent));
	}
	return 0;
}

void server_close_admin(struct server *s)
{
	control_close(&s->control);
	agent_close(&s->agent);
}
