#include "chunked.h"

#include <string.h>

#include "http.h"

/* The chunked decoder's states (RFC 9112 7.1):
 *   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk = 1*"0" [ chunk-ext ] CRLF, trailer-section, CRLF */
enum {
	CH_SIZE0,       /* before the first hex digit of a size */
	CH_SIZE,        /* in the hex digits */
	CH_BWS,         /* blanks after the size: only ';' may follow */
	CH_EXT,         /* after ';', up to CR */
	CH_SIZE_LF,     /* CR seen on the size line */
	CH_DATA,
	CH_DATA_CR,     /* after the data: CR */
	CH_DATA_LF,
	CH_TRAILER,     /* at the start of a trailer line, or the final CRLF */
	CH_TNAME,       /* in a trailer field's name */
	CH_TVALUE,      /* after its ':', up to CR */
	CH_TLF,         /* CR seen at the end of a trailer field */
	CH_END_LF,      /* CR of the final empty line seen */
	CH_DONE,
	CH_ERROR,
};

#define CHUNK_LINE_MAX 4096
#define CHUNK_SIZE_MAX ((uint64_t)1 << 62)

/* One byte of framing (not data). Returns 0 or -1. */
static int chunk_step(struct http_chunked *c, unsigned char b)
{
	int h;

	if (c->state <= CH_SIZE_LF || (c->state >= CH_TNAME && c->state <= CH_TVALUE))
		if (++c->linelen > CHUNK_LINE_MAX)
			return -1;
	switch (c->state) {
	case CH_SIZE0:
	case CH_SIZE:
		if ((h = http_hexval(b)) >= 0) {
			if (c->left > (CHUNK_SIZE_MAX - (uint64_t)h) / 16)
				return -1;
			c->left = c->left * 16 + (uint64_t)h;
			c->state = CH_SIZE;
			return 0;
		}
		if (c->state == CH_SIZE0)
			return -1;
		/* FALLTHROUGH */
	case CH_BWS:
		if (b == ';')
			c->state = CH_EXT;
		else if (http_ows(b))
			c->state = CH_BWS;
		else if (b == '\r' && c->state == CH_SIZE)
			c->state = CH_SIZE_LF;
		else
			return -1;
		return 0;
	case CH_EXT:
		if (b == '\r')
			c->state = CH_SIZE_LF;
		else if (!http_field_char(b))
			return -1;
		return 0;
	case CH_SIZE_LF:
		if (b != '\n')
			return -1;
		c->linelen = 0;
		c->state = c->left ? CH_DATA : CH_TRAILER;
		return 0;
	case CH_DATA_CR:
		if (b != '\r')
			return -1;
		c->state = CH_DATA_LF;
		return 0;
	case CH_DATA_LF:
		if (b != '\n')
			return -1;
		c->state = CH_SIZE0;
		return 0;
	case CH_TRAILER:
		if (b == '\r') {
			c->state = CH_END_LF;
			return 0;
		}
		if (!http_tchar(b))
			return -1;
		c->linelen = 1;
		c->state = CH_TNAME;
		return 0;
	case CH_TNAME:
		if (b == ':')
			c->state = CH_TVALUE;
		else if (!http_tchar(b))
			return -1;
		return 0;
	case CH_TVALUE:
		if (b == '\r')
			c->state = CH_TLF;
		else if (!http_field_char(b))
			return -1;
		return 0;
	case CH_TLF:
		if (b != '\n')
			return -1;
		c->state = CH_TRAILER;
		return 0;
	case CH_END_LF:
		if (b != '\n')
			return -1;
		c->state = CH_DONE;
		return 0;
	}
	return -1;
}

long http_chunked_decode(struct http_chunked *c, const char *in, size_t inlen,
    char *out, size_t *outlen)
{
	size_t i = 0, o = 0, cap = *outlen;

	while (i < inlen && c->state != CH_DONE && c->state != CH_ERROR) {
		if (c->state == CH_DATA) {
			size_t n = inlen - i;

			if (n > c->left)
				n = (size_t)c->left;
			if (n > cap - o)
				n = cap - o;
			if (n == 0)
				break;          /* out is full */
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			c->left -= n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		if (chunk_step(c, (unsigned char)in[i]) < 0) {
			c->state = CH_ERROR;
			break;
		}
		i++;
	}
	*outlen = o;
	if (c->state == CH_ERROR)
		return -1;
	return (long)i;
}

int http_chunked_done(const struct http_chunked *c)
{
	return c->state == CH_DONE;
}
