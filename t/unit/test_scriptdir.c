/* scriptdir: which program a request path names in a script directory,
 * on a real one: programs, a dot file, a subdirectory, a file that is not
 * executable, a fifo, and symlinks that stay inside or lead out. */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scriptdir.h"
#include "unit.h"

static char top[64];            /* holds the script directory and its neighbours */
static char dir[96];            /* the script directory, top/cgi */

static const char *at(const char *rel)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", top, rel);
	return buf[i];
}

static void file(const char *rel, mode_t mode)
{
	FILE *f = fopen(at(rel), "w");

	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(at(rel), mode), 0);
}

static void link_to(const char *target, const char *rel)
{
	ck_assert_int_eq(symlink(target, at(rel)), 0);
}

static void setup(void)
{
	char real[PATH_MAX];

	strcpy(top, "/tmp/test_scriptdir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	/* The files found are named without symlinks, /tmp's own too. */
	ck_assert_ptr_nonnull(realpath(top, real));
	ck_assert_uint_lt(strlen(real), sizeof top);
	strcpy(top, real);
	snprintf(dir, sizeof dir, "%s/cgi", top);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(mkdir(at("cgi/sub"), 0755), 0);
	ck_assert_int_eq(mkdir(at("cgi-other"), 0755), 0);
	ck_assert_int_eq(mkdir(at("outside"), 0755), 0);
	file("cgi/hello", 0755);
	file("cgi/.hidden", 0755);
	file("cgi/noexec", 0644);
	file("cgi/sub/prog", 0755);
	file("cgi-other/prog", 0755);
	file("outside/prog", 0755);
	ck_assert_int_eq(mkfifo(at("cgi/fifo"), 0755), 0);
	link_to("hello", "cgi/alias");
	link_to("sub/prog", "cgi/deep");
	link_to("sub", "cgi/dirlink");
	link_to("nothing", "cgi/dangling");
	link_to("loop", "cgi/loop");
	link_to(at("outside/prog"), "cgi/out");
	link_to("../outside/prog", "cgi/climb");
	/* Its path begins with the directory's, but it is not inside. */
	link_to("../cgi-other/prog", "cgi/sibling");
	link_to("cgi", "cgilink");
}

static int rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void teardown(void)
{
	nftw(top, rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The status for path under the route path "/cgi-bin". */
static int status(const char *path)
{
	struct script s;
	int st = scriptdir_find(dir, path, strlen("/cgi-bin"), &s);

	ck_assert_msg(st != 0 || s.file != NULL, "%s: found, no file", path);
	script_free(&s);
	return st;
}

START_TEST(program_with_and_without_path_info)
{
	struct script s;

	ck_assert_int_eq(scriptdir_find(dir, "/cgi-bin/hello", 8, &s), 0);
	ck_assert_str_eq(s.file, at("cgi/hello"));
	ck_assert_str_eq(s.name, "hello");
	ck_assert_str_eq(s.script_name, "/cgi-bin/hello");
	ck_assert_str_eq(s.path_info, "");
	script_free(&s);
	ck_assert_int_eq(scriptdir_find(dir, "/cgi-bin/hello/a/b.txt", 8, &s), 0);
	ck_assert_str_eq(s.script_name, "/cgi-bin/hello");
	ck_assert_str_eq(s.path_info, "/a/b.txt");
	script_free(&s);
	ck_assert_int_eq(scriptdir_find(dir, "/cgi-bin/hello/", 8, &s), 0);
	ck_assert_str_eq(s.path_info, "/");
	script_free(&s);
}
END_TEST

START_TEST(route_path_root)
{
	struct script s;
	const char *path = "/hello/x";

	ck_assert_int_eq(scriptdir_find(dir, path, 0, &s), 0);
	ck_assert_str_eq(s.script_name, "/hello");
	ck_assert_str_eq(s.path_info, "/x");
	ck_assert_ptr_eq(s.path_info, path + 6);
	ck_assert_str_eq(s.file, at("cgi/hello"));
	script_free(&s);
	ck_assert_int_eq(scriptdir_find(dir, "/", 0, &s), 404);
}
END_TEST

START_TEST(no_segment_is_404)
{
	ck_assert_int_eq(status("/cgi-bin"), 404);
	ck_assert_int_eq(status("/cgi-bin/"), 404);
	ck_assert_int_eq(status("/cgi-bin//hello"), 404);
}
END_TEST

START_TEST(no_such_file_is_404)
{
	ck_assert_int_eq(status("/cgi-bin/nope"), 404);
	ck_assert_int_eq(status("/cgi-bin/nope/x"), 404);
	ck_assert_int_eq(status("/cgi-bin/.nope"), 404);
	ck_assert_int_eq(status("/cgi-bin/dangling"), 404);
}
END_TEST

START_TEST(dot_file_is_403)
{
	ck_assert_int_eq(status("/cgi-bin/.hidden"), 403);
}
END_TEST

START_TEST(subdirectory_is_403)
{
	ck_assert_int_eq(status("/cgi-bin/sub"), 403);
	/* The first segment names the program: a deeper one is PATH_INFO. */
	ck_assert_int_eq(status("/cgi-bin/sub/prog"), 403);
	ck_assert_int_eq(status("/cgi-bin/dirlink"), 403);
}
END_TEST

START_TEST(not_a_regular_executable_file_is_403)
{
	ck_assert_int_eq(status("/cgi-bin/noexec"), 403);
	ck_assert_int_eq(status("/cgi-bin/fifo"), 403);
	ck_assert_int_eq(status("/cgi-bin/loop"), 403);
}
END_TEST

START_TEST(symlink_inside_runs_its_target)
{
	struct script s;

	ck_assert_int_eq(scriptdir_find(dir, "/cgi-bin/alias/p", 8, &s), 0);
	ck_assert_str_eq(s.file, at("cgi/hello"));
	ck_assert_str_eq(s.name, "alias");
	ck_assert_str_eq(s.script_name, "/cgi-bin/alias");
	ck_assert_str_eq(s.path_info, "/p");
	script_free(&s);
	ck_assert_int_eq(scriptdir_find(dir, "/cgi-bin/deep", 8, &s), 0);
	ck_assert_str_eq(s.file, at("cgi/sub/prog"));
	script_free(&s);
}
END_TEST

START_TEST(symlink_leading_out_is_403)
{
	ck_assert_int_eq(status("/cgi-bin/out"), 403);
	ck_assert_int_eq(status("/cgi-bin/climb"), 403);
	ck_assert_int_eq(status("/cgi-bin/sibling"), 403);
}
END_TEST

START_TEST(directory_reached_through_a_symlink)
{
	struct script s;

	ck_assert_int_eq(scriptdir_find(at("cgilink"), "/hello", 0, &s), 0);
	ck_assert_str_eq(s.file, at("cgi/hello"));
	script_free(&s);
	ck_assert_int_eq(scriptdir_find(at("cgilink"), "/alias", 0, &s), 0);
	script_free(&s);
	ck_assert_int_eq(scriptdir_find(at("cgilink"), "/out", 0, &s), 403);
}
END_TEST

START_TEST(program_added_later_is_found)
{
	ck_assert_int_eq(status("/cgi-bin/later"), 404);
	file("cgi/later", 0755);
	ck_assert_int_eq(status("/cgi-bin/later"), 0);
	ck_assert_int_eq(chmod(at("cgi/later"), 0644), 0);
	ck_assert_int_eq(status("/cgi-bin/later"), 403);
}
END_TEST

START_TEST(missing_directory_is_404)
{
	struct script s;

	ck_assert_int_eq(scriptdir_find(at("gone"), "/hello", 0, &s), 404);
	ck_assert_ptr_null(s.file);
	ck_assert_ptr_null(s.name);
	ck_assert_ptr_null(s.script_name);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("scriptdir");
	TCase *tc = tcase_create("find");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, program_with_and_without_path_info);
	tcase_add_test(tc, route_path_root);
	tcase_add_test(tc, no_segment_is_404);
	tcase_add_test(tc, no_such_file_is_404);
	tcase_add_test(tc, dot_file_is_403);
	tcase_add_test(tc, subdirectory_is_403);
	tcase_add_test(tc, not_a_regular_executable_file_is_403);
	tcase_add_test(tc, symlink_inside_runs_its_target);
	tcase_add_test(tc, symlink_leading_out_is_403);
	tcase_add_test(tc, directory_reached_through_a_symlink);
	tcase_add_test(tc, program_added_later_is_found);
	tcase_add_test(tc, missing_directory_is_404);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
