/* A route's config against the system it will run on: the program (or
 * script directory) and the working directory exist, the users and groups it names resolve.
 * Each reports to the config's error, on the line of the key. */
#ifndef GATEWAY_CONFIG_SYS_H
#define GATEWAY_CONFIG_SYS_H

#include "config_error.h"
#include "config_model.h"

/* exec: a regular file we may execute. */
void config_sys_exec(const struct route *r, struct config_error *e);

/* exec_dir: a directory (its programs are looked for per request). */
void config_sys_exec_dir(const struct route *r, struct config_error *e);

/* cwd: a directory. */
void config_sys_cwd(const struct route *r, struct config_error *e);

/* user and group: their ids, and the user's groups (initgroups), if the
 * gateway may change ids or they are its own. */
void config_sys_ids(struct route *r, struct config_error *e);

/* socket_user and socket_group: the owner of the Unix socket files. */
void config_sys_socket_owner(struct route *r, struct config_error *e);

#endif
