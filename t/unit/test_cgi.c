/* A cgi route's response head: RFC 3875 6 and the SPEC's checks, case by
 * case. */
#include <stdio.h>
#include <string.h>

#include "cgi.h"
#include "unit.h"

static struct cgi_response r;
static char out[CGI_HEAD_MAX + 512];
static size_t outn;

static int parse_n(const char *s, size_t n, int head)
{
	return cgi_parse_response(s, n, head, &r, out, sizeof out, &outn);
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s), 0);
}

/* The block parses to its own length (body after it never counted) and
 * the head written is want. */
static void expect_head(const char *block, const char *body, const char *want)
{
	char in[4096];

	snprintf(in, sizeof in, "%s%s", block, body);
	ck_assert_int_eq(parse(in), (int)strlen(block));
	ck_assert_uint_eq(outn, strlen(want));
	ck_assert_msg(memcmp(out, want, outn) == 0, "got '%.*s'", (int)outn, out);
}

START_TEST(content_type_only)
{
	expect_head("Content-Type: text/plain\r\n\r\n", "hello",
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "OK");
	ck_assert_int_eq(r.local_redirect, 0);
	ck_assert_int_eq(r.no_body, 0);
}
END_TEST

START_TEST(bare_lf_and_ows)
{
	expect_head("Content-Type:text/html\nX-Other: \t a b \t\n\n", "\n\nbody",
	    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Other: a b\r\n"
	    "Connection: close\r\n\r\n");
	expect_head("Content-Type: a\r\nX-Empty:\n\r\n", "",
	    "HTTP/1.1 200 OK\r\nContent-Type: a\r\nX-Empty: \r\n"
	    "Connection: close\r\n\r\n");
}
END_TEST

START_TEST(fields_keep_their_order)
{
	expect_head("Set-Cookie: a=1\r\nContent-Type: x\r\nSet-Cookie: b=2\r\n"
	    "Cache-Control: no-store\r\n\r\n", "",
	    "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nContent-Type: x\r\n"
	    "Set-Cookie: b=2\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n");
}
END_TEST

START_TEST(status_with_reason)
{
	expect_head("Status: 404 Nothing Here\r\nContent-Type: text/plain\r\n\r\n", "",
	    "HTTP/1.1 404 Nothing Here\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.reason, "Nothing Here");
	/* Status: is never forwarded, wherever it is. */
	expect_head("Content-Type: a\r\nstatus: 201 Made\r\n\r\n", "",
	    "HTTP/1.1 201 Made\r\nContent-Type: a\r\nConnection: close\r\n\r\n");
}
END_TEST

START_TEST(status_without_reason)
{
	expect_head("Status: 404\r\n\r\n", "",
	    "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
	ck_assert_str_eq(r.reason, "Not Found");
	expect_head("Status: 503 \r\n\r\n", "",
	    "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
	/* A code with no standard phrase: an empty one (RFC 9112 4). */
	expect_head("Status: 299\r\n\r\n", "",
	    "HTTP/1.1 299 \r\nConnection: close\r\n\r\n");
	ck_assert_str_eq(r.reason, "");
}
END_TEST

START_TEST(status_range_and_form)
{
	ck_assert_int_gt(parse("Status: 200 OK\r\n\r\n"), 0);
	ck_assert_int_gt(parse("Status: 599 Odd\r\n\r\n"), 0);
	ck_assert_int_gt(parse("Status: 200\tOK\r\n\r\n"), 0);
	ck_assert_str_eq(r.reason, "OK");
	ck_assert_int_eq(parse("Status: 100 Continue\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 199\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 600\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 999 X\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 099\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 20\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 2000\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 200OK\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: abc\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: -200\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status:\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: HTTP/1.1 200 OK\r\n\r\n"), -1);
	/* Two of them leave the answer to chance. */
	ck_assert_int_eq(parse("Status: 200\r\nStatus: 404\r\n\r\n"), -1);
}
END_TEST

START_TEST(long_reason_is_cut_in_both)
{
	char in[512], want[512];
	char reason[200];

	memset(reason, 'r', sizeof reason - 1);
	reason[sizeof reason - 1] = '\0';
	snprintf(in, sizeof in, "Status: 200 %s\r\n\r\n", reason);
	ck_assert_int_gt(parse(in), 0);
	ck_assert_uint_eq(strlen(r.reason), sizeof r.reason - 1);
	snprintf(want, sizeof want, "HTTP/1.1 200 %s\r\n", r.reason);
	ck_assert(memcmp(out, want, strlen(want)) == 0);
}
END_TEST

START_TEST(cr_injection_is_refused)
{
	ck_assert_int_eq(parse("Status: 200 OK\rX-Injected: 1\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Status: 302\r\nLocation: http://a/\rSet-Cookie: x\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\rb\nX: c\n\n"), -1);
	ck_assert_int_eq(parse_n("Content-Type: a\0b\r\n\r\n", 21, 0), -1);
	ck_assert_int_eq(parse("Content-Type: a\x01\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\x7f\r\n\r\n"), -1);
	/* HTAB and obs-text are field bytes. */
	ck_assert_int_gt(parse("Content-Type: a\tb\xc3\xa9\r\n\r\n"), 0);
}
END_TEST

START_TEST(bad_names_and_lines)
{
	ck_assert_int_eq(parse("Bad Name: x\r\nContent-Type: a\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type : a\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type\t: a\r\n\r\n"), -1);
	ck_assert_int_eq(parse("(x): 1\r\nContent-Type: a\r\n\r\n"), -1);
	ck_assert_int_eq(parse(": x\r\nContent-Type: a\r\n\r\n"), -1);
	ck_assert_int_eq(parse("NoColon\r\nContent-Type: a\r\n\r\n"), -1);
	ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Type: a\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\nX\xc3\xa9: 1\r\n\r\n"), -1);
}
END_TEST

START_TEST(folded_lines_are_refused)
{
	ck_assert_int_eq(parse("Content-Type: a\r\n b\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\n\tb\r\n\r\n"), -1);
	ck_assert_int_eq(parse(" Content-Type: a\r\n\r\n"), -1);
}
END_TEST

START_TEST(one_of_the_cgi_fields_is_required)
{
	ck_assert_int_eq(parse("X-Foo: 1\r\n\r\n"), -1);
	ck_assert_int_eq(parse("\r\n"), -1);
	ck_assert_int_eq(parse("\n"), -1);
	ck_assert_int_eq(parse("\r\nContent-Type: a\r\n\r\n"), -1);
	ck_assert_int_gt(parse("content-type: a\r\n\r\n"), 0);
	ck_assert_int_gt(parse("LOCATION: http://x/\r\n\r\n"), 0);
	ck_assert_int_gt(parse("Status: 204\r\n\r\n"), 0);
}
END_TEST

START_TEST(location_is_a_client_redirect)
{
	expect_head("Location: https://example.org/x?y\r\n\r\n", "moved",
	    "HTTP/1.1 302 Found\r\nLocation: https://example.org/x?y\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(r.status, 302);
	ck_assert_str_eq(r.reason, "Found");
	ck_assert_int_eq(r.local_redirect, 0);
	/* A network-path reference is not a local path. */
	ck_assert_int_gt(parse("Location: //other.example/x\r\n\r\n"), 0);
	ck_assert_int_eq(r.status, 302);
	ck_assert_int_eq(r.local_redirect, 0);
	/* A relative reference (RFC 9110 10.2.2) goes to the client too. */
	ck_assert_int_gt(parse("Location: other.html\r\n\r\n"), 0);
	ck_assert_int_eq(r.status, 302);
	ck_assert_int_eq(parse("Location:\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Location: http://a/\r\nLocation: http://b/\r\n\r\n"), -1);
}
END_TEST

START_TEST(local_redirect)
{
	ck_assert_int_eq(parse("Location: /other/script?x=1\r\n\r\nbody"), 31);
	ck_assert_int_eq(r.local_redirect, 1);
	ck_assert_int_eq(r.status, 500);
	/* The caller answers 500; nothing of the program's is written. */
	ck_assert_uint_eq(outn, 0);
	ck_assert_int_gt(parse("Location: /\r\n\r\n"), 0);
	ck_assert_int_eq(r.local_redirect, 1);
}
END_TEST

START_TEST(status_with_location_is_kept)
{
	expect_head("Status: 301 Moved\r\nLocation: /new\r\n\r\n", "",
	    "HTTP/1.1 301 Moved\r\nLocation: /new\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(r.local_redirect, 0);
	expect_head("Location: http://x/\r\nStatus: 303\r\n\r\n", "",
	    "HTTP/1.1 303 See Other\r\nLocation: http://x/\r\n"
	    "Connection: close\r\n\r\n");
}
END_TEST

START_TEST(hop_by_hop_fields_are_dropped)
{
	expect_head("Connection: keep-alive\r\nContent-Type: a\r\n"
	    "TRANSFER-ENCODING: chunked\r\nkeep-alive: timeout=5\r\n"
	    "X-Kept: 1\r\n\r\n", "",
	    "HTTP/1.1 200 OK\r\nContent-Type: a\r\nX-Kept: 1\r\n"
	    "Connection: close\r\n\r\n");
	/* Names that only begin like them stay. */
	expect_head("Content-Type: a\r\nConnection-X: 1\r\nKeep-Alive2: 2\r\n\r\n", "",
	    "HTTP/1.1 200 OK\r\nContent-Type: a\r\nConnection-X: 1\r\n"
	    "Keep-Alive2: 2\r\nConnection: close\r\n\r\n");
}
END_TEST

START_TEST(content_length_is_checked)
{
	expect_head("Content-Type: a\r\nContent-Length: 5\r\n\r\n", "hello",
	    "HTTP/1.1 200 OK\r\nContent-Type: a\r\nContent-Length: 5\r\n"
	    "Connection: close\r\n\r\n");
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Length: 5x\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Length:\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Length: -1\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Type: b\r\n\r\n"), -1);
}
END_TEST

/* Two Content-Length lines that differ leave the client to pick the
 * body's length (RFC 9110 8.6): 502. One value repeated is passed on
 * once, as first written. */
START_TEST(content_length_given_twice)
{
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Length: 5\r\nContent-Type: a\r\n"
	    "content-length: 50\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Length: 0\r\n"
	    "Content-Length: 1\r\n\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\r\nContent-Length: 5\r\n"
	    "Content-Length: 5x\r\n\r\n"), -1);
	expect_head("Content-Type: a\r\nContent-Length: 5\r\nX: 1\r\n"
	    "content-length: 5\r\n\r\n", "hello",
	    "HTTP/1.1 200 OK\r\nContent-Type: a\r\nContent-Length: 5\r\n"
	    "X: 1\r\nConnection: close\r\n\r\n");
	expect_head("Content-Length: 007\r\nContent-Type: a\r\n"
	    "Content-Length: 7\r\nContent-Length: 0007\r\n\r\n", "",
	    "HTTP/1.1 200 OK\r\nContent-Length: 007\r\nContent-Type: a\r\n"
	    "Connection: close\r\n\r\n");
}
END_TEST

/* The length the client is told, for the relay to stop at; -1 when the
 * program gives none (the body then ends with the program's output). */
START_TEST(content_length_is_exposed)
{
	ck_assert_int_gt(parse("Content-Type: a\r\n\r\n"), 0);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert_int_gt(parse("Content-Type: a\r\nContent-Length: 5\r\n\r\n"), 0);
	ck_assert_int_eq(r.content_length, 5);
	ck_assert_int_gt(parse("Content-Length: 0\r\nContent-Type: a\r\n\r\n"), 0);
	ck_assert_int_eq(r.content_length, 0);
	ck_assert_int_gt(parse("Content-Type: a\r\nContent-Length: 007\r\n"
	    "Content-Length: 7\r\n\r\n"), 0);
	ck_assert_int_eq(r.content_length, 7);
	ck_assert_int_gt(parse("Content-Type: a\r\nContent-Length: 10737418240\r\n\r\n"), 0);
	ck_assert(r.content_length == 10737418240LL);
	ck_assert_int_gt(parse("Content-Type: a\r\n"
	    "Content-Length: 9223372036854775807\r\n\r\n"), 0);
	ck_assert(r.content_length == 9223372036854775807LL);
	/* Past what the gateway can count: no length it could keep to. */
	ck_assert_int_eq(parse("Content-Type: a\r\n"
	    "Content-Length: 9223372036854775808\r\n\r\n"), -1);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert_int_eq(parse("Content-Type: a\r\n"
	    "Content-Length: 99999999999999999999999\r\n\r\n"), -1);
	/* HEAD, 204, 304: the length is told all the same (of the body a
	 * GET would have had); no_body says none follows. */
	ck_assert_int_gt(parse_n("Content-Type: a\r\nContent-Length: 12\r\n\r\n",
	    39, 1), 0);
	ck_assert_int_eq(r.content_length, 12);
	ck_assert_int_eq(r.no_body, 1);
	/* Nothing yet, or refused: none. */
	ck_assert_int_eq(parse("Content-Length: 5\r\nContent-Type: a\r\n"), 0);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert_int_eq(parse("Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), -1);
	ck_assert_int_eq(r.content_length, -1);
}
END_TEST

START_TEST(incomplete_is_zero)
{
	const char *all = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nbody";
	size_t n = strlen(all) - 4;

	ck_assert_int_eq(parse("Content-Type: text/plain\r\n"), 0);
	ck_assert_int_eq(parse("Content-Type: text/plain\r\n\r"), 0);
	ck_assert_int_eq(parse(""), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(parse_n(all, i, 0) == 0, "prefix %zu", i);
	for (size_t i = n; i <= strlen(all); i++)
		ck_assert_int_eq(parse_n(all, i, 0), (int)n);
}
END_TEST

START_TEST(errors_are_seen_before_the_end)
{
	ck_assert_int_eq(parse("Bad Name: 1\r\n"), -1);
	ck_assert_int_eq(parse("Content-Type: a\rX"), -1);
	ck_assert_int_eq(parse_n("Content-Type: a\0", 16, 0), -1);
	ck_assert_int_eq(parse("Content-Type: a\r"), 0);
}
END_TEST

START_TEST(no_body_cases)
{
	ck_assert_int_gt(parse_n("Content-Type: a\r\n\r\n", 19, 1), 0);
	ck_assert_int_eq(r.no_body, 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_gt(parse("Status: 204\r\n\r\n"), 0);
	ck_assert_int_eq(r.no_body, 1);
	ck_assert_int_gt(parse("Status: 304 Not Modified\r\nContent-Type: a\r\n\r\n"), 0);
	ck_assert_int_eq(r.no_body, 1);
	ck_assert_int_gt(parse("Status: 404\r\nContent-Type: a\r\n\r\n"), 0);
	ck_assert_int_eq(r.no_body, 0);
	ck_assert_int_gt(parse("Content-Type: a\r\n\r\n"), 0);
	ck_assert_int_eq(r.no_body, 0);
	ck_assert_int_gt(parse_n("Location: http://x/\r\n\r\n", 23, 1), 0);
	ck_assert_int_eq(r.no_body, 1);
}
END_TEST

START_TEST(output_must_fit)
{
	const char *in = "Content-Type: text/plain\r\n\r\n";
	const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\n\r\n";
	char small[128];

	ck_assert_int_eq(cgi_parse_response(in, strlen(in), 0, &r, small,
	    strlen(want), &outn), (int)strlen(in));
	ck_assert_uint_eq(outn, strlen(want));
	ck_assert(memcmp(small, want, outn) == 0);
	ck_assert_int_eq(cgi_parse_response(in, strlen(in), 0, &r, small,
	    strlen(want) - 1, &outn), -1);
	ck_assert_int_eq(cgi_parse_response(in, strlen(in), 0, &r, small,
	    10, &outn), -1);
	ck_assert_int_eq(cgi_parse_response(in, strlen(in), 0, &r, small,
	    0, &outn), -1);
}
END_TEST

START_TEST(block_over_the_limit)
{
	static char big[CGI_HEAD_MAX + 64];
	size_t o = (size_t)snprintf(big, sizeof big, "Content-Type: a\r\nX: ");

	memset(big + o, 'x', CGI_HEAD_MAX);
	memcpy(big + o + CGI_HEAD_MAX, "\r\n\r\n", 5);
	ck_assert_int_eq(parse(big), -1);
}
END_TEST

START_TEST(reasons)
{
	ck_assert_str_eq(http_reason(200), "OK");
	ck_assert_str_eq(http_reason(302), "Found");
	ck_assert_str_eq(http_reason(400), "Bad Request");
	ck_assert_str_eq(http_reason(404), "Not Found");
	ck_assert_str_eq(http_reason(408), "Request Timeout");
	ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http_reason(500), "Internal Server Error");
	ck_assert_str_eq(http_reason(501), "Not Implemented");
	ck_assert_str_eq(http_reason(502), "Bad Gateway");
	ck_assert_str_eq(http_reason(503), "Service Unavailable");
	ck_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
	ck_assert_str_eq(http_reason(100), "Continue");
	ck_assert_str_eq(http_reason(299), "");
	ck_assert_str_eq(http_reason(-1), "");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cgi");
	TCase *tc = tcase_create("response");

	tcase_add_test(tc, content_type_only);
	tcase_add_test(tc, bare_lf_and_ows);
	tcase_add_test(tc, fields_keep_their_order);
	tcase_add_test(tc, status_with_reason);
	tcase_add_test(tc, status_without_reason);
	tcase_add_test(tc, status_range_and_form);
	tcase_add_test(tc, long_reason_is_cut_in_both);
	tcase_add_test(tc, cr_injection_is_refused);
	tcase_add_test(tc, bad_names_and_lines);
	tcase_add_test(tc, folded_lines_are_refused);
	tcase_add_test(tc, one_of_the_cgi_fields_is_required);
	tcase_add_test(tc, location_is_a_client_redirect);
	tcase_add_test(tc, local_redirect);
	tcase_add_test(tc, status_with_location_is_kept);
	tcase_add_test(tc, hop_by_hop_fields_are_dropped);
	tcase_add_test(tc, content_length_is_checked);
	tcase_add_test(tc, content_length_given_twice);
	tcase_add_test(tc, content_length_is_exposed);
	tcase_add_test(tc, incomplete_is_zero);
	tcase_add_test(tc, errors_are_seen_before_the_end);
	tcase_add_test(tc, no_body_cases);
	tcase_add_test(tc, output_must_fit);
	tcase_add_test(tc, block_over_the_limit);
	tcase_add_test(tc, reasons);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
