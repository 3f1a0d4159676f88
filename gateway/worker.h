/* workers > 1, a worker's side: `gatewayd --worker PATH SOFT HARD`, started
 * by the main process with its end of a socketpair on fd 3. It spawns and
 * watches the children of the connections the main process hands it (an
 * HTTP route's head with them: the worker parses it again and runs the
 * request), keeps those it cannot spawn for yet, and sends back a socket
 * it has no descriptor for. */
#ifndef GATEWAY_WORKER_H
#define GATEWAY_WORKER_H

int worker_main(int argc, char **argv);

#endif
