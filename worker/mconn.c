/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * An MQTT connection over TCP, the carrier of both cluster links
 * (CLUSTER.md §2): the admin link to the Pomelo master and the RPC links
 * to and from backend servers. It reads packets with common/mqtt.c's
 * reader straight from the bufferevent's chunks, hands each to its owner,
 * and writes what the owner queues. It knows nothing of topics.
 *
 * A connection is never freed inside one of its own callbacks: closing
 * only marks it and stops its events, and the memory goes from the loop
 * (STYLE.md §5), so an owner may close from anywhere.
 */

#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/mqtt.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define MCONN_FLUSH_TIMEOUT_S	2

struct mconn {
	struct bufferevent	*bev;
	struct mqtt_reader	 rd;
	const struct mconn_callbacks *cb;
	void			*arg;
	char			 peer[64];
	bool			 connecting;
	bool			 closed;	/* no more callbacks */
	bool			 freeing;
};

static void	mconn_read_cb(struct bufferevent *, void *);
static void	mconn_event_cb(struct bufferevent *, short, void *);
static void	mconn_connect_failed(evutil_socket_t, short, void *);

static void
mconn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mconn	*m = arg;

	mqtt_reader_finish(&m->rd);
	bufferevent_free(m->bev);
	free(m);
}

/* Frees <m> from the loop, after the callback that ended it. */
static void
mconn_free_later(struct mconn *m)
{
	if (m->freeing) {
		return;
	}
	m->freeing = true;
	bufferevent_disable(m->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(m->bev, NULL, NULL, NULL, NULL);
	event_base_once(worker->base, -1, EV_TIMEOUT, mconn_free_cb, m, NULL);
}

/* The link failed: the owner hears it once, then the memory goes. */
static void
mconn_fail(struct mconn *m, const char *why)
{
	if (m->closed) {
		mconn_free_later(m);
		return;
	}
	m->closed = true;
	if (m->cb->closed != NULL) {
		m->cb->closed(m, why, m->arg);
	}
	mconn_free_later(m);
}

static struct mconn *
mconn_new(struct bufferevent *bev, size_t max_packet,
    const struct mconn_callbacks *cb, void *arg)
{
	struct mconn	*m;

	m = xcalloc(1, sizeof *m);
	m->bev = bev;
	m->cb = cb;
	m->arg = arg;
	mqtt_reader_init(&m->rd, max_packet);
	bufferevent_setcb(bev, mconn_read_cb, NULL, mconn_event_cb, m);
	return m;
}

/*
 * Opens a connection to <sa>; the connected callback runs when TCP is up
 * (or closed() when it is not). <max_packet> bounds what is read. Returns
 * the connection, or NULL when no socket could be made (errno set).
 */
struct mconn *
mconn_connect(const struct sockaddr *sa, socklen_t len, size_t max_packet,
    const struct mconn_callbacks *cb, void *arg)
{
	struct bufferevent	*bev;
	struct mconn		*m;

	bev = bufferevent_socket_new(worker->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	m = mconn_new(bev, max_packet, cb, arg);
	addr_format(sa, len, m->peer, sizeof m->peer);
	m->connecting = true;
	if (bufferevent_socket_connect(bev, sa, (int)len) == -1) {
		/* Failed at once: the owner still hears it from the loop. */
		event_base_once(worker->base, -1, EV_TIMEOUT,
		    mconn_connect_failed, m, NULL);
		return m;
	}
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return m;
}

/* A connection whose connect(2) failed at once. */
static void
mconn_connect_failed(evutil_socket_t fd, short what, void *arg)
{
	mconn_fail(arg, "connect failed");
}

/* Takes over an accepted socket <fd> from <peer>. */
struct mconn *
mconn_accept(int fd, const char *peer, size_t max_packet,
    const struct mconn_callbacks *cb, void *arg)
{
	struct bufferevent	*bev;
	struct mconn		*m;

	bev = bufferevent_socket_new(worker->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return NULL;
	}
	m = mconn_new(bev, max_packet, cb, arg);
	snprintf(m->peer, sizeof m->peer, "%s", peer);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return m;
}

static int
mconn_packet(void *arg, const struct mqtt_packet *p)
{
	struct mconn	*m = arg;

	m->cb->packet(m, p, m->arg);
	/* The owner may have closed us: read nothing more. */
	return m->closed ? 1 : 0;
}

static void
mconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct mconn	*m = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[8];
	size_t		 used = 0;
	int		 n, i, r = 0;

	while (!m->closed && evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, v, 8);
		if (n > 8) {
			n = 8;
		}
		used = 0;
		for (i = 0; i < n && r == 0 && !m->closed; i++) {
			r = mqtt_reader_feed(&m->rd, v[i].iov_base,
			    v[i].iov_len, mconn_packet, m);
			used += v[i].iov_len;
		}
		if (r < 0) {
			worker->stats.cluster_bad_packets++;
			log_info("cluster: %s: %s: closing", m->peer,
			    r == -EMSGSIZE ? "packet over the size limit" :
			    r == -EPROTO ? "MQTT outside the subset used" :
			    "malformed MQTT");
			mconn_fail(m, "bad packet");
			return;
		}
		if (m->closed) {
			return;
		}
		evbuffer_drain(in, used);
	}
}

static void
mconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mconn	*m = arg;

	if (what & BEV_EVENT_CONNECTED) {
		m->connecting = false;
		if (m->cb->connected != NULL) {
			m->cb->connected(m, m->arg);
		}
		return;
	}
	if (what & BEV_EVENT_EOF) {
		mconn_fail(m, "closed by the peer");
	} else if (what & BEV_EVENT_TIMEOUT) {
		mconn_fail(m, "timed out");
	} else {
		mconn_fail(m, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	}
}

/* Queues <len> bytes, whole packets. Returns 0 or -EPIPE once closed. */
int
mconn_send(struct mconn *m, const void *data, size_t len)
{
	if (m->closed) {
		return -EPIPE;
	}
	evbuffer_add(bufferevent_get_output(m->bev), data, len);
	return 0;
}

/* Queues a PUBLISH of <payload> on <topic> (QoS 0). */
int
mconn_publish(struct mconn *m, const char *topic, const void *payload,
    size_t len)
{
	uint8_t		 head[MQTT_PUBLISH_HEAD_MAX(64)];
	struct evbuffer	*out;
	int		 n;

	if (m->closed) {
		return -EPIPE;
	}
	n = mqtt_encode_publish_head(head, sizeof head, topic, strlen(topic),
	    len);
	if (n < 0) {
		return n;
	}
	out = bufferevent_get_output(m->bev);
	evbuffer_add(out, head, (size_t)n);
	evbuffer_add(out, payload, len);
	return 0;
}

/* Queues one of the two-byte packets (mqtt_encode_pingreq() etc.). */
int
mconn_send_short(struct mconn *m, int (*encode)(uint8_t *, size_t))
{
	uint8_t	 b[2];

	return mconn_send(m, b, (size_t)encode(b, sizeof b));
}

static void
mconn_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct mconn	*m = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		mconn_free_later(m);
	}
}

static void
mconn_flush_event_cb(struct bufferevent *bev, short what, void *arg)
{
	mconn_free_later(arg);
}

/*
 * Closes <m> without another callback. With <flush>, what is queued is
 * written first (for at most a few seconds); otherwise it is dropped.
 */
void
mconn_close(struct mconn *m, bool flush)
{
	struct timeval	 tv = { MCONN_FLUSH_TIMEOUT_S, 0 };

	if (m == NULL || m->closed) {
		return;
	}
	m->closed = true;
	if (!flush || m->connecting ||
	    evbuffer_get_length(bufferevent_get_output(m->bev)) == 0) {
		mconn_free_later(m);
		return;
	}
	bufferevent_disable(m->bev, EV_READ);
	bufferevent_setcb(m->bev, NULL, mconn_flushed_cb,
	    mconn_flush_event_cb, m);
	bufferevent_set_timeouts(m->bev, NULL, &tv);
}

const char *
mconn_peer(const struct mconn *m)
{
	return m->peer;
}

/* Bytes queued and not yet written. */
size_t
mconn_queued(const struct mconn *m)
{
	return evbuffer_get_length(bufferevent_get_output(m->bev));
}
