/* gatewayd: command line, start-up, and the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include "activation.h"
#include "config.h"
#include "handover.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "setup.h"
#include "spawn.h"
#include "util.h"
#include "worker.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif
#ifndef VERSION
#define VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: gatewayd [-c FILE] [-t] [-h] [-V]\n"
	    "  -c FILE  config file (default " SYSCONFDIR "/gateway/gateway.ini)\n"
	    "  -t       check the config, print its routes, and exit\n"
	    "  -h       this help\n"
	    "  -V       version\n");
}

/* An accepted socket must never land on fd 0-2 (it would become the
 * gateway's own stderr): keep them open, on /dev/null if need be. */
static void ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

/* The descriptors above 2 handed to this process on purpose, the only
 * ones that survive close_inherited: a worker's end of its socketpair
 * with the main process (WORKER_FD), the sockets systemd passed, and
 * what the image before an in-place upgrade handed over.
 * NULL when out of memory. */
static int *handed_fds(int argc, char **argv, size_t *n)
{
	size_t npassed = activation_fds(NULL, 0), nhanded = handover_fds(NULL, 0);
	int *keep = calloc(npassed + nhanded + 1, sizeof *keep);

	if (!keep)
		return NULL;
	*n = activation_fds(keep, npassed);
	*n += handover_fds(keep + *n, nhanded);
	if (argc > 1 && strcmp(argv[1], WORKER_ARG) == 0)
		keep[(*n)++] = WORKER_FD;
	return keep;
}

/* Whatever started the gateway may have left descriptors open (a
 * shell's `exec 7<file`, a supervisor's pipe): the SPEC gives a child
 * fds 0-2 and nothing else, and a child with `user =` must not read
 * what root opened. */
static void close_inherited(int argc, char **argv)
{
	size_t n = 0;
	int *keep = handed_fds(argc, argv, &n);
	int r = keep ? fds_close_inherited(keep, n) : -ENOMEM;

	if (r < 0)
		log_warnx("closing inherited descriptors: %s", strerror(-r));
	free(keep);
}

/* An ignored signal stays ignored across exec. uv_spawn gives children
 * default dispositions for signals 1-31 only: the real-time ones the
 * gateway was started ignoring are reset here, through the raw system
 * call since glibc hides 32 and 33 (it handles them itself, so it is
 * never one of those that is ignored unless it was inherited so). */
static void unignore_realtime_signals(void)
{
	struct { void (*handler)(int); unsigned long flags; void (*restorer)(void);
	    unsigned long mask; } old, dfl = { .handler = SIG_DFL };

	for (int sig = 32; sig < 65; sig++)
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof old.mask) == 0 &&
		    old.handler == SIG_IGN)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
}

/* The path is made absolute once, so that reloads find the same file
 * whatever the working directory becomes. */
static char *absolute(const char *path)
{
	char cwd[4096];
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/* The binary an upgrade re-executes: the file this one was started
 * from, as the kernel names it now (NULL if it cannot say). A package
 * upgrade puts the new binary at that path. */
static const char *self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	const char *deleted = " (deleted)";
	size_t dl = strlen(deleted);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	/* The file was replaced or removed since: the path is still the one
	 * to run. */
	if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0)
		buf[n - dl] = '\0';
	return buf;
}

static void print_routes(const struct config *c)
{
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct route *r = &c->routes[i];
		printf("%s listen=", r->name);
		for (size_t j = 0, n = 0; j < r->nlisten; j++) {
			/* localhost:P is two sockets but one address. */
			if (r->listen[j].optional)
				continue;
			printf("%s%s", n++ ? "," : "", r->listen[j].text);
		}
		printf(" %s=%s protocol=%s", r->exec ? "exec" : "exec_dir",
		    r->exec ? r->exec : r->exec_dir,
		    r->protocol == PROTO_CGI ? "cgi" : r->protocol == PROTO_NPH ? "nph" : "raw");
		if (r->protocol != PROTO_RAW)
			printf(" path=%s", r->path);
		printf("\n");
	}
}

/* A gateway running as root runs unprivileged programs only when told. */
static void warn_root_routes(const struct config *c)
{
	if (geteuid() != 0)
		return;
	for (size_t i = 0; i < c->nroutes; i++)
		if (!c->routes[i].set_uid)
			log_warnx("route [%s] runs its program as uid 0; set user = to drop privileges",
			    c->routes[i].name);
}

static void log_start(const struct config *c)
{
	struct logline l;

	log_begin(&l, "start");
	log_str(&l, "version", VERSION);
	log_str(&l, "config", c->path);
	log_int(&l, "pid", getpid());
	log_str(&l, "spawn", spawn_path);
	log_uint(&l, "routes", c->nroutes);
	log_end(&l);
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/gateway/gateway.ini";
	int check = 0, opt, err_no;
	char err[1024], *path;
	struct config *config;
	struct server server;
	struct handover *handed;
	struct rlimit base = { 0, 0 };
	char exe[4096];
	uv_loop_t *loop;

	/* The setup step between uv_spawn and a route's program. */
	if (argc > 1 && strcmp(argv[1], SETUP_ARG) == 0)
		return setup_main(argc, argv);
	if ((err_no = activation_init()) < 0)
		log_warnx("sockets passed by systemd: %s", strerror(-err_no));
	if (handover_init(argv, err, sizeof err) < 0)
		fatalx("upgrade: %s", err);
	close_inherited(argc, argv);
	if (argc > 1 && strcmp(argv[1], WORKER_ARG) == 0)
		return worker_main(argc, argv);
	ensure_stdio();
	unignore_realtime_signals();
	while ((opt = getopt(argc, argv, "c:thV")) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("gatewayd %s\nhandover %d\n", VERSION, HANDOVER_FORMAT);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gatewayd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	path = absolute(file);
	if (!path) {
		fprintf(stderr, "gatewayd: %s: %s\n", file, strerror(errno));
		return 1;
	}
	/* Fallen back to after a failed upgrade: the config it ran. */
	if ((handed = handover_get()) && handover_failed() && handed->config_fd >= 0) {
		config = config_from_fd(path, handed->config_fd);
		snprintf(err, sizeof err, "%s: the config before the upgrade: cannot be read", path);
	} else {
		config = config_load(path, err, sizeof err);
	}
	free(path);
	if (!config) {
		if (handed)
			handover_fall_back(err);
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check) {
		print_routes(config);
		config_free(config);
		return 0;
	}

	/* Writes to a closed socket are errors, not deaths. The children get
	 * default dispositions back from uv_spawn. */
	signal(SIGPIPE, SIG_IGN);
	log_set_format(config->log_format);
	/* After an upgrade, the limit the first image was started with. */
	if (handed) {
		base.rlim_cur = (rlim_t)handed->nofile_soft;
		base.rlim_max = (rlim_t)handed->nofile_hard;
	}
	if ((err_no = spawn_init(handed && base.rlim_max ? &base : NULL)) < 0) {
		fatalx("/dev/null: %s", strerror(-err_no));
	}
	loop = uv_default_loop();
	log_attach(loop);
	/* A failed start has closed its listeners (their socket files are
	 * gone); the rest, workers included, ends with the process. */
	if (server_start(&server, loop, config, err, sizeof err) < 0) {
		if (handed)
			handover_fall_back(err);
		fatalx("%s", err);
	}
	server.exe = self_path(exe, sizeof exe);
	server.argv = argv;
	activation_close_unused();
	if (handed) {
		sigset_t none;
		server_take_over(&server, handed);
		handover_commit();
		handover_close_unused();
		/* The image before blocked every signal for the exec: its
		 * handlers are in place again. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	} else {
		log_start(config);
	}
	warn_root_routes(config);
	notify_ready(loop, "serving: %zu routes", config->nroutes);
	uv_run(loop, UV_RUN_DEFAULT);
	notify_close();
	/* The log's handle; lines still waiting get a last try at exit. */
	log_detach();
	uv_run(loop, UV_RUN_NOWAIT);
	if (uv_loop_close(loop) != 0)
		log_warnx("event loop closed with handles still open");
	server_free(&server);
	return 0;
}
