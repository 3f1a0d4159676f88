/* The keys of the config file: one table (in the manner of OpenBSD
 * parse.y's keywords[]) saying, for each key, its section, the kind of
 * value it takes, whether it may be given again, and the function that
 * reads that value into the model. The reader looks keys up here, and
 * nowhere else. */
#ifndef GATEWAY_CONFIG_KEYS_H
#define GATEWAY_CONFIG_KEYS_H

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

struct key_choice {
	const char *word;
	int value;                      /* what the model stores for it */
};

struct key_line;

struct key {
	enum key_section section;
	const char *name;
	enum key_value value;
	int repeatable;                 /* each line adds to a list */
	void (*parse)(struct key_line *l);
	long min, max;                  /* VAL_NUMBER */
	const struct key_choice *choices; /* VAL_CHOICE, ended by a NULL word */
};

/* The key of that section whose name is the first len bytes of name,
 * or NULL. */
const struct key *config_key_find(enum key_section s, const char *name,
    size_t len);

/* Reads one `key = value` line of `line` into c (and r, the route of the
 * section, NULL in [gateway]); a bad value goes to e. */
void config_key_parse(const struct key *k, const char *value, int line,
    struct config *c, struct route *r, struct config_error *e);

#endif
