/* The control socket: accepting its clients (each checked by its
 * credentials), reading one command line from each, writing the answer
 * the owner builds, closing. Out of descriptors, the one kept in reserve
 * is given up to accept a client, and taken again once it has gone. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define CLIENTS_MAX 16          /* at once; more wait in the backlog */
#define CLIENT_MS 10000         /* to send the line and read the answer */
#define REFUSED_MS 1000         /* the same, for one who may not */
#define RETRY_MS 1000

struct client {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_write_t wr;
	struct control *ctl;
	struct control_peer who;
	char line[CONTROL_LINE_MAX];
	size_t len;
	struct control_answer answer;
	int handles;                    /* open: freed at 0 */
	int done;                       /* the line is read */
	int refused;                    /* neither root nor the gateway's user */
	struct queue q;
};

/* ---- answers ---- */

static void answer_add(struct control_answer *a, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0 || a->failed)
		return;
	if (a->len + (size_t)n + 2 > a->cap) {
		size_t cap = (a->cap ? a->cap : 1024);
		char *b;
		while (cap < a->len + (size_t)n + 2)
			cap *= 2;
		if (!(b = realloc(a->buf, cap))) {
			a->failed = 1;
			return;
		}
		a->buf = b;
		a->cap = cap;
	}
	vsnprintf(a->buf + a->len, a->cap - a->len, fmt, ap);
	a->len += (size_t)n;
	a->buf[a->len++] = '\n';
}

void control_line(struct control_answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	answer_add(a, fmt, ap);
	va_end(ap);
}

void control_error(struct control_answer *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->error, sizeof a->error, fmt, ap);
	va_end(ap);
}

/* ---- one client ---- */

static void reserve_take(struct control *ctl)
{
	if (ctl->reserve < 0)
		ctl->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_closed(uv_handle_t *h)
{
	struct client *cl = h->data;
	struct control *ctl = cl->ctl;

	if (--cl->handles > 0)
		return;
	queue_remove(&cl->q);
	free(cl->answer.buf);
	free(cl);
	ctl->nclients--;
	if (!ctl->open)
		return;
	/* Its descriptor is free: the reserve's place, if it was given up. */
	reserve_take(ctl);
	listener_accepting(ctl->l, 1);
}

static void client_close(struct client *cl)
{
	if (uv_is_closing((uv_handle_t *)&cl->pipe))
		return;
	/* An answer still to come has nobody to go to now. */
	if (cl->answer.later) {
		cl->answer.later = 0;
		if (cl->ctl->owner->dropped)
			cl->ctl->owner->dropped(cl->ctl->owner, &cl->answer);
	}
	uv_close((uv_handle_t *)&cl->pipe, on_closed);
	uv_close((uv_handle_t *)&cl->timer, on_closed);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	client_close(container_of(w, struct client, wr));
}

/* The answer, its last line `ok` or `error: ...`, then the close. */
static void client_answer(struct client *cl)
{
	struct control_answer *a = &cl->answer;
	uv_buf_t b;

	cl->done = 1;
	uv_read_stop((uv_stream_t *)&cl->pipe);
	if (a->failed) {
		a->len = 0;
		a->failed = 0;
		control_error(a, "%s", strerror(ENOMEM));
	}
	if (a->error[0])
		control_line(a, "error: %s", a->error);
	else
		control_line(a, "ok");
	if (a->failed) {
		client_close(cl);
		return;
	}
	b = uv_buf_init(a->buf, (unsigned)a->len);
	if (uv_write(&cl->wr, (uv_stream_t *)&cl->pipe, &b, 1, on_written) < 0)
		client_close(cl);
}

static void on_client_timeout(uv_timer_t *t);

static void client_command(struct client *cl)
{
	while (cl->len > 0 && (cl->line[cl->len - 1] == '\r' ||
	    cl->line[cl->len - 1] == '\n'))
		cl->len--;
	cl->line[cl->len] = '\0';
	if (cl->refused) {
		cl->ctl->owner->refused(cl->ctl->owner, &cl->who, cl->line);
		control_error(&cl->answer, "permission denied: uid %ld is neither "
		    "root nor the gateway's user", (long)cl->who.uid);
	} else {
		cl->answer.in_command = 1;
		cl->ctl->owner->command(cl->ctl->owner, &cl->who, cl->line, &cl->answer);
		cl->answer.in_command = 0;
	}
	if (!cl->answer.later) {
		client_answer(cl);
	} else {
		/* Nothing more is read from it meanwhile. */
		cl->done = 1;
		uv_read_stop((uv_stream_t *)&cl->pipe);
	}
}

void control_answer_later(struct control_answer *a, unsigned ms)
{
	struct client *cl = container_of(a, struct client, answer);

	a->later = 1;
	uv_timer_start(&cl->timer, on_client_timeout, ms, 0);
}

void control_answer_done(struct control_answer *a)
{
	a->later = 0;
	if (!a->in_command)
		client_answer(container_of(a, struct client, answer));
}

int control_answer_fd(struct control_answer *a)
{
	struct client *cl = container_of(a, struct client, answer);
	uv_os_fd_t fd = -1;

	uv_fileno((uv_handle_t *)&cl->pipe, &fd);
	return fd;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct client *cl = h->data;

	(void)hint;
	*b = uv_buf_init(cl->line + cl->len, (unsigned)(sizeof cl->line - 1 - cl->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct client *cl = s->data;
	char *nl;

	(void)b;
	if (cl->done)
		return;
	if (n < 0) {
		if (n == UV_EOF && cl->len > 0)
			client_command(cl);
		else
			client_close(cl);
		return;
	}
	cl->len += (size_t)n;
	nl = memchr(cl->line, '\n', cl->len);
	if (nl) {
		cl->len = (size_t)(nl - cl->line);
		client_command(cl);
	} else if (cl->len >= sizeof cl->line - 1) {
		control_error(&cl->answer, "command line longer than %d bytes",
		    CONTROL_LINE_MAX - 1);
		client_answer(cl);
	}
}

static void on_client_timeout(uv_timer_t *t)
{
	client_close(t->data);
}

/* Root and the gateway's own user may; anyone else is answered so. */
static int client_may(const struct conn_info *ci)
{
	return ci->have_cred && (ci->uid == 0 || ci->uid == geteuid());
}

static void client_start(struct control *ctl, int fd, const struct conn_info *ci)
{
	struct client *cl = calloc(1, sizeof *cl);

	if (!cl || uv_pipe_init(ctl->loop, &cl->pipe, 0) < 0) {
		free(cl);
		close(fd);
		return;
	}
	cl->ctl = ctl;
	cl->pipe.data = cl;
	cl->who.uid = ci->have_cred ? ci->uid : (uid_t)-1;
	cl->who.gid = ci->have_cred ? ci->gid : (gid_t)-1;
	cl->who.pid = ci->have_cred ? ci->pid : 0;
	queue_insert_tail(&ctl->clients, &cl->q);
	ctl->nclients++;
	cl->handles = 2;
	uv_timer_init(ctl->loop, &cl->timer);
	cl->timer.data = cl;
	if (uv_pipe_open(&cl->pipe, fd) < 0) {
		close(fd);
		client_close(cl);
		return;
	}
	/* One who may not is answered once its line is in: closing before
	 * would reset the connection, and the answer with it. It has a
	 * second for that line, not CLIENT_MS: it holds a place meanwhile. */
	cl->refused = !client_may(ci);
	uv_timer_start(&cl->timer, on_client_timeout,
	    cl->refused ? REFUSED_MS : CLIENT_MS, 0);
	if (uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) < 0)
		client_close(cl);
}

/* ---- accepting ---- */

static void on_retry(uv_timer_t *t)
{
	struct control *ctl = container_of(t, struct control, retry);

	reserve_take(ctl);
	listener_accepting(ctl->l, 1);
}

/* Out of descriptors: the reserve is given up for this client. -errno
 * if there is none to give, or the accept fails all the same. */
static int accept_short(struct control *ctl, struct conn_info *ci)
{
	if (ctl->reserve < 0)
		return -EMFILE;
	close(ctl->reserve);
	ctl->reserve = -1;
	return listener_accept(ctl->l, ci);
}

static void on_readable(struct listener *l)
{
	struct control *ctl = l->data;
	struct conn_info ci;

	while (ctl->nclients < CLIENTS_MAX) {
		int fd = listener_accept(l, &ci);

		if (fd == -EMFILE || fd == -ENFILE)
			fd = accept_short(ctl, &ci);
		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			return;
		if (fd == -ECONNABORTED || fd == -EINTR)
			continue;
		if (fd < 0) {
			/* Still short: a client's close, or a second, brings
			 * the next try. */
			listener_accepting(l, 0);
			uv_timer_start(&ctl->retry, on_retry, RETRY_MS, 0);
			return;
		}
		client_start(ctl, fd, &ci);
	}
	listener_accepting(l, 0);
}

int control_open(struct control *ctl, uv_loop_t *loop, struct control_owner *o,
    const struct listen_addr *a, int mode, char *err, size_t errlen)
{
	memset(ctl, 0, sizeof *ctl);
	ctl->loop = loop;
	ctl->owner = o;
	ctl->reserve = -1;
	queue_init(&ctl->clients);
	ctl->l = listener_open_own(loop, "control", a, mode, CLIENTS_MAX,
	    on_readable, ctl, err, errlen);
	if (!ctl->l)
		return -1;
	uv_timer_init(loop, &ctl->retry);
	reserve_take(ctl);
	ctl->open = 1;
	return 0;
}

void control_close(struct control *ctl)
{
	struct queue *q, *n;

	if (!ctl->open)
		return;
	ctl->open = 0;
	listener_close(ctl->l);
	ctl->l = NULL;
	uv_close((uv_handle_t *)&ctl->retry, NULL);
	if (ctl->reserve >= 0)
		close(ctl->reserve);
	ctl->reserve = -1;
	queue_foreach(q, n, &ctl->clients)
		client_close(queue_data(q, struct client, q));
}
