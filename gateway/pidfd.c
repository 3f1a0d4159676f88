/* Watching a child through its pidfd (pidfd.h), taking over a dead
 * worker's children, and telling whether a child's group still runs. */
#include "pidfd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* The kernel's struct rusage has the timevals of its long: where a
 * 32-bit build uses a 64-bit time_t, glibc's struct is not the kernel's,
 * and the figures are left out. */
#define RUSAGE_OF(ru) (sizeof(time_t) == sizeof(long) ? (ru) : NULL)

static void on_pidfd(uv_poll_t *h, int status, int events)
{
	struct proc *p = container_of(h, struct proc, poll);
	siginfo_t si;
	struct rusage ru;
	long r;

	(void)status;
	(void)events;
	memset(&si, 0, sizeof si);
	memset(&ru, 0, sizeof ru);
	/* Seen, not reaped: proc_close reaps it. The system call's fifth
	 * argument, which the libc wrapper leaves out, is the child's
	 * rusage; the kernel fills it for a WNOWAIT look at a zombie too
	 * (wait_task_zombie: getrusage(p, RUSAGE_BOTH)), with what the
	 * reaping wait would give. */
	do
		r = syscall(SYS_waitid, P_PIDFD, p->pidfd, &si,
		    WEXITED | WNOHANG | WNOWAIT, &ru);
	while (r < 0 && errno == EINTR);
	if (r < 0 || si.si_pid == 0)
		return;
	uv_poll_stop(&p->poll);
	p->exited = 1;
	if (si.si_code == CLD_EXITED)
		p->on_exit(p, si.si_status, 0, RUSAGE_OF(&ru));
	else
		p->on_exit(p, 0, si.si_status, RUSAGE_OF(&ru));
}

static void on_poll_closed(uv_handle_t *h)
{
	struct proc *p = container_of(h, struct proc, poll);

	close(p->pidfd);
	p->pidfd = -1;
	p->on_close(p);
}

int pidfd_proc_watch(uv_loop_t *loop, struct proc *p, int pidfd)
{
	int err;

	p->pidfd = pidfd;
	p->exited = p->reaped = p->closing = 0;
	err = uv_poll_init(loop, &p->poll, pidfd);
	if (err < 0)
		return err;
	err = uv_poll_start(&p->poll, UV_READABLE, on_pidfd);
	if (err < 0) {
		p->closing = 1;
		uv_close((uv_handle_t *)&p->poll, on_poll_closed);
	}
	return err;
}

int pidfd_proc_signal_group(struct proc *p, int sig)
{
	if (p->reaped)
		return -ENOTSUP;
	/* Not reaped: the id is still its group's, whoever else is left. */
	return kill(-p->pid, sig) < 0 ? -errno : 0;
}

void pidfd_proc_close(struct proc *p)
{
	siginfo_t si;

	if (p->exited && !p->reaped) {
		while (waitid(P_PIDFD, p->pidfd, &si, WEXITED | WNOHANG) < 0 &&
		    errno == EINTR)
			;
		p->reaped = 1;
	}
	p->closing = 1;
	uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

int proc_adopt(uv_loop_t *loop, struct proc *p, pid_t pid)
{
	siginfo_t si;
	int fd = pidfd_open(pid, 0), err;

	if (fd < 0)
		return -errno;
	/* The worker may have reaped it, and its pid gone to another
	 * process, before it died: only our own child, leading a session as
	 * every child the gateway starts does, is taken. */
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		err = -errno;
	else
		err = getsid(pid) == pid ? 0 : -ESRCH;
	p->pid = pid;
#ifdef GATEWAY_SPAWN_UV
	p->by_uv = 0;
#endif
	if (err == 0)
		err = pidfd_proc_watch(loop, p, fd);
	if (err < 0 && !p->closing)
		close(fd);
	return err;
}

/* ---- whether a group still runs ---- */

static int is_zombie(long pid)
{
	char path[64], buf[512], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1; /* gone */
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, the state follows
	 * its last ')'. */
	end = strrchr(buf, ')');
	return !end || end[1] != ' ' || end[2] == 'Z' || end[2] == 'X';
}

/* The kernel does not say when a process group empties: each process is
 * asked its group (getpgid, one system call), and only members are read
 * further. Whoever cannot be looked at counts as running: the KILL after
 * kill_grace settles it. */
int proc_group_running(const struct proc *p)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 1;
	while (!found && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == p->pid)
			continue;
		if (getpgid((pid_t)pid) == p->pid)
			found = !is_zombie(pid);
	}
	closedir(d);
	return found;
}
