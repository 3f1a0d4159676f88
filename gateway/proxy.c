/* The HAProxy PROXY protocol, versions 1 and 2, as HAProxy's
 * proxy-protocol.txt specifies them. Pure parsing: the caller reads.
 *
 * Every check is made on the bytes already there, so that a header
 * that can no longer become valid is refused at the first byte that
 * shows it, and a prefix of a valid header never is: the results over
 * growing prefixes of any input are 0...0 then either n (from length n
 * on) or -1 for good. The fuzzer holds the parser to exactly that. */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "host.h"

#define PENDING 0
#define BAD (-1)

/* ------------------------------------------------------------------ */
/* Shared */

/* Compares the bytes there are with a literal: 1 when all of it is
 * there, 0 when what there is matches its beginning, -1 otherwise. */
static int match_lit(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	size_t m = len < n ? len : n;

	if (memcmp(p, lit, m) != 0)
		return -1;
	return len >= n;
}

static void set_in(struct sockaddr_storage *ss, const void *addr,
    unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof *ss);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	memcpy(&sin->sin_addr, addr, sizeof sin->sin_addr);
}

static void set_in6(struct sockaddr_storage *ss, const void *addr,
    unsigned port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	memcpy(&sin6->sin6_addr, addr, sizeof sin6->sin6_addr);
}

/* ------------------------------------------------------------------ */
/* Version 1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or
 * "PROXY UNKNOWN[ anything]\r\n", at most 107 bytes. */

#define V1_ADDR4_MAX 15         /* 255.255.255.255 */
#define V1_ADDR6_MAX 45         /* INET6_ADDRSTRLEN - 1: x:x:x:x:x:x:d.d.d.d */
#define V1_PORT_MAX 5

enum v1_field { V1_SRC, V1_DST, V1_SPORT, V1_DPORT, V1_NFIELDS };

static int v1_addr_char(int family, uint8_t c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (c == '.')
		return 1;
	return family == AF_INET6 && (c == ':' ||
	    (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* An address field: the characters and length checks hold for every
 * prefix of a valid one; inet_pton, which wants the whole text, only
 * once the field has ended. inet_pton is the spec's "canonical form"
 * as far as it matters to us: glibc's refuses v4 leading zeros (no
 * octal confusion) and anything but four dotted parts. */
static int v1_addr(int family, const uint8_t *p, size_t n, int ended,
    void *out)
{
	char text[V1_ADDR6_MAX + 1];
	size_t max = family == AF_INET ? V1_ADDR4_MAX : V1_ADDR6_MAX;

	if (n > max)
		return BAD;
	for (size_t i = 0; i < n; i++)
		if (!v1_addr_char(family, p[i]))
			return BAD;
	if (!ended)
		return PENDING;
	memcpy(text, p, n);
	text[n] = '\0';
	return inet_pton(family, text, out) == 1 ? 1 : BAD;
}

/* A port: decimal 0..65535. The spec forbids leading zeros ("to avoid
 * any possible confusion with octal numbers"), so "0" is a port and
 * "080" is not; neither is "+80". Value and leading zero are checked
 * on every prefix: more digits only make either worse. */
static int v1_port(const uint8_t *p, size_t n, int ended, unsigned *out)
{
	unsigned v = 0;

	if (n > V1_PORT_MAX || (n > 1 && p[0] == '0'))
		return BAD;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return BAD;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > 65535)
		return BAD;
	*out = v;
	return ended ? 1 : PENDING;
}

struct v1_addrs {
	unsigned char src[16], dst[16];
	unsigned sport, dport;
};

static int v1_field(int family, enum v1_field f, const uint8_t *p, size_t n,
    int ended, struct v1_addrs *a)
{
	switch (f) {
	case V1_SRC:
		return v1_addr(family, p, n, ended, a->src);
	case V1_DST:
		return v1_addr(family, p, n, ended, a->dst);
	case V1_SPORT:
		return v1_port(p, n, ended, &a->sport);
	default:
		return v1_port(p, n, ended, &a->dport);
	}
}

/* The four fields after "TCP4 " or "TCP6 ", separated by exactly one
 * space. `complete`: the line ends where the bytes end (its CR is
 * there), so the last field has ended and all four must be there. */
static int v1_tcp(int family, const uint8_t *p, size_t len, int complete,
    struct proxy_header *h)
{
	struct v1_addrs a;
	size_t start = 0;

	memset(&a, 0, sizeof a);
	for (int f = 0;; f++) {
		const uint8_t *sp = memchr(p + start, ' ', len - start);
		size_t end = sp ? (size_t)(sp - p) : len;
		int ended = sp != NULL || complete;
		int r;

		if (end == start && ended)
			return BAD;     /* two spaces, or a trailing one */
		if (sp && f == V1_DPORT)
			return BAD;     /* a fifth field */
		r = v1_field(family, (enum v1_field)f, p + start, end - start,
		    ended, &a);
		if (r != 1)
			return r;       /* bad, or the bytes end in this field */
		if (!sp) {
			if (f != V1_DPORT)
				return BAD;     /* the line ends too soon */
			break;
		}
		start = end + 1;
	}
	h->proxied = 1;
	if (family == AF_INET) {
		set_in(&h->src, a.src, a.sport);
		set_in(&h->dst, a.dst, a.dport);
	} else {
		set_in6(&h->src, a.src, a.sport);
		set_in6(&h->dst, a.dst, a.dport);
	}
	return 1;
}

/* The line without its CRLF: `len` bytes of it, all of it when
 * `complete`. Returns 1 when it is a valid line, 0 when what there is
 * could still begin one, -1 otherwise. */
static int v1_line(const uint8_t *p, size_t len, int complete,
    struct proxy_header *h)
{
	static const char *const protos[] = { "TCP4 ", "TCP6 ", "UNKNOWN" };
	int r = match_lit(p, len, "PROXY ");
	int any = 0;

	if (r != 1)
		return r < 0 || complete ? BAD : PENDING;
	p += 6;
	len -= 6;
	for (size_t i = 0; i < sizeof protos / sizeof *protos; i++) {
		r = match_lit(p, len, protos[i]);
		if (r == 0)
			any = 1;
		if (r != 1)
			continue;
		if (i == 2) {
			/* UNKNOWN: the spec says to ignore the rest of the
			 * line, but "UNKNOWNX" is not the word UNKNOWN. */
			if (len > 7 && p[7] != ' ')
				return BAD;
			h->proxied = 0;
			return complete ? 1 : PENDING;
		}
		return v1_tcp(i == 0 ? AF_INET : AF_INET6, p + 5, len - 5,
		    complete, h);
	}
	return any && !complete ? PENDING : BAD;
}

/* Finds the end of the line within the 107 bytes the spec allows. A
 * bare LF, or a CR followed by anything but LF, is not a line end this
 * protocol knows, and no byte of a line may be either. */
static int v1_parse(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	size_t limit = len < PROXY_V1_MAX - 1 ? len : PROXY_V1_MAX - 1;
	size_t e = 0;
	int r;

	while (e < limit && buf[e] != '\r' && buf[e] != '\n')
		e++;
	if (e == limit) {
		/* No CR in the first 106 bytes: no room left for CRLF. */
		if (len >= PROXY_V1_MAX - 1)
			return BAD;
		return v1_line(buf, len, 0, h) < 0 ? BAD : PENDING;
	}
	if (buf[e] == '\n')
		return BAD;
	if (e + 1 < len && buf[e + 1] != '\n')
		return BAD;
	r = v1_line(buf, e, 1, h);
	if (r < 0)
		return BAD;
	if (e + 1 == len)
		return PENDING;         /* the line is whole but for its LF */
	h->version = 1;
	return (int)(e + 2);
}

/* ------------------------------------------------------------------ */
/* Version 2: a 16-byte binary preamble, then `len` bytes of addresses
 * and TLVs. */

static const uint8_t v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

#define V2_PREAMBLE 16
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1

/* The family/transport byte's values the spec defines; it says any
 * other "must be rejected as invalid by receivers". */
#define V2_UNSPEC 0x00
#define V2_TCP4 0x11
#define V2_UDP4 0x12
#define V2_TCP6 0x21
#define V2_UDP6 0x22
#define V2_UNIX_STREAM 0x31
#define V2_UNIX_DGRAM 0x32

#define V2_LEN_INET 12          /* 4 + 4 + 2 + 2 */
#define V2_LEN_INET6 36         /* 16 + 16 + 2 + 2 */
#define V2_LEN_UNIX 216         /* 108 + 108 */

static int v2_fam_known(uint8_t fam)
{
	return fam == V2_UNSPEC || fam == V2_TCP4 || fam == V2_UDP4 ||
	    fam == V2_TCP6 || fam == V2_UDP6 || fam == V2_UNIX_STREAM ||
	    fam == V2_UNIX_DGRAM;
}

/* The address block a PROXY command needs for its family, or -1 for a
 * family we refuse: datagram transports (a UDP client's header on a
 * stream connection is a proxy misconfigured) and undefined values.
 * LOCAL ignores the family (the spec: "discard the protocol block
 * including the family"), so only a known value is asked of it. */
static int v2_addr_len(uint8_t cmd, uint8_t fam)
{
	if (cmd == V2_CMD_LOCAL)
		return v2_fam_known(fam) ? 0 : -1;
	switch (fam) {
	case V2_UNSPEC:
		return 0;
	case V2_TCP4:
		return V2_LEN_INET;
	case V2_TCP6:
		return V2_LEN_INET6;
	case V2_UNIX_STREAM:
		return V2_LEN_UNIX;
	default:
		return -1;
	}
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Only TCP over v4 or v6 under a PROXY command names the client: the
 * others keep the socket's addresses (SPEC: LOCAL, UNSPEC, UNIX). */
static void v2_addrs(uint8_t cmd, uint8_t fam, const uint8_t *a,
    struct proxy_header *h)
{
	h->proxied = 0;
	if (cmd != V2_CMD_PROXY)
		return;
	if (fam == V2_TCP4) {
		set_in(&h->src, a, be16(a + 8));
		set_in(&h->dst, a + 4, be16(a + 10));
		h->proxied = 1;
	} else if (fam == V2_TCP6) {
		set_in6(&h->src, a, be16(a + 32));
		set_in6(&h->dst, a + 16, be16(a + 34));
		h->proxied = 1;
	}
}

/* The TLVs after the address block (the specification's 2.2): a type, a
 * 16-bit length, the value. Read once the whole header is there, and
 * only for what a child is told; the header's length alone says where
 * the client's bytes start, so nothing here refuses a header. */

#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_UNIQUE_ID 0x05
#define PP2_TYPE_SSL 0x20
#define PP2_CLIENT_SSL 0x01
#define PP2_SSL_FIXED 5         /* the SSL value's client byte and verify word */

/* A value an environment can carry as it is: 1 to cap - 1 bytes of
 * printable ASCII. A NUL would cut it, a control byte (a newline) could
 * forge a line in whatever the program writes it to. */
static int v2_text(char *out, size_t cap, const uint8_t *v, size_t n)
{
	if (n == 0 || n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return 0;
	memcpy(out, v, n);
	out[n] = '\0';
	return 1;
}

/* The authority becomes SSL_TLS_SNI, which programs treat as they treat
 * SERVER_NAME: a host name or nothing, as a Host header must be. */
static void v2_authority(struct proxy_tlvs *t, const uint8_t *v, size_t n)
{
	size_t hn;

	if (v2_text(t->authority, sizeof t->authority, v, n) &&
	    (host_split(t->authority, &hn) < 0 || hn != n))
		t->authority[0] = '\0';
}

static void v2_tlv(uint8_t type, const uint8_t *v, size_t n,
    struct proxy_tlvs *t)
{
	switch (type) {
	case PP2_TYPE_ALPN:
		v2_text(t->alpn, sizeof t->alpn, v, n);
		break;
	case PP2_TYPE_AUTHORITY:
		v2_authority(t, v, n);
		break;
	case PP2_TYPE_UNIQUE_ID:
		v2_text(t->unique_id, sizeof t->unique_id, v, n);
		break;
	case PP2_TYPE_SSL:
		/* Its sub-TLVs (version, cipher, ...) are not read. */
		if (n >= PP2_SSL_FIXED)
			t->ssl = (v[0] & PP2_CLIENT_SSL) != 0;
		break;
	}
}

/* One bit for each kind read, 0 for the others (NOOP, CRC32C, NETNS,
 * a vendor's), which are passed over. */
static unsigned v2_kind(uint8_t type)
{
	switch (type) {
	case PP2_TYPE_ALPN:
		return 1;
	case PP2_TYPE_AUTHORITY:
		return 2;
	case PP2_TYPE_UNIQUE_ID:
		return 4;
	case PP2_TYPE_SSL:
		return 8;
	}
	return 0;
}

static void v2_tlvs(const uint8_t *p, size_t n, struct proxy_tlvs *t)
{
	unsigned seen = 0;

	while (n >= 3) {
		size_t vlen = be16(p + 1);
		unsigned kind = v2_kind(p[0]);

		if (vlen > n - 3)
			return;         /* cut short by the header's length */
		/* The first of a kind counts, used or left out. */
		if (kind && !(seen & kind)) {
			seen |= kind;
			v2_tlv(p[0], p + 3, vlen, t);
		}
		p += 3 + vlen;
		n -= 3 + vlen;
	}
}

static int v2_parse(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	size_t m = len < sizeof v2_sig ? len : sizeof v2_sig;
	uint8_t cmd, fam;
	size_t total;
	int need;

	if (memcmp(buf, v2_sig, m) != 0)
		return BAD;
	if (len <= 12)
		return PENDING;
	if ((buf[12] >> 4) != 2)
		return BAD;
	cmd = buf[12] & 0x0F;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return BAD;
	if (len <= 13)
		return PENDING;
	fam = buf[13];
	need = v2_addr_len(cmd, fam);
	if (need < 0)
		return BAD;
	if (len < V2_PREAMBLE)
		return PENDING;
	/* The length counts the addresses and any TLVs after them: the
	 * TLVs are consumed with the header whatever they hold. */
	if (be16(buf + 14) < need)
		return BAD;
	total = V2_PREAMBLE + be16(buf + 14);
	if (len < total)
		return PENDING;
	v2_addrs(cmd, fam, buf + V2_PREAMBLE, h);
	if (cmd == V2_CMD_PROXY)
		v2_tlvs(buf + V2_PREAMBLE + need, total - V2_PREAMBLE - (size_t)need,
		    &h->tlvs);
	h->version = 2;
	return (int)total;
}

/* ------------------------------------------------------------------ */

int proxy_parse(const uint8_t *buf, size_t len, int versions,
    struct proxy_header *h)
{
	struct proxy_header tmp;
	int n;

	if (len == 0)
		return PENDING;
	/* The first byte tells the versions apart: 'P' of "PROXY" against
	 * the CR that begins v2's signature. */
	memset(&tmp, 0, sizeof tmp);
	if (buf[0] == 'P' && (versions & PROXY_V1))
		n = v1_parse(buf, len, &tmp);
	else if (buf[0] == v2_sig[0] && (versions & PROXY_V2))
		n = v2_parse(buf, len, &tmp);
	else
		n = BAD;
	if (n > 0)
		*h = tmp;
	return n;
}
