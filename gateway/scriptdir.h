/* Script directories (exec_dir): which program in a directory a request
 * path names, and whether it may run. It looks at the file system and
 * nothing else; httpconn.c answers what it decides. */
#ifndef GATEWAY_SCRIPTDIR_H
#define GATEWAY_SCRIPTDIR_H

#include <stddef.h>

/* The program a request names, and how the path splits around it. */
struct script {
	char *file;                     /* absolute, no symlink in it: what runs, SCRIPT_FILENAME */
	char *name;                     /* the segment as requested: argv[0] */
	char *script_name;              /* the path up to and with "/NAME": SCRIPT_NAME */
	const char *path_info;          /* the rest of the path (points into it): PATH_INFO */
};

/* Finds the program that `path` (a normalised request path) names in
 * `dir`: the first segment after its first `prefix` bytes (the route's
 * path, 0 for "/"). That segment names a regular file directly in dir,
 * executable, not a dot file; it may be a symlink whose target is inside
 * dir (in it or below). Returns 0 and fills s (script_free frees it), or
 * the HTTP status to answer: 404 when there is no such name (no segment,
 * no such file), 403 when it is there but may not run (a dot file, a
 * directory or anything not a regular file, not executable, a symlink
 * that leads out of dir), 500 when memory runs out. */
int scriptdir_find(const char *dir, const char *path, size_t prefix,
    struct script *s);

void script_free(struct script *s);

#endif
