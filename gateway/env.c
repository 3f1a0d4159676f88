#include "env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host.h"
#include "http.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#ifndef VERSION
#define VERSION "0"
#endif

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
		e |= push(out, "IPCLOCALPATH", ci->ipc_path);
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

/* What a PROXY v2 header said of the client's connection to the proxy,
 * under the names Apache gives the same facts where it ends the TLS
 * itself (mod_ssl's SSL_TLS_SNI, mod_unique_id's UNIQUE_ID); the ALPN,
 * which mod_ssl does not export, by nginx's $ssl_alpn_protocol. Every
 * route gets them, as sslserver gives mod_ssl's names to programs of the
 * tcpserver kind. */
static int tlv_vars(const struct proxy_tlvs *t, struct strv *out)
{
	int e = 0;

	if (!t)
		return 0;
	if (t->authority[0])
		e |= push(out, "SSL_TLS_SNI", t->authority);
	if (t->alpn[0])
		e |= push(out, "SSL_ALPN_PROTOCOL", t->alpn);
	if (t->unique_id[0])
		e |= push(out, "UNIQUE_ID", t->unique_id);
	return e ? -ENOMEM : 0;
}

int env_build(const struct route *r, const struct conn_info *ci,
    const struct proxy_tlvs *tlvs, char *const *parent, struct strv *out)
{
	if (conn_vars(ci, r, out) < 0 || tlv_vars(tlvs, out) < 0)
		goto nomem;
	if (!set_by_route(r, parent, "PATH") && push(out, "PATH", DEFAULT_PATH) < 0)
		goto nomem;
	/* A terminal that claims no abilities, unless the route knows the
	 * client's. */
	if (r->pty != PTY_NONE && !set_by_route(r, parent, "TERM") &&
	    push(out, "TERM", "dumb") < 0)
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

/* ---- CGI (RFC 3875 4.1) ---- */

static int header_name_ok(const char *n)
{
	if (!*n)
		return 0;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '-')
			return 0;
	return 1;
}

/* HTTP_NAME for a header: upper case, '-' as '_'. */
static void meta_name(char *out, size_t cap, const char *name)
{
	size_t o = snprintf(out, cap, "HTTP_");

	for (; *name && o + 1 < cap; name++)
		out[o++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	out[o] = '\0';
}

/* What joins the values of a header sent more than once: ", " (RFC
 * 3875 4.1.18, RFC 9110 5.3), but "; " for Cookie, the one separator its
 * pairs have (RFC 6265 5.4; HTTP/2 joins its split cookies so too, RFC
 * 9113 8.2.3): a program splitting HTTP_COOKIE on ';' would otherwise
 * read "a=1, b=2" as one cookie. */
static const char *joiner(const char *name)
{
	return strcasecmp(name, "Cookie") == 0 ? "; " : ", ";
}

/* Every request header as HTTP_*, repeated ones joined as above, except
 * Proxy (httpoxy) and the two with variables of their own; a name that
 * is not [A-Za-z0-9-]+ is dropped, or X_Forwarded_For could pass for
 * X-Forwarded-For. */
static int http_vars(const struct http_request *req, struct strv *out)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *n = req->headers[i].name, *sep = joiner(n);
		char meta[256], *joined;
		size_t len;

		if (!header_name_ok(n) || strcasecmp(n, "Proxy") == 0 ||
		    strcasecmp(n, "Content-Length") == 0 ||
		    strcasecmp(n, "Content-Type") == 0 || strlen(n) > 200)
			continue;
		/* Taken with its first occurrence. */
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(req->headers[j].name, n) == 0)
				goto next;
		len = strlen(req->headers[i].value);
		for (size_t j = i + 1; j < req->nheaders; j++)
			if (strcasecmp(req->headers[j].name, n) == 0)
				len += strlen(sep) + strlen(req->headers[j].value);
		if (!(joined = malloc(len + 1)))
			return -ENOMEM;
		strcpy(joined, req->headers[i].value);
		for (size_t j = i + 1; j < req->nheaders; j++)
			if (strcasecmp(req->headers[j].name, n) == 0) {
				strcat(joined, sep);
				strcat(joined, req->headers[j].value);
			}
		meta_name(meta, sizeof meta, n);
		if (push(out, meta, joined) < 0) {
			free(joined);
			return -ENOMEM;
		}
		free(joined);
next:
		;
	}
	return 0;
}

/* SERVER_NAME: the Host header without its port, else the local address.
 * The request parser refused a Host that is not a host. */
static void server_name(const struct http_request *req,
    const struct conn_info *ci, char *out, size_t cap)
{
	const char *host = http_header(req, "Host");
	size_t n;

	if (!host || host_split(host, &n) < 0 || n == 0) {
		snprintf(out, cap, "%s", ci->tcp ? ci->local_ip : "localhost");
		return;
	}
	snprintf(out, cap, "%.*s", (int)n, host);
}

static int set_unless_route(const struct route *r, char *const *parent,
    struct strv *out, const char *name, const char *value)
{
	return set_by_route(r, parent, name) ? 0 : push(out, name, value);
}

int env_build_cgi(const struct route *r, const struct conn_info *ci,
    const struct proxy_tlvs *tlvs, const struct cgi_request *cr,
    char *const *parent, struct strv *out)
{
	const struct http_request *req = cr->req;
	const char *ctype = http_header(req, "Content-Type");
	char name[256], proto[16];
	int e = 0;

	if (env_build(r, ci, tlvs, parent, out) < 0)
		return -ENOMEM;
	server_name(req, ci, name, sizeof name);
	snprintf(proto, sizeof proto, "HTTP/1.%d", req->minor);
	e |= push(out, "GATEWAY_INTERFACE", "CGI/1.1");
	e |= push(out, "REQUEST_METHOD", req->method);
	e |= push(out, "SCRIPT_NAME", cr->script_name);
	e |= push(out, "PATH_INFO", cr->path_info);
	if (cr->script_filename)
		e |= push(out, "SCRIPT_FILENAME", cr->script_filename);
	e |= push(out, "QUERY_STRING", req->query);
	e |= push(out, "REQUEST_URI", req->target);
	e |= push(out, "SERVER_PROTOCOL", proto);
	e |= set_unless_route(r, parent, out, "SERVER_NAME", name);
	e |= set_unless_route(r, parent, out, "SERVER_SOFTWARE", "gatewayd/" VERSION);
	/* The gateway looks up no names: REMOTE_HOST is the address, as RFC
	 * 3875 4.1.9 allows, where there is one (not on a Unix socket). */
	if (ci->tcp)
		e |= push(out, "REMOTE_HOST", ci->remote_ip);
	/* The request came over TLS to a proxy that says so (RFC 3875 leaves
	 * HTTPS to the server; Apache's "on" is what programs test for). */
	if (tlvs && tlvs->ssl)
		e |= push(out, "HTTPS", "on");
	/* A chunked body reaches the child through a pipe, to EOF: no
	 * length (what Apache httpd does). */
	if (req->content_length >= 0 && !req->chunked)
		e |= pushu(out, "CONTENT_LENGTH", (unsigned long long)req->content_length);
	if (ctype)
		e |= push(out, "CONTENT_TYPE", ctype);
	if (!e)
		e = http_vars(req, out);
	if (e) {
		strv_free(out);
		return -ENOMEM;
	}
	return 0;
}
