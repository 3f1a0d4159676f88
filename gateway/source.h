/* Counting connections per client source, for max_per_source: the v4
 * address (v4-mapped v6 as v4), the v6 address, or a Unix peer's euid. */
#ifndef GATEWAY_SOURCE_H
#define GATEWAY_SOURCE_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct source_key {
	int kind;                       /* 4, 6, or 'u' for a uid */
	uint8_t addr[16];
};

struct source_entry;

#define SOURCE_BUCKETS 64

struct source_table {
	struct source_entry *bucket[SOURCE_BUCKETS];
};

void source_key_addr(struct source_key *k, const struct sockaddr *sa);
void source_key_uid(struct source_key *k, uid_t uid);

unsigned source_count(const struct source_table *t, const struct source_key *k);
int source_add(struct source_table *t, const struct source_key *k); /* -ENOMEM */
void source_remove(struct source_table *t, const struct source_key *k);
void source_table_free(struct source_table *t);

#endif
