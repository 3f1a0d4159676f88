/* libFuzzer harness for the PROXY header parser. Besides surviving any
 * input, the parser must keep the promise its callers rely on to
 * consume bytes as they arrive: over growing prefixes of one input the
 * results are 0...0, then either n (first at length n, then forever) or
 * -1 forever; and what it keeps of a v2 header's TLVs must be text a
 * child's environment can carry, found inside the header. A broken
 * promise aborts, so the fuzzer reports it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "proxy.h"

/* Prefixes up to this length are all parsed, each from a heap copy of
 * exactly its size, so AddressSanitizer sees any read past the end. */
#define EXACT_PREFIXES 320

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A TLV's value as kept: NUL-terminated within its field, printable
 * ASCII, nothing a child's environment could not carry. */
static void check_text(const char *v, size_t cap)
{
	const char *end = memchr(v, '\0', cap);

	CHECK(end != NULL);
	for (; v < end; v++)
		CHECK(*v >= 0x20 && *v <= 0x7e);
}

static void check_tlvs(const uint8_t *buf, int n, const struct proxy_tlvs *t)
{
	size_t hn;

	CHECK(t->ssl == 0 || t->ssl == 1);
	check_text(t->authority, sizeof t->authority);
	check_text(t->alpn, sizeof t->alpn);
	check_text(t->unique_id, sizeof t->unique_id);
	if (t->authority[0])
		CHECK(host_split(t->authority, &hn) == 0 && hn == strlen(t->authority));
	/* Only a v2 header under the PROXY command has any, in its TLVs
	 * (at least one byte of type and two of length each). */
	if (buf[0] != 0x0D || (buf[12] & 0x0F) != 0x1)
		CHECK(!t->ssl && !t->authority[0] && !t->alpn[0] && !t->unique_id[0]);
	else
		CHECK(3 * (size_t)(t->ssl + !!t->authority[0] + !!t->alpn[0] +
		    !!t->unique_id[0]) + strlen(t->authority) + strlen(t->alpn) +
		    strlen(t->unique_id) + 5u * (size_t)t->ssl <= (size_t)n - 16);
}

/* What a complete header must look like, whatever the input was. */
static void check_header(const uint8_t *buf, int n, int versions,
    const struct proxy_header *h)
{
	CHECK(h->version == 1 || h->version == 2);
	CHECK(versions & (h->version == 1 ? PROXY_V1 : PROXY_V2));
	CHECK(h->proxied == 0 || h->proxied == 1);
	if (h->proxied) {
		CHECK(h->src.ss_family == AF_INET || h->src.ss_family == AF_INET6);
		CHECK(h->dst.ss_family == h->src.ss_family);
	}
	check_tlvs(buf, n, &h->tlvs);
	if (h->version == 1) {
		CHECK(buf[0] == 'P');
		CHECK(n >= 15 && n <= PROXY_V1_MAX);
		CHECK(buf[n - 2] == '\r' && buf[n - 1] == '\n');
		CHECK(memchr(buf, '\n', (size_t)n - 1) == NULL);
	} else {
		CHECK(buf[0] == 0x0D);
		CHECK(n >= 16 && n <= PROXY_V2_MAX);
		CHECK((size_t)n == 16u + be16(buf + 14));
	}
}

static int parse_exact(const uint8_t *data, size_t len, int versions,
    struct proxy_header *h)
{
	uint8_t *copy;
	int r;

	if (len > EXACT_PREFIXES)
		return proxy_parse(data, len, versions, h);
	copy = malloc(len ? len : 1);
	CHECK(copy != NULL);
	memcpy(copy, data, len);
	r = proxy_parse(copy, len, versions, h);
	free(copy);
	return r;
}

/* One prefix's result, checked against those of the shorter ones:
 * *state is 0 while pending, -1 after a refusal, n after a header. */
static void step(const uint8_t *data, size_t i, int versions, int *state)
{
	struct proxy_header h;
	int r = parse_exact(data, i, versions, &h);

	CHECK(r >= -1 && (r < 0 || (size_t)r <= i));
	if (*state != 0) {
		CHECK(r == *state);
		return;
	}
	if (r > 0) {
		CHECK((size_t)r == i || i > EXACT_PREFIXES);
		check_header(data, r, versions, &h);
	}
	*state = r;
}

static int prefixes(const uint8_t *data, size_t len, int versions)
{
	int state = 0;
	size_t i;

	for (i = 0; i <= len && i <= EXACT_PREFIXES; i++)
		step(data, i, versions, &state);
	/* Past that, a v2 body: only its last byte decides. */
	if (len > EXACT_PREFIXES) {
		if (state == 0 && len > 16)
			step(data, len - 1, versions, &state);
		step(data, len, versions, &state);
	}
	return state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	int v1 = prefixes(data, size, PROXY_V1);
	int v2 = prefixes(data, size, PROXY_V2);
	int any = prefixes(data, size, PROXY_ANY);

	/* The first byte alone picks the version. */
	if (size == 0)
		CHECK(v1 == 0 && v2 == 0 && any == 0);
	else if (data[0] == 'P')
		CHECK(any == v1 && v2 == -1);
	else if (data[0] == 0x0D)
		CHECK(any == v2 && v1 == -1);
	else
		CHECK(any == -1 && v1 == -1 && v2 == -1);
	CHECK(proxy_parse(data, size, 0, &h) == (size ? -1 : 0));
	return 0;
}
