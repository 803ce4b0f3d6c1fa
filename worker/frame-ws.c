/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * WebSocket framing (PROTOCOL.md §2.2, §7): the upgrade request, then one
 * Pomelo package per binary message each way. The codec (ws-http.c for
 * the upgrade, ws-frame.c for frames) does no I/O; this file feeds it the
 * connection's bytes and gives it the connection's output.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>

#include "common/log.h"
#include "worker/worker-int.h"
#include "worker/ws.h"

#define FRAME_WS_MAX_REQUEST	8192

static int
frame_ws_write(void *arg, const void *data, size_t len)
{
	return conn_out(arg, data, len);
}

/* One WebSocket message holds exactly one package. */
static int
frame_ws_message(void *arg, const uint8_t *data, size_t len)
{
	struct conn	*c = arg;
	const uint8_t	*body;
	size_t		 blen;
	int		 type, r;

	r = pkg_decode_one(data, len, worker->conf->max_package_size, &type,
	    &body, &blen);
	switch (r) {
	case 0:
		return session_package(&c->session, type, body, blen);
	case -EPROTO:
		session_protocol_error(&c->session, "bad package type");
		break;
	case -EMSGSIZE:
		worker->stats.oversize_packages++;
		session_protocol_error(&c->session, "package over "
		    "max_package_size");
		break;
	default:
		session_protocol_error(&c->session, "WebSocket message is not "
		    "exactly one package");
		break;
	}
	return 1;
}

static void
frame_ws_init(struct conn *c)
{
	const struct conf	*conf = worker->conf;
	static const struct ws_callbacks cb = { frame_ws_write,
	    frame_ws_message };
	struct ws_conf		 wc;
	int			 on = 1;

	worker->stats.ws_connections++;
	wc.max_message = conf->max_package_size + PKG_HEAD_LEN;
	wc.max_request = FRAME_WS_MAX_REQUEST;
	c->fr.ws = ws_create(&wc, &cb, c);
	if (conf->no_delay && c->peer.sa.sa_family != AF_UNIX) {
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	}
}

static void
frame_ws_finish(struct conn *c)
{
	worker->stats.ws_connections--;
	ws_destroy(c->fr.ws);
	c->fr.ws = NULL;
}

static void
frame_ws_feed(struct conn *c, const uint8_t *data, size_t len)
{
	int	 r;

	r = ws_feed(c->fr.ws, data, len);
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
		conn_log(c, LOG_LEVEL_INFO, "WebSocket: %s",
		    ws_error(c->fr.ws));
		conn_close_gently(c, "WebSocket error");
	}
}

static int
frame_ws_send(struct conn *c, enum pkg_type type, const void *a,
    size_t alen, const void *b, size_t blen)
{
	uint8_t		 head[PKG_HEAD_LEN];
	struct iovec	 iov[3];

	pkg_head_encode(head, type, alen + blen);
	iov[0].iov_base = head;
	iov[0].iov_len = sizeof head;
	iov[1].iov_base = (void *)a;
	iov[1].iov_len = alen;
	iov[2].iov_base = (void *)b;
	iov[2].iov_len = blen;
	return ws_sendv(c->fr.ws, iov, 3);
}

/* A close frame: 1000 for a normal end, 1002 for a protocol error. */
static bool
frame_ws_end(struct conn *c, enum session_end how)
{
	if (ws_is_open(c->fr.ws)) {
		ws_close(c->fr.ws, how == SESSION_END_PROTOCOL ? 1002 : 1000,
		    NULL);
	}
	return true;
}

const struct framing_ops framing_ws = {
	.name = "ws",
	.init = frame_ws_init,
	.finish = frame_ws_finish,
	.feed = frame_ws_feed,
	.send = frame_ws_send,
	.end = frame_ws_end,
};
