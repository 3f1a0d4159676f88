#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "admit.h"
#include "child.h"
#include "config.h"
#include "http.h"
#include "httpconn.h"
#include "ipc.h"
#include "log.h"
#include "refuse.h"
#include "server_int.h"
#include "server.h"
#include "spawn.h"
#include "util.h"

/* A worker: a server without listeners, whose connections come from the
 * main process over `ipc`, and which reports every child's start and end
 * back to it. */
struct worker_process {
	struct server server;
	struct server_role role;
	int ipc;
	uv_poll_t ipc_poll;
};

static void report(struct server_role *role, uint32_t type, uint64_t conn,
    pid_t pid, int fd)
{
	struct worker_process *w = container_of(role, struct worker_process, role);
	struct ipc_msg m = { .type = type, .conn = conn, .pid = pid };

	ipc_report(w->ipc, &m, NULL, fd);
}

/* Whole records (metrics.h), as many as a message takes. */
static void report_stats(struct server_role *role, const char *data, size_t len)
{
	struct worker_process *w = container_of(role, struct worker_process, role);
	struct ipc_msg m = { .type = IPC_STATS };
	size_t o = 0, rec = sizeof(struct stats_counts) + 1;

	while (o < len) {
		size_t n = 0;
		while (o + n < len && n + rec + (unsigned char)data[o + n] <= IPC_DATA_MAX)
			n += rec + (unsigned char)data[o + n];
		if (!n)
			return;
		m.datalen = (uint32_t)n;
		ipc_report(w->ipc, &m, data + o, -1);
		o += n;
	}
}

static void finish(struct server_role *role)
{
	struct worker_process *w = container_of(role, struct worker_process, role);

	uv_close((uv_handle_t *)&w->ipc_poll, NULL);
}

static void use_config(struct server *s, struct config *c, uint32_t generation)
{
	struct route_state **states = server_states_for(s, c);

	if (!states) {
		log_warnx("config: %s; keeping the old one", strerror(ENOMEM));
		config_release(c);
		return;
	}
	route_states_release(s->rstate, s->config->nroutes);
	s->rstate = states;
	config_release(s->config);
	s->config = c;
	s->generation = generation;
	server_metrics_routes(s);
	log_set_format(c->log_format);
}

/* An HTTP route's connection: its head, read and checked by the main
 * process, is parsed again here. Takes the caller's reference. */
static struct child *worker_http(struct server *s, struct conn *c,
    const char *head, size_t headlen)
{
	struct http_request *req = malloc(sizeof *req);

	if (!req || http_parse_head(head, headlen, req) != (int)headlen) {
		/* Not what the main process parsed: say so, not guess. */
		answer_http(s->loop, c, conn_take_fd(c), req ? 500 : 503);
		free(req);
		conn_release(c);
		return NULL;
	}
	return http_run(&s->http, c, req);
}

/* A connection the main process has accepted, admitted and counted. */
static void worker_conn(struct server *s, const struct ipc_msg *m,
    const char *data, int fd)
{
	size_t headlen = m->datalen - m->tlvlen;
	struct proxy_tlvs tlvs;
	const struct route *r;
	struct conn *c;
	struct child *child;
	int err = 0;

	if (m->generation != s->generation || m->route >= s->config->nroutes ||
	    m->tlvlen > m->datalen ||
	    (m->tlvlen && m->tlvlen != sizeof(struct proxy_tlvs)) ||
	    (s->config->routes[m->route].protocol != PROTO_RAW) != (headlen > 0)) {
		/* Cannot happen while the main process and we read the same
		 * text; if it does, say so rather than run the wrong route. */
		log_warnx("conn %llu: not a route of this worker's config "
		    "(generation %u, ours %u)", (unsigned long long)m->conn,
		    m->generation, s->generation);
		close(fd);
		server_report(s, IPC_GONE, m->conn, 0);
		return;
	}
	r = &s->config->routes[m->route];
	if (m->tlvlen)
		memcpy(&tlvs, data + headlen, sizeof tlvs);
	if (!(c = conn_new(fd, &m->ci, s->config, r)) ||
	    (m->tlvlen && conn_set_tlvs(c, &tlvs) < 0)) {
		if (c) {
			conn_take_fd(c);
			conn_release(c);
		}
		log_warnx("conn %llu: %s", (unsigned long long)m->conn, strerror(ENOMEM));
		close(fd);
		server_report(s, IPC_GONE, m->conn, 0);
		return;
	}
	admit_source_of(&c->ci, &c->src);
	if (r->protocol != PROTO_RAW) {
		child = worker_http(s, c, data, headlen);
	} else if (!held_empty(&s->held)) {
		/* Behind the clients kept before it, in order. */
		server_hold(s, c, 0);
		return;
	} else if (!(child = server_spawn(s, c, NULL, &err)) && child_shortage(err)) {
		/* Kept, as a single process keeps it, until descriptors or
		 * processes are back; the main process counts it meanwhile
		 * and hands new clients to the other workers first. */
		server_hold(s, c, err);
		return;
	} else {
		conn_release(c);
	}
	if (child)
		server_report_spawn(s, child);
	else
		server_report(s, IPC_GONE, m->conn, 0);
}

static void on_ipc(uv_poll_t *h, int status, int events)
{
	struct worker_process *w = container_of(h, struct worker_process, ipc_poll);
	struct server *s = &w->server;
	struct ipc_msg m;
	char data[IPC_DATA_MAX];
	int fd, n;

	(void)status;
	(void)events;
	while ((n = ipc_recv(w->ipc, &m, data, &fd)) > 0) {
		if (m.type == IPC_CONN && fd >= 0) {
			worker_conn(s, &m, data, fd);
		} else if (m.type == IPC_CONN) {
			/* No room for the socket here: the main process still
			 * has it, and tries again. */
			server_report(s, IPC_BACK, m.conn, 0);
		} else if (m.type == IPC_CONFIG && fd >= 0) {
			struct config *c = config_from_fd(s->config->path, fd);
			close(fd);
			if (c)
				use_config(s, c, m.generation);
		} else if (m.type == IPC_CONFIG) {
			log_warnx("config from the main process: %s; keeping the old one",
			    strerror(EMFILE));
		} else {
			if (fd >= 0)
				close(fd);
			if (m.type == IPC_STOP)
				server_stop_sig(s, SIGTERM);
			else if (m.type == IPC_KILL)
				server_end_conn(s, m.conn);
		}
	}
	if (n == 0 || (n < 0 && n != -EAGAIN)) {
		/* The main process is gone: stop as it would have told us. */
		uv_poll_stop(&w->ipc_poll);
		if (!s->stopping)
			server_stop_sig(s, SIGTERM);
	}
}

static int start_worker(struct worker_process *w, uv_loop_t *loop, struct config *c,
    int ipc, uint32_t generation)
{
	struct server *s = &w->server;

	server_init(s, loop);
	w->ipc = ipc;
	w->role.report = report;
	w->role.stats = report_stats;
	w->role.finish = finish;
	s->role = &w->role;
	s->generation = generation;
	s->rstate = server_states_for(s, c);
	if (!s->rstate)
		fatalx("worker: %s", strerror(ENOMEM));
	s->config = c;
	server_start_handles(s);
	server_metrics_worker(s);
	uv_poll_init(loop, &w->ipc_poll, ipc);
	uv_poll_start(&w->ipc_poll, UV_READABLE, on_ipc);
	return 0;
}

/* ---- the process ---- */

/* The first message is the config: wait for it. */
static struct config *first_config(const char *path, uint32_t *generation)
{
	struct pollfd p = { .fd = WORKER_FD, .events = POLLIN };
	struct ipc_msg m;
	struct config *c;
	int fd, n;

	do {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return NULL;
		n = ipc_recv(WORKER_FD, &m, NULL, &fd);
	} while (n == -EAGAIN);
	if (n <= 0 || m.type != IPC_CONFIG || fd < 0) {
		fatalx("worker: no config from the main process");
	}
	c = config_from_fd(path, fd);
	close(fd);
	*generation = m.generation;
	return c;
}

int worker_main(int argc, char **argv)
{
	struct rlimit base;
	struct worker_process w;
	struct config *c;
	uv_loop_t *loop;
	uint32_t generation = 0;
	sigset_t none;
	int err;

	if (argc != 5)
		fatalx("worker: bad arguments");
	/* The main process forked us with every signal blocked. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	fcntl(WORKER_FD, F_SETFD, FD_CLOEXEC);
	base.rlim_cur = strtoull(argv[3], NULL, 10);
	base.rlim_max = strtoull(argv[4], NULL, 10);
	c = first_config(argv[2], &generation);
	if (!c)
		return 1;
	log_set_format(c->log_format);
	if ((err = spawn_init(&base)) < 0) {
		fatalx("worker: /dev/null: %s", strerror(-err));
	}
	loop = uv_default_loop();
	log_attach(loop);
	if (start_worker(&w, loop, c, WORKER_FD, generation) < 0) {
		config_release(c);
		log_detach();
		uv_run(loop, UV_RUN_NOWAIT);
		return 1;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	log_detach();
	uv_run(loop, UV_RUN_NOWAIT);
	uv_loop_close(loop);
	server_free(&w.server);
	return 0;
}
