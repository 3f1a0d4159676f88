/* Connection-rate limits: the "N/s" value, token buckets, and a route's
 * limiter with its buckets per source (rate.h). */
#include "rate.h"

#include <stdlib.h>
#include <string.h>

#include "config_value.h"

/* ---- the value ---- */

int rate_parse(const char *text, struct rate *out)
{
	const char *slash = strchr(text, '/');
	char num[16];
	size_t len;
	long n;

	if (!slash || (len = (size_t)(slash - text)) == 0 || len >= sizeof num)
		return -1;
	memcpy(num, text, len);
	num[len] = '\0';
	/* Digits only: strtol would take blanks and a sign. */
	if (strspn(num, "0123456789") != len ||
	    value_number(num, 1, RATE_MAX, &n) < 0)
		return -1;
	if (strcmp(slash + 1, "s") == 0)
		out->period_ms = 1000;
	else if (strcmp(slash + 1, "m") == 0)
		out->period_ms = 60000;
	else
		return -1;
	out->n = (uint32_t)n;
	return 0;
}

int rate_equal(const struct rate *a, const struct rate *b)
{
	return a->n == b->n && (a->n == 0 || a->period_ms == b->period_ms);
}

/* ---- one bucket ---- */

static uint64_t capacity(const struct rate *r)
{
	return (uint64_t)r->n * r->period_ms;
}

void rate_bucket_init(struct rate_bucket *b, const struct rate *r, uint64_t now)
{
	b->level = capacity(r);
	b->at = now;
}

void rate_bucket_refill(struct rate_bucket *b, const struct rate *r, uint64_t now)
{
	uint64_t elapsed;

	if (now <= b->at)
		return;
	elapsed = now - b->at;
	b->at = now;
	/* A whole period refills any bucket; below one, no product
	 * overflows (RATE_MAX * 60000 < 2^36). */
	if (elapsed >= r->period_ms)
		b->level = capacity(r);
	else if ((b->level += elapsed * r->n) > capacity(r))
		b->level = capacity(r);
}

int rate_bucket_has(const struct rate_bucket *b, const struct rate *r)
{
	return b->level >= r->period_ms;
}

uint64_t rate_bucket_wait_ms(const struct rate_bucket *b, const struct rate *r)
{
	if (rate_bucket_has(b, r))
		return 0;
	return (r->period_ms - b->level + r->n - 1) / r->n;
}

void rate_bucket_take(struct rate_bucket *b, const struct rate *r)
{
	b->level -= r->period_ms;
}

int rate_bucket_full(const struct rate_bucket *b, const struct rate *r)
{
	return b->level >= capacity(r);
}

unsigned rate_retry_after(uint64_t wait_ms)
{
	uint64_t s = (wait_ms + 999) / 1000;

	return s < 1 ? 1 : s > 86400 ? 86400 : (unsigned)s;
}

/* ---- buckets per source ---- */

#define RATE_HEADS 4096

struct rate_source {
	struct source_key key;
	struct rate_bucket b;
	struct rate_source *next;       /* its hash chain */
	struct queue q;                 /* in lru */
};

static unsigned hash(const struct source_key *k)
{
	uint32_t h = 2166136261u ^ (uint32_t)k->kind;

	for (size_t i = 0; i < sizeof k->addr; i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h % RATE_HEADS;
}

static struct rate_source **find(struct rate_sources *t, const struct source_key *k)
{
	struct rate_source **e = &t->heads[hash(k)];

	while (*e && memcmp(&(*e)->key, k, sizeof *k) != 0)
		e = &(*e)->next;
	return e;
}

static void drop(struct rate_sources *t, struct rate_source *s)
{
	*find(t, &s->key) = s->next;
	queue_remove(&s->q);
	free(s);
	t->n--;
}

static void sources_clear(struct rate_sources *t)
{
	while (t->n)
		drop(t, queue_data(queue_head(&t->lru), struct rate_source, q));
	free(t->heads);
	t->heads = NULL;
	memset(&t->rate, 0, sizeof t->rate);
}

/* The buckets untouched for a period have refilled: as good as none. */
static void sources_expire(struct rate_sources *t, uint64_t now)
{
	while (t->n) {
		struct rate_source *s = queue_data(queue_head(&t->lru), struct rate_source, q);
		if (now - s->b.at < t->rate.period_ms)
			break;
		drop(t, s);
	}
}

/* Its bucket, brought up to date and made the last touched; NULL when it
 * has none (full). */
static struct rate_source *sources_get(struct rate_sources *t,
    const struct source_key *k, uint64_t now)
{
	struct rate_source *s = t->heads ? *find(t, k) : NULL;

	if (s) {
		rate_bucket_refill(&s->b, &t->rate, now);
		queue_remove(&s->q);
		queue_insert_tail(&t->lru, &s->q);
	}
	return s;
}

/* A full bucket for a source that has none; NULL when out of memory (the
 * source then goes unlimited this once). */
static struct rate_source *sources_add(struct rate_sources *t,
    const struct source_key *k, uint64_t now)
{
	struct rate_source *s;

	if (!t->heads && !(t->heads = calloc(RATE_HEADS, sizeof *t->heads)))
		return NULL;
	if (t->n >= RATE_SOURCES_MAX)
		drop(t, queue_data(queue_head(&t->lru), struct rate_source, q));
	if (!(s = calloc(1, sizeof *s)))
		return NULL;
	s->key = *k;
	rate_bucket_init(&s->b, &t->rate, now);
	s->next = t->heads[hash(k)];
	t->heads[hash(k)] = s;
	queue_insert_tail(&t->lru, &s->q);
	t->n++;
	return s;
}

/* ---- a route's limiter ---- */

void rate_limiter_free(struct rate_limiter *rl)
{
	sources_clear(&rl->sources);
}

size_t rate_sources_kept(const struct rate_limiter *rl)
{
	return rl->sources.n;
}

/* The route's bucket for rate r, at now; NULL without a limit. */
static struct rate_bucket *route_bucket(struct rate_limiter *rl,
    const struct rate *r, uint64_t now)
{
	if (!r->n) {
		memset(&rl->rate, 0, sizeof rl->rate);
		return NULL;
	}
	if (!rate_equal(&rl->rate, r)) {
		rl->rate = *r;
		rate_bucket_init(&rl->all, r, now);
	}
	rate_bucket_refill(&rl->all, r, now);
	return &rl->all;
}

/* The table for rate r, kept up to date at now; NULL without a limit. */
static struct rate_sources *source_table(struct rate_limiter *rl,
    const struct rate *r, uint64_t now)
{
	struct rate_sources *t = &rl->sources;

	if (!r->n || !rate_equal(&t->rate, r))
		sources_clear(t);
	if (!r->n)
		return NULL;
	if (!t->heads) {
		/* Zeroed memory, or just cleared: an empty list. */
		queue_init(&t->lru);
		t->rate = *r;
	}
	sources_expire(t, now);
	return t;
}

int rate_admit(struct rate_limiter *rl, const struct rate *all,
    const struct rate *per_source, const struct source_key *src,
    uint64_t now, uint64_t *wait_ms)
{
	struct rate_bucket *b = route_bucket(rl, all, now);
	struct rate_sources *t = source_table(rl, per_source, now);
	struct rate_source *s = t ? sources_get(t, src, now) : NULL;
	uint64_t wait = 0, w;

	if (b && (w = rate_bucket_wait_ms(b, all)) > wait)
		wait = w;
	if (s && (w = rate_bucket_wait_ms(&s->b, per_source)) > wait)
		wait = w;
	if (wait) {
		*wait_ms = wait;
		return -1;
	}
	if (b)
		rate_bucket_take(b, all);
	if (t && (s || (s = sources_add(t, src, now))))
		rate_bucket_take(&s->b, per_source);
	return 0;
}
