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
 * Each side receives through one table of struct ipc_handler (type,
 * name, length bounds, handler), sorted by type. A message of another
 * version, of a type the table lacks, of a length outside its bounds, or
 * whose payload its handler cannot decode is refused, counted and
 * reported to the owner's error callback (which logs it with the peer);
 * nothing is skipped silently (tmux server_client_dispatch). A refused
 * request is answered with IPC_F_REFUSED, so its sender does not wait.
 *
 * Payloads are binary: a fixed struct, then variable tails whose lengths
 * the struct gives, checked against the message length before use
 * (ipc-msg.c). Both ends are the same binary on the same machine, so
 * host byte order and layout are shared; the channel push, the hot path,
 * is relayed by the master without being re-encoded.
 *
 * Requests: ipc_request() sends one tagged message to one or several
 * channels and calls back once with every answer (IPC_REPLY, matched by
 * tag), a timeout, or the peer's departure. The callback always runs
 * from the event loop, never inside a send, a receive or a destroy.
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

#include "common/counters.h"

#define IPC_VERSION		7
#define IPC_MAX_PAYLOAD		(60 * 1024)	/* in the packet itself */
#define IPC_MAX_MESSAGE		(32 * 1024 * 1024)	/* through a memfd */
#define IPC_MAX_ANSWER		(256 * 1024 * 1024)	/* one peer's parts */
#define IPC_NAME_MAX		1024		/* a channel name */
#define IPC_ROUTE_MAX		255

#define IPC_F_MEMFD		0x1	/* the payload is in the sent fd */
#define IPC_F_REFUSED		0x2	/* a reply: the request was refused */

enum ipc_type {
	/* 0x0xx: either way; handled by the channel itself. */
	IPC_REPLY = 0x001,	/* the (last part of the) answer; tagged */
	IPC_REPLY_PART = 0x002,	/* a part of a longer answer; tagged */

	/* 0x1xx: master to worker. */
	IPC_LISTENER = 0x100,	/* struct ipc_listener + one fd */
	IPC_START = 0x101,	/* every listener sent: accept */
	IPC_DRAIN = 0x102,	/* struct ipc_drain */
	IPC_STOP = 0x103,	/* struct ipc_stop: kick everyone, exit */
	IPC_REOPEN_LOGS = 0x104, /* the reopened log file's fd */
	IPC_TLS_TICKET_KEYS = 0x105, /* struct tls_ticket_keys (tls.h) */
	IPC_KICK = 0x110,	/* struct ipc_kick; answer struct ipc_count */
	IPC_SESSIONS = 0x111,	/* answer: struct ipc_session records */
	IPC_BROADCAST = 0x112,	/* struct ipc_broadcast; answer ipc_count */
	IPC_CH_DELIVER = 0x121,	/* struct ipc_ch_push: deliver locally */
	IPC_CLUSTER_SHOW = 0x130, /* answer: JSON text (show cluster) */
	IPC_CLUSTER_ORPHANS = 0x131, /* JSON text: exports of a dead
					 worker's bound sessions */

	/* 0x2xx: worker to master. */
	IPC_READY = 0x200,
	IPC_HEARTBEAT = 0x201,	/* struct worker_stats (counters.h) */
	IPC_CH_JOIN = 0x210,	/* struct ipc_ch_join; answer ipc_ch_joined */
	IPC_CH_PUSH = 0x212,	/* struct ipc_ch_push */
	IPC_SESSION_CLOSED = 0x214, /* struct ipc_session_closed */
	IPC_CLUSTER_BOUND = 0x220, /* JSON text: a bound session's export */
	IPC_CLUSTER_UNBOUND = 0x221, /* struct ipc_session_closed */
	IPC_CLUSTER_STATS = 0x222, /* JSON text: calls per backend server */
};

struct ipc_hdr {
	uint16_t	 version;
	uint16_t	 type;
	uint32_t	 len;		/* payload bytes */
	uint64_t	 tag;		/* pairs requests and replies; 0: none */
	uint32_t	 flags;		/* IPC_F_* */
	uint32_t	 pad;
};

/*
 * The payloads. Strings in fixed arrays are NUL-padded; a receiver ends
 * them itself. Variable tails follow the struct in the order of their
 * length fields, without NULs.
 */
struct ipc_listener {
	uint32_t	 index;		/* in the configured order */
	char		 name[64];
	char		 address[128];
};

struct ipc_drain {
	uint64_t	 timeout_ms;
	char		 reason[32];	/* the kick reason at the end */
};

struct ipc_stop {
	char		 reason[32];
};

struct ipc_kick {
	uint64_t	 session;	/* 0: by uid */
	char		 reason[128];
	/* the uid when session is 0 */
};

/* The answer to IPC_KICK and IPC_BROADCAST: sessions kicked or pushed to. */
struct ipc_count {
	uint64_t	 n;
};

struct ipc_broadcast {
	uint32_t	 route_len;
	uint32_t	 body_len;
	/* route, body (JSON) */
};

/*
 * Channels (DESIGN.md §4): the master holds every channel's members, so
 * joins are checked and pushes fanned out in one place.
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

enum ipc_join_status {
	IPC_JOIN_OK,
	IPC_JOIN_DUPLICATE,		/* unique_uid, and the uid is in */
	IPC_JOIN_TOO_LARGE,		/* the member list does not fit */
};

struct ipc_ch_joined {
	uint32_t	 status;	/* enum ipc_join_status */
	uint32_t	 n_uids;
	/* the members' uids (when ok), each a uint32_t length and bytes */
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

struct ipc_session_closed {
	uint64_t	 session;
};

/* One record of the answer to IPC_SESSIONS; records follow each other. */
struct ipc_session {
	uint64_t	 id;
	uint64_t	 age_ms;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	int32_t		 worker;	/* slot */
	uint32_t	 uid_len;
	uint8_t		 has_uid;
	uint8_t		 transport_len;
	uint8_t		 state_len;
	uint8_t		 peer_len;
	uint8_t		 xprt_len;
	uint8_t		 pad[3];
	/* uid, transport, state, peer, xprt */
};

/* ipc-msg.c: the payloads, decoded into views of the payload (no copies). */
struct ipc_buf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
};

void	 ipc_buf_add(struct ipc_buf *b, const void *p, size_t len);
void	 ipc_buf_free(struct ipc_buf *b);

/* A channel push (IPC_CH_PUSH, IPC_CH_DELIVER). */
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
/*
 * Reads a payload into <ret>, pointing into it. Returns 0 or -EBADMSG
 * (the lengths do not add up, or the channel name is empty).
 */
int	 ipc_push_decode(const void *payload, size_t len, struct ipc_push *ret);

struct ipc_join {
	uint64_t	 session;
	bool		 unique_uid;
	const char	*channel;
	size_t		 channel_len;	/* 1 .. IPC_NAME_MAX */
	const char	*uid;
	size_t		 uid_len;
	const char	*leave_route;	/* leave_route_len 0: no leave push */
	size_t		 leave_route_len;
	const char	*leave_body;
	size_t		 leave_body_len;
};

void	*ipc_join_encode(const struct ipc_join *m, size_t *ret_len);
/* Returns 0, or -EBADMSG (lengths, an empty name, or a NUL in a string). */
int	 ipc_join_decode(const void *payload, size_t len, struct ipc_join *ret);

/* The answer to a join; the uids are read with ipc_joined_next(). */
struct ipc_joined {
	enum ipc_join_status	 status;
	uint32_t		 n_uids;
	const uint8_t		*next;		/* cursor */
	const uint8_t		*end;
};

/*
 * Lays out an answer of <status> listing the <n> NUL-terminated <uids>.
 * Returns it (the caller's) with its length, or NULL over IPC_MAX_MESSAGE.
 */
void	*ipc_joined_encode(enum ipc_join_status status,
	     const char *const *uids, size_t n, size_t *ret_len);
/* Checks every uid entry of the payload. Returns 0 or -EBADMSG. */
int	 ipc_joined_decode(const void *payload, size_t len,
	     struct ipc_joined *ret);
/* The next uid of a decoded answer: true, or false after the last. */
bool	 ipc_joined_next(struct ipc_joined *j, const char **ret_uid,
	     size_t *ret_len);

struct ipc_kick_msg {
	uint64_t	 session;
	char		 reason[sizeof ((struct ipc_kick *)0)->reason];
	const char	*uid;		/* when session is 0 */
	size_t		 uid_len;
};

/* Returns the payload (the caller's) or NULL when <reason> is too long. */
void	*ipc_kick_encode(uint64_t session, const char *reason,
	     const char *uid, size_t uid_len, size_t *ret_len);
/* Returns 0, or -EBADMSG (neither a session nor a uid). */
int	 ipc_kick_decode(const void *payload, size_t len,
	     struct ipc_kick_msg *ret);

void	*ipc_broadcast_encode(const char *route, size_t route_len,
	     const char *body, size_t body_len, size_t *ret_len);
int	 ipc_broadcast_decode(const void *payload, size_t len,
	     const char **ret_route, size_t *ret_route_len,
	     const char **ret_body, size_t *ret_body_len);

/* A session record, decoded; strings are views, not NUL-terminated. */
struct ipc_session_view {
	uint64_t	 id;
	uint64_t	 age_ms;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	int		 worker;
	const char	*uid;		/* NULL: none bound */
	size_t		 uid_len;
	const char	*transport;
	size_t		 transport_len;	/* at most 255, as state and peer */
	const char	*state;
	size_t		 state_len;
	const char	*peer;
	size_t		 peer_len;
	const char	*xprt;		/* the byte layer: plain, tls */
	size_t		 xprt_len;
};

/* Appends the record of <s> to <b>. */
void	 ipc_session_add(struct ipc_buf *b, const struct ipc_session_view *s);
/*
 * Reads the record at <*off> of <payload> into <ret> and moves <*off>
 * past it. Returns 1, 0 at the end, or -EBADMSG.
 */
int	 ipc_session_next(const void *payload, size_t len, size_t *off,
	     struct ipc_session_view *ret);

/* ipc.c: the channel. */
struct event_base;
struct ipc_chan;

/* A received message, as a handler sees it. */
struct ipc_msg {
	uint16_t	 type;
	uint64_t	 tag;
	const uint8_t	*payload;	/* a NUL follows the <len> bytes */
	size_t		 len;
	int		 fd;		/* a received descriptor, or -1 */
};

/*
 * Handles one message. To keep <m->fd>, set it to -1; otherwise it is
 * closed after the call. Returns 0, or -EBADMSG when the payload does
 * not decode (the message is then counted as refused). The channel must
 * not be destroyed from inside.
 */
typedef int (*ipc_handler_cb)(struct ipc_chan *chan, struct ipc_msg *m,
    void *arg);

#define IPC_H_FD	0x1	/* the message needs a descriptor */

struct ipc_handler {
	uint16_t	 type;
	const char	*name;
	uint32_t	 min_len;
	uint32_t	 max_len;
	int		 flags;		/* IPC_H_* */
	ipc_handler_cb	 fn;
};

enum ipc_error {
	IPC_OK,
	IPC_ERR_MALFORMED,	/* short or truncated packet, bad memfd */
	IPC_ERR_VERSION,	/* another IPC_VERSION */
	IPC_ERR_UNKNOWN,	/* a type the table does not have */
	IPC_ERR_LENGTH,		/* a length outside the type's bounds */
	IPC_ERR_FD,		/* the descriptor it needs is missing */
	IPC_ERR_PAYLOAD,	/* the handler could not decode it */
};

/* A short phrase for <err>, for a log line. */
const char	*ipc_error_name(enum ipc_error err);

/*
 * Called for each refused message, with what its header said (<type>,
 * <len>; both 0 when the packet was too short to have a header).
 */
typedef void (*ipc_error_cb)(struct ipc_chan *chan, enum ipc_error err,
    uint16_t type, size_t len, void *arg);
/*
 * Called once when the peer has gone (EOF or error), from the event loop
 * (never from inside ipc_chan_send() or a handler). The channel may be
 * destroyed from inside.
 */
typedef void (*ipc_close_cb)(struct ipc_chan *chan, void *arg);

/* What a side receives: its table and callbacks. */
struct ipc_receiver {
	const struct ipc_handler	*handlers;	/* sorted by type */
	size_t				 n_handlers;
	ipc_error_cb			 error;
	ipc_close_cb			 close;
};

/*
 * Creates a channel on <fd> (taken) that dispatches through <rx> (which
 * must outlive it), passing <arg> to every callback.
 */
struct ipc_chan	*ipc_chan_create(struct event_base *base, int fd,
		     const struct ipc_receiver *rx, void *arg);
/*
 * Closes the descriptor and frees what is still queued. Requests waiting
 * for this channel's answer get -EPIPE for it (from the loop).
 */
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
/*
 * Answers the request <tag> (a no-op when <tag> is 0: nobody waits). A
 * part is one piece of an answer longer than one message; the answer is
 * the parts and the final reply, concatenated. Returns as ipc_chan_send.
 */
int		 ipc_chan_reply(struct ipc_chan *chan, uint64_t tag,
		     const void *payload, size_t len);
int		 ipc_chan_reply_part(struct ipc_chan *chan, uint64_t tag,
		     const void *payload, size_t len);

/* Bytes queued and not yet taken by the peer. */
size_t		 ipc_chan_queued(const struct ipc_chan *chan);
/* Messages refused so far, for every reason. */
uint64_t	 ipc_chan_errors(const struct ipc_chan *chan);

/*
 * Looks <m->type> up in <handlers> (<n>, sorted by type), checks the
 * length and the descriptor, and runs the handler. Closes <m->fd> unless
 * the handler kept it. Returns IPC_OK or why the message was refused.
 * ipc_chan_create()'s channels call it; exposed for tests and fuzzing.
 */
enum ipc_error	 ipc_dispatch(struct ipc_chan *chan,
		     const struct ipc_handler *handlers, size_t n,
		     struct ipc_msg *m, void *arg);

/* One peer's answer to a request. */
struct ipc_answer {
	int		 status;	/* 0, -ETIMEDOUT, -EPIPE, -EMSGSIZE, or
					   -EBADMSG: the peer refused it */
	const uint8_t	*data;		/* borrowed for the callback */
	size_t		 len;
};

/* <answers> are in the order of the request's channels. */
typedef void (*ipc_request_cb)(const struct ipc_answer *answers, size_t n,
    void *arg);

struct ipc_request;

/*
 * Sends <type> with <payload> to each of the <n> <chans> under one new
 * tag, and calls <cb> once, from the loop of <base>, when every channel
 * has answered, failed or gone, or after <timeout_ms>. A channel that
 * cannot take the message answers -EPIPE at once. Returns the request;
 * it is freed after <cb> returns.
 */
struct ipc_request *ipc_request(struct event_base *base,
		     struct ipc_chan *const *chans, size_t n, uint16_t type,
		     const void *payload, size_t len, uint64_t timeout_ms,
		     ipc_request_cb cb, void *arg);
/* Forgets <req> before its callback ran: the callback never runs. */
void		 ipc_request_cancel(struct ipc_request *req);

/* The low-level calls the channel uses; exposed for tests. */
int		 ipc_send(int sock, const struct ipc_hdr *hdr,
		     const void *payload, int fd);
/*
 * Receives one packet. Returns its size (header included, so never 0 for
 * a message), 0 on EOF, or -errno (-EAGAIN: nothing waits; -EPROTO:
 * another IPC_VERSION, -EBADMSG: a malformed packet, both dropped). For
 * an IPC_F_MEMFD message the payload is not read: <*ret_fd> is the memfd
 * holding <ret_hdr->len> bytes. After -EPROTO and -EBADMSG, <ret_hdr>
 * holds what was received of the header (zeros when nothing).
 */
int		 ipc_recv(int sock, struct ipc_hdr *ret_hdr, void *payload,
		     size_t size, int *ret_fd);

#endif
