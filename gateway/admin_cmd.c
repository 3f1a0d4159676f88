/* Parsing a control socket's command line. */
#include "admin_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WORDS_MAX 3

static const struct {
	const char *word;
	enum admin_cmd cmd;
	int min, max;                   /* arguments taken */
} commands[] = {
	{ "status", CMD_STATUS, 0, 0 },
	{ "conns", CMD_CONNS, 0, 1 },
	{ "kill", CMD_KILL, 1, 1 },
	{ "drain", CMD_DRAIN, 1, 1 },
	{ "resume", CMD_RESUME, 1, 1 },
	{ "reload", CMD_RELOAD, 0, 0 },
	{ "upgrade", CMD_UPGRADE, 0, 0 },
};

/* Splits line on blanks into at most WORDS_MAX words (pointers into
 * buf, a copy); -1 if there are more. */
static int split(const char *line, char *buf, size_t len, char **w)
{
	int n = 0;
	char *p;

	if (strlen(line) >= len)
		return -1;
	strcpy(buf, line);
	for (p = strtok(buf, " \t"); p; p = strtok(NULL, " \t")) {
		if (n == WORDS_MAX)
			return -1;
		w[n++] = p;
	}
	return n;
}

/* A route's name, as a section may be named: [A-Za-z0-9_.-]+. */
static int route_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_' && *s != '.' && *s != '-')
			return 0;
	return 1;
}

static int conn_id(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -1;
	*out = v;
	return 0;
}

int admin_parse(const char *line, struct admin_command *out, const char **err)
{
	char buf[256], *w[WORDS_MAX];
	int n = split(line, buf, sizeof buf, w);
	size_t i = 0;

	memset(out, 0, sizeof *out);
	if (n < 0) {
		*err = "too many words";
		return -1;
	}
	if (n == 0) {
		*err = "empty command";
		return -1;
	}
	while (i < sizeof commands / sizeof *commands && strcmp(commands[i].word, w[0]))
		i++;
	if (i == sizeof commands / sizeof *commands) {
		*err = "unknown command (status, conns, kill, drain, resume, reload, upgrade)";
		return -1;
	}
	out->cmd = commands[i].cmd;
	out->name = commands[i].word;
	if (n - 1 < commands[i].min || n - 1 > commands[i].max) {
		*err = commands[i].max == 0 ? "takes no argument" :
		    out->cmd == CMD_KILL ? "usage: kill ID" :
		    out->cmd == CMD_CONNS ? "usage: conns [ROUTE]" :
		    "usage: drain|resume ROUTE|all";
		return -1;
	}
	if (n == 1)
		return 0;
	if (out->cmd == CMD_KILL) {
		if (conn_id(w[1], &out->id) < 0) {
			*err = "a connection id is a number from 1";
			return -1;
		}
		return 0;
	}
	if (out->cmd != CMD_CONNS && strcmp(w[1], "all") == 0) {
		out->all = 1;
		return 0;
	}
	if (!route_name(w[1]) || strlen(w[1]) >= sizeof out->route) {
		*err = "not a route name";
		return -1;
	}
	strcpy(out->route, w[1]);
	return 0;
}
