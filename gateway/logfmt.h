/* One event line, built in place: see logfmt.c. */
#ifndef GATEWAY_LOGFMT_H
#define GATEWAY_LOGFMT_H

#include <stddef.h>

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
/* The closing "}" (JSON) and the newline: the line is then ready. */
void logline_finish(struct logline *l);

/* Text quoting, exposed for the unit tests: writes the value of a text
 * line (quoted when needed) into dst, returns its length. */
size_t log_quote(char *dst, size_t cap, const char *v, size_t n);

#endif
