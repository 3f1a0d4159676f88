/* Spawner threads: work that must not stop the event loop (a clone that
 * waits for its child's exec) runs on threads of the gateway's own, and
 * its outcome comes back to the loop's thread. */
#ifndef GATEWAY_SPAWNER_H
#define GATEWAY_SPAWNER_H

#include <uv.h>

#include "queue.h"

struct spawner_job {
	struct queue q;
	/* On a spawner thread, every signal blocked. */
	void (*work)(struct spawner_job *j);
	/* Then on the loop's thread: the job is the caller's again. */
	void (*done)(struct spawner_job *j);
	uv_async_t *async;              /* wakes the loop for it */
};

/* Hands j to a spawner thread (started on the first call). Returns 0, or
 * a negative errno when no thread or no memory was to be had: j->done is
 * then never called. A job in flight keeps the loop running. */
int spawner_submit(uv_loop_t *loop, struct spawner_job *j);

/* How many spawner threads there are (0 before the first job). */
unsigned spawner_threads(void);

#endif
