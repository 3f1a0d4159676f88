/* The new image's side of an in-place upgrade: what the image before
 * handed over, and its descriptors, owned here until each is taken (a
 * listener by listener.c, a child, a worker or a connection by the
 * server); those nobody takes are closed. */
#ifndef GATEWAY_HANDOVER_H
#define GATEWAY_HANDOVER_H

#include "handover_text.h"

#define HANDOVER_FAILED_ENV "GATEWAYD_UPGRADE_FAILED"

/* Reads what GATEWAYD_UPGRADE names ("MEMFD BACK": the text, and the
 * binary before, which this one falls back to if it cannot go on), if
 * set, and unsets it: 1 when this image takes over from another
 * (handover_get then has it), 0 when it starts afresh, -1 with err
 * saying why it cannot be read (and the binary before could not be
 * run). argv: the command line, for the fall back. */
int handover_init(char **argv, char *err, size_t errlen);
struct handover *handover_get(void);

/* This image cannot go on (the handover, the config or a listener
 * failed it): logs upgrade_error and re-executes the binary before with
 * the same handover and GATEWAYD_UPGRADE_FAILED=why, which goes on with
 * the config it had (handover->config_fd) and answers the control client
 * with the error. Returns only when that cannot be done (no binary
 * before, or this image is the one fallen back to). */
void handover_fall_back(const char *why);

/* In an image fallen back to: why the upgrade failed, else NULL. */
const char *handover_failed(void);

/* Whether fd is a handed listening socket not yet taken up for good: a
 * start that fails leaves it open for the fall back. */
int handover_holds(int fd);

/* The start has gone through: nothing falls back from now on. */
void handover_commit(void);

/* The descriptors handed over, for the list of those inherited on
 * purpose: up to max into fds; returns how many there are. */
size_t handover_fds(int *fds, size_t max);

/* The listening socket handed over for the address written `text` in
 * family, opened for route (or, the route renamed, for another), or
 * -ENOENT: the caller owns it now. Two routes may write the same text
 * (port 0): the route tells their sockets apart. */
int handover_take_listener(const char *route, const char *text, int family,
    struct handed_listener **l);

/* Closes every handed descriptor nobody took (a listener the config no
 * longer names: its socket file is removed if the gateway made it; the
 * reply, once answered, is the caller's to close). */
void handover_close_unused(void);

#endif
