/* A cgi route's response head (RFC 3875 6): the header block the program
 * writes is checked line by line and rewritten as an HTTP/1.1 head. The
 * program is not trusted: whatever it writes must not let it split the
 * response or forge a second one (a CR in a value, a folded line, a
 * Status: that is not a status). Pure: no I/O, no allocation. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cgi.h"
#include "http.h"

/* One header line of the program's block, split and trimmed. */
struct field {
	const char *name, *value;
	size_t nlen, vlen;
};

/* Splits [p, p+n) (no line end) into name and OWS-trimmed value. Returns
 * 0, or -1 for a folded line, no ':', a name that is not a token (a space
 * before the colon included) or a value with a CR, NUL or other control
 * byte but HTAB (RFC 9110 5.5). */
static int split_field(const char *p, size_t n, struct field *f)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n;

	if (n == 0 || http_ows((unsigned char)p[0]) || !colon || colon == p)
		return -1;
	for (const char *q = p; q < colon; q++)
		if (!http_tchar((unsigned char)*q))
			return -1;
	for (v = colon + 1; v < end; v++)
		if ((unsigned char)*v < 0x20 ? *v != '\t' : *v == 0x7f)
			return -1;
	v = colon + 1;
	while (v < end && http_ows((unsigned char)*v))
		v++;
	while (end > v && http_ows((unsigned char)end[-1]))
		end--;
	f->name = p;
	f->nlen = (size_t)(colon - p);
	f->value = v;
	f->vlen = (size_t)(end - v);
	return 0;
}

static int name_is(const struct field *f, const char *name)
{
	return strlen(name) == f->nlen && strncasecmp(f->name, name, f->nlen) == 0;
}

/* Connection-specific fields (RFC 9110 7.6.1): the gateway's own
 * connection is not the program's to describe. */
static int hop_by_hop(const struct field *f)
{
	return name_is(f, "Connection") || name_is(f, "Transfer-Encoding") ||
	    name_is(f, "Keep-Alive");
}

/* Status: 3DIGIT [SP reason-phrase] (RFC 3875 6.3.3). Only final codes,
 * 200..599: a 1xx is interim and cannot be the program's one answer, and
 * codes past 599 are not HTTP's (RFC 9110 15). */
static int parse_status(const struct field *f, struct cgi_response *r)
{
	const char *v = f->value, *reason;
	size_t rn;

	if (f->vlen < 3 || v[0] < '2' || v[0] > '5' || v[1] < '0' || v[1] > '9' ||
	    v[2] < '0' || v[2] > '9')
		return -1;
	if (f->vlen > 3 && !http_ows((unsigned char)v[3]))
		return -1;
	r->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	reason = v + 3;
	rn = f->vlen - 3;
	while (rn && http_ows((unsigned char)*reason))
		reason++, rn--;
	if (rn == 0) {
		snprintf(r->reason, sizeof r->reason, "%s", http_reason(r->status));
		return 0;
	}
	if (rn >= sizeof r->reason)
		rn = sizeof r->reason - 1;
	memcpy(r->reason, reason, rn);
	r->reason[rn] = '\0';
	return 0;
}

/* Content-Length = 1*DIGIT (RFC 9110 8.6), when the program gives it,
 * goes to the client: it must be a number, and the same number each time
 * it is given, or the client would have to pick the body's length. */
static int take_content_length(const struct field *f, struct cgi_response *r)
{
	long long n = 0;

	if (f->vlen == 0)
		return -1;
	for (size_t i = 0; i < f->vlen; i++) {
		int d = f->value[i] - '0';

		if (d < 0 || d > 9 || n > (LLONG_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	if (r->content_length >= 0 && r->content_length != n)
		return -1;
	r->content_length = n;
	return 0;
}

/* What the block says about the response, gathered before any of it is
 * written out. */
struct scan {
	int status_seen, location_seen, ctype_seen;
	const char *location;
	size_t location_len;
};

static int note_field(const struct field *f, struct scan *s,
    struct cgi_response *r)
{
	/* At most one of each CGI field (RFC 3875 6.3); a second one would
	 * leave the client to pick. */
	if (name_is(f, "Status")) {
		if (s->status_seen++)
			return -1;
		return parse_status(f, r);
	}
	if (name_is(f, "Location")) {
		if (s->location_seen++ || f->vlen == 0)
			return -1;
		s->location = f->value;
		s->location_len = f->vlen;
		return 0;
	}
	if (name_is(f, "Content-Type")) {
		if (s->ctype_seen++)
			return -1;
		return 0;
	}
	if (name_is(f, "Content-Length"))
		return take_content_length(f, r);
	return 0;
}

/* Pass 1: checks every complete line and finds the blank one. Returns the
 * block's length, 0 if it is not complete (after checking what has come,
 * so a bad line is reported early), or -1, also for a block longer than
 * CGI_HEAD_MAX (the SPEC's bound, whatever the caller has buffered). */
static int scan_block(const char *buf, size_t len, struct scan *s,
    struct cgi_response *r)
{
	size_t off = 0, next, n;
	const char *p;
	struct field f;

	while (http_line(buf, len, off, &p, &n, &next)) {
		if (n == 0)
			return next > CGI_HEAD_MAX ? -1 : (int)next;
		if (split_field(p, n, &f) < 0 || note_field(&f, s, r) < 0)
			return -1;
		off = next;
	}
	/* A NUL, or a CR that is not the last byte so far, in the line that
	 * has not ended yet is already an error. */
	if (memchr(buf + off, '\0', len - off) ||
	    (len - off > 1 && memchr(buf + off, '\r', len - off - 1)))
		return -1;
	return 0;
}

/* Decides the status (RFC 3875 6.2): Status: wins; else a Location: that
 * is a path ("/x", not "//host/x") is a local redirect, which the gateway
 * does not do (the caller answers 500); any other Location: is a client
 * redirect, 302; else 200. */
static int decide(const struct scan *s, struct cgi_response *r)
{
	if (!s->status_seen && !s->location_seen && !s->ctype_seen)
		return -1;
	if (s->status_seen)
		return 0;
	if (s->location_seen && s->location[0] == '/' &&
	    !(s->location_len > 1 && s->location[1] == '/')) {
		r->local_redirect = 1;
		r->status = 500;
	} else {
		r->status = s->location_seen ? 302 : 200;
	}
	snprintf(r->reason, sizeof r->reason, "%s", http_reason(r->status));
	return 0;
}

struct outbuf {
	char *p;
	size_t cap, n;
	int over;
};

static void put(struct outbuf *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->n) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

/* What pass 2 leaves out of the program's fields: Status: (now the status
 * line), the hop-by-hop ones, and a repeated Content-Length (the same
 * value, as pass 1 made sure), so that the client gets one. */
static int dropped(const struct field *f, int *length_seen)
{
	if (name_is(f, "Content-Length"))
		return (*length_seen)++ > 0;
	return name_is(f, "Status") || hop_by_hop(f);
}

/* Pass 2: the HTTP/1.1 head, the program's fields in its order. */
static int write_head(const char *buf, size_t blen, const struct cgi_response *r,
    char *out, size_t outlen, size_t *outn)
{
	struct outbuf o = { out, outlen, 0, 0 };
	char line[96];
	size_t off = 0, next, n;
	const char *p;
	struct field f;
	int k, length_seen = 0;

	k = snprintf(line, sizeof line, "HTTP/1.1 %d ", r->status);
	put(&o, line, (size_t)k);
	put(&o, r->reason, strlen(r->reason));
	put(&o, "\r\n", 2);
	while (off < blen && http_line(buf, blen, off, &p, &n, &next) && n) {
		split_field(p, n, &f);
		if (!dropped(&f, &length_seen)) {
			put(&o, f.name, f.nlen);
			put(&o, ": ", 2);
			put(&o, f.value, f.vlen);
			put(&o, "\r\n", 2);
		}
		off = next;
	}
	put(&o, "Connection: close\r\n\r\n", 21);
	if (o.over)
		return -1;
	*outn = o.n;
	return 0;
}

static int parse_block(const char *buf, size_t len, int head_request,
    struct cgi_response *r, char *out, size_t outlen, size_t *outn)
{
	struct scan s = { 0, 0, 0, NULL, 0 };
	int n;

	memset(r, 0, sizeof *r);
	r->content_length = -1;
	*outn = 0;
	n = scan_block(buf, len, &s, r);
	if (n <= 0)
		return n;
	if (decide(&s, r) < 0)
		return -1;
	r->no_body = head_request || r->status == 204 || r->status == 304;
	/* A local redirect is answered by the caller (500): nothing of the
	 * program's is forwarded, so no head is written. */
	if (r->local_redirect)
		return n;
	if (write_head(buf, (size_t)n, r, out, outlen, outn) < 0)
		return -1;
	return n;
}

int cgi_parse_response(const char *buf, size_t len, int head_request,
    struct cgi_response *r, char *out, size_t outlen, size_t *outn)
{
	int n = parse_block(buf, len, head_request, r, out, outlen, outn);

	/* A length seen in a block that is not complete, or not valid, is
	 * no length the client is told. */
	if (n <= 0)
		r->content_length = -1;
	return n;
}

const char *http_reason(int status)
{
	static const struct {
		int code;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" }, { 101, "Switching Protocols" },
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
		{ 205, "Reset Content" }, { 206, "Partial Content" },
		{ 300, "Multiple Choices" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 402, "Payment Required" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
		{ 412, "Precondition Failed" }, { 413, "Content Too Large" },
		{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
		{ 416, "Range Not Satisfiable" }, { 417, "Expectation Failed" },
		{ 421, "Misdirected Request" }, { 422, "Unprocessable Content" },
		{ 426, "Upgrade Required" }, { 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return "";
}
