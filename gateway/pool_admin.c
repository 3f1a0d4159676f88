/* The connections handed to workers, as the control socket sees them:
 * listed with their worker's child, and ended through their worker (a
 * message it acts on with its own kill path) or, when their worker died
 * and the main process took the child over, here. */
#include "pool.h"
#include "pool_int.h"

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
	/* One no worker has (sent back, waiting to go again) is not here
	 * to end; nor one whose worker is between death and restart. */
	if (!r || r->waiting || !p->w[r->worker])
		return 0;
	return ipc_send(p->w[r->worker]->sock, &m, NULL, -1) == 0;
}
