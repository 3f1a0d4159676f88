/* The reload diff: for each listen address of a new config, whether it
 * keeps a socket of the running config, opens one of its own, or shares
 * an earlier route's. Pure: it compares two configs and opens nothing. */
#ifndef GATEWAY_CONFIG_DIFF_H
#define GATEWAY_CONFIG_DIFF_H

#include <stddef.h>

#include "config_model.h"

/* What becomes of one listen address of the new config. */
struct addr_diff {
	const struct route *route;      /* of the new config */
	const struct listen_addr *addr; /* one of route->listen */
	/* The earlier address of the new config whose socket this one
	 * joins (HTTP routes written with one address), or NULL. */
	const struct listen_addr *joins;
	/* The old config's address whose socket it keeps, or NULL: it
	 * opens one (always NULL when it joins another). */
	const struct listen_addr *keeps;
};

struct config_diff {
	struct addr_diff *v;            /* every address of new, in order */
	size_t n;
};

/* The diff from old (NULL: nothing runs yet) to new. A socket of old is
 * kept first by the route of the same name, so that routes written
 * alike (port 0) keep theirs, then by the first address that is the same
 * socket (addr_same), in order. Returns 0 or -ENOMEM. */
int config_diff(const struct config *old, const struct config *new,
    struct config_diff *d);
void config_diff_free(struct config_diff *d);

#endif
