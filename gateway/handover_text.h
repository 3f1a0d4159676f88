/* What one image of the gateway hands the next across an in-place
 * upgrade (an execve in the same process, so the pid, the children and
 * the descriptors stay): its listening sockets, its running children and
 * its counts. They are written as lines of text into a memfd whose
 * descriptor the new image finds in GATEWAYD_UPGRADE, one record a line,
 * `NAME key=value ...`, values percent-encoded, so that an image of
 * another version reads what it knows and the format can grow:
 *
 *   gatewayd-upgrade 1
 *   from version=0.1.0 started=NS last_conn=N reply=FD config=FD nofile=N
 *        nofile_max=N
 *   listen fd=N family=N passed=0|1 made=0|1 route=NAME text=ADDR path=PATH
 *   worker index=N pid=N fd=N
 *   child pid=N conn=N started=NS errfd=N worker=N http=0|1 route=NAME tcp=0|1
 *         rip= rport= lip= lport= ipc= cred=0|1 uid= gid= ppid= via= peer=HEX
 *   reading fd=N family=N route=NAME text=ADDR stage=N left=MS born=NS buf=BYTES
 *         tlvs=0|1 ssl= authority= alpn= unique= (and a child's conn=,
 *         tcp= ... peer=)
 *   metrics size=N start_ms=N reloads=N reload_errors=N data=BYTES
 *
 * A child with worker= is a worker's: the main process counts it and
 * has a copy of its stderr pipe, and takes it over when that worker
 * ends. */
#ifndef GATEWAY_HANDOVER_TEXT_H
#define GATEWAY_HANDOVER_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "env.h"
#include "proxy.h"

#define HANDOVER_ENV "GATEWAYD_UPGRADE"

/* The format this binary writes and reads (`gatewayd -V` says it, for
 * the image before to check). */
#define HANDOVER_FORMAT 1

struct handed_listener {
	int fd;
	int family;
	int passed;                     /* systemd's */
	int made;                       /* the socket file is the gateway's */
	char route[128];                /* the first route it was opened for */
	char text[256];                 /* the listen = address, as written */
	char path[110];                 /* the socket file, if made */
	int taken;
};

struct handed_worker {
	unsigned index;
	pid_t pid;
	int fd;                         /* its end of the socketpair */
	int taken;
};

struct handed_child {
	pid_t pid;
	int worker;                     /* the worker's index, or -1: ours */
	int http;                       /* an HTTP or pty route's: its worker relays */
	int errfd;                      /* stderr = log pipe's read end, or -1 */
	uint64_t started;               /* uv_hrtime() at its spawn */
	char route[128];
	struct conn_info ci;
	int taken;
};

/* A connection still being read (pending.h's stage), on the listener
 * for the address written text in family. */
struct handed_reading {
	int fd;
	int family;
	char route[128];                /* its listener's, as handed_listener */
	char text[256];
	int stage;
	uint64_t left_ms;               /* until its reading times out */
	uint64_t born;                  /* uv_hrtime() at accept */
	char *buf;                      /* what was read of it so far */
	size_t len;
	int have_tlvs;
	struct proxy_tlvs tlvs;
	struct conn_info ci;
	int taken;
};

struct handover {
	char version[64];               /* of the image that wrote it */
	uint64_t started;               /* the gateway's start, uv_hrtime() */
	unsigned long long last_conn;
	int reply;                      /* a control client awaiting the outcome, or -1 */
	int config_fd;                  /* the running config's text, or -1 */
	unsigned long long nofile_soft, nofile_hard; /* the children's limit */
	struct handed_listener *listeners;
	size_t nlisteners;
	struct handed_child *children;
	size_t nchildren;
	struct handed_worker *workers;
	size_t nworkers;
	struct handed_reading *reading;
	size_t nreading;
	/* The counters (metrics_delta's records, of records sizeof(struct
	 * stats_counts) = metrics_size in the image that wrote them). */
	char *metrics;
	size_t metrics_len;
	unsigned metrics_size;
	uint64_t metrics_start_ms, reloads, reload_errors;
};

/* ---- writing (the old image) ---- */

struct handover_buf {
	char *data;
	size_t len, cap;
	int failed;                     /* out of memory */
};

void handover_put_from(struct handover_buf *b, const char *version,
    uint64_t started, unsigned long long last_conn, int reply, int config_fd,
    unsigned long long nofile_soft, unsigned long long nofile_hard);
void handover_put_listener(struct handover_buf *b, const struct handed_listener *l);
void handover_put_child(struct handover_buf *b, const struct handed_child *c);
void handover_put_worker(struct handover_buf *b, const struct handed_worker *w);
void handover_put_reading(struct handover_buf *b, const struct handed_reading *r);
void handover_put_metrics(struct handover_buf *b, unsigned size, uint64_t start_ms,
    uint64_t reloads, uint64_t reload_errors, const char *data, size_t len);

/* The text in a memfd (not close-on-exec), read from its start. The
 * descriptor, or a negative errno. */
int handover_memfd(const struct handover_buf *b);

/* Parses the text; 0, or -1 with err saying why. h is filled (every fd
 * as written) and must be freed with handover_free either way. */
int handover_parse(const char *text, size_t len, struct handover *h,
    char *err, size_t errlen);
void handover_free(struct handover *h);

#endif
