/* Event log: one line per event on fd 2, built whole in a struct logline
 * (key=value or JSON) and handed to an output that never lets a slow or
 * stuck reader stop the event loop (`gatewayd 2>&1 | less`, a busy log
 * collector): with blocking writes the loop froze in write() once the
 * 64 KiB pipe was full, and with it every route.
 *
 * Where fd 2 leads decides how it is written, chosen once (at the first
 * line, or at log_attach):
 *
 * - A regular file, a block device, a character device that is not a
 *   terminal (/dev/null): one blocking write() per line, as it always
 *   was. A disk is slow at worst, it does not stall like a reader.
 * - A pipe or a terminal: opened a second time through /proc/self/fd/2
 *   with O_NONBLOCK. That is a new open file description of the same
 *   pipe, so the flag is ours alone. O_NONBLOCK is never set on fds 0-2:
 *   their description is shared with whatever started the gateway (a
 *   shell's terminal) and with children whose stderr = inherit.
 * - A socket (journald's stream): send() on fd 2 with MSG_DONTWAIT |
 *   MSG_NOSIGNAL, flags of the call and not of the description.
 * - A pipe or terminal this process may not open again (EACCES: a pipe
 *   made by another user, as a container runtime makes them for a
 *   process that runs as a user of its own; no /proc), or a descriptor
 *   the loop cannot poll: a writer thread does blocking writes for the
 *   loop, which only queues lines under a mutex. It is the only thread
 *   of the gateway, and every signal is blocked in it.
 *
 * Lines wait in a bounded buffer of whole lines (LOG_BUF, per process).
 * A line that does not fit is dropped and counted, and once there is
 * room again `event=log_dropped lines=N` says how many went missing,
 * where they did (as HAProxy does with its log rings); the loop serves on
 * meanwhile. Only whole lines reach the reader: each write() takes the
 * lines that fit in PIPE_BUF bytes, which a pipe takes all or nothing,
 * so the lines of the main process and of the workers (each has its own
 * buffer; all write to the same pipe) never cut into one another. A line
 * longer than PIPE_BUF goes alone; when a write takes only part of it,
 * the rest is written next, before any other line of this process (a
 * line of another process may still land inside it, as it could with
 * blocking writes: the kernel keeps only PIPE_BUF bytes whole).
 *
 * The event loop drives the writes once the process has one: main.c and
 * worker.c log_attach their loop. A write that finds the pipe full leaves
 * the rest buffered and a uv_poll_t waits for the reader (on a socket,
 * on an epoll set holding fd 2, since uv_poll_init would make fd 2 itself
 * non-blocking). The handle is unreferenced: it never keeps a stopping
 * process alive. Before the loop exists, each line is tried at once and
 * what does not go waits. At exit, whatever the way out (a stop, a fatal
 * error at start-up: an atexit handler), what is still buffered gets a
 * bounded last attempt: the process waits while the reader takes bytes,
 * giving up after EXIT_STALL_MS without progress or EXIT_MAX_MS in all.
 * So a fatal line reaches a reader that is alive, and a stuck reader
 * cannot hold the exit.
 *
 * Why not the writer thread for every pipe: both keep the loop from
 * blocking, and neither costs the loop much. Measured here, 200000 lines
 * of 94 bytes in a row to a reader that keeps up (`cat`): blocking
 * writes (the old way) 0.9 us a line; the second open 0.9-1.4 us; send()
 * to a socket 1.6 us; the thread 0.47 us of the loop's time (0.73 us of
 * CPU in all), since it writes 4 KiB at a time. The gateway logs a few
 * lines per connection, against some 300 us of its CPU per connection, so
 * the difference is noise; the second open keeps the process single-
 * threaded (it forks workers and clones children) and lets the loop
 * drive the writes, with no lock. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the output ---- */

#define LOG_BUF (256 * 1024)    /* lines waiting for a slow reader */
#define EXIT_STALL_MS 2000      /* at exit: the reader took nothing */
#define EXIT_MAX_MS 10000       /* at exit: in all */
#define DROPPED_MAX 128         /* the log_dropped line is shorter */

enum sink {
	SINK_NONE,      /* not chosen yet */
	SINK_FILE,      /* blocking writes to fd 2 */
	SINK_PIPE,      /* non-blocking writes to our own open of fd 2's pipe */
	SINK_SOCKET,    /* send(MSG_DONTWAIT) on fd 2 */
	SINK_THREAD,    /* blocking writes to fd 2 by the writer thread */
};

static struct {
	enum sink sink;
	int fd;                         /* SINK_PIPE: ours, non-blocking */
	int dgram;                      /* SINK_SOCKET: one line per send */
	size_t head, len;               /* the bytes waiting in buf */
	unsigned long long dropped;     /* lines dropped, not yet reported */
	unsigned long long written;     /* bytes the reader took, ever */
	uv_poll_t poll;                 /* the loop waits for the reader */
	int attached, polling, epfd;
	pthread_mutex_t mu;             /* SINK_THREAD: all of the above */
	pthread_cond_t wake, done;      /* lines to write; lines written */
	char buf[LOG_BUF];
} out = {
	.fd = -1, .epfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER,
};

static void put_bytes(const char *p, size_t n)
{
	if (out.head + out.len + n > sizeof out.buf) {
		memmove(out.buf, out.buf + out.head, out.len);
		out.head = 0;
	}
	memcpy(out.buf + out.head + out.len, p, n);
	out.len += n;
}

static void consume(size_t n)
{
	out.head += n;
	out.len -= n;
	out.written += n;
	if (out.len == 0)
		out.head = 0;
}

/* Once there is room for it, and for the `then` bytes of the line that
 * comes next, the count of the lines dropped since the last report. */
static void report_dropped(size_t then)
{
	struct logline l;

	if (!out.dropped || sizeof out.buf - out.len < DROPPED_MAX + then)
		return;
	log_begin(&l, "log_dropped");
	log_uint(&l, "lines", out.dropped);
	logline_finish(&l);
	put_bytes(l.buf, l.len);
	out.dropped = 0;
}

/* A whole line into the buffer, or dropped and counted. Once a line is
 * dropped, none goes in before the report. */
static void enqueue(const char *p, size_t n)
{
	report_dropped(n);
	if (out.dropped || sizeof out.buf - out.len < n) {
		out.dropped++;
		return;
	}
	put_bytes(p, n);
}

/* The next write: the whole lines that fit in PIPE_BUF bytes (a pipe
 * takes those all or nothing, so that they never cut into the lines of
 * another process on the same pipe), else the first line alone or what
 * is left of it; one line per datagram. */
static size_t next_batch(void)
{
	const char *p = out.buf + out.head, *nl;

	if (!out.dgram && out.len <= PIPE_BUF)
		return out.len;
	if (!out.dgram && (nl = memrchr(p, '\n', PIPE_BUF)) != NULL)
		return (size_t)(nl - p) + 1;
	nl = memchr(p, '\n', out.len);
	return nl ? (size_t)(nl - p) + 1 : out.len;
}

/* Blocking writes: a file, or the writer thread. EAGAIN is waited out:
 * a child with stderr = inherit may make the shared description
 * non-blocking. Any other error loses the bytes, as there is no one to
 * tell. */
static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(2, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = 2, .events = POLLOUT };
			poll(&pf, 1, -1);
		} else if (w == 0 || errno != EINTR) {
			return;
		}
	}
}

/* SINK_PIPE and SINK_SOCKET: writes what the reader takes now. Returns 1
 * when it took less than all (EAGAIN: the rest waits), else 0. */
static int flush(void)
{
	while (out.len > 0) {
		size_t want = next_batch();
		ssize_t n = out.sink == SINK_SOCKET ?
		    send(2, out.buf + out.head, want, MSG_DONTWAIT | MSG_NOSIGNAL) :
		    write(out.fd, out.buf + out.head, want);
		if (n > 0) {
			consume((size_t)n);
			report_dropped(0);
		} else if (n < 0 && errno == EAGAIN) {
			return 1;
		} else if (n == 0 || errno != EINTR) {
			/* No reader (EPIPE) or a broken one: what waits is
			 * lost, as a blocking write's line would be. */
			out.head = out.len = 0;
		}
	}
	return 0;
}

static void on_writable(uv_poll_t *h, int status, int events)
{
	struct epoll_event ev;

	(void)h;
	(void)events;
	/* Level-triggered: take the set's event, it comes back while fd 2
	 * stays writable. */
	if (out.epfd >= 0)
		epoll_wait(out.epfd, &ev, 1, 0);
	if (status < 0)
		out.head = out.len = 0;
	if (status < 0 || flush() == 0) {
		uv_poll_stop(&out.poll);
		out.polling = 0;
	}
}

static void wait_writable(void)
{
	if (!out.attached || out.polling)
		return;
	uv_poll_start(&out.poll, out.epfd >= 0 ? UV_READABLE : UV_WRITABLE,
	    on_writable);
	out.polling = 1;
}

static void *writer(void *arg)
{
	static char batch[sizeof ((struct logline *)0)->buf];
	size_t n;

	(void)arg;
	pthread_mutex_lock(&out.mu);
	for (;;) {
		while (out.len == 0)
			pthread_cond_wait(&out.wake, &out.mu);
		n = next_batch();
		if (n > sizeof batch)
			n = sizeof batch;
		memcpy(batch, out.buf + out.head, n);
		pthread_mutex_unlock(&out.mu);
		write_all(batch, n);
		pthread_mutex_lock(&out.mu);
		consume(n);
		report_dropped(0);
		pthread_cond_broadcast(&out.done);
	}
	return NULL;
}

/* No descriptor of our own that the loop could wait on: a thread that
 * blocks instead of it, with every signal blocked (they are the loop's). */
static void use_thread(void)
{
	pthread_condattr_t ca;
	pthread_t t;
	sigset_t all, old;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&out.done, &ca);
	pthread_condattr_destroy(&ca);
	out.sink = SINK_THREAD;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, NULL, writer, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err == 0) {
		pthread_detach(t);
		return;
	}
	out.sink = SINK_FILE;
	write_all(out.buf + out.head, out.len);
	out.head = out.len = 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* At exit, whatever way the process ends: what is still buffered waits
 * for the reader while it takes bytes, EXIT_STALL_MS without progress
 * or EXIT_MAX_MS in all at most. */
static void exit_flush(void)
{
	uint64_t start = now_ms(), last = start, t, end;
	unsigned long long seen;
	int thread = out.sink == SINK_THREAD;

	if (thread)
		pthread_mutex_lock(&out.mu);
	seen = out.written;
	while (out.len > 0 && (thread || flush() == 1)) {
		t = now_ms();
		if (out.written != seen) {
			seen = out.written;
			last = t;
		}
		end = last + EXIT_STALL_MS < start + EXIT_MAX_MS ?
		    last + EXIT_STALL_MS : start + EXIT_MAX_MS;
		if (t >= end)
			break;
		if (thread) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)((end - t) / 1000);
			ts.tv_nsec += (long)((end - t) % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&out.done, &out.mu, &ts);
		} else {
			struct pollfd pf = {
				.fd = out.sink == SINK_SOCKET ? 2 : out.fd,
				.events = POLLOUT,
			};
			poll(&pf, 1, (int)(end - t));
		}
	}
	if (thread)
		pthread_mutex_unlock(&out.mu);
}

/* Where fd 2 leads decides how it is written: once, at the first line
 * or at log_attach. */
static void choose(void)
{
	struct stat st, ours;
	int fl, fd;

	if (out.sink != SINK_NONE)
		return;
	out.sink = SINK_FILE;
	fl = fcntl(2, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || fstat(2, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		int type;
		socklen_t len = sizeof type;
		out.dgram = getsockopt(2, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		    type != SOCK_STREAM;
		out.sink = SINK_SOCKET;
	} else if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(2))) {
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 && fd < 3) {
			/* fds 0-2 stay the stdio's */
			int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			close(fd);
			fd = moved;
		}
		if (fd >= 0 && fstat(fd, &ours) == 0 &&
		    ours.st_dev == st.st_dev && ours.st_ino == st.st_ino) {
			out.fd = fd;
			out.sink = SINK_PIPE;
		} else {
			if (fd >= 0)
				close(fd);
			use_thread();
		}
	} else {
		return;
	}
	atexit(exit_flush);
}

void log_flush(void)
{
	exit_flush();
}

void log_attach(uv_loop_t *loop)
{
	int fd;

	choose();
	fd = out.fd;
	if (out.attached || (out.sink != SINK_PIPE && out.sink != SINK_SOCKET))
		return;
	if (out.sink == SINK_SOCKET) {
		/* uv_poll_init would make its descriptor non-blocking, fd 2's
		 * description with it: the loop waits on an epoll set that
		 * holds fd 2 instead. */
		struct epoll_event ev = { .events = EPOLLOUT };
		if (out.epfd < 0)
			out.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (out.epfd >= 0 && epoll_ctl(out.epfd, EPOLL_CTL_ADD, 2, &ev) < 0) {
			close(out.epfd);
			out.epfd = -1;
		}
		fd = out.epfd;
	}
	if (fd < 0 || uv_poll_init(loop, &out.poll, fd) < 0) {
		use_thread();
		return;
	}
	uv_unref((uv_handle_t *)&out.poll);
	out.attached = 1;
	if (out.len > 0)
		wait_writable();
}

void log_detach(void)
{
	if (!out.attached)
		return;
	uv_close((uv_handle_t *)&out.poll, NULL);
	out.attached = 0;
	out.polling = 0;
}

void log_end(struct logline *l)
{
	logline_finish(l);
	choose();
	switch (out.sink) {
	case SINK_PIPE:
	case SINK_SOCKET:
		enqueue(l->buf, l->len);
		if (!out.polling && flush() == 1)
			wait_writable();
		break;
	case SINK_THREAD:
		pthread_mutex_lock(&out.mu);
		enqueue(l->buf, l->len);
		pthread_cond_signal(&out.wake);
		pthread_mutex_unlock(&out.mu);
		break;
	default:
		write_all(l->buf, l->len);
	}
}

/* The message, with ": strerror(errno)" when err is not 0. */
static void log_verb(const char *event, int err, const char *fmt, va_list ap)
{
	char msg[2048];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	struct logline l;

	if (err && n >= 0 && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(err));
	log_begin(&l, event);
	log_str(&l, "msg", msg);
	log_end(&l);
}

void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_verb("warning", err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verb("warning", 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_verb("fatal", err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verb("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
