/* The keys of the config file: one table (in the manner of OpenBSD
 * parse.y's keywords[]) saying, for each key, its section, the kind of
 * value it takes, whether it may be given again, and the function that
 * reads that value into the model. The reader looks keys up here, and
 * nowhere else. */
#ifndef GATEWAY_CONFIG_KEYS_H
#define GATEWAY_CONFIG_KEYS_H

#include <stddef.h>

#include "config_key_table.h"

/* The key of that section whose name is the first len bytes of name,
 * or NULL. */
const struct key *config_key_find(enum key_section s, const char *name,
    size_t len);

/* Reads one `key = value` line of `line` into c (and r, the route of the
 * section, NULL in [gateway]); a bad value goes to e. */
void config_key_parse(const struct key *k, const char *value, int line,
    struct config *c, struct route *r, struct config_error *e);

#endif
