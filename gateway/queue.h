/* One intrusive list, as libuv's queue.h: each element embeds a struct
 * queue, its owner holds a head (an empty list is a head that points at
 * itself), and queue_data finds the element again. Removing an element
 * needs nothing but the element. */
#ifndef GATEWAY_QUEUE_H
#define GATEWAY_QUEUE_H

#include "util.h"

struct queue {
	struct queue *next, *prev;
};

#define queue_data(q, type, field) container_of(q, type, field)

/* Each element of head, in order; n is the next one, so q may be removed
 * (or freed) in the body. */
#define queue_foreach(q, n, head) \
	for ((q) = (head)->next, (n) = (q)->next; (q) != (head); \
	    (q) = (n), (n) = (q)->next)

static inline void queue_init(struct queue *q)
{
	q->next = q->prev = q;
}

static inline int queue_empty(const struct queue *head)
{
	return head->next == head;
}

static inline struct queue *queue_head(const struct queue *head)
{
	return head->next;
}

static inline void queue_insert_tail(struct queue *head, struct queue *q)
{
	q->next = head;
	q->prev = head->prev;
	head->prev->next = q;
	head->prev = q;
}

static inline void queue_insert_head(struct queue *head, struct queue *q)
{
	q->prev = head;
	q->next = head->next;
	head->next->prev = q;
	head->next = q;
}

/* Out of its list; removing it again does nothing. */
static inline void queue_remove(struct queue *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
	queue_init(q);
}

#endif
