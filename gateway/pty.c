/* A pty route's terminal: the pair its child runs on (the slave is the
 * child's stdio and controlling terminal; spawn.c makes it so), and the
 * relay of one connection between the client's socket and the master
 * side, on the loop, never blocking: the bytes one way sit in one buffer
 * until the other side takes them all, and while they sit that side is
 * not read (back-pressure both ways; one copy each way, through the
 * buffer).
 *
 * The ends:
 *   the client half-closes: once its last byte is written to the
 *     master, the terminal ends the child's input with the EOF character
 *     (^D), written twice: the first passes on a line left unfinished
 *     (and is then EOF itself when there is none), the second is EOF
 *     for whoever reads next. EOF is a thing of canonical mode only, and
 *     in raw mode every byte is data. There, the terminal's foreground
 *     group (its reader) is stopped; what it has not read yet is taken
 *     back from the slave; the line discipline is switched to canonical
 *     mode (no echo); those bytes go back in, each quoted with the
 *     literal-next character so that none is taken for an editing or
 *     signal character, in lines passed on by the EOF character; then
 *     the two EOF characters; and the group goes on. A read it was
 *     blocked in, begun in raw mode, would wait for a byte whatever the
 *     mode became: stopped and continued, it starts again, in canonical
 *     mode, and returns what was left, then 0. The output goes on
 *     meanwhile;
 *   the child exits: what it wrote is read (a read that finds nothing
 *     waits for the bytes still in the kernel's flip buffer first) and
 *     sent, then the connection ends. So does EIO on the master: nobody
 *     holds the slave any more;
 *   the client goes (a reset, or a send that fails): the child is of no
 *     more use (on_gone), and the relay ends at once.
 * At its end the socket is closed as linger.c closes one (a FIN, not a
 * reset) and the master is closed: the terminal hangs up, and whatever
 * still runs on it gets SIGHUP, as from a terminal that went away. */
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "linger.h"
#include "util.h"

#define PTY_BUF (16 * 1024)     /* each way */
#define EOF_LINE 2048           /* bytes given back in one canonical line */
#define STOP_LOOK_MS 2          /* at a reader stopped to restart its read */
#define STOP_MAX_MS 5000        /* continued by then, stopped or not */

/* ---- the pair ---- */

/* What a terminal does (stty sane, as the kernel starts a pty): echo,
 * lines edited until Enter, ^C and ^\ and ^Z signals, CR read as NL and
 * NL written as CR NL. */
static void terminal_mode(struct termios *t)
{
	t->c_iflag = BRKINT | ICRNL | IXON | IMAXBEL | IUTF8;
	t->c_oflag = OPOST | ONLCR;
	t->c_cflag = (t->c_cflag & ~(tcflag_t)(CSIZE | PARENB)) | CS8 | CREAD;
	t->c_lflag = ISIG | ICANON | IEXTEN | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE;
	t->c_cc[VINTR] = 003;
	t->c_cc[VQUIT] = 034;
	t->c_cc[VERASE] = 0177;
	t->c_cc[VKILL] = 025;
	t->c_cc[VEOF] = 004;
	t->c_cc[VSTART] = 021;
	t->c_cc[VSTOP] = 023;
	t->c_cc[VSUSP] = 032;
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
}

/* The slave, without a path lookup where the kernel can (TIOCGPTPEER,
 * Linux 4.13). */
static int open_slave(int m)
{
	char name[64];
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (s >= 0 || (errno != EINVAL && errno != ENOTTY))
		return s;
	if (ptsname_r(m, name, sizeof name) != 0)
		return -1;
	return open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int pty_open(const struct route *r, int *master, int *slave)
{
	struct winsize ws = { .ws_col = r->pty_cols, .ws_row = r->pty_rows };
	struct termios t;
	int m, s = -1, err;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return -errno;
	if (unlockpt(m) < 0 || (s = open_slave(m)) < 0 || tcgetattr(s, &t) < 0)
		goto fail;
	if (r->pty == PTY_RAW)
		cfmakeraw(&t);
	else
		terminal_mode(&t);
	if (tcsetattr(s, TCSANOW, &t) < 0 || ioctl(s, TIOCSWINSZ, &ws) < 0)
		goto fail;
	/* Its user may reopen it (/dev/tty), as after a login. */
	if (r->set_uid && fchown(s, r->uid, (gid_t)-1) < 0)
		goto fail;
	*master = m;
	*slave = s;
	return 0;
fail:
	err = -errno;
	if (s >= 0)
		close(s);
	close(m);
	return err;
}

/* ---- the relay ---- */

static void on_sock(uv_poll_t *h, int status, int events);
static void watch(struct pty *p);
static void read_master(struct pty *p);
static void end_input(struct pty *p);
static void resume_group(struct pty *p);
static void write_master(struct pty *p);
static void on_master(uv_poll_t *h, int status, int events);

static void closed_one(uv_handle_t *h)
{
	struct pty *p = h->data;

	if (--p->open == 0) {
		free(p->buf);
		free(p->tail);
		free(p->taken);
		p->buf = p->tail = p->taken = NULL;
		p->on_closed(p);
	}
}

static void pty_end(struct pty *p)
{
	if (!p->open || p->sock < 0)
		return;
	resume_group(p);
	/* The handles first: linger.c polls the socket next. */
	uv_close((uv_handle_t *)&p->sockpoll, closed_one);
	uv_close((uv_handle_t *)&p->masterpoll, closed_one);
	uv_close((uv_handle_t *)&p->eoftimer, closed_one);
	linger_close(p->loop, p->sock);
	close(p->master);
	if (p->peer >= 0)
		close(p->peer);
	p->sock = p->master = p->peer = -1;
}

static void client_gone(struct pty *p)
{
	if (p->sock < 0)
		return;
	p->on_gone(p);
	pty_end(p);
}

static void poll_set(uv_poll_t *h, int events, uv_poll_cb cb)
{
	if (events)
		uv_poll_start(h, events, cb);
	else
		uv_poll_stop(h);
}

/* Each side is watched for what it can do now: read only into an empty
 * buffer, write only what waits. When the output has nowhere more to
 * come from, the connection is over. */
static void watch(struct pty *p)
{
	int se = 0, me = 0;

	if (p->sock < 0)
		return;
	/* After the exit, read until nothing is left. */
	while (p->child_gone && !p->drained && !p->slave_closed && !p->out_len &&
	    p->sock >= 0)
		read_master(p);
	if (p->sock < 0)
		return;
	if ((p->slave_closed || p->drained) && !p->out_len) {
		pty_end(p);
		return;
	}
	if (p->client_eof && !p->in_len && !p->input_ended && !p->input_dead &&
	    !p->child_gone)
		end_input(p);
	if (!p->client_eof && !p->in_len && !p->input_dead && !p->child_gone)
		se |= UV_READABLE;
	if (p->out_len)
		se |= UV_WRITABLE;
	if (p->in_len)
		me |= UV_WRITABLE;
	if (!p->out_len && !p->slave_closed && !p->drained)
		me |= UV_READABLE;
	poll_set(&p->sockpoll, se, on_sock);
	poll_set(&p->masterpoll, me, on_master);
}

/* Whether the stopped group's leader has stopped (or is gone). */
static int group_stopped(pid_t pg)
{
	char path[32], st[512], *c;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pg);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;
	n = read(fd, st, sizeof st - 1);
	close(fd);
	if (n <= 0)
		return 1;
	st[n] = '\0';
	c = strrchr(st, ')');
	return !c || c[1] != ' ' || c[2] == 'T' || c[2] == 't' || c[2] == 'Z' || c[2] == 'X';
}

static void resume_group(struct pty *p)
{
	if (p->stopped > 0)
		kill(-p->stopped, SIGCONT);
	p->stopped = 0;
}

/* The EOF character, twice (the top of this file says why). */
static void queue_eof(struct pty *p, cc_t veof)
{
	p->buf[0] = p->buf[1] = (char)veof;
	p->in = p->buf;
	p->in_off = 0;
	p->in_len = 2;
}

/* Takes back what the child has not read yet from the slave (on a
 * descriptor of our own, kept until the end: the close of a slave by any
 * but its last holder but one makes the kernel take the slave for
 * closed, EIO on the master), into p->taken. A read that finds nothing
 * has first moved in the bytes still on their way (the kernel's flip
 * buffer), so once it finds nothing, nothing is left anywhere; but a
 * non-blocking read also finds nothing while another reader is inside
 * one, which the count of bytes waiting tells. 1 when all is taken (or
 * nothing can be), 0 when it must be tried again. */
static int take_unread(struct pty *p)
{
	char *grown;
	ssize_t n;
	int waiting = 0;

	if (p->peer < 0)
		p->peer = ioctl(p->master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (p->peer < 0)
		return 1;
	for (;;) {
		if (p->taken_cap - p->taken_len < 4096) {
			if (!(grown = realloc(p->taken, p->taken_cap + 16384)))
				return 1;
			p->taken = grown;
			p->taken_cap += 16384;
		}
		n = read(p->peer, p->taken + p->taken_len, p->taken_cap - p->taken_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p->taken_len += (size_t)n;
	}
	return !(n < 0 && errno == EAGAIN && ioctl(p->peer, TIOCINQ, &waiting) == 0 &&
	    waiting > 0);
}

/* Raw mode: the child's input ends in canonical mode (the top of this
 * file says why), its group stopped meanwhile. The bytes it has not read
 * go back in, each behind the literal-next character (^V) so that none
 * is taken for an editing or signal character, in lines ended by the EOF
 * character, which passes a line on as it is: never longer than the line
 * discipline holds. Then the EOF characters. */
static void end_raw_input(struct pty *p)
{
	struct termios t;
	size_t len = p->taken_len, o = 0;
	char *q;

	if (tcgetattr(p->master, &t) < 0 ||
	    !(q = malloc(2 * len + len / EOF_LINE + 3)))
		return;
	t.c_lflag |= ICANON | IEXTEN;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | EXTPROC);
	t.c_iflag &= ~(tcflag_t)(ISTRIP | IUCLC | IXON);
	t.c_cc[VLNEXT] = 026;
	t.c_cc[VEOF] = 004;
	t.c_cc[VEOL] = t.c_cc[VEOL2] = _POSIX_VDISABLE;
	tcsetattr(p->master, TCSANOW, &t);
	for (size_t i = 0; i < len; i++) {
		q[o++] = 026;
		q[o++] = p->taken[i];
		if ((i + 1) % EOF_LINE == 0 || i + 1 == len)
			q[o++] = 004;
	}
	q[o++] = 004;
	q[o++] = 004;
	free(p->taken);
	p->taken = NULL;
	p->taken_len = p->taken_cap = 0;
	p->tail = p->in = q;
	p->in_off = 0;
	p->in_len = o;
}

/* Once the reader has stopped (or has been given STOP_MAX_MS), its input
 * ends, and it goes on: a read it was blocked in, begun in raw mode,
 * starts again in canonical mode. */
static void on_stop_timer(uv_timer_t *t)
{
	struct pty *p = t->data;

	p->stop_ms += STOP_LOOK_MS;
	if ((!group_stopped(p->stopped) || !take_unread(p)) && p->stop_ms < STOP_MAX_MS) {
		uv_timer_start(&p->eoftimer, on_stop_timer, STOP_LOOK_MS, 0);
		return;
	}
	end_raw_input(p);
	write_master(p);
	resume_group(p);
	watch(p);
}

/* The terminal's foreground group, the child's input's reader, stopped
 * before its input is ended: then it reads nothing meanwhile, and a read
 * it was blocked in is restarted when it goes on. 0, or -1 when there is
 * no group to stop. */
static int stop_reader(struct pty *p)
{
	pid_t pg;

	if (ioctl(p->master, TIOCGPGRP, &pg) < 0 || pg <= 0 || kill(-pg, SIGSTOP) < 0)
		return -1;
	p->stopped = pg;
	p->stop_ms = 0;
	uv_timer_start(&p->eoftimer, on_stop_timer, STOP_LOOK_MS, 0);
	return 0;
}

/* The client sent its last byte and the terminal has it all: the child's
 * input ends, as the top of this file says. */
static void end_input(struct pty *p)
{
	struct termios t;

	p->input_ended = 1;
	if (tcgetattr(p->master, &t) < 0)
		return;
	if (t.c_lflag & ICANON) {
		if (t.c_cc[VEOF] != _POSIX_VDISABLE)
			queue_eof(p, t.c_cc[VEOF]);
		return;
	}
	if (stop_reader(p) < 0) {
		take_unread(p);
		end_raw_input(p);
	}
}

/* Client to terminal. */
static void write_master(struct pty *p)
{
	while (p->in_off < p->in_len) {
		ssize_t n = write(p->master, p->in + p->in_off, p->in_len - p->in_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* The terminal is gone (EIO): what the client sends
			 * has nowhere to go. */
			p->input_dead = 1;
			break;
		}
		p->in_off += (size_t)n;
	}
	p->in_off = p->in_len = 0;
	free(p->tail);
	p->tail = NULL;
	p->in = p->buf;
}

static void read_sock(struct pty *p)
{
	ssize_t n = recv(p->sock, p->buf, PTY_BUF, MSG_DONTWAIT);

	if (n > 0) {
		p->in = p->buf;
		p->in_off = 0;
		p->in_len = (size_t)n;
		write_master(p);
	} else if (n == 0) {
		p->client_eof = 1;
	} else if (errno != EAGAIN && errno != EINTR) {
		client_gone(p);
	}
}

/* Terminal to client. 0, or -1 when the client has gone. */
static int write_sock(struct pty *p)
{
	char *out = p->buf + PTY_BUF;

	return fd_write_some(p->sock, 1, out, &p->out_off, &p->out_len) < 0 ? -1 : 0;
}

static void read_master(struct pty *p)
{
	ssize_t n;

	do
		n = read(p->master, p->buf + PTY_BUF, PTY_BUF);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		p->out_off = 0;
		p->out_len = (size_t)n;
		if (write_sock(p) < 0)
			client_gone(p);
	} else if (n < 0 && errno == EAGAIN) {
		if (p->child_gone)
			p->drained = 1;
	} else {
		p->slave_closed = 1;    /* EIO: its last holder closed it */
	}
}

static void on_sock(uv_poll_t *h, int status, int events)
{
	struct pty *p = h->data;

	if (status < 0) {
		client_gone(p);
		return;
	}
	if ((events & UV_WRITABLE) && write_sock(p) < 0) {
		client_gone(p);
		return;
	}
	if ((events & UV_READABLE) && !p->in_len && !p->client_eof)
		read_sock(p);
	watch(p);
}

static void on_master(uv_poll_t *h, int status, int events)
{
	struct pty *p = h->data;

	if (status < 0)
		p->slave_closed = 1;
	if (status >= 0 && (events & UV_WRITABLE) && p->in_len)
		write_master(p);
	if (status >= 0 && (events & UV_READABLE) && !p->out_len && p->sock >= 0)
		read_master(p);
	watch(p);
}

int pty_start(struct pty *p, uv_loop_t *loop, int sock, int master,
    void (*on_gone)(struct pty *), void (*on_closed)(struct pty *))
{
	if (!(p->buf = malloc(2 * PTY_BUF))) {
		close(sock);
		close(master);
		return -ENOMEM;
	}
	p->loop = loop;
	p->sock = sock;
	p->master = master;
	p->peer = -1;
	p->in = p->buf;
	p->on_gone = on_gone;
	p->on_closed = on_closed;
	uv_poll_init(loop, &p->sockpoll, sock);
	uv_poll_init(loop, &p->masterpoll, master);
	uv_timer_init(loop, &p->eoftimer);
	p->sockpoll.data = p->masterpoll.data = p->eoftimer.data = p;
	p->open = 3;
	watch(p);
	return 0;
}

void pty_child_exited(struct pty *p)
{
	if (!p->open || p->sock < 0 || p->child_gone)
		return;
	p->child_gone = 1;
	watch(p);
}

void pty_close(struct pty *p)
{
	pty_end(p);
}
