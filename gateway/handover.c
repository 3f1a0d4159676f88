/* The new image's side of an in-place upgrade: what the image before
 * handed over (handover_text.h), read at start from the memfd that
 * GATEWAYD_UPGRADE names, its descriptors owned here until each is taken
 * (a listener by listener.c, a child, a worker or a connection by the
 * server), and the way back to the old binary when this one cannot go on
 * (handover_fall_back). */
#include "handover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#define MAX_TEXT (16u << 20)

#ifndef VERSION
#define VERSION "0.1.0"
#endif

extern char **environ;

static struct handover handed;
static int have_handed;
static int committed;                   /* taken up for good */
static int memfd = -1, back = -1;       /* the text, the old binary */
static char **args;
static char failed[256];                /* why this image was fallen back to */

/* The text, read whole from its start. NULL with err set. */
static char *read_text(int fd, size_t *len, char *err, size_t errlen)
{
	char *text = NULL;
	size_t cap = 0;

	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			char *t = cap < MAX_TEXT ? realloc(text, cap = cap ? cap * 2 : 65536) : NULL;
			if (!t) {
				free(text);
				snprintf(err, errlen, "handover: too long or %s", strerror(ENOMEM));
				return NULL;
			}
			text = t;
		}
		n = pread(fd, text + *len, cap - *len, (off_t)*len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "handover: %s", strerror(errno));
			free(text);
			return NULL;
		}
		if (n == 0)
			return text;
		*len += (size_t)n;
	}
}

/* Every handed descriptor close-on-exec, or not. */
static void handed_cloexec(int on)
{
	size_t n = handover_fds(NULL, 0);
	int *fds = n ? malloc(n * sizeof *fds) : NULL;

	if (!fds)
		return;
	handover_fds(fds, n);
	for (size_t i = 0; i < n; i++)
		fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
	free(fds);
}

void handover_fall_back(const char *why)
{
	struct logline l;
	char num[48];

	if (failed[0] || back < 0 || memfd < 0)
		return;
	log_begin(&l, "upgrade_error");
	log_str(&l, "version", VERSION);
	log_str(&l, "error", why);
	log_str(&l, "then", "back to the binary before");
	log_end(&l);
	/* Whatever was taken of it is still open: it goes back too. */
	handed_cloexec(0);
	fcntl(memfd, F_SETFD, 0);
	snprintf(num, sizeof num, "%d -1", memfd);
	setenv(HANDOVER_ENV, num, 1);
	setenv(HANDOVER_FAILED_ENV, why[0] ? why : "failed", 1);
	log_flush();
	syscall(SYS_execveat, back, "", args, environ, AT_EMPTY_PATH);
	unsetenv(HANDOVER_ENV);
	unsetenv(HANDOVER_FAILED_ENV);
}

int handover_init(char **argv, char *err, size_t errlen)
{
	const char *v = getenv(HANDOVER_ENV), *f = getenv(HANDOVER_FAILED_ENV);
	size_t len;
	char *text;
	int r;

	if (!v)
		return 0;
	args = argv;
	if (sscanf(v, "%d %d", &memfd, &back) < 1)
		memfd = -1;
	if (f)
		snprintf(failed, sizeof failed, "%s", f);
	unsetenv(HANDOVER_ENV);
	unsetenv(HANDOVER_FAILED_ENV);
	if (memfd < 0) {
		snprintf(err, errlen, "handover: %s=%s", HANDOVER_ENV, v);
		return -1;
	}
	text = read_text(memfd, &len, err, errlen);
	r = text ? handover_parse(text, len, &handed, err, errlen) : -1;
	free(text);
	if (r < 0) {
		handover_free(&handed);
		/* Written by a version this one cannot read: the old one can. */
		handover_fall_back(err);
		return -1;
	}
	have_handed = 1;
	/* Kept open by close_inherited's list, and reaching no child of
	 * this image's: a client's socket, a stderr pipe a later child held
	 * would keep open. */
	handed_cloexec(1);
	return 1;
}

const char *handover_failed(void)
{
	return failed[0] ? failed : NULL;
}

int handover_holds(int fd)
{
	if (!have_handed || committed || fd < 0)
		return 0;
	for (size_t i = 0; i < handed.nlisteners; i++)
		if (handed.listeners[i].fd == fd)
			return 1;
	return 0;
}

void handover_commit(void)
{
	committed = 1;
	if (memfd >= 0)
		close(memfd);
	if (back >= 0)
		close(back);
	memfd = back = -1;
}

struct handover *handover_get(void)
{
	return have_handed ? &handed : NULL;
}

size_t handover_fds(int *fds, size_t max)
{
	size_t n = 0;

	if (!have_handed)
		return 0;
	for (size_t i = 0; i < handed.nlisteners; i++)
		if (handed.listeners[i].fd >= 0 && n++ < max)
			fds[n - 1] = handed.listeners[i].fd;
	for (size_t i = 0; i < handed.nchildren; i++)
		if (handed.children[i].errfd >= 0 && n++ < max)
			fds[n - 1] = handed.children[i].errfd;
	for (size_t i = 0; i < handed.nworkers; i++)
		if (handed.workers[i].fd >= 0 && n++ < max)
			fds[n - 1] = handed.workers[i].fd;
	for (size_t i = 0; i < handed.nreading; i++)
		if (handed.reading[i].fd >= 0 && n++ < max)
			fds[n - 1] = handed.reading[i].fd;
	if (handed.reply >= 0 && n++ < max)
		fds[n - 1] = handed.reply;
	if (handed.config_fd >= 0 && n++ < max)
		fds[n - 1] = handed.config_fd;
	/* The text and the way back, until the start has gone through. */
	if (memfd >= 0 && n++ < max)
		fds[n - 1] = memfd;
	if (back >= 0 && n++ < max)
		fds[n - 1] = back;
	return n;
}

int handover_take_listener(const char *route, const char *text, int family,
    struct handed_listener **out)
{
	for (size_t i = 0; have_handed && i < 2 * handed.nlisteners; i++) {
		struct handed_listener *l = &handed.listeners[i % handed.nlisteners];

		/* First a socket of the same route, then of any. */
		if (!l->taken && l->fd >= 0 && l->family == family &&
		    strcmp(l->text, text) == 0 &&
		    (i >= handed.nlisteners || strcmp(l->route, route) == 0)) {
			l->taken = 1;
			fcntl(l->fd, F_SETFD, FD_CLOEXEC);
			*out = l;
			return l->fd;
		}
	}
	return -ENOENT;
}

void handover_close_unused(void)
{
	if (!have_handed)
		return;
	if (handed.config_fd >= 0) {
		close(handed.config_fd);
		handed.config_fd = -1;
	}
	for (size_t i = 0; i < handed.nlisteners; i++) {
		struct handed_listener *l = &handed.listeners[i];

		if (l->taken || l->fd < 0)
			continue;
		log_warnx("upgrade: %s is no longer listened on", l->text);
		if (l->made && l->path[0])
			unlink(l->path);
		close(l->fd);
		l->fd = -1;
	}
	for (size_t i = 0; i < handed.nchildren; i++) {
		struct handed_child *c = &handed.children[i];

		if (!c->taken && c->errfd >= 0) {
			close(c->errfd);
			c->errfd = -1;
		}
	}
	for (size_t i = 0; i < handed.nworkers; i++) {
		struct handed_worker *w = &handed.workers[i];

		if (!w->taken && w->fd >= 0) {
			close(w->fd);
			w->fd = -1;
		}
	}
	for (size_t i = 0; i < handed.nreading; i++) {
		struct handed_reading *r = &handed.reading[i];

		if (!r->taken && r->fd >= 0) {
			close(r->fd);
			r->fd = -1;
		}
	}
}
