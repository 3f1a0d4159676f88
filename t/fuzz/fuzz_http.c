/* libFuzzer harness for the HTTP request head parser, the path
 * normaliser, route prefixes and the chunked body decoder. Besides
 * surviving any input, each must keep the promises the gateway relies on:
 * a head is never longer than what came nor than HTTP_HEAD_MAX, a proper
 * prefix of a head is only "incomplete", the path a route is chosen on
 * has no dot segment and no control byte, a Host let through is a host
 * name or address, and the chunked decoder gives the same bytes however
 * the body is split, never consuming past its end. A broken promise
 * traps, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "chunked.h"
#include "http.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct http_request req;

/* Parses a heap copy of exactly len bytes, so AddressSanitizer sees any
 * read past the end; the copy must come back as it went in (a worker is
 * handed these very bytes to parse again). */
static int parse_copy(const uint8_t *data, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int n;

	CHECK(copy);
	memcpy(copy, data, len);
	n = http_parse_head(copy, len, &req);
	CHECK(memcmp(copy, data, len) == 0);
	free(copy);
	return n;
}

static int is_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* A normalised path: "/" first, no "." or ".." segment, no control byte. */
static void check_path(const char *p)
{
	const char *s;

	CHECK(p[0] == '/');
	for (s = p; *s; s++)
		CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
	for (s = p; s; s = strchr(s + 1, '/')) {
		const char *seg = s + 1;
		size_t n = strcspn(seg, "/");

		CHECK(!(n == 1 && seg[0] == '.'));
		CHECK(!(n == 2 && seg[0] == '.' && seg[1] == '.'));
	}
}

/* A Host the parser let through is a host, whose name part (what
 * SERVER_NAME gets) is only letters, digits, "-._" or a bracketed v6
 * address. */
static void check_host(const char *host)
{
	size_t n;

	if (!host)
		return;
	CHECK(host_split(host, &n) == 0);
	CHECK(n <= strlen(host) && n <= 255);
	CHECK(host[n] == '\0' || host[n] == ':');
	if (n && host[0] == '[') {
		CHECK(host[n - 1] == ']');
		CHECK(strspn(host + 1, "0123456789abcdefABCDEF:.") == n - 2);
	} else {
		CHECK(strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-._") == n);
	}
	CHECK(strspn(host + n, ":0123456789") == strlen(host + n));
}

static void check_request(const uint8_t *data, size_t len, int n)
{
	const char *m;

	CHECK((size_t)n <= len && n <= HTTP_HEAD_MAX);
	CHECK(data[n - 1] == '\n');
	CHECK(*req.method);
	for (m = req.method; *m; m++)
		CHECK(is_tchar((unsigned char)*m));
	CHECK(req.minor == 0 || req.minor == 1);
	if (strcmp(req.path, "*") == 0)
		CHECK(strcmp(req.method, "OPTIONS") == 0);
	else
		check_path(req.path);
	CHECK(strlen(req.path) <= strlen(req.target));
	CHECK(req.nheaders <= HTTP_MAX_HEADERS);
	for (size_t i = 0; i < req.nheaders; i++) {
		const char *v = req.headers[i].value;

		CHECK(*req.headers[i].name);
		for (m = req.headers[i].name; *m; m++)
			CHECK(is_tchar((unsigned char)*m));
		/* OWS trimmed, no CR, LF or NUL left to forge a variable. */
		CHECK(*v != ' ' && *v != '\t');
		CHECK(!*v || (v[strlen(v) - 1] != ' ' && v[strlen(v) - 1] != '\t'));
		CHECK(!strpbrk(v, "\r\n"));
	}
	CHECK(req.content_length >= -1);
	CHECK(!(req.chunked && req.content_length >= 0));
	CHECK(!(req.chunked && req.minor == 0));
	CHECK(!(req.expect_continue && req.minor == 0));
	CHECK(http_prefix_match("/", req.path) == (req.path[0] == '/' ? 0 : -1));
	check_host(http_header(&req, "Host"));
}

static void fuzz_head(const uint8_t *data, size_t len)
{
	int r = parse_copy(data, len), again;

	CHECK(r >= 0 || r == -400 || r == -404 || r == -431 || r == -501 ||
	    r == -505);
	if (r <= 0)
		return;
	check_request(data, len, r);
	/* The head alone parses to itself; a proper prefix is incomplete. */
	again = parse_copy(data, (size_t)r);
	CHECK(again == r);
	CHECK(parse_copy(data, (size_t)r - 1) == 0);
	CHECK(parse_copy(data, (size_t)r / 2) == 0);
}

/* The input as a path: normalising it either fails or gives a clean
 * path no longer than the input; a result without '%' is a fixed point. */
static void fuzz_path(const uint8_t *data, size_t len)
{
	char *raw = malloc(len ? len : 1), *out = malloc(len + 2);
	char *again = malloc(len + 2);
	int r;

	CHECK(raw && out && again);
	memcpy(raw, data, len);
	r = http_normalize_path(raw, len, out, len + 2);
	CHECK(r == 0 || r == -400 || r == -404);
	if (r == 0) {
		check_path(out);
		CHECK(strlen(out) <= len + 1);
		if (!strchr(out, '%')) {
			CHECK(http_normalize_path(out, strlen(out), again, len + 2) == 0);
			CHECK(strcmp(out, again) == 0);
		}
		int p = http_prefix_match("/a", out);
		CHECK(p == -1 || (p == 2 && strncmp(out, "/a", 2) == 0 &&
		    (out[2] == '\0' || out[2] == '/')));
	}
	free(raw);
	free(out);
	free(again);
}

struct chunk_result {
	long consumed;          /* -1: malformed */
	int done;
	size_t n;
	char *data;
};

/* Decodes in pieces whose sizes come from the seed (or all at once when
 * split is 0), into outputs of 1 to 9 bytes, as the gateway would: stops
 * when a call leaves input though it had room. */
static struct chunk_result decode_split(const uint8_t *in, size_t len,
    uint32_t seed, int split)
{
	struct chunk_result res = { 0, 0, 0, malloc(len + 1) };
	struct http_chunked c;
	size_t off = 0;

	CHECK(res.data);
	memset(&c, 0, sizeof c);
	while (off < len) {
		size_t piece, cap, outlen;
		long r;

		seed = seed * 1103515245u + 12345u;
		piece = split ? 1 + (seed >> 16) % 17 : len - off;
		if (piece > len - off)
			piece = len - off;
		cap = 1 + (seed >> 8) % 9;
		outlen = cap;
		r = http_chunked_decode(&c, (const char *)in + off, piece,
		    res.data + res.n, &outlen);
		if (r < 0) {
			CHECK(r == -1 && !http_chunked_done(&c));
			/* Sticky */
			outlen = cap;
			CHECK(http_chunked_decode(&c, "0\r\n\r\n", 5,
			    res.data + res.n, &outlen) == -1);
			res.consumed = -1;
			return res;
		}
		CHECK((size_t)r <= piece && outlen <= cap && outlen <= (size_t)r);
		res.n += outlen;
		off += (size_t)r;
		if ((size_t)r < piece && outlen < cap) {
			/* Stopped short with room left: only at the end. */
			CHECK(http_chunked_done(&c));
			break;
		}
	}
	res.consumed = (long)off;
	res.done = http_chunked_done(&c);
	if (res.done) {
		size_t outlen = 1;
		char b;

		CHECK(http_chunked_decode(&c, "x", 1, &b, &outlen) == 0 && outlen == 0);
	}
	return res;
}

static void fuzz_chunked(const uint8_t *data, size_t len)
{
	struct http_chunked c;
	struct chunk_result a, b;
	char *out = malloc(len + 1);
	size_t outlen = len;
	long whole;
	uint32_t seed = 0;

	CHECK(out);
	for (size_t i = 0; i < len && i < 4; i++)
		seed = seed << 8 | data[len - 1 - i];
	memset(&c, 0, sizeof c);
	whole = http_chunked_decode(&c, (const char *)data, len, out, &outlen);
	a = decode_split(data, len, seed, 1);
	b = decode_split(data, len, seed, 0);   /* all at once, small outputs */
	/* However it is split, the same verdict and the same bytes. */
	CHECK(a.consumed == whole && b.consumed == whole);
	if (whole >= 0) {
		CHECK(a.done == http_chunked_done(&c) && b.done == a.done);
		CHECK(a.n == outlen && b.n == outlen);
		CHECK(memcmp(a.data, out, outlen) == 0);
		CHECK(memcmp(b.data, out, outlen) == 0);
		CHECK(outlen <= (size_t)whole);
		/* Never past the end: input left over only once done. */
		CHECK((size_t)whole == len || http_chunked_done(&c));
	}
	free(a.data);
	free(b.data);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_head(data, size);
	fuzz_path(data, size);
	fuzz_chunked(data, size);
	/* The body after a head, as the gateway would decode it. */
	if (size > 0) {
		int r = parse_copy(data, size);

		if (r > 0 && req.chunked)
			fuzz_chunked(data + r, size - (size_t)r);
	}
	return 0;
}
