#include "env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static int push(struct strv *out, const char *name, const char *value)
{
	char *s;

	if (asprintf(&s, "%s=%s", name, value) < 0)
		return -ENOMEM;
	return strv_push(out, s);
}

static int pushu(struct strv *out, const char *name, unsigned long long v)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", v);
	return push(out, name, num);
}

static const char *lookup(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* Whether env, or pass_env with the name present in parent, sets name:
 * a pass_env name the gateway lacks sets nothing. */
static int set_by_route(const struct route *r, char *const *parent,
    const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->pass_env.n; i++)
		if (strcmp(r->pass_env.v[i], name) == 0 && lookup(parent, name))
			return 1;
	for (size_t i = 0; i < r->env.n; i++)
		if (strncmp(r->env.v[i], name, n) == 0 && r->env.v[i][n] == '=')
			return 1;
	return 0;
}

/* pass_env may name a variable twice; the child gets it once. */
static int named_before(const struct strv *names, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(names->v[j], names->v[i]) == 0)
			return 1;
	return 0;
}

static int conn_vars(const struct conn_info *ci, const struct route *r,
    struct strv *out)
{
	int e = 0;

	if (ci->tcp) {
		e |= push(out, "PROTO", "TCP");
		e |= push(out, "TCPREMOTEIP", ci->remote_ip);
		e |= pushu(out, "TCPREMOTEPORT", ci->remote_port);
		e |= push(out, "TCPLOCALIP", ci->local_ip);
		e |= pushu(out, "TCPLOCALPORT", ci->local_port);
		e |= push(out, "REMOTE_ADDR", ci->remote_ip);
		e |= pushu(out, "REMOTE_PORT", ci->remote_port);
		e |= push(out, "SERVER_ADDR", ci->local_ip);
		e |= pushu(out, "SERVER_PORT", ci->local_port);
	} else {
		e |= push(out, "PROTO", "IPC");
		e |= push(out, "IPCLOCALPATH", ci->ipc_path ? ci->ipc_path : "");
		if (ci->have_cred) {
			e |= pushu(out, "IPCREMOTEEUID", ci->uid);
			e |= pushu(out, "IPCREMOTEEGID", ci->gid);
			e |= pushu(out, "IPCREMOTEPID", (unsigned long long)ci->pid);
		}
	}
	e |= push(out, "GATEWAY_ROUTE", r->name);
	e |= pushu(out, "GATEWAY_CONN", ci->id);
	return e ? -ENOMEM : 0;
}

int env_build(const struct route *r, const struct conn_info *ci,
    char *const *parent, struct strv *out)
{
	if (conn_vars(ci, r, out) < 0)
		goto nomem;
	if (!set_by_route(r, parent, "PATH") && push(out, "PATH", DEFAULT_PATH) < 0)
		goto nomem;
	for (size_t i = 0; i < r->pass_env.n; i++) {
		const char *v = lookup(parent, r->pass_env.v[i]);
		if (v && !named_before(&r->pass_env, i) &&
		    push(out, r->pass_env.v[i], v) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < r->env.n; i++)
		if (strv_pushdup(out, r->env.v[i]) < 0)
			goto nomem;
	return 0;
nomem:
	strv_free(out);
	return -ENOMEM;
}
