#include "orphans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static void orphan_exited(struct child_owner *owner, struct child *c)
{
	struct orphans *o = container_of(owner, struct orphans, owner);

	o->hooks->slot_free(o, &c->conn->slot);
	o->hooks->exited(o);
}

static void orphan_freed(struct child_owner *owner, struct child *c)
{
	struct orphans *o = container_of(owner, struct orphans, owner);

	queue_remove(&c->q);
	o->hooks->slot_free(o, &c->conn->slot);
	free(c);
	o->hooks->freed(o);
}

void orphans_init(struct orphans *o, uv_loop_t *loop, const struct orphans_hooks *h)
{
	o->loop = loop;
	o->hooks = h;
	queue_init(&o->list);
	o->owner.exited = orphan_exited;
	o->owner.freed = orphan_freed;
}

int orphans_adopt(struct orphans *o, pid_t pid, struct conn *conn,
    uint64_t started, int errfd)
{
	struct child *c = calloc(1, sizeof *c);

	if (!c) {
		if (errfd >= 0)
			close(errfd);
		o->hooks->slot_free(o, &conn->slot);
		return -ENOMEM;
	}
	queue_init(&c->q);
	queue_insert_tail(&o->list, &c->q);
	/* child_adopt calls orphan_freed in every case, once c is done. */
	return child_adopt(c, o->loop, &o->owner, pid, conn, started,
	    conn->config->kill_grace, errfd);
}

int orphans_has(struct orphans *o, pid_t pid)
{
	struct queue *q, *n;

	queue_foreach(q, n, &o->list)
		if (queue_data(q, struct child, q)->pid == pid)
			return 1;
	return 0;
}

void orphans_end(struct orphans *o, double grace)
{
	struct queue *q, *n;

	queue_foreach(q, n, &o->list)
		child_end(queue_data(q, struct child, q), "shutdown", grace);
}

void orphans_each(struct orphans *o, conn_visit_fn *fn, void *arg)
{
	struct queue *q, *n;

	queue_foreach(q, n, &o->list) {
		struct child *c = queue_data(q, struct child, q);
		if (c->alive)
			fn(arg, c->conn, c->pid, "running");
	}
}

struct child *orphans_find(struct orphans *o, uint64_t conn)
{
	struct queue *q, *n;

	queue_foreach(q, n, &o->list) {
		struct child *c = queue_data(q, struct child, q);
		if (c->conn->ci.id == conn && c->alive)
			return c;
	}
	return NULL;
}
