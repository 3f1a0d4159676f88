/* The child's environment, built from scratch for each connection. */
#ifndef GATEWAY_ENV_H
#define GATEWAY_ENV_H

#include <sys/socket.h>
#include <sys/types.h>

#include "config.h"
#include "proxy.h"

/* What the gateway knows of one connection, in the SPEC's terms. */
struct conn_info {
	int tcp;                        /* PROTO=TCP, else IPC */
	char remote_ip[64], local_ip[64];
	unsigned remote_port, local_port;
	char ipc_path[110];             /* IPCLOCALPATH: a copy, as in addr.h */
	int have_cred;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	unsigned long long id;
	struct sockaddr_storage peer;   /* the client (a PROXY header's source) */
	char via[128];                  /* the proxy, when a header was believed */
};

struct http_request;

/* What a cgi or nph route's child learns of its request (RFC 3875 4.1). */
struct cgi_request {
	const struct http_request *req;
	const char *script_name;        /* the route's path ("" for "/"), exec_dir's "/NAME" after it */
	const char *path_info;          /* the rest of the normalised path */
	const char *script_filename;    /* the program's absolute file */
};

/* Builds the environment: the per-connection variables, those of a
 * PROXY v2 header's TLVs (NULL: none came), PATH, the route's pass_env
 * names found in `parent`, then its env entries (which win). Returns 0
 * and fills `out`, or -ENOMEM. */
int env_build(const struct route *r, const struct conn_info *ci,
    const struct proxy_tlvs *tlvs, char *const *parent, struct strv *out);

/* The same, then the CGI meta-variables of an HTTP request. */
int env_build_cgi(const struct route *r, const struct conn_info *ci,
    const struct proxy_tlvs *tlvs, const struct cgi_request *cr,
    char *const *parent, struct strv *out);

#endif
