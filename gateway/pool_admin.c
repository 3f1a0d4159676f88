/* The connections handed to workers, as the control socket sees them:
 * listed with their worker's child, and ended through their worker (a
 * message it acts on with its own kill path) or, when their worker died
 * and the main process took the child over, here. */
#include "pool.h"
#include "pool_int.h"

#include <unistd.h>

#include "child.h"
#include "ipc.h"
#include "pool_worker.h"

void pool_each(struct pool *p, conn_visit_fn *fn, void *arg)
{
	struct queue *q, *n;

	queue_foreach(q, n, &p->remotes) {
		struct remote *r = queue_data(q, struct remote, q);
		fn(arg, r->conn, r->pid, r->pid > 0 ? "running" : "waiting");
	}
	orphans_each(&p->orphans, fn, arg);
}

int pool_kill(struct pool *p, uint64_t id, double grace)
{
	struct remote *r = pool_find(p, id);
	struct child *c = orphans_find(&p->orphans, id);
	struct ipc_msg m = { .type = IPC_KILL, .conn = id };

	if (c) {
		child_end(c, "admin", grace);
		return 1;
	}
	if (r && r->waiting) {
		/* No worker has it: the main process still has its socket. */
		close(conn_take_fd(r->conn));
		conn_event(r->conn, "refuse", "admin");
		pool_remote_free(p, r, 0);
		p->owner->changed(p->owner);
		return 1;
	}
	/* Not one whose worker is between its death and its restart. */
	if (!r || !p->w[r->worker])
		return 0;
	return ipc_send(p->w[r->worker]->sock, &m, NULL, -1) == 0;
}
