#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ipc_send(int sock, const struct ipc_msg *m, const void *data, int fd)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)m, .iov_len = sizeof *m },
		{ .iov_base = (void *)data, .iov_len = data ? m->datalen : 0 },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (fd >= 0) {
		struct cmsghdr *c;
		memset(&u, 0, sizeof u);
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof u.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	while (sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

void ipc_report(int sock, const struct ipc_msg *m, const void *data, int fd)
{
	struct pollfd p = { .fd = sock, .events = POLLOUT };

	/* A report is never dropped while the main process lives. */
	while (ipc_send(sock, m, data, fd) == -EAGAIN)
		poll(&p, 1, 1000);
}

int ipc_recv(int sock, struct ipc_msg *m, char *data, int *fd)
{
	struct iovec iov[2] = {
		{ .iov_base = m, .iov_len = sizeof *m },
		{ .iov_base = data, .iov_len = data ? IPC_DATA_MAX : 0 },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = iov, .msg_iovlen = 2,
		.msg_control = u.buf, .msg_controllen = sizeof u.buf,
	};
	ssize_t n;

	*fd = -1;
	while ((n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof *fd);
	if (n == 0)
		return 0;
	/* A record is whole or refused: short, truncated, or with data
	 * other than it announces. */
	if ((size_t)n < sizeof *m || (mh.msg_flags & MSG_TRUNC) ||
	    (size_t)n - sizeof *m != (data ? m->datalen : 0)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -EPROTO;
	}
	/* The one descriptor a record carries did not fit: the kernel drops
	 * what it cannot install and says so with MSG_CTRUNC. */
	if (mh.msg_flags & MSG_CTRUNC) {
		if (*fd >= 0)
			close(*fd);
		*fd = IPC_FD_LOST;
	}
	return 1;
}
