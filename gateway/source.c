#include "source.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct source_entry {
	struct source_key key;
	unsigned count;
	struct source_entry *next;
};

void source_key_addr(struct source_key *k, const struct sockaddr *sa)
{
	memset(k, 0, sizeof *k);
	if (sa->sa_family == AF_INET) {
		k->kind = 4;
		memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			k->kind = 4;
			memcpy(k->addr, a->s6_addr + 12, 4);
		} else {
			k->kind = 6;
			memcpy(k->addr, a->s6_addr, 16);
		}
	}
}

void source_key_uid(struct source_key *k, uid_t uid)
{
	memset(k, 0, sizeof *k);
	k->kind = 'u';
	memcpy(k->addr, &uid, sizeof uid);
}

static unsigned hash(const struct source_key *k)
{
	uint32_t h = 2166136261u ^ (uint32_t)k->kind;

	for (size_t i = 0; i < sizeof k->addr; i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h % SOURCE_BUCKETS;
}

static struct source_entry **find(struct source_table *t,
    const struct source_key *k)
{
	struct source_entry **e = &t->bucket[hash(k)];

	while (*e && memcmp(&(*e)->key, k, sizeof *k) != 0)
		e = &(*e)->next;
	return e;
}

unsigned source_count(const struct source_table *t, const struct source_key *k)
{
	struct source_entry *e = *find((struct source_table *)t, k);

	return e ? e->count : 0;
}

int source_add(struct source_table *t, const struct source_key *k)
{
	struct source_entry **e = find(t, k);

	if (!*e) {
		*e = calloc(1, sizeof **e);
		if (!*e)
			return -ENOMEM;
		(*e)->key = *k;
	}
	(*e)->count++;
	return 0;
}

void source_remove(struct source_table *t, const struct source_key *k)
{
	struct source_entry **e = find(t, k), *gone;

	if (!*e)
		return;
	if (--(*e)->count > 0)
		return;
	gone = *e;
	*e = gone->next;
	free(gone);
}

void source_table_free(struct source_table *t)
{
	for (size_t i = 0; i < SOURCE_BUCKETS; i++)
		while (t->bucket[i]) {
			struct source_entry *next = t->bucket[i]->next;
			free(t->bucket[i]);
			t->bucket[i] = next;
		}
}
