/* A cgi route's response head (RFC 3875 6): the CGI header block the
 * program writes, checked and turned into an HTTP/1.1 status line and
 * header block. Pure: no I/O. */
#ifndef GATEWAY_CGI_H
#define GATEWAY_CGI_H

#include <stddef.h>

#define CGI_HEAD_MAX (16 * 1024)

struct cgi_response {
	int status;                     /* from Status:, or 302 with Location:, or 200 */
	char reason[64];                /* reason phrase (from Status: or the standard one) */
	int local_redirect;             /* Location: /path without Status: (RFC 3875 6.2.2) */
	int no_body;                    /* HEAD request, 204 or 304: no body is sent */
	long long content_length;       /* the Content-Length passed on, -1: none */
};

/* Parses the CGI header block at the start of buf (len bytes so far) and
 * writes the HTTP/1.1 head the client gets into out (at most outlen
 * bytes): "HTTP/1.1 <status> <reason>\r\n", the program's headers less
 * hop-by-hop ones (Connection, Transfer-Encoding, Keep-Alive), less
 * Status: and less a repeated Content-Length, then "Connection:
 * close\r\n\r\n". `head_request` is whether the request was HEAD.
 * r->content_length is the Content-Length the client is told (-1: none):
 * a relay passes on no more body than that. Returns:
 *   n > 0  the block is complete and n bytes long (blank line included):
 *          the body starts at buf[n]; *outn is the length written to out;
 *   0      incomplete (the caller answers 502 past CGI_HEAD_MAX or at EOF);
 *   -1     invalid: a bad header name, a CR, LF or NUL inside a value, a
 *          folded line, a bad Status:, no Content-Type/Location/Status at
 *          all, a Content-Length that is not a number or two that differ:
 *          the caller answers 502. */
int cgi_parse_response(const char *buf, size_t len, int head_request,
    struct cgi_response *r, char *out, size_t outlen, size_t *outn);

/* The standard reason phrase of a status code ("Not Found"), or "". */
const char *http_reason(int status);

#endif
