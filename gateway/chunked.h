/* A chunked request body (RFC 9112 7.1), decoded incrementally: the
 * gateway feeds the child's stdin through a pipe with what it yields
 * (body.c). Pure: bytes in, bytes out. */
#ifndef GATEWAY_CHUNKED_H
#define GATEWAY_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

struct http_chunked {
	int state;                      /* internal; zero to start */
	uint64_t left;                  /* bytes left in the current chunk */
	size_t linelen;                 /* internal: size/trailer line length */
};

/* Decodes in[0..inlen): the data bytes are written to out (at most
 * *outlen, which is set to the number written) and the number of input
 * bytes consumed is returned, never more than the chunked body has: the
 * bytes after the final CRLF are not consumed. Returns -1 for a malformed
 * body (bad size, missing CRLF, a size line over 4 KiB or a chunk size
 * over 2^62). http_chunked_done() tells when the last chunk and the
 * trailer have been read. Chunk extensions and trailer fields are
 * skipped. */
long http_chunked_decode(struct http_chunked *c, const char *in, size_t inlen,
    char *out, size_t *outlen);
int http_chunked_done(const struct http_chunked *c);

#endif
