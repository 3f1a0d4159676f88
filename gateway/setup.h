/* The setup step: the gateway re-executed between uv_spawn and the
 * route's program, to do what uv_spawn cannot (PLATFORM.md): rlimits,
 * umask, supplementary groups, and chdir after the ids are dropped;
 * and on a pty route the terminal on fd 0 made the controlling one. Like
 * s6's chain-loading programs it does its one job and execs the next. */
#ifndef GATEWAY_SETUP_H
#define GATEWAY_SETUP_H

#include "config.h"
#include "words.h"

#define SETUP_ARG "--setup"
#define SETUP_STATUS_FD 3       /* where a failure is reported */

/* Whether the route's children go through the setup step. */
int setup_needed(const struct route *r);

/* The argv that runs the setup step (self is the gateway's binary) and
 * then the program `exec` with `argv` (the route's, or the one a
 * request names in its exec_dir). Returns 0 or -ENOMEM. */
int setup_argv(const struct route *r, const char *exec, char *const *argv,
    const char *self, struct strv *out);

/* The setup mode's main: argv as built above. Execs or exits 127 after
 * writing "errno stage" to SETUP_STATUS_FD. */
int setup_main(int argc, char **argv);

#endif
