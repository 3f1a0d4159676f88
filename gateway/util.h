/* Small things every module may need. */
#ifndef GATEWAY_UTIL_H
#define GATEWAY_UTIL_H

#include <stddef.h>

/* The struct that holds a libuv handle, from a pointer to the handle. */
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* uv_poll_init makes its descriptor non-blocking, and that flag lives on
 * the open file description: a socket a child shares must get blocking
 * mode back (the gateway itself only ever uses MSG_DONTWAIT on it). */
int fd_set_blocking(int fd);

/* Writes buf[*off..len) without blocking: to a socket with MSG_DONTWAIT
 * (a child shares it, in blocking mode), else to a non-blocking pipe end.
 * 1 when all of it went (and *off, *len are reset), 0 when the other side
 * is full, -1 on error. */
int fd_write_some(int fd, int sock, const char *buf, size_t *off, size_t *len);

/* What a peek tells of a client that poll says hung up: -1 it reset the
 * connection, 0 it sent a FIN with nothing left unread (it left, or it
 * only half-closed and still reads: TCP cannot say which), 1 bytes wait
 * or nothing is known. */
int sock_peek_state(int fd);

/* Closes every descriptor above 2 except the nkeep in keep: what was
 * left open by whatever started the process, which the gateway has no
 * use for and no child may get. They are closed, not only marked
 * close-on-exec, so that the gateway does not hold them either (a pipe
 * it kept open would never show its reader an end). close_range(2) where
 * the kernel has it (Linux 5.9), else every entry of /proc/self/fd.
 * Returns 0 or -errno. */
int fds_close_inherited(const int *keep, size_t nkeep);

/* A memfd named name holding len bytes of data, read from its start;
 * close-on-exec or not (flags: MFD_CLOEXEC or 0). The descriptor, or a
 * negative errno. */
int memfd_text(const char *name, const char *data, size_t len, unsigned flags);

/* The directory of an absolute path ("/" for "/x"), malloc'd; NULL on
 * ENOMEM. */
char *path_dir(const char *path);

#endif
