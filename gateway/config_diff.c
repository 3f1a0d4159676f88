/* The reload diff (config_diff.h): which socket of the running config
 * each listen address of a new one keeps, as plain data. reload.c opens
 * and closes what it says. */
#include "config_diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One socket for both: the same address, and a real one (port-0
 * addresses compare the same but are sockets of their own). */
static int one_socket(const struct listen_addr *a, const struct listen_addr *b)
{
	return addr_same(a, b) && addr_overlap(a, b);
}

/* HTTP routes written with one address share one socket: the address
 * of an earlier route that address j of route i joins, or NULL. */
static const struct listen_addr *joins(const struct config *c, size_t i,
    size_t j)
{
	const struct listen_addr *a = &c->routes[i].listen[j];

	for (size_t x = 0; x < i; x++)
		for (size_t y = 0; y < c->routes[x].nlisten; y++)
			if (one_socket(a, &c->routes[x].listen[y]))
				return &c->routes[x].listen[y];
	return NULL;
}

/* Every address of c, in order, with the one it joins. */
static int list(const struct config *c, struct config_diff *d)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < c->nroutes; i++)
		total += c->routes[i].nlisten;
	d->n = total;
	d->v = calloc(total ? total : 1, sizeof *d->v);
	if (!d->v)
		return -ENOMEM;
	for (size_t i = 0; i < c->nroutes; i++)
		for (size_t j = 0; j < c->routes[i].nlisten; j++, k++) {
			d->v[k].route = &c->routes[i];
			d->v[k].addr = &c->routes[i].listen[j];
			d->v[k].joins = joins(c, i, j);
		}
	return 0;
}

/* The first socket of old (an address that joins none) not yet taken
 * that is the same as a, and of a route of the same name if by_name. */
static size_t find(const struct config_diff *old, const struct addr_diff *a,
    const char *taken, int by_name)
{
	for (size_t o = 0; o < old->n; o++)
		if (!old->v[o].joins && !taken[o] &&
		    addr_same(old->v[o].addr, a->addr) &&
		    (!by_name || strcmp(old->v[o].route->name, a->route->name) == 0))
			return o;
	return old->n;
}

static void keep(struct config_diff *d, const struct config_diff *old,
    char *taken, int by_name)
{
	for (size_t k = 0; k < d->n; k++) {
		struct addr_diff *a = &d->v[k];
		size_t o;
		if (a->joins || a->keeps)
			continue;
		o = find(old, a, taken, by_name);
		if (o < old->n) {
			taken[o] = 1;
			a->keeps = old->v[o].addr;
		}
	}
}

int config_diff(const struct config *old, const struct config *new,
    struct config_diff *d)
{
	struct config_diff o = { 0 };
	char *taken = NULL;
	int r;

	memset(d, 0, sizeof *d);
	if ((r = list(new, d)) < 0 || !old)
		return r;
	if ((r = list(old, &o)) == 0 && !(taken = calloc(o.n + 1, 1)))
		r = -ENOMEM;
	if (r == 0) {
		/* The route of the same name first, then any. */
		keep(d, &o, taken, 1);
		keep(d, &o, taken, 0);
	}
	free(taken);
	config_diff_free(&o);
	if (r < 0)
		config_diff_free(d);
	return r;
}

void config_diff_free(struct config_diff *d)
{
	free(d->v);
	d->v = NULL;
	d->n = 0;
}
