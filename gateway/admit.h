/* Admission: the checks between accept and a child, decided from a
 * connection's addresses and the counts its caller keeps. Pure: no
 * sockets, no clocks, no allocation. server.c asks for a route's
 * connections (raw ones at accept or after their PROXY header, HTTP
 * requests once their head names the route); pending.c for connections
 * still to be read. A reason is what `refuse reason=` logs; NULL admits. */
#ifndef GATEWAY_ADMIT_H
#define GATEWAY_ADMIT_H

#include <stddef.h>

#include "config.h"
#include "env.h"
#include "source.h"

/* Who a connection counts as for max_per_source and the share of places
 * being read: its peer's address (a PROXY header's source once believed),
 * or a Unix peer's uid. */
void admit_source_of(const struct conn_info *ci, struct source_key *k);

/* Whether allow/deny refuse the connection's address (a PROXY header's
 * source once believed). A Unix peer has none: never. */
int admit_denies(const struct route *r, const struct conn_info *ci);

/* A connection whose route is known: "deny", "busy" (the route is at
 * max_children: live), "per_source" (its source has max_per_source
 * children already: source_live), or NULL. */
const char *admit_route(const struct route *r, const struct conn_info *ci,
    unsigned live, unsigned source_live);

/* How many connections being read one source may hold on a listener:
 * a quarter of max_pending, at least one. */
unsigned admit_reading_cap(unsigned max_pending);

/* A connection about to be read on a listener of n routes (that agree
 * on max_pending): "deny" when every route denies its address, so that
 * nothing it could send would change the answer; "per_source" when its
 * source already holds its share of the listener's places (reading), or,
 * on a listener of one route that sets max_per_source, when those and
 * the source's children (source_live) reach it; else NULL. */
const char *admit_reading(const struct route *const *routes, size_t n,
    const struct conn_info *ci, unsigned reading, unsigned source_live);

#endif
