#include "body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "chunked.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define BODY_BUF (64 * 1024)

enum step { MORE, WAIT_SOCK, WAIT_PIPE, DONE, CHILD_GONE };

struct body {
	uv_poll_t sockpoll;
	uv_poll_t pipepoll;
	struct conn *conn;              /* held */
	struct child *child;            /* until it exits: then the body ends */
	int sock, pipe;                 /* our copy; the write end for stdin */
	int chunked;
	struct http_chunked dec;        /* chunked */
	unsigned long long left;        /* Content-Length: bytes still to come */
	int copy;                       /* splice cannot take this socket */
	size_t len, off;                /* decoded or copied, not yet written */
	char out[BODY_BUF];
	int open;
};

static void body_closed(uv_handle_t *h)
{
	struct body *b = h->data;

	if (--b->open == 0) {
		conn_release(b->conn);
		free(b);
	}
}

/* The body has ended, or the child reads no more: it reads EOF. Or it
 * ended early (why: the client closed or reset its side, or sent a
 * malformed chunk), and must not look complete to the program: its
 * group is ended before its stdin closes, and a cgi route's client gets
 * 400 unless its response has begun. */
static void body_end(struct body *b, const char *why)
{
	if (b->pipe < 0)
		return;
	if (why) {
		conn_event(b->conn, "body_error", why);
		b->conn->body_error = 400;
		if (b->child)
			child_give_up(b->child, "body");
	}
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

/* Nothing seemed to wait in the socket: EOF or a reset ends the body
 * early; bytes that came meanwhile are read on. */
static enum step socket_empty(struct body *b)
{
	char c;
	ssize_t n = recv(b->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0 || (n < 0 && errno == EINTR))
		return MORE;
	if (n < 0 && errno == EAGAIN)
		return WAIT_SOCK;
	body_end(b, n == 0 ? "closed" : "reset");
	return DONE;
}

/* Content-Length bytes, moved from the socket into the pipe by the
 * kernel (splice). A socket a child shares stays blocking, and splice
 * from a blocking socket blocks whatever SPLICE_F_NONBLOCK says: no more
 * is asked for than FIONREAD says is there. */
static enum step move_length(struct body *b)
{
	int avail = 0;
	size_t want;
	ssize_t n;

	if (b->left == 0)
		return DONE;
	if (ioctl(b->sock, FIONREAD, &avail) < 0 || avail <= 0)
		return socket_empty(b);
	want = (unsigned long long)avail < b->left ? (size_t)avail : (size_t)b->left;
	if (b->copy) {
		if (want > sizeof b->out)
			want = sizeof b->out;
		n = recv(b->sock, b->out, want, MSG_DONTWAIT);
		if (n <= 0)
			return n < 0 && errno == EINTR ? MORE : socket_empty(b);
		b->len = (size_t)n;
		b->off = 0;
	} else {
		n = splice(b->sock, NULL, b->pipe, NULL, want,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			return MORE;
		if (n < 0 && errno == EAGAIN)
			return WAIT_PIPE;
		if (n < 0 && errno == EPIPE)
			return CHILD_GONE;
		if (n < 0 && errno == EINVAL) {
			b->copy = 1; /* a socket splice cannot read */
			return MORE;
		}
		if (n <= 0)
			return socket_empty(b);
	}
	b->left -= (unsigned long long)n;
	return MORE;
}

/* A chunked body, decoded: peek, then consume only what the decoder
 * takes (bytes after the body are not the gateway's). */
static enum step decode_chunked(struct body *b)
{
	char in[16 * 1024];
	size_t outn = sizeof b->out;
	ssize_t n;
	long used;

	if (http_chunked_done(&b->dec))
		return DONE;
	n = recv(b->sock, in, sizeof in, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && errno == EINTR)
		return MORE;
	if (n <= 0)
		return socket_empty(b);
	used = http_chunked_decode(&b->dec, in, (size_t)n, b->out, &outn);
	if (used < 0) {
		body_end(b, "malformed");
		return DONE;
	}
	if (used > 0 && recv(b->sock, in, (size_t)used, MSG_DONTWAIT) != used) {
		body_end(b, "reset");
		return DONE;
	}
	b->len = outn;
	b->off = 0;
	if (used == 0 && outn == 0 && !http_chunked_done(&b->dec))
		return WAIT_SOCK; /* part of a chunk line: more must come */
	return MORE;
}

static void on_sock_readable(uv_poll_t *h, int status, int events);
static void on_pipe_writable(uv_poll_t *h, int status, int events);

/* Moves the body on until the pipe is full, the socket empty, or the
 * body done; never blocking. */
static void body_pump(struct body *b)
{
	for (;;) {
		int f = fd_write_some(b->pipe, 0, b->out, &b->off, &b->len);
		enum step st;

		if (f < 0) {
			st = CHILD_GONE;
		} else if (f == 0) {
			st = WAIT_PIPE;
		} else {
			st = b->chunked ? decode_chunked(b) : move_length(b);
			if (b->pipe < 0)
				return; /* ended early */
		}
		switch (st) {
		case MORE:
			continue;
		case WAIT_SOCK:
			uv_poll_stop(&b->pipepoll);
			uv_poll_start(&b->sockpoll, UV_READABLE, on_sock_readable);
			return;
		case WAIT_PIPE:
			uv_poll_stop(&b->sockpoll);
			uv_poll_start(&b->pipepoll, UV_WRITABLE, on_pipe_writable);
			return;
		case DONE:
			if (b->len)
				continue; /* the last decoded bytes first */
			body_end(b, NULL);
			return;
		case CHILD_GONE:
			/* The program closed its stdin: it wants no more. */
			body_end(b, NULL);
			return;
		}
	}
}

static void on_pipe_writable(uv_poll_t *h, int status, int events)
{
	struct body *b = h->data;

	(void)events;
	if (status < 0) {
		body_end(b, NULL);
		return;
	}
	body_pump(b);
}

static void on_sock_readable(uv_poll_t *h, int status, int events)
{
	struct body *b = h->data;

	(void)events;
	if (status < 0) {
		body_end(b, "reset");
		return;
	}
	body_pump(b);
}

/* The child is gone: nobody reads the pipe any more. */
static void on_child_end(void *arg)
{
	struct body *b = arg;

	b->child = NULL;
	body_end(b, NULL);
}

int body_start(uv_loop_t *loop, struct child *c, int sock, int pipefd,
    long long length)
{
	struct body *b = calloc(1, sizeof *b);

	if (!b)
		return -ENOMEM;
	b->conn = c->conn;
	conn_hold(b->conn);
	b->child = c;
	c->on_end = on_child_end;
	c->on_end_arg = b;
	b->sock = sock;
	b->pipe = pipefd;
	b->chunked = length < 0;
	b->left = length < 0 ? 0 : (unsigned long long)length;
	fcntl(pipefd, F_SETFL, fcntl(pipefd, F_GETFL) | O_NONBLOCK);
	uv_poll_init(loop, &b->sockpoll, sock);
	fd_set_blocking(sock);
	uv_poll_init(loop, &b->pipepoll, pipefd);
	b->sockpoll.data = b->pipepoll.data = b;
	b->open = 2;
	body_pump(b);
	return 0;
}
