/* The Host header of a request (RFC 9110 7.2): which values are a host,
 * and which part of one SERVER_NAME gets. Pure: no I/O. */
#ifndef GATEWAY_HOST_H
#define GATEWAY_HOST_H

#include <stddef.h>

/* Checks a Host value (its blanks already trimmed): a host name (labels
 * of 1 to 63 letters, digits, '-' or '_', separated by dots, with one
 * final dot allowed, 253 characters at most), which covers an IPv4
 * address, or an IPv6 address in brackets; then optionally ':' and a
 * port of at most five digits, 65535 at most (or none: RFC 3986 allows
 * "host:"). An empty value is valid (RFC 9112 3.2, a target without an
 * authority). Returns 0 and sets *hostlen to the length of the host
 * part (brackets included), or -1. */
int host_split(const char *value, size_t *hostlen);

#endif
