#include "pool_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

struct worker *worker_start(uv_loop_t *loop, const char *path, unsigned n,
    int *errp)
{
	struct worker *w = calloc(1, sizeof *w);
	struct logline l;
	sigset_t all, old;
	int sv[2], err;
	pid_t pid;
	unsigned long long soft, hard;
	char ssoft[24], shard[24];

	/* Before the fork: nothing but exec may run in the child. */
	spawn_base_nofile(&soft, &hard);
	snprintf(ssoft, sizeof ssoft, "%llu", soft);
	snprintf(shard, sizeof shard, "%llu", hard);
	if (!w) {
		*errp = -ENOMEM;
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		*errp = -errno;
		free(w);
		return NULL;
	}
	/* No handler of ours may run between fork and exec; the worker
	 * unblocks its signals itself. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		if (sv[1] == WORKER_FD)
			fcntl(WORKER_FD, F_SETFD, 0);
		else
			dup2(sv[1], WORKER_FD);
		execl("/proc/self/exe", "gatewayd", WORKER_ARG,
		    path, ssoft, shard, (char *)NULL);
		_exit(127);
	}
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		free(w);
		*errp = -err;
		return NULL;
	}
	w->pid = pid;
	w->started = uv_now(loop);
	w->sock = sv[0];
	uv_poll_init(loop, &w->poll, w->sock);
	log_begin(&l, "worker");
	log_uint(&l, "worker", n);
	log_int(&l, "pid", pid);
	log_end(&l);
	return w;
}

struct worker *worker_take(uv_loop_t *loop, pid_t pid, int sock, unsigned n)
{
	struct worker *w = calloc(1, sizeof *w);

	(void)n;
	if (!w)
		return NULL;
	w->pid = pid;
	w->started = uv_now(loop);
	w->sock = sock;
	w->old = 1;
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	uv_poll_init(loop, &w->poll, w->sock);
	return w;
}

int worker_send_config(struct worker *w, const struct config *c,
    uint32_t generation)
{
	struct ipc_msg m = { .type = IPC_CONFIG, .generation = generation };
	int fd = memfd_text("gateway.ini", c->text, c->textlen, MFD_CLOEXEC), err;

	if (fd < 0)
		return fd;
	err = ipc_send(w->sock, &m, NULL, fd);
	close(fd);
	return err;
}

static void on_closed(uv_handle_t *h)
{
	free(container_of(h, struct worker, poll));
}

void worker_close(struct worker *w)
{
	/* The handle first: libuv takes a descriptor out of epoll by its
	 * number. */
	uv_close((uv_handle_t *)&w->poll, on_closed);
	close(w->sock);
}
