/* util: closing the descriptors a process inherited, but those it was
 * handed on purpose. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "unit.h"

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* In a child of the test, which may close what it likes, with 40, 41,
 * 42 and 300 open besides whatever Check holds: the exit status says
 * whether exactly 0-2 and the kept descriptors (some of those four) are
 * left. */
static int closes_all_but(const int *keep, size_t nkeep)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ok = dup2(0, 40) == 40 && dup2(0, 41) == 41 &&
		    dup2(0, 42) == 42 && dup2(0, 300) == 300 &&
		    fds_close_inherited(keep, nkeep) == 0;
		for (int fd = 0; ok && fd < 1024; fd++) {
			int expect = fd < 3;
			for (size_t i = 0; i < nkeep; i++)
				expect |= keep[i] == fd;
			ok = is_open(fd) == expect;
		}
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

START_TEST(closes_everything_above_2)
{
	ck_assert(closes_all_but(NULL, 0));
}
END_TEST

START_TEST(keeps_what_it_is_told_in_any_order)
{
	static const int keep[] = { 300, 41, 2, 41 };

	ck_assert(closes_all_but(keep, sizeof keep / sizeof *keep));
}
END_TEST

START_TEST(keeps_the_lowest_and_neighbours)
{
	static const int keep[] = { 40, 42, 41 };

	ck_assert(closes_all_but(keep, sizeof keep / sizeof *keep));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("fds");

	tcase_add_test(tc, closes_everything_above_2);
	tcase_add_test(tc, keeps_what_it_is_told_in_any_order);
	tcase_add_test(tc, keeps_the_lowest_and_neighbours);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
