/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A client connection and its Pomelo session, from accept to close:
 *
 *   accept -> SWITCHING -(type byte)----> raw TCP packages --+
 *                       -(HTTP method)--> WebSocket frames --+
 *                                                            v
 *             INITED -handshake-> WAIT_ACK -ack-> WORKING -> CLOSING -> DEAD
 *
 * Bytes are read into the worker's shared buffer; only a package that
 * straddles reads is copied. Replies are appended to the connection's
 * output buffer, which exists only while it holds bytes, and written when
 * the read that caused them is handled, so pipelined requests leave in one
 * write. One timer per connection enforces every deadline lazily: it
 * fires at the earliest, checks what really expired and re-arms.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/switcher.h"
#include "worker/worker-int.h"
#include "worker/ws.h"

#define CONN_LINGER_MS		2000	/* after our FIN, before close */
#define CONN_READS_PER_WAKE	8


static void	conn_out_drop(struct conn *);
static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static int	conn_on_package(void *, int, const uint8_t *, size_t);
static int	conn_ws_write(void *, const void *, size_t);
static int	conn_ws_message(void *, const uint8_t *, size_t);

static const char *const conn_state_names[] = {
	[CONN_SWITCHING] = "switching",
	[CONN_INITED] = "inited",
	[CONN_WAIT_ACK] = "wait_ack",
	[CONN_WORKING] = "working",
	[CONN_CLOSING] = "closing",
	[CONN_DEAD] = "closed",
};

const char *
conn_state_name(enum conn_state state)
{
	return conn_state_names[state];
}

const char *
conn_peer(const struct conn *c, char *buf, size_t size)
{
	return addr_format(&c->peer.sa, c->peer_len, buf, size);
}

/* Logs with the client's address appended (nginx's "client: ..."). */
void
conn_log(const struct conn *c, int level, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512], peer[64];

	if (level > (int)log_level) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_write((enum log_level)level, __FILE__, __LINE__,
	    "%s, client %s, session %ju", msg, conn_peer(c, peer, sizeof peer),
	    (uintmax_t)c->id);
}

static void
conn_gauge(struct conn *c, int delta)
{
	struct worker_stats	*s = &worker->stats;

	switch (c->state) {
	case CONN_INITED:
		s->sessions_inited += (uint64_t)delta;
		break;
	case CONN_WAIT_ACK:
		s->sessions_wait_ack += (uint64_t)delta;
		s->sessions += (uint64_t)delta;
		break;
	case CONN_WORKING:
		s->sessions_working += (uint64_t)delta;
		s->sessions += (uint64_t)delta;
		break;
	default:
		break;
	}
}

static void
conn_set_state(struct conn *c, enum conn_state state)
{
	if (c->state == state) {
		return;
	}
	conn_gauge(c, -1);
	if (log_level >= LOG_LEVEL_DEBUG) {
		conn_log(c, LOG_LEVEL_DEBUG, "%s -> %s",
		    conn_state_names[c->state], conn_state_names[state]);
	}
	c->state = state;
	conn_gauge(c, 1);
}

/* Arms the timer for <ms> from now. */
static void
conn_timer_in(struct conn *c, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(&c->ev_timer, &tv);
}

struct conn *
conn_create(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct conf	*conf = worker->conf;
	struct conn		*c;
	int			 on = 1;

	c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->id = ((uint64_t)worker->serial << 32) | ++worker->next_session;
	c->created_ms = c->last_io_ms = now_coarse_ms();
	if (len > sizeof c->peer) {
		len = sizeof c->peer;
	}
	memcpy(&c->peer, sa, len);
	c->peer_len = len;
	if (sa->sa_family != AF_UNIX && conf->keepalive) {
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	}
	event_assign(&c->ev_read, worker->base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_assign(&c->ev_write, worker->base, fd, EV_WRITE, conn_write_cb,
	    c);
	evtimer_assign(&c->ev_timer, worker->base, conn_timer_cb, c);
	event_add(&c->ev_read, NULL);
	evtimer_add(&c->ev_timer, worker->tv_handshake);
	TAILQ_INSERT_TAIL(&worker->conns, c, entry);
	TAILQ_INIT(&c->memberships);
	session_added(c);
	worker->stats.connections++;
	c->state = CONN_SWITCHING;
	return c;
}

/* Closes now: no more reads or writes; freed from the loop. */
void
conn_close(struct conn *c, const char *why)
{
	if (c->state == CONN_DEAD) {
		return;
	}
	conn_log(c, LOG_LEVEL_DEBUG, "closing: %s", why);
	conn_set_state(c, CONN_DEAD);
	event_del(&c->ev_read);
	event_del(&c->ev_write);
	event_del(&c->ev_timer);
	close(c->fd);
	c->fd = -1;
	conn_out_drop(c);
	worker->stats.connections--;
	if (c->transport == CONN_TRANSPORT_TCP) {
		worker->stats.tcp_connections--;
	} else if (c->transport == CONN_TRANSPORT_WS) {
		worker->stats.ws_connections--;
	}
	TAILQ_REMOVE(&worker->conns, c, entry);
	session_removed(c);
	channel_conn_closed(c);
	worker_defer_free(c);
	worker_conn_closed();
}

void
conn_free(struct conn *c)
{
	pkg_reader_finish(&c->pr);
	ws_destroy(c->ws);
	conn_out_drop(c);
	free(c->uid);
	json_decref(c->settings);
	free(c);
}

/* Shuts down our side once everything queued has left. */
static void
conn_shutdown(struct conn *c)
{
	if (c->shut_wr) {
		return;
	}
	c->shut_wr = true;
	shutdown(c->fd, SHUT_WR);
	/* Read (and drop) until the peer closes too, or the linger ends. */
	event_add(&c->ev_read, NULL);
}

/*
 * Closes after what is queued has been written: our FIN follows the last
 * byte, and the socket lingers for the peer's FIN, so a kick or an error
 * reply is not lost to a reset.
 */
void
conn_close_gently(struct conn *c, const char *why)
{
	if (c->state == CONN_CLOSING || c->state == CONN_DEAD) {
		return;
	}
	conn_log(c, LOG_LEVEL_DEBUG, "closing after flush: %s", why);
	conn_set_state(c, CONN_CLOSING);
	event_del(&c->ev_read);
	conn_timer_in(c, CONN_LINGER_MS);
	if (worker->active != c) {
		conn_flush(c);
	}
}

/* Detaches the worker's scratch buffer from <c>, keeping what is queued. */
static void
conn_out_own(struct conn *c, size_t cap)
{
	size_t	 used = c->out_len - c->out_off;
	uint8_t	*heap;

	if (cap < used) {
		cap = used;
	}
	heap = xmalloc(cap);
	memcpy(heap, c->out + c->out_off, used);
	c->out = heap;
	c->out_off = 0;
	c->out_len = (uint32_t)used;
	c->out_cap = (uint32_t)cap;
	c->out_borrowed = false;
}

/*
 * Makes room for <len> more bytes of output and returns where they go, or
 * NULL when that would pass max_send_buffer (the client is not reading:
 * the connection is closed). The connection whose read is being handled
 * writes into the worker's scratch buffer, so a request and its answer
 * cost no allocation; only what the socket does not take is copied to a
 * buffer of the connection's own.
 */
static uint8_t *
conn_out_reserve(struct conn *c, size_t len)
{
	size_t	 used = c->out_len - c->out_off, need, cap;
	uint8_t	*p;

	if (c->state == CONN_DEAD) {
		return NULL;
	}
	if (used + len > worker->conf->max_send_buffer) {
		worker->stats.send_buffer_overflows++;
		conn_log(c, LOG_LEVEL_WARN, "send buffer over max_send_buffer "
		    "(%ju bytes): the client is not reading; disconnecting",
		    (uintmax_t)worker->conf->max_send_buffer);
		conn_close(c, "send buffer full");
		return NULL;
	}
	if (c->out == NULL && worker->active == c) {
		c->out = worker->obuf;
		c->out_cap = (uint32_t)worker->obuf_size;
		c->out_borrowed = true;
	}
	if (c->out_off > 0 && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, used);
		c->out_off = 0;
		c->out_len = (uint32_t)used;
	}
	need = c->out_len + len;
	if (need > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 512;
		while (cap < need) {
			cap *= 2;
		}
		if (c->out_borrowed) {
			conn_out_own(c, cap);
		} else {
			c->out = xrealloc(c->out, cap);
			c->out_cap = (uint32_t)cap;
		}
	}
	p = c->out + c->out_len;
	c->out_len += (uint32_t)len;
	if (worker->active != c && !c->write_armed) {
		/* Written after this callback, with whatever else it adds. */
		worker_defer_flush(c);
	}
	return p;
}

/* Appends <len> bytes to the output; -ENOBUFS over max_send_buffer. */
static int
conn_out(struct conn *c, const void *data, size_t len)
{
	uint8_t	*p;

	if ((p = conn_out_reserve(c, len)) == NULL) {
		return -ENOBUFS;
	}
	memcpy(p, data, len);
	return 0;
}

/* Forgets the output buffer (which may be the worker's scratch). */
static void
conn_out_drop(struct conn *c)
{
	if (!c->out_borrowed) {
		free(c->out);
	}
	c->out = NULL;
	c->out_borrowed = false;
	c->out_off = c->out_len = c->out_cap = 0;
}

/* Writes what is queued; arms EV_WRITE for the rest. */
void
conn_flush(struct conn *c)
{
	ssize_t	 n;

	while (c->state != CONN_DEAD && c->out_len > c->out_off) {
		n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				/* The scratch buffer is the next reader's. */
				if (c->out_borrowed) {
					conn_out_own(c, c->out_len - c->out_off);
				}
				if (!c->write_armed) {
					c->write_armed = true;
					event_add(&c->ev_write, NULL);
				}
				return;
			}
			conn_close(c, strerror(errno));
			return;
		}
		c->out_off += (uint32_t)n;
		c->bytes_out += (uint64_t)n;
		worker->stats.bytes_out += (uint64_t)n;
		c->last_io_ms = now_coarse_ms();
	}
	if (c->state == CONN_DEAD) {
		return;
	}
	/* Empty: an idle session keeps no buffer. */
	conn_out_drop(c);
	if (c->write_armed) {
		c->write_armed = false;
		event_del(&c->ev_write);
	}
	if (c->state == CONN_CLOSING) {
		conn_shutdown(c);
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	c->write_armed = false;
	conn_flush(c);
}

/*
 * Sends one package of <type> whose body is <a> then <b> (either may be
 * empty). Returns 0 or -errno (the connection is then closed).
 */
static int
conn_send(struct conn *c, enum pkg_type type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	uint8_t		 head[PKG_HEAD_LEN], *p;
	struct iovec	 iov[3];

	if (c->state == CONN_DEAD) {
		return -EPIPE;
	}
	pkg_head_encode(head, type, alen + blen);
	if (c->transport == CONN_TRANSPORT_WS) {
		iov[0].iov_base = head;
		iov[0].iov_len = sizeof head;
		iov[1].iov_base = (void *)a;
		iov[1].iov_len = alen;
		iov[2].iov_base = (void *)b;
		iov[2].iov_len = blen;
		return ws_sendv(c->ws, iov, 3);
	}
	if ((p = conn_out_reserve(c, sizeof head + alen + blen)) == NULL) {
		return -ENOBUFS;
	}
	memcpy(p, head, sizeof head);
	if (alen > 0) {
		memcpy(p + sizeof head, a, alen);
	}
	if (blen > 0) {
		memcpy(p + sizeof head + alen, b, blen);
	}
	return 0;
}

/* Sends bytes that already form a whole package. */
static int
conn_send_prebuilt(struct conn *c, const struct prebuilt *p)
{
	return conn_send(c, p->data[0], p->data + PKG_HEAD_LEN,
	    p->len - PKG_HEAD_LEN, NULL, 0);
}

/* A DATA body is never empty (libpomelo2 treats that as an error). */
static void
conn_body(const void **body, size_t *len)
{
	if (*len == 0) {
		*body = "{}";
		*len = 2;
	}
}

int
conn_respond(struct conn *c, uint32_t id, const void *body, size_t len)
{
	uint8_t	 head[MSG_HEAD_MAX];
	size_t	 hlen;

	if (c->state != CONN_WORKING) {
		return -ENOTCONN;
	}
	conn_body(&body, &len);
	hlen = msg_encode_head(head, MSG_RESPONSE, id, NULL, 0, 0);
	worker->stats.responses++;
	return conn_send(c, PKG_DATA, head, hlen, body, len);
}

int
conn_push(struct conn *c, const char *route, const void *body, size_t len)
{
	uint8_t		 head[MSG_HEAD_MAX];
	size_t		 hlen, rlen = strlen(route);
	uint16_t	 code = 0;

	if (c->state != CONN_WORKING) {
		return -ENOTCONN;
	}
	if (rlen > MSG_ROUTE_MAX) {
		return -ENAMETOOLONG;
	}
	if (worker->use_dict) {
		code = dict_code(&worker->dict, route, rlen);
	}
	conn_body(&body, &len);
	hlen = msg_encode_head(head, MSG_PUSH, 0, route, rlen, code);
	worker->stats.pushes++;
	return conn_send(c, PKG_DATA, head, hlen, body, len);
}

/*
 * Kicks the session: a KICK package {"reason": <reason>} (only a working
 * session gets one, as in Pomelo), then a gentle close.
 */
void
conn_kick(struct conn *c, const char *reason)
{
	json_t	*j;
	char	*s;

	if (c->state == CONN_CLOSING || c->state == CONN_DEAD) {
		return;
	}
	if (c->state == CONN_WORKING) {
		j = json_pack("{s:s}", "reason", reason);
		s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		conn_send(c, PKG_KICK, s, strlen(s), NULL, 0);
		free(s);
		worker->stats.kicks++;
		conn_log(c, LOG_LEVEL_DEBUG, "kicked: %s", reason);
	}
	if (c->state != CONN_DEAD && c->ws != NULL) {
		ws_close(c->ws, 1000, NULL);
	}
	conn_close_gently(c, "kicked");
}

/* A protocol error: counted, logged once per connection, closed. */
static void
conn_protocol_error(struct conn *c, const char *what)
{
	worker->stats.protocol_errors++;
	conn_log(c, LOG_LEVEL_INFO, "protocol error: %s", what);
	if (c->ws != NULL) {
		ws_close(c->ws, 1002, NULL);
		conn_close_gently(c, what);
	} else {
		conn_close(c, what);
	}
}

static void
conn_handshake(struct conn *c, const uint8_t *body, size_t len)
{
	const struct prebuilt	*reply = &worker->hs_plain;
	json_t			*j, *sys, *dv;

	j = json_loadb((const char *)body, len, 0, NULL);
	sys = json_is_object(j) ? json_object_get(j, "sys") : NULL;
	if (!json_is_object(sys)) {
		worker->stats.handshake_errors++;
		conn_log(c, LOG_LEVEL_INFO, "bad handshake: %s",
		    j == NULL ? "not JSON" : "no \"sys\" object");
		json_decref(j);
		/* Sent even before the handshake completes (a forced send). */
		conn_send_prebuilt(c, &worker->hs_error);
		if (c->ws != NULL) {
			ws_close(c->ws, 1000, NULL);
		}
		conn_close_gently(c, "bad handshake");
		return;
	}
	if (worker->use_dict) {
		reply = &worker->hs_dict;
		dv = json_object_get(sys, "dictVersion");
		if (json_is_string(dv) && strcmp(json_string_value(dv),
		    worker->dict.version) == 0) {
			reply = &worker->hs_cached;
		}
	}
	json_decref(j);
	worker->stats.handshakes++;
	conn_set_state(c, CONN_WAIT_ACK);
	conn_send_prebuilt(c, reply);
}

static void
conn_rearm(struct conn *c)
{
	const struct conf	*conf = worker->conf;
	uint64_t		 next = UINT64_MAX;

	if (conf->heartbeat > 0) {
		next = conf->heartbeat_timeout;
	}
	if (conf->idle_timeout > 0 && conf->idle_timeout < next) {
		next = conf->idle_timeout;
	}
	if (next == UINT64_MAX) {
		evtimer_del(&c->ev_timer);
		return;
	}
	conn_timer_in(c, next);
}

static void
conn_data(struct conn *c, const uint8_t *body, size_t len)
{
	struct msg	 m;
	const char	*route;

	if (msg_decode(body, len, &m) != 0) {
		conn_protocol_error(c, "malformed message");
		return;
	}
	if (m.type != MSG_REQUEST && m.type != MSG_NOTIFY) {
		conn_protocol_error(c, "a client sent a response or push");
		return;
	}
	if (m.compressed) {
		route = worker->use_dict ? dict_route(&worker->dict, m.code) :
		    NULL;
		if (route == NULL) {
			/* Pomelo drops it and keeps the connection. */
			worker->stats.protocol_errors++;
			conn_log(c, LOG_LEVEL_INFO, "unknown route code %u: "
			    "message dropped", m.code);
			return;
		}
		m.route = route;
		m.route_len = strlen(route);
	}
	if (m.type == MSG_REQUEST) {
		worker->stats.requests++;
	} else {
		worker->stats.notifies++;
	}
	router_dispatch(c, &m);
}

/* Handles one package; the state decides (PROTOCOL.md §3.1). */
static int
conn_on_package(void *arg, int type, const uint8_t *body, size_t len)
{
	struct conn	*c = arg;

	switch (type) {
	case PKG_HANDSHAKE:
		if (c->state == CONN_INITED) {
			conn_handshake(c, body, len);
		}
		break;
	case PKG_HANDSHAKE_ACK:
		if (c->state == CONN_WAIT_ACK) {
			conn_set_state(c, CONN_WORKING);
			c->last_hb_ms = now_coarse_ms();
			/* Clients heartbeat only in answer to this one. */
			if (worker->conf->heartbeat > 0) {
				conn_send(c, PKG_HEARTBEAT, NULL, 0, NULL, 0);
			}
			conn_rearm(c);
		}
		break;
	case PKG_HEARTBEAT:
		/* Without a heartbeat setting, Pomelo ignores them. */
		if (c->state == CONN_WORKING && worker->conf->heartbeat > 0) {
			c->last_hb_ms = now_coarse_ms();
			conn_send(c, PKG_HEARTBEAT, NULL, 0, NULL, 0);
		}
		break;
	case PKG_DATA:
		if (c->state == CONN_WORKING) {
			conn_data(c, body, len);
		}
		break;
	default:
		conn_protocol_error(c, "package type not allowed from a "
		    "client");
		break;
	}
	/* Stop feeding once the connection is going away. */
	return c->state >= CONN_CLOSING ? 1 : 0;
}

static int
conn_ws_write(void *arg, const void *data, size_t len)
{
	return conn_out(arg, data, len);
}

/* One WebSocket message holds exactly one package. */
static int
conn_ws_message(void *arg, const uint8_t *data, size_t len)
{
	struct conn	*c = arg;
	size_t		 blen;

	if (len < PKG_HEAD_LEN) {
		conn_protocol_error(c, "WebSocket message shorter than a "
		    "package header");
		return 1;
	}
	blen = ((size_t)data[1] << 16) | ((size_t)data[2] << 8) | data[3];
	if (blen != len - PKG_HEAD_LEN) {
		conn_protocol_error(c, "WebSocket message is not exactly one "
		    "package");
		return 1;
	}
	if (data[0] < PKG_HANDSHAKE || data[0] > PKG_KICK) {
		conn_protocol_error(c, "bad package type");
		return 1;
	}
	if (blen > worker->conf->max_package_size) {
		worker->stats.oversize_packages++;
		conn_protocol_error(c, "package over max_package_size");
		return 1;
	}
	return conn_on_package(c, data[0], data + PKG_HEAD_LEN, blen);
}

static void
conn_feed_tcp(struct conn *c, const uint8_t *data, size_t len)
{
	int	 r;

	r = pkg_reader_feed(&c->pr, data, len, conn_on_package, c);
	if (r == -EPROTO) {
		conn_protocol_error(c, "bad package type");
	} else if (r == -EMSGSIZE) {
		worker->stats.oversize_packages++;
		conn_protocol_error(c, "package header announces more than "
		    "max_package_size");
	}
}

static void
conn_feed_ws(struct conn *c, const uint8_t *data, size_t len)
{
	int	 r;

	r = ws_feed(c->ws, data, len);
	if (c->state >= CONN_CLOSING || r == 0) {
		return;
	}
	if (r == WS_FEED_CLOSE) {
		conn_close_gently(c, "WebSocket closed");
	} else if (r == -EMSGSIZE) {
		worker->stats.oversize_packages++;
		worker->stats.protocol_errors++;
		conn_log(c, LOG_LEVEL_INFO, "WebSocket message over "
		    "max_package_size");
		conn_close_gently(c, "oversize message");
	} else {
		worker->stats.protocol_errors++;
		conn_log(c, LOG_LEVEL_INFO, "WebSocket: %s", ws_error(c->ws));
		conn_close_gently(c, "WebSocket error");
	}
}

static void
conn_become(struct conn *c, enum conn_transport t)
{
	const struct conf	*conf = worker->conf;
	struct ws_conf		 wc;
	struct ws_callbacks	 cb = { conn_ws_write, conn_ws_message };
	int			 on = 1;

	c->transport = (uint8_t)t;
	if (t == CONN_TRANSPORT_TCP) {
		worker->stats.tcp_connections++;
		pkg_reader_init(&c->pr, conf->max_package_size);
		if (conf->no_delay && c->peer.sa.sa_family != AF_UNIX) {
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof on);
		}
	} else {
		worker->stats.ws_connections++;
		wc.max_message = conf->max_package_size + PKG_HEAD_LEN;
		wc.max_request = 8192;
		c->ws = ws_create(&wc, &cb, c);
		if (conf->no_delay && c->peer.sa.sa_family != AF_UNIX) {
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof on);
		}
	}
	conn_set_state(c, CONN_INITED);
}

/* Bytes from the peer: pick the transport first, then feed it. */
static void
conn_input(struct conn *c, const uint8_t *data, size_t len)
{
	switch (c->transport) {
	case CONN_TRANSPORT_TCP:
		conn_feed_tcp(c, data, len);
		return;
	case CONN_TRANSPORT_WS:
		conn_feed_ws(c, data, len);
		return;
	}
	switch (switcher_detect(data, len)) {
	case SWITCHER_MORE:
		/* The reader puts these bytes in front of the next ones. */
		if (len > sizeof c->first) {
			break;
		}
		memcpy(c->first, data, len);
		c->first_len = (uint8_t)len;
		return;
	case SWITCHER_TCP:
		conn_become(c, CONN_TRANSPORT_TCP);
		c->first_len = 0;
		conn_feed_tcp(c, data, len);
		return;
	case SWITCHER_WS:
		conn_become(c, CONN_TRANSPORT_WS);
		c->first_len = 0;
		conn_feed_ws(c, data, len);
		return;
	case SWITCHER_BAD:
		break;
	}
	worker->stats.protocol_errors++;
	conn_log(c, LOG_LEVEL_INFO, "first bytes are neither a Pomelo "
	    "package nor an HTTP request (0x%02x)", data[0]);
	conn_close(c, "unknown protocol");
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	uint8_t		*buf = worker->rbuf;
	size_t		 off, room;
	ssize_t		 n;
	int		 reads;

	worker->active = c;
	for (reads = 0; reads < CONN_READS_PER_WAKE; reads++) {
		off = c->first_len;
		if (off > 0) {
			memcpy(buf, c->first, off);
		}
		room = worker->rbuf_size - off;
		n = read(fd, buf + off, room);
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				conn_close(c, strerror(errno));
			}
			break;
		}
		if (n == 0) {
			conn_close(c, "closed by the client");
			break;
		}
		c->bytes_in += (uint64_t)n;
		worker->stats.bytes_in += (uint64_t)n;
		c->last_io_ms = now_coarse_ms();
		if (c->state == CONN_CLOSING) {
			/* Lingering: the rest is dropped. */
			continue;
		}
		conn_input(c, buf, off + (size_t)n);
		if (c->state >= CONN_CLOSING || (size_t)n < room) {
			break;
		}
	}
	worker->active = NULL;
	if (c->state != CONN_DEAD) {
		conn_flush(c);
	}
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	const struct conf	*conf = worker->conf;
	uint64_t		 now = now_coarse_ms(), due, next = UINT64_MAX;

	switch (c->state) {
	case CONN_SWITCHING:
	case CONN_INITED:
	case CONN_WAIT_ACK:
		worker->stats.handshake_timeouts++;
		conn_log(c, LOG_LEVEL_INFO, "no handshake within %ju ms",
		    (uintmax_t)conf->handshake_timeout);
		conn_close(c, "handshake timeout");
		return;
	case CONN_CLOSING:
		conn_close(c, "linger over");
		return;
	case CONN_WORKING:
		break;
	default:
		return;
	}
	if (conf->heartbeat > 0) {
		due = c->last_hb_ms + conf->heartbeat_timeout;
		if (now >= due) {
			worker->stats.heartbeat_timeouts++;
			conn_log(c, LOG_LEVEL_INFO, "no heartbeat for %ju ms",
			    (uintmax_t)(now - c->last_hb_ms));
			conn_close(c, "heartbeat timeout");
			return;
		}
		next = due - now;
	}
	if (conf->idle_timeout > 0) {
		due = c->last_io_ms + conf->idle_timeout;
		if (now >= due) {
			worker->stats.idle_timeouts++;
			conn_log(c, LOG_LEVEL_INFO, "idle for %ju ms",
			    (uintmax_t)(now - c->last_io_ms));
			conn_close(c, "idle timeout");
			return;
		}
		if (due - now < next) {
			next = due - now;
		}
	}
	if (next != UINT64_MAX) {
		conn_timer_in(c, next);
	}
}

static void
prebuilt_set(struct prebuilt *p, const char *json)
{
	size_t	 len = strlen(json);

	p->len = PKG_HEAD_LEN + len;
	p->data = xmalloc(p->len);
	pkg_head_encode(p->data, PKG_HANDSHAKE, len);
	memcpy(p->data + PKG_HEAD_LEN, json, len);
}

/* Builds the handshake replies once: they depend only on the config. */
int
conn_prebuild_handshakes(void)
{
	const struct conf	*conf = worker->conf;
	char			 hb[64], *s;

	hb[0] = '\0';
	if (conf->heartbeat > 0) {
		if (conf->heartbeat % 1000 == 0) {
			snprintf(hb, sizeof hb, "\"heartbeat\":%ju",
			    (uintmax_t)(conf->heartbeat / 1000));
		} else {
			snprintf(hb, sizeof hb, "\"heartbeat\":%.3f",
			    (double)conf->heartbeat / 1000.0);
		}
	}
	xasprintf(&s, "{\"code\":200,\"sys\":{%s}}", hb);
	prebuilt_set(&worker->hs_plain, s);
	free(s);
	prebuilt_set(&worker->hs_error, "{\"code\":500}");
	if (!worker->use_dict) {
		return 0;
	}
	xasprintf(&s, "{\"code\":200,\"sys\":{%s%s\"dict\":%s,"
	    "\"routeToCode\":%s,\"codeToRoute\":%s,\"dictVersion\":\"%s\","
	    "\"useDict\":true}}", hb, *hb ? "," : "", worker->dict.json_dict,
	    worker->dict.json_dict, worker->dict.json_code_to_route,
	    worker->dict.version);
	prebuilt_set(&worker->hs_dict, s);
	free(s);
	xasprintf(&s, "{\"code\":200,\"sys\":{%s%s\"useDict\":true}}", hb,
	    *hb ? "," : "");
	prebuilt_set(&worker->hs_cached, s);
	free(s);
	return 0;
}
