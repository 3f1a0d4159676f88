#include "util.h"

#include <fcntl.h>

int fd_set_blocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || !(flags & O_NONBLOCK))
		return flags < 0 ? -1 : 0;
	return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}
