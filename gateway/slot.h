/* What the gateway counts: a route's children (for max_children and
 * max_per_source), and the place one connection holds in those counts
 * while its child lives. server.c keeps the gateway's total; a child, or a
 * worker's connection, holds its slot. */
#ifndef GATEWAY_SLOT_H
#define GATEWAY_SLOT_H

#include "config.h"
#include "rate.h"
#include "source.h"

/* What the server counts for a route. It outlives a reload: the new
 * route of the same name takes it over, and children hold it. */
struct route_state {
	unsigned refs;
	char *name;
	unsigned live;                  /* children alive */
	int drained;                    /* takes no new connections (drain) */
	struct source_table sources;    /* live children per source */
	struct rate_limiter rate;       /* max_rate, max_rate_per_source: kept over
	                                 * a reload while the rates stay the same */
};

/* What one connection holds of the server while its child lives: a
 * place in the counts, and the config its route lives in. */
struct slot {
	struct config *config;
	struct route_state *rs;
	struct source_key source;       /* kind 0: not counted */
	int counted;
};

/* States for each route of c: the one of the same name among `old` (the
 * states of config oldc, or NULL), whose children count toward the new
 * limits, or a new one. NULL when out of memory. */
struct route_state **route_states_for(struct route_state **old,
    const struct config *oldc, const struct config *c);
void route_states_release(struct route_state **v, size_t n);

/* Takes a place in the counts of rs for one source, holding rs and the
 * config c the route lives in until slot_release. */
void slot_take(struct slot *sl, struct config *c, struct route_state *rs,
    const struct source_key *src);

/* Out of the counts (the references stay): 1 if it was counted. */
int slot_uncount(struct slot *sl);

/* Drops the references. */
void slot_release(struct slot *sl);

#endif
