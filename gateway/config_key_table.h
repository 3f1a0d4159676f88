/* What a table of config keys is made of: a key (its section, the kind
 * of value it takes, whether it may be given again, the function that
 * reads it) and the line a key's function gets. config_keys.c holds the
 * routes' table and looks keys up; config_keys_gateway.c holds the
 * [gateway] section's. */
#ifndef GATEWAY_CONFIG_KEY_TABLE_H
#define GATEWAY_CONFIG_KEY_TABLE_H

#include <stdarg.h>
#include <stddef.h>

#include "config_error.h"
#include "config_model.h"

enum key_section { KEY_GATEWAY, KEY_ROUTE };

/* The kinds the table reads itself (number, seconds, one of some words)
 * and those the key's own function reads. */
enum key_value {
	VAL_NUMBER,                     /* decimal, from min to max */
	VAL_SECONDS,                    /* decimal seconds */
	VAL_CHOICE,                     /* one of choices */
	VAL_OCTAL,                      /* a mode or a mask */
	VAL_PATH,                       /* relative to the config's directory */
	VAL_NAME,                       /* a user or group: name or number */
	VAL_WORDS,                      /* split as a shell splits, no expansion */
	VAL_ADDRS,                      /* listen addresses */
	VAL_CIDRS,                      /* addresses and CIDR blocks */
	VAL_ENV,                        /* NAME=VALUE */
	VAL_LIMIT,                      /* N, SOFT:HARD or unlimited */
	VAL_TEXT,                       /* anything else the function checks */
};

struct key_line;

struct key_choice {
	const char *word;
	int value;                      /* what the model stores for it */
};

struct key {
	enum key_section section;
	const char *name;
	enum key_value value;
	int repeatable;                 /* each line adds to a list */
	void (*parse)(struct key_line *l);
	long min, max;                  /* VAL_NUMBER */
	const struct key_choice *choices; /* VAL_CHOICE, ended by a NULL word */
};

/* One `key = value` line, as a key's function gets it: the value as
 * written, and already read for the kinds the table reads itself. */
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

/* A bad value: the line's FILE:LINE: message. */
static inline void key_bad(struct key_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void key_bad(struct key_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail(l->err, l->line, fmt, ap);
	va_end(ap);
}

/* The table's entries. */
#define KEY(s, n, v, r, f, ...) \
	{ .section = s, .name = n, .value = v, .repeatable = r, .parse = f, __VA_ARGS__ }
#define CHOICES(...) .choices = (const struct key_choice[]){ __VA_ARGS__, { NULL, 0 } }
#define KEY_ONCE 0
#define KEY_MANY 1                      /* repeatable */

#endif
