/* A child's stderr = log stream cut into log lines: at each newline, and
 * every LINES_MAX bytes of a longer line. Used for the pipes a child's
 * own process reads (child.c) and for those the main process takes over
 * from a worker that died (pool.c). */
#ifndef GATEWAY_LINES_H
#define GATEWAY_LINES_H

#include <stddef.h>

#define LINES_MAX 1024          /* longer stderr lines are split */

struct lines {
	size_t len;
	char buf[LINES_MAX + 1];        /* + 1: room for the newline */
};

typedef void lines_emit(void *arg, const char *line, size_t n);

/* Where the next bytes read go, and how many fit (never 0). */
char *lines_room(struct lines *b, size_t *n);

/* Takes n bytes just read into the room: emits every whole line, and a
 * full buffer as a line of its own. */
void lines_take(struct lines *b, size_t n, lines_emit *emit, void *arg);

/* Emits what is left (a last line without its newline). */
void lines_flush(struct lines *b, lines_emit *emit, void *arg);

/* Reads what is already in the non-blocking fd, emits it, and flushes:
 * for an exit seen before the pipe was read to its end. Returns 0 at the
 * pipe's EOF, -1 otherwise. */
int lines_drain(struct lines *b, int fd, lines_emit *emit, void *arg);

#endif
