/* Event log: one line per event on stderr, key=value pairs or JSON,
 * built with logfmt.h and written by log_end. */
#ifndef GATEWAY_LOG_H
#define GATEWAY_LOG_H

#include <stddef.h>
#include <uv.h>

#include "logfmt.h"

/* Writes the line (see log.c: never waiting for a reader). */
void log_end(struct logline *l);

/* The process's event loop (the main process's, or a worker's): lines a
 * slow reader could not take yet are written from it when the reader
 * is ready. The handle does not keep the loop alive. */
void log_attach(uv_loop_t *loop);

/* Before the loop is closed: closes the handle (the loop must run once
 * more to finish the close). What is still waiting then gets a bounded
 * last attempt at exit. */
void log_detach(void);

/* Before an exec that replaces the gateway's image: the same bounded
 * last attempt to write what is waiting as at exit. */
void log_flush(void);

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

#endif
