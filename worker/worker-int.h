/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The inside of a worker process: its global state, client connections
 * (each one a Pomelo session), the router and the built-in apps. One
 * worker is one thread with one event loop, so nothing here locks.
 */

#ifndef WORKER_WORKER_INT_H
#define WORKER_WORKER_INT_H

#include <sys/queue.h>
#include <sys/socket.h>
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
struct wmember;

struct worker_listener {
	int		 fd;
	int		 index;
	struct event	*ev;
	char		 name[64];
	char		 address[128];
};

/* A prebuilt package: header and body, ready to write. */
struct prebuilt {
	uint8_t		*data;
	size_t		 len;
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

	struct dict		 dict;
	bool			 use_dict;
	struct prebuilt		 hs_plain;	/* no dictionary */
	struct prebuilt		 hs_dict;	/* with the dictionary */
	struct prebuilt		 hs_cached;	/* client has our dictVersion */
	struct prebuilt		 hs_error;	/* code 500 */

	uint8_t			*rbuf;
	size_t			 rbuf_size;
	uint8_t			*obuf;		/* the active conn's output */
	size_t			 obuf_size;
	struct conn		*active;	/* whose read is being handled */

	const struct timeval	*tv_handshake;	/* common timeouts */
};

extern struct worker	*worker;

enum conn_state {
	CONN_SWITCHING,		/* waiting for bytes to pick a transport */
	CONN_INITED,		/* Pomelo: waiting for the handshake */
	CONN_WAIT_ACK,
	CONN_WORKING,
	CONN_CLOSING,		/* flushing, then FIN, then linger */
	CONN_DEAD,
};

enum conn_transport {
	CONN_TRANSPORT_NONE,
	CONN_TRANSPORT_TCP,
	CONN_TRANSPORT_WS,
};

#define CONN_FIRST_MAX	8	/* the longest method prefix: "OPTIONS " */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	uint64_t		 id;
	int			 fd;
	uint8_t			 state;		/* enum conn_state */
	uint8_t			 transport;	/* enum conn_transport */
	uint8_t			 first_len;
	uint8_t			 first[CONN_FIRST_MAX];
	bool			 write_armed;
	bool			 out_borrowed;	/* out is the worker's obuf */
	bool			 flush_queued;	/* in worker->flushq */
	bool			 shut_wr;
	struct event		 ev_read;
	struct event		 ev_write;
	struct event		 ev_timer;
	struct pkg_reader	 pr;
	struct ws		*ws;
	uint8_t			*out;
	uint32_t		 out_off;
	uint32_t		 out_len;
	uint32_t		 out_cap;
	uint64_t		 created_ms;
	uint64_t		 last_io_ms;
	uint64_t		 last_hb_ms;
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	}			 peer;
	socklen_t		 peer_len;
	char			*uid;
	json_t			*settings;	/* key/value, or NULL */
	TAILQ_HEAD(, wmember)	 memberships;	/* channels joined */
};

/* worker.c */
extern const struct ipc_receiver worker_receiver;	/* master to worker */
void		 worker_conn_closed(void);
void		 worker_defer_free(struct conn *c);
void		 worker_defer_flush(struct conn *c);

/* conn.c */
struct conn	*conn_create(int fd, const struct sockaddr *sa, socklen_t len);
void		 conn_close(struct conn *c, const char *why);
void		 conn_close_gently(struct conn *c, const char *why);
void		 conn_free(struct conn *c);
void		 conn_kick(struct conn *c, const char *reason);
int		 conn_respond(struct conn *c, uint32_t id, const void *body,
		     size_t len);
int		 conn_push(struct conn *c, const char *route, const void *body,
		     size_t len);
void		 conn_flush(struct conn *c);
const char	*conn_peer(const struct conn *c, char *buf, size_t size);
const char	*conn_state_name(enum conn_state state);
void		 conn_log(const struct conn *c, int level, const char *fmt, ...)
		     __attribute__((format(printf, 3, 4)));
int		 conn_prebuild_handshakes(void);

/* session.c */
struct conn	*session_find(uint64_t id);
int		 session_bind(struct conn *c, const char *uid);
unsigned	 session_kick_uid(const char *uid, const char *reason);
void		 session_kick_uid_all(const char *uid, const char *reason);
void		 session_set(struct conn *c, const char *key, json_t *value);
json_t		*session_get(const struct conn *c, const char *key);
void		 session_added(struct conn *c);
void		 session_removed(struct conn *c);
void		 session_finish(void);
void		 session_list(struct ipc_chan *chan, uint64_t tag);

/* router.c */
typedef void (*route_cb)(struct conn *c, const struct msg *m,
    const char *route, size_t route_len);
void		 router_add(const char *route, route_cb cb);
route_cb	 router_find(const char *route, size_t len);
const char *const *router_routes(size_t *ret_n);
void		 router_finish(void);
void		 router_dispatch(struct conn *c, const struct msg *m);

/* channel.c */
typedef void (*channel_join_cb)(struct conn *c, bool ok, json_t *reply,
    void *arg);
void		 channel_init(void);
void		 channel_finish(void);
int		 channel_join(struct conn *c, const char *name, const char *uid,
		     bool unique, const char *leave_route,
		     const char *leave_body, channel_join_cb cb, void *arg);
void		 channel_leave(struct conn *c, const char *name);
int		 channel_push(const char *name, const char *route,
		     const char *uid, uint64_t exclude, const char *body,
		     size_t body_len);
void		 channel_destroy(const char *name);
void		 channel_conn_closed(struct conn *c);
int		 channel_msg_deliver(struct ipc_chan *chan, struct ipc_msg *m,
		     void *arg);
int		 channel_msg_drop(struct ipc_chan *chan, struct ipc_msg *m,
		     void *arg);

/* app-hello.c */
void		 app_hello_init(void);

/* app-chat.c */
void		 app_chat_init(void);

#endif
