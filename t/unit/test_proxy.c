/* The PROXY protocol parser: HAProxy's specification's own examples,
 * every prefix of a valid header pending, exact lengths, the malformed
 * headers a proxy (or a client pretending to be one) sends, and what a
 * v2 header's TLVs tell the child. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "unit.h"

static const uint8_t sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* What comes after a header: the client's bytes, never counted. */
static const char tail[] = "GET / HTTP/1.0\r\n\r\nPROXY TCP4 x";

static int parse(const void *buf, size_t len, int versions,
    struct proxy_header *h)
{
	return proxy_parse(buf, len, versions, h);
}

/* A valid header of n bytes: every proper prefix is pending, the whole
 * is n, and bytes after it change nothing. */
static void valid(const void *hdr, size_t n, int versions,
    struct proxy_header *h)
{
	uint8_t *buf = malloc(n + sizeof tail);
	struct proxy_header junk;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, hdr, n);
	memcpy(buf + n, tail, sizeof tail);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(parse(buf, i, versions, &junk) == 0,
		    "prefix of %zu/%zu bytes not pending", i, n);
	ck_assert_int_eq(parse(buf, n, versions, h), (int)n);
	for (size_t k = 1; k <= sizeof tail; k++)
		ck_assert_int_eq(parse(buf, n + k, versions, &junk), (int)n);
	free(buf);
}

static void valid_str(const char *line, struct proxy_header *h)
{
	valid(line, strlen(line), PROXY_V1, h);
	valid(line, strlen(line), PROXY_ANY, h);
	ck_assert_int_eq(h->version, 1);
}

/* The verdict on a text, with the result on all its prefixes never
 * going back from -1. */
static int verdict(const void *buf, size_t len, int versions)
{
	struct proxy_header h;
	int r = parse(buf, len, versions, &h), bad = 0;

	for (size_t i = 0; i <= len; i++) {
		int ri = parse(buf, i, versions, &h);

		ck_assert_msg(!bad || ri == -1, "-1 at a prefix, %d at %zu", ri, i);
		bad = ri == -1;
	}
	return r;
}

#define BAD(s) ck_assert_msg(verdict(s, strlen(s), PROXY_ANY) == -1, "accepted: %s", s)
#define PENDING(s) ck_assert_msg(verdict(s, strlen(s), PROXY_ANY) == 0, "not pending: %s", s)

static void expect_addr(const struct sockaddr_storage *ss, int family,
    const char *host, unsigned port)
{
	char text[INET6_ADDRSTRLEN];

	ck_assert_int_eq(ss->ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
		ck_assert_uint_eq(ntohs(sin->sin_port), port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
		ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
	}
	ck_assert_str_eq(text, host);
}

/* A v2 header: signature, version/command, family, length, then
 * `body` (addresses and TLVs) of blen bytes. Returns its length. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam,
    const void *body, size_t blen)
{
	memcpy(out, sig, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

/* 192.0.2.1:56324 -> 198.51.100.7:443, then the given TLV bytes. */
static size_t v2_inet_body(uint8_t *b, const void *tlv, size_t tlen)
{
	static const uint8_t a[12] = {
		192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x01, 0xBB
	};

	memcpy(b, a, sizeof a);
	if (tlen)
		memcpy(b + sizeof a, tlv, tlen);
	return sizeof a + tlen;
}

/* 2001:db8::1 port 1 -> 2001:db8::2 port 65535 */
static size_t v2_inet6_body(uint8_t *b)
{
	memset(b, 0, 36);
	b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = 1;
	b[16] = 0x20; b[17] = 0x01; b[18] = 0x0d; b[19] = 0xb8; b[31] = 2;
	b[32] = 0; b[33] = 1; b[34] = 0xFF; b[35] = 0xFF;
	return 36;
}

/* ---- v1, valid ---------------------------------------------------- */

START_TEST(v1_tcp4)
{
	struct proxy_header h;

	valid_str("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", &h);
	ck_assert_int_eq(h.proxied, 1);
	expect_addr(&h.src, AF_INET, "192.168.0.1", 56324);
	expect_addr(&h.dst, AF_INET, "192.168.0.11", 443);
}
END_TEST

START_TEST(v1_tcp6)
{
	struct proxy_header h;

	valid_str("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n", &h);
	ck_assert_int_eq(h.proxied, 1);
	expect_addr(&h.src, AF_INET6, "2001:db8::1", 1);
	expect_addr(&h.dst, AF_INET6, "::1", 65535);
	valid_str("PROXY TCP6 ::ffff:10.0.0.1 FE80::A 0 0\r\n", &h);
	expect_addr(&h.src, AF_INET6, "::ffff:10.0.0.1", 0);
	expect_addr(&h.dst, AF_INET6, "fe80::a", 0);
}
END_TEST

/* The spec's worst case, 107 bytes, is UNKNOWN with v6 addresses: the
 * same as TCP6 is 104. Longer v6 texts exist (an embedded v4 part),
 * and a line that uses them past 107 bytes is refused. */
START_TEST(v1_longest)
{
	const char *tcp6 = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	    " ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	const char *unknown = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	    " ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	const char *mapped = "PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255"
	    " ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 1 1\r\n";
	struct proxy_header h;

	ck_assert_uint_eq(strlen(tcp6), 104);
	valid_str(tcp6, &h);
	expect_addr(&h.dst, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	ck_assert_uint_eq(strlen(unknown), PROXY_V1_MAX);
	valid_str(unknown, &h);
	ck_assert_uint_eq(strlen(mapped), 102);
	valid_str(mapped, &h);
	expect_addr(&h.src, AF_INET6, "::ffff:255.255.255.255", 1);
	BAD("PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255"
	    " 0000:0000:0000:0000:0000:ffff:255.255.255.255 1 1\r\n");
	BAD("PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255"
	    " ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
}
END_TEST

START_TEST(v1_unknown)
{
	static const char odd[] = "PROXY UNKNOWN \0\xff\t  x\r\n";
	struct proxy_header h;

	valid_str("PROXY UNKNOWN\r\n", &h);
	ck_assert_int_eq(h.proxied, 0);
	valid_str("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", &h);
	ck_assert_int_eq(h.proxied, 0);
	/* "anything up to CRLF", NUL and 8-bit bytes included */
	valid(odd, sizeof odd - 1, PROXY_ANY, &h);
	ck_assert_int_eq(h.proxied, 0);
}
END_TEST

/* 107 bytes with the CRLF is the limit: the line may fill it, not pass. */
START_TEST(v1_length_limit)
{
	char line[PROXY_V1_MAX + 2];
	struct proxy_header h;

	memset(line, 'x', sizeof line);
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_V1_MAX - 2, "\r\n", 2);
	valid(line, PROXY_V1_MAX, PROXY_V1, &h);
	memset(line + PROXY_V1_MAX - 2, 'x', 2);
	memcpy(line + PROXY_V1_MAX - 1, "\r\n", 2);
	ck_assert_int_eq(verdict(line, PROXY_V1_MAX + 1, PROXY_V1), -1);
	/* found without waiting for the 108th byte: no CR in 106 bytes */
	ck_assert_int_eq(parse(line, PROXY_V1_MAX - 2, PROXY_V1, &h), 0);
	ck_assert_int_eq(parse(line, PROXY_V1_MAX - 1, PROXY_V1, &h), -1);
}
END_TEST

START_TEST(v1_never_ending)
{
	char line[4096];

	memset(line, 'x', sizeof line);
	memcpy(line, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(verdict(line, sizeof line, PROXY_ANY), -1);
	memcpy(line, "PROXY TCP4 1.2.3.4", 18);
	ck_assert_int_eq(verdict(line, sizeof line, PROXY_ANY), -1);
}
END_TEST

START_TEST(v1_partial_is_pending)
{
	PENDING("P");
	PENDING("PROXY");
	PENDING("PROXY ");
	PENDING("PROXY UNK");
	PENDING("PROXY UNKNOWN");
	PENDING("PROXY UNKNOWN\r");
	PENDING("PROXY TCP4 ");
	PENDING("PROXY TCP4 1.2.3.4 5.6.7.8 80 ");
	PENDING("PROXY TCP4 1.2.3.4 5.6.7.8 80 8080\r");
	PENDING("PROXY TCP6 ::1 ::2 6553");
}
END_TEST

/* ---- v1, malformed ------------------------------------------------- */

START_TEST(v1_bad_words)
{
	BAD("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY UNKNOWNX\r\n");
	BAD("PROXY\r\n");
	BAD("PROXY \r\n");
	BAD("PROXY TCP4\r\n");
	BAD("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXX");
	BAD("PROXY X");
	BAD("PROXY TCP4X");
}
END_TEST

START_TEST(v1_line_ends)
{
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
	BAD("PROXY UNKNOWN\n");
	BAD("PROXY UNKNOWN\r\r\n");
	BAD("PROXY UNKNOWN\rx");
	BAD("PROXY UNKNOWN a\rb\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n");
	BAD("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n");
	/* a bare CRLF is where v2's signature begins, not a v1 line */
	ck_assert_int_eq(verdict("\r\n", 2, PROXY_V1), -1);
	PENDING("\r\n");
}
END_TEST

START_TEST(v1_spaces)
{
	BAD("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8\r\n");
	BAD("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n");
	BAD(" PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY UNKNOWN\t\r\n");
}
END_TEST

/* Ports are decimal 0..65535. Leading zeros: the spec forbids them
 * ("Heading zeroes are not permitted... confusion with octal"), so
 * "0" is a port and "00", "080" are not. */
START_TEST(v1_ports)
{
	struct proxy_header h;

	valid_str("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n", &h);
	expect_addr(&h.src, AF_INET, "1.2.3.4", 0);
	expect_addr(&h.dst, AF_INET, "5.6.7.8", 65535);
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 123456 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 080 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 00 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 1 01\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 +80 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 -1 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 0x50 1\r\n");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 8a 1\r\n");
	/* found before the line ends */
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 65536");
	BAD("PROXY TCP4 1.2.3.4 5.6.7.8 08");
}
END_TEST

START_TEST(v1_addresses)
{
	BAD("PROXY TCP4 ::1 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4 ::1 1 2\r\n");
	BAD("PROXY TCP6 1.2.3.4 ::1 1 2\r\n");
	BAD("PROXY TCP6 ::1 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP4 localhost 5.6.7.8 1 2\r\n");
	BAD("PROXY TCP6 ::1%lo ::1 1 2\r\n");
	BAD("PROXY TCP6 [::1] ::1 1 2\r\n");
	BAD("PROXY TCP6 1::2::3 ::1 1 2\r\n");
	BAD("PROXY TCP6 12345::1 ::1 1 2\r\n");
	/* found before the field ends */
	BAD("PROXY TCP4 1.2.3.4x");
	BAD("PROXY TCP4 1:");
	BAD("PROXY TCP4 1111111111111111");
	BAD("PROXY TCP6 g");
}
END_TEST

/* ---- v2 ------------------------------------------------------------ */

START_TEST(v2_inet)
{
	uint8_t body[64], buf[128];
	struct proxy_header h;
	size_t n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, NULL, 0));

	valid(buf, n, PROXY_V2, &h);
	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.proxied, 1);
	expect_addr(&h.src, AF_INET, "192.0.2.1", 56324);
	expect_addr(&h.dst, AF_INET, "198.51.100.7", 443);
}
END_TEST

/* TLVs (here PP2_TYPE_ALPN "h2" and a NOOP) are consumed with the
 * header; one that would run past its end changes nothing: the length is
 * what counts. */
START_TEST(v2_inet_tlvs)
{
	static const uint8_t tlv[] = { 0x01, 0x00, 0x02, 'h', '2', 0x04, 0x00, 0x00 };
	static const uint8_t junk[] = { 0xEE, 0xFF, 0xFF, 0x00 };
	uint8_t body[64], buf[128];
	struct proxy_header h;
	size_t n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, tlv, sizeof tlv));

	ck_assert_uint_eq(n, 16 + 12 + sizeof tlv);
	valid(buf, n, PROXY_ANY, &h);
	expect_addr(&h.src, AF_INET, "192.0.2.1", 56324);
	ck_assert_str_eq(h.tlvs.alpn, "h2");
	n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, junk, sizeof junk));
	valid(buf, n, PROXY_V2, &h);
	ck_assert_int_eq(h.proxied, 1);
}
END_TEST

START_TEST(v2_inet6)
{
	static const uint8_t tlv[] = { 0x04, 0x00, 0x03, 0, 0, 0 };
	uint8_t body[64], buf[128];
	struct proxy_header h;
	size_t bl = v2_inet6_body(body);
	size_t n = v2(buf, 0x21, 0x21, body, bl);

	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.proxied, 1);
	expect_addr(&h.src, AF_INET6, "2001:db8::1", 1);
	expect_addr(&h.dst, AF_INET6, "2001:db8::2", 65535);
	memcpy(body + bl, tlv, sizeof tlv);
	n = v2(buf, 0x21, 0x21, body, bl + sizeof tlv);
	valid(buf, n, PROXY_V2, &h);
	expect_addr(&h.src, AF_INET6, "2001:db8::1", 1);
}
END_TEST

/* LOCAL: health checks from the proxy itself; the family is ignored,
 * as are any addresses sent. */
START_TEST(v2_local)
{
	uint8_t body[64], buf[128];
	struct proxy_header h;
	size_t n = v2(buf, 0x20, 0x00, NULL, 0);

	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.proxied, 0);
	n = v2(buf, 0x20, 0x11, body, v2_inet_body(body, NULL, 0));
	valid(buf, n, PROXY_V2, &h);
	ck_assert_int_eq(h.proxied, 0);
	/* LOCAL needs no address block at all, whatever the family */
	n = v2(buf, 0x20, 0x21, NULL, 0);
	valid(buf, n, PROXY_V2, &h);
	ck_assert_int_eq(h.proxied, 0);
}
END_TEST

START_TEST(v2_unspec)
{
	static const uint8_t tlv[] = { 0x04, 0x00, 0x00 };
	uint8_t buf[64];
	struct proxy_header h;
	size_t n = v2(buf, 0x21, 0x00, NULL, 0);

	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.proxied, 0);
	n = v2(buf, 0x21, 0x00, tlv, sizeof tlv);
	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.proxied, 0);
}
END_TEST

START_TEST(v2_unix)
{
	uint8_t body[300], buf[400];
	struct proxy_header h;
	size_t n;

	memset(body, 0, sizeof body);
	memcpy(body, "/run/client.sock", 16);
	memcpy(body + 108, "/run/gateway.sock", 17);
	n = v2(buf, 0x21, 0x31, body, 216);
	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.proxied, 0);
	n = v2(buf, 0x21, 0x31, body, 216 + 20);
	valid(buf, n, PROXY_V2, &h);
	ck_assert_uint_eq(n, 16 + 216 + 20);
}
END_TEST

/* The largest length there is: 65535 bytes of addresses and TLVs. */
START_TEST(v2_longest)
{
	uint8_t *buf = calloc(1, PROXY_V2_MAX + 8);
	struct proxy_header h;
	uint8_t body[64];

	ck_assert_ptr_nonnull(buf);
	v2(buf, 0x21, 0x11, body, v2_inet_body(body, NULL, 0));
	buf[14] = 0xFF;
	buf[15] = 0xFF;
	ck_assert_int_eq(parse(buf, PROXY_V2_MAX - 1, PROXY_ANY, &h), 0);
	ck_assert_int_eq(parse(buf, PROXY_V2_MAX, PROXY_ANY, &h), PROXY_V2_MAX);
	ck_assert_int_eq(parse(buf, PROXY_V2_MAX + 8, PROXY_ANY, &h), PROXY_V2_MAX);
	expect_addr(&h.src, AF_INET, "192.0.2.1", 56324);
	free(buf);
}
END_TEST

/* Each signature byte is checked as soon as it arrives. */
START_TEST(v2_bad_signature)
{
	uint8_t buf[64], body[64];
	struct proxy_header h;
	size_t n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, NULL, 0));

	for (size_t i = 0; i < 12; i++) {
		buf[i] ^= 0x20;
		if (i == 0)
			ck_assert_int_eq(parse(buf, 1, PROXY_V2, &h), -1);
		else
			ck_assert_int_eq(parse(buf, i, PROXY_V2, &h), 0);
		ck_assert_int_eq(parse(buf, i + 1, PROXY_ANY, &h), -1);
		ck_assert_int_eq(verdict(buf, n, PROXY_ANY), -1);
		buf[i] ^= 0x20;
	}
}
END_TEST

START_TEST(v2_bad_version_command)
{
	static const uint8_t vc[] = { 0x01, 0x11, 0x31, 0xF1, 0x22, 0x2F, 0x12 };
	uint8_t buf[64], body[64];
	struct proxy_header h;

	for (size_t i = 0; i < sizeof vc; i++) {
		size_t n = v2(buf, vc[i], 0x11, body, v2_inet_body(body, NULL, 0));

		ck_assert_int_eq(parse(buf, 12, PROXY_ANY, &h), 0);
		ck_assert_msg(parse(buf, 13, PROXY_ANY, &h) == -1, "0x%02x", vc[i]);
		ck_assert_int_eq(verdict(buf, n, PROXY_ANY), -1);
	}
}
END_TEST

/* Undefined family/transport values, and datagrams (a UDP client has
 * nothing to do with a stream connection). */
START_TEST(v2_bad_family)
{
	static const uint8_t fam[] = {
		0x01, 0x10, 0x13, 0x41, 0xFF, 0x12, 0x22, 0x32, 0x30, 0x20, 0x02
	};
	uint8_t buf[400], body[300];
	struct proxy_header h;

	memset(body, 0, sizeof body);
	for (size_t i = 0; i < sizeof fam; i++) {
		size_t n = v2(buf, 0x21, fam[i], body, 216);

		ck_assert_int_eq(parse(buf, 13, PROXY_ANY, &h), 0);
		ck_assert_msg(parse(buf, 14, PROXY_ANY, &h) == -1, "0x%02x", fam[i]);
		ck_assert_int_eq(verdict(buf, n, PROXY_ANY), -1);
	}
	/* LOCAL ignores the family, but not one the spec never defined */
	v2(buf, 0x20, 0x41, NULL, 0);
	ck_assert_int_eq(parse(buf, 16, PROXY_ANY, &h), -1);
	v2(buf, 0x20, 0x12, NULL, 0);
	ck_assert_int_eq(parse(buf, 16, PROXY_ANY, &h), 16);
}
END_TEST

/* Found with the length's second byte: no waiting for the body. */
START_TEST(v2_length_too_short)
{
	static const struct { uint8_t fam; size_t len; } c[] = {
		{ 0x11, 11 }, { 0x11, 0 }, { 0x21, 35 }, { 0x21, 12 },
		{ 0x31, 215 }, { 0x31, 36 },
	};
	uint8_t buf[400], body[300];
	struct proxy_header h;

	memset(body, 0, sizeof body);
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		size_t n = v2(buf, 0x21, c[i].fam, body, c[i].len);

		ck_assert_int_eq(parse(buf, 15, PROXY_ANY, &h), 0);
		ck_assert_msg(parse(buf, 16, PROXY_ANY, &h) == -1,
		    "fam 0x%02x len %zu", c[i].fam, c[i].len);
		ck_assert_int_eq(verdict(buf, n, PROXY_ANY), -1);
	}
}
END_TEST

/* ---- v2 TLVs ------------------------------------------------------- */

/* Appends one TLV to out at *o. */
static void put_tlv(uint8_t *out, size_t *o, uint8_t type, const void *v,
    size_t n)
{
	out[(*o)++] = type;
	out[(*o)++] = (uint8_t)(n >> 8);
	out[(*o)++] = (uint8_t)n;
	memcpy(out + *o, v, n);
	*o += n;
}

/* PP2_TYPE_SSL: the client bits, a verify word of 0, then subs. */
static void put_ssl(uint8_t *out, size_t *o, uint8_t client, const void *subs,
    size_t sn)
{
	uint8_t v[64] = { client, 0, 0, 0, 0 };

	if (sn)
		memcpy(v + 5, subs, sn);
	put_tlv(out, o, 0x20, v, 5 + sn);
}

/* The TCP4 header with these TLVs, checked valid: its proxy_tlvs. */
static struct proxy_tlvs tlvs_of(const uint8_t *tlv, size_t tlen)
{
	static uint8_t body[70000], buf[70100];
	struct proxy_header h;
	size_t n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, tlv, tlen));

	ck_assert_int_eq(parse(buf, n, PROXY_V2, &h), (int)n);
	ck_assert_int_eq(h.proxied, 1);
	return h.tlvs;
}

/* What HAProxy's send-proxy-v2-ssl sends for a TLS client. */
START_TEST(tlv_tls_details)
{
	static const uint8_t subs[] = {
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
		0x23, 0x00, 0x06, 'A', 'E', 'S', '1', '2', '8',
	};
	uint8_t tlv[512], body[600], buf[700];
	struct proxy_header h;
	size_t o = 0, n;

	put_ssl(tlv, &o, 0x07, subs, sizeof subs);
	put_tlv(tlv, &o, 0x02, "shop.example", 12);
	put_tlv(tlv, &o, 0x01, "http/1.1", 8);
	put_tlv(tlv, &o, 0x05, "7F000001:8296_4F7B0A69", 22);
	put_tlv(tlv, &o, 0x04, "\0\0\0", 3);
	n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, tlv, o));
	/* Every prefix still pending, the whole exactly n. */
	valid(buf, n, PROXY_ANY, &h);
	ck_assert_int_eq(h.tlvs.ssl, 1);
	ck_assert_str_eq(h.tlvs.authority, "shop.example");
	ck_assert_str_eq(h.tlvs.alpn, "http/1.1");
	ck_assert_str_eq(h.tlvs.unique_id, "7F000001:8296_4F7B0A69");
	expect_addr(&h.src, AF_INET, "192.0.2.1", 56324);
}
END_TEST

/* HTTPS only with PP2_CLIENT_SSL; a value too short for the client byte
 * and the verify word says nothing. */
START_TEST(tlv_ssl_client_bit)
{
	uint8_t tlv[64];
	size_t o = 0;

	put_ssl(tlv, &o, 0x01, NULL, 0);
	ck_assert_int_eq(tlvs_of(tlv, o).ssl, 1);
	o = 0;
	put_ssl(tlv, &o, 0x00, NULL, 0);
	ck_assert_int_eq(tlvs_of(tlv, o).ssl, 0);
	o = 0;
	put_ssl(tlv, &o, 0x06, NULL, 0);        /* certificate bits alone */
	ck_assert_int_eq(tlvs_of(tlv, o).ssl, 0);
	o = 0;
	put_tlv(tlv, &o, 0x20, "\x01\0\0\0", 4);
	ck_assert_int_eq(tlvs_of(tlv, o).ssl, 0);
	o = 0;
	put_tlv(tlv, &o, 0x20, "\x01", 1);
	ck_assert_int_eq(tlvs_of(tlv, o).ssl, 0);
}
END_TEST

/* Each value at its bound, and one byte over it: left out. */
START_TEST(tlv_bounds)
{
	static uint8_t tlv[1024], v[600];
	struct proxy_tlvs t;
	size_t o;

	memset(v, 'u', sizeof v);
	o = 0;
	put_tlv(tlv, &o, 0x05, v, PROXY_UNIQUE_ID_MAX);
	put_tlv(tlv, &o, 0x01, v, PROXY_ALPN_MAX);
	t = tlvs_of(tlv, o);
	ck_assert_uint_eq(strlen(t.unique_id), PROXY_UNIQUE_ID_MAX);
	ck_assert_uint_eq(strlen(t.alpn), PROXY_ALPN_MAX);
	o = 0;
	put_tlv(tlv, &o, 0x05, v, PROXY_UNIQUE_ID_MAX + 1);
	put_tlv(tlv, &o, 0x01, v, PROXY_ALPN_MAX + 1);
	t = tlvs_of(tlv, o);
	ck_assert_str_eq(t.unique_id, "");
	ck_assert_str_eq(t.alpn, "");
	/* An authority is a host name: 253 characters and a final dot. */
	for (size_t i = 63; i < 253; i += 64)
		v[i] = '.';
	v[253] = '.';
	o = 0;
	put_tlv(tlv, &o, 0x02, v, 254);
	ck_assert_uint_eq(strlen(tlvs_of(tlv, o).authority), 254);
	o = 0;
	put_tlv(tlv, &o, 0x02, v, 253);
	ck_assert_uint_eq(strlen(tlvs_of(tlv, o).authority), 253);
	v[253] = 'u';
	o = 0;
	put_tlv(tlv, &o, 0x02, v, 254);
	ck_assert_str_eq(tlvs_of(tlv, o).authority, "");
	o = 0;
	put_tlv(tlv, &o, 0x02, v, PROXY_AUTHORITY_MAX + 1);
	ck_assert_str_eq(tlvs_of(tlv, o).authority, "");
}
END_TEST

/* What an environment could not carry, or a program could be misled by,
 * is left out; the header and its other TLVs stand. */
START_TEST(tlv_bytes_left_out)
{
	static const struct { uint8_t type; const char *v; size_t n; } c[] = {
		{ 0x01, "h2\0x", 4 }, { 0x01, "h2\nX: 1", 7 }, { 0x01, "\x7f", 1 },
		{ 0x01, "h\x80", 2 }, { 0x01, "", 0 }, { 0x05, "id\r", 3 },
		{ 0x05, "\t", 1 }, { 0x02, "a/b", 3 }, { 0x02, "shop.example:443", 16 },
		{ 0x02, "a b", 3 }, { 0x02, ".", 1 }, { 0x02, "[::1", 4 },
		{ 0x02, "", 0 },
	};
	uint8_t tlv[128];

	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		struct proxy_tlvs t;
		size_t o = 0;

		put_tlv(tlv, &o, c[i].type, c[i].v, c[i].n);
		put_ssl(tlv, &o, 0x01, NULL, 0);
		t = tlvs_of(tlv, o);
		ck_assert_msg(!t.alpn[0] && !t.unique_id[0] && !t.authority[0],
		    "case %zu kept", i);
		ck_assert_int_eq(t.ssl, 1);
	}
}
END_TEST

START_TEST(tlv_blanks_and_punctuation_kept)
{
	uint8_t tlv[128];
	struct proxy_tlvs t;
	size_t o = 0;

	put_tlv(tlv, &o, 0x05, "a b:c_d/~!", 10);
	put_tlv(tlv, &o, 0x01, "acme-tls/1", 10);
	put_tlv(tlv, &o, 0x02, "xn--bcher-kva.example.", 22);
	t = tlvs_of(tlv, o);
	ck_assert_str_eq(t.unique_id, "a b:c_d/~!");
	ck_assert_str_eq(t.alpn, "acme-tls/1");
	ck_assert_str_eq(t.authority, "xn--bcher-kva.example.");
}
END_TEST

/* The first TLV of a kind counts, used or left out; other kinds (NOOP,
 * CRC32C, NETNS, a vendor's) are passed over. */
START_TEST(tlv_first_of_a_kind)
{
	uint8_t tlv[256];
	struct proxy_tlvs t;
	size_t o = 0;

	put_tlv(tlv, &o, 0x04, "", 0);
	put_tlv(tlv, &o, 0x03, "\1\2\3\4", 4);
	put_tlv(tlv, &o, 0x01, "h2", 2);
	put_tlv(tlv, &o, 0xEA, "vpce-0123", 9);
	put_tlv(tlv, &o, 0x01, "http/1.1", 8);
	put_tlv(tlv, &o, 0x02, "bad/name", 8);
	put_tlv(tlv, &o, 0x02, "good.example", 12);
	put_ssl(tlv, &o, 0x01, NULL, 0);
	put_ssl(tlv, &o, 0x00, NULL, 0);
	put_tlv(tlv, &o, 0x30, "netns", 5);
	t = tlvs_of(tlv, o);
	ck_assert_str_eq(t.alpn, "h2");
	ck_assert_str_eq(t.authority, "");
	ck_assert_int_eq(t.ssl, 1);
}
END_TEST

/* A TLV running past the header's length ends the list: those before it
 * count, and the header is still exactly its length. */
START_TEST(tlv_cut_short)
{
	uint8_t tlv[128];
	struct proxy_tlvs t;
	size_t o = 0;

	put_tlv(tlv, &o, 0x01, "h2", 2);
	tlv[o++] = 0x02;
	tlv[o++] = 0x00;
	tlv[o++] = 0x40;
	memcpy(tlv + o, "cut.example", 11);
	o += 11;
	t = tlvs_of(tlv, o);
	ck_assert_str_eq(t.alpn, "h2");
	ck_assert_str_eq(t.authority, "");
	/* One or two bytes left over: too few for a TLV. */
	o = 0;
	put_tlv(tlv, &o, 0x05, "id", 2);
	tlv[o++] = 0x01;
	tlv[o++] = 0x00;
	ck_assert_str_eq(tlvs_of(tlv, o).unique_id, "id");
}
END_TEST

/* LOCAL's block is discarded, TLVs included; v1 has none; UNSPEC and
 * UNIX under PROXY keep the socket's addresses but are read. */
START_TEST(tlv_where_read)
{
	uint8_t tlv[64], body[400], buf[500];
	struct proxy_header h;
	size_t o = 0, n;

	put_ssl(tlv, &o, 0x01, NULL, 0);
	put_tlv(tlv, &o, 0x01, "h2", 2);
	n = v2(buf, 0x20, 0x11, body, v2_inet_body(body, tlv, o));
	valid(buf, n, PROXY_V2, &h);
	ck_assert_int_eq(h.tlvs.ssl, 0);
	ck_assert_str_eq(h.tlvs.alpn, "");
	n = v2(buf, 0x21, 0x00, tlv, o);
	valid(buf, n, PROXY_V2, &h);
	ck_assert_int_eq(h.proxied, 0);
	ck_assert_int_eq(h.tlvs.ssl, 1);
	ck_assert_str_eq(h.tlvs.alpn, "h2");
	memset(body, 0, 216);
	memcpy(body + 216, tlv, o);
	n = v2(buf, 0x21, 0x31, body, 216 + o);
	valid(buf, n, PROXY_V2, &h);
	ck_assert_str_eq(h.tlvs.alpn, "h2");
	valid_str("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n", &h);
	ck_assert_int_eq(h.tlvs.ssl, 0);
	ck_assert_str_eq(h.tlvs.alpn, "");
}
END_TEST

/* ---- versions ------------------------------------------------------ */

START_TEST(versions_not_accepted)
{
	const char *v1 = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
	uint8_t buf[64], body[64];
	struct proxy_header h;
	size_t n = v2(buf, 0x21, 0x11, body, v2_inet_body(body, NULL, 0));

	ck_assert_int_eq(parse(buf, 1, PROXY_V1, &h), -1);
	ck_assert_int_eq(parse(buf, n, PROXY_V1, &h), -1);
	ck_assert_int_eq(parse(v1, 1, PROXY_V2, &h), -1);
	ck_assert_int_eq(parse(v1, strlen(v1), PROXY_V2, &h), -1);
	ck_assert_int_eq(parse(v1, strlen(v1), PROXY_ANY, &h), (int)strlen(v1));
	ck_assert_int_eq(parse(buf, n, PROXY_ANY, &h), (int)n);
	ck_assert_int_eq(parse(v1, strlen(v1), 0, &h), -1);
}
END_TEST

START_TEST(no_header)
{
	struct proxy_header h;

	ck_assert_int_eq(parse("", 0, PROXY_ANY, &h), 0);
	ck_assert_int_eq(parse("", 0, PROXY_V1, &h), 0);
	ck_assert_int_eq(parse("", 0, PROXY_V2, &h), 0);
	BAD("GET / HTTP/1.1\r\n\r\n");
	BAD("SSH-2.0-OpenSSH_9.2\r\n");
	BAD("\n");
	BAD("\r\n\r\nX");
	ck_assert_int_eq(parse("\0", 1, PROXY_ANY, &h), -1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *t1 = tcase_create("v1");
	TCase *t2 = tcase_create("v2");
	TCase *tv = tcase_create("versions");
	TCase *tt = tcase_create("tlv");

	tcase_add_test(t1, v1_tcp4);
	tcase_add_test(t1, v1_tcp6);
	tcase_add_test(t1, v1_longest);
	tcase_add_test(t1, v1_unknown);
	tcase_add_test(t1, v1_length_limit);
	tcase_add_test(t1, v1_never_ending);
	tcase_add_test(t1, v1_partial_is_pending);
	tcase_add_test(t1, v1_bad_words);
	tcase_add_test(t1, v1_line_ends);
	tcase_add_test(t1, v1_spaces);
	tcase_add_test(t1, v1_ports);
	tcase_add_test(t1, v1_addresses);
	tcase_add_test(t2, v2_inet);
	tcase_add_test(t2, v2_inet_tlvs);
	tcase_add_test(t2, v2_inet6);
	tcase_add_test(t2, v2_local);
	tcase_add_test(t2, v2_unspec);
	tcase_add_test(t2, v2_unix);
	tcase_add_test(t2, v2_longest);
	tcase_add_test(t2, v2_bad_signature);
	tcase_add_test(t2, v2_bad_version_command);
	tcase_add_test(t2, v2_bad_family);
	tcase_add_test(t2, v2_length_too_short);
	tcase_add_test(tt, tlv_tls_details);
	tcase_add_test(tt, tlv_ssl_client_bit);
	tcase_add_test(tt, tlv_bounds);
	tcase_add_test(tt, tlv_bytes_left_out);
	tcase_add_test(tt, tlv_blanks_and_punctuation_kept);
	tcase_add_test(tt, tlv_first_of_a_kind);
	tcase_add_test(tt, tlv_cut_short);
	tcase_add_test(tt, tlv_where_read);
	tcase_add_test(tv, versions_not_accepted);
	tcase_add_test(tv, no_header);
	suite_add_tcase(s, t1);
	suite_add_tcase(s, t2);
	suite_add_tcase(s, tt);
	suite_add_tcase(s, tv);
	return s;
}

UNIT_MAIN(suite)
