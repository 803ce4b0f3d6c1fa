/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The control channel between the master and each worker: one
 * SOCK_SEQPACKET socketpair, one message per packet. Every message starts
 * with struct ipc_hdr; listener descriptors travel with SCM_RIGHTS. A
 * struct ipc_chan queues what the peer cannot take yet, so neither side
 * ever blocks on the other. A payload larger than one packet may carry
 * (IPC_MAX_PAYLOAD) travels in a sealed memfd sent with the header, so a
 * broadcast or a channel push of a whole package body fits.
 *
 * Bump IPC_VERSION on any change to a message type or payload layout.
 * (Master and workers are one binary, but a worker forked from an old
 * master still talks to it during an upgrade-by-restart.)
 */

#ifndef COMMON_IPC_H
#define COMMON_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_VERSION		4
#define IPC_MAX_PAYLOAD		(60 * 1024)	/* in the packet itself */
#define IPC_MAX_MESSAGE		(32 * 1024 * 1024)	/* through a memfd */

#define IPC_F_MEMFD		0x1	/* the payload is in the sent fd */

enum ipc_type {
	/* 0x1xx: master to worker. */
	IPC_LISTENER = 0x100,	/* struct ipc_listener + one fd */
	IPC_START = 0x101,	/* every listener sent: accept */
	IPC_DRAIN = 0x102,	/* struct ipc_drain */
	IPC_STOP = 0x103,	/* kick reason: kick everyone now, exit */
	IPC_REOPEN_LOGS = 0x104, /* the reopened log file's fd */
	/*
	 * TLS (issue 11), added the simple way for the control-channel
	 * restructure to take into its master-to-worker table: the master
	 * rotated the ticket keys (sent by master/tickets.c, taken by
	 * worker.c's worker_chan_msg()).
	 */
	IPC_TLS_TICKET_KEYS = 0x105, /* struct tls_ticket_keys (tls.h) */
	IPC_KICK = 0x110,	/* struct ipc_kick + uid bytes; tagged */
	IPC_SESSIONS = 0x111,	/* tagged; answered with IPC_REPLY* */
	IPC_BROADCAST = 0x112,	/* route NUL JSON; tagged */
	IPC_CH_JOINED = 0x120,	/* JSON answer to IPC_CH_JOIN; tagged */
	IPC_CH_DELIVER = 0x121,	/* struct ipc_ch_push: deliver locally */
	IPC_CH_DROP = 0x122,	/* channel name: destroyed */

	/* 0x2xx: worker to master. */
	IPC_READY = 0x200,
	IPC_HEARTBEAT = 0x201,	/* struct worker_stats */
	IPC_REPLY = 0x202,	/* a chunk of an answer; tagged */
	IPC_REPLY_END = 0x203,	/* last chunk; tagged */
	IPC_CH_JOIN = 0x210,	/* struct ipc_ch_join; tagged */
	IPC_CH_LEAVE = 0x211,	/* struct ipc_ch_leave */
	IPC_CH_PUSH = 0x212,	/* struct ipc_ch_push */
	IPC_CH_DESTROY = 0x213,	/* channel name */
	IPC_SESSION_CLOSED = 0x214, /* uint64_t session id */
	IPC_KICK_ALL = 0x215,	/* struct ipc_kick: on the other workers */
};

struct ipc_hdr {
	uint16_t	 version;
	uint16_t	 type;
	uint32_t	 len;		/* payload bytes */
	uint64_t	 tag;		/* pairs requests and replies */
	uint32_t	 flags;		/* IPC_F_* */
	uint32_t	 pad;
};

struct ipc_listener {
	uint32_t	 index;		/* in the configured order */
	char		 name[64];
	char		 address[128];
};

struct ipc_drain {
	uint64_t	 timeout_ms;
	char		 reason[32];	/* the kick reason at the end */
};

struct ipc_kick {
	uint64_t	 session;	/* 0: by uid */
	char		 reason[128];
	/* followed by the uid bytes when session is 0 */
};

/*
 * Channels (DESIGN.md §4): the master holds every channel's members, so
 * joins are checked and pushes fanned out in one place. Strings follow
 * the fixed part in the order of their lengths, without NULs.
 */
struct ipc_ch_join {
	uint64_t	 session;
	uint8_t		 unique_uid;	/* refuse a uid already a member */
	uint8_t		 pad;
	uint16_t	 channel_len;
	uint16_t	 uid_len;
	uint16_t	 leave_route_len;
	uint32_t	 leave_body_len;
	/* channel, uid, leave route, leave body */
};

struct ipc_ch_leave {
	uint64_t	 session;
	uint16_t	 channel_len;
	/* channel */
};

struct ipc_ch_push {
	uint64_t	 exclude;	/* a session not to push to, or 0 */
	uint32_t	 from;		/* the sending worker's serial */
	uint16_t	 channel_len;
	uint16_t	 route_len;
	uint16_t	 uid_len;	/* only members with this uid, if > 0 */
	uint16_t	 pad;
	uint32_t	 body_len;
	/* channel, route, uid, body */
};

/* A channel push (IPC_CH_PUSH, IPC_CH_DELIVER), decoded: views, no copies. */
struct ipc_push {
	uint64_t	 exclude;
	uint32_t	 from;
	const char	*channel;
	size_t		 channel_len;
	const char	*route;
	size_t		 route_len;
	const char	*uid;		/* NULL or uid_len 0: every member */
	size_t		 uid_len;
	const char	*body;
	size_t		 body_len;
};

/*
 * Lays out <m> as a struct ipc_ch_push payload. Returns it (the caller's
 * to free) and its length in <ret_len>, or NULL when it would not fit
 * IPC_MAX_MESSAGE or a length its field.
 */
void	*ipc_push_encode(const struct ipc_push *m, size_t *ret_len);
/* Reads a payload into <ret>, pointing into it. Returns 0 or -EBADMSG. */
int	 ipc_push_decode(const void *payload, size_t len, struct ipc_push *ret);

/*
 * The counters a worker reports every second. Totals are since the worker
 * started; gauges are current values.
 */
struct worker_stats {
	uint64_t	 rss;
	uint64_t	 connections;		/* gauge: open */
	uint64_t	 sessions;		/* gauge: handshaken */
	uint64_t	 sessions_inited;	/* gauge */
	uint64_t	 sessions_wait_ack;	/* gauge */
	uint64_t	 sessions_working;	/* gauge */
	uint64_t	 tcp_connections;	/* gauge */
	uint64_t	 ws_connections;	/* gauge */
	uint64_t	 accepted;
	uint64_t	 rejected_max_connections;
	uint64_t	 handshakes;
	uint64_t	 handshake_errors;
	uint64_t	 requests;
	uint64_t	 notifies;
	uint64_t	 responses;
	uint64_t	 pushes;
	uint64_t	 kicks;
	uint64_t	 heartbeat_timeouts;
	uint64_t	 handshake_timeouts;
	uint64_t	 idle_timeouts;
	uint64_t	 protocol_errors;
	uint64_t	 oversize_packages;
	uint64_t	 send_buffer_overflows;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 channels;		/* gauge */
	uint64_t	 channel_members;	/* gauge */
	uint64_t	 tls_handshakes;	/* TLS: full and resumed */
	uint64_t	 tls_resumptions;	/* TLS: from a ticket */
	uint64_t	 tls_errors;		/* TLS: failed, logged */
};

/* The names of the worker_stats members, in order, for show stat. */
extern const char *const worker_stats_names[];
#define WORKER_STATS_N	(sizeof (struct worker_stats) / sizeof (uint64_t))

struct event_base;
struct ipc_chan;

/*
 * Called for each message. <fd> is a received descriptor, now the
 * callee's, or -1. The channel must not be destroyed from inside.
 */
typedef void (*ipc_msg_cb)(struct ipc_chan *chan, const struct ipc_hdr *hdr,
    const void *payload, int fd, void *arg);
/*
 * Called once when the peer has gone (EOF or error), from the event loop
 * (never from inside ipc_chan_send() or a message callback). The channel
 * may be destroyed from inside.
 */
typedef void (*ipc_close_cb)(struct ipc_chan *chan, void *arg);

struct ipc_chan	*ipc_chan_create(struct event_base *base, int fd,
		     ipc_msg_cb msg_cb, ipc_close_cb close_cb, void *arg);
/* Closes the descriptor and frees what is still queued. */
void		 ipc_chan_destroy(struct ipc_chan *chan);

/*
 * Sends (or queues) one message. <fd>, when not -1, is sent with it and
 * stays the caller's. A payload over IPC_MAX_PAYLOAD goes in a memfd and
 * cannot come with an <fd> of its own (-EINVAL). Returns 0, -EMSGSIZE
 * when <len> exceeds IPC_MAX_MESSAGE, -errno when the memfd cannot be
 * made, or -EPIPE once the channel is closed.
 */
int		 ipc_chan_send(struct ipc_chan *chan, uint16_t type,
		     uint64_t tag, const void *payload, size_t len, int fd);

/* Bytes queued and not yet taken by the peer. */
size_t		 ipc_chan_queued(const struct ipc_chan *chan);

/* The low-level calls the channel uses; exposed for tests. */
int		 ipc_send(int sock, const struct ipc_hdr *hdr,
		     const void *payload, int fd);
/*
 * Receives one packet. Returns its size (header included, so never 0 for
 * a message), 0 on EOF, or -errno (-EAGAIN: nothing waits, -EBADMSG: a
 * malformed message, dropped). For an IPC_F_MEMFD message the payload is
 * not read: <*ret_fd> is the memfd holding <ret_hdr->len> bytes.
 */
int		 ipc_recv(int sock, struct ipc_hdr *ret_hdr, void *payload,
		     size_t size, int *ret_fd);

#endif
