#include "setup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int setup_needed(const struct route *r)
{
	if (r->pty != PTY_NONE || r->set_uid || r->set_gid || r->umask >= 0)
		return 1;
	for (int i = 0; i < ROUTE_RLIMITS; i++)
		if (r->rlimit[i].set)
			return 1;
	return 0;
}

static int pushf(struct strv *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int pushf(struct strv *v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : strv_push(v, s);
}

/* One word per setting, in the order they are applied. */
int setup_argv(const struct route *r, const char *exec, char *const *argv,
    const char *self, struct strv *out)
{
	int e = 0;

	e |= strv_pushdup(out, self);
	e |= strv_pushdup(out, SETUP_ARG);
	if (r->pty != PTY_NONE)
		e |= strv_pushdup(out, "t");
	for (int i = 0; i < ROUTE_RLIMITS; i++)
		if (r->rlimit[i].set)
			e |= pushf(out, "r%d=%llu:%llu", route_rlimit_resource[i],
			    (unsigned long long)r->rlimit[i].lim.rlim_cur,
			    (unsigned long long)r->rlimit[i].lim.rlim_max);
	if (r->umask >= 0)
		e |= pushf(out, "m=%o", (unsigned)r->umask);
	if (r->set_groups) {
		char *list = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);
		if (!f)
			return -ENOMEM;
		fputs("G=", f);
		for (size_t i = 0; i < r->ngroups; i++)
			fprintf(f, "%s%u", i ? "," : "", (unsigned)r->groups[i]);
		fclose(f);
		e |= strv_push(out, list);
	}
	if (r->set_gid)
		e |= pushf(out, "g=%u", (unsigned)r->gid);
	if (r->set_uid)
		e |= pushf(out, "u=%u", (unsigned)r->uid);
	e |= pushf(out, "c=%s", r->cwd);
	e |= strv_pushdup(out, "--");
	e |= strv_pushdup(out, exec);
	for (size_t i = 0; argv[i]; i++)
		e |= strv_pushdup(out, argv[i]);
	return e ? -ENOMEM : 0;
}

/* Reports to the gateway, which waits on the status pipe, then ends. */
static void die(const char *stage)
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "%d %s", errno, stage);

	if (write(SETUP_STATUS_FD, msg, (size_t)n) < 0)
		_exit(127);
	_exit(127);
}

static void set_groups(const char *list)
{
	gid_t *groups = malloc((strlen(list) / 2 + 1) * sizeof *groups);
	size_t n = 0;
	char *end;

	if (!groups)
		die("setgroups");
	while (*list) {
		groups[n++] = (gid_t)strtoul(list, &end, 10);
		list = *end == ',' ? end + 1 : end;
	}
	if (setgroups(n, groups) < 0)
		die("setgroups");
	free(groups);
}

int setup_main(int argc, char **argv)
{
	int i;

	/* The status pipe must not outlive the exec: its EOF means success. */
	if (fcntl(SETUP_STATUS_FD, F_SETFD, FD_CLOEXEC) < 0)
		_exit(127);
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (a[0] == 't') {
			/* The new session (uv_spawn's setsid) takes its
			 * terminal, fd 0. */
			if (ioctl(0, TIOCSCTTY, 0) < 0)
				die("TIOCSCTTY");
		} else if (a[0] == 'r') {
			int res;
			unsigned long long cur, max;
			struct rlimit rl;
			if (sscanf(a, "r%d=%llu:%llu", &res, &cur, &max) != 3)
				die("arguments");
			rl.rlim_cur = (rlim_t)cur;
			rl.rlim_max = (rlim_t)max;
			if (setrlimit(res, &rl) < 0)
				die("setrlimit");
		} else if (a[0] == 'm') {
			umask((mode_t)strtoul(a + 2, NULL, 8));
		} else if (a[0] == 'G') {
			set_groups(a + 2);
		} else if (a[0] == 'g') {
			if (setgid((gid_t)strtoul(a + 2, NULL, 10)) < 0)
				die("setgid");
		} else if (a[0] == 'u') {
			if (setuid((uid_t)strtoul(a + 2, NULL, 10)) < 0)
				die("setuid");
		} else if (a[0] == 'c') {
			/* As the new user: a directory it may not enter fails. */
			if (chdir(a + 2) < 0)
				die("chdir");
		} else {
			errno = EINVAL;
			die("arguments");
		}
	}
	if (i + 2 >= argc) {
		errno = EINVAL;
		die("arguments");
	}
	execve(argv[i + 1], argv + i + 2, environ);
	die("execve");
	return 127;
}
