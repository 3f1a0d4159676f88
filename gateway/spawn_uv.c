/* The portable spawn path: libuv's uv_spawn. UV_PROCESS_DETACHED gives
 * the child its own session; libuv resets signal dispositions and the
 * mask in the child. What it cannot do (rlimits, umask, supplementary
 * groups, and chdir after dropping ids) goes through the setup step. */
#include "spawn.h"

#ifdef GATEWAY_SPAWN_UV

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "setup.h"
#include "util.h"

const char spawn_path[] = "uv_spawn";

/* uv_spawn cannot give a child another limit: nothing is raised. */
int spawn_init(const struct rlimit *base)
{
	(void)base;
	return 0;
}

void spawn_base_nofile(unsigned long long *soft, unsigned long long *hard)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	*soft = rl.rlim_cur;
	*hard = rl.rlim_max;
}

static void on_uv_exit(uv_process_t *h, int64_t status, int sig)
{
	struct proc *p = container_of(h, struct proc, uv);

	p->on_exit(p, status, sig);
}

static void on_uv_close(uv_handle_t *h)
{
	struct proc *p = container_of(h, struct proc, uv);

	p->on_close(p);
}

static void set_fd(uv_stdio_container_t *s, int fd)
{
	s->flags = fd >= 0 ? UV_INHERIT_FD : UV_IGNORE; /* libuv: /dev/null */
	s->data.fd = fd;
}

/* Waits for the setup step to exec the program (EOF on the close-on-exec
 * status pipe) or to report the call that failed, as uv_spawn itself
 * waits for its exec. Returns 0 or a negative errno. */
static int setup_wait(int fd, const char **stage)
{
	static const char *const stages[] = {
		"setrlimit", "setgroups", "setgid", "setuid", "chdir", "execve",
	};
	char buf[128], name[64];
	size_t n = 0;
	ssize_t r;
	int err;

	while (n < sizeof buf - 1) {
		r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (n == 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%d %63s", &err, name) != 2)
		return UV_EIO;
	for (size_t i = 0; i < sizeof stages / sizeof *stages; i++)
		if (strcmp(name, stages[i]) == 0)
			*stage = stages[i];
	return -err;
}

int proc_spawn(uv_loop_t *loop, struct proc *p, const struct spawn_req *req,
    const char **stage)
{
	const struct route *r = req->route;
	uv_process_options_t o;
	uv_stdio_container_t stdio[SETUP_STATUS_FD + 1];
	struct strv setup = { 0 };
	int err, status[2] = { -1, -1 };

	*stage = NULL;
	memset(&o, 0, sizeof o);
	o.file = r->exec;
	o.args = r->argv.v;
	o.env = req->env;
	o.cwd = r->cwd;
	o.flags = UV_PROCESS_DETACHED;
	o.exit_cb = on_uv_exit;
	o.stdio = stdio;
	o.stdio_count = 3;
	set_fd(&stdio[0], req->fd_in);
	set_fd(&stdio[1], req->fd_out);
	set_fd(&stdio[2], req->fd_err);
	if (setup_needed(r)) {
		if (pipe2(status, O_CLOEXEC) < 0)
			return -errno;
		if (setup_argv(r, "gatewayd", &setup) < 0) {
			err = UV_ENOMEM;
			goto out;
		}
		/* The forked child's own binary, even if replaced on disk. */
		o.file = "/proc/self/exe";
		o.args = setup.v;
		o.cwd = NULL; /* entered by the setup step, as the new user */
		set_fd(&stdio[SETUP_STATUS_FD], status[1]);
		o.stdio_count = SETUP_STATUS_FD + 1;
	}
	err = uv_spawn(loop, &p->uv, &o);
	if (err < 0) {
		/* The handle was initialised: it must be closed. */
		proc_close(p);
		goto out;
	}
	p->pid = p->uv.pid;
	if (status[1] >= 0) {
		close(status[1]);
		status[1] = -1;
		err = setup_wait(status[0], stage);
		if (err < 0) {
			/* The setup step exits right after reporting: reap it
			 * here, since libuv stops watching a closed handle. */
			proc_close(p);
			while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
out:
	if (status[0] >= 0)
		close(status[0]);
	if (status[1] >= 0)
		close(status[1]);
	strv_free(&setup);
	return err;
}

void proc_close(struct proc *p)
{
	p->closing = 1;
	uv_close((uv_handle_t *)&p->uv, on_uv_close);
}

#endif
