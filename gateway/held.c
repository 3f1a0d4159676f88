#include "held.h"

#include <stdlib.h>
#include <unistd.h>

#include "util.h"

struct held {
	uv_poll_t *poll;                /* NULL while unwatched */
	struct held_queue *hq;
	struct conn *conn;
	struct queue q;
};

void held_init(struct held_queue *hq, uv_loop_t *loop, const struct held_hooks *h)
{
	hq->loop = loop;
	hq->hooks = h;
	queue_init(&hq->list);
}

int held_empty(const struct held_queue *hq)
{
	return queue_empty(&hq->list);
}

unsigned held_count(const struct held_queue *hq)
{
	const struct queue *q;
	unsigned n = 0;

	for (q = hq->list.next; q != &hq->list; q = q->next)
		n++;
	return n;
}

/* Out of the queue, once unwatched. */
static void unhold(struct held *h)
{
	queue_remove(&h->q);
	conn_release(h->conn);
	free(h);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

/* Takes the socket out of the loop (libuv removes it from epoll by its
 * number) while the descriptor is still ours: before it is handed to a
 * child or closed. */
static void unwatch(struct held *h)
{
	if (h->poll)
		uv_close((uv_handle_t *)h->poll, free_handle);
	h->poll = NULL;
}

static void on_event(uv_poll_t *p, int status, int events)
{
	struct held *h = p->data;
	struct held_queue *hq = h->hq;

	(void)events;
	unwatch(h);
	if (status == 0 && sock_peek_state(h->conn->fd) >= 0)
		return; /* a FIN or bytes: not known to be gone; watched no more */
	close(conn_take_fd(h->conn));
	conn_event(h->conn, "gone", "reset");
	hq->hooks->gone(hq, h->conn);
	unhold(h);
}

/* Watched for a hang-up only (EPOLLRDHUP): its bytes do not wake the
 * loop. Without memory for the poll a held client waits unwatched. */
static void watch(struct held *h)
{
	uv_poll_t *p = malloc(sizeof *p);

	if (!p || uv_poll_init(h->hq->loop, p, h->conn->fd) < 0) {
		free(p);
		return;
	}
	fd_set_blocking(h->conn->fd); /* uv_poll_init made it non-blocking */
	p->data = h;
	h->poll = p;
	uv_poll_start(p, UV_DISCONNECT, on_event);
}

void held_add(struct held_queue *hq, struct conn *c)
{
	struct held *h = calloc(1, sizeof *h);

	if (!h) {
		close(conn_take_fd(c));
		conn_event(c, "refuse", "busy"); /* no memory to keep it */
		hq->hooks->gone(hq, c);
		conn_release(c);
		return;
	}
	h->hq = hq;
	h->conn = c;
	queue_insert_tail(&hq->list, &h->q);
	watch(h);
}

void held_serve(struct held_queue *hq)
{
	while (!queue_empty(&hq->list) && hq->hooks->room(hq)) {
		struct held *h = queue_data(queue_head(&hq->list), struct held, q);

		unwatch(h);
		if (hq->hooks->start(hq, h->conn) < 0) {
			watch(h); /* still short: first in line for the next try */
			return;
		}
		unhold(h);
	}
}

/* Closes one held client: out of the loop, its socket closed, logged. */
static void drop_one(struct held_queue *hq, struct held *h, const char *why)
{
	unwatch(h);
	close(conn_take_fd(h->conn));
	conn_event(h->conn, "refuse", why);
	hq->hooks->gone(hq, h->conn);
	unhold(h);
}

void held_drop(struct held_queue *hq, const char *why)
{
	while (!queue_empty(&hq->list))
		drop_one(hq, queue_data(queue_head(&hq->list), struct held, q), why);
}

void held_each(struct held_queue *hq, conn_visit_fn *fn, void *arg)
{
	struct queue *q, *n;

	queue_foreach(q, n, &hq->list)
		fn(arg, queue_data(q, struct held, q)->conn, 0, "waiting");
}

int held_close(struct held_queue *hq, uint64_t id, const char *why)
{
	struct queue *q, *n;

	queue_foreach(q, n, &hq->list) {
		struct held *h = queue_data(q, struct held, q);
		if (h->conn->ci.id == id) {
			drop_one(hq, h, why);
			return 1;
		}
	}
	return 0;
}
