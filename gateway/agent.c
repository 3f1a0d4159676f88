/* The agent-check socket: accept, one line, close. The answer is a few
 * bytes into an empty socket buffer, sent without waiting; out of
 * descriptors, accepting pauses for a second (HAProxy tries again at its
 * next agent-inter). */
#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linger.h"
#include "util.h"

#define BATCH 16
#define BACKLOG 64
#define RETRY_MS 1000

static void on_retry(uv_timer_t *t)
{
	listener_accepting(container_of(t, struct agent, retry)->l, 1);
}

static void on_readable(struct listener *l)
{
	struct agent *ag = l->data;
	struct conn_info ci;
	char line[64];
	size_t n;

	for (int i = 0; i < BATCH; i++) {
		int fd = listener_accept(l, &ci);

		if (fd == -EAGAIN || fd == -EWOULDBLOCK)
			return;
		if (fd == -ECONNABORTED || fd == -EINTR)
			continue;
		if (fd < 0) {
			listener_accepting(l, 0);
			uv_timer_start(&ag->retry, on_retry, RETRY_MS, 0);
			return;
		}
		ag->owner->state(ag->owner, line, sizeof line - 1);
		n = strlen(line);
		line[n++] = '\n';
		send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		/* What haproxy's agent-send wrote is read and dropped before
		 * the close, which would otherwise reset the connection and
		 * lose the answer. */
		linger_close(ag->loop, fd);
	}
}

int agent_open(struct agent *ag, uv_loop_t *loop, struct agent_owner *o,
    const struct listen_addr *a, char *err, size_t errlen)
{
	memset(ag, 0, sizeof *ag);
	ag->loop = loop;
	ag->owner = o;
	ag->l = listener_open_own(loop, "agent", a, -1, BACKLOG, on_readable,
	    ag, err, errlen);
	if (!ag->l)
		return -1;
	uv_timer_init(loop, &ag->retry);
	ag->open = 1;
	return 0;
}

const char *agent_name(const struct agent *ag)
{
	return ag->l->name;
}

void agent_close(struct agent *ag)
{
	if (!ag->open)
		return;
	ag->open = 0;
	listener_close(ag->l);
	ag->l = NULL;
	uv_close((uv_handle_t *)&ag->retry, NULL);
}
