/* Socket activation: the listening sockets systemd passed to the gateway
 * (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, read through libsystemd), each
 * named by its unit's FileDescriptorName= and taken by the routes that
 * say `listen = systemd:NAME`. Read once, first thing at start; the
 * variables are then gone from the gateway's environment, and the
 * descriptors are close-on-exec, so no child sees either. A socket taken
 * and later closed (a reload that no longer names it) cannot come back:
 * systemd gives it once. */
#ifndef GATEWAY_ACTIVATION_H
#define GATEWAY_ACTIVATION_H

#include <stddef.h>

/* Reads what systemd passed, if anything. 0, or a negative errno. */
int activation_init(void);

/* The passed descriptors, for the list of those handed on purpose: up to
 * max of them into fds; returns how many there are. */
size_t activation_fds(int *fds, size_t max);

/* Takes the socket passed as name: its descriptor (the caller's now), or
 * -ENOENT when none was passed so, -EBADF when it was taken and closed
 * already. */
int activation_take(const char *name);

/* The socket taken as descriptor fd is closed for good (its listener is
 * closing it). */
void activation_closed(int fd);

/* The socket taken as descriptor fd is not used after all (the reload
 * that took it failed): it may be taken again. */
void activation_give_back(int fd);

/* Closes the passed sockets no route took, each logged as a warning. */
void activation_close_unused(void);

#endif
