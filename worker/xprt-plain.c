/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The plain byte layer: read(2) and writev(2) on the connection's socket.
 * It keeps no state of its own; TLS is the other byte layer, and every
 * layer above works the same over either.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <unistd.h>

#include "worker/worker-int.h"

static ssize_t
xprt_plain_read(struct conn *c, void *buf, size_t len)
{
	ssize_t	 n;

	do {
		n = read(c->fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	return n;
}

static ssize_t
xprt_plain_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	ssize_t	 n;

	do {
		n = writev(c->fd, iov, iovcnt);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	return n;
}

static void
xprt_plain_shutdown(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
}

static void
xprt_plain_close(struct conn *c)
{
}

static bool
xprt_plain_pending(const struct conn *c)
{
	return false;
}

const struct xprt_ops xprt_plain = {
	.name = "plain",
	.init = NULL,
	.read = xprt_plain_read,
	.writev = xprt_plain_writev,
	.shutdown = xprt_plain_shutdown,
	.close = xprt_plain_close,
	.pending = xprt_plain_pending,
};
