/* A child watched through its pidfd: every child on the clone path, and
 * on both paths a child taken over from a worker that died. Its exit is
 * seen with WNOWAIT, so it stays an unreaped zombie, and its process
 * group's id cannot be reused, until proc_close reaps it: while it is
 * watched, its group is signalled with kill(-pid), which cannot reach
 * another group. The spawn paths build spawn.h on these. */
#ifndef GATEWAY_PIDFD_H
#define GATEWAY_PIDFD_H

#include <uv.h>

#include "spawn.h"

/* Watches p->pid through pidfd. 0, or a negative errno: then pidfd is
 * still the caller's to close, unless p->closing is set (the handle is
 * closing; it closes pidfd, then calls p->on_close). */
int pidfd_proc_watch(uv_loop_t *loop, struct proc *p, int pidfd);

int pidfd_proc_signal_group(struct proc *p, int sig);
void pidfd_proc_close(struct proc *p);

#endif
