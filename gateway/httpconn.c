#include "httpconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "body.h"
#include "cgi.h"
#include "child.h"
#include "refuse.h"
#include "relay.h"
#include "scriptdir.h"

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

struct child *http_run(struct http_owner *o, struct conn *conn,
    struct http_request *req)
{
	const struct route *r = conn->route;
	int fd = conn->fd;
	int n = http_prefix_match(r->path, req->path);
	struct cgi_request cr = {
		.req = req,
		.script_name = n > 0 ? r->path : "",
		.path_info = req->path + (n > 0 ? n : 0),
		.script_filename = r->exec,
	};
	struct http_spawn hs = { .cgi = &cr, .stdin_fd = -1, .stdout_fd = -1 };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, keep = -1, body_sock = -1;
	/* stdin: a pipe the gateway feeds the body through (a chunked one
	 * always; with request_body = pipe, Content-Length bytes), end of
	 * file at once (no body), or with request_body = socket the socket,
	 * the body left in it. */
	int feed = req->chunked || (r->request_body == BODY_PIPE && req->content_length > 0);
	struct child *c = NULL;
	struct script sc = { 0 };
	int err;

	hs.stdin_null = !feed && r->request_body == BODY_PIPE;
	/* exec_dir: the path names the program, looked for now. */
	if (r->exec_dir) {
		int status = scriptdir_find(r->exec_dir, req->path, n > 0 ? n : 0, &sc);
		if (status) {
			answer_http(o->loop, conn, conn_take_fd(conn), status);
			goto done;
		}
		cr.script_name = sc.script_name;
		cr.path_info = sc.path_info;
		cr.script_filename = hs.exec = sc.file;
		hs.arg0 = sc.name;
	}
	/* Our copies of the socket: one to answer if the program cannot
	 * start (and for a cgi route, to relay its response), one to feed
	 * the body from. */
	if ((keep = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (feed && (pipe2(in, O_CLOEXEC) < 0 ||
	    (body_sock = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)) ||
	    (r->protocol == PROTO_CGI && pipe2(out, O_CLOEXEC) < 0)) {
		close_pair(in);
		close_pair(out);
		if (body_sock >= 0)
			close(body_sock);
		if (keep >= 0)
			close(keep);
		answer_http(o->loop, conn, conn_take_fd(conn), 503);
		goto done;
	}
	hs.stdin_fd = in[0];
	hs.stdout_fd = out[1];
	/* RFC 9110 10.1.1: the client waits for this before the body. */
	if (req->expect_continue && req->minor == 1)
		send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (!(c = o->spawn(o, conn, &hs, &err))) {
		/* A shortage left the socket open; otherwise spawn_error is
		 * logged. */
		if (conn->fd >= 0)
			close(conn_take_fd(conn));
		answer_http(o->loop, conn, keep, child_shortage(err) ? 503 : 500);
		close_pair(in);
		close_pair(out);
		if (body_sock >= 0)
			close(body_sock);
		goto done;
	}
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	/* Without memory to feed the body or relay the answer, the program
	 * is of no use: it is ended before its stdin closes, so that it
	 * never takes a body it did not get for an empty one. */
	if (body_sock >= 0 && body_start(o->loop, c, body_sock, in[1],
	    req->chunked ? -1 : req->content_length) < 0) {
		child_give_up(c, "busy");
		close(body_sock);
		close(in[1]);
	}
	if (r->protocol == PROTO_CGI &&
	    relay_start(o->loop, conn, keep, out[0], strcmp(req->method, "HEAD") == 0) < 0) {
		child_give_up(c, "busy");
		answer_http(o->loop, conn, keep, 503);
		close(out[0]);
	} else if (r->protocol != PROTO_CGI) {
		close(keep);
	}
done:
	script_free(&sc);
	free(req);
	conn_release(conn);
	return c;
}
