#include "lines.h"

#include <string.h>
#include <unistd.h>

char *lines_room(struct lines *b, size_t *n)
{
	*n = sizeof b->buf - b->len;
	return b->buf + b->len;
}

void lines_take(struct lines *b, size_t n, lines_emit *emit, void *arg)
{
	char *start = b->buf, *nl;
	size_t left;

	b->len += n;
	left = b->len;
	while ((nl = memchr(start, '\n', left)) != NULL) {
		emit(arg, start, (size_t)(nl - start));
		left -= (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	/* A full buffer with no newline: its first LINES_MAX bytes are a
	 * line. The last byte stays, so that a line of exactly that length
	 * is not followed by an empty one when its newline comes. */
	if (left == sizeof b->buf) {
		emit(arg, start, LINES_MAX);
		start += LINES_MAX;
		left -= LINES_MAX;
	}
	memmove(b->buf, start, left);
	b->len = left;
}

void lines_flush(struct lines *b, lines_emit *emit, void *arg)
{
	if (b->len > 0)
		emit(arg, b->buf, b->len);
	b->len = 0;
}

int lines_drain(struct lines *b, int fd, lines_emit *emit, void *arg)
{
	ssize_t n;
	size_t room;
	char *at;

	while ((at = lines_room(b, &room)), (n = read(fd, at, room)) > 0)
		lines_take(b, (size_t)n, emit, arg);
	lines_flush(b, emit, arg);
	return n == 0 ? 0 : -1;
}
