/* Event log: one line per event on stderr, key=value pairs or JSON. */
#ifndef GATEWAY_LOG_H
#define GATEWAY_LOG_H

#include <stddef.h>
#include <uv.h>

enum log_format { LOG_TEXT, LOG_JSON };

/* A line is built in place and handed whole to log_end, so lines from
 * one process never interleave. Values too long for the line are cut.
 * log_end never waits for a pipe's or a socket's reader: see log.c. */
struct logline {
	char buf[8192];
	size_t len;
	int json;
};

void log_set_format(enum log_format f);

void log_begin(struct logline *l, const char *event);
void log_str(struct logline *l, const char *key, const char *value);
void log_mem(struct logline *l, const char *key, const char *value, size_t n);
void log_int(struct logline *l, const char *key, long long value);
void log_uint(struct logline *l, const char *key, unsigned long long value);
void log_seconds(struct logline *l, const char *key, double secs); /* 1.234 */
void log_end(struct logline *l);

/* The process's event loop (the main process's, or a worker's): lines a
 * slow reader could not take yet are written from it when the reader
 * is ready. The handle does not keep the loop alive. */
void log_attach(uv_loop_t *loop);

/* Before the loop is closed: closes the handle (the loop must run once
 * more to finish the close). What is still waiting then gets a bounded
 * last attempt at exit. */
void log_detach(void);

/* The verbs used outside the event code, as OpenBSD's daemons have them:
 * event=warning msg="..." (log_warn adds ": " and strerror(errno),
 * log_warnx does not); fatal and fatalx write event=fatal the same way
 * and exit with status 1. Inside, functions return 0 or a negative errno
 * and the caller that decides writes the line. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Text quoting, exposed for the unit tests: writes the value of a text
 * line (quoted when needed) into dst, returns its length. */
size_t log_quote(char *dst, size_t cap, const char *v, size_t n);

#endif
