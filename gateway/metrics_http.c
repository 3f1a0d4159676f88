/* The metrics endpoint (metrics_http.h): each connection reads one
 * request head (up to 4 KiB, within 10 s), gets one answer, and is
 * closed. At most 16 at once: past that the listener stops accepting
 * and clients wait in its backlog. */
#include "metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgi.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#define HEAD_MAX 4096
#define CLIENTS_MAX 16
#define TIMEOUT_MS 10000
#define RETRY_MS 1000

struct exchange {
	struct metrics_http *m;
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	int closing;                    /* handles still to close */
	char head[HEAD_MAX];
	size_t len;
	char *out;                      /* the answer */
	size_t outlen, sent;
	struct queue q;                 /* in the endpoint's */
};

static void on_closed(uv_handle_t *h)
{
	struct exchange *x = h->data;

	if (--x->closing > 0)
		return;
	close(x->fd);
	free(x->out);
	free(x);
}

static void end(struct exchange *x)
{
	struct metrics_http *m = x->m;

	queue_remove(&x->q);
	x->closing = 2;
	uv_close((uv_handle_t *)&x->poll, on_closed);
	uv_close((uv_handle_t *)&x->timer, on_closed);
	if (m && m->clients-- == CLIENTS_MAX && m->l)
		listener_accepting(m->l, 1);
}

static void answer(struct exchange *x, int status, const char *type,
    const char *body, size_t len, int head_only)
{
	char top[256];
	int n = snprintf(top, sizeof top,
	    "HTTP/1.0 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n", status, http_reason(status), type, len);

	if (head_only)
		len = 0;
	x->out = malloc((size_t)n + len);
	if (x->out) {
		memcpy(x->out, top, (size_t)n);
		if (len)
			memcpy(x->out + n, body, len);
		x->outlen = (size_t)n + len;
	}
}

static void text_answer(struct exchange *x, int status, const char *text,
    int head_only)
{
	answer(x, status, "text/plain; charset=utf-8", text,
	    strlen(text), head_only);
}

enum metrics_page metrics_http_page(const char *head, size_t len, int *head_only)
{
	const char *sp1 = memchr(head, ' ', len), *sp2, *path, *end;
	size_t plen;

	*head_only = 0;
	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - head))))
		return PAGE_BAD;
	path = sp1 + 1;
	end = memchr(path, '?', (size_t)(sp2 - path));
	plen = (size_t)((end ? end : sp2) - path);
	*head_only = sp1 - head == 4 && memcmp(head, "HEAD", 4) == 0;
	if (!*head_only && !(sp1 - head == 3 && memcmp(head, "GET", 3) == 0))
		return PAGE_METHOD;
	if (plen == 8 && memcmp(path, "/metrics", 8) == 0)
		return PAGE_METRICS;
	if (plen == 8 && memcmp(path, "/healthz", 8) == 0)
		return PAGE_HEALTH;
	return PAGE_NONE;
}

/* The request line of the head in x: the answer to it. */
static void respond(struct exchange *x)
{
	struct metrics_source *src = x->m->src;
	int head_only;
	enum metrics_page page = metrics_http_page(x->head, x->len, &head_only);

	if (page == PAGE_BAD) {
		text_answer(x, 400, "bad request\n", 0);
	} else if (page == PAGE_METHOD) {
		text_answer(x, 405, "method not allowed\n", 0);
	} else if (page == PAGE_METRICS) {
		char *body;
		size_t len;
		if (src->text(src, &body, &len) < 0) {
			text_answer(x, 500, "out of memory\n", head_only);
			return;
		}
		answer(x, 200, "text/plain; version=0.0.4; charset=utf-8", body,
		    len, head_only);
		free(body);
	} else if (page == PAGE_HEALTH) {
		if (src->draining(src))
			text_answer(x, 503, "draining\n", head_only);
		else
			text_answer(x, 200, "ok\n", head_only);
	} else {
		text_answer(x, 404, "not found\n", head_only);
	}
}

static void on_io(uv_poll_t *h, int status, int events)
{
	struct exchange *x = h->data;
	ssize_t n;

	(void)events;
	if (status < 0) {
		end(x);
		return;
	}
	if (!x->out) {
		n = recv(x->fd, x->head + x->len, sizeof x->head - 1 - x->len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			end(x);
			return;
		}
		x->len += (size_t)n;
		x->head[x->len] = '\0';
		if (!strstr(x->head, "\r\n\r\n") && !strstr(x->head, "\n\n")) {
			if (x->len < sizeof x->head - 1)
				return;
			text_answer(x, 400, "request head too long\n", 0);
		} else {
			respond(x);
		}
		if (!x->out) {
			end(x);
			return;
		}
		uv_poll_start(&x->poll, UV_WRITABLE, on_io);
	}
	n = send(x->fd, x->out + x->sent, x->outlen - x->sent, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 || (x->sent += (size_t)n) == x->outlen) {
		shutdown(x->fd, SHUT_WR);
		end(x);
	}
}

static void on_timeout(uv_timer_t *t)
{
	end(t->data);
}

static void on_retry(uv_timer_t *t)
{
	struct metrics_http *m = container_of(t, struct metrics_http, retry);

	if (m->l && m->clients < CLIENTS_MAX)
		listener_accepting(m->l, 1);
}

static void on_accept(struct listener *l)
{
	struct metrics_http *m = l->data;
	struct conn_info ci;
	struct exchange *x;
	int fd;

	while (m->clients < CLIENTS_MAX) {
		if ((fd = listener_accept(l, &ci)) < 0) {
			if (fd == -EAGAIN || fd == -EINTR || fd == -ECONNABORTED)
				return;
			/* Out of descriptors or memory: the client waits in
			 * the backlog, and accepting pauses for a second
			 * rather than spin on it. */
			log_warnx("metrics: accept: %s", strerror(-fd));
			listener_accepting(l, 0);
			uv_timer_start(&m->retry, on_retry, RETRY_MS, 0);
			return;
		}
		if (!(x = calloc(1, sizeof *x)) ||
		    fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
		    uv_poll_init(m->loop, &x->poll, fd) < 0) {
			free(x);
			close(fd);
			continue;
		}
		x->m = m;
		x->fd = fd;
		x->poll.data = x->timer.data = x;
		uv_timer_init(m->loop, &x->timer);
		uv_timer_start(&x->timer, on_timeout, TIMEOUT_MS, 0);
		uv_poll_start(&x->poll, UV_READABLE, on_io);
		queue_insert_tail(&m->exchanges, &x->q);
		if (++m->clients == CLIENTS_MAX)
			listener_accepting(l, 0);
	}
}

int metrics_http_open(struct metrics_http *m, uv_loop_t *loop,
    struct metrics_source *src, const struct listen_addr *a, int mode,
    char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->loop = loop;
	m->src = src;
	queue_init(&m->exchanges);
	if (!(m->l = listener_open_own(loop, "metrics", a, mode, 64, on_accept,
	    m, err, errlen)))
		return -1;
	uv_timer_init(loop, &m->retry);
	m->retry_open = 1;
	return 0;
}

void metrics_http_close(struct metrics_http *m)
{
	struct queue *q, *n;

	queue_foreach(q, n, &m->exchanges) {
		struct exchange *x = queue_data(q, struct exchange, q);
		x->m = NULL;
		end(x);
	}
	if (m->retry_open)
		uv_close((uv_handle_t *)&m->retry, NULL);
	m->retry_open = 0;
	if (m->l)
		listener_close(m->l);
	m->l = NULL;
}
