#include "relay.h"

#include <errno.h>
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
#include "metrics.h"

#define CGI_HEAD_MS 30000       /* a cgi program's header block, without timeout */
#define RELAY_BUF (64 * 1024)

struct relay {
	uv_pipe_t out;                  /* the child's stdout */
	uv_poll_t sockpoll;             /* the client, while it cannot take more */
	uv_timer_t timer;               /* the header block's bound */
	uv_loop_t *loop;
	struct conn *conn;              /* held */
	int sock;                       /* our copy of the client's socket */
	int head_request;
	int in_body, no_body, status;
	long long limit;                /* the Content-Length passed on, -1: none */
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
	stats_http(r->conn->route->stats, r->status);
}

/* Ends the relay: the client gets a FIN (the child may still hold the
 * socket as stdin) or, on error before any byte, an error answer (400
 * when the request's body ended early: the program never had all of
 * it). */
static void relay_end(struct relay *r, int error_status)
{
	if (r->sock < 0)
		return;
	/* Our handle on the socket goes before the socket goes on to linger
	 * (one handle polls a descriptor at a time). */
	uv_close((uv_handle_t *)&r->sockpoll, relay_closed);
	if (error_status && !r->in_body) {
		answer_http(r->loop, r->conn, r->sock,
		    r->conn->body_error ? r->conn->body_error : error_status);
	} else {
		if (r->in_body)
			log_response(r);
		linger_close(r->loop, r->sock);
	}
	r->sock = -1;
	uv_close((uv_handle_t *)&r->out, relay_closed);
	uv_close((uv_handle_t *)&r->timer, relay_closed);
}

/* The relay cannot go on (the client has gone, the program's answer is
 * not valid or not in time): the program is of no more use, and is
 * ended by the kill path; its place in the counts goes at once. */
static void relay_fail(struct relay *r, int error_status, const char *why)
{
	if (r->sock < 0)
		return;
	if (r->conn->child)
		child_give_up(r->conn->child, why);
	relay_end(r, error_status);
}

static void on_out_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);
static void on_out_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);

/* Sends what is buffered; when the client is full the pipe waits until
 * it takes more. */
static int flush(struct relay *r)
{
	return fd_write_some(r->sock, 1, r->buf, &r->off, &r->len);
}

/* The body has reached the Content-Length the client was told: no
 * byte more is sent, and the connection ends. */
static int relay_full(const struct relay *r)
{
	return r->limit >= 0 && r->bytes >= (unsigned long long)r->limit;
}

static void on_sock_writable(uv_poll_t *h, int status, int events)
{
	struct relay *r = h->data;
	int f;

	(void)events;
	f = status < 0 ? -1 : flush(r);
	if (f < 0) {
		relay_fail(r, 0, "client_gone");
	} else if (f > 0 && relay_full(r)) {
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
		relay_fail(r, 0, "client_gone");
	} else if (f > 0 && relay_full(r)) {
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
			relay_fail(r, 502, "bad_response");
		return;
	}
	if (n < 0) {
		relay_fail(r, 502, "bad_response");
		return;
	}
	if (resp.local_redirect) {
		log_warnx("route [%s]: local redirect (Location: without a host) is not served",
		    r->conn->route->name);
		relay_fail(r, 500, "bad_response");
		return;
	}
	uv_timer_stop(&r->timer);
	r->status = resp.status;
	r->no_body = resp.no_body;
	r->limit = r->no_body ? -1 : resp.content_length;
	r->in_body = 1;
	/* The body bytes that came with the head move behind it. */
	{
		size_t body = r->len - (size_t)n;
		if (r->no_body)
			body = 0;
		if (r->limit >= 0 && body > (unsigned long long)r->limit)
			body = (size_t)r->limit;
		if (headlen + body > sizeof r->buf) {
			relay_fail(r, 502, "bad_response");
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
	if (r->limit >= 0 && (unsigned long long)n > (unsigned long long)r->limit - r->bytes)
		n = (ssize_t)((unsigned long long)r->limit - r->bytes);
	r->len += (size_t)n;
	r->bytes += (unsigned long long)n;
	relay_send(r);
}

static void on_head_timeout(uv_timer_t *t)
{
	relay_fail(t->data, 502, "response_timeout");
}

int relay_start(uv_loop_t *loop, struct conn *c, int sock, int outfd,
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

