/* HTTP/1.x request heads for cgi and nph routes (RFC 9112, RFC 3875):
 * parsing, path normalisation, route matching. Pure: no I/O. */
#ifndef GATEWAY_HTTP_H
#define GATEWAY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX (16 * 1024)
#define HTTP_MAX_HEADERS 100

struct http_header {
	const char *name, *value;       /* NUL-terminated, inside head */
};

struct http_request {
	const char *method;             /* "GET", ... (token) */
	const char *target;             /* the raw request-target, as sent */
	const char *query;              /* after '?', "" if none */
	char path[HTTP_HEAD_MAX];       /* decoded once, dot segments removed */
	int minor;                      /* HTTP/1.minor: 0 or 1 */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	long long content_length;       /* -1: none */
	int chunked;                    /* Transfer-Encoding: chunked */
	int expect_continue;            /* Expect: 100-continue (1.1 only) */
	char head[HTTP_HEAD_MAX];       /* the head's bytes, cut into the strings above */
};

/* Finds the line starting at buf[off]: returns 1 with *p and *n its
 * bytes (without the LF or CRLF that ends it) and *next the offset after
 * its LF, or 0 when no LF has come yet. */
int http_line(const char *buf, size_t len, size_t off, const char **p,
    size_t *n, size_t *next);

/* Parses the head at the start of buf (len bytes so far), which stays
 * as it came: a complete head is copied into req->head. Returns:
 *   n > 0  the head is complete and n bytes long, CRLFCRLF (or LFLF)
 *          included: the body starts at buf[n]; *req is filled;
 *   0      incomplete: every one of the len bytes is head, more needed
 *          (the caller answers 431 once HTTP_HEAD_MAX bytes have come
 *          with no end);
 *   -status  an error the gateway answers: -400 for a bad request line,
 *          header, path (%00, a control byte, a dot segment above /),
 *          two Host headers or one that is not a host (host.h),
 *          conflicting/duplicate Content-Length or both Content-Length
 *          and Transfer-Encoding; -404 for an encoded '/' (%2F) in the
 *          path; -431 for too many headers; -501 for a transfer coding
 *          other than chunked; -505 for a version other than HTTP/1.x. */
int http_parse_head(const char *buf, size_t len, struct http_request *req);

/* Decodes %XX once and removes "." and ".." segments (RFC 3986 5.2.4)
 * from an absolute path (no query). Returns 0, -400 or -404 as above. */
int http_normalize_path(const char *raw, size_t len, char *out, size_t outlen);

/* Whether a route's path prefix serves a path: on whole segments ("/hi"
 * serves "/hi" and "/hi/x", not "/hiya"; "/" serves everything). Returns
 * the prefix length to cut for PATH_INFO (0 for "/"), or -1. */
int http_prefix_match(const char *prefix, const char *path);

/* tchar (RFC 9110 5.6.2): a byte of a token, such as a header name;
 * and OWS, the blanks around a field value. */
int http_tchar(unsigned char c);
int http_ows(unsigned char c);

/* A byte a field value may hold (VCHAR, obs-text, blanks); a hex
 * digit's value, or -1. */
int http_field_char(unsigned char c);
int http_hexval(unsigned char c);

/* The value of the first header with this name (case-insensitive), or
 * NULL. */
const char *http_header(const struct http_request *req, const char *name);

#endif
