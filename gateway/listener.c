#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "activation.h"
#include "handover.h"
#include "log.h"
#include "util.h"

static mode_t current_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

/* A Unix path that exists: a stale socket (nobody listening) is removed,
 * a live one is in use, and anything else is never touched. */
static int unix_path_free(const struct listen_addr *a, char *err, size_t errlen)
{
	const char *path = a->ipc_path;
	struct stat st;
	int fd, r, e;

	if (a->abstract)
		return 0;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "listen unix:%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "listen unix:%s: exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen unix:%s: socket: %s", path, strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)&a->ss, a->len);
	e = errno;
	close(fd);
	/* EAGAIN: a live listener whose backlog is full. */
	if (r == 0 || e == EAGAIN) {
		snprintf(err, errlen, "listen unix:%s: %s", path, strerror(EADDRINUSE));
		return -1;
	}
	if (e != ECONNREFUSED && e != ENOENT) {
		snprintf(err, errlen, "listen unix:%s: %s", path, strerror(e));
		return -1;
	}
	if (e == ECONNREFUSED && unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "listen unix:%s: removing stale socket: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The socket file this listener made, opened without following a link
 * at its path, and only while the path still names that very file (the
 * device and inode recorded after bind): an O_PATH descriptor, -ESTALE
 * when the path names something else now, or -errno. */
static int socket_file_open(const struct listener *l)
{
	struct stat st;
	int fd = open(l->addr->ipc_path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_dev != l->dev || st.st_ino != l->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Mode and owner (-1: unchanged) of the socket file this listener made.
 * chmod(2) follows links and Linux has no fchmod on an O_PATH descriptor,
 * so the mode goes through /proc/self/fd, which names the file the
 * descriptor holds, never a link; the owner through fchownat on the
 * descriptor itself. Returns 0, -ESTALE (see socket_file_open) or -errno
 * with *what naming the step. */
static int socket_file_set(const struct listener *l, int mode, uid_t uid,
    gid_t gid, const char **what)
{
	char proc[32];
	int fd, r = 0;

	*what = "open";
	fd = socket_file_open(l);
	if (fd < 0)
		return fd;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	*what = "chmod";
	if (mode >= 0 && chmod(proc, (mode_t)mode) < 0)
		r = -errno;
	*what = "chown";
	if (r == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Why socket_file_set failed, in words. */
static void socket_file_why(char *buf, size_t len, const char *what, int e)
{
	if (e == -ESTALE)
		snprintf(buf, len, "the path is not the socket the gateway made");
	else
		snprintf(buf, len, "%s: %s", what, strerror(-e));
}

static int open_socket(const struct listen_addr *a, int *family)
{
	int fd = socket(*family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	/* *:PORT on a host without IPv6 is 0.0.0.0:PORT. */
	if (fd < 0 && errno == EAFNOSUPPORT && a->any_fallback) {
		*family = AF_INET;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	return fd;
}

/* A socket systemd passed (systemd:NAME): listening already, bound to
 * whatever its unit says; logged and served as one the gateway opened. */
static int open_passed(struct listener *l, const struct listen_addr *a,
    char *err, size_t errlen)
{
	const char *name = addr_systemd_name(a);
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss, olen = sizeof(int);
	int fd = activation_take(name), type = 0, listening = 0;

	if (fd == -ENOENT) {
		snprintf(err, errlen, "listen %s: systemd passed no socket of that "
		    "name (FileDescriptorName=)", a->text);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: closed already (unnamed at start, or "
		    "removed by a reload): systemd passes a socket once", a->text);
		return -1;
	}
	l->fd = fd;
	l->passed = 1;
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen);
	olen = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen);
	if (type != SOCK_STREAM || !listening ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, errlen, "listen %s: not a listening stream socket "
		    "(ListenStream=, Accept=no)", a->text);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	addr_format((struct sockaddr *)&ss, len, l->name, sizeof l->name);
	if (ss.ss_family == AF_UNIX)
		snprintf(l->ipc_path, sizeof l->ipc_path, "%s", l->name + 5);
	return 0;
}

/* A socket the image before an in-place upgrade listened on for the
 * same address: listening already, its socket file (if it made one)
 * still the gateway's; the new backlog applies. */
static void open_handed(struct listener *l, const struct listen_addr *a,
    int fd, const struct handed_listener *h)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct stat st;

	l->fd = fd;
	l->passed = h->passed;
	memcpy(l->ipc_path, a->ipc_path, sizeof l->ipc_path);
	if (h->made && a->ipc_path[0] && lstat(a->ipc_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode)) {
		l->made_file = 1;
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (!h->passed)
		listen(fd, l->backlog);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_format((struct sockaddr *)&ss, len, l->name, sizeof l->name);
	else
		snprintf(l->name, sizeof l->name, "%s", a->text);
	if (ss.ss_family == AF_UNIX && a->systemd)
		snprintf(l->ipc_path, sizeof l->ipc_path, "%s", l->name + 5);
}

struct listener *listener_open(const struct route *r,
    const struct listen_addr *a, char *err, size_t errlen)
{
	struct handed_listener *h;
	int handed;
	struct sockaddr_storage ss = a->ss;
	socklen_t len = a->len;
	int family = a->family, one = 1;
	const char *what = "socket";
	char why[96];
	struct listener *l = calloc(1, sizeof *l);

	err[0] = '\0';
	if (!l) {
		snprintf(err, errlen, "listen %s: %s", a->text, strerror(ENOMEM));
		return NULL;
	}
	l->fd = -1;
	l->route = r;
	l->addr = a;
	if (listener_add_route(l, r) < 0) {
		snprintf(err, errlen, "listen %s: %s", a->text, strerror(ENOMEM));
		free(l);
		return NULL;
	}
	l->backlog = r->backlog;
	l->socket_mode = r->socket_mode;
	if ((handed = handover_take_listener(r->name, a->text, a->family, &h)) >= 0) {
		open_handed(l, a, handed, h);
		return l;
	}
	if (a->systemd) {
		if (open_passed(l, a, err, errlen) < 0) {
			listener_close(l);
			return NULL;
		}
		return l;
	}
	memcpy(l->ipc_path, a->ipc_path, sizeof l->ipc_path);
	if (family == AF_UNIX && unix_path_free(a, err, errlen) < 0) {
		free(l->routes);
		free(l);
		return NULL;
	}
	l->fd = open_socket(a, &family);
	if (l->fd < 0)
		goto fail;
	if (family != a->family) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		unsigned short port = ((struct sockaddr_in6 *)&a->ss)->sin6_port;
		memset(&ss, 0, sizeof ss);
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof *sin;
	}
	what = "setsockopt";
	if (family != AF_UNIX &&
	    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	if (family == AF_INET6 && setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &a->v6only, sizeof a->v6only) < 0)
		goto fail;
	what = "bind";
	if (bind(l->fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (family == AF_UNIX && !a->abstract) {
		struct stat st;
		int e;
		/* The file bind made, from now on the only one the gateway
		 * changes or removes at this path. */
		what = "bind";
		if (lstat(a->ipc_path, &st) < 0)
			goto fail;
		if (!S_ISSOCK(st.st_mode)) {
			errno = ESTALE;
			goto fail_file;
		}
		l->made_file = 1;
		l->dev = st.st_dev;
		l->ino = st.st_ino;
		e = socket_file_set(l, r->socket_mode, r->socket_uid,
		    r->socket_gid, &what);
		if (e < 0) {
			errno = -e;
			goto fail_file;
		}
	}
	what = "listen";
	if (listen(l->fd, r->backlog) < 0)
		goto fail;
	len = sizeof ss;
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
		len = 0;
	if (family == AF_UNIX || len == 0)
		snprintf(l->name, sizeof l->name, "%s", a->text);
	else
		addr_format((struct sockaddr *)&ss, len, l->name, sizeof l->name);
	return l;

fail:
	if (!(a->optional && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)))
		snprintf(err, errlen, "listen %s: %s: %s", a->text, what, strerror(errno));
	listener_close(l);
	return NULL;

fail_file:
	socket_file_why(why, sizeof why, what, -errno);
	snprintf(err, errlen, "listen %s: %s", a->text, why);
	listener_close(l);
	return NULL;
}

int listener_add_route(struct listener *l, const struct route *r)
{
	const struct route **v = realloc(l->routes, (l->nroutes + 1) * sizeof *v);

	if (!v)
		return -ENOMEM;
	l->routes = v;
	l->routes[l->nroutes++] = r;
	return 0;
}

/* A reload's socket_mode and owner, applied to the socket file this
 * listener made. A new owner is applied in place; one dropped leaves the
 * file as it is (who else should own it is not known). The reload has
 * been committed: a file that cannot be changed is a warning. */
static void adopt_socket_file(struct listener *l, const struct route *r)
{
	int mode = -1, e;
	const char *what;
	char why[96];

	if (r->socket_mode != l->socket_mode)
		mode = r->socket_mode >= 0 ? r->socket_mode :
		    (int)(0777 & ~current_umask());
	if (mode < 0 && r->socket_uid == (uid_t)-1 && r->socket_gid == (gid_t)-1)
		return;
	e = socket_file_set(l, mode, r->socket_uid, r->socket_gid, &what);
	if (e < 0) {
		socket_file_why(why, sizeof why, what, e);
		log_warnx("reload: %s: socket_mode and owner left as they were: %s",
		    l->name, why);
		return;
	}
	l->socket_mode = r->socket_mode;
}

void listener_adopt(struct listener *l, const struct route *r,
    const struct listen_addr *a)
{
	l->route = r;
	l->routes[0] = r;
	l->nroutes = 1;
	l->addr = a;
	/* listen(2) on a listening socket changes its backlog in place (a
	 * passed socket keeps the one its unit gave it). */
	if (!l->passed && r->backlog != l->backlog && listen(l->fd, r->backlog) == 0)
		l->backlog = r->backlog;
	if (l->made_file)
		adopt_socket_file(l, r);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct listener *l = container_of(h, struct listener, poll);

	(void)status;
	(void)events;
	l->on_readable(l);
}

int listener_watch(struct listener *l, uv_loop_t *loop,
    void (*on_readable)(struct listener *))
{
	int r = uv_poll_init(loop, &l->poll, l->fd);

	if (r < 0)
		return r;
	l->watching = 1;
	l->on_readable = on_readable;
	listener_accepting(l, 1);
	return 0;
}

void listener_accepting(struct listener *l, int on)
{
	if (!l->watching || l->polling == on)
		return;
	l->polling = on;
	if (on)
		uv_poll_start(&l->poll, UV_READABLE, on_poll);
	else
		uv_poll_stop(&l->poll);
}

int listener_accept(struct listener *l, struct conn_info *ci)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof peer, llen = sizeof local;
	int fd;

	/* No SOCK_NONBLOCK: the child gets a blocking socket, and the
	 * gateway never reads it. */
	fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(ci, 0, sizeof *ci);
	ci->peer = peer;
	if (peer.ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t clen = sizeof cred;
		/* A copy: a reload may free the address before the
		 * connection ends. */
		memcpy(ci->ipc_path, l->ipc_path, sizeof ci->ipc_path);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			ci->have_cred = 1;
			ci->uid = cred.uid;
			ci->gid = cred.gid;
			ci->pid = cred.pid;
		}
		return fd;
	}
	ci->tcp = 1;
	addr_host_port((struct sockaddr *)&peer, ci->remote_ip,
	    sizeof ci->remote_ip, &ci->remote_port);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
		addr_host_port((struct sockaddr *)&local, ci->local_ip,
		    sizeof ci->local_ip, &ci->local_port);
	return fd;
}

/* What a listener of the gateway's own points at. */
struct own_socket {
	struct route route;
	struct listen_addr addr;
	char name[16];
};

static void listener_free(struct listener *l)
{
	source_table_free(&l->reading);
	free(l->routes);
	free(l->own);
	free(l);
}

struct listener *listener_open_own(uv_loop_t *loop, const char *name,
    const struct listen_addr *a, int mode, int backlog,
    void (*on_readable)(struct listener *), void *data, char *err, size_t errlen)
{
	struct own_socket *o = calloc(1, sizeof *o);
	struct listener *l;
	int r;

	if (!o) {
		snprintf(err, errlen, "%s %s: %s", name, a->text, strerror(ENOMEM));
		return NULL;
	}
	snprintf(o->name, sizeof o->name, "%s", name);
	o->addr = *a;
	o->route.name = o->name;
	o->route.backlog = backlog;
	o->route.socket_mode = mode;
	o->route.socket_uid = (uid_t)-1;
	o->route.socket_gid = (gid_t)-1;
	o->route.max_pending = 1;
	if (!(l = listener_open(&o->route, &o->addr, err, errlen))) {
		if (!err[0])
			snprintf(err, errlen, "%s %s: unavailable", name, a->text);
		free(o);
		return NULL;
	}
	l->own = o;
	l->data = data;
	if ((r = listener_watch(l, loop, on_readable)) < 0) {
		snprintf(err, errlen, "%s %s: %s", name, a->text, uv_strerror(r));
		listener_close(l);
		return NULL;
	}
	return l;
}

static void on_closed(uv_handle_t *h)
{
	listener_free(container_of(h, struct listener, poll));
}

void listener_close(struct listener *l)
{
	struct stat st;

	/* A socket handed over by the image before, in a start that failed:
	 * it goes back to that image as it is. */
	if (handover_holds(l->fd)) {
		if (l->watching) {
			uv_close((uv_handle_t *)&l->poll, on_closed);
			return;
		}
		listener_free(l);
		return;
	}
	/* Only the file this listener made: never one that replaced it. */
	if (l->made_file && lstat(l->addr->ipc_path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->addr->ipc_path);
	/* uv_close takes the fd out of the loop at once: then it may go. */
	if (l->watching)
		uv_close((uv_handle_t *)&l->poll, on_closed);
	if (l->passed)
		activation_closed(l->fd);
	if (l->fd >= 0)
		close(l->fd);
	if (!l->watching)
		listener_free(l);
}

void listener_discard(struct listener *l)
{
	if (l->passed) {
		activation_give_back(l->fd);
		l->fd = -1;
		l->passed = 0;
	}
	listener_close(l);
}
