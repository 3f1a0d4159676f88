/* One `key = value` line as a key's reading function gets it: the value
 * as written, already read for the kinds the key table reads itself
 * (config_keys.c fills it), and key_bad, the one way such a function
 * refuses the value. Shared by the files that hold the keys' functions. */
#ifndef GATEWAY_CONFIG_LINE_H
#define GATEWAY_CONFIG_LINE_H

#include <stdarg.h>

#include "config_error.h"
#include "config_model.h"

struct key;

struct key_line {
	const struct key *key;
	const char *name;               /* the key's, for messages */
	const char *text;
	long number;                    /* VAL_NUMBER */
	double seconds;                 /* VAL_SECONDS */
	int choice;                     /* VAL_CHOICE: the word's value */
	int line;
	struct config *c;
	struct route *r;                /* NULL in [gateway] */
	struct config_error *err;
};

static inline void key_bad(struct key_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void key_bad(struct key_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail(l->err, l->line, fmt, ap);
	va_end(ap);
}

#endif
