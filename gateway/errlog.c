#include "errlog.h"

#include <string.h>
#include <unistd.h>

#include "log.h"

static void log_line(struct errlog *e, const char *s, size_t n)
{
	struct logline l;

	log_begin(&l, "stderr");
	conn_log_fields(&l, e->conn);
	log_int(&l, "pid", e->pid);
	log_mem(&l, "line", s, n);
	log_end(&l);
}

/* Takes n new bytes at the end of the buffer: logs every whole line, and
 * a full buffer as a line of its own. */
static void take(struct errlog *e, size_t n)
{
	char *start = e->buf, *nl;
	size_t left;

	e->len += n;
	left = e->len;
	while ((nl = memchr(start, '\n', left)) != NULL) {
		log_line(e, start, (size_t)(nl - start));
		left -= (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	/* A full buffer with no newline: its first ERRLOG_LINE_MAX bytes are
	 * a line. The last byte stays, so that a line of exactly that length
	 * is not followed by an empty one when its newline comes. */
	if (left == sizeof e->buf) {
		log_line(e, start, ERRLOG_LINE_MAX);
		start += ERRLOG_LINE_MAX;
		left -= ERRLOG_LINE_MAX;
	}
	memmove(e->buf, start, left);
	e->len = left;
}

static void flush(struct errlog *e)
{
	if (e->len > 0)
		log_line(e, e->buf, e->len);
	e->len = 0;
}

static void on_closed(uv_handle_t *h)
{
	struct errlog *e = h->data;

	e->on_closed(e);
}

void errlog_close(struct errlog *e)
{
	if (!e->open)
		return;
	flush(e);
	e->open = 0;
	uv_close((uv_handle_t *)&e->pipe, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct errlog *e = h->data;

	(void)hint;
	buf->base = e->buf + e->len;
	buf->len = sizeof e->buf - e->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct errlog *e = s->data;

	(void)buf;
	if (n > 0)
		take(e, (size_t)n);
	else if (n < 0)
		errlog_close(e);
}

int errlog_open(struct errlog *e, uv_loop_t *loop, int fd,
    void (*on_closed_cb)(struct errlog *))
{
	uv_pipe_init(loop, &e->pipe, 0);
	e->pipe.data = e;
	e->open = 1;
	e->len = 0;
	e->on_closed = on_closed_cb;
	return uv_pipe_open(&e->pipe, fd);
}

void errlog_start(struct errlog *e, const struct conn *c, pid_t pid)
{
	e->conn = c;
	e->pid = pid;
	uv_read_start((uv_stream_t *)&e->pipe, on_alloc, on_read);
}

int errlog_fd(const struct errlog *e)
{
	int fd;

	if (!e->open || uv_fileno((const uv_handle_t *)&e->pipe, &fd) < 0)
		return -1;
	return fd;
}

void errlog_drain(struct errlog *e)
{
	int fd = errlog_fd(e);
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, e->buf + e->len, sizeof e->buf - e->len)) > 0)
		take(e, (size_t)n);
	if (n == 0)
		errlog_close(e);
	else
		flush(e);
}
