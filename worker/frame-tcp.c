/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Raw Pomelo TCP framing (PROTOCOL.md §2.2): packages back to back in the
 * byte stream, cut by common/package.c's reader across any chunking. A
 * package is written as its header and body straight into the output.
 */

#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "worker/worker-int.h"

static int
frame_tcp_package(void *arg, int type, const uint8_t *body, size_t len)
{
	struct conn	*c = arg;

	return session_package(&c->session, type, body, len);
}

static void
frame_tcp_init(struct conn *c)
{
	const struct conf	*conf = worker->conf;
	int			 on = 1;

	worker->stats.tcp_connections++;
	pkg_reader_init(&c->fr.tcp, conf->max_package_size);
	if (conf->no_delay && c->peer.sa.sa_family != AF_UNIX) {
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	}
}

static void
frame_tcp_finish(struct conn *c)
{
	worker->stats.tcp_connections--;
	pkg_reader_finish(&c->fr.tcp);
}

static void
frame_tcp_feed(struct conn *c, const uint8_t *data, size_t len)
{
	int	 r;

	r = pkg_reader_feed(&c->fr.tcp, data, len, frame_tcp_package, c);
	if (r == -EPROTO) {
		session_protocol_error(&c->session, "bad package type");
	} else if (r == -EMSGSIZE) {
		worker->stats.oversize_packages++;
		session_protocol_error(&c->session, "package header announces "
		    "more than max_package_size");
	}
}

static int
frame_tcp_send(struct conn *c, enum pkg_type type, const void *a,
    size_t alen, const void *b, size_t blen)
{
	uint8_t	*p;

	if ((p = conn_out_reserve(c, PKG_HEAD_LEN + alen + blen)) == NULL) {
		return -ENOBUFS;
	}
	pkg_head_encode(p, type, alen + blen);
	if (alen > 0) {
		memcpy(p + PKG_HEAD_LEN, a, alen);
	}
	if (blen > 0) {
		memcpy(p + PKG_HEAD_LEN + alen, b, blen);
	}
	return 0;
}

/* A stream has no goodbye of its own: a protocol error closes at once. */
static bool
frame_tcp_end(struct conn *c, enum session_end how)
{
	return how == SESSION_END_NORMAL;
}

const struct framing_ops framing_tcp = {
	.name = "tcp",
	.init = frame_tcp_init,
	.finish = frame_tcp_finish,
	.feed = frame_tcp_feed,
	.send = frame_tcp_send,
	.end = frame_tcp_end,
};
