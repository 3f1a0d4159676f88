/* The upgrade's handover text: written by the old image, parsed by the
 * new (handover_text.h). */
#include "handover_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

#define QUOTE_(x) #x
#define QUOTE(x) QUOTE_(x)
#define MAGIC "gatewayd-upgrade " QUOTE(HANDOVER_FORMAT)
#define MAX_TEXT (16u << 20)

/* ---- writing ---- */

static void put(struct handover_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(d = realloc(b->data, cap))) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void putf(struct handover_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct handover_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* " key=value", the value percent-encoded: nothing in it ends a field. */
static void put_str(struct handover_buf *b, const char *key, const char *v,
    size_t n)
{
	static const char hex[] = "0123456789abcdef";

	putf(b, " %s=", key);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= ' ' || ch >= 0x7f || ch == '%' || ch == '=') {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			put(b, e, 3);
		} else {
			put(b, (const char *)&ch, 1);
		}
	}
}

static void put_cstr(struct handover_buf *b, const char *key, const char *v)
{
	put_str(b, key, v, strlen(v));
}

void handover_put_from(struct handover_buf *b, const char *version,
    uint64_t started, unsigned long long last_conn, int reply, int config_fd,
    unsigned long long nofile_soft, unsigned long long nofile_hard)
{
	put(b, MAGIC "\nfrom", strlen(MAGIC "\nfrom"));
	put_cstr(b, "version", version);
	putf(b, " started=%llu last_conn=%llu reply=%d config=%d nofile=%llu "
	    "nofile_max=%llu\n", (unsigned long long)started, last_conn, reply,
	    config_fd, nofile_soft, nofile_hard);
}

void handover_put_listener(struct handover_buf *b, const struct handed_listener *l)
{
	putf(b, "listen fd=%d family=%d passed=%d made=%d", l->fd, l->family,
	    l->passed, l->made);
	put_cstr(b, "route", l->route);
	put_cstr(b, "text", l->text);
	put_cstr(b, "path", l->path);
	put(b, "\n", 1);
}

static void put_ci(struct handover_buf *b, const struct conn_info *ci)
{
	putf(b, " conn=%llu tcp=%d", ci->id, ci->tcp);
	put_cstr(b, "rip", ci->remote_ip);
	putf(b, " rport=%u", ci->remote_port);
	put_cstr(b, "lip", ci->local_ip);
	putf(b, " lport=%u", ci->local_port);
	put_cstr(b, "ipc", ci->ipc_path);
	putf(b, " cred=%d uid=%u gid=%u ppid=%d", ci->have_cred,
	    (unsigned)ci->uid, (unsigned)ci->gid, (int)ci->pid);
	put_cstr(b, "via", ci->via);
	put_str(b, "peer", (const char *)&ci->peer, sizeof ci->peer);
}

void handover_put_child(struct handover_buf *b, const struct handed_child *c)
{
	putf(b, "child pid=%d started=%llu errfd=%d worker=%d http=%d", (int)c->pid,
	    (unsigned long long)c->started, c->errfd, c->worker, c->http);
	put_cstr(b, "route", c->route);
	put_ci(b, &c->ci);
	put(b, "\n", 1);
}

void handover_put_reading(struct handover_buf *b, const struct handed_reading *r)
{
	putf(b, "reading fd=%d family=%d stage=%d left=%llu born=%llu", r->fd,
	    r->family, r->stage, (unsigned long long)r->left_ms,
	    (unsigned long long)r->born);
	put_cstr(b, "route", r->route);
	put_cstr(b, "text", r->text);
	put_str(b, "buf", r->buf ? r->buf : "", r->len);
	putf(b, " tlvs=%d ssl=%d", r->have_tlvs, r->tlvs.ssl);
	put_cstr(b, "authority", r->tlvs.authority);
	put_cstr(b, "alpn", r->tlvs.alpn);
	put_cstr(b, "unique", r->tlvs.unique_id);
	put_ci(b, &r->ci);
	put(b, "\n", 1);
}

void handover_put_worker(struct handover_buf *b, const struct handed_worker *w)
{
	putf(b, "worker index=%u pid=%d fd=%d\n", w->index, (int)w->pid, w->fd);
}

void handover_put_metrics(struct handover_buf *b, unsigned size, uint64_t start_ms,
    uint64_t reloads, uint64_t reload_errors, const char *data, size_t len)
{
	putf(b, "metrics size=%u start_ms=%llu reloads=%llu reload_errors=%llu", size,
	    (unsigned long long)start_ms, (unsigned long long)reloads,
	    (unsigned long long)reload_errors);
	put_str(b, "data", data ? data : "", len);
	put(b, "\n", 1);
}

int handover_memfd(const struct handover_buf *b)
{
	if (b->failed)
		return -ENOMEM;
	return memfd_text("gatewayd-upgrade", b->data ? b->data : "", b->len, 0);
}

/* ---- parsing ---- */

/* Decodes value (n bytes) into out (cap bytes, NUL-terminated when it
 * fits one): the decoded length, or -1 if malformed or too long. */
static long decode(const char *v, size_t n, char *out, size_t cap, int nul)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)v[i];

		if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = http_hexval((unsigned char)v[i + 1]);
			l = http_hexval((unsigned char)v[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (o >= cap)
			return -1;
		out[o++] = (char)c;
	}
	if (nul) {
		if (o >= cap)
			return -1;
		out[o] = '\0';
	}
	return (long)o;
}

static int number(const char *v, size_t n, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long x = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned long long d;

		if (v[i] < '0' || v[i] > '9')
			return -1;
		d = (unsigned long long)(v[i] - '0');
		if (d > max || x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* A descriptor: a number, or -1. */
static int fdnum(const char *v, size_t n, int *out)
{
	unsigned long long x;

	if (n == 2 && v[0] == '-' && v[1] == '1') {
		*out = -1;
		return 0;
	}
	if (number(v, n, 1u << 30, &x) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

#define STR(field) (decode(v, vn, (field), sizeof(field), 1) < 0 ? -1 : 0)
#define NUM(field, max) (number(v, vn, (max), &u) < 0 ? -1 : ((field) = u, 0))

static int field_from(struct handover *h, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 7 && !memcmp(k, "version", 7))
		return STR(h->version);
	if (kn == 7 && !memcmp(k, "started", 7))
		return NUM(h->started, ~0ULL);
	if (kn == 9 && !memcmp(k, "last_conn", 9))
		return NUM(h->last_conn, ~0ULL);
	if (kn == 6 && !memcmp(k, "nofile", 6))
		return NUM(h->nofile_soft, ~0ULL);
	if (kn == 10 && !memcmp(k, "nofile_max", 10))
		return NUM(h->nofile_hard, ~0ULL);
	if (kn == 5 && !memcmp(k, "reply", 5))
		return fdnum(v, vn, &h->reply);
	if (kn == 6 && !memcmp(k, "config", 6))
		return fdnum(v, vn, &h->config_fd);
	return 0;               /* a key of a later version */
}

static int field_listen(struct handed_listener *l, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 2 && !memcmp(k, "fd", 2))
		return fdnum(v, vn, &l->fd);
	if (kn == 6 && !memcmp(k, "family", 6))
		return NUM(l->family, 255);
	if (kn == 6 && !memcmp(k, "passed", 6))
		return NUM(l->passed, 1);
	if (kn == 4 && !memcmp(k, "made", 4))
		return NUM(l->made, 1);
	if (kn == 4 && !memcmp(k, "text", 4))
		return STR(l->text);
	if (kn == 5 && !memcmp(k, "route", 5))
		return STR(l->route);
	if (kn == 4 && !memcmp(k, "path", 4))
		return STR(l->path);
	return 0;
}

static int field_ci(struct conn_info *ci, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 4 && !memcmp(k, "conn", 4))
		return NUM(ci->id, ~0ULL);
	if (kn == 3 && !memcmp(k, "tcp", 3))
		return NUM(ci->tcp, 1);
	if (kn == 3 && !memcmp(k, "rip", 3))
		return STR(ci->remote_ip);
	if (kn == 5 && !memcmp(k, "rport", 5))
		return NUM(ci->remote_port, 65535);
	if (kn == 3 && !memcmp(k, "lip", 3))
		return STR(ci->local_ip);
	if (kn == 5 && !memcmp(k, "lport", 5))
		return NUM(ci->local_port, 65535);
	if (kn == 3 && !memcmp(k, "ipc", 3))
		return STR(ci->ipc_path);
	if (kn == 4 && !memcmp(k, "cred", 4))
		return NUM(ci->have_cred, 1);
	if (kn == 3 && !memcmp(k, "uid", 3))
		return NUM(ci->uid, 0xffffffffu);
	if (kn == 3 && !memcmp(k, "gid", 3))
		return NUM(ci->gid, 0xffffffffu);
	if (kn == 4 && !memcmp(k, "ppid", 4))
		return NUM(ci->pid, 1u << 30);
	if (kn == 3 && !memcmp(k, "via", 3))
		return STR(ci->via);
	if (kn == 4 && !memcmp(k, "peer", 4))
		return decode(v, vn, (char *)&ci->peer, sizeof ci->peer, 0) ==
		    (long)sizeof ci->peer ? 0 : -1;
	return 0;
}

static int field_child(struct handed_child *c, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 3 && !memcmp(k, "pid", 3))
		return NUM(c->pid, 1u << 30);
	if (kn == 7 && !memcmp(k, "started", 7))
		return NUM(c->started, ~0ULL);
	if (kn == 5 && !memcmp(k, "errfd", 5))
		return fdnum(v, vn, &c->errfd);
	if (kn == 6 && !memcmp(k, "worker", 6))
		return fdnum(v, vn, &c->worker);
	if (kn == 4 && !memcmp(k, "http", 4))
		return NUM(c->http, 1);
	if (kn == 5 && !memcmp(k, "route", 5))
		return STR(c->route);
	return field_ci(&c->ci, k, kn, v, vn);
}

static int field_reading(struct handed_reading *r, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 2 && !memcmp(k, "fd", 2))
		return fdnum(v, vn, &r->fd);
	if (kn == 6 && !memcmp(k, "family", 6))
		return NUM(r->family, 255);
	if (kn == 5 && !memcmp(k, "stage", 5))
		return NUM(r->stage, 7);
	if (kn == 4 && !memcmp(k, "left", 4))
		return NUM(r->left_ms, 1u << 30);
	if (kn == 4 && !memcmp(k, "born", 4))
		return NUM(r->born, ~0ULL);
	if (kn == 4 && !memcmp(k, "text", 4))
		return STR(r->text);
	if (kn == 5 && !memcmp(k, "route", 5))
		return STR(r->route);
	if (kn == 3 && !memcmp(k, "buf", 3)) {
		long n;
		free(r->buf);
		if (!(r->buf = malloc(vn + 1)))
			return -1;
		if ((n = decode(v, vn, r->buf, vn + 1, 0)) < 0)
			return -1;
		r->len = (size_t)n;
		return 0;
	}
	if (kn == 4 && !memcmp(k, "tlvs", 4))
		return NUM(r->have_tlvs, 1);
	if (kn == 3 && !memcmp(k, "ssl", 3))
		return NUM(r->tlvs.ssl, 1);
	if (kn == 9 && !memcmp(k, "authority", 9))
		return STR(r->tlvs.authority);
	if (kn == 4 && !memcmp(k, "alpn", 4))
		return STR(r->tlvs.alpn);
	if (kn == 6 && !memcmp(k, "unique", 6))
		return STR(r->tlvs.unique_id);
	return field_ci(&r->ci, k, kn, v, vn);
}

static int field_worker(struct handed_worker *w, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 5 && !memcmp(k, "index", 5))
		return NUM(w->index, 1023);
	if (kn == 3 && !memcmp(k, "pid", 3))
		return NUM(w->pid, 1u << 30);
	if (kn == 2 && !memcmp(k, "fd", 2))
		return fdnum(v, vn, &w->fd);
	return 0;
}

static int field_metrics(struct handover *h, const char *k, size_t kn,
    const char *v, size_t vn)
{
	unsigned long long u;

	if (kn == 4 && !memcmp(k, "size", 4))
		return NUM(h->metrics_size, 1u << 20);
	if (kn == 8 && !memcmp(k, "start_ms", 8))
		return NUM(h->metrics_start_ms, ~0ULL);
	if (kn == 7 && !memcmp(k, "reloads", 7))
		return NUM(h->reloads, ~0ULL);
	if (kn == 13 && !memcmp(k, "reload_errors", 13))
		return NUM(h->reload_errors, ~0ULL);
	if (kn == 4 && !memcmp(k, "data", 4)) {
		long n;
		free(h->metrics);
		h->metrics_len = 0;
		if (!(h->metrics = malloc(vn + 1)))
			return -1;
		if ((n = decode(v, vn, h->metrics, vn + 1, 0)) < 0)
			return -1;
		h->metrics_len = (size_t)n;
	}
	return 0;
}

static void *grow(void *p, size_t n, size_t size)
{
	if (n >= (MAX_TEXT / size))
		return NULL;
	return realloc(p, (n + 1) * size);
}

int handover_parse(const char *text, size_t len, struct handover *h,
    char *err, size_t errlen)
{
	const char *end = text + len, *line = text;
	size_t lineno = 0;

	memset(h, 0, sizeof *h);
	h->reply = -1;
	h->config_fd = -1;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end, *p = line, *k;
		enum { FROM, LISTEN, CHILD, WORKER, READING, METRICS, OTHER } kind;
		void *rec = NULL;

		lineno++;
		if (lineno == 1) {
			if ((size_t)(eol - line) != strlen(MAGIC) ||
			    memcmp(line, MAGIC, strlen(MAGIC)) != 0) {
				snprintf(err, errlen, "not a handover of this format");
				return -1;
			}
			line = eol + (nl != NULL);
			continue;
		}
		k = p;
		while (p < eol && *p != ' ')
			p++;
		if (p - k == 4 && !memcmp(k, "from", 4)) {
			kind = FROM;
			rec = h;
		} else if (p - k == 6 && !memcmp(k, "listen", 6)) {
			struct handed_listener *l = grow(h->listeners, h->nlisteners,
			    sizeof *l);
			if (!l)
				goto nomem;
			h->listeners = l;
			rec = memset(&l[h->nlisteners++], 0, sizeof *l);
			((struct handed_listener *)rec)->fd = -1;
			kind = LISTEN;
		} else if (p - k == 5 && !memcmp(k, "child", 5)) {
			struct handed_child *c = grow(h->children, h->nchildren,
			    sizeof *c);
			if (!c)
				goto nomem;
			h->children = c;
			rec = memset(&c[h->nchildren++], 0, sizeof *c);
			((struct handed_child *)rec)->errfd = -1;
			((struct handed_child *)rec)->worker = -1;
			kind = CHILD;
		} else if (p - k == 6 && !memcmp(k, "worker", 6)) {
			struct handed_worker *w = grow(h->workers, h->nworkers,
			    sizeof *w);
			if (!w)
				goto nomem;
			h->workers = w;
			rec = memset(&w[h->nworkers++], 0, sizeof *w);
			((struct handed_worker *)rec)->fd = -1;
			kind = WORKER;
		} else if (p - k == 7 && !memcmp(k, "metrics", 7)) {
			kind = METRICS;
			rec = h;
		} else if (p - k == 7 && !memcmp(k, "reading", 7)) {
			struct handed_reading *r = grow(h->reading, h->nreading,
			    sizeof *r);
			if (!r)
				goto nomem;
			h->reading = r;
			rec = memset(&r[h->nreading++], 0, sizeof *r);
			((struct handed_reading *)rec)->fd = -1;
			kind = READING;
		} else {
			kind = OTHER;   /* a record of a later version */
		}
		while (kind != OTHER && p < eol) {
			const char *key, *eq, *val;
			int r;

			while (p < eol && *p == ' ')
				p++;
			if (p == eol)
				break;
			key = p;
			while (p < eol && *p != ' ')
				p++;
			eq = memchr(key, '=', (size_t)(p - key));
			if (!eq)
				goto bad;
			val = eq + 1;
			if (kind == FROM)
				r = field_from(rec, key, (size_t)(eq - key), val, (size_t)(p - val));
			else if (kind == LISTEN)
				r = field_listen(rec, key, (size_t)(eq - key), val, (size_t)(p - val));
			else if (kind == WORKER)
				r = field_worker(rec, key, (size_t)(eq - key), val, (size_t)(p - val));
			else if (kind == READING)
				r = field_reading(rec, key, (size_t)(eq - key), val, (size_t)(p - val));
			else if (kind == METRICS)
				r = field_metrics(rec, key, (size_t)(eq - key), val, (size_t)(p - val));
			else
				r = field_child(rec, key, (size_t)(eq - key), val, (size_t)(p - val));
			if (r < 0)
				goto bad;
		}
		line = eol + (nl != NULL);
	}
	if (lineno == 0) {
		snprintf(err, errlen, "empty handover");
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "handover line %zu: malformed", lineno);
	return -1;
nomem:
	snprintf(err, errlen, "handover: %s", strerror(ENOMEM));
	return -1;
}

void handover_free(struct handover *h)
{
	for (size_t i = 0; i < h->nreading; i++)
		free(h->reading[i].buf);
	free(h->listeners);
	free(h->children);
	free(h->workers);
	free(h->reading);
	free(h->metrics);
	h->metrics = NULL;
	h->metrics_len = 0;
	h->listeners = NULL;
	h->children = NULL;
	h->workers = NULL;
	h->reading = NULL;
	h->nlisteners = h->nchildren = h->nworkers = h->nreading = 0;
}
