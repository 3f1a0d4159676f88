/* gatewayctl: a client of gatewayd's control socket. It sends one
 * command line, prints the answer's lines, and exits 0 when the answer
 * ends `ok`, 1 when it ends `error: TEXT` (printed to stderr) or the
 * gateway cannot be reached, 2 for bad usage. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef CONTROL_PATH
#define CONTROL_PATH "/run/gatewayd/control.sock"
#endif

#define ANSWER_TIMEOUT 60       /* seconds: a reload opens listeners */

static const char *prog = "gatewayctl";

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-s PATH] COMMAND [ARG]\n"
	    "commands: status, conns [ROUTE], kill ID, drain ROUTE|all,\n"
	    "          resume ROUTE|all, reload, upgrade\n"
	    "default PATH: %s (unix:@NAME for an abstract socket)\n",
	    prog, CONTROL_PATH);
}

/* A connected socket to path (or @NAME, abstract), or -1 (reported). */
static int dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT };
	size_t n = strlen(path);
	socklen_t len;
	int fd;

	if (strncmp(path, "unix:", 5) == 0) {
		path += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof sun.sun_path) {
		fprintf(stderr, "%s: %s: not a socket path\n", prog, path);
		return -1;
	}
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '@' ? 0 : 1));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The whole answer, NUL-terminated, in *out; its length, or -1. */
static ssize_t read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t r;
		if (!buf)
			return -1;
		if (len + 1 == cap) {
			char *b = realloc(buf, cap *= 2);
			if (!b) {
				free(buf);
				return -1;
			}
			buf = b;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

/* Prints the answer's lines but the last, and judges by the last. */
static int judge(char *answer, size_t len)
{
	char *last;

	if (len == 0 || answer[len - 1] != '\n') {
		fprintf(stderr, "%s: the answer was cut short\n", prog);
		return 1;
	}
	answer[--len] = '\0';
	last = strrchr(answer, '\n');
	last = last ? last + 1 : answer;
	fwrite(answer, 1, (size_t)(last - answer), stdout);
	if (fflush(stdout) != 0)
		return 1;
	if (strcmp(last, "ok") == 0)
		return 0;
	if (strncmp(last, "error: ", 7) == 0)
		fprintf(stderr, "%s: %s\n", prog, last + 7);
	else
		fprintf(stderr, "%s: unexpected answer: %s\n", prog, last);
	return 1;
}

int main(int argc, char **argv)
{
	const char *path = CONTROL_PATH;
	char line[256], *answer;
	ssize_t n;
	int opt, fd, rc;

	while ((opt = getopt(argc, argv, "s:h")) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (strpbrk(argv[i], "\r\n")) {
			fprintf(stderr, "%s: a line break in '%s'\n", prog, argv[i]);
			return 2;
		}
	if (snprintf(line, sizeof line, "%s%s%s\n", argv[optind],
	    argc - optind == 2 ? " " : "", argc - optind == 2 ? argv[optind + 1] : "")
	    >= (int)sizeof line) {
		fprintf(stderr, "%s: command too long\n", prog);
		return 2;
	}
	if ((fd = dial(path)) < 0)
		return 1;
	/* A failed send may still have an answer waiting (the gateway
	 * answers an error and closes): read it all the same. */
	send_all(fd, line, strlen(line));
	if ((n = read_all(fd, &answer)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path,
		    errno == EAGAIN ? "no answer in time" : strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	rc = judge(answer, (size_t)n);
	free(answer);
	return rc;
}
