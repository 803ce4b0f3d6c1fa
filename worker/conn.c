/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A client connection: its descriptor, events, output buffer and timer,
 * from accept to the last byte of its linger:
 *
 *   accept -> SWITCHING -(first bytes)-> OPEN -> CLOSING -> DEAD
 *
 * Bytes cross the byte layer (xprt) both ways. While switching they go to
 * the switcher, which picks a framing; then to the framing, which hands
 * packages to the session embedded here. The session answers through the
 * session_io functions at the end of this file; nothing here knows the
 * Pomelo protocol.
 *
 * Bytes are read into the worker's shared buffer; only a package that
 * straddles reads is copied (by the framing). Replies are appended to the
 * output buffer, which exists only while it holds bytes, and written when
 * the read that caused them is handled, so pipelined requests leave in one
 * write. One timer per connection enforces every deadline lazily: it
 * fires at the earliest, checks what really expired and re-arms.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define CONN_LINGER_MS		2000	/* after our FIN, before close */
#define CONN_READS_PER_WAKE	8

static void	conn_arm_write(struct conn *);
static void	conn_out_drop(struct conn *);
static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);

static const char *const conn_state_names[] = {
	[CONN_SWITCHING] = "switching",
	[CONN_OPEN] = "open",
	[CONN_CLOSING] = "closing",
	[CONN_DEAD] = "closed",
};

const char *
conn_peer(const struct conn *c, char *buf, size_t size)
{
	return addr_format(&c->peer.sa, c->peer_len, buf, size);
}

static void
conn_set_state(struct conn *c, enum conn_state state)
{
	if (c->state == state) {
		return;
	}
	if (log_level >= LOG_LEVEL_DEBUG) {
		conn_log(c, LOG_LEVEL_DEBUG, "connection %s -> %s",
		    conn_state_names[c->state], conn_state_names[state]);
	}
	c->state = state;
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

/*
 * Takes over the accepted socket <fd>, whose bytes cross <xprt> (set up
 * with <xprt_arg>). Returns the connection, or NULL when the byte layer
 * could not be set up (the socket is closed).
 */
struct conn *
conn_create(int fd, const struct sockaddr *sa, socklen_t len,
    const struct xprt_ops *xprt, void *xprt_arg)
{
	const struct conf	*conf = worker->conf;
	struct conn		*c;
	int			 on = 1, r;

	c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->xprt = xprt;
	if (len > sizeof c->peer) {
		len = sizeof c->peer;
	}
	memcpy(&c->peer, sa, len);
	c->peer_len = len;
	if (xprt->init != NULL && (r = xprt->init(c, xprt_arg)) != 0) {
		log_warn("setting up a %s connection: %s", xprt->name,
		    strerror(-r));
		close(fd);
		free(c);
		return NULL;
	}
	c->created_ms = c->last_io_ms = now_coarse_ms();
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
	session_start(&c->session, ((uint64_t)worker->serial << 32) |
	    ++worker->next_session);
	worker->stats.connections++;
	c->state = CONN_SWITCHING;
	return c;
}

/* Installs the framing the switcher picked: the session can run. */
void
conn_set_framing(struct conn *c, const struct framing_ops *f)
{
	c->framing = f;
	f->init(c);
	conn_set_state(c, CONN_OPEN);
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
	c->xprt->close(c);
	close(c->fd);
	c->fd = -1;
	conn_out_drop(c);
	worker->stats.connections--;
	TAILQ_REMOVE(&worker->conns, c, entry);
	session_stop(&c->session);
	worker_defer_free(c);
	worker_conn_closed();
}

void
conn_free(struct conn *c)
{
	if (c->framing != NULL) {
		c->framing->finish(c);
	}
	conn_out_drop(c);
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
	c->xprt->shutdown(c);
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
uint8_t *
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
int
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
	struct iovec	 iov;
	ssize_t		 n;

	while (c->state != CONN_DEAD && c->out_len > c->out_off) {
		iov.iov_base = c->out + c->out_off;
		iov.iov_len = c->out_len - c->out_off;
		n = c->xprt->writev(c, &iov, 1);
		if (n == -EAGAIN) {
			/* The scratch buffer is the next reader's. */
			if (c->out_borrowed) {
				conn_out_own(c, c->out_len - c->out_off);
			}
			if (c->write_wants_read) {
				/* conn_read_cb() flushes after reading. */
				event_add(&c->ev_read, NULL);
			} else {
				conn_arm_write(c);
			}
			return;
		}
		if (n < 0) {
			conn_close(c, strerror((int)-n));
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
	if (c->write_armed && !c->read_wants_write) {
		c->write_armed = false;
		event_del(&c->ev_write);
	}
	if (c->state == CONN_CLOSING) {
		conn_shutdown(c);
	}
}

static void
conn_arm_write(struct conn *c)
{
	if (!c->write_armed) {
		c->write_armed = true;
		event_add(&c->ev_write, NULL);
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	c->write_armed = false;
	if (c->read_wants_write) {
		/* A read waited for this (a TLS handshake flight): redo it. */
		c->read_wants_write = false;
		event_add(&c->ev_read, NULL);
		conn_read_cb(fd, EV_READ, c);
		return;
	}
	conn_flush(c);
}

/* Bytes from the peer: to the switcher first, then to the framing. */
static void
conn_input(struct conn *c, const uint8_t *data, size_t len)
{
	if (c->framing != NULL) {
		c->framing->feed(c, data, len);
	} else {
		switcher_feed(c, data, len);
	}
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
		/* The switcher's undecided bytes go in front of the new. */
		off = c->first_len;
		if (off > 0) {
			memcpy(buf, c->first, off);
		}
		room = worker->rbuf_size - off;
		n = c->xprt->read(c, buf + off, room);
		if (n == -EAGAIN) {
			if (c->read_wants_write) {
				/* Until writable, reading cannot progress. */
				event_del(&c->ev_read);
				conn_arm_write(c);
			}
			break;
		}
		if (n < 0) {
			conn_close(c, strerror((int)-n));
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
		if (c->state >= CONN_CLOSING || ((size_t)n < room &&
		    !c->xprt->pending(c))) {
			break;
		}
	}
	worker->active = NULL;
	if (c->state == CONN_DEAD) {
		return;
	}
	if (reads == CONN_READS_PER_WAKE && c->xprt->pending(c)) {
		/* Bytes the layer holds (TLS): epoll would not say so. */
		event_active(&c->ev_read, EV_READ, 1);
	}
	conn_flush(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn		*c = arg;
	const struct conf	*conf = worker->conf;
	uint64_t		 now = now_coarse_ms(), due, next;

	switch (c->state) {
	case CONN_CLOSING:
		conn_close(c, "linger over");
		return;
	case CONN_DEAD:
		return;
	default:
		break;
	}
	if (!session_working(&c->session)) {
		/* Until the ack, the timer holds only the handshake's. */
		worker->stats.handshake_timeouts++;
		conn_log(c, LOG_LEVEL_INFO, "no handshake within %ju ms",
		    (uintmax_t)conf->handshake_timeout);
		conn_close(c, "handshake timeout");
		return;
	}
	next = session_timer(&c->session, now);
	if (c->state != CONN_OPEN) {
		return;
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
		if (next == 0 || due - now < next) {
			next = due - now;
		}
	}
	if (next != 0) {
		conn_timer_in(c, next);
	} else {
		evtimer_del(&c->ev_timer);
	}
}

/* The session's side of the connection (struct session_io). */

static int
conn_session_send(struct session *s, enum pkg_type type, const void *a,
    size_t alen, const void *b, size_t blen)
{
	struct conn	*c = conn_of(s);

	if (c->state == CONN_DEAD || c->framing == NULL) {
		return -EPIPE;
	}
	return c->framing->send(c, type, a, alen, b, blen);
}

static void
conn_session_end(struct session *s, enum session_end how, const char *why)
{
	struct conn	*c = conn_of(s);

	if (c->state == CONN_DEAD) {
		return;
	}
	if (how != SESSION_END_NOW && c->framing != NULL &&
	    c->state == CONN_OPEN && c->framing->end(c, how)) {
		conn_close_gently(c, why);
	} else {
		conn_close(c, why);
	}
}

/* The session started or stopped heartbeats: the timer follows. */
static void
conn_session_rearm(struct session *s)
{
	struct conn		*c = conn_of(s);
	const struct conf	*conf = worker->conf;
	uint64_t		 next = UINT64_MAX;

	if (c->state != CONN_OPEN) {
		return;
	}
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

static const char *
conn_session_peer(const struct session *s, char *buf, size_t size)
{
	return conn_peer(conn_of(s), buf, size);
}

static int
conn_session_sockname(const struct session *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	*len = sizeof *ss;
	if (getsockname(conn_of(s)->fd, (struct sockaddr *)ss, len) == -1) {
		return -errno;
	}
	return 0;
}

static const struct session_io conn_session_io = {
	.send = conn_session_send,
	.end = conn_session_end,
	.rearm = conn_session_rearm,
	.peer = conn_session_peer,
	.sockname = conn_session_sockname,
};

const struct session_io	*session_io = &conn_session_io;
