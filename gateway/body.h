/* A request body the gateway feeds to a child's stdin through a pipe
 * that then ends: Content-Length bytes moved by the kernel (splice), or a
 * chunked body decoded; never blocking on either side, and consuming no
 * byte after the body. It ends when the body is done, when the child
 * exits or closes its stdin, or early (the client gone, a malformed
 * chunk): then the child is given up on before its stdin closes, so that
 * a cut body never looks complete. */
#ifndef GATEWAY_BODY_H
#define GATEWAY_BODY_H

#include <uv.h>

struct child;

/* Feeds child c's stdin pipe (write end pipefd) from sock, the gateway's
 * copy of the client's socket (both taken): `length` bytes, or a chunked
 * body when length < 0. 0, or -ENOMEM (nothing taken). */
int body_start(uv_loop_t *loop, struct child *c, int sock, int pipefd,
    long long length);

#endif
