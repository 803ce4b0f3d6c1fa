/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * One load-generator thread: an epoll loop over its share of the client
 * sessions. A session connects, upgrades to WebSocket when asked (masked
 * binary frames, one Pomelo package per frame), sends the handshake,
 * expects code 200, sends the ack, expects the server's heartbeat at once,
 * and then does what the scenario says: keep requests in flight, close and
 * start over, sit idle, or join a channel and count pushes. Every answer is
 * checked (package framing, message flag, echoed id, body); what is wrong
 * is counted as an error, never as a success.
 *
 * Heartbeats follow the JS client: each heartbeat received schedules one
 * to send <heartbeat> seconds later. Since every delay is the same, the
 * due heartbeats form a FIFO ring and no timer per session is needed.
 *
 * Reads go to a per-thread scratch buffer; only a partial package left at
 * the end of a read is copied to the session, so an idle session costs a
 * few dozen bytes of client memory.
 *
 * With --tls a session does a TLS handshake after connect (OpenSSL on the
 * socket, non-blocking) and then everything above runs inside it; with
 * --tls-resume each thread keeps the first session it gets a ticket for
 * and resumes it on every later connection.
 */

#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/xmalloc.h"

#include "loadgen.h"
#include "ws-accept.h"

#define LG_READ_CHUNK	65536
#define LG_MAX_EVENTS	256
#define LG_HTTP_MAX	8192
#define LG_PKG_MAX	0xffffffu
#define LG_SWEEP_NS	(100 * UINT64_C(1000000))
#define LG_BACKOFF_NS	(10 * UINT64_C(1000000))
#define LG_TICK_MS	50
#define LG_NOTES_MAX	10
#define LG_ID_MAX	0x7fffffffu
#define LG_WS_KEY	"c2hhZGRvY2stYmVuY2gtMQ=="

enum lg_state {
	LG_FREE = 0,		/* not open; may be opened */
	LG_CONNECTING,
	LG_TLS,			/* --tls: TLS handshake in progress */
	LG_UPGRADING,		/* ws: upgrade sent, waiting for 101 */
	LG_HANDSHAKING,		/* handshake sent, waiting for the reply */
	LG_WAIT_HB,		/* ack sent, waiting for the first heartbeat */
	LG_WORKING,
	LG_DEAD,		/* failed or lost; never opened again */
};

/* A request in flight: its id is gen * inflight + slot index + 1. */
struct lg_slot {
	uint64_t	 sent;		/* ns; 0 when free */
	uint32_t	 gen;
};

struct lg_conn {
	int		 fd;
	SSL		*ssl;		/* --tls */
	int		 idx;		/* in its thread's conns[] */
	uint8_t		 state;		/* enum lg_state */
	bool		 out_armed;	/* EPOLLOUT requested */
	bool		 hb_pending;	/* in the heartbeat ring */
	bool		 settled;	/* counted in shared->settled */
	bool		 joined;	/* push: the join was answered */
	uint32_t	 epoch;		/* bumped on close */
	uint32_t	 inflight;
	uint64_t	 t_open;	/* ns, when connect() was called */
	uint8_t		*in;		/* a partial package, or NULL */
	uint32_t	 in_len;
	uint32_t	 in_cap;
	uint8_t		*out;
	uint32_t	 out_off;
	uint32_t	 out_len;
	uint32_t	 out_cap;
	struct lg_slot	*slots;		/* opts->inflight of them */
};

static const uint8_t	 lg_pkg_ack[4] = { 0x02, 0x00, 0x00, 0x00 };
static const uint8_t	 lg_pkg_hb[4] = { 0x03, 0x00, 0x00, 0x00 };
static _Atomic int	 lg_notes;

static void	 lg_conn_fail(struct lg_thread *, struct lg_conn *,
		     uint64_t *);
static void	 lg_conn_start(struct lg_thread *, struct lg_conn *);
static int	 lg_conn_flush(struct lg_thread *, struct lg_conn *);

uint64_t
lg_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints the first few problems, so a failing run says why. */
static void __attribute__((format(printf, 1, 2)))
lg_note(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];

	if (atomic_fetch_add(&lg_notes, 1) >= LG_NOTES_MAX) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "loadgen: %s\n", buf);
}

/* Copies at most 120 printable bytes of <p> for a note. */
static const char *
lg_printable(const uint8_t *p, size_t len, char *buf, size_t size)
{
	size_t	 i, n = len < size - 1 ? len : size - 1;

	if (n > 120) {
		n = 120;
	}
	for (i = 0; i < n; i++) {
		buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	}
	buf[n] = '\0';
	return buf;
}

static uint64_t
lg_rand(struct lg_thread *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * UINT64_C(2685821657736338717);
}

static int
lg_varint_encode(uint8_t *out, uint32_t v)
{
	int	 n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Returns the bytes read (1-5), or -1. */
static int
lg_varint_decode(const uint8_t *in, size_t len, uint32_t *ret)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < len && i < 5; i++) {
		v |= (uint64_t)(in[i] & 0x7f) << (7 * i);
		if ((in[i] & 0x80) == 0) {
			if (v > UINT32_MAX) {
				return -1;
			}
			*ret = (uint32_t)v;
			return (int)i + 1;
		}
	}
	return -1;
}

static void
lg_pkg_head(uint8_t *out, int type, size_t len)
{
	out[0] = (uint8_t)type;
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

static bool
lg_measuring(struct lg_thread *t)
{
	return atomic_load_explicit(&t->shared->phase, memory_order_relaxed) ==
	    LG_PHASE_MEASURE;
}

static bool
lg_stopping(struct lg_thread *t)
{
	return atomic_load_explicit(&t->shared->phase, memory_order_relaxed) ==
	    LG_PHASE_STOP;
}

static uint8_t *
lg_conn_reserve(struct lg_conn *c, size_t len)
{
	size_t	 cap;

	if (c->out_len + len > c->out_cap) {
		cap = c->out_cap == 0 ? 256 : c->out_cap;
		while (cap < c->out_len + len) {
			cap *= 2;
		}
		c->out = xrealloc(c->out, cap);
		c->out_cap = (uint32_t)cap;
	}
	return c->out + c->out_len;
}

static void
lg_conn_append(struct lg_thread *t, struct lg_conn *c, const void *data,
    size_t len)
{
	memcpy(lg_conn_reserve(c, len), data, len);
	c->out_len += (uint32_t)len;
	t->stats.bytes_out += len;
}

/* Queues one client frame: FIN, <opcode>, masked with a fresh key. */
static void
lg_conn_frame(struct lg_thread *t, struct lg_conn *c, int opcode,
    const uint8_t *data, size_t len)
{
	uint8_t		*p, *start;
	uint8_t		 mask[4];
	uint32_t	 key = (uint32_t)lg_rand(t);
	size_t		 i;

	start = p = lg_conn_reserve(c, 14 + len);
	*p++ = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		*p++ = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		*p++ = 0x80 | 126;
		*p++ = (uint8_t)(len >> 8);
		*p++ = (uint8_t)len;
	} else {
		*p++ = 0x80 | 127;
		for (i = 0; i < 8; i++) {
			*p++ = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		}
	}
	memcpy(mask, &key, 4);
	memcpy(p, mask, 4);
	p += 4;
	for (i = 0; i < len; i++) {
		p[i] = data[i] ^ mask[i & 3];
	}
	p += len;
	c->out_len += (uint32_t)(p - start);
	t->stats.bytes_out += (uint64_t)(p - start);
}

/* Queues one Pomelo package, framed for the transport. */
static void
lg_conn_send(struct lg_thread *t, struct lg_conn *c, const uint8_t *pkg,
    size_t len)
{
	if (t->opts->transport == LG_WS) {
		lg_conn_frame(t, c, 0x2, pkg, len);
	} else {
		lg_conn_append(t, c, pkg, len);
	}
}

static void
lg_conn_events(struct lg_thread *t, struct lg_conn *c, uint32_t events)
{
	struct epoll_event	 ev;

	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1) {
		lg_note("epoll_ctl: %s", strerror(errno));
	}
}

/* SSL_write of what is queued: a count, -EAGAIN, or -EPIPE. */
static ssize_t
lg_tls_write(struct lg_conn *c)
{
	size_t	 len = c->out_len - c->out_off;
	int	 n;

	ERR_clear_error();
	n = SSL_write(c->ssl, c->out + c->out_off, len > 65536 ? 65536 :
	    (int)len);
	if (n > 0) {
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	default:
		ERR_clear_error();
		return -EPIPE;
	}
}

/* Writes what is queued; returns 0, or -errno when the socket failed. */
static int
lg_conn_flush(struct lg_thread *t, struct lg_conn *c)
{
	ssize_t	 n;

	while (c->out_off < c->out_len) {
		if (c->ssl != NULL) {
			n = lg_tls_write(c);
			if (n == -EAGAIN) {
				if (!c->out_armed &&
				    SSL_want_write(c->ssl)) {
					c->out_armed = true;
					lg_conn_events(t, c, EPOLLIN | EPOLLOUT);
				}
				return 0;
			}
			if (n < 0) {
				return (int)n;
			}
			c->out_off += (uint32_t)n;
			continue;
		}
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->out_armed) {
					c->out_armed = true;
					lg_conn_events(t, c, EPOLLIN | EPOLLOUT);
				}
				return 0;
			}
			return -errno;
		}
		c->out_off += (uint32_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_armed) {
		c->out_armed = false;
		lg_conn_events(t, c, EPOLLIN);
	}
	return 0;
}

static bool
lg_conn_opening(const struct lg_conn *c)
{
	return c->state >= LG_CONNECTING && c->state < LG_WORKING;
}

static void
lg_conn_settle(struct lg_thread *t, struct lg_conn *c)
{
	if (!c->settled) {
		c->settled = true;
		atomic_fetch_add(&t->shared->settled, 1);
	}
}

/* Closes the socket; <reuse> puts the session back in the open queue. */
static void
lg_conn_close(struct lg_thread *t, struct lg_conn *c, bool reuse)
{
	struct linger	 lin = { 1, 0 };
	int		 i;

	if (c->ssl != NULL) {
		/* Not "bad": its session stays resumable (no close_notify). */
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
		    SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		if (!t->opts->close_fin) {
			/* RST: no TIME_WAIT piles up on either side */
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin,
			    sizeof(lin));
		}
		close(c->fd);
		c->fd = -1;
	}
	if (lg_conn_opening(c)) {
		t->opening--;
	}
	FREE_AND_NULL(c->in);
	c->in_len = c->in_cap = 0;
	c->out_off = c->out_len = 0;
	c->out_armed = false;
	c->hb_pending = false;
	c->joined = false;
	c->epoch++;
	c->inflight = 0;
	for (i = 0; c->slots != NULL && i < t->opts->inflight; i++) {
		c->slots[i].sent = 0;
	}
	if (reuse) {
		c->state = LG_FREE;
		t->openq[(t->openq_head + t->openq_len) % t->nconns] = c->idx;
		t->openq_len++;
	} else {
		c->state = LG_DEAD;
	}
}

/*
 * Counts a failure in <counter> and closes the session. A handshake loop
 * starts over after a short back-off; other sessions are not reopened.
 */
static void
lg_conn_fail(struct lg_thread *t, struct lg_conn *c, uint64_t *counter)
{
	(*counter)++;
	if (t->opts->scenario == LG_HANDSHAKE) {
		lg_conn_close(t, c, true);
		t->open_after = t->now + LG_BACKOFF_NS;
		return;
	}
	if (c->settled) {
		atomic_fetch_add(&t->shared->lost, 1);
	} else {
		lg_conn_settle(t, c);
	}
	lg_conn_close(t, c, false);
}

static void
lg_conn_proto(struct lg_thread *t, struct lg_conn *c)
{
	lg_conn_fail(t, c, &t->stats.err_proto);
}

static void
lg_hb_schedule(struct lg_thread *t, struct lg_conn *c)
{
	struct lg_hb_slot	*s;

	if (t->hb_interval == 0 || c->hb_pending || t->hb_len == t->hb_cap) {
		return;
	}
	s = &t->hb[(t->hb_head + t->hb_len) % t->hb_cap];
	s->conn = (uint32_t)c->idx;
	s->epoch = c->epoch;
	s->due = t->now + t->hb_interval;
	t->hb_len++;
	c->hb_pending = true;
}

static void
lg_hb_run(struct lg_thread *t)
{
	struct lg_hb_slot	*s;
	struct lg_conn		*c;

	while (t->hb_len > 0) {
		s = &t->hb[t->hb_head];
		if (s->due > t->now) {
			break;
		}
		t->hb_head = (t->hb_head + 1) % t->hb_cap;
		t->hb_len--;
		c = &t->conns[s->conn];
		if (c->epoch != s->epoch || c->state != LG_WORKING) {
			continue;
		}
		c->hb_pending = false;
		lg_conn_send(t, c, lg_pkg_hb, sizeof(lg_pkg_hb));
		t->stats.hb_sent++;
		if (lg_conn_flush(t, c) < 0) {
			lg_conn_fail(t, c, &t->stats.err_closed);
		}
	}
}

/*
 * Expands a body template: {n} is the session's global index, {ch} the
 * channel, {ts} <ts>. Returns the length written to <out> (<size> bytes).
 */
static size_t
lg_template(char *out, size_t size, const char *tmpl, int n, const char *ch,
    uint64_t ts)
{
	size_t	 len = 0;
	int	 w;

	while (*tmpl != '\0' && len + 1 < size) {
		w = -1;
		if (strncmp(tmpl, "{n}", 3) == 0) {
			w = snprintf(out + len, size - len, "%d", n);
			tmpl += 3;
		} else if (strncmp(tmpl, "{ch}", 4) == 0) {
			w = snprintf(out + len, size - len, "%s", ch);
			tmpl += 4;
		} else if (strncmp(tmpl, "{ts}", 4) == 0) {
			w = snprintf(out + len, size - len, "%" PRIu64, ts);
			tmpl += 4;
		}
		if (w < 0) {
			out[len++] = *tmpl++;
		} else if ((size_t)w >= size - len) {
			return size - 1;
		} else {
			len += (size_t)w;
		}
	}
	return len;
}

/*
 * Queues request <slot> of <c>: string route <route>, then <body>. The
 * route is written from <tail> when <route> is NULL (the req fast path:
 * <tail> already holds the route and the body).
 */
static void
lg_conn_request(struct lg_thread *t, struct lg_conn *c, int slot,
    const char *route, const uint8_t *tail, size_t tail_len)
{
	size_t		 route_len = route != NULL ? strlen(route) : 0;
	size_t		 need = 4 + 1 + 5 + 1 + route_len + tail_len;
	uint32_t	 id;
	uint8_t		*p;

	if (need > t->pkt_cap) {
		t->pkt = xrealloc(t->pkt, need);
		t->pkt_cap = need;
	}
	id = c->slots[slot].gen * (uint32_t)t->opts->inflight + (uint32_t)slot +
	    1;
	p = t->pkt + 4;
	*p++ = 0x00;		/* request, string route */
	p += lg_varint_encode(p, id);
	if (route != NULL) {
		*p++ = (uint8_t)route_len;
		memcpy(p, route, route_len);
		p += route_len;
	}
	memcpy(p, tail, tail_len);
	p += tail_len;
	lg_pkg_head(t->pkt, 4, (size_t)(p - t->pkt) - 4);
	lg_conn_send(t, c, t->pkt, (size_t)(p - t->pkt));
	c->slots[slot].sent = t->now;
	c->inflight++;
}

static void
lg_conn_join(struct lg_thread *t, struct lg_conn *c)
{
	char	 body[1024];
	size_t	 len;

	len = lg_template(body, sizeof(body), t->opts->join_body,
	    t->first + c->idx, t->opts->channel, 0);
	lg_conn_request(t, c, 0, t->opts->join_route, (uint8_t *)body, len);
}

/* The session is WORKING. Returns -1 when it was closed. */
static int
lg_conn_working(struct lg_thread *t, struct lg_conn *c)
{
	uint64_t	 lat = t->now - c->t_open;
	int		 i;

	t->opening--;
	c->state = LG_WORKING;
	if (t->opts->scenario == LG_HANDSHAKE) {
		if (lg_measuring(t)) {
			t->stats.done++;
			lg_hist_record(&t->hist, lat);
		}
		lg_conn_close(t, c, true);
		return -1;
	}
	lg_hist_record(&t->hist_open, lat);
	t->stats.opened++;
	atomic_fetch_add(&t->shared->opened, 1);
	lg_hb_schedule(t, c);
	switch (t->opts->scenario) {
	case LG_REQ:
		lg_conn_settle(t, c);
		for (i = 0; i < t->opts->inflight; i++) {
			lg_conn_request(t, c, i, NULL, t->tail, t->tail_len);
		}
		break;
	case LG_PUSH:
		lg_conn_join(t, c);
		break;
	default:
		lg_conn_settle(t, c);
		break;
	}
	return 0;
}

/* A response body is right: the expected bytes, or JSON without an error. */
static bool
lg_conn_body_ok(struct lg_thread *t, const uint8_t *body, size_t len,
    bool exact)
{
	long	 code;

	if (exact && t->opts->expect != NULL) {
		return len == t->expect_len &&
		    memcmp(body, t->opts->expect, len) == 0;
	}
	if (!lg_json_valid((const char *)body, len)) {
		return false;
	}
	code = lg_json_code((const char *)body, len);
	return code == -1 || code == 200;
}

static int
lg_conn_push(struct lg_thread *t, struct lg_conn *c, const uint8_t *m,
    size_t len)
{
	const char	*ts_str;
	uint64_t	 ts = 0;
	size_t		 off = 1, rl, sl, i;
	char		 buf[128];

	if (m[0] & 0x01) {
		/* a dictionary code: never the push route, which is a string */
		if (len < 3) {
			lg_note("push with a truncated route code");
			lg_conn_proto(t, c);
			return -1;
		}
		return 0;
	}
	if (len < 2 || (rl = m[1]) + 2 > len) {
		lg_note("push with a truncated route");
		lg_conn_proto(t, c);
		return -1;
	}
	off = 2 + rl;
	if (t->opts->scenario != LG_PUSH || rl != strlen(t->opts->push_route) ||
	    memcmp(m + 2, t->opts->push_route, rl) != 0) {
		return 0;
	}
	if (!lg_json_valid((const char *)m + off, len - off) ||
	    (ts_str = lg_json_string((const char *)m + off, len - off,
	    t->opts->push_field, &sl)) == NULL || sl == 0 || sl > 20) {
		lg_note("push without a numeric \"%s\": %s", t->opts->push_field,
		    lg_printable(m + off, len - off, buf, sizeof(buf)));
		t->stats.err_body++;
		return 0;
	}
	for (i = 0; i < sl; i++) {
		if (ts_str[i] < '0' || ts_str[i] > '9') {
			t->stats.err_body++;
			return 0;
		}
		ts = ts * 10 + (uint64_t)(ts_str[i] - '0');
	}
	if (lg_measuring(t)) {
		t->stats.done++;
		lg_hist_record(&t->hist, t->now > ts ? t->now - ts : 0);
	}
	return 0;
}

static int
lg_conn_data(struct lg_thread *t, struct lg_conn *c, const uint8_t *m,
    size_t len)
{
	const struct lg_opts	*o = t->opts;
	struct lg_slot		*s;
	uint32_t		 id, gen, next;
	uint64_t		 lat;
	char			 buf[128];
	bool			 ok;
	int			 n, slot;

	if (len < 1) {
		lg_note("DATA package with an empty body");
		lg_conn_proto(t, c);
		return -1;
	}
	if (((m[0] >> 1) & 7) == 3) {
		return lg_conn_push(t, c, m, len);
	}
	if (m[0] != 0x04 || (n = lg_varint_decode(m + 1, len - 1, &id)) < 0) {
		lg_note("not a response: flag %#x", m[0]);
		lg_conn_proto(t, c);
		return -1;
	}
	slot = (int)((id - 1) % (uint32_t)o->inflight);
	gen = (id - 1) / (uint32_t)o->inflight;
	s = &c->slots[slot];
	if (id == 0 || s->sent == 0 || s->gen != gen) {
		lg_note("response id %u is not in flight", id);
		lg_conn_fail(t, c, &t->stats.err_id);
		return -1;
	}
	lat = t->now - s->sent;
	s->sent = 0;
	next = gen + 1;
	if ((uint64_t)(next + 1) * (uint32_t)o->inflight >= LG_ID_MAX) {
		next = 0;
	}
	s->gen = next;
	c->inflight--;
	m += 1 + n;
	len -= 1 + (size_t)n;
	ok = lg_conn_body_ok(t, m, len, o->scenario == LG_REQ);
	if (o->scenario == LG_PUSH && !c->joined) {
		if (!ok) {
			lg_note("push: %s answered %s", o->join_route,
			    lg_printable(m, len, buf, sizeof(buf)));
			atomic_fetch_add(&t->shared->join_refused, 1);
			if (lg_json_valid((const char *)m, len)) {
				atomic_store(&t->shared->join_code,
				    lg_json_code((const char *)m, len));
			}
		}
		c->joined = ok;
		lg_conn_settle(t, c);
		return 0;
	}
	if (!ok) {
		lg_note("wrong response body: %s",
		    lg_printable(m, len, buf, sizeof(buf)));
		t->stats.err_body++;
	} else if (o->scenario == LG_REQ && lg_measuring(t)) {
		t->stats.done++;
		lg_hist_record(&t->hist, lat);
	}
	if (o->scenario == LG_REQ && !lg_stopping(t)) {
		lg_conn_request(t, c, slot, NULL, t->tail, t->tail_len);
	}
	return 0;
}

/* One package for <c>. Returns -1 when <c> was closed. */
static int
lg_conn_package(struct lg_thread *t, struct lg_conn *c, int type,
    const uint8_t *body, size_t len)
{
	double	 hb;
	char	 buf[128];
	int	 code;

	switch (c->state) {
	case LG_HANDSHAKING:
		if (type != 1 || lg_json_handshake((const char *)body, len,
		    &code, &hb) < 0 || code != 200) {
			lg_note("bad handshake reply (type %d): %s", type,
			    lg_printable(body, len, buf, sizeof(buf)));
			lg_conn_proto(t, c);
			return -1;
		}
		t->hb_interval = (uint64_t)(hb * 1e9);
		lg_conn_send(t, c, lg_pkg_ack, sizeof(lg_pkg_ack));
		if (hb == 0) {
			return lg_conn_working(t, c);
		}
		c->state = LG_WAIT_HB;
		return 0;
	case LG_WAIT_HB:
		if (type != 3) {
			lg_note("type %d instead of the heartbeat after the ack",
			    type);
			lg_conn_proto(t, c);
			return -1;
		}
		t->stats.hb_recv++;
		return lg_conn_working(t, c);
	case LG_WORKING:
		switch (type) {
		case 3:
			t->stats.hb_recv++;
			lg_hb_schedule(t, c);
			return 0;
		case 4:
			return lg_conn_data(t, c, body, len);
		case 5:
			lg_note("kicked: %s", lg_printable(body, len, buf,
			    sizeof(buf)));
			break;
		default:
			lg_note("unexpected package type %d", type);
			break;
		}
		lg_conn_proto(t, c);
		return -1;
	default:
		lg_conn_proto(t, c);
		return -1;
	}
}

/*
 * Cuts packages out of <p>. Returns the bytes used, or -1 when <c> was
 * closed. <whole>: <p> is one WebSocket frame, which must hold whole
 * packages.
 */
static ssize_t
lg_conn_packages(struct lg_thread *t, struct lg_conn *c, const uint8_t *p,
    size_t len, bool whole)
{
	size_t		 off = 0;
	uint32_t	 plen;
	int		 type;

	while (len - off >= 4) {
		type = p[off];
		plen = (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 |
		    p[off + 3];
		if (type < 1 || type > 5) {
			lg_note("bad package type %d", type);
			lg_conn_proto(t, c);
			return -1;
		}
		if (len - off - 4 < plen) {
			break;
		}
		if (lg_conn_package(t, c, type, p + off + 4, plen) < 0) {
			return -1;
		}
		off += 4 + plen;
	}
	if (whole && off != len) {
		lg_note("a WebSocket frame does not hold whole packages");
		lg_conn_proto(t, c);
		return -1;
	}
	return (ssize_t)off;
}

/* Checks the 101 answer. Returns the bytes used, 0 for more, -1 closed. */
static ssize_t
lg_conn_upgrade(struct lg_thread *t, struct lg_conn *c, const uint8_t *p,
    size_t len)
{
	const char	*h = (const char *)p, *end, *line, *eol, *v;
	bool		 accepted = false;
	char		 buf[128];

	if ((end = memmem(h, len, "\r\n\r\n", 4)) == NULL) {
		if (len > LG_HTTP_MAX) {
			lg_note("upgrade answer too long");
			lg_conn_proto(t, c);
			return -1;
		}
		return 0;
	}
	if (end - h < 12 || memcmp(h, "HTTP/1.1 101", 12) != 0) {
		lg_note("upgrade refused: %s", lg_printable(p, (size_t)(end - h),
		    buf, sizeof(buf)));
		lg_conn_proto(t, c);
		return -1;
	}
	for (line = h; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (strncasecmp(line, "Sec-WebSocket-Accept:", 21) != 0) {
			continue;
		}
		for (v = line + 21; v < eol && (*v == ' ' || *v == '\t'); v++) {
			continue;
		}
		accepted = eol - v >= WS_ACCEPT_LEN &&
		    memcmp(v, t->ws_accept, WS_ACCEPT_LEN) == 0;
	}
	if (!accepted) {
		lg_note("upgrade answer without the right Sec-WebSocket-Accept");
		lg_conn_proto(t, c);
		return -1;
	}
	c->state = LG_HANDSHAKING;
	lg_conn_send(t, c, t->hs_pkg, t->hs_len);
	return end + 4 - h;
}

/* Server frames: unmasked, no extension. Returns as lg_conn_packages. */
static ssize_t
lg_conn_frames(struct lg_thread *t, struct lg_conn *c, const uint8_t *p,
    size_t len)
{
	size_t		 off = 0, hdr, i;
	uint64_t	 plen;
	int		 op;

	while (len - off >= 2) {
		op = p[off] & 0x0f;
		if ((p[off] & 0x70) != 0 || (p[off + 1] & 0x80) != 0) {
			lg_note("server frame with RSV bits or a mask");
			lg_conn_proto(t, c);
			return -1;
		}
		plen = p[off + 1] & 0x7f;
		hdr = 2;
		if (plen == 126) {
			if (len - off < 4) {
				break;
			}
			plen = (uint64_t)p[off + 2] << 8 | p[off + 3];
			hdr = 4;
		} else if (plen == 127) {
			if (len - off < 10) {
				break;
			}
			for (plen = 0, i = 0; i < 8; i++) {
				plen = plen << 8 | p[off + 2 + i];
			}
			hdr = 10;
		}
		if (plen > LG_PKG_MAX + 4) {
			lg_note("server frame of %" PRIu64 " bytes", plen);
			lg_conn_proto(t, c);
			return -1;
		}
		if (len - off - hdr < plen) {
			break;
		}
		switch (op) {
		case 0x0:
		case 0x1:
		case 0x2:
			if (plen > 0 && lg_conn_packages(t, c, p + off + hdr,
			    (size_t)plen, true) < 0) {
				return -1;
			}
			break;
		case 0x8:
			lg_note("server sent a WebSocket close");
			lg_conn_fail(t, c, &t->stats.err_closed);
			return -1;
		case 0x9:
			lg_conn_frame(t, c, 0xa, p + off + hdr, (size_t)plen);
			break;
		case 0xa:
			break;
		default:
			lg_note("server frame with opcode %d", op);
			lg_conn_proto(t, c);
			return -1;
		}
		off += hdr + (size_t)plen;
	}
	return (ssize_t)off;
}

/* Everything read so far. Returns the bytes used, or -1 when closed. */
static ssize_t
lg_conn_input(struct lg_thread *t, struct lg_conn *c, const uint8_t *p,
    size_t len)
{
	ssize_t	 off = 0, r;

	if (c->state == LG_UPGRADING) {
		if ((off = lg_conn_upgrade(t, c, p, len)) <= 0) {
			return off;
		}
	}
	if (t->opts->transport == LG_WS) {
		r = lg_conn_frames(t, c, p + off, len - (size_t)off);
	} else {
		r = lg_conn_packages(t, c, p + off, len - (size_t)off, false);
	}
	return r < 0 ? -1 : off + r;
}

/*
 * SSL_read into <buf>: a count, 0 at the end of the stream, -EAGAIN, or
 * -1 with errno set. Keeps the thread's first resumable session.
 */
static ssize_t
lg_tls_read(struct lg_thread *t, struct lg_conn *c, uint8_t *buf,
    size_t cap)
{
	SSL_SESSION	*s;
	int		 n;

	ERR_clear_error();
	n = SSL_read(c->ssl, buf, cap > 65536 ? 65536 : (int)cap);
	if (n > 0) {
		if (t->opts->tls_resume && t->tls_session == NULL) {
			s = SSL_get1_session(c->ssl);
			if (s != NULL && SSL_SESSION_is_resumable(s)) {
				t->tls_session = s;
			} else {
				SSL_SESSION_free(s);
			}
		}
		return n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		if (!c->out_armed) {
			c->out_armed = true;
			lg_conn_events(t, c, EPOLLIN | EPOLLOUT);
		}
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0) {
			return 0;
		}
		return -1;
	default:
		lg_note("TLS: %s", ERR_reason_error_string(
		    ERR_peek_last_error()));
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static void
lg_conn_readable(struct lg_thread *t, struct lg_conn *c)
{
	uint8_t		*buf, *data;
	size_t		 cap, len, rest;
	ssize_t		 n, used;

	if (c->in_len > 0) {
		if (c->in_cap - c->in_len < LG_READ_CHUNK) {
			c->in_cap = c->in_len + LG_READ_CHUNK;
			c->in = xrealloc(c->in, c->in_cap);
		}
		buf = c->in + c->in_len;
		cap = c->in_cap - c->in_len;
	} else {
		buf = t->scratch;
		cap = t->scratch_cap;
	}
	if (c->ssl != NULL) {
		n = lg_tls_read(t, c, buf, cap);
		if (n == -EAGAIN) {
			return;
		}
	} else {
		n = read(c->fd, buf, cap);
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n <= 0) {
		if (c->state == LG_WORKING || n == -1) {
			lg_note("server closed a session%s%s",
			    n == -1 ? ": " : "", n == -1 ? strerror(errno) : "");
		}
		lg_conn_fail(t, c, &t->stats.err_closed);
		return;
	}
	t->now = lg_now();
	t->stats.bytes_in += (uint64_t)n;
	data = buf == t->scratch ? t->scratch : c->in;
	len = buf == t->scratch ? (size_t)n : c->in_len + (size_t)n;
	if ((used = lg_conn_input(t, c, data, len)) < 0) {
		return;
	}
	rest = len - (size_t)used;
	if (rest == 0) {
		FREE_AND_NULL(c->in);
		c->in_len = c->in_cap = 0;
	} else if (data == t->scratch) {
		c->in = xmalloc(rest);
		c->in_cap = (uint32_t)rest;
		memcpy(c->in, data + used, rest);
		c->in_len = (uint32_t)rest;
	} else {
		memmove(c->in, c->in + used, rest);
		c->in_len = (uint32_t)rest;
	}
	if (lg_conn_flush(t, c) < 0) {
		lg_conn_fail(t, c, &t->stats.err_closed);
	}
}

/* The TLS handshake, step by step; once done the session starts. */
static void
lg_conn_tls(struct lg_thread *t, struct lg_conn *c)
{
	int	 r;

	ERR_clear_error();
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		if (lg_measuring(t)) {
			if (SSL_session_reused(c->ssl)) {
				t->stats.tls_resumed++;
			} else {
				t->stats.tls_full++;
			}
		}
		lg_conn_start(t, c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		lg_conn_events(t, c, EPOLLIN);
		return;
	case SSL_ERROR_WANT_WRITE:
		lg_conn_events(t, c, EPOLLIN | EPOLLOUT);
		return;
	default:
		lg_note("TLS handshake: %s", ERR_peek_last_error() != 0 ?
		    ERR_reason_error_string(ERR_peek_last_error()) :
		    "connection closed");
		ERR_clear_error();
		lg_conn_fail(t, c, &t->stats.err_proto);
	}
}

static void
lg_conn_connected(struct lg_thread *t, struct lg_conn *c)
{
	if (t->opts->tls == NULL) {
		lg_conn_start(t, c);
		return;
	}
	if ((c->ssl = SSL_new(t->opts->tls)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		lg_note("SSL_new failed");
		ERR_clear_error();
		lg_conn_fail(t, c, &t->stats.err_connect);
		return;
	}
	SSL_set_connect_state(c->ssl);
	if (t->tls_session != NULL) {
		SSL_set_session(c->ssl, t->tls_session);
	}
	c->state = LG_TLS;
	lg_conn_tls(t, c);
}

/* Connected (and through TLS): upgrade or handshake. */
static void
lg_conn_start(struct lg_thread *t, struct lg_conn *c)
{
	lg_conn_events(t, c, EPOLLIN);
	if (t->opts->transport == LG_WS) {
		c->state = LG_UPGRADING;
		lg_conn_append(t, c, t->upgrade, t->upgrade_len);
	} else {
		c->state = LG_HANDSHAKING;
		lg_conn_append(t, c, t->hs_pkg, t->hs_len);
	}
	if (lg_conn_flush(t, c) < 0) {
		lg_conn_fail(t, c, &t->stats.err_closed);
	}
}

static void
lg_conn_event(struct lg_thread *t, struct lg_conn *c, uint32_t events)
{
	socklen_t	 len = sizeof(int);
	int		 err = 0;

	if (c->state == LG_FREE || c->state == LG_DEAD) {
		return;
	}
	if (c->state == LG_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
			err = errno;
		}
		if (err != 0) {
			lg_note("connect: %s", strerror(err));
			lg_conn_fail(t, c, &t->stats.err_connect);
		} else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
			lg_conn_connected(t, c);
		}
		return;
	}
	if (c->state == LG_TLS) {
		lg_conn_tls(t, c);
		return;
	}
	if ((events & EPOLLOUT) && lg_conn_flush(t, c) < 0) {
		lg_conn_fail(t, c, &t->stats.err_closed);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		lg_conn_readable(t, c);
		/* Decrypted bytes OpenSSL holds: epoll will not say. */
		while (c->ssl != NULL && SSL_pending(c->ssl) > 0) {
			lg_conn_readable(t, c);
		}
	}
}

static void
lg_conn_open(struct lg_thread *t, struct lg_conn *c)
{
	const struct lg_opts	*o = t->opts;
	struct sockaddr_in	 src;
	struct epoll_event	 ev;
	int			 fd, one = 1, g;

	c->t_open = t->now;
	c->settled = false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		lg_note("socket: %s", strerror(errno));
		c->state = LG_CONNECTING;
		t->opening++;
		lg_conn_fail(t, c, &t->stats.err_connect);
		return;
	}
	c->fd = fd;
	c->state = LG_CONNECTING;
	t->opening++;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->src_addrs > 1 || o->src_base != 1) {
		g = t->first + c->idx;
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 +
		    (uint32_t)(o->src_base + g % o->src_addrs));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			lg_note("bind: %s", strerror(errno));
			lg_conn_fail(t, c, &t->stats.err_connect);
			return;
		}
	}
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		lg_note("epoll_ctl: %s", strerror(errno));
		lg_conn_fail(t, c, &t->stats.err_connect);
		return;
	}
	if (connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) ==
	    0) {
		lg_conn_connected(t, c);
	} else if (errno != EINPROGRESS) {
		lg_note("connect: %s", strerror(errno));
		lg_conn_fail(t, c, &t->stats.err_connect);
	}
}

static void
lg_open_more(struct lg_thread *t)
{
	int	 idx;

	if (t->now < t->open_after) {
		return;
	}
	while (t->openq_len > 0 && t->opening < t->opts->max_opening) {
		idx = t->openq[t->openq_head];
		t->openq_head = (t->openq_head + 1) % t->nconns;
		t->openq_len--;
		lg_conn_open(t, &t->conns[idx]);
		if (t->now < t->open_after) {
			break;
		}
	}
}

/* Sessions and requests older than the timeout fail. */
static void
lg_sweep(struct lg_thread *t)
{
	uint64_t	 limit = (uint64_t)(t->opts->timeout * 1e9);
	uint64_t	 open_limit = (uint64_t)(t->opts->open_timeout * 1e9);
	struct lg_conn	*c;
	int		 i, s;

	t->next_sweep = t->now + LG_SWEEP_NS;
	for (i = 0; i < t->nconns; i++) {
		c = &t->conns[i];
		if (lg_conn_opening(c)) {
			if (t->now - c->t_open > open_limit) {
				lg_note("no session within %.1f s",
				    t->opts->open_timeout);
				lg_conn_fail(t, c, &t->stats.err_timeout);
			}
			continue;
		}
		if (c->state != LG_WORKING || c->inflight == 0) {
			continue;
		}
		for (s = 0; s < t->opts->inflight; s++) {
			if (c->slots[s].sent != 0 &&
			    t->now - c->slots[s].sent > limit) {
				lg_note("no response within %.1f s",
				    t->opts->timeout);
				lg_conn_fail(t, c, &t->stats.err_timeout);
				break;
			}
		}
	}
}

/* push: the publisher (session 0, thread 0) and everyone else joined. */
static bool
lg_pub_ready(struct lg_thread *t)
{
	return t->opts->scenario == LG_PUSH && t->id == 0 &&
	    t->conns[0].state == LG_WORKING && t->conns[0].joined &&
	    atomic_load(&t->shared->settled) >= t->opts->conns;
}

/* push: thread 0 publishes at the rate once every session has joined. */
static void
lg_publish(struct lg_thread *t)
{
	struct lg_conn	*c = &t->conns[0];
	uint64_t	 step = (uint64_t)(1e9 / t->opts->rate);
	char		 body[1024];
	size_t		 len;
	int		 s;

	if (!lg_pub_ready(t) || t->now < t->pub_next) {
		return;
	}
	if (t->pub_next + UINT64_C(1000000000) < t->now) {
		t->pub_next = t->now;
	}
	t->pub_next += step;
	for (s = 0; s < t->opts->inflight && c->slots[s].sent != 0; s++) {
		continue;
	}
	if (s == t->opts->inflight) {
		return;
	}
	len = lg_template(body, sizeof(body), t->opts->pub_body, t->first,
	    t->opts->channel, t->now);
	lg_conn_request(t, c, s, t->opts->pub_route, (uint8_t *)body, len);
	if (lg_measuring(t)) {
		t->stats.published++;
	}
	if (lg_conn_flush(t, c) < 0) {
		lg_conn_fail(t, c, &t->stats.err_closed);
	}
}

static int
lg_wait_ms(struct lg_thread *t)
{
	uint64_t	 due = t->now + LG_TICK_MS * UINT64_C(1000000);

	if (t->hb_len > 0 && t->hb[t->hb_head].due < due) {
		due = t->hb[t->hb_head].due;
	}
	if (lg_pub_ready(t) && t->pub_next < due) {
		due = t->pub_next;
	}
	if (t->openq_len > 0 && t->opening < t->opts->max_opening &&
	    t->open_after < due) {
		due = t->open_after;
	}
	if (due <= t->now) {
		return 0;
	}
	return (int)((due - t->now + 999999) / 1000000);
}

void *
lg_thread_main(void *arg)
{
	struct lg_thread	*t = arg;
	struct epoll_event	 ev[LG_MAX_EVENTS];
	int			 i, n;

	t->now = lg_now();
	t->next_sweep = t->now + LG_SWEEP_NS;
	while (!lg_stopping(t)) {
		lg_open_more(t);
		n = epoll_wait(t->epfd, ev, LG_MAX_EVENTS, lg_wait_ms(t));
		t->now = lg_now();
		for (i = 0; i < n; i++) {
			lg_conn_event(t, ev[i].data.ptr, ev[i].events);
		}
		t->now = lg_now();
		lg_hb_run(t);
		if (t->opts->scenario == LG_PUSH && t->id == 0) {
			lg_publish(t);
		}
		if (t->now >= t->next_sweep) {
			lg_sweep(t);
		}
	}
	for (i = 0; i < t->nconns; i++) {
		if (t->conns[i].fd != -1) {
			lg_conn_close(t, &t->conns[i], false);
		}
	}
	return NULL;
}

int
lg_thread_init(struct lg_thread *t, int id, const struct lg_opts *opts,
    struct lg_shared *shared, int first, int n)
{
	size_t	 route_len = strlen(opts->route);
	char	*hs;
	int	 i, len;

	memset(t, 0, sizeof(*t));
	t->id = id;
	t->opts = opts;
	t->shared = shared;
	t->first = first;
	t->nconns = n;
	if ((t->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		return -errno;
	}
	t->conns = xcalloc((size_t)n, sizeof(*t->conns));
	t->openq = xcalloc((size_t)n, sizeof(*t->openq));
	t->hb = xcalloc((size_t)n, sizeof(*t->hb));
	t->hb_cap = (uint32_t)n;
	for (i = 0; i < n; i++) {
		t->conns[i].fd = -1;
		t->conns[i].idx = i;
		if (opts->scenario == LG_REQ || opts->scenario == LG_PUSH) {
			t->conns[i].slots = xcalloc((size_t)opts->inflight,
			    sizeof(struct lg_slot));
		}
		t->openq[i] = i;
	}
	t->openq_len = n;

	t->tail_len = 1 + route_len + opts->body_len;
	t->tail = xmalloc(t->tail_len);
	t->tail[0] = (uint8_t)route_len;
	memcpy(t->tail + 1, opts->route, route_len);
	memcpy(t->tail + 1 + route_len, opts->body, opts->body_len);
	t->pkt_cap = 16 + t->tail_len;
	t->pkt = xmalloc(t->pkt_cap);
	t->scratch_cap = LG_READ_CHUNK;
	t->scratch = xmalloc(t->scratch_cap);
	t->rng = (uint64_t)lg_now() ^ ((uint64_t)(id + 1) << 32) ^
	    (uint64_t)getpid();
	t->expect_len = opts->expect_len;

	hs = "{\"sys\":{\"type\":\"shaddock-bench\",\"version\":\"0.1.0\"},"
	    "\"user\":{}}";
	t->hs_len = 4 + strlen(hs);
	t->hs_pkg = xmalloc(t->hs_len);
	lg_pkg_head(t->hs_pkg, 1, strlen(hs));
	memcpy(t->hs_pkg + 4, hs, strlen(hs));

	len = xasprintf(&t->upgrade, "GET / HTTP/1.1\r\n"
	    "Host: %s:%u\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " LG_WS_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n", opts->host, opts->port);
	t->upgrade_len = (size_t)len;
	ws_accept_compute(LG_WS_KEY, strlen(LG_WS_KEY), t->ws_accept);
	return 0;
}

void
lg_thread_finish(struct lg_thread *t)
{
	int	 i;

	for (i = 0; i < t->nconns; i++) {
		SSL_free(t->conns[i].ssl);
		if (t->conns[i].fd != -1) {
			close(t->conns[i].fd);
		}
		free(t->conns[i].in);
		free(t->conns[i].out);
		free(t->conns[i].slots);
	}
	free(t->conns);
	free(t->openq);
	free(t->hb);
	free(t->tail);
	free(t->pkt);
	free(t->scratch);
	free(t->hs_pkg);
	free(t->upgrade);
	SSL_SESSION_free(t->tls_session);
	if (t->epfd != -1) {
		close(t->epfd);
	}
}
