/* spawner: work handed off the loop, and its outcome brought back. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <uv.h>

#include "spawner.h"
#include "unit.h"
#include "util.h"

struct job {
	struct spawner_job job;
	atomic_int *go;                 /* work waits for it, if set */
	atomic_int *ran;                /* work sets it, last */
	atomic_int *on_done;            /* done sets it, if set */
	int all_blocked;                /* every signal blocked in work */
	int done;
	pthread_t done_on;
};

static void work(struct spawner_job *j)
{
	struct job *x = container_of(j, struct job, job);
	sigset_t mask;

	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	x->all_blocked = sigismember(&mask, SIGTERM) && sigismember(&mask, SIGHUP) &&
	    sigismember(&mask, SIGCHLD) && sigismember(&mask, SIGINT);
	while (x->go && !atomic_load(x->go))
		sched_yield();
	atomic_store(x->ran, 1);
}

static void done(struct spawner_job *j)
{
	struct job *x = container_of(j, struct job, job);

	x->done = 1;
	x->done_on = pthread_self();
	if (x->on_done)
		atomic_store(x->on_done, 1);
}

static void job_init(struct job *x, atomic_int *go, atomic_int *ran, atomic_int *on_done)
{
	*x = (struct job){ .job = { .work = work, .done = done },
	    .go = go, .ran = ran, .on_done = on_done };
}

/* The hand-off returns before the work has run: the loop's thread never
 * waits for it. The outcome comes back on the loop's thread, which then
 * runs out of work (nothing left open). */
START_TEST(submit_returns_before_the_work)
{
	uv_loop_t loop;
	atomic_int go = 0, ran = 0;
	struct job x;

	uv_loop_init(&loop);
	job_init(&x, &go, &ran, NULL);
	ck_assert_int_eq(spawner_submit(&loop, &x.job), 0);
	ck_assert_int_eq(atomic_load(&ran), 0);
	ck_assert_int_eq(x.done, 0);
	ck_assert_uint_ge(spawner_threads(), 2);
	atomic_store(&go, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(atomic_load(&ran), 1);
	ck_assert_int_eq(x.done, 1);
	ck_assert(pthread_equal(x.done_on, pthread_self()));
	ck_assert(x.all_blocked);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* One job that waits does not hold up the next: the first goes on only
 * once the second's outcome is back on the loop. */
START_TEST(a_waiting_job_holds_up_no_other)
{
	uv_loop_t loop;
	atomic_int second_done = 0, ran1 = 0, ran2 = 0;
	struct job a, b;

	uv_loop_init(&loop);
	job_init(&a, &second_done, &ran1, NULL);
	job_init(&b, NULL, &ran2, &second_done);
	ck_assert_int_eq(spawner_submit(&loop, &a.job), 0);
	ck_assert_int_eq(spawner_submit(&loop, &b.job), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert(a.done && b.done);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("spawner");
	TCase *tc = tcase_create("hand-off");

	tcase_add_test(tc, submit_returns_before_the_work);
	tcase_add_test(tc, a_waiting_job_holds_up_no_other);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
