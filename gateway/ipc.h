/* Messages between the main process and its workers: fixed-size records
 * on a SOCK_SEQPACKET socketpair (one message, one record), a descriptor
 * riding along with SCM_RIGHTS where there is one. */
#ifndef GATEWAY_IPC_H
#define GATEWAY_IPC_H

#include <stdint.h>

#include "env.h"

#define WORKER_ARG "--worker"
#define WORKER_FD 3             /* the worker's end of the socketpair */

enum ipc_type {
	IPC_CONFIG = 1,         /* main -> worker: fd is a memfd with the text */
	IPC_CONN,               /* main -> worker: fd is the accepted socket;
	                         * an HTTP route's request head rides along */
	IPC_STOP,               /* main -> worker: stop (a second: end children) */
	IPC_SPAWNED,            /* worker -> main: conn runs as pid; fd, if
	                         * any, is its stderr = log pipe's read end */
	IPC_GONE,               /* worker -> main: conn's child exited or never ran */
	IPC_BACK,               /* worker -> main: conn's socket could not be
	                         * received (out of descriptors): not taken */
	IPC_STATS,              /* worker -> main: what it counted since its
	                         * last (metrics_delta's records, as data) */
	IPC_KILL,               /* main -> worker: end conn (the control
	                         * socket's kill): its child's kill path, or
	                         * the client closed if it has none yet */
};

struct ipc_msg {
	uint32_t type;
	uint32_t route;         /* IPC_CONN: index in the current config */
	uint32_t listen;        /* IPC_CONN: index of the route's listener */
	uint32_t generation;    /* IPC_CONN, IPC_CONFIG: which config */
	uint32_t datalen;       /* bytes after the record (IPC_CONN: the head,
	                         * then tlvlen bytes: a struct proxy_tlvs) */
	uint32_t tlvlen;        /* IPC_CONN */
	int32_t pid;            /* IPC_SPAWNED */
	uint64_t conn;
	struct conn_info ci;    /* IPC_CONN */
};

#define IPC_DATA_MAX (16 * 1024 + sizeof(struct proxy_tlvs)) /* HTTP_HEAD_MAX, TLVs */

/* Sends one message, its m->datalen bytes of data (NULL when none), and
 * fd (or -1). Returns 0 or a negative errno; -EAGAIN when the peer's
 * queue is full. */
int ipc_send(int sock, const struct ipc_msg *m, const void *data, int fd);

/* A worker's report to the main process, with fd (or -1) and
 * m->datalen bytes of data: waits rather than lose it when the main
 * process is slow to read. */
void ipc_report(int sock, const struct ipc_msg *m, const void *data, int fd);

#define IPC_FD_LOST (-2)

/* Receives one message, its data into `data` (IPC_DATA_MAX bytes, or
 * NULL where none may come), and the descriptor that came with it: -1 if
 * none came, IPC_FD_LOST if one came but the receiver had no room for it
 * (the kernel closed it; the sender still has its own). Returns 1, 0 at
 * EOF, or a negative errno (-EAGAIN: nothing yet). */
int ipc_recv(int sock, struct ipc_msg *m, char *data, int *fd);

#endif
