/* HTTP request heads, path normalisation, route prefixes and the chunked
 * body decoder: the SPEC's "HTTP routes" rules, case by case. */
#include <stdio.h>
#include <string.h>

#include "chunked.h"
#include "http.h"
#include "unit.h"

/* Big (req->path alone is 16 KiB): one of each, fresh for every case
 * since each case runs in its own process. */
static struct http_request req;
static char buf[2 * HTTP_HEAD_MAX];

/* Parses a copy of s. */
static int parse_n(const char *s, size_t n)
{
	ck_assert_uint_le(n, sizeof buf);
	memcpy(buf, s, n);
	return http_parse_head(buf, n, &req);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* A request line with one extra header line (or none). */
static int parse_line(const char *line, const char *header)
{
	char tmp[1024];

	snprintf(tmp, sizeof tmp, "%s\r\n%s%sHost: h\r\n\r\n", line,
	    header ? header : "", header ? "\r\n" : "");
	return parse(tmp);
}

#define PARSE_OK(s) ck_assert_int_eq(parse(s), (int)strlen(s))

/* Every proper prefix of head is incomplete (0) and the whole head, with
 * body bytes after it or not, is exactly its length. */
static void byte_by_byte(const char *head, const char *body)
{
	size_t hn = strlen(head), bn = strlen(body);
	char all[4096];

	ck_assert_uint_lt(hn + bn, sizeof all);
	memcpy(all, head, hn);
	memcpy(all + hn, body, bn);
	for (size_t i = 0; i < hn; i++)
		ck_assert_msg(parse_n(all, i) == 0, "prefix %zu of %zu", i, hn);
	for (size_t i = hn; i <= hn + bn; i++)
		ck_assert_int_eq(parse_n(all, i), (int)hn);
}

START_TEST(simple_get)
{
	PARSE_OK("GET /hi/x?a=%2F&b HTTP/1.1\r\nHost: example.org\r\n\r\n");
	ck_assert_str_eq(req.method, "GET");
	ck_assert_str_eq(req.target, "/hi/x?a=%2F&b");
	ck_assert_str_eq(req.query, "a=%2F&b");
	ck_assert_str_eq(req.path, "/hi/x");
	ck_assert_int_eq(req.minor, 1);
	ck_assert_uint_eq(req.nheaders, 1);
	ck_assert_str_eq(req.headers[0].name, "Host");
	ck_assert_str_eq(req.headers[0].value, "example.org");
	ck_assert_int_eq(req.content_length, -1);
	ck_assert_int_eq(req.chunked, 0);
	ck_assert_int_eq(req.expect_continue, 0);
}
END_TEST

/* The bytes parsed stay as they came (a worker parses them again), and
 * the request lives on after its buffer is reused. */
START_TEST(input_untouched_and_request_self_contained)
{
	const char *h = "POST /p?q HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
	size_t n = strlen(h);

	memcpy(buf, h, n);
	ck_assert_int_eq(http_parse_head(buf, n, &req), (int)n);
	ck_assert_mem_eq(buf, h, n);
	ck_assert_int_eq(http_parse_head(buf, n, &req), (int)n);
	memset(buf, 'z', n);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.target, "/p?q");
	ck_assert_str_eq(req.query, "q");
	ck_assert_uint_eq(req.nheaders, 2);
	ck_assert_str_eq(req.headers[1].name, "X-A");
	ck_assert_str_eq(req.headers[1].value, "1");
}
END_TEST

START_TEST(no_query_is_empty)
{
	PARSE_OK("GET /a HTTP/1.0\r\n\r\n");
	ck_assert_str_eq(req.query, "");
	ck_assert_int_eq(req.minor, 0);
	ck_assert_uint_eq(req.nheaders, 0);
	PARSE_OK("GET /a? HTTP/1.0\r\n\r\n");
	ck_assert_str_eq(req.query, "");
	PARSE_OK("GET /a?b?c HTTP/1.0\r\n\r\n");
	ck_assert_str_eq(req.query, "b?c");
	ck_assert_str_eq(req.path, "/a");
}
END_TEST

START_TEST(bare_lf_line_ends)
{
	PARSE_OK("GET / HTTP/1.1\nHost: h\nX: 1\n\n");
	ck_assert_uint_eq(req.nheaders, 2);
	ck_assert_str_eq(req.headers[1].value, "1");
	PARSE_OK("GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\n");
	ck_assert_str_eq(req.headers[0].value, "h");
	PARSE_OK("GET / HTTP/1.1\n\r\n");
}
END_TEST

START_TEST(leading_empty_lines_are_ignored)
{
	PARSE_OK("\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	ck_assert_str_eq(req.method, "GET");
	PARSE_OK("\nGET / HTTP/1.1\n\n");
}
END_TEST

START_TEST(body_is_never_counted)
{
	const char *h = "POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
	char tmp[256];

	snprintf(tmp, sizeof tmp, "%sBODY\r\n\r\nGET / HTTP/1.1\r\n\r\n", h);
	ck_assert_int_eq(parse(tmp), (int)strlen(h));
	ck_assert_int_eq(req.content_length, 4);
	ck_assert_str_eq(req.method, "POST");
}
END_TEST

START_TEST(incomplete_byte_by_byte)
{
	byte_by_byte("GET /a/b?q HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
	    "body\r\n\r\n");
	byte_by_byte("POST / HTTP/1.0\nContent-Length: 3\n\n", "abc");
	byte_by_byte("\r\nGET / HTTP/1.1\r\n\r\n", "\r\n\r\n");
	byte_by_byte("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Expect: 100-continue\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n");
}
END_TEST

START_TEST(ows_is_trimmed)
{
	ck_assert_int_gt(parse_line("GET / HTTP/1.1", "X-A: \t a b \t "), 0);
	ck_assert_str_eq(req.headers[0].name, "X-A");
	ck_assert_str_eq(req.headers[0].value, "a b");
	ck_assert_int_gt(parse_line("GET / HTTP/1.1", "X-A:"), 0);
	ck_assert_str_eq(req.headers[0].value, "");
	ck_assert_int_gt(parse_line("GET / HTTP/1.1", "X-A:b"), 0);
	ck_assert_str_eq(req.headers[0].value, "b");
	ck_assert_int_gt(parse_line("GET / HTTP/1.1", "X-A: caf\xc3\xa9"), 0);
	ck_assert_str_eq(req.headers[0].value, "caf\xc3\xa9");
}
END_TEST

START_TEST(method_must_be_a_token)
{
	ck_assert_int_gt(parse_line("M-SEARCH / HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.method, "M-SEARCH");
	ck_assert_int_eq(parse_line("G(T / HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GE\"T / HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line(" GET / HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET\t/ HTTP/1.1", NULL), -400);
}
END_TEST

START_TEST(request_line_single_spaces)
{
	ck_assert_int_eq(parse_line("GET  / HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET /  HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1 ", NULL), -400);
	ck_assert_int_eq(parse_line("GET /", NULL), -400);
	ck_assert_int_eq(parse_line("GET", NULL), -400);
	ck_assert_int_eq(parse_line("GET /a b HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1 x", NULL), -400);
}
END_TEST

START_TEST(versions)
{
	ck_assert_int_gt(parse_line("GET / HTTP/1.0", NULL), 0);
	ck_assert_int_eq(req.minor, 0);
	ck_assert_int_gt(parse_line("GET / HTTP/1.1", NULL), 0);
	ck_assert_int_eq(req.minor, 1);
	/* A later 1.x is served as the 1.1 we speak (RFC 9110 2.5). */
	ck_assert_int_gt(parse_line("GET / HTTP/1.9", NULL), 0);
	ck_assert_int_eq(req.minor, 1);
	ck_assert_int_eq(parse_line("GET / HTTP/2.0", NULL), -505);
	ck_assert_int_eq(parse_line("GET / HTTP/2", NULL), -505);
	ck_assert_int_eq(parse_line("GET / HTTP/3", NULL), -505);
	ck_assert_int_eq(parse_line("GET / HTTP/0.9", NULL), -505);
	ck_assert_int_eq(parse_line("GET / HTTP/1", NULL), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.10", NULL), -400);
	ck_assert_int_eq(parse_line("GET / http/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.x", NULL), -400);
	ck_assert_int_eq(parse_line("GET / HTTPS/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/", NULL), -400);
}
END_TEST

START_TEST(target_forms)
{
	ck_assert_int_eq(parse_line("GET a HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET ?x HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("CONNECT host:443 HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET ftp://h/x HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET /a#frag HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET /a\x7f HTTP/1.1", NULL), -400);

	/* absolute-form: the path (RFC 9112 3.2.2); the raw target stays. */
	ck_assert_int_gt(parse_line("GET http://h.example:8080/a/../b?q=1 HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.path, "/b");
	ck_assert_str_eq(req.query, "q=1");
	ck_assert_str_eq(req.target, "http://h.example:8080/a/../b?q=1");
	ck_assert_int_gt(parse_line("GET HTTPS://h HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.path, "/");
	ck_assert_int_gt(parse_line("GET http://h?x HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.path, "/");
	ck_assert_str_eq(req.query, "x");
	ck_assert_int_eq(parse_line("GET http:// HTTP/1.1", NULL), -400);

	/* asterisk-form: OPTIONS only, and no route prefix serves it. */
	ck_assert_int_gt(parse_line("OPTIONS * HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.path, "*");
	ck_assert_int_eq(http_prefix_match("/", req.path), -1);
	ck_assert_int_eq(parse_line("GET * HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("OPTIONS *x HTTP/1.1", NULL), -400);

	/* Raw UTF-8 is taken as if it were percent-encoded. */
	ck_assert_int_gt(parse_line("GET /caf\xc3\xa9 HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.path, "/caf\xc3\xa9");
}
END_TEST

START_TEST(path_is_normalised_in_the_head)
{
	ck_assert_int_gt(parse_line("GET /a/./b/../c%41?%2F.. HTTP/1.1", NULL), 0);
	ck_assert_str_eq(req.path, "/a/cA");
	ck_assert_str_eq(req.query, "%2F..");
	ck_assert_str_eq(req.target, "/a/./b/../c%41?%2F..");
	ck_assert_int_eq(parse_line("GET /a%2Fb HTTP/1.1", NULL), -404);
	ck_assert_int_eq(parse_line("GET /%00 HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET /%zz HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET /.. HTTP/1.1", NULL), -400);
	ck_assert_int_eq(parse_line("GET /a/%2e%2e/%2E%2e HTTP/1.1", NULL), -400);
}
END_TEST

START_TEST(header_syntax_errors)
{
	/* obs-fold (RFC 9112 5.2) */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n X: a\r\n\r\n"), -400);
	/* no colon, empty name, a space before the colon, not a token */
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "NoColon"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", ": v"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X : v"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X\t: v"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X(y): v"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X/Y: v"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X Y: v"), -400);
	/* control bytes in a value */
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X: a\x01"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X: a\x7f"), -400);
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "X: a\x1b[0m"), -400);
	ck_assert_int_eq(parse_n("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), -400);
	/* a bare CR (RFC 9112 2.2) */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\r\n\r\n"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n\r\r\n"), -400);
	/* Names that are tokens but not [A-Za-z0-9-] are kept: env.c drops
	 * them from HTTP_*. */
	ck_assert_int_gt(parse_line("GET / HTTP/1.1", "X_Y: v"), 0);
	ck_assert_str_eq(req.headers[0].name, "X_Y");
}
END_TEST

START_TEST(errors_are_seen_before_the_head_ends)
{
	/* A TLS ClientHello on an HTTP port is answered at once. */
	ck_assert_int_eq(parse_n("\x16\x03\x01\x02\x00\x01", 6), -400);
	ck_assert_int_eq(parse("GE(T"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\rb"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nNoColon\r\n"), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r\n b"), -400);
	ck_assert_int_eq(parse_n("GET /\0", 6), -400);
	/* Still only incomplete: */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r"), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\r"), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n\r"), 0);
	ck_assert_int_eq(parse("\r"), 0);
	ck_assert_int_eq(parse(""), 0);
}
END_TEST

START_TEST(header_count_limit)
{
	static char big[HTTP_HEAD_MAX];
	size_t o = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\n");

	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "X-%d: %d\r\n", i, i);
	o += (size_t)snprintf(big + o, sizeof big - o, "\r\n");
	ck_assert_int_eq(parse(big), (int)o);
	ck_assert_uint_eq(req.nheaders, HTTP_MAX_HEADERS);
	ck_assert_str_eq(req.headers[HTTP_MAX_HEADERS - 1].value, "99");
	/* One more is 431, even before the head ends. */
	o -= 2;
	o += (size_t)snprintf(big + o, sizeof big - o, "X-Last: 1\r\n");
	ck_assert_int_eq(parse(big), -431);
	o += (size_t)snprintf(big + o, sizeof big - o, "\r\n");
	ck_assert_int_eq(parse(big), -431);
}
END_TEST

START_TEST(head_over_the_limit)
{
	static char big[2 * HTTP_HEAD_MAX];
	size_t o = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX: ");

	memset(big + o, 'a', HTTP_HEAD_MAX);
	o += HTTP_HEAD_MAX;
	memcpy(big + o, "\r\n\r\n", 5);
	ck_assert_int_eq(parse(big), -431);
	/* Without an end it is the caller's to say 431. */
	ck_assert_int_eq(parse_n(big, HTTP_HEAD_MAX + 10), 0);
}
END_TEST

START_TEST(content_length)
{
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "Content-Length: 42"), 0);
	ck_assert_int_eq(req.content_length, 42);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "content-length:007"), 0);
	ck_assert_int_eq(req.content_length, 7);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "Content-Length: 0"), 0);
	ck_assert_int_eq(req.content_length, 0);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1",
	    "Content-Length: 9223372036854775807"), 0);
	ck_assert(req.content_length == 9223372036854775807LL);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Content-Length: 9223372036854775808"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length: -1"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length: +1"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length: 1a"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length: 0x10"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length:"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length: 1 2"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Content-Length: 5, 5"), -400);
}
END_TEST

START_TEST(repeated_content_length)
{
	ck_assert_int_gt(parse_line("POST / HTTP/1.1",
	    "Content-Length: 5\r\nContent-Length: 5"), 0);
	ck_assert_int_eq(req.content_length, 5);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Content-Length: 5\r\nContent-Length: 6"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Content-Length: 0\r\nX: 1\r\nContent-Length: 10"), -400);
}
END_TEST

START_TEST(transfer_encoding)
{
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "Transfer-Encoding: chunked"), 0);
	ck_assert_int_eq(req.chunked, 1);
	ck_assert_int_eq(req.content_length, -1);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "transfer-encoding: \tChunKed  "), 0);
	ck_assert_int_eq(req.chunked, 1);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Transfer-Encoding: gzip"), -501);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Transfer-Encoding: gzip, chunked"), -501);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Transfer-Encoding: chunked, chunked"), -501);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Transfer-Encoding: chunked;q=1"), -501);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Transfer-Encoding:"), -501);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1", "Transfer-Encoding: identity"), -501);
	/* Two field lines would be chunked twice. */
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"), -400);
	/* RFC 9112 6.1: faulty framing in HTTP/1.0. */
	ck_assert_int_eq(parse_line("POST / HTTP/1.0", "Transfer-Encoding: chunked"), -400);
}
END_TEST

START_TEST(content_length_with_transfer_encoding)
{
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Content-Length: 5\r\nTransfer-Encoding: chunked"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Transfer-Encoding: chunked\r\nContent-Length: 5"), -400);
	/* 400 whatever the coding and the order. */
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Transfer-Encoding: gzip\r\nContent-Length: 5"), -400);
	ck_assert_int_eq(parse_line("POST / HTTP/1.1",
	    "Content-Length: 5\r\nTransfer-Encoding: gzip"), -400);
}
END_TEST

START_TEST(expect_continue)
{
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "Expect: 100-continue"), 0);
	ck_assert_int_eq(req.expect_continue, 1);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "expect:  100-Continue "), 0);
	ck_assert_int_eq(req.expect_continue, 1);
	ck_assert_int_gt(parse_line("POST / HTTP/1.0", "Expect: 100-continue"), 0);
	ck_assert_int_eq(req.expect_continue, 0);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", "Expect: something-else"), 0);
	ck_assert_int_eq(req.expect_continue, 0);
	ck_assert_int_gt(parse_line("POST / HTTP/1.1", NULL), 0);
	ck_assert_int_eq(req.expect_continue, 0);
}
END_TEST

START_TEST(one_host_only)
{
	ck_assert_int_eq(parse_line("GET / HTTP/1.1", "host: other"), -400);
	/* A missing Host is left to the program (SERVER_NAME falls back). */
	PARSE_OK("GET / HTTP/1.1\r\n\r\n");
}
END_TEST

/* A request with this Host value, parsed. */
static int parse_host(const char *host)
{
	char tmp[1024];

	snprintf(tmp, sizeof tmp, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
	return parse(tmp);
}

/* Host is a host name or an IP literal with an optional port (RFC 9110
 * 7.2); anything else would reach SERVER_NAME, which programs build
 * their links and redirects from. */
START_TEST(host_must_be_a_host)
{
	static const char *const good[] = {
		"example.org", "EXAMPLE.org:8080", "h", "127.0.0.1",
		"127.0.0.1:80", "[::1]", "[2001:db8::1]:443", "[::ffff:1.2.3.4]",
		"my_service.internal", "example.org.", "xn--bcher-kva.example",
		"example.org:", "[::1]:", "h:0", "h:65535", "",
	};
	static const char *const bad[] = {
		"exa mple.org", "example.org/x", "example.org\\x", "user@example.org",
		"example.org:80:80", "example.org:x", "example.org:123456",
		"example.org:65536", "[::1", "[::1]x", "[::1]:80x", "[example.org]",
		"[]", "::1", ".", "..", ".example.org", "a..b", "<script>",
		"ex%41mple.org", "example.org,other.org", "\"example.org\"",
		"[fe80::1%25eth0]", "[v1.fe80::a+en1]", "exampl\x81.org", "*",
	};
	char longest[300];

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(parse_host(good[i]) > 0, "refused: '%s'", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(parse_host(bad[i]) == -400, "accepted: '%s'", bad[i]);
	/* A name of 253 characters (a DNS name's most) and a final dot. */
	memset(longest, 'a', 254);
	for (size_t i = 63; i < 253; i += 64)
		longest[i] = '.';
	longest[253] = '.';
	longest[254] = '\0';
	ck_assert_int_gt(parse_host(longest), 0);
	longest[253] = 'a';
	ck_assert_int_eq(parse_host(longest), -400);
	/* A label of 63 characters, not 64 (RFC 1035 2.3.4). */
	memset(longest, 'b', 64);
	strcpy(longest + 64, ".example");
	ck_assert_int_eq(parse_host(longest + 1), (int)strlen(longest + 1) + 26);
	ck_assert_int_eq(parse_host(longest), -400);
}
END_TEST

START_TEST(header_lookup)
{
	PARSE_OK("GET / HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n"
	    "Authorization: Basic Zm9v\r\n\r\n");
	ck_assert_str_eq(http_header(&req, "host"), "h");
	ck_assert_str_eq(http_header(&req, "X-DUP"), "1");
	ck_assert_str_eq(http_header(&req, "authorization"), "Basic Zm9v");
	ck_assert_ptr_null(http_header(&req, "X-Missing"));
	ck_assert_ptr_null(http_header(&req, "X-Du"));
	ck_assert_uint_eq(req.nheaders, 4);
}
END_TEST

/* http_normalize_path */

static const char *norm(const char *raw)
{
	static char out[256];
	int e = http_normalize_path(raw, strlen(raw), out, sizeof out);

	ck_assert_msg(e == 0, "normalise '%s': %d", raw, e);
	return out;
}

static int norm_err(const char *raw)
{
	char out[256];

	return http_normalize_path(raw, strlen(raw), out, sizeof out);
}

START_TEST(normalise_dot_segments)
{
	ck_assert_str_eq(norm("/"), "/");
	ck_assert_str_eq(norm("/a/./b/../c"), "/a/c");
	/* RFC 3986 5.2.4's own examples */
	ck_assert_str_eq(norm("/a/b/c/./../../g"), "/a/g");
	ck_assert_str_eq(norm("/mid/content=5/../6"), "/mid/6");
	ck_assert_str_eq(norm("/a/."), "/a/");
	ck_assert_str_eq(norm("/a/.."), "/");
	ck_assert_str_eq(norm("/a/b/.."), "/a/");
	ck_assert_str_eq(norm("/."), "/");
	ck_assert_str_eq(norm("/./"), "/");
	ck_assert_str_eq(norm("/a/./"), "/a/");
	ck_assert_str_eq(norm("/a//b"), "/a//b");
	ck_assert_str_eq(norm("/a//../b"), "/a/b");
	ck_assert_str_eq(norm("//"), "//");
	ck_assert_str_eq(norm("//.."), "/");
}
END_TEST

/* RFC 3986 5.4's examples, base path /b/c/d;p, written as the merged
 * path a request would carry. */
START_TEST(normalise_rfc3986_examples)
{
	ck_assert_str_eq(norm("/b/c/g"), "/b/c/g");
	ck_assert_str_eq(norm("/b/c/./g"), "/b/c/g");
	ck_assert_str_eq(norm("/b/c/g/"), "/b/c/g/");
	ck_assert_str_eq(norm("/b/c/."), "/b/c/");
	ck_assert_str_eq(norm("/b/c/./"), "/b/c/");
	ck_assert_str_eq(norm("/b/c/.."), "/b/");
	ck_assert_str_eq(norm("/b/c/../"), "/b/");
	ck_assert_str_eq(norm("/b/c/../g"), "/b/g");
	ck_assert_str_eq(norm("/b/c/../.."), "/");
	ck_assert_str_eq(norm("/b/c/../../"), "/");
	ck_assert_str_eq(norm("/b/c/../../g"), "/g");
	ck_assert_str_eq(norm("/./g"), "/g");
	ck_assert_str_eq(norm("/b/c/g."), "/b/c/g.");
	ck_assert_str_eq(norm("/b/c/.g"), "/b/c/.g");
	ck_assert_str_eq(norm("/b/c/g.."), "/b/c/g..");
	ck_assert_str_eq(norm("/b/c/..g"), "/b/c/..g");
	ck_assert_str_eq(norm("/b/c/./../g"), "/b/g");
	ck_assert_str_eq(norm("/b/c/./g/."), "/b/c/g/");
	ck_assert_str_eq(norm("/b/c/g/./h"), "/b/c/g/h");
	ck_assert_str_eq(norm("/b/c/g/../h"), "/b/c/h");
	ck_assert_str_eq(norm("/b/c/g;x=1/./y"), "/b/c/g;x=1/y");
	ck_assert_str_eq(norm("/b/c/g;x=1/../y"), "/b/c/y");
	/* The "abnormal" ones RFC 3986 resolves by clamping at the root
	 * are 400 here (the SPEC). */
	ck_assert_int_eq(norm_err("/b/c/../../../g"), -400);
	ck_assert_int_eq(norm_err("/b/c/../../../../g"), -400);
	ck_assert_int_eq(norm_err("/../g"), -400);
}
END_TEST

START_TEST(normalise_climbing_is_400)
{
	ck_assert_int_eq(norm_err("/.."), -400);
	ck_assert_int_eq(norm_err("/../"), -400);
	ck_assert_int_eq(norm_err("/a/../.."), -400);
	ck_assert_int_eq(norm_err("/a/../../b"), -400);
	ck_assert_int_eq(norm_err("/./.."), -400);
	ck_assert_int_eq(norm_err("/%2e%2e"), -400);
	ck_assert_int_eq(norm_err("/%2E./x"), -400);
	ck_assert_int_eq(norm_err("/.%2e/x"), -400);
}
END_TEST

START_TEST(normalise_decodes_once)
{
	ck_assert_str_eq(norm("/%41"), "/A");
	ck_assert_str_eq(norm("/%7e%7E"), "/~~");
	ck_assert_str_eq(norm("/%252F"), "/%2F");
	ck_assert_str_eq(norm("/%2525"), "/%25");
	ck_assert_str_eq(norm("/a%20b"), "/a b");
	ck_assert_str_eq(norm("/%3F%23"), "/?#");
	ck_assert_str_eq(norm("/caf%C3%A9"), "/caf\xc3\xa9");
	ck_assert_str_eq(norm("/a/%2E/b"), "/a/b");
	ck_assert_str_eq(norm("/a/b/%2e%2E"), "/a/");
	ck_assert_str_eq(norm("/%2e%2e%2e"), "/...");
}
END_TEST

START_TEST(normalise_refuses)
{
	ck_assert_int_eq(norm_err("/a%2Fb"), -404);
	ck_assert_int_eq(norm_err("/a%2fb"), -404);
	ck_assert_int_eq(norm_err("/%2F"), -404);
	ck_assert_int_eq(norm_err("/%00"), -400);
	ck_assert_int_eq(norm_err("/a%0Ab"), -400);
	ck_assert_int_eq(norm_err("/a%0d"), -400);
	ck_assert_int_eq(norm_err("/%1f"), -400);
	ck_assert_int_eq(norm_err("/%7F"), -400);
	ck_assert_int_eq(norm_err("/a\tb"), -400);
	ck_assert_int_eq(norm_err("/%"), -400);
	ck_assert_int_eq(norm_err("/%4"), -400);
	ck_assert_int_eq(norm_err("/%4/"), -400);
	ck_assert_int_eq(norm_err("/%g1"), -400);
	ck_assert_int_eq(norm_err("/%1g"), -400);
	ck_assert_int_eq(norm_err("/%%41"), -400);
	ck_assert_int_eq(norm_err("a"), -400);
	ck_assert_int_eq(norm_err(""), -400);
}
END_TEST

START_TEST(normalise_bounds)
{
	char out[4];
	const char raw[] = "/a/b";

	ck_assert_int_eq(http_normalize_path("/abc", 4, out, sizeof out), -400);
	ck_assert_int_eq(http_normalize_path("/ab", 3, out, sizeof out), 0);
	ck_assert_str_eq(out, "/ab");
	/* len, not the NUL, ends the input. */
	ck_assert_int_eq(http_normalize_path(raw, 2, out, sizeof out), 0);
	ck_assert_str_eq(out, "/a");
}
END_TEST

START_TEST(prefix_on_whole_segments)
{
	ck_assert_int_eq(http_prefix_match("/hi", "/hi"), 3);
	ck_assert_int_eq(http_prefix_match("/hi", "/hi/"), 3);
	ck_assert_int_eq(http_prefix_match("/hi", "/hi/x"), 3);
	ck_assert_int_eq(http_prefix_match("/hi", "/hiya"), -1);
	ck_assert_int_eq(http_prefix_match("/hi", "/"), -1);
	ck_assert_int_eq(http_prefix_match("/hi", "/h"), -1);
	ck_assert_int_eq(http_prefix_match("/hi", "/Hi"), -1);
	ck_assert_int_eq(http_prefix_match("/hi", "/x/hi"), -1);
	ck_assert_int_eq(http_prefix_match("/a/b", "/a/b/c"), 4);
	ck_assert_int_eq(http_prefix_match("/a/b", "/a"), -1);
	ck_assert_int_eq(http_prefix_match("/a/b", "/a/bc"), -1);
}
END_TEST

START_TEST(prefix_root_and_trailing_slash)
{
	ck_assert_int_eq(http_prefix_match("/", "/"), 0);
	ck_assert_int_eq(http_prefix_match("/", "/hiya"), 0);
	ck_assert_int_eq(http_prefix_match("/", "/a/b"), 0);
	ck_assert_int_eq(http_prefix_match("", "/a"), 0);
	ck_assert_int_eq(http_prefix_match("/hi/", "/hi"), 3);
	ck_assert_int_eq(http_prefix_match("/hi/", "/hi/x"), 3);
	ck_assert_int_eq(http_prefix_match("/hi/", "/hiya"), -1);
	ck_assert_int_eq(http_prefix_match("/", "*"), -1);
	ck_assert_int_eq(http_prefix_match("/hi", "*"), -1);
}
END_TEST

/* The chunked decoder */

struct decoded {
	long consumed;          /* total, or -1 */
	int done;
	size_t n;
	char data[8192];
};

/* Feeds in in pieces of `step` bytes (0: all at once) into an output of
 * `cap` bytes per call, the way the gateway would: a call that consumes
 * nothing with room to write ends the feeding. */
static struct decoded decode(const char *in, size_t len, size_t step, size_t cap)
{
	static struct decoded d;
	struct http_chunked c = { 0 };
	size_t off = 0;

	memset(&d, 0, sizeof d);
	while (off < len) {
		size_t n = step && len - off > step ? step : len - off;
		size_t outlen = cap < sizeof d.data - d.n ? cap : sizeof d.data - d.n;
		long r = http_chunked_decode(&c, in + off, n, d.data + d.n, &outlen);

		if (r < 0) {
			d.consumed = -1;
			return d;
		}
		ck_assert_uint_le((size_t)r, n);
		ck_assert_uint_le(outlen, cap);
		d.n += outlen;
		off += (size_t)r;
		if ((size_t)r < n && outlen == 0)
			break;
	}
	d.consumed = (long)off;
	d.done = http_chunked_done(&c);
	return d;
}

static void chunked_ok(const char *body, const char *after, const char *want)
{
	char in[8192];
	size_t bn = strlen(body), an = strlen(after);
	size_t steps[] = { 0, 1, 2, 3, 7 }, caps[] = { 4096, 1, 3 };

	memcpy(in, body, bn);
	memcpy(in + bn, after, an);
	for (size_t s = 0; s < sizeof steps / sizeof *steps; s++)
		for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
			struct decoded d = decode(in, bn + an, steps[s], caps[k]);

			ck_assert_msg(d.consumed == (long)bn,
			    "step %zu cap %zu: consumed %ld of %zu", steps[s],
			    caps[k], d.consumed, bn);
			ck_assert(d.done);
			ck_assert_uint_eq(d.n, strlen(want));
			ck_assert(memcmp(d.data, want, d.n) == 0);
		}
	/* Not done one byte before the end. */
	ck_assert(!decode(body, bn - 1, 1, 4096).done);
	ck_assert_int_eq(decode(body, bn - 1, 1, 4096).consumed, (long)bn - 1);
}

static long chunked_err(const char *body)
{
	long r = decode(body, strlen(body), 0, 4096).consumed;

	/* The same one byte at a time. */
	ck_assert_int_eq(decode(body, strlen(body), 1, 4096).consumed, r);
	return r;
}

START_TEST(chunked_simple)
{
	chunked_ok("5\r\nhello\r\n0\r\n\r\n", "", "hello");
	chunked_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "GET / HTTP/1.1\r\n",
	    "hello world");
	chunked_ok("0\r\n\r\n", "xyz", "");
	chunked_ok("a\r\n0123456789\r\nA\r\nABCDEFGHIJ\r\n000\r\n\r\n", "",
	    "0123456789ABCDEFGHIJ");
	chunked_ok("00005\r\n\r\n\r\n\r\r\n0\r\n\r\n", "\r\n", "\r\n\r\n\r");
}
END_TEST

START_TEST(chunked_extensions)
{
	chunked_ok("5;name=value\r\nhello\r\n0;last\r\n\r\n", "", "hello");
	chunked_ok("5 ; a=\"b c\" ;d\r\nhello\r\n0\t;x\r\n\r\n", "", "hello");
	chunked_ok("5;\r\nhello\r\n0\r\n\r\n", "", "hello");
	ck_assert_int_eq(chunked_err("5;a\x01\r\nhello\r\n0\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("5;a\nhello\r\n0\r\n\r\n"), -1);
}
END_TEST

START_TEST(chunked_trailers)
{
	chunked_ok("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n", "more", "hello");
	ck_assert_int_eq(chunked_err("0\r\nNoColon\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("0\r\n X: folded\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("0\r\n: v\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("0\r\nX: a\nY: b\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("0\r\nX: a\r\n\n"), -1);
	ck_assert_int_eq(chunked_err("0\r\n\rX"), -1);
}
END_TEST

START_TEST(chunked_bad_sizes)
{
	ck_assert_int_eq(chunked_err("\r\nhello\r\n0\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("g\r\n"), -1);
	ck_assert_int_eq(chunked_err("-1\r\n"), -1);
	ck_assert_int_eq(chunked_err("+1\r\n"), -1);
	ck_assert_int_eq(chunked_err("0x5\r\nhello\r\n"), -1);
	ck_assert_int_eq(chunked_err(" 5\r\nhello\r\n"), -1);
	ck_assert_int_eq(chunked_err("5 \r\nhello\r\n"), -1);
	ck_assert_int_eq(chunked_err(";x\r\n"), -1);
	/* Over 2^62 */
	ck_assert_int_eq(chunked_err("4000000000000001\r\n"), -1);
	ck_assert_int_eq(chunked_err("10000000000000000\r\n"), -1);
	ck_assert_int_eq(chunked_err("ffffffffffffffffffff\r\n"), -1);
	/* 2^62 itself is a size (nothing of it sent here). */
	ck_assert_int_eq(chunked_err("4000000000000000\r\n"), 18);
}
END_TEST

START_TEST(chunked_missing_crlf)
{
	ck_assert_int_eq(chunked_err("5\r\nhelloX\r\n0\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("5\r\nhello\n0\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("5\r\nhello\r0\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("5\nhello\r\n0\r\n\r\n"), -1);
	ck_assert_int_eq(chunked_err("5\rhello\r\n"), -1);
	ck_assert_int_eq(chunked_err("5\r\nhello\r\n0\n\n"), -1);
	ck_assert_int_eq(chunked_err("5\r\nhello\r\n0\r\n\n"), -1);
	ck_assert_int_eq(chunked_err("5\r\nhello\r\n0\r\nX\r\n\r\n"), -1);
}
END_TEST

START_TEST(chunked_size_line_limit)
{
	static char body[8192];

	memset(body, '0', 5000);
	memcpy(body + 5000, "5\r\nhello\r\n0\r\n\r\n", 16);
	ck_assert_int_eq(chunked_err(body), -1);
	memset(body, '0', 4000);
	memcpy(body + 4000, "5\r\nhello\r\n0\r\n\r\n", 16);
	chunked_ok(body, "", "hello");
	memcpy(body, "5;", 2);
	memset(body + 2, 'x', 5000);
	memcpy(body + 5002, "\r\nhello\r\n0\r\n\r\n", 15);
	ck_assert_int_eq(chunked_err(body), -1);
}
END_TEST

START_TEST(chunked_stops_at_the_end)
{
	struct http_chunked c = { 0 };
	const char *in = "3\r\nabc\r\n0\r\n\r\nNEXT";
	char out[16];
	size_t outlen = sizeof out;

	ck_assert_int_eq(http_chunked_decode(&c, in, strlen(in), out, &outlen), 13);
	ck_assert_uint_eq(outlen, 3);
	ck_assert(http_chunked_done(&c));
	/* Done: nothing more is ever consumed. */
	outlen = sizeof out;
	ck_assert_int_eq(http_chunked_decode(&c, "NEXT", 4, out, &outlen), 0);
	ck_assert_uint_eq(outlen, 0);
	ck_assert(http_chunked_done(&c));
}
END_TEST

START_TEST(chunked_full_output_consumes_no_data)
{
	struct http_chunked c = { 0 };
	const char *in = "5\r\nhello\r\n0\r\n\r\n";
	char out[8];
	size_t outlen = 0;

	/* No room: the size line is taken, the data is not. */
	ck_assert_int_eq(http_chunked_decode(&c, in, strlen(in), out, &outlen), 3);
	ck_assert_uint_eq(outlen, 0);
	outlen = 2;
	ck_assert_int_eq(http_chunked_decode(&c, in + 3, strlen(in) - 3, out, &outlen), 2);
	ck_assert(memcmp(out, "he", 2) == 0);
	outlen = sizeof out;
	ck_assert_int_eq(http_chunked_decode(&c, in + 5, strlen(in) - 5, out, &outlen), 10);
	ck_assert(memcmp(out, "llo", 3) == 0);
	ck_assert(http_chunked_done(&c));
}
END_TEST

START_TEST(chunked_error_is_sticky)
{
	struct http_chunked c = { 0 };
	char out[8];
	size_t outlen = sizeof out;

	ck_assert_int_eq(http_chunked_decode(&c, "z", 1, out, &outlen), -1);
	outlen = sizeof out;
	ck_assert_int_eq(http_chunked_decode(&c, "0\r\n\r\n", 5, out, &outlen), -1);
	ck_assert(!http_chunked_done(&c));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("http");
	TCase *head = tcase_create("head");
	TCase *path = tcase_create("path");
	TCase *chunked = tcase_create("chunked");

	tcase_add_test(head, simple_get);
	tcase_add_test(head, no_query_is_empty);
	tcase_add_test(head, input_untouched_and_request_self_contained);
	tcase_add_test(head, bare_lf_line_ends);
	tcase_add_test(head, leading_empty_lines_are_ignored);
	tcase_add_test(head, body_is_never_counted);
	tcase_add_test(head, incomplete_byte_by_byte);
	tcase_add_test(head, ows_is_trimmed);
	tcase_add_test(head, method_must_be_a_token);
	tcase_add_test(head, request_line_single_spaces);
	tcase_add_test(head, versions);
	tcase_add_test(head, target_forms);
	tcase_add_test(head, path_is_normalised_in_the_head);
	tcase_add_test(head, header_syntax_errors);
	tcase_add_test(head, errors_are_seen_before_the_head_ends);
	tcase_add_test(head, header_count_limit);
	tcase_add_test(head, head_over_the_limit);
	tcase_add_test(head, content_length);
	tcase_add_test(head, repeated_content_length);
	tcase_add_test(head, transfer_encoding);
	tcase_add_test(head, content_length_with_transfer_encoding);
	tcase_add_test(head, expect_continue);
	tcase_add_test(head, one_host_only);
	tcase_add_test(head, host_must_be_a_host);
	tcase_add_test(head, header_lookup);
	suite_add_tcase(s, head);

	tcase_add_test(path, normalise_dot_segments);
	tcase_add_test(path, normalise_rfc3986_examples);
	tcase_add_test(path, normalise_climbing_is_400);
	tcase_add_test(path, normalise_decodes_once);
	tcase_add_test(path, normalise_refuses);
	tcase_add_test(path, normalise_bounds);
	tcase_add_test(path, prefix_on_whole_segments);
	tcase_add_test(path, prefix_root_and_trailing_slash);
	suite_add_tcase(s, path);

	tcase_add_test(chunked, chunked_simple);
	tcase_add_test(chunked, chunked_extensions);
	tcase_add_test(chunked, chunked_trailers);
	tcase_add_test(chunked, chunked_bad_sizes);
	tcase_add_test(chunked, chunked_missing_crlf);
	tcase_add_test(chunked, chunked_size_line_limit);
	tcase_add_test(chunked, chunked_stops_at_the_end);
	tcase_add_test(chunked, chunked_full_output_consumes_no_data);
	tcase_add_test(chunked, chunked_error_is_sticky);
	suite_add_tcase(s, chunked);
	return s;
}

UNIT_MAIN(suite)
