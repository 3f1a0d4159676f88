/* Script directories (exec_dir): the program a request path names in a
 * directory, looked for at each request, so that a program added later
 * is served without a reload.
 *
 * The name is resolved once, with realpath, and the resolved path is
 * both what is checked and what is executed: a symlink in the directory
 * changed after the check cannot send the exec anywhere else. What could
 * still change between the check and the exec are the directories on
 * the resolved path, inside the script directory, which only someone
 * who may write there (and so may put any program there) can do. */
#include "scriptdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A call on the named file failed: no such file is 404, out of memory
 * 500, anything else (no permission to look, a symlink loop) 403. */
static int status_of(int err)
{
	if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG)
		return 404;
	return err == ENOMEM ? 500 : 403;
}

/* Whether real, a path with no symlink in it, is inside dir (in it or
 * below), once dir's own symlinks are resolved too. */
static int inside(const char *dir, const char *real, int *status)
{
	char *rdir = realpath(dir, NULL);
	size_t n;
	int in;

	if (!rdir) {
		*status = status_of(errno);
		return 0;
	}
	n = strcmp(rdir, "/") == 0 ? 0 : strlen(rdir);
	in = strncmp(real, rdir, n) == 0 && real[n] == '/';
	free(rdir);
	*status = 403;
	return in;
}

/* The checks on dir/name (`file`): 0 with the resolved path in *real,
 * or the status to answer. */
static int check(const char *dir, const char *name, const char *file,
    char **real)
{
	struct stat st;
	int status;

	*real = NULL;
	if (lstat(file, &st) < 0)
		return status_of(errno);
	if (name[0] == '.' || S_ISDIR(st.st_mode))
		return 403;
	if (!(*real = realpath(file, NULL)))
		return status_of(errno);
	if (!inside(dir, *real, &status))
		return status;
	if (stat(*real, &st) < 0)
		return status_of(errno);
	if (!S_ISREG(st.st_mode) || access(*real, X_OK) < 0)
		return 403;
	return 0;
}

int scriptdir_find(const char *dir, const char *path, size_t prefix,
    struct script *s)
{
	const char *seg = path + prefix, *end;
	char *file = NULL;
	size_t len;
	int status;

	memset(s, 0, sizeof *s);
	if (seg[0] != '/' || seg[1] == '\0' || seg[1] == '/')
		return 404;             /* no name */
	seg++;
	end = strchr(seg, '/');
	len = end ? (size_t)(end - seg) : strlen(seg);
	if (!(s->name = strndup(seg, len)) ||
	    asprintf(&file, "%s/%s", dir, s->name) < 0) {
		script_free(s);
		return 500;
	}
	status = check(dir, s->name, file, &s->file);
	free(file);
	if (!status && !(s->script_name = strndup(path, (size_t)(seg - path) + len)))
		status = 500;
	if (status) {
		script_free(s);
		return status;
	}
	s->path_info = seg + len;
	return 0;
}

void script_free(struct script *s)
{
	free(s->file);
	free(s->name);
	free(s->script_name);
	memset(s, 0, sizeof *s);
}
