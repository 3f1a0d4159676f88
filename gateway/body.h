/* A request body the gateway feeds to a child's stdin: a chunked body,
 * decoded from the socket into a pipe, without blocking on either side,
 * and consuming no byte after the body. It ends when the body is done,
 * when either side fails, or when the child exits. */
#ifndef GATEWAY_BODY_H
#define GATEWAY_BODY_H

#include <uv.h>

struct child;

/* Feeds child c's stdin pipe (write end pipefd) from sock, the gateway's
 * copy of the client's socket (both taken). 0, or -ENOMEM (nothing
 * taken). */
int body_start(uv_loop_t *loop, struct child *c, int sock, int pipefd);

#endif
