/* The config model: what the INI file says, as data (every route and
 * the [gateway] limits). The parts that build a config (config_read.c,
 * config_keys.c, config_check.c, config_sys.c) and those that use one
 * share it; config.h adds loading and lifetime. */
#ifndef GATEWAY_CONFIG_MODEL_H
#define GATEWAY_CONFIG_MODEL_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "acl.h"
#include "addr.h"
#include "log.h"
#include "rate.h"
#include "words.h"

struct route_stats;

enum stdin_mode { STDIN_SOCKET, STDIN_NULL };
enum stderr_mode { STDERR_LOG, STDERR_INHERIT, STDERR_NULL };
enum on_busy { BUSY_WAIT, BUSY_REFUSE };
enum on_shutdown { SHUTDOWN_WAIT, SHUTDOWN_DETACH };
enum protocol { PROTO_RAW, PROTO_CGI, PROTO_NPH };
enum request_body { BODY_PIPE, BODY_SOCKET };
enum pty_mode { PTY_NONE, PTY_RAW, PTY_TERMINAL };

/* rlimit_nofile (first), rlimit_nproc, rlimit_as, rlimit_cpu, rlimit_core */
#define ROUTE_RLIMITS 5
extern const int route_rlimit_resource[ROUTE_RLIMITS];
extern const char *const route_rlimit_key[ROUTE_RLIMITS];

struct route {
	char *name;
	int line;                       /* of the [section] */
	struct listen_addr *listen;
	size_t nlisten;
	char *exec;                     /* absolute */
	char *exec_arg0;                /* as written: argv[0] */
	char *exec_dir;                 /* absolute: cgi/nph, programs named by the path */
	struct strv argv;               /* argv[0..], NULL-terminated; with exec_dir
	                                 * argv[0] is the program's name, per request */
	char *cwd;                      /* absolute */
	struct strv env;                /* NAME=VALUE */
	struct strv pass_env;           /* NAME */
	enum stdin_mode stdin_mode;
	enum stderr_mode stderr_mode;
	int stderr_line;                /* where it was set, 0: not set (on a
	                                 * pty route stderr is then the pty) */
	enum pty_mode pty;              /* raw routes: stdio on a pseudo-terminal */
	int pty_line;                   /* where it was set, 0: not set */
	unsigned short pty_cols, pty_rows; /* its window size */
	int pty_size_line;
	enum request_body request_body; /* cgi, nph: how stdin carries a body */
	int request_body_line;          /* where it was set, 0: not set */
	int backlog;
	int socket_mode;                /* -1: per umask */
	char *socket_user, *socket_group;
	uid_t socket_uid;               /* -1: the gateway's */
	gid_t socket_gid;
	unsigned max_children;          /* 0: no limit of its own */
	enum on_busy on_busy;
	char *busy_message;             /* escapes decoded */
	size_t busy_len;
	unsigned max_per_source;        /* 0: none */
	struct rate max_rate;           /* connections admitted: n 0, none */
	struct rate max_rate_per_source;
	double timeout;                 /* seconds, 0: none */
	struct acl allow, deny;
	char *user, *group;             /* as written */
	int set_uid, set_gid, set_groups;
	uid_t uid;
	gid_t gid;
	gid_t *groups;                  /* supplementary (initgroups) */
	size_t ngroups;
	int umask;                      /* -1: the gateway's */
	struct { int set; struct rlimit lim; } rlimit[ROUTE_RLIMITS];
	enum protocol protocol;
	char *path;                     /* cgi/nph: URL prefix, "/" by default */
	int proxy_protocol;             /* 0 (off), PROXY_V1, PROXY_V2, PROXY_ANY */
	struct acl proxy_from;          /* who may send the header */
	int proxy_from_unix;            /* "unix": the route's Unix listeners */
	unsigned max_pending;           /* connections being read, per listener */
	int exec_line, exec_dir_line, cwd_line, user_line, group_line, proxy_line;
	int socket_user_line, socket_group_line;
	struct route_stats *stats;      /* the server's counters (metrics.h), or NULL */
};

/* workers = N and auto alike: the pool keeps a byte per worker on the
 * stack of each handover. */
#define WORKERS_MAX 256

struct config {
	unsigned refs;                  /* the server's, and each child's */
	char *path;                     /* absolute */
	char *dir;                      /* its directory */
	unsigned max_children;
	double shutdown_grace;
	double kill_grace;
	enum on_shutdown on_shutdown;
	enum log_format log_format;
	unsigned workers;               /* event-loop processes; auto resolved */
	struct listen_addr metrics;     /* the metrics endpoint; text "": none */
	int metrics_mode;               /* its socket file's, for unix: */
	double drain_delay;             /* seconds of draining before a SIGTERM stops */
	struct listen_addr control;     /* the control socket, if has_control */
	int has_control;
	int control_mode;               /* its file's mode */
	struct listen_addr agent;       /* HAProxy's agent-check, if has_agent */
	int has_agent;
	char *text;                     /* the file as read, for the workers */
	size_t textlen;
	struct route *routes;
	size_t nroutes;
};

#endif
