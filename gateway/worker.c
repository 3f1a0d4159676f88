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

#include "config.h"
#include "ipc.h"
#include "log.h"
#include "server.h"
#include "spawn.h"

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
		log_fatal("worker: no config from the main process");
		return NULL;
	}
	c = config_from_fd(path, fd);
	close(fd);
	*generation = m.generation;
	return c;
}

int worker_main(int argc, char **argv)
{
	struct rlimit base;
	struct server server;
	struct config *c;
	uv_loop_t *loop;
	uint32_t generation = 0;
	sigset_t none;
	int err;

	if (argc != 5) {
		log_fatal("worker: bad arguments");
		return 2;
	}
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
		log_fatal("worker: /dev/null: %s", strerror(-err));
		config_release(c);
		return 1;
	}
	loop = uv_default_loop();
	if (server_start_worker(&server, loop, c, WORKER_FD, generation) < 0) {
		config_release(c);
		return 1;
	}
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	server_free(&server);
	return 0;
}
