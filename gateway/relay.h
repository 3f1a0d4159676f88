/* A cgi program's response: its stdout is a pipe the gateway reads; the
 * header block is checked and becomes an HTTP/1.1 status line and
 * headers, then the body goes through untouched, never faster than the
 * client takes it. A program that never writes a valid header block (in
 * time) is a 502. */
#ifndef GATEWAY_RELAY_H
#define GATEWAY_RELAY_H

#include <uv.h>

#include "conn.h"

/* Reads the child's stdout (read end `outfd`) and answers on `sock`, the
 * gateway's copy of the client's socket (both taken); holds c until
 * done. 0, or -ENOMEM (nothing taken). */
int relay_start(uv_loop_t *loop, struct conn *c, int sock, int outfd,
    int head_request);

#endif
