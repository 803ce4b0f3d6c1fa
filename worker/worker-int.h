/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The inside of a worker process: its global state, and the layers a
 * client's bytes cross from accept to handler (DESIGN.md §3):
 *
 *   conn (fd, buffers, timer) -> byte layer (xprt-*.c) -> switcher
 *     -> framing (frame-tcp.c, frame-ws.c) -> session (session.c)
 *     -> router -> apps (app-*.c), channels (channel.c)
 *
 * One worker is one thread with one event loop, so nothing here locks.
 */

#ifndef WORKER_WORKER_INT_H
#define WORKER_WORKER_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>

#include "common/compat.h"
#include "common/config.h"
#include "common/dict.h"
#include "common/ipc.h"
#include "common/message.h"
#include "common/package.h"

struct ws;
struct conn;
struct session_pb;
struct request;
struct session;
struct wmember;
struct xprt_ops;

struct worker_listener {
	int			 fd;
	int			 index;
	struct event		*ev;
	const struct xprt_ops	*xprt;		/* for its connections */
	void			*xprt_arg;	/* the listener's tls_ctx */
	char			 name[64];
	char			 address[128];
};

struct worker {
	struct event_base	*base;
	struct conf		*conf;
	int			 slot;
	uint32_t		 generation;
	uint32_t		 serial;
	struct ipc_chan		*chan;

	struct worker_listener	*listeners;
	size_t			 n_listeners;
	bool			 accepting;
	bool			 draining;
	bool			 stopping;
	bool			 leaving;	/* leaving the cluster, then exit */
	char			 drain_reason[32];
	struct event		*tick;
	struct event		*drain_timer;
	struct event		*accept_resume;
	struct event		*deferred;	/* flushes, then frees */
	uint64_t		 reject_logged_ms;

	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, conn)	 dead;		/* freed when deferred runs */
	struct conn		**flushq;	/* to write when deferred runs */
	size_t			 n_flush;
	size_t			 cap_flush;
	uint32_t		 next_session;
	struct worker_stats	 stats;

	uint8_t			*rbuf;
	size_t			 rbuf_size;
	uint8_t			*obuf;		/* the active conn's output */
	size_t			 obuf_size;
	struct conn		*active;	/* whose read is being handled */

	const struct timeval	*tv_handshake;	/* common timeouts */
	uint64_t		 started_ms;
};

extern struct worker	*worker;

/*
 * The Pomelo session (PROTOCOL.md §3.1), above the framing: it sees only
 * packages and answers with packages, never asking which transport
 * carries them.
 */
enum session_state {
	SESSION_INITED,		/* waiting for the handshake */
	SESSION_WAIT_ACK,	/* handshake answered, waiting for the ack */
	SESSION_WORKING,	/* requests, pushes, heartbeats */
	SESSION_CLOSED,		/* the connection is going or gone */
};

/* How a session asks its connection to end. */
enum session_end {
	SESSION_END_NORMAL,	/* after what is queued (a kick, an error reply) */
	SESSION_END_PROTOCOL,	/* the peer broke the protocol */
	SESSION_END_NOW,	/* at once, nothing more is written */
};

struct session {
	enum session_state	 state;
	uint64_t		 id;
	uint64_t		 last_hb_ms;
	char			*uid;
	struct session		*uid_next;	/* same uid, this worker */
	json_t			*settings;	/* key/value, or NULL */
	TAILQ_HEAD(, wmember)	 memberships;	/* channels joined */
	bool			 reported;	/* the master has its export */
	struct session_pb	*pb;		/* requests awaiting protobuf
						   responses, or NULL */
};

/*
 * What a session needs from what carries it; conn.c is the one
 * implementation in the worker, a unit test brings its own.
 */
struct session_io {
	/* Queues one package whose body is <a> then <b> (either empty). */
	int		(*send)(struct session *s, enum pkg_type type,
			    const void *a, size_t alen, const void *b,
			    size_t blen);
	/* Ends the connection (the session is already SESSION_CLOSED). */
	void		(*end)(struct session *s, enum session_end how,
			    const char *why);
	/* The session's deadlines changed: re-arm the timer. */
	void		(*rearm)(struct session *s);
	/* The peer's address, for log lines. */
	const char	*(*peer)(const struct session *s, char *buf,
			    size_t size);
	/* The local address the client reached; 0 or -errno. */
	int		(*sockname)(const struct session *s,
			    struct sockaddr_storage *ss, socklen_t *len);
};

extern const struct session_io	*session_io;

/*
 * The byte layer (STYLE.md §10: HAProxy's xprt, redis' ConnectionType):
 * moves bytes between a socket and the connection. read and writev
 * return a count, 0 for end of stream (read), or -errno (-EAGAIN: try
 * again when the descriptor is ready: readable for a read, writable for a
 * write, unless the layer set the connection's read_wants_write or
 * write_wants_read, as TLS does when a handshake or a record in flight
 * needs the other direction).
 */
struct xprt_ops {
	const char	*name;
	/* Sets up the layer for a new connection (NULL: nothing); -errno. */
	int		(*init)(struct conn *c, void *arg);
	ssize_t		(*read)(struct conn *c, void *buf, size_t len);
	ssize_t		(*writev)(struct conn *c, const struct iovec *iov,
			    int iovcnt);
	/* Sends our end of stream once every byte is written. */
	void		(*shutdown)(struct conn *c);
	/* Releases what the layer holds; the descriptor is closed after. */
	void		(*close)(struct conn *c);
	/* True while the layer holds read bytes the descriptor won't signal. */
	bool		(*pending)(const struct conn *c);
};

/*
 * The framing layer (HAProxy's mux): cuts the byte stream into Pomelo
 * packages for the session and wraps the session's packages for the
 * wire. Raw Pomelo TCP and WebSocket; the switcher picks one.
 */
struct framing_ops {
	const char	*name;
	void		(*init)(struct conn *c);
	void		(*finish)(struct conn *c);
	/* Bytes from the peer; hands each package to the session. */
	void		(*feed)(struct conn *c, const uint8_t *data,
			    size_t len);
	/* One package whose body is <a> then <b>; 0 or -errno. */
	int		(*send)(struct conn *c, enum pkg_type type,
			    const void *a, size_t alen, const void *b,
			    size_t blen);
	/*
	 * Says goodbye the framing's way (a WebSocket close frame) and
	 * returns true when the connection should flush before closing.
	 */
	bool		(*end)(struct conn *c, enum session_end how);
};

extern const struct xprt_ops	xprt_plain;
extern const struct xprt_ops	xprt_tls;	/* arg: struct tls_ctx */
extern const struct xprt_ops	xprt_tls13;	/* after a TLS 1.3 handshake */
extern const struct xprt_ops	xprt_detect;	/* TLS or plain, by byte 1 */
extern const struct framing_ops	framing_tcp;
extern const struct framing_ops	framing_ws;

enum conn_state {
	CONN_SWITCHING,		/* waiting for bytes to pick a framing */
	CONN_OPEN,		/* framing picked: the session runs */
	CONN_CLOSING,		/* flushing, then FIN, then linger */
	CONN_DEAD,
};

#define CONN_FIRST_MAX	8	/* the longest method prefix: "OPTIONS " */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	int			 fd;
	enum conn_state		 state;
	const struct xprt_ops	*xprt;
	void			*xprt_ctx;	/* the byte layer's state */
	const struct framing_ops *framing;	/* NULL while switching */
	union {
		struct pkg_reader	 tcp;
		struct ws		*ws;
	}			 fr;		/* the framing's state */
	uint8_t			 first_len;
	uint8_t			 first[CONN_FIRST_MAX];
	uint8_t			 xprt_flags;	/* the byte layer's own */
	bool			 read_wants_write;	/* see xprt_ops */
	bool			 write_wants_read;
	bool			 write_armed;
	bool			 out_borrowed;	/* out is the worker's obuf */
	bool			 flush_queued;	/* in worker->flushq */
	bool			 shut_wr;
	struct event		 ev_read;
	struct event		 ev_write;
	struct event		 ev_timer;
	uint8_t			*out;
	uint32_t		 out_off;
	uint32_t		 out_len;
	uint32_t		 out_cap;
	uint64_t		 created_ms;
	uint64_t		 last_io_ms;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 peer;
	socklen_t		 peer_len;
	struct session		 session;
};

#define conn_of(s)	((struct conn *)((char *)(s) - \
			    offsetof(struct conn, session)))

/* worker.c */
extern const struct ipc_receiver worker_receiver;	/* master to worker */
void		 worker_conn_closed(void);
void		 worker_defer_free(struct conn *c);
/* The event worker->deferred runs: queued flushes, then deferred frees. */
void		 worker_deferred(evutil_socket_t fd, short what, void *arg);
void		 worker_defer_flush(struct conn *c);

/* conn.c */
struct conn	*conn_create(int fd, const struct sockaddr *sa, socklen_t len,
		     const struct xprt_ops *xprt, void *xprt_arg);
void		 conn_close(struct conn *c, const char *why);
void		 conn_close_gently(struct conn *c, const char *why);
void		 conn_free(struct conn *c);
void		 conn_flush(struct conn *c);
int		 conn_out(struct conn *c, const void *data, size_t len);
uint8_t		*conn_out_reserve(struct conn *c, size_t len);
void		 conn_set_framing(struct conn *c, const struct framing_ops *f);
const char	*conn_peer(const struct conn *c, char *buf, size_t size);
/* Logs with the client's address and session id (nginx's "client: ..."). */
#define conn_log(c, level, ...)	session_log(&(c)->session, level, __VA_ARGS__)

/* xprt-tls.c, xprt-tls13.c (conn's xprt_flags) */
#define XPRT_TLS_DONE	0x1	/* the handshake is done and counted */
#define XPRT_TLS_FAILED	0x2	/* a failure is counted and logged */
void		 xprt_tls_failed(struct conn *c, const char *reason);
struct tls13;
void		 xprt_tls13_adopt(struct conn *c, const struct tls13 *t);

/* switcher.c */
void		 switcher_feed(struct conn *c, const uint8_t *data, size_t len);

/* frame-tcp.c, frame-ws.c: see framing_tcp and framing_ws above. */

/* session.c */
int		 session_init(char *err, size_t errlen);
void		 session_finish(void);
void		 session_start(struct session *s, uint64_t id);
void		 session_stop(struct session *s);
int		 session_package(struct session *s, int type,
		     const uint8_t *body, size_t len);
uint64_t	 session_timer(struct session *s, uint64_t now);
bool		 session_working(const struct session *s);
const char	*session_state_name(enum session_state state);
void		 session_protocol_error(struct session *s, const char *what);
int		 session_respond(struct session *s, uint32_t id,
		     const void *body, size_t len);
int		 session_respond_json(struct session *s, uint32_t id,
		     const json_t *body);
int		 session_push(struct session *s, const char *route,
		     const void *body, size_t len);
void		 session_kick(struct session *s, const char *reason);
void		 session_log(const struct session *s, int level,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
struct session	*session_find(uint64_t id);
int		 session_bind(struct session *s, const char *uid);
void		 session_unbind(struct session *s);
struct session	*session_by_uid(const char *uid);
unsigned	 session_kick_uid(const char *uid, const char *reason);
void		 session_set(struct session *s, const char *key, json_t *value);
void		 session_del(struct session *s, const char *key);
json_t		*session_get(const struct session *s, const char *key);
json_t		*request_body(struct request *r);
void		 session_list(struct ipc_chan *chan, uint64_t tag);

/*
 * A request or a notify on its way to a handler. The body is decoded once,
 * when a handler asks for it (request_body()), and freed by the session
 * after the handler returns: a handler that keeps it takes a reference.
 */
struct request {
	enum msg_type	 type;		/* MSG_REQUEST or MSG_NOTIFY */
	uint32_t	 id;		/* 0 for a notify */
	const char	*route;		/* not NUL-terminated */
	size_t		 route_len;
	const uint8_t	*raw;		/* the body as it came */
	size_t		 raw_len;
	bool		 compressed;	/* the route came as a code */
	json_t		*body;		/* once decoded */
};

/* router.c */
typedef void (*route_cb)(struct session *s, struct request *r);
struct route_entry {
	const char	*route;
	route_cb	 cb;
};
void		 router_add(const struct route_entry *table, size_t n);
route_cb	 router_find(const char *route, size_t len);
const char *const *router_routes(size_t *ret_n);
void		 router_finish(void);
void		 router_dispatch(struct session *s, struct request *r);

/* channel.c */
typedef void (*channel_join_cb)(struct session *s, bool ok, json_t *reply,
    void *arg);
void		 channel_init(void);
void		 channel_finish(void);
int		 channel_join(struct session *s, const char *name, const char *uid,
		     bool unique, const char *leave_route,
		     const char *leave_body, channel_join_cb cb, void *arg);
int		 channel_push(const char *name, const char *route,
		     const char *uid, uint64_t exclude, const char *body,
		     size_t body_len);
void		 channel_session_closed(struct session *s);
int		 channel_msg_deliver(struct ipc_chan *chan, struct ipc_msg *m,
		     void *arg);

/* mconn.c: an MQTT connection over TCP (the cluster's links) */
struct mconn;
struct mqtt_packet;
struct mconn_callbacks {
	void	(*connected)(struct mconn *m, void *arg);
	void	(*packet)(struct mconn *m, const struct mqtt_packet *p,
		    void *arg);
	void	(*closed)(struct mconn *m, const char *why, void *arg);
};
struct mconn	*mconn_connect(const struct sockaddr *sa, socklen_t len,
		     size_t max_packet, const struct mconn_callbacks *cb,
		     void *arg);
struct mconn	*mconn_accept(int fd, const char *peer, size_t max_packet,
		     const struct mconn_callbacks *cb, void *arg);
int		 mconn_send(struct mconn *m, const void *data, size_t len);
int		 mconn_publish(struct mconn *m, const char *topic,
		     const void *payload, size_t len);
int		 mconn_send_short(struct mconn *m,
		     int (*encode)(uint8_t *, size_t));
void		 mconn_close(struct mconn *m, bool flush);
const char	*mconn_peer(const struct mconn *m);
size_t		 mconn_queued(const struct mconn *m);

/* cluster.c: membership of a Pomelo/Pinus cluster (CLUSTER.md §3) */
struct rpc_mailbox;

/* Upper bounds of the latency histogram (µs), the last is +Inf. */
#define CLUSTER_LATENCY_BUCKETS	12
extern const uint64_t cluster_latency_bounds[CLUSTER_LATENCY_BUCKETS - 1];

/* A server of the cluster, as its master announced it. */
struct cluster_server {
	char			*id;
	char			*type;
	char			*host;
	uint16_t		 port;		/* RPC port; 0: cannot be called */
	bool			 frontend;
	json_t			*info;
	struct rpc_mailbox	*mailbox;	/* our calls to it, lazily */
	/* Counters of the calls to it (show cluster). */
	uint64_t		 forwarded;
	uint64_t		 errors;
	uint64_t		 timeouts;
	uint64_t		 latency_us;	/* sum, for the mean */
	uint64_t		 answered;
	uint64_t		 latency_hist[CLUSTER_LATENCY_BUCKETS];
};

bool		 cluster_enabled(void);
int		 cluster_init(char *err, size_t errlen);
void		 cluster_start(void);
void		 cluster_leave(void (*done)(void));
void		 cluster_finish(void);
const char	*cluster_self_id(void);
int		 cluster_flavour(void);
struct cluster_server *cluster_pick(const char *type, size_t type_len,
		     const struct session *s);
json_t		*cluster_show(void);
void		 cluster_send_stats(struct ipc_chan *chan);
void		 cluster_latency(struct cluster_server *srv, uint64_t us);

/* rpc-client.c: calls to backend servers (pomelo-rpc mailboxes, §4) */
/*
 * The answer to a call: the callback arguments the remote sent, as the
 * text it wrote when it was read in place (a JSON array, or NULL for
 * none), and as a value on demand, from rpc_answer_resp().
 */
struct rpc_answer {
	const char	*text;
	size_t		 len;
	json_t		*resp;		/* given, or read from text on demand */
};
/* <a> (borrowed) is the answer, or NULL when the call failed: <why>. */
typedef void (*rpc_reply_cb)(void *arg, struct rpc_answer *a,
    const char *why);
json_t		*rpc_answer_resp(struct rpc_answer *a);
int		 rpc_call(struct cluster_server *srv, const char *ns,
		     const char *service, const char *method, json_t *args,
		     rpc_reply_cb cb, void *arg);
struct rpc_forward;
int		 rpc_call_forward(struct cluster_server *srv,
		     const struct rpc_forward *f, rpc_reply_cb cb, void *arg);
void		 rpc_mailbox_close(struct rpc_mailbox *mb, const char *why);
void		 rpc_mailbox_retarget(struct cluster_server *srv);
size_t		 rpc_pending(void);
void		 rpc_client_finish(void);

/* rpc-server.c: the acceptor backends call us on (§6) */
int		 rpc_server_open(const char *host, uint16_t *ret_port,
		     char *err, size_t errlen);
void		 rpc_server_close(void);

/* remote.c: sys.sessionRemote and sys.channelRemote, served (§6) */
struct rpc_request;
json_t		*remote_dispatch(const struct rpc_request *req);

/* forward.c: client messages for backends, session-closed hooks (§5, §7) */
bool		 forward_request(struct session *s, struct request *r);
void		 forward_session_closed(struct session *s);
json_t		*forward_export(const struct session *s);
void		 forward_report(struct session *s);
void		 forward_orphans(json_t *exports);

/* app-hello.c */
void		 app_hello_init(void);

/* app-chat.c */
void		 app_chat_init(void);

#endif
