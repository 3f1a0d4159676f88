/* What the gateway tells the service manager that started it, when
 * NOTIFY_SOCKET says one listens (systemd's Type=notify, through
 * libsystemd's sd_notify): READY=1 once every listener is open,
 * RELOADING=1 and READY=1 again around a reload, STOPPING=1, a STATUS=
 * line kept current, and WATCHDOG=1 at half of WATCHDOG_USEC, sent from
 * the event loop so that a loop that is stuck is caught. Nothing at all
 * without NOTIFY_SOCKET. The variables stay in the gateway's own
 * environment (a gateway that re-executes itself goes on notifying);
 * children never get them, as their environment is built from scratch. */
#ifndef GATEWAY_NOTIFY_H
#define GATEWAY_NOTIFY_H

#include <uv.h>

/* READY=1, with a STATUS= line (printf's format); starts the watchdog's
 * timer on loop. The functions below format their line only when there
 * is someone to tell. */
void notify_ready(uv_loop_t *loop, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RELOADING=1 with MONOTONIC_USEC=, before a reload is read. */
void notify_reloading(void);

/* READY=1 after a reload, done or failed, with STATUS= saying which. */
void notify_reloaded(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STOPPING=1, once a stop begins. */
void notify_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* STATUS=: sent when it differs from the last one, at most once a
 * second (a later change is sent when the second is over). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Closes the timers, for a loop that is ending. */
void notify_close(void);

#endif
