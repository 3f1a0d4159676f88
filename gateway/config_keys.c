/* The keys of the config file: the routes' table of keys (config_keys.h;
 * the [gateway] section's is config_keys_gateway.c), the function that
 * reads each one's value into the model, with the exact message for each
 * bad value, and the lookup of a key in either table. */
#include "config_keys.h"
#include "config_admit.h"
#include "config_keys_gateway.h"
#include "config_value.h"
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

const int route_rlimit_resource[ROUTE_RLIMITS] = {
	RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_AS, RLIMIT_CPU, RLIMIT_CORE,
};
const char *const route_rlimit_key[ROUTE_RLIMITS] = {
	"rlimit_nofile", "rlimit_nproc", "rlimit_as", "rlimit_cpu", "rlimit_core",
};

/* ---- one of some words ---- */

static int parse_choice(const struct key_choice *choices, const char *v, int *out)
{
	for (; choices->word; choices++)
		if (strcmp(v, choices->word) == 0) {
			*out = choices->value;
			return 0;
		}
	return -1;
}

/* "a, b or c", as the message for a bad choice names them. */
static void choices_text(const struct key_choice *choices, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; choices[i].word && o < len; i++)
		o += snprintf(out + o, len - o, "%s%s", i == 0 ? "" :
		    choices[i + 1].word ? ", " : " or ", choices[i].word);
}

/* ---- a route: what it listens on and runs ---- */

static void route_listen(struct key_line *l)
{
	struct route *r = l->r;
	struct strv words = { 0 };
	const char *err;

	if (words_split(l->text, &words, &err) < 0) {
		key_bad(l, "listen: %s", err);
		strv_free(&words);
		return;
	}
	for (size_t i = 0; i < words.n; i++) {
		struct listen_addr a[ADDR_MAX_PER_TEXT], *grown;
		int k = addr_parse(words.v[i], l->c->dir, a, &err);
		if (k < 0) {
			key_bad(l, "listen '%s': %s", words.v[i], err);
			break;
		}
		grown = realloc(r->listen, (r->nlisten + k) * sizeof *grown);
		if (!grown) {
			key_bad(l, "%s", strerror(ENOMEM));
			break;
		}
		r->listen = grown;
		for (int j = 0; j < k; j++) {
			a[j].line = l->line;
			r->listen[r->nlisten++] = a[j];
		}
	}
	strv_free(&words);
}

static void route_exec(struct key_line *l)
{
	struct route *r = l->r;

	if (!*l->text) {
		key_bad(l, "exec: empty");
		return;
	}
	r->exec_arg0 = words_unescape(l->text);
	r->exec = r->exec_arg0 ? value_path(l->c->dir, r->exec_arg0) : NULL;
	r->exec_line = l->line;
}

static void route_exec_dir(struct key_line *l)
{
	struct route *r = l->r;
	char *u;

	if (!*l->text) {
		key_bad(l, "exec_dir: empty");
		return;
	}
	u = words_unescape(l->text);
	r->exec_dir = u ? value_path(l->c->dir, u) : NULL;
	r->exec_dir_line = l->line;
	free(u);
}

static void route_args(struct key_line *l)
{
	const char *err;

	if (words_split(l->text, &l->r->argv, &err) < 0)
		key_bad(l, "args: %s", err);
}

static void route_cwd(struct key_line *l)
{
	char *u = words_unescape(l->text);

	l->r->cwd = u ? value_path(l->c->dir, u) : NULL;
	l->r->cwd_line = l->line;
	free(u);
}

static void route_env(struct key_line *l)
{
	struct route *r = l->r;
	const char *v = l->text, *eq = strchr(v, '=');
	size_t n;

	if (!eq) {
		key_bad(l, "env: expected NAME=VALUE, not '%s'", v);
		return;
	}
	n = (size_t)(eq - v);
	if (!value_env_name(v, n)) {
		key_bad(l, "env: bad variable name '%.*s'", (int)n, v);
		return;
	}
	if (config_env_reserved(v, n)) {
		key_bad(l, "env: '%.*s' is set by the gateway for each connection", (int)n, v);
		return;
	}
	for (size_t i = 0; i < r->env.n; i++)
		if (strncmp(r->env.v[i], v, n + 1) == 0) {
			key_bad(l, "env: '%.*s' given twice", (int)n, v);
			return;
		}
	if (strv_push(&r->env, words_unescape(v)) < 0)
		key_bad(l, "%s", strerror(ENOMEM));
}

static void route_pass_env(struct key_line *l)
{
	struct strv words = { 0 };
	const char *err;

	if (words_split(l->text, &words, &err) < 0) {
		key_bad(l, "pass_env: %s", err);
		strv_free(&words);
		return;
	}
	for (size_t i = 0; i < words.n; i++) {
		const char *w = words.v[i];
		if (!value_env_name(w, strlen(w)))
			key_bad(l, "pass_env: bad variable name '%s'", w);
		else if (config_env_reserved(w, strlen(w)))
			key_bad(l, "pass_env: '%s' is set by the gateway for each connection", w);
		else if (strv_pushdup(&l->r->pass_env, w) < 0)
			key_bad(l, "%s", strerror(ENOMEM));
	}
	strv_free(&words);
}

static void route_stdin(struct key_line *l)
{
	l->r->stdin_mode = (enum stdin_mode)l->choice;
}

static void route_request_body(struct key_line *l)
{
	l->r->request_body = (enum request_body)l->choice;
	l->r->request_body_line = l->line;
}

static void route_stderr(struct key_line *l)
{
	l->r->stderr_mode = (enum stderr_mode)l->choice;
	l->r->stderr_line = l->line;
}

static void route_pty(struct key_line *l)
{
	l->r->pty = (enum pty_mode)l->choice;
	l->r->pty_line = l->line;
}

/* COLSxROWS, each from 1 to 65535 (a struct winsize's fields). */
static void route_pty_size(struct key_line *l)
{
	const char *v = l->text, *x = strchr(v, 'x');
	char cols[16];
	long c, r;

	if (!x || (size_t)(x - v) >= sizeof cols || strspn(v, "0123456789") != (size_t)(x - v) ||
	    strspn(x + 1, "0123456789") != strlen(x + 1))
		goto bad;
	memcpy(cols, v, (size_t)(x - v));
	cols[x - v] = '\0';
	if (value_number(cols, 1, 65535, &c) < 0 || value_number(x + 1, 1, 65535, &r) < 0)
		goto bad;
	l->r->pty_cols = (unsigned short)c;
	l->r->pty_rows = (unsigned short)r;
	l->r->pty_size_line = l->line;
	return;
bad:
	key_bad(l, "pty_size: expected COLSxROWS such as 80x24, each from 1 to 65535, not '%s'", v);
}

static void route_protocol(struct key_line *l)
{
	l->r->protocol = (enum protocol)l->choice;
}

static void route_path(struct key_line *l)
{
	struct route *r = l->r;
	const char *v = l->text;

	if (v[0] != '/' || strpbrk(v, " \t?#%"))
		key_bad(l, "path: expected a URL path such as /app, not '%s'", v);
	else if (!(r->path = strdup(v)))
		key_bad(l, "%s", strerror(ENOMEM));
	/* "/app/" serves what "/app" serves: keep no trailing slash. */
	else if (strlen(r->path) > 1 && r->path[strlen(r->path) - 1] == '/')
		r->path[strlen(r->path) - 1] = '\0';
}

/* ---- a route: its sockets ---- */

static void route_backlog(struct key_line *l)
{
	l->r->backlog = (int)l->number;
}

static void route_socket_mode(struct key_line *l)
{
	if (value_octal(l->text, &l->r->socket_mode) < 0)
		key_bad(l, "socket_mode: expected an octal mode such as 0660, not '%s'", l->text);
}

/* Names are resolved once the file is read (config_sys.c). */
static void take_name(struct key_line *l, char **name, int *line)
{
	*name = strdup(l->text);
	*line = l->line;
}

static void route_socket_user(struct key_line *l)
{
	take_name(l, &l->r->socket_user, &l->r->socket_user_line);
}

static void route_socket_group(struct key_line *l)
{
	take_name(l, &l->r->socket_group, &l->r->socket_group_line);
}

static void route_max_pending(struct key_line *l)
{
	l->r->max_pending = (unsigned)l->number;
}

static void route_proxy_protocol(struct key_line *l)
{
	l->r->proxy_protocol = l->choice;
	l->r->proxy_line = l->line;
}

/* ---- a route: its timeout (its admission keys: config_admit.c) ---- */

static void route_timeout(struct key_line *l)
{
	l->r->timeout = l->seconds;
}

/* Blanks or commas separate entries; proxy_from also takes "unix", the
 * route's Unix listeners. */
/* ---- a route: the child's ids and limits ---- */

static void route_user(struct key_line *l)
{
	take_name(l, &l->r->user, &l->r->user_line);
}

static void route_group(struct key_line *l)
{
	take_name(l, &l->r->group, &l->r->group_line);
}

static void route_umask(struct key_line *l)
{
	int mode;

	if (value_octal(l->text, &mode) < 0 || mode > 0777)
		key_bad(l, "umask: expected an octal mask such as 022, not '%s'", l->text);
	else
		l->r->umask = mode;
}

/* rlimit_*: N (soft and hard) or SOFT:HARD. */
static void route_rlimit(struct key_line *l)
{
	const char *v = l->text, *colon = strchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : strlen(v);
	char soft[64];
	struct rlimit lim;
	int i = 0;

	while (strcmp(l->key->name, route_rlimit_key[i]) != 0)
		i++;
	if (n >= sizeof soft)
		goto bad;
	memcpy(soft, v, n);
	soft[n] = '\0';
	if (value_rlim(soft, &lim.rlim_cur) < 0)
		goto bad;
	lim.rlim_max = lim.rlim_cur;
	if (colon && value_rlim(colon + 1, &lim.rlim_max) < 0)
		goto bad;
	if (lim.rlim_cur > lim.rlim_max) {
		key_bad(l, "%s: soft limit above hard limit", route_rlimit_key[i]);
		return;
	}
	l->r->rlimit[i].set = 1;
	l->r->rlimit[i].lim = lim;
	return;
bad:
	key_bad(l, "%s: expected N, SOFT:HARD or unlimited, not '%s'",
	    route_rlimit_key[i], v);
}

/* ---- the table ---- */

#define R KEY_ROUTE
#define ONCE KEY_ONCE
#define MANY KEY_MANY

static const struct key keys[] = {
	KEY(R, "listen", VAL_ADDRS, MANY, route_listen),
	KEY(R, "exec", VAL_PATH, ONCE, route_exec),
	KEY(R, "exec_dir", VAL_PATH, ONCE, route_exec_dir),
	KEY(R, "args", VAL_WORDS, MANY, route_args),
	KEY(R, "cwd", VAL_PATH, ONCE, route_cwd),
	KEY(R, "env", VAL_ENV, MANY, route_env),
	KEY(R, "pass_env", VAL_WORDS, MANY, route_pass_env),
	KEY(R, "stdin", VAL_CHOICE, ONCE, route_stdin,
	    CHOICES({ "socket", STDIN_SOCKET }, { "null", STDIN_NULL })),
	KEY(R, "stderr", VAL_CHOICE, ONCE, route_stderr,
	    CHOICES({ "log", STDERR_LOG }, { "inherit", STDERR_INHERIT },
	    { "null", STDERR_NULL })),
	KEY(R, "protocol", VAL_CHOICE, ONCE, route_protocol,
	    CHOICES({ "raw", PROTO_RAW }, { "cgi", PROTO_CGI }, { "nph", PROTO_NPH })),
	KEY(R, "pty", VAL_CHOICE, ONCE, route_pty,
	    CHOICES({ "none", PTY_NONE }, { "raw", PTY_RAW }, { "terminal", PTY_TERMINAL })),
	KEY(R, "pty_size", VAL_TEXT, ONCE, route_pty_size),
	KEY(R, "path", VAL_TEXT, ONCE, route_path),
	KEY(R, "request_body", VAL_CHOICE, ONCE, route_request_body,
	    CHOICES({ "pipe", BODY_PIPE }, { "socket", BODY_SOCKET })),

	KEY(R, "backlog", VAL_NUMBER, ONCE, route_backlog, .min = 1, .max = 65535),
	KEY(R, "socket_mode", VAL_OCTAL, ONCE, route_socket_mode),
	KEY(R, "socket_user", VAL_NAME, ONCE, route_socket_user),
	KEY(R, "socket_group", VAL_NAME, ONCE, route_socket_group),
	KEY(R, "max_pending", VAL_NUMBER, ONCE, route_max_pending, .min = 1, .max = 1000000),
	KEY(R, "proxy_protocol", VAL_CHOICE, ONCE, route_proxy_protocol,
	    CHOICES({ "off", 0 }, { "v1", PROXY_V1 }, { "v2", PROXY_V2 },
	    { "any", PROXY_ANY })),
	KEY(R, "proxy_from", VAL_CIDRS, ONCE, config_admit_proxy_from),

	KEY(R, "max_children", VAL_NUMBER, ONCE, config_admit_max_children, .min = 0, .max = 1000000),
	KEY(R, "max_per_source", VAL_NUMBER, ONCE, config_admit_max_per_source, .min = 0, .max = 1000000),
	KEY(R, "on_busy", VAL_CHOICE, ONCE, config_admit_on_busy,
	    CHOICES({ "wait", BUSY_WAIT }, { "refuse", BUSY_REFUSE })),
	KEY(R, "busy_message", VAL_TEXT, ONCE, config_admit_busy_message),
	KEY(R, "max_rate", VAL_TEXT, ONCE, config_admit_max_rate),
	KEY(R, "max_rate_per_source", VAL_TEXT, ONCE, config_admit_max_rate_per_source),
	KEY(R, "timeout", VAL_SECONDS, ONCE, route_timeout),
	KEY(R, "allow", VAL_CIDRS, MANY, config_admit_allow),
	KEY(R, "deny", VAL_CIDRS, MANY, config_admit_deny),

	KEY(R, "user", VAL_NAME, ONCE, route_user),
	KEY(R, "group", VAL_NAME, ONCE, route_group),
	KEY(R, "umask", VAL_OCTAL, ONCE, route_umask),
	KEY(R, "rlimit_nofile", VAL_LIMIT, ONCE, route_rlimit),
	KEY(R, "rlimit_nproc", VAL_LIMIT, ONCE, route_rlimit),
	KEY(R, "rlimit_as", VAL_LIMIT, ONCE, route_rlimit),
	KEY(R, "rlimit_cpu", VAL_LIMIT, ONCE, route_rlimit),
	KEY(R, "rlimit_core", VAL_LIMIT, ONCE, route_rlimit),
};

#undef R
#undef ONCE
#undef MANY

const struct key *config_key_find(enum key_section s, const char *name,
    size_t len)
{
	if (s == KEY_GATEWAY)
		return config_key_find_gateway(name, len);
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (keys[i].section == s && strlen(keys[i].name) == len &&
		    strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

void config_key_parse(const struct key *k, const char *value, int line,
    struct config *c, struct route *r, struct config_error *e)
{
	struct key_line l = { .key = k, .name = k->name, .text = value, .line = line, .c = c,
	    .r = r, .err = e };
	char words[64];

	switch (k->value) {
	case VAL_NUMBER:
		if (value_number(value, k->min, k->max, &l.number) < 0) {
			key_bad(&l, "%s: expected a number from %ld to %ld, not '%s'",
			    k->name, k->min, k->max, value);
			return;
		}
		break;
	case VAL_SECONDS:
		if (value_seconds(value, &l.seconds) < 0) {
			key_bad(&l, "%s: expected seconds, not '%s'", k->name, value);
			return;
		}
		break;
	case VAL_CHOICE:
		if (parse_choice(k->choices, value, &l.choice) < 0) {
			choices_text(k->choices, words, sizeof words);
			key_bad(&l, "%s: expected %s, not '%s'", k->name, words, value);
			return;
		}
		break;
	default:
		break;                  /* the key's function reads the text */
	}
	k->parse(&l);
}
