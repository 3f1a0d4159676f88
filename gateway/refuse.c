#include "refuse.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cgi.h"
#include "linger.h"
#include "log.h"

void conn_log_fields(struct logline *l, const struct route *r,
    const struct conn_info *ci)
{
	log_str(l, "route", r->name);
	log_uint(l, "conn", ci->id);
}

void conn_log_peer(struct logline *l, const struct conn_info *ci)
{
	char peer[96];

	if (ci->tcp) {
		snprintf(peer, sizeof peer, strchr(ci->remote_ip, ':') ?
		    "[%s]:%u" : "%s:%u", ci->remote_ip, ci->remote_port);
		log_str(l, "peer", peer);
	} else if (ci->have_cred) {
		log_uint(l, "uid", ci->uid);
		log_uint(l, "gid", ci->gid);
		/* pid= is the child's in the events that carry both. */
		log_int(l, "peer_pid", ci->pid);
	}
	if (ci->via[0])
		log_str(l, "via", ci->via);
}

void conn_event(const char *event, const struct route *r,
    const struct conn_info *ci, const char *reason)
{
	struct logline l;

	log_begin(&l, event);
	conn_log_fields(&l, r, ci);
	conn_log_peer(&l, ci);
	if (reason)
		log_str(&l, "reason", reason);
	log_end(&l);
}

void refuse_raw(uv_loop_t *loop, const struct route *r, int fd,
    const struct conn_info *ci, const char *reason)
{
	if (strcmp(reason, "deny") != 0 && r->busy_len)
		send(fd, r->busy_message, r->busy_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	linger_close(loop, fd);
	conn_event("refuse", r, ci, reason);
}

/* The answer is small and the socket fresh: it fits in the socket buffer,
 * so a non-blocking send writes it whole (a child may share the socket,
 * which is in blocking mode). */
static void send_answer(int fd, int status)
{
	char buf[512];
	const char *reason = http_reason(status);
	int n = snprintf(buf, sizeof buf,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n"
	    "%d %s\n",
	    status, reason, strlen(reason) + 5,
	    status == 503 ? "Retry-After: 1\r\n" : "", status, reason);

	send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void refuse_http(uv_loop_t *loop, const struct route *r, int fd,
    const struct conn_info *ci, const char *reason)
{
	conn_event("refuse", r, ci, reason);
	send_answer(fd, strcmp(reason, "deny") == 0 ? 403 : 503);
	linger_close(loop, fd);
}

void answer_http(uv_loop_t *loop, const struct route *r, int fd,
    const struct conn_info *ci, int status)
{
	struct logline l;

	send_answer(fd, status);
	log_begin(&l, "http_error");
	conn_log_fields(&l, r, ci);
	conn_log_peer(&l, ci);
	log_int(&l, "status", status);
	log_end(&l);
	linger_close(loop, fd);
}
