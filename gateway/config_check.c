/* The config as a whole, once read: each route complete and consistent
 * (what it checks against the system is config_sys.c), and the listen
 * addresses of all routes against each other. */
#include "config_check.h"
#include "config_sys.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void check_http_proxy(struct route *r, struct config_error *e)
{
	if (r->proxy_protocol && !r->proxy_from.n && !r->proxy_from_unix)
		config_fail(e, r->proxy_line, "proxy_protocol needs proxy_from: who may send the header");
	if (!r->proxy_protocol && (r->proxy_from.n || r->proxy_from_unix))
		config_fail(e, r->line, "route [%s]: proxy_from without proxy_protocol", r->name);
	if (r->protocol == PROTO_RAW && r->path)
		config_fail(e, r->line, "route [%s]: path is for protocol = cgi or nph", r->name);
	if (r->protocol == PROTO_RAW && r->request_body_line)
		config_fail(e, r->request_body_line,
		    "route [%s]: request_body is for protocol = cgi or nph", r->name);
	if (r->protocol != PROTO_RAW && !r->path && !(r->path = strdup("/")))
		config_fail(e, r->line, "%s", strerror(ENOMEM));
}

/* A terminal is for a program the client talks to directly: a cgi or
 * nph program talks HTTP through the gateway. */
static void check_pty(struct route *r, struct config_error *e)
{
	if (r->pty != PTY_NONE && r->protocol != PROTO_RAW)
		config_fail(e, r->pty_line,
		    "route [%s]: pty is for protocol = raw, not cgi or nph", r->name);
	else if (r->pty != PTY_NONE && r->stdin_mode == STDIN_NULL)
		config_fail(e, r->pty_line,
		    "route [%s]: pty with stdin = null: the terminal is the program's stdin", r->name);
	if (r->pty_size_line && r->pty == PTY_NONE)
		config_fail(e, r->pty_size_line,
		    "route [%s]: pty_size is for pty = raw or terminal", r->name);
}

static void check_listen(struct route *r, struct config_error *e)
{
	for (size_t i = 0; i < r->nlisten; i++) {
		const struct listen_addr *a = &r->listen[i];
		if (r->socket_mode >= 0 && a->abstract)
			config_fail(e, a->line,
			    "socket_mode: abstract socket '%s' has no file", a->text);
		if ((r->socket_user || r->socket_group) && a->abstract)
			config_fail(e, a->line,
			    "socket_user/socket_group: abstract socket '%s' has no file",
			    a->text);
		/* A Unix peer has no address to match (until a PROXY header
		 * gives it one). */
		if ((r->allow.n || r->deny.n) && a->family == AF_UNIX &&
		    !r->proxy_protocol)
			config_fail(e, a->line,
			    "allow/deny: unix listener '%s' has no client addresses", a->text);
	}
}

/* argv: exec as written (with exec_dir, which the program's name
 * replaces at each request), then args. */
static void make_argv(struct route *r)
{
	struct strv argv = { 0 };

	strv_pushdup(&argv, r->exec ? r->exec_arg0 : r->exec_dir);
	for (size_t i = 0; i < r->argv.n; i++) {
		strv_push(&argv, r->argv.v[i]);
		r->argv.v[i] = NULL;
	}
	strv_free(&r->argv);
	r->argv = argv;
}

/* The program: exec, or on a cgi or nph route exec_dir, a directory
 * whose programs the request path names. Its default cwd is the
 * program's directory. 0, or -1 when the route has none. */
static int check_program(struct route *r, int checked, struct config_error *e)
{
	int http = r->protocol != PROTO_RAW;

	if (r->exec && r->exec_dir)
		config_fail(e, r->exec_line > r->exec_dir_line ? r->exec_line :
		    r->exec_dir_line, "route [%s] has both exec and exec_dir", r->name);
	else if (r->exec_dir && !http)
		config_fail(e, r->exec_dir_line,
		    "route [%s]: exec_dir is for protocol = cgi or nph", r->name);
	if (!r->exec && !r->exec_dir) {
		config_fail(e, r->line, http ? "route [%s] has no exec or exec_dir" :
		    "route [%s] has no exec", r->name);
		return -1;
	}
	/* A worker parses what the main process checked: a program removed
	 * since is a spawn_error then, not a worker that cannot start. */
	if (!checked && r->exec)
		config_sys_exec(r, e);
	else if (!checked)
		config_sys_exec_dir(r, e);
	if (!r->cwd)
		r->cwd = r->exec ? path_dir(r->exec) : strdup(r->exec_dir);
	else if (!checked)
		config_sys_cwd(r, e);
	return 0;
}

/* The order of the checks is the order of the messages: of two errors
 * on one line, the first is reported. */
static void check_route(struct route *r, int checked, struct config_error *e)
{
	if (r->nlisten == 0)
		config_fail(e, r->line, "route [%s] has no listen", r->name);
	if (check_program(r, checked, e) < 0)
		return;
	config_sys_ids(r, e);
	config_sys_socket_owner(r, e);
	for (size_t i = 0; i < r->pass_env.n; i++)
		for (size_t j = 0; j < r->env.n; j++) {
			size_t n = strlen(r->pass_env.v[i]);
			if (strncmp(r->env.v[j], r->pass_env.v[i], n) == 0 &&
			    r->env.v[j][n] == '=')
				config_fail(e, r->line, "route [%s]: '%s' is in both env and pass_env",
				    r->name, r->pass_env.v[i]);
		}
	check_listen(r, e);
	check_http_proxy(r, e);
	check_pty(r, e);
	make_argv(r);
}

/* Several HTTP routes may share one address when their paths differ and
 * they agree on what the socket is. Returns NULL if they may, else why. */
static const char *may_share(const struct route *a, const struct route *b,
    const struct listen_addr *x, const struct listen_addr *y)
{
	if (!addr_same(x, y) || a == b)
		return "overlaps";
	if (a->protocol == PROTO_RAW || b->protocol == PROTO_RAW)
		return "overlaps";
	if (strcmp(a->path, b->path) == 0)
		return "has the same path as";
	if (a->proxy_protocol != b->proxy_protocol || a->backlog != b->backlog ||
	    a->socket_mode != b->socket_mode || a->max_pending != b->max_pending ||
	    a->socket_uid != b->socket_uid || a->socket_gid != b->socket_gid)
		return "must agree on proxy_protocol, backlog, socket_mode and max_pending with";
	/* The header is read, and believed or not, before the head names
	 * the route: who may send it is the socket's, not one route's. */
	if (a->proxy_from_unix != b->proxy_from_unix ||
	    !acl_equal(&a->proxy_from, &b->proxy_from))
		return "must agree on proxy_from with";
	return NULL;
}

static void check_overlaps(const struct config *c, struct config_error *e)
{
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t a = 0; a < c->routes[i].nlisten; a++)
			for (size_t j = 0; j <= i; j++)
				for (size_t b = 0; b < (j == i ? a : c->routes[j].nlisten); b++) {
					const struct listen_addr *x = &c->routes[i].listen[a];
					const struct listen_addr *y = &c->routes[j].listen[b];
					const char *why;
					if (addr_overlap(x, y) &&
					    (why = may_share(&c->routes[i], &c->routes[j], x, y)))
						config_fail(e, x->line, "listen '%s' %s '%s' of route [%s] (line %d)",
						    x->text, why, y->text, c->routes[j].name, y->line);
				}
}

void config_check(struct config *c, int lines, int checked,
    struct config_error *e)
{
	if (c->nroutes == 0)
		config_fail(e, lines ? lines : 1, "no routes");
	for (size_t i = 0; i < c->nroutes; i++)
		check_route(&c->routes[i], checked, e);
	check_overlaps(c, e);
}
