#include "refuse.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cgi.h"
#include "linger.h"
#include "log.h"
#include "metrics.h"
#include "rate.h"

void refuse_raw(uv_loop_t *loop, const struct conn *c, int fd,
    const char *reason)
{
	const struct route *r = c->route;

	if (strcmp(reason, "deny") != 0 && r->busy_len)
		send(fd, r->busy_message, r->busy_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	linger_close(loop, fd);
	conn_event(c, "refuse", reason);
}

/* The answer is small and the socket fresh: it fits in the socket buffer,
 * so a non-blocking send writes it whole (a child may share the socket,
 * which is in blocking mode). retry: Retry-After's seconds, 0 for none. */
static void send_answer(int fd, int status, unsigned retry)
{
	char buf[512], after[48] = "";
	const char *reason = http_reason(status);
	int n;

	if (retry)
		snprintf(after, sizeof after, "Retry-After: %u\r\n", retry);
	n = snprintf(buf, sizeof buf,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n"
	    "%d %s\n",
	    status, reason, strlen(reason) + 5, after, status, reason);
	send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void refuse_http(uv_loop_t *loop, const struct conn *c, int fd,
    const char *reason, uint64_t wait_ms)
{
	int status = strcmp(reason, "deny") == 0 ? 403 :
	    strcmp(reason, "rate") == 0 ? 429 : 503;

	conn_event(c, "refuse", reason);
	send_answer(fd, status, status == 429 ? rate_retry_after(wait_ms) :
	    status == 503 ? 1 : 0);
	stats_http(c->route->stats, status);
	linger_close(loop, fd);
}

void answer_http(uv_loop_t *loop, const struct conn *c, int fd, int status)
{
	struct logline l;

	send_answer(fd, status, status == 503 ? 1 : 0);
	stats_http(c->route->stats, status);
	log_begin(&l, "http_error");
	conn_log_fields(&l, c);
	conn_log_peer(&l, c);
	log_int(&l, "status", status);
	log_end(&l);
	linger_close(loop, fd);
}
