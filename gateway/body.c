#include "body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "http.h"
#include "util.h"

#define BODY_BUF (64 * 1024)

struct body {
	uv_poll_t sockpoll;
	uv_poll_t pipepoll;
	struct child *child;            /* until it exits: then the body ends */
	int sock, pipe;                 /* our copy; the write end for stdin */
	struct http_chunked dec;
	size_t len, off;
	char out[BODY_BUF];
	int open;
};

static void body_closed(uv_handle_t *h)
{
	struct body *b = h->data;

	if (--b->open == 0)
		free(b);
}

/* The body has ended (or cannot go on): the child reads EOF. */
static void body_end(struct body *b)
{
	if (b->pipe < 0)
		return;
	if (b->child)
		b->child->on_end = NULL;
	b->child = NULL;
	/* The handles first: libuv takes a descriptor out of epoll by its
	 * number, and the socket lives on in the child or the relay. */
	uv_close((uv_handle_t *)&b->sockpoll, body_closed);
	uv_close((uv_handle_t *)&b->pipepoll, body_closed);
	close(b->pipe);
	close(b->sock);
	b->pipe = b->sock = -1;
}

static void on_sock_readable(uv_poll_t *h, int status, int events);

/* Writes what is decoded; 1 when all of it went, 0 when the pipe is
 * full, -1 when the child is gone. */
static int body_flush(struct body *b)
{
	return fd_write_some(b->pipe, 0, b->out, &b->off, &b->len);
}

static void body_pump(struct body *b);

static void on_pipe_writable(uv_poll_t *h, int status, int events)
{
	struct body *b = h->data;

	(void)events;
	if (status < 0) {
		body_end(b);
		return;
	}
	uv_poll_stop(&b->pipepoll);
	body_pump(b);
}

/* Reads the socket (never blocking: the child holds it too), decodes,
 * writes to the pipe, until the pipe is full, the socket empty, or the
 * body done. */
static void body_pump(struct body *b)
{
	char in[16 * 1024];

	for (;;) {
		int f = body_flush(b);
		ssize_t n;
		long used;
		size_t outn;

		if (f < 0 || (f > 0 && http_chunked_done(&b->dec))) {
			body_end(b);
			return;
		}
		if (f == 0) {
			uv_poll_stop(&b->sockpoll);
			uv_poll_start(&b->pipepoll, UV_WRITABLE, on_pipe_writable);
			return;
		}
		/* Peek, then consume only what the decoder takes: bytes after
		 * the body are not the gateway's. */
		n = recv(b->sock, in, sizeof in, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			uv_poll_start(&b->sockpoll, UV_READABLE, on_sock_readable);
			return;
		}
		if (n <= 0) {
			body_end(b);
			return;
		}
		outn = sizeof b->out;
		used = http_chunked_decode(&b->dec, in, (size_t)n, b->out, &outn);
		if (used < 0) {
			body_end(b);
			return;
		}
		if (used > 0 && recv(b->sock, in, (size_t)used, MSG_DONTWAIT) != used) {
			body_end(b);
			return;
		}
		b->len = outn;
		b->off = 0;
		if (used == 0 && outn == 0 && !http_chunked_done(&b->dec)) {
			uv_poll_start(&b->sockpoll, UV_READABLE, on_sock_readable);
			return;
		}
	}
}

static void on_sock_readable(uv_poll_t *h, int status, int events)
{
	struct body *b = h->data;

	(void)events;
	if (status < 0) {
		body_end(b);
		return;
	}
	body_pump(b);
}

/* The child is gone: nobody reads the pipe any more. */
static void on_child_end(void *arg)
{
	struct body *b = arg;

	b->child = NULL;
	body_end(b);
}

int body_start(uv_loop_t *loop, struct child *c, int sock, int pipefd)
{
	struct body *b = calloc(1, sizeof *b);

	if (!b)
		return -ENOMEM;
	b->child = c;
	c->on_end = on_child_end;
	c->on_end_arg = b;
	b->sock = sock;
	b->pipe = pipefd;
	fcntl(pipefd, F_SETFL, fcntl(pipefd, F_GETFL) | O_NONBLOCK);
	uv_poll_init(loop, &b->sockpoll, sock);
	fd_set_blocking(sock);
	uv_poll_init(loop, &b->pipepoll, pipefd);
	b->sockpoll.data = b->pipepoll.data = b;
	b->open = 2;
	body_pump(b);
	return 0;
}

