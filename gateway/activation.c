#include "activation.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "log.h"

enum { PASSED, TAKEN, CLOSED };

static struct passed {
	int fd;
	char *name;
	int state;
} *passed;
static size_t npassed;

int activation_init(void)
{
	char **names = NULL;
	/* It unsets LISTEN_* and marks the descriptors close-on-exec. */
	int n = sd_listen_fds_with_names(1, &names);

	if (n <= 0)
		return n;
	if (!(passed = calloc((size_t)n, sizeof *passed))) {
		for (int i = 0; names && names[i]; i++)
			free(names[i]);
		free(names);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		passed[i].fd = SD_LISTEN_FDS_START + i;
		/* Without LISTEN_FDNAMES every socket is named "unknown". */
		passed[i].name = names && names[i] ? names[i] : strdup("unknown");
	}
	free(names);
	npassed = (size_t)n;
	return 0;
}

size_t activation_fds(int *fds, size_t max)
{
	for (size_t i = 0; i < npassed && i < max; i++)
		fds[i] = passed[i].fd;
	return npassed;
}

static struct passed *find(const char *name, int state)
{
	for (size_t i = 0; i < npassed; i++)
		if (passed[i].state == state && passed[i].name &&
		    strcmp(passed[i].name, name) == 0)
			return &passed[i];
	return NULL;
}

int activation_take(const char *name)
{
	struct passed *p = find(name, PASSED);

	if (!p)
		return find(name, CLOSED) || find(name, TAKEN) ? -EBADF : -ENOENT;
	p->state = TAKEN;
	return p->fd;
}

void activation_closed(int fd)
{
	for (size_t i = 0; i < npassed; i++)
		if (passed[i].state == TAKEN && passed[i].fd == fd)
			passed[i].state = CLOSED;
}

void activation_give_back(int fd)
{
	for (size_t i = 0; i < npassed; i++)
		if (passed[i].state == TAKEN && passed[i].fd == fd)
			passed[i].state = PASSED;
}

void activation_close_unused(void)
{
	for (size_t i = 0; i < npassed; i++)
		if (passed[i].state == PASSED) {
			log_warnx("systemd passed socket '%s' (fd %d), which no route "
			    "names: closed", passed[i].name, passed[i].fd);
			close(passed[i].fd);
			passed[i].state = CLOSED;
		}
}
