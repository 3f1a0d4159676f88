/* libFuzzer harness for the CGI response head. The program is not
 * trusted: whatever it writes, the head the client gets must be one
 * well-formed HTTP/1.1 status line and header block ending in
 * "Connection: close" and one blank line, with no bare CR or LF a program
 * could use to split the response, no Status: and no hop-by-hop field of
 * the program's, and at most one Content-Length, the one the response
 * exposes. A proper prefix of a complete block is only "incomplete". A
 * broken promise traps, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgi.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static char out[CGI_HEAD_MAX + 1024];

static int parse_copy(const uint8_t *data, size_t len, int head,
    struct cgi_response *r, char *o, size_t olen, size_t *on)
{
	char *copy = malloc(len ? len : 1);
	int n;

	CHECK(copy);
	memcpy(copy, data, len);
	n = cgi_parse_response(copy, len, head, r, o, olen, on);
	free(copy);
	return n;
}

static int is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static int starts_with(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(p, name, k) == 0 && p[k] == ':';
}

/* A Content-Length line's value, which must be the one the response
 * exposes. */
static long long length_of(const char *p, const char *eol)
{
	long long v = 0;

	p += strlen("Content-Length: ");
	CHECK(p < eol);
	for (; p < eol; p++) {
		CHECK(*p >= '0' && *p <= '9');
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* The head written for the client, line by line. */
static void check_head(const char *h, size_t n, const struct cgi_response *r)
{
	const char *p = h, *end = h + n, *eol;
	int closes = 0, lengths = 0;

	CHECK(n >= 15 + 21);     /* "HTTP/1.1 299 \r\n", Connection: close */
	CHECK(memcmp(h, "HTTP/1.1 ", 9) == 0);
	CHECK(h[9] - '0' == r->status / 100 && h[10] - '0' == r->status / 10 % 10 &&
	    h[11] - '0' == r->status % 10 && h[12] == ' ');
	CHECK(memcmp(end - 4, "\r\n\r\n", 4) == 0);
	CHECK(memchr(h, '\0', n) == NULL);
	/* Every LF is part of a CRLF and every CR of one. */
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '\n')
			CHECK(i > 0 && h[i - 1] == '\r');
		if (h[i] == '\r')
			CHECK(i + 1 < n && h[i + 1] == '\n');
	}
	p = (const char *)memchr(h, '\n', n) + 1;
	while (p < end - 2) {
		const char *colon;

		eol = memchr(p, '\r', (size_t)(end - p));
		CHECK(eol && eol > p);
		colon = memchr(p, ':', (size_t)(eol - p));
		CHECK(colon && colon > p && colon[1] == ' ');
		for (const char *q = p; q < colon; q++)
			CHECK(is_tchar((unsigned char)*q));
		CHECK(!starts_with(p, (size_t)(eol - p), "Status"));
		CHECK(!starts_with(p, (size_t)(eol - p), "Transfer-Encoding"));
		CHECK(!starts_with(p, (size_t)(eol - p), "Keep-Alive"));
		if (starts_with(p, (size_t)(eol - p), "Content-Length")) {
			CHECK(length_of(p, eol) == r->content_length);
			lengths++;
		}
		if (starts_with(p, (size_t)(eol - p), "Connection")) {
			CHECK(eol - p == 17 && memcmp(p, "Connection: close", 17) == 0);
			closes++;
		}
		p = eol + 2;
	}
	CHECK(closes == 1);
	/* One length at most, the one exposed. */
	CHECK(lengths == (r->content_length >= 0));
	CHECK(p == end - 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgi_response r, rh;
	size_t on = 0, onh = 0, small;
	int n = parse_copy(data, size, 0, &r, out, sizeof out, &on);
	int nh = parse_copy(data, size, 1, &rh, out, sizeof out, &onh);

	CHECK(n >= -1);
	/* HEAD changes no_body and nothing else. */
	CHECK(nh == n);
	CHECK(rh.content_length == r.content_length);
	CHECK(r.content_length >= -1);
	if (n <= 0) {
		CHECK(r.content_length == -1);
		return 0;
	}
	CHECK((size_t)n <= size && n <= CGI_HEAD_MAX);
	CHECK(data[n - 1] == '\n');
	CHECK(rh.status == r.status && rh.local_redirect == r.local_redirect &&
	    onh == on && rh.no_body);
	CHECK(r.no_body == (r.status == 204 || r.status == 304));
	CHECK(memchr(r.reason, '\0', sizeof r.reason));
	if (r.local_redirect) {
		CHECK(r.status == 500 && on == 0);
	} else {
		CHECK(r.status >= 200 && r.status <= 599);
		CHECK(on > 0 && on <= sizeof out);
		check_head(out, on, &r);
		/* It fits exactly, and not in a byte less. */
		small = on;
		CHECK(parse_copy(data, size, 0, &r, out, small, &on) == n && on == small);
		CHECK(parse_copy(data, size, 0, &r, out, small - 1, &on) == -1);
	}
	/* The block alone parses to itself; a proper prefix is incomplete. */
	CHECK(parse_copy(data, (size_t)n, 0, &r, out, sizeof out, &on) == n);
	CHECK(parse_copy(data, (size_t)n - 1, 0, &r, out, sizeof out, &on) == 0);
	CHECK(parse_copy(data, (size_t)n / 2, 0, &r, out, sizeof out, &on) == 0);
	return 0;
}
