/* The config as a whole, once every line is read: what each route needs,
 * keys that only go together, and listen addresses that would take each
 * other's connections. */
#ifndef GATEWAY_CONFIG_CHECK_H
#define GATEWAY_CONFIG_CHECK_H

#include "config_error.h"
#include "config_model.h"

/* Checks c (read from `lines` lines) and fills in what follows from its
 * keys (a route's default cwd and path, its argv), reporting to e. With
 * `checked` (the text the main process has checked) the program and
 * cwd are not looked for again. */
void config_check(struct config *c, int lines, int checked,
    struct config_error *e);

#endif
