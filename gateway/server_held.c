/* The server's clients accepted in a shortage (held.c keeps them in
 * order): whether there is room, and each one's turn, on the route of
 * the same name in the running config. */
#include "server.h"
#include "server_int.h"

#include <string.h>
#include <unistd.h>

#include "child.h"
#include "conn.h"
#include "held.h"

static const struct route *route_named(struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].name, name) == 0)
			return &c->routes[i];
	return NULL;
}

static struct server *of_held(struct held_queue *hq)
{
	return container_of(hq, struct server, held);
}

static int held_room(struct held_queue *hq)
{
	struct server *s = of_held(hq);

	return s->nchildren < s->config->max_children;
}

/* A held client's turn: the route of the same name in the running config
 * (a reload may have come in between). In a worker each way out of the
 * queue is reported, as a spawn or as gone. */
static int held_start(struct held_queue *hq, struct conn *conn)
{
	struct server *s = of_held(hq);
	const struct route *r = route_named(s->config, conn->route->name);
	struct child *c;
	int err;

	if (!r) {
		close(conn_take_fd(conn));
		conn_event(conn, "gone", "route removed");
		server_report(s, IPC_GONE, conn->ci.id, 0);
		return 0;
	}
	conn_set_route(conn, s->config, r);
	c = server_spawn(s, conn, NULL, &err);
	if (!c && child_shortage(err)) {
		server_starve(s, "spawn_error", r, NULL, -err);
		return err;
	}
	if (c)
		server_report_spawn(s, c);
	else
		server_report(s, IPC_GONE, conn->ci.id, 0);
	return 0;
}

static void held_gone(struct held_queue *hq, const struct conn *c)
{
	server_report(of_held(hq), IPC_GONE, c->ci.id, 0);
}

const struct held_hooks server_held_hooks = {
	.room = held_room,
	.start = held_start,
	.gone = held_gone,
};

void server_hold(struct server *s, struct conn *c, int err)
{
	const struct route *r = c->route;

	held_add(&s->held, c);
	if (err)
		server_starve(s, "spawn_error", r, NULL, -err);
}
