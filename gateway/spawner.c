/* The spawner threads, and everything between them and the loop: the
 * threads themselves (started on the first job, never ended: children a
 * thread starts are the process's own, and stay so), the queue of jobs
 * waiting for a thread, the queue of jobs done waiting for the loop, and
 * the uv_async_t that wakes the loop for them, open only while a job is
 * in flight. Each thread blocks every signal for good, so that no handler
 * of the gateway's ever runs on it, nor in a vfork-class child it starts.
 * Both queues are guarded by one mutex; the jobs' own memory is touched
 * by one side at a time: the loop until the job is queued, its thread
 * until it is done, the loop again after. */
#include "spawner.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS_MIN 2
#define THREADS_MAX 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct queue todo = { &todo, &todo };    /* under lock */
static struct queue done = { &done, &done };    /* under lock */
static unsigned nthreads;

/* The loop's thread alone. */
static uv_async_t *async;
static unsigned inflight;

static void *spawner_main(void *arg)
{
	struct spawner_job *j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (queue_empty(&todo))
			pthread_cond_wait(&wake, &lock);
		j = queue_data(queue_head(&todo), struct spawner_job, q);
		queue_remove(&j->q);
		pthread_mutex_unlock(&lock);
		j->work(j);
		/* Sent under the lock: once the loop has taken this job from
		 * the queue, no thread will touch its async handle again. */
		pthread_mutex_lock(&lock);
		queue_insert_tail(&done, &j->q);
		uv_async_send(j->async);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

/* One per CPU, at least two (one child's exec that takes long must not
 * hold up the next), at most a few: a thread waits, it does not work. */
static int start_threads(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = ncpu < THREADS_MIN ? THREADS_MIN :
	    ncpu > THREADS_MAX ? THREADS_MAX : (unsigned)ncpu;
	sigset_t all, old;
	pthread_attr_t attr;
	int err = 0;

	if (nthreads)
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* A new thread inherits its creator's mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (nthreads < want) {
		pthread_t t;
		if ((err = pthread_create(&t, &attr, spawner_main, NULL)) != 0)
			break;
		nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return nthreads ? 0 : -err;
}

static void free_async(uv_handle_t *h)
{
	free(h);
}

static void on_async(uv_async_t *h)
{
	struct queue ready;
	struct spawner_job *j;

	(void)h;
	queue_init(&ready);
	pthread_mutex_lock(&lock);
	while (!queue_empty(&done)) {
		j = queue_data(queue_head(&done), struct spawner_job, q);
		queue_remove(&j->q);
		queue_insert_tail(&ready, &j->q);
	}
	pthread_mutex_unlock(&lock);
	while (!queue_empty(&ready)) {
		j = queue_data(queue_head(&ready), struct spawner_job, q);
		queue_remove(&j->q);
		inflight--;
		j->done(j); /* may submit more */
	}
	/* Nothing in flight: no thread holds a job, so none will send. */
	if (inflight == 0 && async) {
		uv_close((uv_handle_t *)async, free_async);
		async = NULL;
	}
}

int spawner_submit(uv_loop_t *loop, struct spawner_job *j)
{
	int err = start_threads();

	if (err < 0)
		return err;
	if (!async) {
		uv_async_t *a = malloc(sizeof *a);
		if (!a)
			return -ENOMEM;
		if ((err = uv_async_init(loop, a, on_async)) < 0) {
			free(a);
			return err;
		}
		async = a;
	}
	j->async = async;
	inflight++;
	pthread_mutex_lock(&lock);
	queue_insert_tail(&todo, &j->q);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	return 0;
}

unsigned spawner_threads(void)
{
	return nthreads;
}
