/* The [gateway] section's table of keys: the limits, the stop, the log,
 * the workers, the control socket and the agent-check port. */
#ifndef GATEWAY_CONFIG_KEYS_GATEWAY_H
#define GATEWAY_CONFIG_KEYS_GATEWAY_H

#include <stddef.h>

#include "config_key_table.h"

/* The [gateway] key whose name is the first len bytes of name, or NULL. */
const struct key *config_key_find_gateway(const char *name, size_t len);

#endif
