/* Config loading: inih reads the file through our own line reader, which
 * sees every raw line and so can do what Debian's inih build cannot
 * (PLATFORM.md): refuse cut lines, know line numbers, notice sections
 * (repeated or empty) and indented continuation lines. */
#include "config.h"
#include "proxy.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

struct parser {
	struct config *c;
	const char *text;
	size_t len, pos;
	int lineno;             /* the line inih is working on */
	int continuation;       /* it is an indented continuation line */
	int have_prev_key;      /* mirrors inih's prev_name */
	struct route *cur;      /* route of the current section */
	int in_gateway;
	int gateway_line;       /* of [gateway], 0 before it */
	int skip_section;       /* bad section header: its keys are ignored */
	char seen[64][24];      /* single-value keys of this section so far */
	int nseen;
	int errline;
	char *err;
	size_t errlen;
	int checked;            /* the main process has checked this text */
};

static void fail(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Keeps one error, the one on the earliest line: inih goes on after an
 * error, later ones are often its consequences, and inih reports its own
 * syntax errors only once the whole file is read. */
static void fail(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errline && p->errline <= line)
		return;
	p->errline = line;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->c->path, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
}

/* Joins dir and a relative path and removes "." and ".." segments
 * lexically (symlinks are left to the kernel). */
static char *path_resolve(const char *dir, const char *path)
{
	size_t n = strlen(dir) + strlen(path) + 2;
	char *in = malloc(n), *out = malloc(n), *seg, *save = NULL;
	size_t o = 0;

	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	if (path[0] == '/')
		snprintf(in, n, "%s", path);
	else
		snprintf(in, n, "%s/%s", dir, path);
	for (seg = strtok_r(in, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, seg, strlen(seg));
		o += strlen(seg);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

const int route_rlimit_resource[ROUTE_RLIMITS] = {
	RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_AS, RLIMIT_CPU, RLIMIT_CORE,
};
const char *const route_rlimit_key[ROUTE_RLIMITS] = {
	"rlimit_nofile", "rlimit_nproc", "rlimit_as", "rlimit_cpu", "rlimit_core",
};

static const char *const reserved_env[] = {
	"PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT",
	"TCPREMOTEHOST", "TCPLOCALHOST", "TCPREMOTEINFO",
	"REMOTE_ADDR", "REMOTE_PORT", "SERVER_ADDR", "SERVER_PORT",
	"IPCLOCALPATH", "IPCREMOTEEUID", "IPCREMOTEEGID", "IPCREMOTEPID",
	"GATEWAY_ROUTE", "GATEWAY_CONN",
	"GATEWAY_INTERFACE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO",
	"PATH_TRANSLATED", "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE",
	"SERVER_PROTOCOL", "REQUEST_URI", "REMOTE_HOST", "REMOTE_USER",
	"REMOTE_IDENT", "AUTH_TYPE", "HTTPS",
};

int config_env_reserved(const char *name, size_t len)
{
	if (len >= 5 && strncmp(name, "HTTP_", 5) == 0)
		return 1;
	for (size_t i = 0; i < sizeof reserved_env / sizeof *reserved_env; i++)
		if (strlen(reserved_env[i]) == len &&
		    strncmp(reserved_env[i], name, len) == 0)
			return 1;
	return 0;
}

static int valid_env_name(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int valid_route_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

/* ---- values ---- */

static int parse_long(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int parse_duration(const char *v, double *out)
{
	char *end;
	double d;

	/* Decimal seconds only: strtod would take hex and exponents. */
	if (!*v || strspn(v, "0123456789.") != strlen(v))
		return -1;
	d = strtod(v, &end);
	if (*end || !isfinite(d) || d < 0 || d > 1e6)
		return -1;
	*out = d;
	return 0;
}

static int parse_octal_mode(const char *v, int *out)
{
	char *end;
	long n;

	if (!*v || strspn(v, "01234567") != strlen(v))
		return -1;
	n = strtol(v, &end, 8);
	if (n > 07777)
		return -1;
	*out = (int)n;
	return 0;
}

/* ---- [gateway] ---- */

static void gateway_key(struct parser *p, const char *key, const char *v)
{
	struct config *c = p->c;
	long n;

	if (strcmp(key, "max_children") == 0) {
		if (parse_long(v, 1, 1000000, &n) < 0)
			fail(p, p->lineno, "max_children: expected a number from 1 to 1000000, not '%s'", v);
		else
			c->max_children = (unsigned)n;
	} else if (strcmp(key, "shutdown_grace") == 0) {
		if (parse_duration(v, &c->shutdown_grace) < 0)
			fail(p, p->lineno, "shutdown_grace: expected seconds, not '%s'", v);
	} else if (strcmp(key, "kill_grace") == 0) {
		if (parse_duration(v, &c->kill_grace) < 0)
			fail(p, p->lineno, "kill_grace: expected seconds, not '%s'", v);
	} else if (strcmp(key, "on_shutdown") == 0) {
		if (strcmp(v, "wait") == 0)
			c->on_shutdown = SHUTDOWN_WAIT;
		else if (strcmp(v, "detach") == 0)
			c->on_shutdown = SHUTDOWN_DETACH;
		else
			fail(p, p->lineno, "on_shutdown: expected wait or detach, not '%s'", v);
	} else if (strcmp(key, "log_format") == 0) {
		if (strcmp(v, "text") == 0)
			c->log_format = LOG_TEXT;
		else if (strcmp(v, "json") == 0)
			c->log_format = LOG_JSON;
		else
			fail(p, p->lineno, "log_format: expected text or json, not '%s'", v);
	} else if (strcmp(key, "workers") == 0) {
		if (strcmp(v, "auto") == 0) {
			/* One per CPU, up to the limit a number has too. */
			c->workers = uv_available_parallelism();
			if (c->workers > WORKERS_MAX)
				c->workers = WORKERS_MAX;
		} else if (parse_long(v, 1, WORKERS_MAX, &n) < 0) {
			fail(p, p->lineno, "workers: expected a number from 1 to %d or auto, not '%s'",
			    WORKERS_MAX, v);
		} else {
			c->workers = (unsigned)n;
		}
	} else {
		fail(p, p->lineno, "unknown key '%s' in [gateway]", key);
	}
}

/* ---- routes ---- */

static const char *const route_keys[] = {
	"listen", "exec", "args", "cwd", "env", "pass_env", "stdin", "stderr",
	"backlog", "socket_mode", "max_children", "on_busy", "busy_message",
	"max_per_source", "timeout", "allow", "deny", "user", "group", "umask",
	"rlimit_nofile", "rlimit_nproc", "rlimit_as", "rlimit_cpu", "rlimit_core",
	"protocol", "path", "proxy_protocol", "proxy_from", "max_pending",
	"socket_user", "socket_group",
};

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
			return 1;
	return 0;
}

#define IN(list, s, len) in_list(list, sizeof list / sizeof *list, s, len)

static void route_listen(struct parser *p, struct route *r, const char *v)
{
	struct strv words = { 0 };
	const char *err;

	if (words_split(v, &words, &err) < 0) {
		fail(p, p->lineno, "listen: %s", err);
		strv_free(&words);
		return;
	}
	for (size_t i = 0; i < words.n; i++) {
		struct listen_addr a[ADDR_MAX_PER_TEXT], *grown;
		int k = addr_parse(words.v[i], p->c->dir, a, &err);
		if (k < 0) {
			fail(p, p->lineno, "listen '%s': %s", words.v[i], err);
			break;
		}
		grown = realloc(r->listen, (r->nlisten + k) * sizeof *grown);
		if (!grown) {
			fail(p, p->lineno, "%s", strerror(ENOMEM));
			break;
		}
		r->listen = grown;
		for (int j = 0; j < k; j++) {
			a[j].line = p->lineno;
			r->listen[r->nlisten++] = a[j];
		}
	}
	strv_free(&words);
}

static void route_env(struct parser *p, struct route *r, const char *v)
{
	const char *eq = strchr(v, '=');
	size_t n;

	if (!eq) {
		fail(p, p->lineno, "env: expected NAME=VALUE, not '%s'", v);
		return;
	}
	n = (size_t)(eq - v);
	if (!valid_env_name(v, n)) {
		fail(p, p->lineno, "env: bad variable name '%.*s'", (int)n, v);
		return;
	}
	if (config_env_reserved(v, n)) {
		fail(p, p->lineno, "env: '%.*s' is set by the gateway for each connection", (int)n, v);
		return;
	}
	for (size_t i = 0; i < r->env.n; i++)
		if (strncmp(r->env.v[i], v, n + 1) == 0) {
			fail(p, p->lineno, "env: '%.*s' given twice", (int)n, v);
			return;
		}
	if (strv_push(&r->env, words_unescape(v)) < 0)
		fail(p, p->lineno, "%s", strerror(ENOMEM));
}

static void route_pass_env(struct parser *p, struct route *r, const char *v)
{
	struct strv words = { 0 };
	const char *err;

	if (words_split(v, &words, &err) < 0) {
		fail(p, p->lineno, "pass_env: %s", err);
		strv_free(&words);
		return;
	}
	for (size_t i = 0; i < words.n; i++) {
		const char *w = words.v[i];
		if (!valid_env_name(w, strlen(w)))
			fail(p, p->lineno, "pass_env: bad variable name '%s'", w);
		else if (config_env_reserved(w, strlen(w)))
			fail(p, p->lineno, "pass_env: '%s' is set by the gateway for each connection", w);
		else if (strv_pushdup(&r->pass_env, w) < 0)
			fail(p, p->lineno, "%s", strerror(ENOMEM));
	}
	strv_free(&words);
}

/* proxy_from takes "unix" besides addresses and blocks. */
static int take_unix_word(struct route *r, struct strv *words)
{
	size_t o = 0;

	for (size_t i = 0; i < words->n; i++) {
		if (strcmp(words->v[i], "unix") == 0) {
			r->proxy_from_unix = 1;
			free(words->v[i]);
		} else {
			words->v[o++] = words->v[i];
		}
	}
	words->n = o;
	if (words->v)
		words->v[o] = NULL;
	return 0;
}

static void route_acl(struct parser *p, struct acl *acl, const char *key,
    const char *v)
{
	struct strv words = { 0 };
	const char *err;
	char *list = strdup(v);

	/* Blanks or commas separate entries. */
	for (char *c = list; c && *c; c++)
		if (*c == ',')
			*c = ' ';
	if (!list || words_split(list, &words, &err) < 0) {
		fail(p, p->lineno, "%s: %s", key, list ? err : strerror(ENOMEM));
		strv_free(&words);
		free(list);
		return;
	}
	if (acl == &p->cur->proxy_from)
		take_unix_word(p->cur, &words);
	for (size_t i = 0; i < words.n; i++) {
		struct cidr c;
		if (cidr_parse(words.v[i], &c, &err) < 0) {
			fail(p, p->lineno, "%s '%s': %s", key, words.v[i], err);
			break;
		}
		if (acl_add(acl, &c) < 0) {
			fail(p, p->lineno, "%s", strerror(ENOMEM));
			break;
		}
	}
	strv_free(&words);
	free(list);
}

/* busy_message: \r \n \t \\ escapes (and \; like every value). */
static void route_busy_message(struct parser *p, struct route *r, const char *v)
{
	char *out = malloc(strlen(v) + 1);
	size_t n = 0;

	if (!out) {
		fail(p, p->lineno, "%s", strerror(ENOMEM));
		return;
	}
	for (; *v; v++) {
		if (*v != '\\') {
			out[n++] = *v;
			continue;
		}
		switch (*++v) {
		case 'r': out[n++] = '\r'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case '\\': out[n++] = '\\'; break;
		case ';': out[n++] = ';'; break;
		default:
			fail(p, p->lineno, "busy_message: unknown escape '\\%.1s'", v);
			free(out);
			return;
		}
	}
	r->busy_message = out;
	r->busy_len = n;
}

/* "unlimited", or a number with an optional k, m or g (1024-based). */
static int parse_rlim(const char *v, rlim_t *out)
{
	unsigned long long n, mult = 1;
	char *end;

	if (strcmp(v, "unlimited") == 0 || strcmp(v, "infinity") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	if (*end && !end[1] && strchr("kKmMgG", *end))
		mult = *end == 'k' || *end == 'K' ? 1ull << 10 :
		    *end == 'm' || *end == 'M' ? 1ull << 20 : 1ull << 30;
	else if (*end)
		return -1;
	if (n > (unsigned long long)RLIM_INFINITY / mult)
		return -1;
	*out = (rlim_t)(n * mult);
	return 0;
}

/* rlimit_*: N (soft and hard) or SOFT:HARD. */
static void route_rlimit(struct parser *p, struct route *r, int i, const char *v)
{
	char soft[64];
	const char *colon = strchr(v, ':');
	struct rlimit lim;
	size_t n = colon ? (size_t)(colon - v) : strlen(v);

	if (n >= sizeof soft)
		goto bad;
	memcpy(soft, v, n);
	soft[n] = '\0';
	if (parse_rlim(soft, &lim.rlim_cur) < 0)
		goto bad;
	lim.rlim_max = lim.rlim_cur;
	if (colon && parse_rlim(colon + 1, &lim.rlim_max) < 0)
		goto bad;
	if (lim.rlim_cur > lim.rlim_max) {
		fail(p, p->lineno, "%s: soft limit above hard limit", route_rlimit_key[i]);
		return;
	}
	r->rlimit[i].set = 1;
	r->rlimit[i].lim = lim;
	return;
bad:
	fail(p, p->lineno, "%s: expected N, SOFT:HARD or unlimited, not '%s'",
	    route_rlimit_key[i], v);
}

/* Keys that may be given again (and continued on indented lines): each
 * line adds to the list. */
static int repeatable(const char *key)
{
	static const char *const keys[] = {
		"listen", "args", "env", "pass_env", "allow", "deny",
	};

	return IN(keys, key, strlen(key));
}

/* A key that takes one value, seen again in its section: either written
 * twice or continued by an indented line. Returns 1 the first time. */
static int once(struct parser *p, const char *key)
{
	if (repeatable(key) || strlen(key) >= sizeof p->seen[0])
		return 1;
	for (int i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i], key) == 0) {
			if (p->continuation)
				fail(p, p->lineno, "'%s' takes one value; an indented line continues it", key);
			else
				fail(p, p->lineno, "'%s' given twice", key);
			return 0;
		}
	if (p->nseen < (int)(sizeof p->seen / sizeof p->seen[0]))
		strcpy(p->seen[p->nseen++], key);
	return 1;
}

static void route_key(struct parser *p, struct route *r, const char *key,
    const char *v)
{
	const char *err;
	long n;

	if (strcmp(key, "listen") == 0) {
		route_listen(p, r, v);
	} else if (strcmp(key, "exec") == 0) {
		if (!*v) {
			fail(p, p->lineno, "exec: empty");
			return;
		}
		r->exec_arg0 = words_unescape(v);
		r->exec = r->exec_arg0 ? path_resolve(p->c->dir, r->exec_arg0) : NULL;
		r->exec_line = p->lineno;
	} else if (strcmp(key, "args") == 0) {
		if (words_split(v, &r->argv, &err) < 0)
			fail(p, p->lineno, "args: %s", err);
	} else if (strcmp(key, "cwd") == 0) {
		char *u = words_unescape(v);
		r->cwd = u ? path_resolve(p->c->dir, u) : NULL;
		r->cwd_line = p->lineno;
		free(u);
	} else if (strcmp(key, "env") == 0) {
		route_env(p, r, v);
	} else if (strcmp(key, "pass_env") == 0) {
		route_pass_env(p, r, v);
	} else if (strcmp(key, "stdin") == 0) {
		if (strcmp(v, "socket") == 0)
			r->stdin_mode = STDIN_SOCKET;
		else if (strcmp(v, "null") == 0)
			r->stdin_mode = STDIN_NULL;
		else
			fail(p, p->lineno, "stdin: expected socket or null, not '%s'", v);
	} else if (strcmp(key, "stderr") == 0) {
		if (strcmp(v, "log") == 0)
			r->stderr_mode = STDERR_LOG;
		else if (strcmp(v, "inherit") == 0)
			r->stderr_mode = STDERR_INHERIT;
		else if (strcmp(v, "null") == 0)
			r->stderr_mode = STDERR_NULL;
		else
			fail(p, p->lineno, "stderr: expected log, inherit or null, not '%s'", v);
	} else if (strcmp(key, "backlog") == 0) {
		if (parse_long(v, 1, 65535, &n) < 0)
			fail(p, p->lineno, "backlog: expected a number from 1 to 65535, not '%s'", v);
		else
			r->backlog = (int)n;
	} else if (strcmp(key, "socket_mode") == 0) {
		if (parse_octal_mode(v, &r->socket_mode) < 0)
			fail(p, p->lineno, "socket_mode: expected an octal mode such as 0660, not '%s'", v);
	} else if (strcmp(key, "max_children") == 0) {
		if (parse_long(v, 0, 1000000, &n) < 0)
			fail(p, p->lineno, "max_children: expected a number from 0 to 1000000, not '%s'", v);
		else
			r->max_children = (unsigned)n;
	} else if (strcmp(key, "max_per_source") == 0) {
		if (parse_long(v, 0, 1000000, &n) < 0)
			fail(p, p->lineno, "max_per_source: expected a number from 0 to 1000000, not '%s'", v);
		else
			r->max_per_source = (unsigned)n;
	} else if (strcmp(key, "on_busy") == 0) {
		if (strcmp(v, "wait") == 0)
			r->on_busy = BUSY_WAIT;
		else if (strcmp(v, "refuse") == 0)
			r->on_busy = BUSY_REFUSE;
		else
			fail(p, p->lineno, "on_busy: expected wait or refuse, not '%s'", v);
	} else if (strcmp(key, "busy_message") == 0) {
		route_busy_message(p, r, v);
	} else if (strcmp(key, "timeout") == 0) {
		if (parse_duration(v, &r->timeout) < 0)
			fail(p, p->lineno, "timeout: expected seconds, not '%s'", v);
	} else if (strcmp(key, "allow") == 0) {
		route_acl(p, &r->allow, key, v);
	} else if (strcmp(key, "deny") == 0) {
		route_acl(p, &r->deny, key, v);
	} else if (strcmp(key, "user") == 0) {
		r->user = strdup(v);
		r->user_line = p->lineno;
	} else if (strcmp(key, "group") == 0) {
		r->group = strdup(v);
		r->group_line = p->lineno;
	} else if (strcmp(key, "umask") == 0) {
		int mode;
		if (parse_octal_mode(v, &mode) < 0 || mode > 0777)
			fail(p, p->lineno, "umask: expected an octal mask such as 022, not '%s'", v);
		else
			r->umask = mode;
	} else if (strncmp(key, "rlimit_", 7) == 0 && IN(route_keys, key, strlen(key))) {
		for (int i = 0; i < ROUTE_RLIMITS; i++)
			if (strcmp(key, route_rlimit_key[i]) == 0)
				route_rlimit(p, r, i, v);
	} else if (strcmp(key, "protocol") == 0) {
		if (strcmp(v, "raw") == 0)
			r->protocol = PROTO_RAW;
		else if (strcmp(v, "cgi") == 0)
			r->protocol = PROTO_CGI;
		else if (strcmp(v, "nph") == 0)
			r->protocol = PROTO_NPH;
		else
			fail(p, p->lineno, "protocol: expected raw, cgi or nph, not '%s'", v);
	} else if (strcmp(key, "path") == 0) {
		if (v[0] != '/' || strpbrk(v, " \t?#%"))
			fail(p, p->lineno, "path: expected a URL path such as /app, not '%s'", v);
		else if (!(r->path = strdup(v)))
			fail(p, p->lineno, "%s", strerror(ENOMEM));
		/* "/app/" serves what "/app" serves: keep no trailing slash. */
		else if (strlen(r->path) > 1 && r->path[strlen(r->path) - 1] == '/')
			r->path[strlen(r->path) - 1] = '\0';
	} else if (strcmp(key, "proxy_protocol") == 0) {
		r->proxy_line = p->lineno;
		if (strcmp(v, "off") == 0)
			r->proxy_protocol = 0;
		else if (strcmp(v, "v1") == 0)
			r->proxy_protocol = PROXY_V1;
		else if (strcmp(v, "v2") == 0)
			r->proxy_protocol = PROXY_V2;
		else if (strcmp(v, "any") == 0)
			r->proxy_protocol = PROXY_ANY;
		else
			fail(p, p->lineno, "proxy_protocol: expected off, v1, v2 or any, not '%s'", v);
	} else if (strcmp(key, "proxy_from") == 0) {
		route_acl(p, &r->proxy_from, key, v);
	} else if (strcmp(key, "max_pending") == 0) {
		if (parse_long(v, 1, 1000000, &n) < 0)
			fail(p, p->lineno, "max_pending: expected a number from 1 to 1000000, not '%s'", v);
		else
			r->max_pending = (unsigned)n;
	} else if (strcmp(key, "socket_user") == 0) {
		r->socket_user = strdup(v);
		r->socket_user_line = p->lineno;
	} else if (strcmp(key, "socket_group") == 0) {
		r->socket_group = strdup(v);
		r->socket_group_line = p->lineno;
	} else {
		fail(p, p->lineno, "unknown key '%s' in route [%s]", key, r->name);
	}
}

/* inih would silently make `  cwd = /x` part of the key above it. */
static int indented_key(struct parser *p, const char *key, const char *v)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz_");
	const char *after = v + n + strspn(v + n, " \t");
	int known;

	if (!p->continuation || n == 0 || (*after != '=' && *after != ':'))
		return 0;
	if (p->in_gateway)
		known = in_list((const char *const[]){ "max_children",
		    "shutdown_grace", "kill_grace", "on_shutdown", "log_format",
		    "workers" }, 6, v, n);
	else
		known = IN(route_keys, v, n);
	if (!known)
		return 0;
	fail(p, p->lineno, "indented key '%.*s' would continue '%s'", (int)n, v, key);
	return 1;
}

static int handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct parser *p = user;

	(void)section; /* the reader tracks sections itself */
	if (p->skip_section || indented_key(p, key, value) || !once(p, key))
		return 1;
	if (p->in_gateway)
		gateway_key(p, key, value);
	else if (p->cur)
		route_key(p, p->cur, key, value);
	else
		fail(p, p->lineno, "key '%s' outside any section", key);
	return 1;
}

/* ---- sections, seen by the reader ---- */

static void section_begin(struct parser *p, const char *name, size_t n)
{
	char buf[256];
	struct route *grown;

	p->cur = NULL;
	p->in_gateway = 0;
	p->skip_section = 1;
	p->nseen = 0;
	if (n >= sizeof buf) {
		fail(p, p->lineno, "section name too long");
		return;
	}
	memcpy(buf, name, n);
	buf[n] = '\0';
	for (size_t i = 0; i < p->c->nroutes; i++)
		if (strcmp(p->c->routes[i].name, buf) == 0) {
			fail(p, p->lineno, "section [%s] appears twice (first at line %d)",
			    buf, p->c->routes[i].line);
			return;
		}
	if (strcmp(buf, "gateway") == 0) {
		if (p->gateway_line) {
			fail(p, p->lineno, "section [gateway] appears twice (first at line %d)",
			    p->gateway_line);
			return;
		}
		p->gateway_line = p->lineno;
		p->in_gateway = 1;
		p->skip_section = 0;
		return;
	}
	if (!valid_route_name(buf)) {
		fail(p, p->lineno, "route name '%s': use letters, digits, '_', '.' and '-'", buf);
		return;
	}
	grown = realloc(p->c->routes, (p->c->nroutes + 1) * sizeof *grown);
	if (!grown) {
		fail(p, p->lineno, "%s", strerror(ENOMEM));
		return;
	}
	p->c->routes = grown;
	p->cur = &grown[p->c->nroutes++];
	memset(p->cur, 0, sizeof *p->cur);
	p->cur->name = strdup(buf);
	p->cur->line = p->lineno;
	p->cur->backlog = 1024;
	p->cur->socket_mode = -1;
	p->cur->umask = -1;
	p->cur->max_pending = 256;
	p->skip_section = 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Classifies the line the way inih is about to (comment, continuation,
 * section, key) so the handler knows where it is. */
static void classify(struct parser *p, const char *line, size_t n)
{
	size_t i = 0;

	while (n > 0 && is_space(line[n - 1]))
		n--;
	while (i < n && is_space(line[i]))
		i++;
	p->continuation = 0;
	if (i == n || line[i] == ';' || line[i] == '#')
		return;
	if (p->have_prev_key && i > 0) {
		p->continuation = 1;
		return;
	}
	if (line[i] == '[') {
		const char *close = memchr(line + i, ']', n - i);
		p->have_prev_key = 0;
		if (close)
			section_begin(p, line + i + 1, (size_t)(close - line - i - 1));
		return;
	}
	if (memchr(line + i, '=', n - i) || memchr(line + i, ':', n - i))
		p->have_prev_key = 1;
}

static char *reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *line, *nl;
	size_t n;

	if (p->pos >= p->len)
		return NULL;
	line = p->text + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += n + (nl ? 1 : 0);
	p->lineno++;
	if (memchr(line, '\0', n)) {
		fail(p, p->lineno, "NUL byte in line");
		return NULL;
	}
	/* inih's buffer holds num - 1 characters; a longer line would be cut
	 * and its tail parsed as a line of its own. */
	if (n > (size_t)num - 1) {
		fail(p, p->lineno, "line too long (more than %d characters)", num - 1);
		return NULL;
	}
	memcpy(str, line, n);
	str[n] = '\0';
	/* inih skips a UTF-8 byte order mark on the first line; so do we. */
	if (p->lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		classify(p, line + 3, n - 3);
	else
		classify(p, line, n);
	return str;
}

/* ---- after parsing: the whole config ---- */

static void check_exec(struct parser *p, struct route *r)
{
	struct stat st;

	if (stat(r->exec, &st) < 0)
		fail(p, r->exec_line, "exec '%s': %s", r->exec, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		fail(p, r->exec_line, "exec '%s': not a regular file", r->exec);
	else if (access(r->exec, X_OK) < 0)
		fail(p, r->exec_line, "exec '%s': %s", r->exec, strerror(errno));
}

static void check_cwd(struct parser *p, struct route *r)
{
	struct stat st;

	if (!r->cwd) {
		char *slash = strrchr(r->exec, '/');
		r->cwd = strndup(r->exec, slash == r->exec ? 1 : (size_t)(slash - r->exec));
		return;
	}
	if (p->checked)
		return;
	if (stat(r->cwd, &st) < 0)
		fail(p, r->cwd_line, "cwd '%s': %s", r->cwd, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		fail(p, r->cwd_line, "cwd '%s': not a directory", r->cwd);
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

/* socket_user, socket_group: the owner of the route's Unix socket files
 * (systemd's SocketUser, SocketGroup), resolved at load. */
static void resolve_socket_owner(struct parser *p, struct route *r)
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
			fail(p, r->socket_user_line, "socket_user '%s': no such user", r->socket_user);
	}
	if (r->socket_group) {
		struct group *gr = parse_id(r->socket_group, &id) == 0 ?
		    NULL : getgrnam(r->socket_group);
		if (gr)
			r->socket_gid = gr->gr_gid;
		else if (parse_id(r->socket_group, &id) == 0)
			r->socket_gid = (gid_t)id;
		else
			fail(p, r->socket_group_line, "socket_group '%s': no such group",
			    r->socket_group);
	}
}

/* user and group are resolved here, at load: NSS has no place in a
 * child between fork and exec. */
static void resolve_ids(struct parser *p, struct route *r)
{
	struct passwd *pw = NULL;
	unsigned long id;
	int ng = 0;

	if (r->group) {
		struct group *gr = parse_id(r->group, &id) == 0 ?
		    getgrgid((gid_t)id) : getgrnam(r->group);
		if (!gr && parse_id(r->group, &id) < 0) {
			fail(p, r->group_line, "group '%s': no such group", r->group);
			return;
		}
		r->gid = gr ? gr->gr_gid : (gid_t)id;
		r->set_gid = 1;
	}
	if (r->user) {
		pw = parse_id(r->user, &id) == 0 ? getpwuid((uid_t)id) : getpwnam(r->user);
		if (!pw && (parse_id(r->user, &id) < 0 || !r->group)) {
			fail(p, r->user_line, pw || parse_id(r->user, &id) < 0 ?
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
		fail(p, r->user ? r->user_line : r->group_line,
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

static void check_http_proxy(struct parser *p, struct route *r)
{
	if (r->proxy_protocol && !r->proxy_from.n && !r->proxy_from_unix)
		fail(p, r->proxy_line, "proxy_protocol needs proxy_from: who may send the header");
	if (!r->proxy_protocol && (r->proxy_from.n || r->proxy_from_unix))
		fail(p, r->line, "route [%s]: proxy_from without proxy_protocol", r->name);
	if (r->protocol == PROTO_RAW && r->path)
		fail(p, r->line, "route [%s]: path is for protocol = cgi or nph", r->name);
	if (r->protocol != PROTO_RAW && !r->path && !(r->path = strdup("/")))
		fail(p, r->line, "%s", strerror(ENOMEM));
}

static void check_route(struct parser *p, struct route *r)
{
	if (r->nlisten == 0)
		fail(p, r->line, "route [%s] has no listen", r->name);
	if (!r->exec) {
		fail(p, r->line, "route [%s] has no exec", r->name);
		return;
	}
	/* A worker parses what the main process checked: a program removed
	 * since is a spawn_error then, not a worker that cannot start. */
	if (!p->checked)
		check_exec(p, r);
	check_cwd(p, r);
	resolve_ids(p, r);
	resolve_socket_owner(p, r);
	for (size_t i = 0; i < r->pass_env.n; i++)
		for (size_t j = 0; j < r->env.n; j++) {
			size_t n = strlen(r->pass_env.v[i]);
			if (strncmp(r->env.v[j], r->pass_env.v[i], n) == 0 &&
			    r->env.v[j][n] == '=')
				fail(p, r->line, "route [%s]: '%s' is in both env and pass_env",
				    r->name, r->pass_env.v[i]);
		}
	for (size_t i = 0; i < r->nlisten; i++) {
		if (r->socket_mode >= 0 && r->listen[i].abstract)
			fail(p, r->listen[i].line,
			    "socket_mode: abstract socket '%s' has no file", r->listen[i].text);
		if ((r->socket_user || r->socket_group) && r->listen[i].abstract)
			fail(p, r->listen[i].line,
			    "socket_user/socket_group: abstract socket '%s' has no file",
			    r->listen[i].text);
		/* A Unix peer has no address to match (until a PROXY header
		 * gives it one). */
		if ((r->allow.n || r->deny.n) && r->listen[i].family == AF_UNIX &&
		    !r->proxy_protocol)
			fail(p, r->listen[i].line,
			    "allow/deny: unix listener '%s' has no client addresses", r->listen[i].text);
	}
	check_http_proxy(p, r);
	/* argv: exec as written, then args. */
	{
		struct strv argv = { 0 };
		strv_pushdup(&argv, r->exec_arg0);
		for (size_t i = 0; i < r->argv.n; i++) {
			strv_push(&argv, r->argv.v[i]);
			r->argv.v[i] = NULL;
		}
		strv_free(&r->argv);
		r->argv = argv;
	}
}

/* Several HTTP routes may share one address when their paths differ and
 * they agree on what the socket is. Returns NULL if they may, else why. */
static const char *may_share(const struct route *a, const struct route *b,
    const struct listen_addr *x, const struct listen_addr *y)
{
	if (!addr_same(x, y) || a == b)
		return "overlaps";
	if (a->protocol == PROTO_RAW || b->protocol == PROTO_RAW)
		return "overlaps";
	if (strcmp(a->path, b->path) == 0)
		return "has the same path as";
	if (a->proxy_protocol != b->proxy_protocol || a->backlog != b->backlog ||
	    a->socket_mode != b->socket_mode || a->max_pending != b->max_pending ||
	    a->socket_uid != b->socket_uid || a->socket_gid != b->socket_gid)
		return "must agree on proxy_protocol, backlog, socket_mode and max_pending with";
	/* The header is read, and believed or not, before the head names
	 * the route: who may send it is the socket's, not one route's. */
	if (a->proxy_from_unix != b->proxy_from_unix ||
	    !acl_equal(&a->proxy_from, &b->proxy_from))
		return "must agree on proxy_from with";
	return NULL;
}

static void check_overlaps(struct parser *p)
{
	struct config *c = p->c;

	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t a = 0; a < c->routes[i].nlisten; a++)
			for (size_t j = 0; j <= i; j++)
				for (size_t b = 0; b < (j == i ? a : c->routes[j].nlisten); b++) {
					const struct listen_addr *x = &c->routes[i].listen[a];
					const struct listen_addr *y = &c->routes[j].listen[b];
					const char *why;
					if (addr_overlap(x, y) &&
					    (why = may_share(&c->routes[i], &c->routes[j], x, y)))
						fail(p, x->line, "listen '%s' %s '%s' of route [%s] (line %d)",
						    x->text, why, y->text, c->routes[j].name, y->line);
				}
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static struct config *parse(const char *path, const char *text, size_t len,
    int checked, char *err, size_t errlen)
{
	struct parser p = { .text = text, .len = len, .err = err, .errlen = errlen,
	    .checked = checked };
	int r;

	p.c = calloc(1, sizeof *p.c);
	if (!p.c) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return NULL;
	}
	p.c->refs = 1;
	p.c->path = strdup(path);
	p.c->dir = dir_of(path);
	p.c->max_children = 1024;
	p.c->shutdown_grace = 10;
	p.c->kill_grace = 2;
	p.c->workers = 1;
	p.c->text = malloc(len + 1);
	if (p.c->text) {
		memcpy(p.c->text, text, len);
		p.c->text[len] = '\0';
		p.c->textlen = len;
	}
	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0)
		fail(&p, r, "syntax error: expected [section], key = value or a comment");
	else if (r < 0)
		fail(&p, p.lineno, "%s", strerror(ENOMEM));
	if (!p.errline) {
		if (p.c->nroutes == 0)
			fail(&p, p.lineno ? p.lineno : 1, "no routes");
		for (size_t i = 0; i < p.c->nroutes; i++)
			check_route(&p, &p.c->routes[i]);
		check_overlaps(&p);
	}
	if (p.errline) {
		config_free(p.c);
		return NULL;
	}
	return p.c;
}

struct config *config_parse(const char *path, const char *text, size_t len,
    char *err, size_t errlen)
{
	return parse(path, text, len, 0, err, errlen);
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	struct config *c;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			char *grown = cap > (16u << 20) ? NULL :
			    realloc(text, cap = cap ? 2 * cap : 4096);
			if (!grown) {
				snprintf(err, errlen, "%s: file too large", path);
				free(text);
				fclose(f);
				return NULL;
			}
			text = grown;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	c = config_parse(path, text, len, err, errlen);
	free(text);
	return c;
}

struct config *config_from_fd(const char *path, int fd)
{
	struct stat st;
	char *text, err[1024];
	struct config *c = NULL;

	if (fstat(fd, &st) < 0 || !(text = malloc((size_t)st.st_size + 1))) {
		log_warn("config from the main process");
		return NULL;
	}
	if (pread(fd, text, (size_t)st.st_size, 0) != st.st_size)
		log_warnx("config from the main process: short read");
	else if (!(c = parse(path, text, (size_t)st.st_size, 1, err, sizeof err)))
		log_warnx("config from the main process: %s", err);
	free(text);
	return c;
}

static void route_free(struct route *r)
{
	free(r->name);
	free(r->listen);
	free(r->exec);
	free(r->exec_arg0);
	strv_free(&r->argv);
	free(r->cwd);
	strv_free(&r->env);
	strv_free(&r->pass_env);
	free(r->busy_message);
	acl_free(&r->allow);
	acl_free(&r->deny);
	free(r->user);
	free(r->group);
	free(r->groups);
	free(r->path);
	acl_free(&r->proxy_from);
	free(r->socket_user);
	free(r->socket_group);
}

void config_hold(struct config *c)
{
	c->refs++;
}

void config_release(struct config *c)
{
	if (c && --c->refs == 0)
		config_free(c);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nroutes; i++)
		route_free(&c->routes[i]);
	free(c->routes);
	free(c->text);
	free(c->path);
	free(c->dir);
	free(c);
}
