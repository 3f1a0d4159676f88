/* A config: parsed and checked whole from the INI file, then held by
 * the server and its children for as long as one of them needs it.
 * Building a config never touches a socket; the runtime takes a
 * finished one. The model itself is config_model.h. */
#ifndef GATEWAY_CONFIG_H
#define GATEWAY_CONFIG_H

#include "config_model.h"

/* Parses and checks the text of the config file at `path` (used for
 * messages and for resolving relative paths). On error returns NULL and
 * writes "FILE:LINE: message" into err. */
struct config *config_parse(const char *path, const char *text, size_t len,
    char *err, size_t errlen);

/* Reads and parses the file. */
struct config *config_load(const char *path, char *err, size_t errlen);

/* Parses the text of a memfd the main process sent (a worker's config):
 * the same bytes the main process checked, so the programs named are not
 * looked for again (one removed since fails at spawn, as it would in a
 * single process). NULL after logging a warning. */
struct config *config_from_fd(const char *path, int fd);

/* A config lives while the server or a child of it holds it. */
void config_hold(struct config *c);
void config_release(struct config *c);
void config_free(struct config *c);

#endif
