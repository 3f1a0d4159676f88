/* What the gateway counts: a route's children (for max_children and
 * max_per_source), and the place one connection holds in those counts
 * while its child lives. Data only: server.c keeps the counts, a child or
 * a worker's connection holds its slot. */
#ifndef GATEWAY_SLOT_H
#define GATEWAY_SLOT_H

#include "config.h"
#include "source.h"

/* What the server counts for a route. It outlives a reload: the new
 * route of the same name takes it over, and children hold it. */
struct route_state {
	unsigned refs;
	char *name;
	unsigned live;                  /* children alive */
	struct source_table sources;    /* live children per source */
};

/* What one connection holds of the server while its child lives: a
 * place in the counts, and the config its route lives in. */
struct slot {
	struct config *config;
	struct route_state *rs;
	struct source_key source;       /* kind 0: not counted */
	int counted;
};

#endif
