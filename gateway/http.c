/* HTTP/1.x request heads (RFC 9112) for cgi and nph routes: the request
 * line and header fields, the path the route is chosen on, and the
 * chunked request body. Pure: no I/O, no allocation.
 *
 * Strict where a lenient reading would let two parsers disagree about a
 * message (single SP in the request line, no obs-fold, no space before
 * ':', one Content-Length value, chunked framing with CRLF only), lenient
 * where RFC 9112 allows it (bare LF ending head lines, empty lines before
 * the request line, HTTP/1.2..1.9 served as 1.1). */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "host.h"
#include "http.h"

int http_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte that may appear in a field value (RFC 9110 5.5): HTAB, SP,
 * VCHAR, obs-text. */
int http_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int http_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

int http_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One line of the head: [start, end) without its CR LF or LF. */
struct line {
	char *p;
	size_t n;
};

int http_line(const char *buf, size_t len, size_t off, const char **p,
    size_t *n, size_t *next)
{
	const char *lf = memchr(buf + off, '\n', len - off);
	size_t end;

	if (!lf)
		return 0;
	end = (size_t)(lf - buf);
	*next = end + 1;
	if (end > off && buf[end - 1] == '\r')
		end--;
	*p = buf + off;
	*n = end - off;
	return 1;
}

/* A request's line: http_line, and -400 for a CR that is not right
 * before the LF (RFC 9112 2.2: a bare CR is invalid). */
static int next_line(char *buf, size_t len, size_t off, struct line *l,
    size_t *next)
{
	const char *p;
	size_t n;

	if (!http_line(buf, len, off, &p, &n, next))
		return 0;
	if (memchr(p, '\r', n))
		return -400;
	l->p = buf + off;
	l->n = n;
	return 1;
}

/* "HTTP/1.x": sets *minor (1 for any x >= 1, the highest we speak, RFC
 * 9110 2.5). Another major version is 505, a malformed one 400. */
static int parse_version(const char *v, size_t n, int *minor)
{
	if (n < 6 || memcmp(v, "HTTP/", 5) != 0)
		return -400;
	if (n == 8 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
	    v[7] >= '0' && v[7] <= '9') {
		if (v[5] != '1')
			return -505;
		*minor = v[7] == '0' ? 0 : 1;
		return 0;
	}
	/* "HTTP/2", "HTTP/3" as HTTP/2's own grammar writes them. */
	if (n == 6 && v[5] >= '0' && v[5] <= '9' && v[5] != '1')
		return -505;
	return -400;
}

/* The path part of the request-target: origin-form "/p?q", absolute-form
 * "http://host/p?q" (RFC 9112 3.2.2: a server must accept it; the path is
 * what counts, the Host header is left as sent), or asterisk-form "*"
 * with OPTIONS, whose path is "*" (no route prefix serves it). Sets
 * the path and its length, and req->query. */
static int split_target(struct http_request *req, const char *t, size_t n,
    const char **path, size_t *plen)
{
	const char *q = memchr(t, '?', n);
	size_t end = q ? (size_t)(q - t) : n;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		/* No fragment travels in a request (RFC 9112 3.2). */
		if (c <= 0x20 || c == 0x7f || c == '#')
			return -400;
	}
	req->query = q ? q + 1 : t + n;
	if (n == 1 && t[0] == '*') {
		if (strcmp(req->method, "OPTIONS") != 0)
			return -400;
		*path = t;
		*plen = 1;
		return 0;
	}
	if (t[0] == '/') {
		*path = t;
		*plen = end;
		return 0;
	}
	/* absolute-form: scheme "://" authority path-abempty. */
	if (end > 7 && strncasecmp(t, "http://", 7) == 0)
		i = 7;
	else if (end > 8 && strncasecmp(t, "https://", 8) == 0)
		i = 8;
	else
		return -400;
	while (i < end && t[i] != '/')
		i++;
	*path = t + i;
	*plen = end - i;
	return 0;
}

/* METHOD SP request-target SP HTTP-version, single SPs (RFC 9112 3). The
 * line is NUL-terminated in place at each SP and at its end. */
static int parse_request_line(struct line *l, struct http_request *req)
{
	char *sp1, *sp2;
	const char *path;
	size_t plen, i;
	int e;

	sp1 = memchr(l->p, ' ', l->n);
	if (!sp1 || sp1 == l->p)
		return -400;
	sp2 = memchr(sp1 + 1, ' ', l->n - (size_t)(sp1 + 1 - l->p));
	if (!sp2 || sp2 == sp1 + 1)
		return -400;
	for (i = 0; l->p + i < sp1; i++)
		if (!http_tchar((unsigned char)l->p[i]))
			return -400;
	e = parse_version(sp2 + 1, l->n - (size_t)(sp2 + 1 - l->p), &req->minor);
	if (e)
		return e;
	*sp1 = '\0';
	*sp2 = '\0';
	l->p[l->n] = '\0';
	req->method = l->p;
	req->target = sp1 + 1;
	e = split_target(req, req->target, (size_t)(sp2 - (sp1 + 1)), &path, &plen);
	if (e)
		return e;
	if (plen == 0) {                /* "http://host" or "http://host?q" */
		strcpy(req->path, "/");
		return 0;
	}
	if (path[0] == '*') {
		strcpy(req->path, "*");
		return 0;
	}
	return http_normalize_path(path, plen, req->path, sizeof req->path);
}

/* Content-Length = 1*DIGIT (RFC 9110 8.6); a repeat must agree. */
static int take_content_length(struct http_request *req, const char *v)
{
	long long n = 0;

	if (!*v)
		return -400;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > (LLONG_MAX - (*v - '0')) / 10)
			return -400;
		n = n * 10 + (*v - '0');
	}
	if (req->content_length >= 0 && req->content_length != n)
		return -400;
	req->content_length = n;
	return 0;
}

/* What the gateway itself acts on among the headers. Transfer-Encoding
 * is only noted here and judged once every header is in, so that the
 * answer does not depend on the order of the fields. */
struct framing {
	int te_lines;           /* Transfer-Encoding field lines */
	int te_other;           /* one of them is not exactly "chunked" */
	int host_lines;
};

static int take_header(struct http_request *req, const char *name,
    const char *value, struct framing *f)
{
	if (strcasecmp(name, "Content-Length") == 0)
		return take_content_length(req, value);
	if (strcasecmp(name, "Transfer-Encoding") == 0) {
		f->te_lines++;
		if (strcasecmp(value, "chunked") != 0)
			f->te_other = 1;
		return 0;
	}
	if (strcasecmp(name, "Host") == 0) {
		size_t n;

		/* RFC 9112 3.2: one Host only, and a host (host.c). */
		if (f->host_lines++ || host_split(value, &n) < 0)
			return -400;
	}
	if (strcasecmp(name, "Expect") == 0 && req->minor == 1 &&
	    strcasecmp(value, "100-continue") == 0)
		req->expect_continue = 1;
	return 0;
}

/* RFC 9112 6.1 and 6.3: Content-Length beside Transfer-Encoding is a
 * smuggling vector (400); chunked applied twice (two field lines) is
 * invalid (400); Transfer-Encoding in HTTP/1.0 is faulty framing (400);
 * any coding other than chunked alone ("gzip", "gzip, chunked") is 501. */
static int check_framing(struct http_request *req, const struct framing *f)
{
	if (!f->te_lines)
		return 0;
	if (req->content_length >= 0 || f->te_lines > 1 || req->minor == 0)
		return -400;
	if (f->te_other)
		return -501;
	req->chunked = 1;
	return 0;
}

/* name ":" OWS value OWS; the name a token with nothing between it and
 * the colon (RFC 9112 5.1), no obs-fold (5.2). NUL-terminates the name and
 * the trimmed value in place. */
static int parse_header_line(struct line *l, struct http_header *h)
{
	char *colon, *v, *end;
	size_t i;

	if (http_ows((unsigned char)l->p[0]))
		return -400;
	colon = memchr(l->p, ':', l->n);
	if (!colon || colon == l->p)
		return -400;
	for (i = 0; l->p + i < colon; i++)
		if (!http_tchar((unsigned char)l->p[i]))
			return -400;
	for (v = colon + 1; v < l->p + l->n; v++)
		if (!http_field_char((unsigned char)*v))
			return -400;
	v = colon + 1;
	end = l->p + l->n;
	while (v < end && http_ows((unsigned char)*v))
		v++;
	while (end > v && http_ows((unsigned char)end[-1]))
		end--;
	*colon = '\0';
	*end = '\0';
	h->name = l->p;
	h->value = v;
	return 0;
}

/* Whether the incomplete request line seen so far already cannot be one:
 * a method with a byte outside tchar (a TLS ClientHello, a binary probe)
 * is answered at once rather than after 10 s or 16 KiB. */
static int check_partial_line(const char *p, size_t n)
{
	for (size_t i = 0; i < n && p[i] != ' '; i++)
		if (!http_tchar((unsigned char)p[i]) && !(p[i] == '\r' && i == n - 1))
			return -400;
	return 0;
}

/* Finds the end of the head: returns its length, 0 if not complete, or an
 * error seen in what has come so far (a bare CR, a bad method, a line that
 * cannot be a header, too many headers). Writes nothing. */
static int find_end(char *buf, size_t len, size_t *first)
{
	size_t off = 0, next, nlines = 0;
	struct line l;
	int e;

	/* RFC 9112 2.2: ignore empty lines before the request line. */
	for (;;) {
		if (off < len && buf[off] == '\n')
			off++;
		else if (off + 1 < len && buf[off] == '\r' && buf[off + 1] == '\n')
			off += 2;
		else
			break;
	}
	*first = off;
	while ((e = next_line(buf, len, off, &l, &next)) == 1) {
		if (memchr(l.p, '\0', l.n))
			return -400;
		if (nlines == 0) {
			if (check_partial_line(l.p, l.n))
				return -400;
		} else if (l.n == 0) {
			/* The SPEC's bound, whatever the caller has buffered;
			 * it also keeps the path within req->path. */
			return next > HTTP_HEAD_MAX ? -431 : (int)next;
		} else if (http_ows((unsigned char)l.p[0]) || !memchr(l.p, ':', l.n)) {
			return -400;
		} else if (nlines > HTTP_MAX_HEADERS) {
			return -431;
		}
		nlines++;
		off = next;
	}
	if (e < 0)
		return e;
	if (memchr(buf + off, '\0', len - off))
		return -400;
	if (nlines == 0)
		return check_partial_line(buf + off, len - off);
	if (len > off && http_ows((unsigned char)buf[off]))
		return -400;            /* obs-fold, before its end */
	/* A CR not followed by LF so far is only wrong once the next byte
	 * is not LF. */
	if (len - off > 1 && memchr(buf + off, '\r', len - off - 1))
		return -400;
	return 0;
}

int http_parse_head(const char *raw, size_t len, struct http_request *req)
{
	struct framing f = { 0, 0, 0 };
	char *buf = req->head;
	size_t off, next;
	struct line l;
	int n, e;

	/* find_end writes nothing, and bounds n by HTTP_HEAD_MAX. */
	n = find_end((char *)raw, len, &off);
	if (n <= 0)
		return n;
	memcpy(buf, raw, (size_t)n);
	req->method = req->target = req->query = "";
	req->path[0] = '\0';
	req->minor = 0;
	req->nheaders = 0;
	req->content_length = -1;
	req->chunked = 0;
	req->expect_continue = 0;

	next_line(buf, (size_t)n, off, &l, &next);
	if ((e = parse_request_line(&l, req)))
		return e;
	/* The NULs written below land on CR or LF bytes of lines already
	 * split: next is always taken before a line is cut. */
	for (off = next; next_line(buf, (size_t)n, off, &l, &next) == 1 && l.n;
	    off = next) {
		struct http_header *h = &req->headers[req->nheaders];

		if ((e = parse_header_line(&l, h)))
			return e;
		req->nheaders++;
		if ((e = take_header(req, h->name, h->value, &f)))
			return e;
	}
	if ((e = check_framing(req, &f)))
		return e;
	return n;
}

/* Appends one decoded segment (raw, up to the next '/') to out at *o.
 * Returns 0, -400 (bad escape, %00 or a control byte) or -404 (%2F). */
static int decode_segment(const char *raw, size_t n, char *out, size_t outlen,
    size_t *o)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -400;
			hi = http_hexval((unsigned char)raw[i + 1]);
			lo = http_hexval((unsigned char)raw[i + 2]);
			if (hi < 0 || lo < 0)
				return -400;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == '/')
				return -404;    /* Apache's AllowEncodedSlashes Off */
		}
		if (c < 0x20 || c == 0x7f)
			return -400;
		if (*o + 1 >= outlen)
			return -400;
		out[(*o)++] = (char)c;
	}
	return 0;
}

/* Segment by segment: each raw segment is decoded, then a "." or ".."
 * (decoded, so "%2e%2e" too) is removed as RFC 3986 5.2.4 does. Splitting
 * on the raw '/' is splitting on the decoded one, since %2F is refused. */
int http_normalize_path(const char *raw, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (len == 0 || raw[0] != '/' || outlen < 2)
		return -400;
	while (i < len) {
		const char *seg = raw + i + 1;
		const char *slash = memchr(seg, '/', len - i - 1);
		size_t n = slash ? (size_t)(slash - seg) : len - i - 1;
		size_t start = o;
		int last = !slash, e;

		if (o + 1 >= outlen)
			return -400;
		out[o++] = '/';
		if ((e = decode_segment(seg, n, out, outlen, &o)))
			return e;
		if (o - start == 2 && out[start + 1] == '.') {
			o = start;
		} else if (o - start == 3 && out[start + 1] == '.' &&
		    out[start + 2] == '.') {
			o = start;
			if (o == 0)
				return -400;    /* climbs above / */
			while (out[--o] != '/')
				;
		} else {
			last = 0;
		}
		/* "/a/." and "/a/b/.." end in "/" (RFC 3986 5.2.4). */
		if (last)
			out[o++] = '/';
		i += 1 + n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

int http_prefix_match(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (path[0] != '/')
		return -1;              /* "*" (OPTIONS *) matches no route */
	/* "/app/" serves what "/app" serves; "/" or "" serve everything. */
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n == 0)
		return 0;
	if (strncmp(prefix, path, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return -1;
	return (int)n;
}

const char *http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}
