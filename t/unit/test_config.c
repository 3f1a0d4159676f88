/* The config file: every key, every default, and every error with its
 * exact "FILE:LINE: message". Programs and directories the config names
 * live in a fresh temporary directory beside the (never written) config
 * path, so relative paths resolve against it. */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "proxy.h"
#include <pwd.h>

#include "unit.h"

static char dir[64];            /* the config file's directory */
static char path[96];           /* the config file */
static char err[1024];

static void touch(const char *name, mode_t mode)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
}

static void mkdir_in(const char *name)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void setup(void)
{
	char p[256];

	strcpy(dir, "/tmp/test_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/gateway.ini", dir);
	mkdir_in("bin");
	mkdir_in("bin/dir");
	mkdir_in("work");
	snprintf(p, sizeof p, "%s/bin/prog", dir);
	ck_assert_int_eq(symlink("/bin/cat", p), 0);
	touch("bin/script", 0755);
	touch("bin/noexec", 0644);
	touch("file", 0644);
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
	nftw(dir, rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path inside the temporary directory, as the config resolves it. */
static const char *in_dir(const char *rel)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", dir, rel);
	return buf[i];
}

static struct config *ok(const char *text)
{
	struct config *c;

	err[0] = '\0';
	c = config_parse(path, text, strlen(text), err, sizeof err);
	ck_assert_msg(c != NULL, "config refused: %s\n---\n%s---", err, text);
	return c;
}

/* The config is refused with exactly "FILE:LINE: message". */
static void fails(const char *text, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fails(const char *text, int line, const char *fmt, ...)
{
	char want[1024], msg[768];
	struct config *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(want, sizeof want, "%s:%d: %s", path, line, msg);
	err[0] = '\0';
	c = config_parse(path, text, strlen(text), err, sizeof err);
	ck_assert_msg(c == NULL, "config accepted, wanted '%s'\n---\n%s---", want, text);
	ck_assert_str_eq(err, want);
}

/* The one route of a config. */
static struct route *route1(struct config *c)
{
	ck_assert_uint_eq(c->nroutes, 1);
	return &c->routes[0];
}

#define ROUTE "[r]\nlisten = 127.0.0.1:8000\nexec = bin/prog\n"  /* lines 1-3 */

static void assert_argv(const struct route *r, const char *const *want, size_t n)
{
	ck_assert_uint_eq(r->argv.n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(r->argv.v[i], want[i]);
	ck_assert_ptr_null(r->argv.v[n]);
}

#define ARGV(r, ...) do {                                               \
	const char *const w_[] = { __VA_ARGS__ };                       \
	assert_argv(r, w_, sizeof w_ / sizeof *w_);                     \
} while (0)

static void assert_strv(const struct strv *s, const char *const *want, size_t n)
{
	ck_assert_uint_eq(s->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(s->v[i], want[i]);
}

#define STRV(s, ...) do {                                               \
	const char *const w_[] = { __VA_ARGS__ };                       \
	assert_strv(s, w_, sizeof w_ / sizeof *w_);                     \
} while (0)

/* A line of exactly n characters: "args = xxx...x". */
static char *long_args_line(size_t n)
{
	char *s = malloc(n + 1);

	memcpy(s, "args = ", 7);
	memset(s + 7, 'x', n - 7);
	s[n] = '\0';
	return s;
}

/* ================= defaults and [gateway] ================= */

START_TEST(minimal_route_gets_defaults)
{
	struct config *c = ok(ROUTE);
	struct route *r = route1(c);

	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->dir, dir);
	ck_assert_uint_eq(c->max_children, 1024);
	ck_assert(c->shutdown_grace == 10);
	ck_assert(c->kill_grace == 2);
	ck_assert_int_eq(c->on_shutdown, SHUTDOWN_WAIT);
	ck_assert_int_eq(c->log_format, LOG_TEXT);
	ck_assert_str_eq(r->name, "r");
	ck_assert_int_eq(r->line, 1);
	ck_assert_uint_eq(r->nlisten, 1);
	ck_assert_str_eq(r->exec, in_dir("bin/prog"));
	ck_assert_str_eq(r->exec_arg0, "bin/prog");
	ARGV(r, "bin/prog");
	ck_assert_str_eq(r->cwd, in_dir("bin"));
	ck_assert_uint_eq(r->env.n, 0);
	ck_assert_uint_eq(r->pass_env.n, 0);
	ck_assert_int_eq(r->stdin_mode, STDIN_SOCKET);
	ck_assert_int_eq(r->stderr_mode, STDERR_LOG);
	ck_assert_int_eq(r->backlog, 1024);
	ck_assert_int_eq(r->socket_mode, -1);
	ck_assert_uint_eq(r->max_children, 0);
	config_free(c);
}
END_TEST

START_TEST(gateway_keys_parsed)
{
	struct config *c = ok("[gateway]\nmax_children = 256\nshutdown_grace = 1.5\n"
	    "kill_grace = 0.25\non_shutdown = detach\nlog_format = json\n"
	    "workers = 1\n" ROUTE);

	ck_assert_uint_eq(c->max_children, 256);
	ck_assert(c->shutdown_grace == 1.5);
	ck_assert(c->kill_grace == 0.25);
	ck_assert_int_eq(c->on_shutdown, SHUTDOWN_DETACH);
	ck_assert_int_eq(c->log_format, LOG_JSON);
	ck_assert_int_eq(c->routes[0].line, 8);
	config_free(c);
}
END_TEST

START_TEST(gateway_after_routes)
{
	struct config *c = ok(ROUTE "[gateway]\nmax_children = 3\n");

	ck_assert_uint_eq(c->max_children, 3);
	ck_assert_uint_eq(c->nroutes, 1);
	config_free(c);
}
END_TEST

START_TEST(gateway_durations_accept_decimals_and_zero)
{
	struct config *c = ok("[gateway]\nshutdown_grace = 0\nkill_grace = .5\n" ROUTE);

	ck_assert(c->shutdown_grace == 0);
	ck_assert(c->kill_grace == 0.5);
	config_free(c);
}
END_TEST

START_TEST(gateway_bad_durations)
{
	const char *bad[] = { "-1", "abc", "1s", "nan", "inf", "1 2", "." };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text, "[gateway]\nshutdown_grace = %s\n" ROUTE, bad[i]);
		fails(text, 2, "shutdown_grace: expected seconds, not '%s'", bad[i]);
		snprintf(text, sizeof text, "[gateway]\n\nkill_grace = %s\n" ROUTE, bad[i]);
		fails(text, 3, "kill_grace: expected seconds, not '%s'", bad[i]);
	}
}
END_TEST

START_TEST(gateway_duration_empty)
{
	fails("[gateway]\nkill_grace =\n" ROUTE, 2, "kill_grace: expected seconds, not ''");
}
END_TEST

START_TEST(gateway_duration_hex_refused)
{
	/* "seconds (decimals allowed)": strtod would read 16. */
	fails("[gateway]\nkill_grace = 0x10\n" ROUTE, 2,
	    "kill_grace: expected seconds, not '0x10'");
}
END_TEST

START_TEST(gateway_bad_max_children)
{
	const char *bad[] = { "0", "-1", "abc", "1000001", "12x" };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text, "[gateway]\nmax_children = %s\n" ROUTE, bad[i]);
		fails(text, 2, "max_children: expected a number from 1 to 1000000, not '%s'",
		    bad[i]);
	}
}
END_TEST

START_TEST(gateway_max_children_bounds)
{
	struct config *c = ok("[gateway]\nmax_children = 1000000\n" ROUTE);

	ck_assert_uint_eq(c->max_children, 1000000);
	config_free(c);
	c = ok("[gateway]\nmax_children = 1\n" ROUTE);
	ck_assert_uint_eq(c->max_children, 1);
	config_free(c);
}
END_TEST

START_TEST(gateway_unknown_key)
{
	fails("[gateway]\nmax_childs = 5\n" ROUTE, 2, "unknown key 'max_childs' in [gateway]");
	fails("[gateway]\nlisten = 127.0.0.1:80\n" ROUTE, 2, "unknown key 'listen' in [gateway]");
}
END_TEST

START_TEST(gateway_bad_enums)
{
	fails("[gateway]\non_shutdown = kill\n" ROUTE, 2,
	    "on_shutdown: expected wait or detach, not 'kill'");
	fails("[gateway]\nlog_format = xml\n" ROUTE, 2,
	    "log_format: expected text or json, not 'xml'");
}
END_TEST

/* The CPUs libuv reports, which workers = auto follows: this machine
 * has too few to see the bound, so the count is the test's to set (the
 * definition here takes the place of libuv's for config.c). */
static unsigned cpus = 2;

unsigned int uv_available_parallelism(void)
{
	return cpus;
}

START_TEST(gateway_workers)
{
	struct config *c = ok(ROUTE);

	ck_assert_uint_eq(c->workers, 1);
	config_free(c);
	c = ok("[gateway]\nworkers = 4\n" ROUTE);
	ck_assert_uint_eq(c->workers, 4);
	config_free(c);
	c = ok("[gateway]\nworkers = auto\n" ROUTE);
	ck_assert_uint_ge(c->workers, 1);
	config_free(c);
}
END_TEST

START_TEST(gateway_workers_auto_bounded)
{
	const unsigned machine[] = { 1, 3, 256, 257, 300, 4096 };

	for (size_t i = 0; i < sizeof machine / sizeof *machine; i++) {
		unsigned want = machine[i] < 256 ? machine[i] : 256;
		struct config *c;

		cpus = machine[i];
		c = ok("[gateway]\nworkers = auto\n" ROUTE);
		ck_assert_uint_eq(c->workers, want);
		config_free(c);
	}
}
END_TEST

START_TEST(gateway_bad_workers)
{
	const char *bad[] = { "0", "257", "-1", "Auto", "two" };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text, "[gateway]\nworkers = %s\n" ROUTE, bad[i]);
		fails(text, 2, "workers: expected a number from 1 to 256 or auto, not '%s'",
		    bad[i]);
	}
}
END_TEST

START_TEST(gateway_twice_refused)
{
	fails("[gateway]\nmax_children = 5\n" ROUTE "[gateway]\n", 6,
	    "section [gateway] appears twice (first at line 1)");
}
END_TEST

START_TEST(gateway_key_given_twice_refused)
{
	fails("[gateway]\nmax_children = 5\nmax_children = 6\n" ROUTE, 3,
	    "'max_children' given twice");
}
END_TEST

/* ================= exec, cwd, argv ================= */

START_TEST(exec_absolute_kept)
{
	struct config *c = ok("[r]\nlisten = 127.0.0.1:8000\nexec = /bin/cat\n");
	struct route *r = route1(c);

	ck_assert_str_eq(r->exec, "/bin/cat");
	ck_assert_str_eq(r->exec_arg0, "/bin/cat");
	ARGV(r, "/bin/cat");
	ck_assert_str_eq(r->cwd, "/bin");
	ck_assert_int_eq(r->exec_line, 3);
	config_free(c);
}
END_TEST

START_TEST(exec_relative_resolved_argv0_as_written)
{
	struct config *c = ok("[r]\nlisten = 127.0.0.1:8000\nexec = ./bin/dir/../script\n");
	struct route *r = route1(c);

	ck_assert_str_eq(r->exec, in_dir("bin/script"));
	ck_assert_str_eq(r->exec_arg0, "./bin/dir/../script");
	ARGV(r, "./bin/dir/../script");
	ck_assert_str_eq(r->cwd, in_dir("bin"));
	config_free(c);
}
END_TEST

START_TEST(exec_trailing_comment_cut)
{
	struct config *c = ok("[r]\nlisten = 127.0.0.1:8000\nexec = bin/prog ; cat(1)\n");

	ck_assert_str_eq(route1(c)->exec, in_dir("bin/prog"));
	config_free(c);
}
END_TEST

START_TEST(exec_missing)
{
	fails("[r]\nlisten = 127.0.0.1:8000\n\nexec = bin/nope\n", 4,
	    "exec '%s': No such file or directory", in_dir("bin/nope"));
}
END_TEST

START_TEST(exec_not_executable)
{
	fails("[r]\nlisten = 127.0.0.1:8000\nexec = bin/noexec\n", 3,
	    "exec '%s': Permission denied", in_dir("bin/noexec"));
}
END_TEST

START_TEST(exec_directory)
{
	fails("[r]\nexec = bin/dir\nlisten = 127.0.0.1:8000\n", 2,
	    "exec '%s': not a regular file", in_dir("bin/dir"));
}
END_TEST

START_TEST(exec_empty)
{
	fails("[r]\nlisten = 127.0.0.1:8000\nexec =\n", 3, "exec: empty");
}
END_TEST

START_TEST(exec_given_twice)
{
	fails(ROUTE "exec = /bin/cat\n", 4, "'exec' given twice");
}
END_TEST

START_TEST(exec_continued_by_indented_line)
{
	fails(ROUTE "  --verbose\n", 4, "'exec' takes one value; an indented line continues it");
}
END_TEST

START_TEST(cwd_relative_resolved)
{
	struct config *c = ok(ROUTE "cwd = work\n");
	struct route *r = route1(c);

	ck_assert_str_eq(r->cwd, in_dir("work"));
	ck_assert_int_eq(r->cwd_line, 4);
	config_free(c);
}
END_TEST

START_TEST(cwd_absolute_kept)
{
	struct config *c = ok(ROUTE "cwd = /tmp\n");

	ck_assert_str_eq(route1(c)->cwd, "/tmp");
	config_free(c);
}
END_TEST

START_TEST(cwd_not_a_directory)
{
	fails(ROUTE "cwd = file\n", 4, "cwd '%s': not a directory", in_dir("file"));
}
END_TEST

START_TEST(cwd_missing)
{
	fails(ROUTE "\ncwd = nowhere\n", 5, "cwd '%s': No such file or directory",
	    in_dir("nowhere"));
}
END_TEST

START_TEST(cwd_given_twice)
{
	fails(ROUTE "cwd = work\ncwd = /tmp\n", 5, "'cwd' given twice");
}
END_TEST

START_TEST(args_split_into_argv)
{
	struct config *c = ok(ROUTE "args = --count 10 'a b' \"c d\" e\\ f\n");

	ARGV(route1(c), "bin/prog", "--count", "10", "a b", "c d", "e f");
	config_free(c);
}
END_TEST

START_TEST(args_lines_append)
{
	struct config *c = ok("[r]\nargs = -a\nlisten = 127.0.0.1:8000\nargs = -b c\n"
	    "exec = bin/prog\nargs = d\n");

	ARGV(route1(c), "bin/prog", "-a", "-b", "c", "d");
	config_free(c);
}
END_TEST

START_TEST(args_continuation_lines_append)
{
	struct config *c = ok(ROUTE "args = -a\n  -b\n\t'c d'\n; a comment\n\n    e\n");

	ARGV(route1(c), "bin/prog", "-a", "-b", "c d", "e");
	config_free(c);
}
END_TEST

START_TEST(args_continuation_may_look_like_unknown_key)
{
	struct config *c = ok(ROUTE "args = -o\n  opt=1\n  Name = x\n");

	ARGV(route1(c), "bin/prog", "-o", "opt=1", "Name", "=", "x");
	config_free(c);
}
END_TEST

START_TEST(args_escaped_semicolon)
{
	struct config *c = ok(ROUTE "args = a\\;b '\\;' \"x \\; y\" \\;\n");

	ARGV(route1(c), "bin/prog", "a;b", ";", "x ; y", ";");
	config_free(c);
}
END_TEST

START_TEST(args_inline_comment_after_blank)
{
	struct config *c = ok(ROUTE "args = a ; b c\n");

	ARGV(route1(c), "bin/prog", "a");
	config_free(c);
}
END_TEST

START_TEST(args_semicolon_without_blank_kept)
{
	struct config *c = ok(ROUTE "args = a;b c;\n");

	ARGV(route1(c), "bin/prog", "a;b", "c;");
	config_free(c);
}
END_TEST

START_TEST(args_hash_mid_line_kept)
{
	struct config *c = ok(ROUTE "args = a #b\n");

	ARGV(route1(c), "bin/prog", "a", "#b");
	config_free(c);
}
END_TEST

START_TEST(args_comment_cuts_inside_quotes)
{
	/* inih ends the value at " ;" even inside quotes: what is left,
	 * -c "a, has an open quote. */
	fails(ROUTE "args = -c \"a ; b\"\n", 4, "args: unterminated double quote");
	fails(ROUTE "\nargs = 'a ; b'\n", 5, "args: unterminated single quote");
}
END_TEST

START_TEST(args_bad_quoting)
{
	fails(ROUTE "args = a\\\n", 4, "args: backslash at end of line");
}
END_TEST

START_TEST(args_no_expansion)
{
	struct config *c = ok(ROUTE "args = $HOME ~ * `id`\n");

	ARGV(route1(c), "bin/prog", "$HOME", "~", "*", "`id`");
	config_free(c);
}
END_TEST

/* ================= env and pass_env ================= */

START_TEST(env_entries_kept_whole)
{
	struct config *c = ok(ROUTE "env = GREETING=hello world\nenv = EQ=a=b\n"
	    "env = SEMI=x\\;y ; comment\nenv = EMPTY=\n");

	STRV(&route1(c)->env, "GREETING=hello world", "EQ=a=b", "SEMI=x;y", "EMPTY=");
	config_free(c);
}
END_TEST

START_TEST(env_continuation_lines)
{
	struct config *c = ok(ROUTE "env = A=1\n  B=2\n  C=3 4\n");

	STRV(&route1(c)->env, "A=1", "B=2", "C=3 4");
	config_free(c);
}
END_TEST

START_TEST(env_may_set_path_server_name_software)
{
	struct config *c = ok(ROUTE "env = PATH=/opt/bin\nenv = SERVER_NAME=example.org\n"
	    "env = SERVER_SOFTWARE=gw\n");

	STRV(&route1(c)->env, "PATH=/opt/bin", "SERVER_NAME=example.org",
	    "SERVER_SOFTWARE=gw");
	config_free(c);
}
END_TEST

START_TEST(env_reserved_names_refused)
{
	const char *names[] = { "PROTO", "TCPREMOTEIP", "TCPREMOTEPORT",
	    "TCPLOCALIP", "TCPLOCALPORT", "REMOTE_ADDR", "REMOTE_PORT",
	    "SERVER_ADDR", "SERVER_PORT", "IPCLOCALPATH", "IPCREMOTEEUID",
	    "IPCREMOTEEGID", "IPCREMOTEPID", "GATEWAY_ROUTE", "GATEWAY_CONN",
	    "GATEWAY_INTERFACE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO",
	    "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE", "SERVER_PROTOCOL",
	    "REQUEST_URI", "HTTP_HOST", "HTTP_AUTHORIZATION", "HTTP_",
	    "REMOTE_HOST", "HTTPS", "SSL_TLS_SNI", "SSL_ALPN_PROTOCOL",
	    "UNIQUE_ID" };

	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char text[256];
		snprintf(text, sizeof text, ROUTE "env = %s=x\n", names[i]);
		fails(text, 4, "env: '%s' is set by the gateway for each connection", names[i]);
	}
}
END_TEST

START_TEST(env_near_reserved_names_allowed)
{
	struct config *c = ok(ROUTE "env = HTTP=1\nenv = PROTOCOL=2\nenv = MY_PROTO=3\n");

	ck_assert_uint_eq(route1(c)->env.n, 3);
	config_free(c);
}
END_TEST

START_TEST(env_without_equals)
{
	fails(ROUTE "env = FOO\n", 4, "env: expected NAME=VALUE, not 'FOO'");
}
END_TEST

START_TEST(env_bad_names)
{
	fails(ROUTE "env = 1A=x\n", 4, "env: bad variable name '1A'");
	fails(ROUTE "env = A-B=x\n", 4, "env: bad variable name 'A-B'");
	fails(ROUTE "env = =x\n", 4, "env: bad variable name ''");
}
END_TEST

START_TEST(env_name_twice)
{
	fails(ROUTE "env = A=1\nenv = B=2\nenv = A=3\n", 6, "env: 'A' given twice");
}
END_TEST

START_TEST(pass_env_several_per_line_and_repeated)
{
	struct config *c = ok(ROUTE "pass_env = LANG TZ\npass_env = HOME\n  USER\n");

	STRV(&route1(c)->pass_env, "LANG", "TZ", "HOME", "USER");
	config_free(c);
}
END_TEST

START_TEST(pass_env_may_name_path)
{
	struct config *c = ok(ROUTE "pass_env = PATH SERVER_NAME SERVER_SOFTWARE\n");

	STRV(&route1(c)->pass_env, "PATH", "SERVER_NAME", "SERVER_SOFTWARE");
	config_free(c);
}
END_TEST

START_TEST(pass_env_reserved_refused)
{
	fails(ROUTE "pass_env = LANG GATEWAY_CONN\n", 4,
	    "pass_env: 'GATEWAY_CONN' is set by the gateway for each connection");
	fails(ROUTE "pass_env = HTTP_PROXY\n", 4,
	    "pass_env: 'HTTP_PROXY' is set by the gateway for each connection");
	fails(ROUTE "pass_env = TCPREMOTEIP\n", 4,
	    "pass_env: 'TCPREMOTEIP' is set by the gateway for each connection");
}
END_TEST

START_TEST(pass_env_bad_name)
{
	fails(ROUTE "pass_env = A=1\n", 4, "pass_env: bad variable name 'A=1'");
}
END_TEST

START_TEST(env_and_pass_env_same_name)
{
	fails(ROUTE "env = LANG=C\npass_env = LANG\n", 1,
	    "route [r]: 'LANG' is in both env and pass_env");
	fails(ROUTE "pass_env = TZ LANG\nenv = LANG=C\n", 1,
	    "route [r]: 'LANG' is in both env and pass_env");
}
END_TEST

START_TEST(env_and_pass_env_prefix_is_not_same)
{
	struct config *c = ok(ROUTE "env = LANGUAGE=en\npass_env = LANG\n");

	ck_assert_uint_eq(route1(c)->env.n, 1);
	config_free(c);
}
END_TEST

/* ================= stdin, stderr, backlog, socket_mode ================= */

START_TEST(stdin_values)
{
	struct config *c = ok(ROUTE "stdin = null\n");

	ck_assert_int_eq(route1(c)->stdin_mode, STDIN_NULL);
	config_free(c);
	c = ok(ROUTE "stdin = socket\n");
	ck_assert_int_eq(route1(c)->stdin_mode, STDIN_SOCKET);
	config_free(c);
	fails(ROUTE "stdin = pipe\n", 4, "stdin: expected socket or null, not 'pipe'");
	fails(ROUTE "stdin = Null\n", 4, "stdin: expected socket or null, not 'Null'");
}
END_TEST

START_TEST(stderr_values)
{
	struct config *c = ok(ROUTE "stderr = inherit\n");

	ck_assert_int_eq(route1(c)->stderr_mode, STDERR_INHERIT);
	config_free(c);
	c = ok(ROUTE "stderr = null\n");
	ck_assert_int_eq(route1(c)->stderr_mode, STDERR_NULL);
	config_free(c);
	c = ok(ROUTE "stderr = log\n");
	ck_assert_int_eq(route1(c)->stderr_mode, STDERR_LOG);
	config_free(c);
	fails(ROUTE "stderr = syslog\n", 4,
	    "stderr: expected log, inherit or null, not 'syslog'");
}
END_TEST

START_TEST(backlog_values)
{
	struct config *c = ok(ROUTE "backlog = 1\n");

	ck_assert_int_eq(route1(c)->backlog, 1);
	config_free(c);
	c = ok(ROUTE "backlog = 65535\n");
	ck_assert_int_eq(route1(c)->backlog, 65535);
	config_free(c);
}
END_TEST

START_TEST(backlog_bad)
{
	const char *bad[] = { "0", "65536", "-5", "many", "10k", "" };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text, ROUTE "backlog = %s\n", bad[i]);
		fails(text, 4, "backlog: expected a number from 1 to 65535, not '%s'", bad[i]);
	}
}
END_TEST

START_TEST(socket_mode_octal)
{
	struct config *c = ok("[r]\nlisten = unix:gw.sock\nexec = bin/prog\nsocket_mode = 0660\n");

	ck_assert_int_eq(route1(c)->socket_mode, 0660);
	config_free(c);
	c = ok("[r]\nlisten = unix:gw.sock\nexec = bin/prog\nsocket_mode = 600\n");
	ck_assert_int_eq(route1(c)->socket_mode, 0600);
	config_free(c);
	c = ok("[r]\nlisten = unix:gw.sock\nexec = bin/prog\nsocket_mode = 0\n");
	ck_assert_int_eq(route1(c)->socket_mode, 0);
	config_free(c);
}
END_TEST

START_TEST(socket_mode_bad)
{
	const char *bad[] = { "0888", "rw-rw----", "", "10000", "-0660", "0x1b6" };

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[256];
		snprintf(text, sizeof text,
		    "[r]\nlisten = unix:gw.sock\nexec = bin/prog\nsocket_mode = %s\n", bad[i]);
		fails(text, 4, "socket_mode: expected an octal mode such as 0660, not '%s'",
		    bad[i]);
	}
}
END_TEST

START_TEST(socket_mode_on_abstract_socket)
{
	fails("[r]\nlisten = unix:gw.sock\nexec = bin/prog\nsocket_mode = 0660\n"
	    "listen = unix:@gw\n", 5,
	    "socket_mode: abstract socket 'unix:@gw' has no file");
}
END_TEST

START_TEST(single_value_keys_given_twice)
{
	/* Only the last would count: as much an error as exec twice. */
	fails(ROUTE "backlog = 5\nbacklog = 6\n", 5, "'backlog' given twice");
	fails(ROUTE "stdin = null\nstdin = socket\n", 5, "'stdin' given twice");
	fails(ROUTE "stderr = null\nstderr = log\n", 5, "'stderr' given twice");
	fails("[r]\nlisten = unix:a\nexec = bin/prog\nsocket_mode = 0600\nsocket_mode = 0666\n",
	    5, "'socket_mode' given twice");
}
END_TEST

/* ================= other route keys ================= */

START_TEST(route_limits_and_refusals)
{
	struct config *c = ok(ROUTE "max_children = 4\non_busy = refuse\n"
	    "busy_message = busy\\r\\n\\tnow\\\\\\;\nmax_per_source = 2\ntimeout = 2.5\n"
	    "umask = 027\n");
	struct route *r = route1(c);

	ck_assert_uint_eq(r->max_children, 4);
	ck_assert_int_eq(r->on_busy, BUSY_REFUSE);
	ck_assert_uint_eq(r->busy_len, 12);
	ck_assert_mem_eq(r->busy_message, "busy\r\n\tnow\\;", 12);
	ck_assert_uint_eq(r->max_per_source, 2);
	ck_assert(r->timeout == 2.5);
	ck_assert_int_eq(r->umask, 027);
	config_free(c);
}
END_TEST

START_TEST(route_limit_errors)
{
	fails(ROUTE "max_children = -1\n", 4,
	    "max_children: expected a number from 0 to 1000000, not '-1'");
	fails(ROUTE "on_busy = drop\n", 4, "on_busy: expected wait or refuse, not 'drop'");
	fails(ROUTE "busy_message = a\\qb\n", 4, "busy_message: unknown escape '\\q'");
	fails(ROUTE "timeout = soon\n", 4, "timeout: expected seconds, not 'soon'");
	fails(ROUTE "umask = 01777\n", 4,
	    "umask: expected an octal mask such as 022, not '01777'");
}
END_TEST

START_TEST(rlimits_parsed)
{
	struct config *c = ok(ROUTE "rlimit_nofile = 64:128\nrlimit_as = 1g\n"
	    "rlimit_core = unlimited\n");
	struct route *r = route1(c);

	ck_assert(r->rlimit[0].set);
	ck_assert_uint_eq(r->rlimit[0].lim.rlim_cur, 64);
	ck_assert_uint_eq(r->rlimit[0].lim.rlim_max, 128);
	ck_assert(!r->rlimit[1].set);
	ck_assert_uint_eq(r->rlimit[2].lim.rlim_cur, 1ull << 30);
	ck_assert(r->rlimit[4].lim.rlim_max == RLIM_INFINITY);
	config_free(c);
	fails(ROUTE "rlimit_nofile = 128:64\n", 4,
	    "rlimit_nofile: soft limit above hard limit");
	fails(ROUTE "rlimit_cpu = lots\n", 4,
	    "rlimit_cpu: expected N, SOFT:HARD or unlimited, not 'lots'");
}
END_TEST

START_TEST(allow_on_unix_listener_refused)
{
	fails("[r]\nlisten = 127.0.0.1:8000\nlisten = unix:@x\nexec = bin/prog\n"
	    "allow = 10.0.0.0/8\n", 3,
	    "allow/deny: unix listener 'unix:@x' has no client addresses");
}
END_TEST

START_TEST(unknown_route_key)
{
	fails(ROUTE "comand = x\n", 4, "unknown key 'comand' in route [r]");
	fails(ROUTE "Exec = bin/prog\n", 4, "unknown key 'Exec' in route [r]");
	fails(ROUTE "shutdown_grace = 1\n", 4, "unknown key 'shutdown_grace' in route [r]");
}
END_TEST

START_TEST(socket_owner)
{
	struct config *c = ok("[r]\nlisten = unix:run/a.sock\nexec = bin/prog\n"
	    "socket_user = nobody\nsocket_group = 4321\n");
	struct route *r = route1(c);
	struct passwd *pw = getpwnam("nobody");

	ck_assert_ptr_nonnull(pw);
	ck_assert_uint_eq(r->socket_uid, pw->pw_uid);
	ck_assert_uint_eq(r->socket_gid, 4321);
	config_free(c);
	c = ok(ROUTE);
	ck_assert_uint_eq(route1(c)->socket_uid, (uid_t)-1);
	ck_assert_uint_eq(route1(c)->socket_gid, (gid_t)-1);
	config_free(c);
	fails(ROUTE "socket_user = no-such-user-here\n", 4,
	    "socket_user 'no-such-user-here': no such user");
	fails(ROUTE "socket_group = no-such-group-here\n", 4,
	    "socket_group 'no-such-group-here': no such group");
	fails("[r]\nlisten = unix:@gw\nexec = bin/prog\nsocket_group = 0\n", 2,
	    "socket_user/socket_group: abstract socket 'unix:@gw' has no file");
}
END_TEST

/* ================= protocol, path, proxy_protocol ================= */

START_TEST(http_route_keys)
{
	struct config *c = ok("[r]\nlisten = 127.0.0.1:8000\nexec = bin/prog\n"
	    "protocol = cgi\npath = /app/\nmax_pending = 9\n");
	struct route *r = route1(c);

	ck_assert_int_eq(r->protocol, PROTO_CGI);
	ck_assert_str_eq(r->path, "/app");          /* trailing slash dropped */
	ck_assert_uint_eq(r->max_pending, 9);
	config_free(c);
	c = ok(ROUTE "protocol = nph\n");
	ck_assert_int_eq(route1(c)->protocol, PROTO_NPH);
	ck_assert_str_eq(route1(c)->path, "/");     /* the default */
	config_free(c);
	c = ok(ROUTE);
	ck_assert_int_eq(route1(c)->protocol, PROTO_RAW);
	ck_assert_ptr_null(route1(c)->path);
	ck_assert_uint_eq(route1(c)->max_pending, 256);
	config_free(c);
}
END_TEST

START_TEST(http_route_errors)
{
	fails(ROUTE "protocol = http\n", 4, "protocol: expected raw, cgi or nph, not 'http'");
	fails(ROUTE "protocol = cgi\npath = app\n", 5,
	    "path: expected a URL path such as /app, not 'app'");
	fails(ROUTE "protocol = cgi\npath = /a%20b\n", 5,
	    "path: expected a URL path such as /app, not '/a%%20b'");
	fails(ROUTE "path = /x\n", 1, "route [r]: path is for protocol = cgi or nph");
	fails(ROUTE "max_pending = 0\n", 4,
	    "max_pending: expected a number from 1 to 1000000, not '0'");
}
END_TEST

START_TEST(proxy_protocol_keys)
{
	struct config *c = ok(ROUTE "proxy_protocol = v2\nproxy_from = 10.0.0.0/8, unix ::1\n");
	struct route *r = route1(c);

	ck_assert_int_eq(r->proxy_protocol, PROXY_V2);
	ck_assert_int_eq(r->proxy_from_unix, 1);
	ck_assert_uint_eq(r->proxy_from.n, 2);
	config_free(c);
	fails(ROUTE "proxy_protocol = v3\n", 4,
	    "proxy_protocol: expected off, v1, v2 or any, not 'v3'");
	fails(ROUTE "proxy_protocol = any\n", 4,
	    "proxy_protocol needs proxy_from: who may send the header");
	fails(ROUTE "proxy_from = 10.0.0.0/8\n", 1,
	    "route [r]: proxy_from without proxy_protocol");
	fails(ROUTE "proxy_protocol = v1\nproxy_from = nowhere\n", 5,
	    "proxy_from 'nowhere': not a numeric IPv4 or IPv6 address");
}
END_TEST

START_TEST(allow_on_unix_with_proxy_protocol)
{
	struct config *c = ok("[r]\nlisten = unix:run/a.sock\nexec = bin/prog\n"
	    "proxy_protocol = v1\nproxy_from = unix\nallow = 10.0.0.0/8\n");

	config_free(c);
}
END_TEST

START_TEST(http_routes_share_a_listener)
{
	const char *two = "[a]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = cgi\npath = /a\n"
	    "[b]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = nph\n%s";
	char text[512];
	struct config *c;

	snprintf(text, sizeof text, two, "");
	c = ok(text);
	ck_assert_uint_eq(c->nroutes, 2);
	config_free(c);
	snprintf(text, sizeof text, two, "path = /a\n");
	fails(text, 7, "listen '127.0.0.1:8000' has the same path as '127.0.0.1:8000' of route [a] (line 2)");
	snprintf(text, sizeof text, two, "backlog = 5\n");
	fails(text, 7, "listen '127.0.0.1:8000' must agree on proxy_protocol, backlog, socket_mode "
	    "and max_pending with '127.0.0.1:8000' of route [a] (line 2)");
	/* Who may send a PROXY header is the socket's: routes on one
	 * address trust the same proxies, or it is an error. */
	snprintf(text, sizeof text, two,
	    "proxy_protocol = v1\nproxy_from = 127.0.0.1\n");
	fails(text, 7, "listen '127.0.0.1:8000' must agree on proxy_protocol, backlog, socket_mode "
	    "and max_pending with '127.0.0.1:8000' of route [a] (line 2)");
	c = ok("[a]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = cgi\npath = /a\n"
	    "proxy_protocol = v1\nproxy_from = 10.0.0.0/8 127.0.0.1\n"
	    "[b]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = nph\n"
	    "proxy_protocol = v1\nproxy_from = 127.0.0.1, 10.0.0.0/8\n");
	config_free(c);
	fails("[a]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = cgi\npath = /a\n"
	    "proxy_protocol = v1\nproxy_from = 127.0.0.1\n"
	    "[b]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = nph\n"
	    "proxy_protocol = v1\nproxy_from = 10.9.9.9\n", 9,
	    "listen '127.0.0.1:8000' must agree on proxy_from with '127.0.0.1:8000' of route [a] (line 2)");
	fails("[a]\nlisten = 127.0.0.1:8000\nexec = bin/prog\n"
	    "[b]\nlisten = 127.0.0.1:8000\nexec = bin/prog\nprotocol = nph\n", 5,
	    "listen '127.0.0.1:8000' overlaps '127.0.0.1:8000' of route [a] (line 2)");
}
END_TEST

START_TEST(workers_take_every_kind_of_route)
{
	struct config *c = ok("[gateway]\nworkers = 2\n" ROUTE);

	ck_assert_uint_eq(c->workers, 2);
	config_free(c);
	c = ok("[gateway]\nworkers = 2\n" ROUTE "protocol = nph\n");
	config_free(c);
	c = ok("[gateway]\nworkers = 2\n" ROUTE "protocol = cgi\npath = /x\n"
	    "proxy_protocol = v1\nproxy_from = 127.0.0.1\n");
	config_free(c);
}
END_TEST

/* A worker parses the text the main process checked: a program or cwd
 * removed since does not stop it. */
START_TEST(worker_config_does_not_look_for_programs)
{
	const char *text = "[r]\nlisten = 127.0.0.1:8000\nexec = bin/gone\n"
	    "[s]\nlisten = 127.0.0.1:8001\nexec = bin/prog\ncwd = nowhere\n";
	int fd = memfd_create("gateway.ini", MFD_CLOEXEC);
	struct config *c;

	fails(text, 3, "exec '%s': No such file or directory", in_dir("bin/gone"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	c = config_from_fd(path, fd);
	close(fd);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->routes[0].exec, in_dir("bin/gone"));
	ck_assert_str_eq(c->routes[0].cwd, in_dir("bin"));
	ck_assert_str_eq(c->routes[1].cwd, in_dir("nowhere"));
	config_free(c);
}
END_TEST

/* ================= listen ================= */

START_TEST(listen_forms_and_lines)
{
	struct config *c = ok("[r]\nexec = bin/prog\nlisten = 127.0.0.1:8000 [::1]:8001\n"
	    "listen = localhost:8002\n  unix:run/gw.sock\n\tunix:@gw\n");
	struct route *r = route1(c);

	ck_assert_uint_eq(r->nlisten, 6);
	ck_assert_str_eq(r->listen[0].text, "127.0.0.1:8000");
	ck_assert_int_eq(r->listen[0].line, 3);
	ck_assert_str_eq(r->listen[1].text, "[::1]:8001");
	ck_assert_int_eq(r->listen[1].line, 3);
	ck_assert_int_eq(r->listen[2].family, AF_INET);
	ck_assert_int_eq(r->listen[3].family, AF_INET6);
	ck_assert_int_eq(r->listen[3].optional, 1);
	ck_assert_int_eq(r->listen[3].line, 4);
	ck_assert_str_eq(r->listen[4].ipc_path, in_dir("run/gw.sock"));
	ck_assert_int_eq(r->listen[4].line, 5);
	ck_assert_int_eq(r->listen[5].abstract, 1);
	ck_assert_int_eq(r->listen[5].line, 6);
	config_free(c);
}
END_TEST

START_TEST(listen_bad_address)
{
	fails("[r]\nexec = bin/prog\nlisten = 127.0.0.1:8000 example.com:80\n", 3,
	    "listen 'example.com:80': host must be a numeric IPv4 address, localhost or *");
	fails("[r]\nexec = bin/prog\nlisten = 127.0.0.1:99999\n", 3,
	    "listen '127.0.0.1:99999': bad port");
	fails("[r]\nexec = bin/prog\nlisten = ::1:80\n", 3,
	    "listen '::1:80': IPv6 addresses need brackets: [IPV6]:PORT");
}
END_TEST

START_TEST(listen_unix_path_too_long_once_resolved)
{
	char text[512], name[128];

	/* 107 bytes in all once joined to the directory. */
	memset(name, 's', sizeof name);
	name[107 - strlen(dir) - 1] = '\0';
	snprintf(text, sizeof text, "[r]\nexec = bin/prog\nlisten = unix:%s\n", name);
	config_free(ok(text));
	strcat(name, "s");
	snprintf(text, sizeof text, "[r]\nexec = bin/prog\nlisten = unix:%s\n", name);
	fails(text, 3, "listen 'unix:%s': unix socket path longer than 107 bytes", name);
}
END_TEST

START_TEST(route_without_listen)
{
	fails("[gateway]\nmax_children = 5\n\n[r]\nexec = bin/prog\n", 4,
	    "route [r] has no listen");
	fails("[r]\nexec = bin/prog\nlisten =\n", 1, "route [r] has no listen");
}
END_TEST

START_TEST(route_without_exec)
{
	fails("[a]\nlisten = 127.0.0.1:1\nexec = bin/prog\n; c\n[b]\nlisten = 127.0.0.1:2\n",
	    5, "route [b] has no exec");
}
END_TEST

/* ================= overlaps ================= */

START_TEST(overlap_star_and_v4)
{
	fails("[a]\nlisten = *:8000\nexec = bin/prog\n[b]\nexec = bin/prog\n"
	    "listen = 127.0.0.1:8000\n", 6,
	    "listen '127.0.0.1:8000' overlaps '*:8000' of route [a] (line 2)");
}
END_TEST

START_TEST(overlap_localhost_and_v6_loopback)
{
	fails("[a]\nlisten = localhost:8000\nexec = bin/prog\n[b]\nexec = bin/prog\n"
	    "listen = [::1]:8000\n", 6,
	    "listen '[::1]:8000' overlaps 'localhost:8000' of route [a] (line 2)");
}
END_TEST

START_TEST(overlap_same_unix_path_written_two_ways)
{
	char text[512];

	snprintf(text, sizeof text, "[a]\nlisten = unix:gw.sock\nexec = bin/prog\n"
	    "[b]\nexec = bin/prog\nlisten = unix:%s/gw.sock\n", dir);
	fails(text, 6, "listen 'unix:%s/gw.sock' overlaps 'unix:gw.sock' of route [a] (line 2)",
	    dir);
}
END_TEST

START_TEST(overlap_same_abstract_name)
{
	fails("[a]\nlisten = unix:@gw\nexec = bin/prog\n[b]\nexec = bin/prog\n"
	    "listen = unix:@gw\n", 6,
	    "listen 'unix:@gw' overlaps 'unix:@gw' of route [a] (line 2)");
}
END_TEST

START_TEST(overlap_within_one_route)
{
	fails("[a]\nlisten = 0.0.0.0:8000\nexec = bin/prog\nlisten = 127.0.0.1:8000\n", 4,
	    "listen '127.0.0.1:8000' overlaps '0.0.0.0:8000' of route [a] (line 2)");
}
END_TEST

START_TEST(no_overlap_v6only_wildcard_and_v4_wildcard)
{
	struct config *c = ok("[a]\nlisten = [::]:8000\nexec = bin/prog\n[b]\n"
	    "exec = bin/prog\nlisten = 0.0.0.0:8000\n");

	ck_assert_uint_eq(c->nroutes, 2);
	config_free(c);
}
END_TEST

START_TEST(no_overlap_other_ports_or_addresses)
{
	struct config *c = ok("[a]\nlisten = *:8000 unix:a.sock unix:@a\nexec = bin/prog\n"
	    "[b]\nexec = bin/prog\nlisten = 127.0.0.1:8001 127.0.0.2:8002 unix:b.sock unix:@b\n");

	ck_assert_uint_eq(c->nroutes, 2);
	config_free(c);
}
END_TEST

/* ================= sections ================= */

START_TEST(routes_in_order_with_lines)
{
	struct config *c = ok("; routes\n[a]\nlisten = 127.0.0.1:1\nexec = bin/prog\n\n"
	    "[b.c-d_9]\nlisten = 127.0.0.1:2\nexec = /bin/cat\n");

	ck_assert_uint_eq(c->nroutes, 2);
	ck_assert_str_eq(c->routes[0].name, "a");
	ck_assert_int_eq(c->routes[0].line, 2);
	ck_assert_str_eq(c->routes[1].name, "b.c-d_9");
	ck_assert_int_eq(c->routes[1].line, 6);
	config_free(c);
}
END_TEST

START_TEST(route_twice)
{
	fails(ROUTE "\n[r]\nlisten = 127.0.0.1:9000\n", 5,
	    "section [r] appears twice (first at line 1)");
}
END_TEST

START_TEST(bad_route_names)
{
	fails("[a b]\nlisten = 127.0.0.1:1\nexec = bin/prog\n", 1,
	    "route name 'a b': use letters, digits, '_', '.' and '-'");
	fails(ROUTE "[r/x]\n", 4, "route name 'r/x': use letters, digits, '_', '.' and '-'");
	fails(ROUTE "[]\n", 4, "route name '': use letters, digits, '_', '.' and '-'");
	fails(ROUTE "[caf\xc3\xa9]\n", 4,
	    "route name 'caf\xc3\xa9': use letters, digits, '_', '.' and '-'");
}
END_TEST

START_TEST(key_outside_section)
{
	fails("listen = 127.0.0.1:8000\n" ROUTE, 1, "key 'listen' outside any section");
	fails("; top\n\nmax_children = 4\n[gateway]\n", 3,
	    "key 'max_children' outside any section");
}
END_TEST

START_TEST(no_routes)
{
	fails("", 1, "no routes");
	fails("; nothing here\n", 1, "no routes");
	fails("[gateway]\nmax_children = 5\n", 2, "no routes");
}
END_TEST

START_TEST(syntax_error_line)
{
	fails(ROUTE "just words\n", 4,
	    "syntax error: expected [section], key = value or a comment");
	fails(ROUTE "[unclosed\n", 4,
	    "syntax error: expected [section], key = value or a comment");
}
END_TEST

START_TEST(syntax_error_before_key_error)
{
	/* The first error in the file is the one reported. */
	fails(ROUTE "just words\nbogus = 1\n", 4,
	    "syntax error: expected [section], key = value or a comment");
}
END_TEST

START_TEST(first_error_wins)
{
	fails(ROUTE "stdin = x\nstderr = y\n", 4, "stdin: expected socket or null, not 'x'");
}
END_TEST

/* ================= lines ================= */

START_TEST(line_of_199_ok)
{
	char *line = long_args_line(199), text[512];
	struct config *c;

	snprintf(text, sizeof text, ROUTE "%s\n", line);
	c = ok(text);
	ck_assert_uint_eq(route1(c)->argv.n, 2);
	ck_assert_uint_eq(strlen(route1(c)->argv.v[1]), 199 - 7);
	config_free(c);
	free(line);
}
END_TEST

START_TEST(line_of_200_refused)
{
	char *line = long_args_line(200), text[512];

	snprintf(text, sizeof text, ROUTE "%s\n", line);
	fails(text, 4, "line too long (more than 199 characters)");
	snprintf(text, sizeof text, ROUTE "%s", line);       /* no final newline */
	fails(text, 4, "line too long (more than 199 characters)");
	free(line);
}
END_TEST

START_TEST(long_comment_line_refused)
{
	char text[512];

	memset(text, ';', 300);
	text[300] = '\0';
	strcat(text, "\n" ROUTE);
	fails(text, 1, "line too long (more than 199 characters)");
}
END_TEST

START_TEST(line_numbers_right_after_long_lines)
{
	char *line = long_args_line(199), text[1024];

	snprintf(text, sizeof text, ROUTE "%s\n%s\nbogus = 1\n", line, line);
	fails(text, 6, "unknown key 'bogus' in route [r]");
	free(line);
}
END_TEST

START_TEST(crlf_lines)
{
	struct config *c = ok("[r]\r\nlisten = 127.0.0.1:8000\r\nexec = bin/prog\r\n"
	    "args = a b\r\n");

	ARGV(route1(c), "bin/prog", "a", "b");
	ck_assert_str_eq(route1(c)->exec, in_dir("bin/prog"));
	config_free(c);
}
END_TEST

START_TEST(last_line_without_newline)
{
	struct config *c = ok("[r]\nlisten = 127.0.0.1:8000\nexec = bin/prog");

	ck_assert_str_eq(route1(c)->exec, in_dir("bin/prog"));
	config_free(c);
}
END_TEST

START_TEST(nul_byte_refused)
{
	const char text[] = ROUTE "args = a\0b\n";
	struct config *c;
	char want[256];

	c = config_parse(path, text, sizeof text - 1, err, sizeof err);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof want, "%s:4: NUL byte in line", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(utf8_bom_accepted)
{
	struct config *c = ok("\xef\xbb\xbf" ROUTE);

	ck_assert_str_eq(route1(c)->name, "r");
	config_free(c);
}
END_TEST

START_TEST(comments_and_colon_separator)
{
	struct config *c = ok("# hash\n; semi\n[r]\n  ; indented comment\n"
	    "listen: 127.0.0.1:8000\nexec = bin/prog\n");

	ck_assert_uint_eq(route1(c)->nlisten, 1);
	ck_assert_uint_eq(route1(c)->argv.n, 1);
	config_free(c);
}
END_TEST

/* ================= indented keys ================= */

START_TEST(indented_known_key_refused)
{
	fails(ROUTE "args = -v\n  cwd = /tmp\n", 5, "indented key 'cwd' would continue 'args'");
	fails(ROUTE "env = A=1\n\tstdin=null\n", 5, "indented key 'stdin' would continue 'env'");
	fails(ROUTE "args = -v\n  socket_user: x\n", 5,
	    "indented key 'socket_user' would continue 'args'");
}
END_TEST

START_TEST(indented_key_after_comment_refused)
{
	fails(ROUTE "args = -v\n; note\n\n  exec = /bin/cat\n", 7,
	    "indented key 'exec' would continue 'args'");
}
END_TEST

START_TEST(indented_gateway_key_refused)
{
	fails("[gateway]\nmax_children = 5\n  kill_grace = 3\n" ROUTE, 3,
	    "indented key 'kill_grace' would continue 'max_children'");
}
END_TEST

START_TEST(indented_line_after_section_is_a_key)
{
	/* A section header ends the key above: inih has nothing to continue. */
	struct config *c = ok("[r]\n  listen = 127.0.0.1:8000\nexec = bin/prog\n");

	ck_assert_uint_eq(route1(c)->nlisten, 1);
	config_free(c);
	/* But the next indented line continues that key, as inih reads it. */
	fails("[r]\n  listen = 127.0.0.1:8000\n  exec = bin/prog\n", 3,
	    "indented key 'exec' would continue 'listen'");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("config");
	TCase *g = tcase_create("gateway");
	TCase *e = tcase_create("exec");
	TCase *v = tcase_create("env");
	TCase *k = tcase_create("keys");
	TCase *l = tcase_create("listen");
	TCase *x = tcase_create("sections_lines");
	TCase *all[] = { g, e, v, k, l, x };

	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		tcase_add_checked_fixture(all[i], setup, teardown);

	tcase_add_test(g, minimal_route_gets_defaults);
	tcase_add_test(g, gateway_keys_parsed);
	tcase_add_test(g, gateway_after_routes);
	tcase_add_test(g, gateway_durations_accept_decimals_and_zero);
	tcase_add_test(g, gateway_bad_durations);
	tcase_add_test(g, gateway_duration_empty);
	tcase_add_test(g, gateway_duration_hex_refused);
	tcase_add_test(g, gateway_bad_max_children);
	tcase_add_test(g, gateway_max_children_bounds);
	tcase_add_test(g, gateway_unknown_key);
	tcase_add_test(g, gateway_bad_enums);
	tcase_add_test(g, gateway_workers);
	tcase_add_test(g, gateway_workers_auto_bounded);
	tcase_add_test(g, gateway_bad_workers);
	tcase_add_test(g, gateway_twice_refused);
	tcase_add_test(g, gateway_key_given_twice_refused);
	suite_add_tcase(s, g);

	tcase_add_test(e, exec_absolute_kept);
	tcase_add_test(e, exec_relative_resolved_argv0_as_written);
	tcase_add_test(e, exec_trailing_comment_cut);
	tcase_add_test(e, exec_missing);
	tcase_add_test(e, exec_not_executable);
	tcase_add_test(e, exec_directory);
	tcase_add_test(e, exec_empty);
	tcase_add_test(e, exec_given_twice);
	tcase_add_test(e, exec_continued_by_indented_line);
	tcase_add_test(e, cwd_relative_resolved);
	tcase_add_test(e, cwd_absolute_kept);
	tcase_add_test(e, cwd_not_a_directory);
	tcase_add_test(e, cwd_missing);
	tcase_add_test(e, cwd_given_twice);
	tcase_add_test(e, args_split_into_argv);
	tcase_add_test(e, args_lines_append);
	tcase_add_test(e, args_continuation_lines_append);
	tcase_add_test(e, args_continuation_may_look_like_unknown_key);
	tcase_add_test(e, args_escaped_semicolon);
	tcase_add_test(e, args_inline_comment_after_blank);
	tcase_add_test(e, args_semicolon_without_blank_kept);
	tcase_add_test(e, args_hash_mid_line_kept);
	tcase_add_test(e, args_comment_cuts_inside_quotes);
	tcase_add_test(e, args_bad_quoting);
	tcase_add_test(e, args_no_expansion);
	suite_add_tcase(s, e);

	tcase_add_test(v, env_entries_kept_whole);
	tcase_add_test(v, env_continuation_lines);
	tcase_add_test(v, env_may_set_path_server_name_software);
	tcase_add_test(v, env_reserved_names_refused);
	tcase_add_test(v, env_near_reserved_names_allowed);
	tcase_add_test(v, env_without_equals);
	tcase_add_test(v, env_bad_names);
	tcase_add_test(v, env_name_twice);
	tcase_add_test(v, pass_env_several_per_line_and_repeated);
	tcase_add_test(v, pass_env_may_name_path);
	tcase_add_test(v, pass_env_reserved_refused);
	tcase_add_test(v, pass_env_bad_name);
	tcase_add_test(v, env_and_pass_env_same_name);
	tcase_add_test(v, env_and_pass_env_prefix_is_not_same);
	suite_add_tcase(s, v);

	tcase_add_test(k, stdin_values);
	tcase_add_test(k, stderr_values);
	tcase_add_test(k, backlog_values);
	tcase_add_test(k, backlog_bad);
	tcase_add_test(k, socket_mode_octal);
	tcase_add_test(k, socket_mode_bad);
	tcase_add_test(k, socket_mode_on_abstract_socket);
	tcase_add_test(k, single_value_keys_given_twice);
	tcase_add_test(k, route_limits_and_refusals);
	tcase_add_test(k, route_limit_errors);
	tcase_add_test(k, rlimits_parsed);
	tcase_add_test(k, allow_on_unix_listener_refused);
	tcase_add_test(k, unknown_route_key);
	tcase_add_test(k, socket_owner);
	tcase_add_test(k, http_route_keys);
	tcase_add_test(k, http_route_errors);
	tcase_add_test(k, proxy_protocol_keys);
	tcase_add_test(k, allow_on_unix_with_proxy_protocol);
	tcase_add_test(k, http_routes_share_a_listener);
	tcase_add_test(k, workers_take_every_kind_of_route);
	tcase_add_test(k, worker_config_does_not_look_for_programs);
	suite_add_tcase(s, k);

	tcase_add_test(l, listen_forms_and_lines);
	tcase_add_test(l, listen_bad_address);
	tcase_add_test(l, listen_unix_path_too_long_once_resolved);
	tcase_add_test(l, route_without_listen);
	tcase_add_test(l, route_without_exec);
	tcase_add_test(l, overlap_star_and_v4);
	tcase_add_test(l, overlap_localhost_and_v6_loopback);
	tcase_add_test(l, overlap_same_unix_path_written_two_ways);
	tcase_add_test(l, overlap_same_abstract_name);
	tcase_add_test(l, overlap_within_one_route);
	tcase_add_test(l, no_overlap_v6only_wildcard_and_v4_wildcard);
	tcase_add_test(l, no_overlap_other_ports_or_addresses);
	suite_add_tcase(s, l);

	tcase_add_test(x, routes_in_order_with_lines);
	tcase_add_test(x, route_twice);
	tcase_add_test(x, bad_route_names);
	tcase_add_test(x, key_outside_section);
	tcase_add_test(x, no_routes);
	tcase_add_test(x, syntax_error_line);
	tcase_add_test(x, syntax_error_before_key_error);
	tcase_add_test(x, first_error_wins);
	tcase_add_test(x, line_of_199_ok);
	tcase_add_test(x, line_of_200_refused);
	tcase_add_test(x, long_comment_line_refused);
	tcase_add_test(x, line_numbers_right_after_long_lines);
	tcase_add_test(x, crlf_lines);
	tcase_add_test(x, last_line_without_newline);
	tcase_add_test(x, nul_byte_refused);
	tcase_add_test(x, utf8_bom_accepted);
	tcase_add_test(x, comments_and_colon_separator);
	tcase_add_test(x, indented_known_key_refused);
	tcase_add_test(x, indented_key_after_comment_refused);
	tcase_add_test(x, indented_gateway_key_refused);
	tcase_add_test(x, indented_line_after_section_is_a_key);
	suite_add_tcase(s, x);
	return s;
}

UNIT_MAIN(suite)
