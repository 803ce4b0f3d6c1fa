/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The TLS byte layer, and the detecting layer of `tls = optional`.
 *
 * TLS: an OpenSSL server connection over the socket, built from the
 * listener's context (common/tls.c). The handshake runs inside read and
 * write (SSL_set_accept_state), so conn.c and everything above see a byte
 * stream that starts once the handshake is done; the switcher, WebSocket
 * and raw Pomelo TCP run unchanged inside it. When OpenSSL needs the
 * other direction (a handshake flight the socket cannot take yet) the
 * layer says so in the connection's read_wants_write / write_wants_read.
 * Decrypted bytes OpenSSL holds are reported by pending, which conn.c's
 * read loop asks because epoll cannot. Shutdown sends close_notify.
 *
 * Failures are counted (tls_errors) and logged once, at info, when the
 * connection fails; a handshake that never ends is closed by conn.c's
 * handshake_timeout timer like any connection that has not finished its
 * Pomelo handshake.
 *
 * Detect: peeks the first byte. 0x16 (a TLS handshake record) installs
 * TLS, anything else the plain layer; neither Pomelo package types
 * (0x01..0x05) nor HTTP methods start with 0x16.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/tls.h"
#include "worker/worker-int.h"

#define XPRT_TLS_DONE		0x1	/* handshake done and counted */
#define XPRT_TLS_FAILED		0x2	/* failure counted and logged */
#define XPRT_TLS_RECORD_HANDSHAKE 0x16

/* Counts and logs the end of the handshake, once. */
static void
xprt_tls_progress(struct conn *c, SSL *ssl)
{
	if ((c->xprt_flags & XPRT_TLS_DONE) || !SSL_is_init_finished(ssl)) {
		return;
	}
	c->xprt_flags |= XPRT_TLS_DONE;
	worker->stats.tls_handshakes++;
	if (SSL_session_reused(ssl)) {
		worker->stats.tls_resumptions++;
	}
	if (log_level >= LOG_LEVEL_DEBUG) {
		conn_log(c, LOG_LEVEL_DEBUG, "TLS handshake done: %s %s%s",
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl),
		    SSL_session_reused(ssl) ? ", resumed" : "");
	}
}

/* A TLS failure of <c>: counted and logged once per connection. */
static void
xprt_tls_failed(struct conn *c, const char *what, const char *reason)
{
	if (c->xprt_flags & XPRT_TLS_FAILED) {
		return;
	}
	c->xprt_flags |= XPRT_TLS_FAILED;
	worker->stats.tls_errors++;
	conn_log(c, LOG_LEVEL_INFO, "TLS %s: %s",
	    (c->xprt_flags & XPRT_TLS_DONE) ? "error" : "handshake failed",
	    reason != NULL ? reason : what);
}

/*
 * Turns the result <n> of SSL_read/SSL_write on <c> into the byte layer's
 * answer: -EAGAIN (with the direction it waits for), 0 for the end of
 * the stream, or -errno.
 */
static ssize_t
xprt_tls_result(struct conn *c, SSL *ssl, int n, bool reading)
{
	unsigned long	 e;
	int		 err = SSL_get_error(ssl, n), saved = errno;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		if (!reading) {
			c->write_wants_read = true;
		}
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		if (reading) {
			c->read_wants_write = true;
		}
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify, or an EOF (SSL_OP_IGNORE_UNEXPECTED_EOF). */
		if (!(c->xprt_flags & XPRT_TLS_DONE) &&
		    BIO_number_read(SSL_get_rbio(ssl)) > 0) {
			xprt_tls_failed(c, "the client closed the connection "
			    "during the handshake", NULL);
		}
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == 0 || saved == EPIPE) {
			return reading ? 0 : -EPIPE;
		}
		return -saved;
	case SSL_ERROR_SSL:
	default:
		e = ERR_peek_last_error();
		xprt_tls_failed(c, "protocol error", e != 0 ?
		    ERR_reason_error_string(e) : NULL);
		ERR_clear_error();
		return -EPROTO;
	}
}

static int
xprt_tls_init(struct conn *c, void *arg)
{
	const struct tls_ctx	*t = arg;
	SSL			*ssl;
	int			 on = 1;

	if ((ssl = SSL_new(t->ssl)) == NULL) {
		ERR_clear_error();
		return -ENOMEM;
	}
	if (SSL_set_fd(ssl, c->fd) != 1) {
		ERR_clear_error();
		SSL_free(ssl);
		return -ENOMEM;
	}
	SSL_set_accept_state(ssl);
	c->xprt_ctx = ssl;
	c->xprt_flags = 0;
	/*
	 * The handshake is a conversation of small flights, and the session
	 * ticket follows the handshake in a write of its own: with Nagle, a
	 * flight would wait for the client's delayed ACK (tens of ms).
	 */
	if (worker->conf->no_delay && c->peer.sa.sa_family != AF_UNIX) {
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	}
	return 0;
}

static ssize_t
xprt_tls_read(struct conn *c, void *buf, size_t len)
{
	SSL	*ssl = c->xprt_ctx;
	int	 n, saved;

	c->read_wants_write = false;
	ERR_clear_error();
	errno = 0;
	n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	saved = errno;
	xprt_tls_progress(c, ssl);
	if (n > 0) {
		return n;
	}
	errno = saved;
	return xprt_tls_result(c, ssl, n, true);
}

static ssize_t
xprt_tls_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	SSL	*ssl = c->xprt_ctx;
	ssize_t	 total = 0, r;
	size_t	 len;
	int	 i, n, saved;

	c->write_wants_read = false;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0) {
			continue;
		}
		len = iov[i].iov_len > INT_MAX ? INT_MAX : iov[i].iov_len;
		ERR_clear_error();
		errno = 0;
		n = SSL_write(ssl, iov[i].iov_base, (int)len);
		saved = errno;
		xprt_tls_progress(c, ssl);
		if (n <= 0) {
			errno = saved;
			r = xprt_tls_result(c, ssl, n, false);
			/* What was written counts; the error comes again. */
			return total > 0 ? total : r;
		}
		total += n;
		if ((size_t)n < iov[i].iov_len) {
			break;
		}
	}
	return total;
}

static void
xprt_tls_shutdown(struct conn *c)
{
	SSL	*ssl = c->xprt_ctx;

	/* close_notify when there is a session to close; then our FIN. */
	if (SSL_is_init_finished(ssl)) {
		ERR_clear_error();
		SSL_shutdown(ssl);
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
}

static void
xprt_tls_close(struct conn *c)
{
	SSL_free(c->xprt_ctx);
	c->xprt_ctx = NULL;
}

static bool
xprt_tls_pending(const struct conn *c)
{
	return SSL_has_pending(c->xprt_ctx) == 1;
}

const struct xprt_ops xprt_tls = {
	.name = "tls",
	.init = xprt_tls_init,
	.read = xprt_tls_read,
	.writev = xprt_tls_writev,
	.shutdown = xprt_tls_shutdown,
	.close = xprt_tls_close,
	.pending = xprt_tls_pending,
};

/* tls = optional: holds the listener's TLS context until byte one. */
static int
xprt_detect_init(struct conn *c, void *arg)
{
	c->xprt_ctx = arg;
	return 0;
}

static ssize_t
xprt_detect_read(struct conn *c, void *buf, size_t len)
{
	uint8_t	 b;
	ssize_t	 n;
	int	 r;

	do {
		n = recv(c->fd, &b, 1, MSG_PEEK);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	if (n == 0) {
		return 0;
	}
	if (b == XPRT_TLS_RECORD_HANDSHAKE) {
		if ((r = xprt_tls.init(c, c->xprt_ctx)) != 0) {
			return r;
		}
		c->xprt = &xprt_tls;
	} else {
		c->xprt_ctx = NULL;
		c->xprt = &xprt_plain;
	}
	return c->xprt->read(c, buf, len);
}

/* Nothing is written before the first byte is read: plain will do. */
static ssize_t
xprt_detect_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	return xprt_plain.writev(c, iov, iovcnt);
}

static void
xprt_detect_shutdown(struct conn *c)
{
	xprt_plain.shutdown(c);
}

static void
xprt_detect_close(struct conn *c)
{
	c->xprt_ctx = NULL;
}

static bool
xprt_detect_pending(const struct conn *c)
{
	return false;
}

const struct xprt_ops xprt_detect = {
	.name = "detect",
	.init = xprt_detect_init,
	.read = xprt_detect_read,
	.writev = xprt_detect_writev,
	.shutdown = xprt_detect_shutdown,
	.close = xprt_detect_close,
	.pending = xprt_detect_pending,
};
