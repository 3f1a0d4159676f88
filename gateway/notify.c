#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#define STATUS_MS 1000

static int on;                          /* NOTIFY_SOCKET is set */
static uv_timer_t watchdog, status_timer;
static int timers;                      /* initialised */
static char sent[256], wanted[256];
static uint64_t last_sent;              /* loop ms */
static uv_loop_t *loop_of;

static void send_status(void)
{
	if (strcmp(sent, wanted) == 0)
		return;
	snprintf(sent, sizeof sent, "%s", wanted);
	last_sent = uv_now(loop_of);
	sd_notifyf(0, "STATUS=%s", sent);
}

static void on_status_timer(uv_timer_t *t)
{
	(void)t;
	send_status();
}

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

/* The STATUS= line of a call, into wanted. */
#define WANT(fmt) do {                                                  \
	va_list ap;                                                     \
	va_start(ap, fmt);                                              \
	vsnprintf(wanted, sizeof wanted, fmt, ap);                      \
	va_end(ap);                                                     \
} while (0)

/* A state (READY=1, STOPPING=1) with the STATUS= line in wanted. */
static void send_state(const char *state)
{
	snprintf(sent, sizeof sent, "%s", wanted);
	last_sent = uv_now(loop_of);
	sd_notifyf(0, "%s\nSTATUS=%s", state, sent);
}

void notify_ready(uv_loop_t *loop, const char *fmt, ...)
{
	uint64_t usec = 0;

	on = getenv("NOTIFY_SOCKET") != NULL;
	if (!on)
		return;
	loop_of = loop;
	WANT(fmt);
	send_state("READY=1");
	uv_timer_init(loop, &status_timer);
	uv_timer_init(loop, &watchdog);
	uv_unref((uv_handle_t *)&status_timer);
	uv_unref((uv_handle_t *)&watchdog);
	timers = 1;
	/* WATCHDOG_USEC (for this process: WATCHDOG_PID, if set, is ours). */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) {
		sd_notify(0, "WATCHDOG=1");
		uv_timer_start(&watchdog, on_watchdog, usec / 2000, usec / 2000);
	}
}

void notify_reloading(void)
{
	struct timespec ts;

	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
}

void notify_reloaded(const char *fmt, ...)
{
	if (!on)
		return;
	WANT(fmt);
	send_state("READY=1");
}

void notify_stopping(const char *fmt, ...)
{
	if (!on)
		return;
	WANT(fmt);
	send_state("STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	uint64_t now;

	if (!on || !timers)
		return;
	WANT(fmt);
	if (strcmp(sent, wanted) == 0)
		return;
	now = uv_now(loop_of);
	if (now - last_sent >= STATUS_MS)
		send_status();
	else if (!uv_is_active((uv_handle_t *)&status_timer))
		uv_timer_start(&status_timer, on_status_timer,
		    STATUS_MS - (now - last_sent), 0);
}

void notify_close(void)
{
	if (!timers)
		return;
	timers = 0;
	uv_close((uv_handle_t *)&watchdog, NULL);
	uv_close((uv_handle_t *)&status_timer, NULL);
}
