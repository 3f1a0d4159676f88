/* HAProxy's agent-check (`agent = HOST:PORT`): a TCP socket on the main
 * process's loop that answers each client one line, the state its owner
 * gives (`up 75%`, `drain`, `maint`), and closes. Nothing is read. */
#ifndef GATEWAY_AGENT_H
#define GATEWAY_AGENT_H

#include <stddef.h>
#include <uv.h>

#include "addr.h"
#include "config_model.h"
#include "listener.h"

struct agent;

/* The owner embeds its agent_owner and finds itself with container_of. */
struct agent_owner {
	/* The line to answer, without its newline, into buf. */
	void (*state)(struct agent_owner *o, char *buf, size_t len);
};

struct agent {
	uv_loop_t *loop;
	struct agent_owner *owner;
	struct listener *l;
	uv_timer_t retry;               /* accepting again after a shortage */
	int open;
};

/* Opens the socket at a (copied). 0, or -1 with err saying why. */
int agent_open(struct agent *ag, uv_loop_t *loop, struct agent_owner *o,
    const struct listen_addr *a, char *err, size_t errlen);

/* Its bound address, for the log. */
const char *agent_name(const struct agent *ag);

void agent_close(struct agent *ag);

#endif
