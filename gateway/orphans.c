#include "orphans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct orphan {
	struct child child;
	struct slot slot;
	struct config *config;          /* held: the route points into it */
};

static void orphan_exited(struct child_owner *owner, struct child *c)
{
	struct orphans *o = container_of(owner, struct orphans, owner);
	struct orphan *x = container_of(c, struct orphan, child);

	o->hooks->slot_free(o, &x->slot);
	o->hooks->exited(o);
}

static void orphan_freed(struct child_owner *owner, struct child *c)
{
	struct orphans *o = container_of(owner, struct orphans, owner);
	struct orphan *x = container_of(c, struct orphan, child);

	queue_remove(&c->q);
	o->hooks->slot_free(o, &x->slot);
	config_release(x->config);
	free(x);
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

int orphans_adopt(struct orphans *o, pid_t pid, const struct route *r,
    const struct conn_info *ci, uint64_t started, struct slot *slot, int errfd)
{
	struct orphan *x = calloc(1, sizeof *x);

	if (!x) {
		if (errfd >= 0)
			close(errfd);
		return -ENOMEM;
	}
	x->slot = *slot;
	memset(slot, 0, sizeof *slot);
	x->config = x->slot.config;
	config_hold(x->config);
	queue_init(&x->child.q);
	queue_insert_tail(&o->list, &x->child.q);
	/* child_adopt calls orphan_freed in every case, once x is done. */
	return child_adopt(&x->child, o->loop, &o->owner, pid, r, ci, started,
	    x->config->kill_grace, errfd);
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
