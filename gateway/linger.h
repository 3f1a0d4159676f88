/* Closing a connection the gateway answered itself (a refusal) without
 * losing the answer: our side is shut, and what the client still sends is
 * read away for up to 2 s, so that the close is a FIN, not a reset that
 * would destroy the answer in the client's kernel. */
#ifndef GATEWAY_LINGER_H
#define GATEWAY_LINGER_H

#include <uv.h>

/* Takes fd (and closes it in every case). No other handle may poll fd
 * any more: libuv watches a descriptor with one handle at a time, so the
 * caller stops its own first (uv_poll_stop or uv_close). */
void linger_close(uv_loop_t *loop, int fd);

#endif
