#include "slot.h"

#include <stdlib.h>
#include <string.h>

static struct route_state *state_new(const char *name)
{
	struct route_state *rs = calloc(1, sizeof *rs);

	if (rs && !(rs->name = strdup(name))) {
		free(rs);
		return NULL;
	}
	if (rs)
		rs->refs = 1;
	return rs;
}

static void state_release(struct route_state *rs)
{
	if (!rs || --rs->refs > 0)
		return;
	source_table_free(&rs->sources);
	rate_limiter_free(&rs->rate);
	free(rs->name);
	free(rs);
}

struct route_state **route_states_for(struct route_state **old,
    const struct config *oldc, const struct config *c)
{
	struct route_state **v = calloc(c->nroutes ? c->nroutes : 1, sizeof *v);

	for (size_t i = 0; v && i < c->nroutes; i++) {
		for (size_t j = 0; old && oldc && j < oldc->nroutes; j++)
			if (strcmp(old[j]->name, c->routes[i].name) == 0) {
				v[i] = old[j];
				v[i]->refs++;
			}
		if (!v[i] && !(v[i] = state_new(c->routes[i].name))) {
			while (i-- > 0)
				state_release(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

void route_states_release(struct route_state **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		state_release(v[i]);
	free(v);
}

void slot_take(struct slot *sl, struct config *c, struct route_state *rs,
    const struct source_key *src)
{
	sl->config = c;
	config_hold(c);
	sl->rs = rs;
	rs->refs++;
	rs->live++;
	sl->source = *src;
	/* Without memory for the entry the source goes uncounted. */
	if (source_add(&rs->sources, src) < 0)
		sl->source.kind = 0;
	sl->counted = 1;
}

int slot_uncount(struct slot *sl)
{
	if (!sl->counted)
		return 0;
	sl->counted = 0;
	sl->rs->live--;
	if (sl->source.kind)
		source_remove(&sl->rs->sources, &sl->source);
	return 1;
}

void slot_release(struct slot *sl)
{
	state_release(sl->rs);
	config_release(sl->config);
	sl->rs = NULL;
	sl->config = NULL;
}
