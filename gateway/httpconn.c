#include "httpconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgi.h"
#include "child.h"
#include "linger.h"
#include "log.h"
#include "refuse.h"
#include "util.h"

#define CGI_HEAD_MS 30000       /* a cgi program's header block, without timeout */
#define RELAY_BUF (64 * 1024)

/* ---- a cgi program's response ---- */

struct relay {
	uv_pipe_t out;                  /* the child's stdout */
	uv_poll_t sockpoll;             /* the client, while it cannot take more */
	uv_timer_t timer;               /* the header block's bound */
	uv_loop_t *loop;
	struct conn *conn;              /* held */
	int sock;                       /* our copy of the client's socket */
	int head_request;
	int in_body, no_body, status;
	unsigned long long bytes;
	size_t len, off;                /* head bytes, or body bytes to send */
	char buf[RELAY_BUF];
	int open;                       /* handles not yet closed */
};

static void relay_closed(uv_handle_t *h)
{
	struct relay *r = h->data;

	if (--r->open == 0) {
		conn_release(r->conn);
		free(r);
	}
}

static void log_response(struct relay *r)
{
	struct logline l;

	log_begin(&l, "response");
	conn_log_fields(&l, r->conn);
	log_int(&l, "status", r->status);
	log_uint(&l, "bytes", r->bytes);
	log_end(&l);
}

/* Ends the relay: the client gets a FIN (the child may still hold the
 * socket as stdin) or, on error before any byte, an error answer. */
static void relay_end(struct relay *r, int error_status)
{
	if (r->sock < 0)
		return;
	/* Our handle on the socket goes before the socket goes on to linger
	 * (one handle polls a descriptor at a time). */
	uv_close((uv_handle_t *)&r->sockpoll, relay_closed);
	if (error_status && !r->in_body) {
		answer_http(r->loop, r->conn, r->sock, error_status);
	} else {
		if (r->in_body)
			log_response(r);
		linger_close(r->loop, r->sock);
	}
	r->sock = -1;
	uv_close((uv_handle_t *)&r->out, relay_closed);
	uv_close((uv_handle_t *)&r->timer, relay_closed);
}

static void on_out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);
static void on_out_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);

/* Writes buf[*off..len) without blocking: to a socket with MSG_DONTWAIT
 * (a child shares it, in blocking mode), else to our non-blocking pipe
 * end. 1 when all of it went (and *off, *len are reset), 0 when the
 * other side is full, -1 on error. */
static int write_out(int fd, int sock, const char *buf, size_t *off, size_t *len)
{
	while (*off < *len) {
		ssize_t n = sock ? send(fd, buf + *off, *len - *off, MSG_DONTWAIT | MSG_NOSIGNAL)
		    : write(fd, buf + *off, *len - *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		*off += (size_t)n;
	}
	*len = *off = 0;
	return 1;
}

/* Sends what is buffered; when the client is full the pipe waits until
 * it takes more. */
static int flush(struct relay *r)
{
	return write_out(r->sock, 1, r->buf, &r->off, &r->len);
}

static void on_sock_writable(uv_poll_t *h, int status, int events)
{
	struct relay *r = h->data;
	int f;

	(void)events;
	f = status < 0 ? -1 : flush(r);
	if (f < 0) {
		relay_end(r, 0);
	} else if (f > 0) {
		uv_poll_stop(&r->sockpoll);
		uv_read_start((uv_stream_t *)&r->out, on_out_alloc, on_out_read);
	}
}

static void relay_send(struct relay *r)
{
	int f = flush(r);

	if (f < 0) {
		relay_end(r, 0);
	} else if (f == 0) {
		uv_read_stop((uv_stream_t *)&r->out);
		uv_poll_start(&r->sockpoll, UV_WRITABLE, on_sock_writable);
	}
}

/* The header block is complete: the client gets an HTTP/1.1 head, then
 * whatever body bytes came with it. */
static void relay_head(struct relay *r)
{
	struct cgi_response resp;
	char head[2 * CGI_HEAD_MAX]; /* LF becomes CRLF, "a:b" "a: b" */
	size_t headlen;
	int n = cgi_parse_response(r->buf, r->len, r->head_request, &resp,
	    head, sizeof head, &headlen);

	if (n == 0) {
		if (r->len >= CGI_HEAD_MAX)
			relay_end(r, 502);
		return;
	}
	if (n < 0) {
		relay_end(r, 502);
		return;
	}
	if (resp.local_redirect) {
		log_warnx("route [%s]: local redirect (Location: without a host) is not served",
		    r->conn->route->name);
		relay_end(r, 500);
		return;
	}
	uv_timer_stop(&r->timer);
	r->status = resp.status;
	r->no_body = resp.no_body;
	r->in_body = 1;
	/* The body bytes that came with the head move behind it. */
	{
		size_t body = r->len - (size_t)n;
		if (r->no_body)
			body = 0;
		if (headlen + body > sizeof r->buf) {
			relay_end(r, 502);
			return;
		}
		memmove(r->buf + headlen, r->buf + n, body);
		memcpy(r->buf, head, headlen);
		r->len = headlen + body;
		r->off = 0;
		r->bytes = body;
	}
	relay_send(r);
}

static void on_out_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct relay *r = h->data;

	(void)hint;
	/* Body: the buffer is empty whenever reading is on. */
	b->base = r->buf + r->len;
	b->len = (r->in_body ? sizeof r->buf : CGI_HEAD_MAX) - r->len;
}

static void on_out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct relay *r = st->data;

	(void)b;
	if (n < 0) {
		/* EOF: a head never completed is a 502. */
		relay_end(r, r->in_body ? 0 : 502);
		return;
	}
	if (n == 0)
		return;
	if (!r->in_body) {
		r->len += (size_t)n;
		relay_head(r);
		return;
	}
	if (r->no_body)
		return; /* read away */
	r->len += (size_t)n;
	r->bytes += (unsigned long long)n;
	relay_send(r);
}

static void on_head_timeout(uv_timer_t *t)
{
	relay_end(t->data, 502);
}

/* Watches the child's stdout (read end `outfd`) and answers on `sock`. */
static int relay_start(uv_loop_t *loop, struct conn *c, int sock, int outfd,
    int head_request)
{
	struct relay *r = calloc(1, sizeof *r);
	double secs = c->route->timeout > 0 ? c->route->timeout : CGI_HEAD_MS / 1000.0;

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->conn = c;
	conn_hold(c);
	r->sock = sock;
	r->head_request = head_request;
	uv_pipe_init(loop, &r->out, 0);
	uv_pipe_open(&r->out, outfd);
	uv_poll_init(loop, &r->sockpoll, sock);
	fd_set_blocking(sock);
	uv_timer_init(loop, &r->timer);
	r->out.data = r->sockpoll.data = r->timer.data = r;
	r->open = 3;
	uv_read_start((uv_stream_t *)&r->out, on_out_alloc, on_out_read);
	uv_timer_start(&r->timer, on_head_timeout, (uint64_t)(secs * 1000), 0);
	return 0;
}

/* ---- a chunked request body ---- */

struct body {
	uv_poll_t sockpoll;
	uv_poll_t pipepoll;
	struct child *child;            /* until it exits: then the body ends */
	int sock, pipe;                 /* our copy; the write end for stdin */
	struct http_chunked dec;
	size_t len, off;
	char out[RELAY_BUF];
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
	return write_out(b->pipe, 0, b->out, &b->off, &b->len);
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

static int body_start(uv_loop_t *loop, struct child *c, int sock, int pipefd)
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

/* ---- the start ---- */

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

struct child *http_run(struct http_owner *o, struct conn *conn,
    struct http_request *req)
{
	const struct route *r = conn->route;
	int fd = conn->fd;
	int n = http_prefix_match(r->path, req->path);
	struct cgi_request cr = {
		.req = req,
		.script_name = n > 0 ? r->path : "",
		.path_info = req->path + (n > 0 ? n : 0),
	};
	struct http_spawn hs = { .cgi = &cr, .stdin_fd = -1, .stdout_fd = -1 };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, keep = -1, body_sock = -1;
	struct child *c = NULL;
	int err;

	/* Our copies of the socket: one to answer if the program cannot
	 * start (and for a cgi route, to relay its response), one for a
	 * chunked body. */
	if ((keep = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (req->chunked && (pipe2(in, O_CLOEXEC) < 0 ||
	    (body_sock = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)) ||
	    (r->protocol == PROTO_CGI && pipe2(out, O_CLOEXEC) < 0)) {
		close_pair(in);
		close_pair(out);
		if (body_sock >= 0)
			close(body_sock);
		if (keep >= 0)
			close(keep);
		answer_http(o->loop, conn, conn_take_fd(conn), 503);
		goto done;
	}
	hs.stdin_fd = in[0];
	hs.stdout_fd = out[1];
	/* RFC 9110 10.1.1: the client waits for this before the body. */
	if (req->expect_continue && req->minor == 1)
		send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (!(c = o->spawn(o, conn, &hs, &err))) {
		/* A shortage left the socket open; otherwise spawn_error is
		 * logged. */
		if (conn->fd >= 0)
			close(conn_take_fd(conn));
		answer_http(o->loop, conn, keep, child_shortage(err) ? 503 : 500);
		close_pair(in);
		close_pair(out);
		if (body_sock >= 0)
			close(body_sock);
		goto done;
	}
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (body_sock >= 0 && body_start(o->loop, c, body_sock, in[1]) < 0) {
		close(body_sock);
		close(in[1]);
	}
	if (r->protocol == PROTO_CGI) {
		if (relay_start(o->loop, conn, keep, out[0], strcmp(req->method, "HEAD") == 0) < 0) {
			close(keep);
			close(out[0]);
		}
	} else {
		close(keep);
	}
done:
	free(req);
	conn_release(conn);
	return c;
}
