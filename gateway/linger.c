#include "linger.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LINGER_MS 2000
#define LINGER_MAX 256          /* beyond this, a plain close */

struct lingering_conn {
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	int open;                       /* handles not yet closed */
};

static unsigned lingering;

static void on_closed(uv_handle_t *h)
{
	struct lingering_conn *l = h->data;

	if (--l->open == 0) {
		close(l->fd);
		lingering--;
		free(l);
	}
}

static void finish(struct lingering_conn *l)
{
	if (uv_is_closing((uv_handle_t *)&l->poll))
		return;
	uv_close((uv_handle_t *)&l->poll, on_closed);
	uv_close((uv_handle_t *)&l->timer, on_closed);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct lingering_conn *l = h->data;
	char junk[4096];
	ssize_t n;

	(void)events;
	if (status < 0) {
		finish(l);
		return;
	}
	while ((n = recv(l->fd, junk, sizeof junk, MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		finish(l);
}

static void on_timeout(uv_timer_t *t)
{
	finish(t->data);
}

void linger_close(uv_loop_t *loop, int fd)
{
	struct lingering_conn *l;
	int err;

	shutdown(fd, SHUT_WR);
	if (lingering >= LINGER_MAX || !(l = calloc(1, sizeof *l))) {
		close(fd);
		return;
	}
	l->fd = fd;
	err = uv_poll_init(loop, &l->poll, fd);
	if (err < 0) {
		/* UV_EEXIST: a handle of the caller's still polls fd. */
		log_warnx("lingering close: %s", uv_strerror(err));
		close(fd);
		free(l);
		return;
	}
	/* A cgi child may still hold the socket. */
	fd_set_blocking(fd);
	uv_timer_init(loop, &l->timer);
	l->poll.data = l->timer.data = l;
	l->open = 2;
	lingering++;
	uv_poll_start(&l->poll, UV_READABLE | UV_DISCONNECT, on_readable);
	uv_timer_start(&l->timer, on_timeout, LINGER_MS, 0);
}
