/* Reading the config file: inih's parse driven through a line reader of
 * our own, each key handed to the table of keys (config_keys.h). */
#ifndef GATEWAY_CONFIG_READ_H
#define GATEWAY_CONFIG_READ_H

#include <stddef.h>

#include "config_error.h"
#include "config_model.h"

/* Reads every section and `key = value` line of text into c (whose path
 * and dir are set), reporting to e. Returns the number of lines read. */
int config_read(struct config *c, const char *text, size_t len,
    struct config_error *e);

#endif
