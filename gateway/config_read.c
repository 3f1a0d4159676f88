/* Reading the config file: inih reads it through our own line reader,
 * which sees every raw line and so can do what Debian's inih build
 * cannot (PLATFORM.md): refuse cut lines, know line numbers, notice
 * sections (repeated or empty) and indented continuation lines. Each
 * key is looked up in the table of keys, here and nowhere else. */
#include "config_read.h"
#include "config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

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
	const struct key *seen[64]; /* single-value keys of this section so far */
	int nseen;
	struct config_error *err;
};

static void fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error on the line inih is working on. */
static void fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail(p->err, p->lineno, fmt, ap);
	va_end(ap);
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

/* ---- keys, handed over by inih ---- */

static enum key_section section_of(const struct parser *p)
{
	return p->in_gateway ? KEY_GATEWAY : KEY_ROUTE;
}

/* A key that takes one value, seen again in its section: either written
 * twice or continued by an indented line. Returns 1 the first time. */
static int once(struct parser *p, const struct key *k)
{
	if (k->repeatable)
		return 1;
	for (int i = 0; i < p->nseen; i++)
		if (p->seen[i] == k) {
			if (p->continuation)
				fail(p, "'%s' takes one value; an indented line continues it", k->name);
			else
				fail(p, "'%s' given twice", k->name);
			return 0;
		}
	if (p->nseen < (int)(sizeof p->seen / sizeof p->seen[0]))
		p->seen[p->nseen++] = k;
	return 1;
}

/* inih would silently make `  cwd = /x` part of the key above it. */
static int indented_key(struct parser *p, const char *key, const char *v)
{
	size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyz_");
	const char *after = v + n + strspn(v + n, " \t");

	if (!p->continuation || n == 0 || (*after != '=' && *after != ':'))
		return 0;
	if (!config_key_find(section_of(p), v, n))
		return 0;
	fail(p, "indented key '%.*s' would continue '%s'", (int)n, v, key);
	return 1;
}

static int handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct parser *p = user;
	const struct key *k;

	(void)section; /* the reader tracks sections itself */
	if (p->skip_section || indented_key(p, name, value))
		return 1;
	if (!p->in_gateway && !p->cur) {
		fail(p, "key '%s' outside any section", name);
		return 1;
	}
	k = config_key_find(section_of(p), name, strlen(name));
	if (!k && p->in_gateway)
		fail(p, "unknown key '%s' in [gateway]", name);
	else if (!k)
		fail(p, "unknown key '%s' in route [%s]", name, p->cur->name);
	else if (once(p, k))
		config_key_parse(k, value, p->lineno, p->c, p->cur, p->err);
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
		fail(p, "section name too long");
		return;
	}
	memcpy(buf, name, n);
	buf[n] = '\0';
	for (size_t i = 0; i < p->c->nroutes; i++)
		if (strcmp(p->c->routes[i].name, buf) == 0) {
			fail(p, "section [%s] appears twice (first at line %d)",
			    buf, p->c->routes[i].line);
			return;
		}
	if (strcmp(buf, "gateway") == 0) {
		if (p->gateway_line) {
			fail(p, "section [gateway] appears twice (first at line %d)",
			    p->gateway_line);
			return;
		}
		p->gateway_line = p->lineno;
		p->in_gateway = 1;
		p->skip_section = 0;
		return;
	}
	if (!valid_route_name(buf)) {
		fail(p, "route name '%s': use letters, digits, '_', '.' and '-'", buf);
		return;
	}
	grown = realloc(p->c->routes, (p->c->nroutes + 1) * sizeof *grown);
	if (!grown) {
		fail(p, "%s", strerror(ENOMEM));
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
	p->cur->pty_cols = 80;
	p->cur->pty_rows = 24;
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
		fail(p, "NUL byte in line");
		return NULL;
	}
	/* inih's buffer holds num - 1 characters; a longer line would be cut
	 * and its tail parsed as a line of its own. */
	if (n > (size_t)num - 1) {
		fail(p, "line too long (more than %d characters)", num - 1);
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

int config_read(struct config *c, const char *text, size_t len,
    struct config_error *e)
{
	struct parser p = { .c = c, .text = text, .len = len, .err = e };
	int r = ini_parse_stream(reader, &p, handler, &p);

	if (r > 0)
		config_fail(e, r, "syntax error: expected [section], key = value or a comment");
	else if (r < 0)
		fail(&p, "%s", strerror(ENOMEM));
	return p.lineno;
}
