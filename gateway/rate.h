/* Connection-rate limits (max_rate, max_rate_per_source): the value
 * "N/s" or "N/m", and token buckets. A bucket holds at most N tokens and
 * refills continuously, N a period; each connection admitted takes one,
 * and a connection that finds none is refused. The arithmetic is exact:
 * a token is period_ms units and a bucket gains N units a millisecond.
 * Time is the caller's monotonic milliseconds (uv_now); nothing here
 * reads a clock. */
#ifndef GATEWAY_RATE_H
#define GATEWAY_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "source.h"

#define RATE_MAX 1000000        /* the largest N */

struct rate {
	uint32_t n;                     /* tokens a period, and the most held; 0: no limit */
	uint32_t period_ms;             /* 1000 (N/s) or 60000 (N/m) */
};

struct rate_bucket {
	uint64_t level;                 /* in units: a token is period_ms of them */
	uint64_t at;                    /* ms: when level was last brought up to date */
};

/* "N/s" or "N/m", N from 1 to RATE_MAX: 0, or -1. */
int rate_parse(const char *text, struct rate *out);

int rate_equal(const struct rate *a, const struct rate *b);

/* A full bucket at now. */
void rate_bucket_init(struct rate_bucket *b, const struct rate *r, uint64_t now);

/* Brought up to date at now (an earlier now changes nothing). */
void rate_bucket_refill(struct rate_bucket *b, const struct rate *r, uint64_t now);

/* After a refill: whether it holds a whole token, and the milliseconds
 * until it will (0 when it does). */
int rate_bucket_has(const struct rate_bucket *b, const struct rate *r);
uint64_t rate_bucket_wait_ms(const struct rate_bucket *b, const struct rate *r);
void rate_bucket_take(struct rate_bucket *b, const struct rate *r);

/* After a refill: whether it is full, which is as if there were none. */
int rate_bucket_full(const struct rate_bucket *b, const struct rate *r);

/* Whole seconds for Retry-After: wait_ms rounded up, at least 1. */
unsigned rate_retry_after(uint64_t wait_ms);

/* A route's buckets per source, keyed as max_per_source keys (source.h).
 * Bounded: a bucket untouched for a whole period has refilled and is
 * dropped (a full bucket is the same as none), and past RATE_SOURCES_MAX
 * the one untouched longest goes first. */
#define RATE_SOURCES_MAX 16384

struct rate_source;

struct rate_sources {
	struct rate rate;               /* the rate its buckets are for */
	struct rate_source **heads;     /* hash chains, made with the first bucket */
	struct queue lru;               /* untouched longest first */
	size_t n;
};

/* A route's limiter: one bucket for the route, one per source. */
struct rate_limiter {
	struct rate rate;               /* the route bucket's rate */
	struct rate_bucket all;
	struct rate_sources sources;
};

/* Zeroed memory is an empty limiter too. */
void rate_limiter_free(struct rate_limiter *rl);

/* One connection from src at now, under the route's rate `all` and
 * the rate `per_source` (either n 0: none): 0 when admitted, a token
 * taken from each bucket that applies; -1 when refused, nothing taken,
 * with *wait_ms the milliseconds until each bucket that applies has a
 * token again. A rate that differs from the one the buckets were made
 * for (a reload changed it) starts them over, full. */
int rate_admit(struct rate_limiter *rl, const struct rate *all,
    const struct rate *per_source, const struct source_key *src,
    uint64_t now, uint64_t *wait_ms);

/* The buckets kept per source (for the tests). */
size_t rate_sources_kept(const struct rate_limiter *rl);

#endif
