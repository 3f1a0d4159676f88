#include "admit.h"

#include "acl.h"

void admit_source_of(const struct conn_info *ci, struct source_key *k)
{
	if (ci->tcp)
		source_key_addr(k, (const struct sockaddr *)&ci->peer);
	else
		source_key_uid(k, ci->uid);
}

int admit_denies(const struct route *r, const struct conn_info *ci)
{
	const struct sockaddr *peer = (const struct sockaddr *)&ci->peer;

	return ci->tcp && ((r->deny.n && acl_match(&r->deny, peer)) ||
	    (r->allow.n && !acl_match(&r->allow, peer)));
}

const char *admit_route(const struct route *r, const struct conn_info *ci,
    unsigned live, unsigned source_live)
{
	if (admit_denies(r, ci))
		return "deny";
	if (r->max_children && live >= r->max_children)
		return "busy";
	if (r->max_per_source && source_live >= r->max_per_source)
		return "per_source";
	return NULL;
}

unsigned admit_reading_cap(unsigned max_pending)
{
	return max_pending / 4 ? max_pending / 4 : 1;
}

const char *admit_reading(const struct route *const *routes, size_t n,
    const struct conn_info *ci, unsigned reading, unsigned source_live)
{
	size_t denied = 0;

	for (size_t i = 0; i < n; i++)
		denied += admit_denies(routes[i], ci) != 0;
	if (n && denied == n)
		return "deny";
	if (n && reading >= admit_reading_cap(routes[0]->max_pending))
		return "per_source";
	if (n == 1 && routes[0]->max_per_source &&
	    reading + source_live >= routes[0]->max_per_source)
		return "per_source";
	return NULL;
}
