/* A route's config against the system: the program and cwd it names,
 * and the users and groups, resolved when the config is loaded. */
#include "config_sys.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void config_sys_exec(const struct route *r, struct config_error *e)
{
	struct stat st;

	if (stat(r->exec, &st) < 0)
		config_fail(e, r->exec_line, "exec '%s': %s", r->exec, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		config_fail(e, r->exec_line, "exec '%s': not a regular file", r->exec);
	else if (access(r->exec, X_OK) < 0)
		config_fail(e, r->exec_line, "exec '%s': %s", r->exec, strerror(errno));
}

void config_sys_exec_dir(const struct route *r, struct config_error *e)
{
	struct stat st;

	if (stat(r->exec_dir, &st) < 0)
		config_fail(e, r->exec_dir_line, "exec_dir '%s': %s", r->exec_dir,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		config_fail(e, r->exec_dir_line, "exec_dir '%s': not a directory",
		    r->exec_dir);
}

void config_sys_cwd(const struct route *r, struct config_error *e)
{
	struct stat st;

	if (stat(r->cwd, &st) < 0)
		config_fail(e, r->cwd_line, "cwd '%s': %s", r->cwd, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		config_fail(e, r->cwd_line, "cwd '%s': not a directory", r->cwd);
}

/* Root, or CAP_SETUID and CAP_SETGID in the effective set. */
static int can_change_ids(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f;

	if (geteuid() == 0)
		return 1;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return (caps & (1ull << 6)) && (caps & (1ull << 7));
}

static int parse_id(const char *v, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return *end || errno ? -1 : 0;
}

/* systemd's SocketUser, SocketGroup: a name, or a number that need not
 * have an entry. */
void config_sys_socket_owner(struct route *r, struct config_error *e)
{
	unsigned long id;

	r->socket_uid = (uid_t)-1;
	r->socket_gid = (gid_t)-1;
	if (r->socket_user) {
		struct passwd *pw = parse_id(r->socket_user, &id) == 0 ?
		    NULL : getpwnam(r->socket_user);
		if (pw)
			r->socket_uid = pw->pw_uid;
		else if (parse_id(r->socket_user, &id) == 0)
			r->socket_uid = (uid_t)id;
		else
			config_fail(e, r->socket_user_line, "socket_user '%s': no such user",
			    r->socket_user);
	}
	if (r->socket_group) {
		struct group *gr = parse_id(r->socket_group, &id) == 0 ?
		    NULL : getgrnam(r->socket_group);
		if (gr)
			r->socket_gid = gr->gr_gid;
		else if (parse_id(r->socket_group, &id) == 0)
			r->socket_gid = (gid_t)id;
		else
			config_fail(e, r->socket_group_line, "socket_group '%s': no such group",
			    r->socket_group);
	}
}

/* user and group are resolved here, at load: NSS has no place in a
 * child between fork and exec. */
void config_sys_ids(struct route *r, struct config_error *e)
{
	struct passwd *pw = NULL;
	unsigned long id;
	int ng = 0;

	if (r->group) {
		struct group *gr = parse_id(r->group, &id) == 0 ?
		    getgrgid((gid_t)id) : getgrnam(r->group);
		if (!gr && parse_id(r->group, &id) < 0) {
			config_fail(e, r->group_line, "group '%s': no such group", r->group);
			return;
		}
		r->gid = gr ? gr->gr_gid : (gid_t)id;
		r->set_gid = 1;
	}
	if (r->user) {
		pw = parse_id(r->user, &id) == 0 ? getpwuid((uid_t)id) : getpwnam(r->user);
		if (!pw && (parse_id(r->user, &id) < 0 || !r->group)) {
			config_fail(e, r->user_line, pw || parse_id(r->user, &id) < 0 ?
			    "user '%s': no such user" :
			    "user '%s': no passwd entry, so group is needed", r->user);
			return;
		}
		r->uid = pw ? pw->pw_uid : (uid_t)id;
		r->set_uid = 1;
		if (!r->set_gid)
			r->gid = pw->pw_gid;
		r->set_gid = 1;
	}
	if (!r->set_gid)
		return;
	if (!can_change_ids()) {
		if ((!r->set_uid || r->uid == geteuid()) && r->gid == getegid()) {
			/* It names our own ids: nothing to change. */
			r->set_uid = r->set_gid = 0;
			return;
		}
		config_fail(e, r->user ? r->user_line : r->group_line,
		    "%s: changing ids needs root or CAP_SETUID and CAP_SETGID",
		    r->user ? "user" : "group");
		return;
	}
	/* initgroups: the user's groups, with the chosen primary one. */
	r->set_groups = 1;
	if (!pw) {
		r->groups = malloc(sizeof *r->groups);
		if (r->groups)
			r->groups[r->ngroups++] = r->gid;
		return;
	}
	getgrouplist(pw->pw_name, r->gid, NULL, &ng);
	r->groups = calloc((size_t)ng + 1, sizeof *r->groups);
	if (r->groups && getgrouplist(pw->pw_name, r->gid, r->groups, &ng) >= 0)
		r->ngroups = (size_t)ng;
}
