/* The [gateway] section's keys: their table, and the function that reads
 * each one's value into the model. */
#include "config_keys_gateway.h"
#include "config_value.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

static void gateway_max_children(struct key_line *l)
{
	l->c->max_children = (unsigned)l->number;
}

static void gateway_shutdown_grace(struct key_line *l)
{
	l->c->shutdown_grace = l->seconds;
}

static void gateway_kill_grace(struct key_line *l)
{
	l->c->kill_grace = l->seconds;
}

static void gateway_drain_delay(struct key_line *l)
{
	l->c->drain_delay = l->seconds;
}

static void gateway_on_shutdown(struct key_line *l)
{
	l->c->on_shutdown = (enum on_shutdown)l->choice;
}

static void gateway_log_format(struct key_line *l)
{
	l->c->log_format = (enum log_format)l->choice;
}

static void gateway_workers(struct key_line *l)
{
	long n;

	if (strcmp(l->text, "auto") == 0) {
		/* One per CPU, up to the limit a number has too. */
		l->c->workers = uv_available_parallelism();
		if (l->c->workers > WORKERS_MAX)
			l->c->workers = WORKERS_MAX;
	} else if (value_number(l->text, 1, WORKERS_MAX, &n) < 0) {
		key_bad(l, "workers: expected a number from 1 to %d or auto, not '%s'",
		    WORKERS_MAX, l->text);
	} else {
		l->c->workers = (unsigned)n;
	}
}

/* control = unix:PATH (a relative path is the config directory's, as in
 * listen) or unix:@NAME. */
static void gateway_control(struct key_line *l)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	const char *err;

	if (strncmp(l->text, "unix:", 5) != 0) {
		key_bad(l, "control: expected unix:PATH or unix:@NAME, not '%s'", l->text);
		return;
	}
	if (addr_parse(l->text, l->c->dir, a, &err) < 0) {
		key_bad(l, "control '%s': %s", l->text, err);
		return;
	}
	l->c->control = a[0];
	l->c->control.line = l->line;
	l->c->has_control = 1;
}

static void gateway_control_mode(struct key_line *l)
{
	if (value_octal(l->text, &l->c->control_mode) < 0)
		key_bad(l, "control_mode: expected an octal mode such as 0660, not '%s'",
		    l->text);
}

/* agent = HOST:PORT: one TCP socket. */
static void gateway_metrics(struct key_line *l)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	const char *err;
	int k = addr_parse(l->text, l->c->dir, a, &err);

	if (k < 0)
		key_bad(l, "metrics '%s': %s", l->text, err);
	else if (k != 1 || a[0].systemd)
		key_bad(l, "metrics '%s': expected one HOST:PORT or unix:PATH", l->text);
	else
		l->c->metrics = a[0];
}

static void gateway_metrics_mode(struct key_line *l)
{
	if (value_octal(l->text, &l->c->metrics_mode) < 0)
		key_bad(l, "metrics_mode: expected an octal mode such as 0660, not '%s'", l->text);
}

static void gateway_agent(struct key_line *l)
{
	struct listen_addr a[ADDR_MAX_PER_TEXT];
	const char *err;
	int n = addr_parse(l->text, l->c->dir, a, &err);

	if (n < 0) {
		key_bad(l, "agent '%s': %s", l->text, err);
		return;
	}
	if (n != 1 || (a[0].family != AF_INET && a[0].family != AF_INET6)) {
		key_bad(l, "agent: expected one TCP address (HOST:PORT, [IPV6]:PORT "
		    "or *:PORT), not '%s'", l->text);
		return;
	}
	l->c->agent = a[0];
	l->c->agent.line = l->line;
	l->c->has_agent = 1;
}

#define G KEY_GATEWAY
#define ONCE KEY_ONCE

static const struct key keys[] = {
	KEY(G, "max_children", VAL_NUMBER, ONCE, gateway_max_children, .min = 1, .max = 1000000),
	KEY(G, "shutdown_grace", VAL_SECONDS, ONCE, gateway_shutdown_grace),
	KEY(G, "kill_grace", VAL_SECONDS, ONCE, gateway_kill_grace),
	KEY(G, "drain_delay", VAL_SECONDS, ONCE, gateway_drain_delay),
	KEY(G, "on_shutdown", VAL_CHOICE, ONCE, gateway_on_shutdown,
	    CHOICES({ "wait", SHUTDOWN_WAIT }, { "detach", SHUTDOWN_DETACH })),
	KEY(G, "log_format", VAL_CHOICE, ONCE, gateway_log_format,
	    CHOICES({ "text", LOG_TEXT }, { "json", LOG_JSON })),
	KEY(G, "workers", VAL_TEXT, ONCE, gateway_workers),
	KEY(G, "control", VAL_ADDRS, ONCE, gateway_control),
	KEY(G, "control_mode", VAL_OCTAL, ONCE, gateway_control_mode),
	KEY(G, "agent", VAL_ADDRS, ONCE, gateway_agent),
	KEY(G, "metrics", VAL_TEXT, ONCE, gateway_metrics),
	KEY(G, "metrics_mode", VAL_OCTAL, ONCE, gateway_metrics_mode),
};

#undef G
#undef ONCE

const struct key *config_key_find_gateway(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}
