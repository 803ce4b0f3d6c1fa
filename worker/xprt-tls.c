/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The TLS byte layer while OpenSSL holds the connection, and the
 * detecting layer of `tls = optional`.
 *
 * TLS: an OpenSSL server connection built from the listener's context
 * (common/tls.c). The handshake runs inside read and write
 * (SSL_set_accept_state), so conn.c and everything above see a byte
 * stream that starts once the handshake is done; the switcher, WebSocket
 * and raw Pomelo TCP run unchanged inside it. When OpenSSL needs the other
 * direction (a handshake flight the socket cannot take yet) the layer says
 * so in the connection's read_wants_write / write_wants_read. Decrypted
 * bytes OpenSSL holds are reported by pending, which conn.c's read loop
 * asks because epoll cannot. Shutdown sends close_notify.
 *
 * Handing over (TLS 1.3): an idle OpenSSL connection costs about 14 KB,
 * most of it the SSL object itself. Once a TLS 1.3 handshake is done,
 * the connection moves to worker/xprt-tls13.c, which keeps only the
 * traffic keys (a few hundred bytes), and the SSL object is freed. What
 * the hand-over needs, OpenSSL gives through public interfaces:
 *
 * - the application traffic secrets, from the key-log callback;
 * - the sequence numbers: OpenSSL's socket I/O goes through a BIO of this
 *   file. Once the handshake is done it reads nothing more (the client's
 *   first records stay in the socket for the new layer: read sequence 0),
 *   and every record OpenSSL writes is tried against the server's
 *   application key at the next sequence number: the records that open
 *   are the session tickets sent after the handshake, and their count is
 *   the write sequence. A record written after the handshake that does
 *   not open, or anything else unexpected, keeps the connection on
 *   OpenSSL: the hand-over is checked, never guessed.
 *
 * TLS 1.2 connections, and suites other than the three of TLS 1.3, stay
 * on OpenSSL. Failures are counted (tls_errors) and logged once, at info,
 * when the connection fails; a handshake that never ends is closed by
 * conn.c's handshake_timeout timer like any connection that has not
 * finished its Pomelo handshake.
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/tls.h"
#include "common/tls13.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define XPRT_TLS_RECORD_HANDSHAKE 0x16

/* The OpenSSL phase of a connection (c->xprt_ctx of xprt_tls). */
struct xprt_tls {
	SSL		*ssl;
	bool		 lean;		/* a hand-over is still possible */
	bool		 held;		/* the BIO held a read back for it */
	bool		 have_rd;	/* rd_secret known */
	bool		 have_wr;
	uint8_t		 secret_len;
	uint8_t		 rd_secret[TLS13_MAX_SECRET];	/* the client's */
	uint8_t		 wr_secret[TLS13_MAX_SECRET];	/* ours */
	uint64_t	 wr_app;	/* our application records so far */
	bool		 keys;		/* <t> holds our write keys */
	struct tls13	 t;		/* for the trial, then the lean layer */
	/* The record stream OpenSSL writes, cut into records. */
	uint8_t		 hdr[TLS13_HEADER_LEN];
	uint8_t		 hdr_len;
	uint32_t	 left;		/* body bytes of the current record */
	uint8_t		*rec;		/* the current record, for the trial */
	uint32_t	 rec_len;
};

static BIO_METHOD	*xprt_tls_bio;

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
void
xprt_tls_failed(struct conn *c, const char *reason)
{
	if (c->xprt_flags & XPRT_TLS_FAILED) {
		return;
	}
	c->xprt_flags |= XPRT_TLS_FAILED;
	worker->stats.tls_errors++;
	conn_log(c, LOG_LEVEL_INFO, "TLS %s: %s",
	    (c->xprt_flags & XPRT_TLS_DONE) ? "error" : "handshake failed",
	    reason);
}

/* <x> stays on OpenSSL for good: it may read ahead now. */
static void
xprt_tls_stay(struct xprt_tls *x)
{
	x->lean = false;
	SSL_set_read_ahead(x->ssl, 1);
}

/* The record stream OpenSSL wrote (<len> bytes that left): the trial. */
static void
xprt_tls_track(struct xprt_tls *x, const uint8_t *p, size_t len)
{
	const SSL_CIPHER	*cipher;
	size_t			 n;
	bool			 app;
	int			 st;

	while (len > 0) {
		if (x->hdr_len < TLS13_HEADER_LEN) {
			x->hdr[x->hdr_len++] = *p++;
			len--;
			if (x->hdr_len < TLS13_HEADER_LEN) {
				continue;
			}
			x->left = ((uint32_t)x->hdr[3] << 8) | x->hdr[4];
			/* Only protected records can be application data. */
			if (x->lean && x->have_wr &&
			    x->hdr[0] == TLS13_APPLICATION) {
				x->rec = xmalloc(TLS13_HEADER_LEN + x->left);
				memcpy(x->rec, x->hdr, TLS13_HEADER_LEN);
				x->rec_len = TLS13_HEADER_LEN;
			}
		}
		n = len < x->left ? len : x->left;
		if (x->rec != NULL) {
			memcpy(x->rec + x->rec_len, p, n);
			x->rec_len += (uint32_t)n;
		}
		p += n;
		len -= n;
		x->left -= (uint32_t)n;
		if (x->left > 0) {
			break;
		}
		x->hdr_len = 0;
		if (x->rec == NULL) {
			continue;
		}
		/* A whole record: does it open as our next one? */
		if (!x->keys) {
			cipher = SSL_get_current_cipher(x->ssl);
			x->keys = cipher != NULL && tls13_init(&x->t,
			    SSL_CIPHER_get_protocol_id(cipher), x->wr_secret,
			    x->wr_secret, x->secret_len) == 0;
		}
		app = false;
		if (x->keys) {
			x->t.wr.seq = x->wr_app;
			app = tls13_check(&x->t, &x->t.wr, x->rec, x->rec_len);
		}
		st = SSL_get_state(x->ssl);
		if (app) {
			x->wr_app++;
		} else if (st == TLS_ST_SW_SESSION_TICKET || st == TLS_ST_OK) {
			/* After the handshake every record should open. */
			xprt_tls_stay(x);
		}
		free(x->rec);
		x->rec = NULL;
	}
}

static int
xprt_tls_bio_write(BIO *b, const char *buf, int len)
{
	struct conn	*c = BIO_get_data(b);
	struct xprt_tls	*x = c->xprt_ctx;
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	do {
		n = write(c->fd, buf, (size_t)len);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			BIO_set_retry_write(b);
		}
		return -1;
	}
	if (x->lean) {
		xprt_tls_track(x, (const uint8_t *)buf, (size_t)n);
	}
	return (int)n;
}

static int
xprt_tls_bio_read(BIO *b, char *buf, int len)
{
	struct conn	*c = BIO_get_data(b);
	struct xprt_tls	*x = c->xprt_ctx;
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	if (x->lean && SSL_is_init_finished(x->ssl)) {
		/* What follows the handshake is the lean layer's to read. */
		x->held = true;
		BIO_set_retry_read(b);
		return -1;
	}
	do {
		n = read(c->fd, buf, (size_t)len);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			BIO_set_retry_read(b);
		}
		return -1;
	}
	return (int)n;
}

static long
xprt_tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
xprt_tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
xprt_tls_hex(char ch)
{
	if (ch >= '0' && ch <= '9') {
		return ch - '0';
	}
	if (ch >= 'a' && ch <= 'f') {
		return ch - 'a' + 10;
	}
	if (ch >= 'A' && ch <= 'F') {
		return ch - 'A' + 10;
	}
	return -1;
}

/* The key-log callback: keeps the application traffic secrets. */
static void
xprt_tls_keylog(const SSL *ssl, const char *line)
{
	static const char	 client[] = "CLIENT_TRAFFIC_SECRET_0 ";
	static const char	 server[] = "SERVER_TRAFFIC_SECRET_0 ";
	struct conn		*c = SSL_get_app_data(ssl);
	struct xprt_tls		*x;
	const char		*p;
	uint8_t			*dst;
	size_t			 n = 0;
	int			 hi, lo;

	if (c == NULL || c->xprt != &xprt_tls) {
		return;
	}
	x = c->xprt_ctx;
	if (strncmp(line, client, sizeof client - 1) == 0) {
		dst = x->rd_secret;
	} else if (strncmp(line, server, sizeof server - 1) == 0) {
		dst = x->wr_secret;
	} else {
		return;
	}
	/* LABEL CLIENT_RANDOM SECRET, in hex. */
	p = strchr(line + sizeof client - 1, ' ');
	if (p == NULL) {
		return;
	}
	for (p++; p[0] != '\0' && p[1] != '\0' && n < TLS13_MAX_SECRET;
	    p += 2) {
		if ((hi = xprt_tls_hex(p[0])) < 0 ||
		    (lo = xprt_tls_hex(p[1])) < 0) {
			break;
		}
		dst[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (*p != '\0' || (x->secret_len != 0 && x->secret_len != n)) {
		xprt_tls_stay(x);
		return;
	}
	x->secret_len = (uint8_t)n;
	if (dst == x->rd_secret) {
		x->have_rd = true;
	} else {
		x->have_wr = true;
	}
}

/* Makes the BIO method and sets <ctx>'s key log, once per process. */
static int
xprt_tls_setup(SSL_CTX *ctx)
{
	if (xprt_tls_bio == NULL) {
		xprt_tls_bio = BIO_meth_new(BIO_get_new_index() |
		    BIO_TYPE_SOURCE_SINK, "shaddock");
		if (xprt_tls_bio == NULL ||
		    BIO_meth_set_write(xprt_tls_bio, xprt_tls_bio_write) != 1 ||
		    BIO_meth_set_read(xprt_tls_bio, xprt_tls_bio_read) != 1 ||
		    BIO_meth_set_ctrl(xprt_tls_bio, xprt_tls_bio_ctrl) != 1 ||
		    BIO_meth_set_create(xprt_tls_bio,
		    xprt_tls_bio_create) != 1) {
			BIO_meth_free(xprt_tls_bio);
			xprt_tls_bio = NULL;
			return -ENOMEM;
		}
	}
	if (SSL_CTX_get_keylog_callback(ctx) != xprt_tls_keylog) {
		SSL_CTX_set_keylog_callback(ctx, xprt_tls_keylog);
	}
	return 0;
}

/* Forgets the OpenSSL phase of <c> (its SSL and the secrets). */
static void
xprt_tls_free(struct conn *c)
{
	struct xprt_tls	*x = c->xprt_ctx;

	if (x == NULL) {
		return;
	}
	SSL_free(x->ssl);
	free(x->rec);
	OPENSSL_cleanse(x, sizeof *x);
	free(x);
	c->xprt_ctx = NULL;
}

/*
 * Moves <c> to the lean TLS 1.3 layer when its handshake is done and
 * everything checks out; returns true when it did. A connection that can
 * never move is left on OpenSSL for good.
 */
static bool
xprt_tls_hand_over(struct conn *c)
{
	struct xprt_tls		*x = c->xprt_ctx;
	const SSL_CIPHER	*cipher;
	uint16_t		 suite;

	if (!x->lean || !SSL_is_init_finished(x->ssl)) {
		return false;
	}
	cipher = SSL_get_current_cipher(x->ssl);
	suite = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
	if (SSL_version(x->ssl) != TLS1_3_VERSION || !x->have_rd ||
	    !x->have_wr || !tls13_suite_supported(suite) ||
	    SSL_has_pending(x->ssl)) {
		xprt_tls_stay(x);
		return false;
	}
	/* A record still on its way out: after it has left. */
	if (x->hdr_len != 0 || x->left != 0 || SSL_want_write(x->ssl)) {
		return false;
	}
	if (!x->keys && tls13_init(&x->t, suite, x->rd_secret, x->wr_secret,
	    x->secret_len) != 0) {
		xprt_tls_stay(x);
		return false;
	}
	if (x->t.suite != suite ||
	    tls13_rekey(&x->t, &x->t.rd, x->rd_secret) != 0) {
		xprt_tls_stay(x);
		return false;
	}
	x->t.rd.seq = 0;
	x->t.wr.seq = x->wr_app;
	xprt_tls13_adopt(c, &x->t);
	if (log_level >= LOG_LEVEL_DEBUG) {
		conn_log(c, LOG_LEVEL_DEBUG, "TLS 1.3 handed over from OpenSSL "
		    "(suite 0x%04x, %ju records written)", suite,
		    (uintmax_t)x->wr_app);
	}
	/* c->xprt_ctx is the lean layer's now. */
	SSL_free(x->ssl);
	free(x->rec);
	OPENSSL_cleanse(x, sizeof *x);
	free(x);
	return true;
}

/* The end of the stream: a failure when it cuts a handshake short. */
static void
xprt_tls_eof(struct conn *c, SSL *ssl)
{
	if (!(c->xprt_flags & XPRT_TLS_DONE) &&
	    BIO_number_read(SSL_get_rbio(ssl)) > 0) {
		xprt_tls_failed(c, "the client closed the connection during "
		    "the handshake");
	}
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
		xprt_tls_eof(c, ssl);
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == 0 || saved == EPIPE) {
			xprt_tls_eof(c, ssl);
			return reading ? 0 : -EPIPE;
		}
		return -saved;
	case SSL_ERROR_SSL:
	default:
		e = ERR_peek_last_error();
		xprt_tls_failed(c, e != 0 && ERR_reason_error_string(e) !=
		    NULL ? ERR_reason_error_string(e) : "protocol error");
		ERR_clear_error();
		return -EPROTO;
	}
}

static int
xprt_tls_init(struct conn *c, void *arg)
{
	const struct tls_ctx	*t = arg;
	struct xprt_tls		*x;
	BIO			*bio;
	int			 on = 1, r;

	if ((r = xprt_tls_setup(t->ssl)) != 0) {
		return r;
	}
	x = xcalloc(1, sizeof *x);
	x->lean = true;
	if ((x->ssl = SSL_new(t->ssl)) == NULL ||
	    (bio = BIO_new(xprt_tls_bio)) == NULL) {
		ERR_clear_error();
		SSL_free(x->ssl);
		free(x);
		return -ENOMEM;
	}
	BIO_set_data(bio, c);
	SSL_set_bio(x->ssl, bio, bio);
	SSL_set_app_data(x->ssl, c);
	SSL_set_accept_state(x->ssl);
	c->xprt_ctx = x;
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
	struct xprt_tls	*x = c->xprt_ctx;
	SSL		*ssl = x->ssl;
	int		 n, saved, tries;

	c->read_wants_write = false;
	for (tries = 0; ; tries++) {
		ERR_clear_error();
		errno = 0;
		x->held = false;
		n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
		saved = errno;
		xprt_tls_progress(c, ssl);
		if (n > 0) {
			/* OpenSSL read application data: it keeps the rest. */
			if (x->lean) {
				xprt_tls_stay(x);
			}
			return n;
		}
		if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ) {
			break;
		}
		if (xprt_tls_hand_over(c)) {
			ERR_clear_error();
			return c->xprt->read(c, buf, len);
		}
		/* Held back for a hand-over that will not come: read now. */
		if (!x->held || x->lean || tries > 0) {
			break;
		}
	}
	errno = saved;
	return xprt_tls_result(c, ssl, n, true);
}

static ssize_t
xprt_tls_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct xprt_tls	*x = c->xprt_ctx;
	SSL		*ssl = x->ssl;
	ssize_t		 total = 0, r;
	size_t		 len;
	int		 i, n, saved;

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
	struct xprt_tls	*x = c->xprt_ctx;

	/* close_notify when there is a session to close; then our FIN. */
	if (SSL_is_init_finished(x->ssl)) {
		ERR_clear_error();
		SSL_shutdown(x->ssl);
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
}

static void
xprt_tls_close(struct conn *c)
{
	xprt_tls_free(c);
}

static bool
xprt_tls_pending(const struct conn *c)
{
	const struct xprt_tls	*x = c->xprt_ctx;

	return SSL_has_pending(x->ssl) == 1;
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
