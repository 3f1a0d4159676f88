/* A control socket's command line, parsed: the command and its argument
 * (a route's name, `all`, or a connection id). Pure: no state, no I/O. */
#ifndef GATEWAY_ADMIN_CMD_H
#define GATEWAY_ADMIN_CMD_H

#include <stdint.h>

enum admin_cmd {
	CMD_STATUS,                     /* status */
	CMD_CONNS,                      /* conns [ROUTE] */
	CMD_KILL,                       /* kill ID */
	CMD_DRAIN,                      /* drain ROUTE|all */
	CMD_RESUME,                     /* resume ROUTE|all */
	CMD_RELOAD,                     /* reload */
	CMD_UPGRADE,                    /* upgrade */
};

struct admin_command {
	enum admin_cmd cmd;
	const char *name;               /* the command's word */
	char route[128];                /* conns, drain, resume: "" for none */
	int all;                        /* drain all, resume all */
	uint64_t id;                    /* kill */
};

/* Parses one line (no newline): words separated by blanks. 0, or -1 with
 * *err saying what is wrong. */
int admin_parse(const char *line, struct admin_command *out, const char **err);

#endif
