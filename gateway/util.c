/* Small things every module may need (util.h). */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int fd_set_blocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || !(flags & O_NONBLOCK))
		return flags < 0 ? -1 : 0;
	return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

int sock_peek_state(int fd)
{
	char c;
	ssize_t n;

	do
		n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return 1;
	if (n == 0)
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
}

char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static int fd_kept(long fd, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

/* One close_range for each run of descriptors between the kept ones,
 * taken in ascending order whatever the order of keep. */
static int close_ranges(const int *keep, size_t nkeep)
{
#ifdef SYS_close_range
	unsigned lo = 3;

	for (;;) {
		unsigned next = 0;
		int found = 0;
		for (size_t i = 0; i < nkeep; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo &&
			    (!found || (unsigned)keep[i] < next)) {
				next = (unsigned)keep[i];
				found = 1;
			}
		if (!found)
			return syscall(SYS_close_range, lo, ~0U, 0) < 0 ? -errno : 0;
		if (next > lo && syscall(SYS_close_range, lo, next - 1, 0) < 0)
			return -errno;
		lo = next + 1;
	}
#else
	(void)keep;
	(void)nkeep;
	return -ENOSYS;
#endif
}

/* A kernel without close_range lists each open descriptor here. */
static int close_listed(const int *keep, size_t nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (end == e->d_name || *end || fd < 3 || fd == dirfd(d) ||
		    fd_kept(fd, keep, nkeep))
			continue;
		close((int)fd);
	}
	closedir(d);
	return 0;
}

int fds_close_inherited(const int *keep, size_t nkeep)
{
	if (close_ranges(keep, nkeep) == 0)
		return 0;
	return close_listed(keep, nkeep);
}

int fd_write_some(int fd, int sock, const char *buf, size_t *off, size_t *len)
{
	while (*off < *len) {
		ssize_t n = sock ? send(fd, buf + *off, *len - *off, MSG_DONTWAIT | MSG_NOSIGNAL)
		    : write(fd, buf + *off, *len - *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		*off += (size_t)n;
	}
	*len = *off = 0;
	return 1;
}


int memfd_text(const char *name, const char *data, size_t len, unsigned flags)
{
	size_t off = 0;
	int fd = memfd_create(name, flags), e;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}
