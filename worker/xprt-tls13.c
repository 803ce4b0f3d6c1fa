/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The lean TLS 1.3 byte layer: an established TLS 1.3 connection after
 * OpenSSL has done its handshake and handed it over (worker/xprt-tls.c).
 * It keeps the traffic keys and sequence numbers (common/tls13.c) and
 * nothing else while idle, so an idle TLS session costs a few hundred
 * bytes more than a plain one instead of OpenSSL's 14 KB.
 *
 * Reading: bytes are read into a scratch buffer of the process, every
 * whole record is opened in place and its content copied to the caller;
 * the part of a record that has not arrived yet is kept, on the heap, for
 * the next read. Application data goes up; close_notify is the end of the
 * stream; a KeyUpdate moves the read key (and, when the client asks, ours
 * before our next record). Anything else the client may not send after the
 * handshake, a record that does not open, or a fatal alert is a TLS error.
 *
 * Writing: what the connection hands over is sealed into records of at
 * most 16 KB in a scratch buffer and written; what the socket does not
 * take is kept, and the plaintext it carries is reported as written only
 * once every byte of it has left, so conn.c retries with the same bytes in
 * front, as with OpenSSL. Our key is updated every 2^24 records (the
 * AES-GCM limit of RFC 8446 §5.5 with room to spare).
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/tls13.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define XPRT_TLS13_KEY_UPDATE	24		/* handshake message type */
#define XPRT_TLS13_MAX_RECORDS	(UINT64_C(1) << 24)	/* per key */
#define XPRT_TLS13_SEAL_RECORDS	4		/* per writev call */
#define XPRT_TLS13_READ_MAX	(64 * 1024)

struct xprt_tls13 {
	struct tls13	 t;
	uint8_t		*in;		/* the start of a record, or NULL */
	uint32_t	 in_len;
	uint32_t	 out_off;
	uint8_t		*out;		/* sealed bytes not written yet */
	uint32_t	 out_len;
	uint32_t	 out_plain;	/* the plaintext they carry */
	bool		 update_owed;	/* the client asked for our update */
	bool		 eof;		/* close_notify came */
};

static uint8_t	 xprt_tls13_rbuf[XPRT_TLS13_READ_MAX + TLS13_MAX_RECORD];
static uint8_t	 xprt_tls13_wbuf[(XPRT_TLS13_SEAL_RECORDS + 1) *
		    TLS13_MAX_RECORD];

/* Takes <c> over with the keys and sequence numbers of <t> (copied). */
void
xprt_tls13_adopt(struct conn *c, const struct tls13 *t)
{
	struct xprt_tls13	*x;

	x = xcalloc(1, sizeof *x);
	x->t = *t;
	c->xprt = &xprt_tls13;
	c->xprt_ctx = x;
}

/* The length of the whole record starting at <p> (<len> bytes), or 0. */
static size_t
xprt_tls13_record_len(const uint8_t *p, size_t len)
{
	if (len < TLS13_HEADER_LEN) {
		return 0;
	}
	return TLS13_HEADER_LEN + (((size_t)p[3] << 8) | p[4]);
}

/*
 * The handshake messages of a record: only KeyUpdate may come now, and it
 * ends its record (the key changes after it). 0, or -EPROTO.
 */
static int
xprt_tls13_handshake(struct conn *c, struct xprt_tls13 *x, const uint8_t *p,
    size_t len)
{
	if (len != 5 || p[0] != XPRT_TLS13_KEY_UPDATE || p[1] != 0 ||
	    p[2] != 0 || p[3] != 1 || p[4] > 1) {
		xprt_tls_failed(c, "unexpected handshake message after the "
		    "handshake");
		return -EPROTO;
	}
	if (tls13_update(&x->t, &x->t.rd) != 0) {
		xprt_tls_failed(c, "key update failed");
		return -EPROTO;
	}
	if (p[4] == 1) {
		x->update_owed = true;
	}
	return 0;
}

static int
xprt_tls13_alert(struct conn *c, struct xprt_tls13 *x, const uint8_t *p,
    size_t len)
{
	char	 why[64];

	if (len != 2) {
		xprt_tls_failed(c, "bad alert");
		return -EPROTO;
	}
	switch (p[1]) {
	case 0:		/* close_notify */
		x->eof = true;
		return 0;
	case 90:	/* user_canceled: a close_notify follows */
		return 0;
	default:
		snprintf(why, sizeof why, "the client sent alert %u", p[1]);
		xprt_tls_failed(c, why);
		return -EPROTO;
	}
}

/*
 * Opens the records in <buf> (<*len> bytes) into <out> (room for <room>
 * bytes) while they fit; returns the plaintext length and leaves what
 * is left at the start of <buf> in <*len>, or -EPROTO.
 */
static ssize_t
xprt_tls13_open_all(struct conn *c, struct xprt_tls13 *x, uint8_t *buf,
    size_t *len, uint8_t *out, size_t room)
{
	size_t	 off = 0, rlen, clen, got = 0;
	uint8_t	 type, *content;
	int	 r = 0;

	while (!x->eof && (rlen = xprt_tls13_record_len(buf + off,
	    *len - off)) != 0) {
		if (buf[off] != TLS13_APPLICATION) {
			xprt_tls_failed(c, "not a protected record");
			return -EPROTO;
		}
		/* At least a content type and a tag; at most 2^14 + 256. */
		if (rlen < TLS13_HEADER_LEN + 1 + TLS13_TAG_LEN ||
		    rlen > TLS13_MAX_RECORD) {
			xprt_tls_failed(c, "bad record length");
			return -EPROTO;
		}
		if (*len - off < rlen || room - got <
		    rlen - TLS13_HEADER_LEN - 1 - TLS13_TAG_LEN) {
			break;
		}
		if (tls13_open(&x->t, buf + off, rlen, &type, &content,
		    &clen) != 0) {
			xprt_tls_failed(c, "bad record mac");
			return -EPROTO;
		}
		off += rlen;
		switch (type) {
		case TLS13_APPLICATION:
			memcpy(out + got, content, clen);
			got += clen;
			r = 0;
			break;
		case TLS13_ALERT:
			r = xprt_tls13_alert(c, x, content, clen);
			break;
		case TLS13_HANDSHAKE:
			r = xprt_tls13_handshake(c, x, content, clen);
			break;
		default:
			xprt_tls_failed(c, "unexpected content type");
			r = -EPROTO;
			break;
		}
		OPENSSL_cleanse(content, clen);
		if (r != 0) {
			return r;
		}
	}
	*len -= off;
	memmove(buf, buf + off, *len);
	return (ssize_t)got;
}

static bool	 xprt_tls13_pending(const struct conn *);

static ssize_t
xprt_tls13_read(struct conn *c, void *buf, size_t len)
{
	struct xprt_tls13	*x = c->xprt_ctx;
	uint8_t			*s = xprt_tls13_rbuf;
	size_t			 have = x->in_len, room;
	ssize_t			 n, got;
	bool			 eof = false;

	if (x->eof) {
		return 0;
	}
	if (have > 0) {
		memcpy(s, x->in, have);
	}
	/*
	 * What is kept may be more than a record (whole records that did
	 * not fit the caller's buffer last time); then it is opened first.
	 */
	room = sizeof xprt_tls13_rbuf - have;
	if (room > len) {
		room = len;
	}
	n = -1;
	if (room > 0 && !xprt_tls13_pending(c)) {
		do {
			n = read(c->fd, s + have, room);
		} while (n == -1 && errno == EINTR);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			return -errno;
		}
		if (n == 0) {
			eof = true;
		}
	}
	if (n > 0) {
		have += (size_t)n;
	}
	got = xprt_tls13_open_all(c, x, s, &have, buf, len);
	if (got < 0) {
		return got;
	}
	/* Keep the record that has not all come (nothing when idle). */
	if (have != x->in_len) {
		free(x->in);
		x->in = have > 0 ? xmalloc(have) : NULL;
		x->in_len = (uint32_t)have;
	}
	if (have > 0) {
		memcpy(x->in, s, have);
	}
	if (got > 0) {
		return got;
	}
	if (x->eof || eof) {
		return 0;
	}
	if (xprt_tls13_pending(c)) {
		/* A whole record kept and not opened: never wait on it. */
		xprt_tls_failed(c, "record not opened");
		return -EPROTO;
	}
	return -EAGAIN;
}

/* Writes the sealed bytes kept; 0 when none is left, or -errno. */
static int
xprt_tls13_flush(struct conn *c, struct xprt_tls13 *x)
{
	ssize_t	 n;

	while (x->out_off < x->out_len) {
		do {
			n = write(c->fd, x->out + x->out_off,
			    x->out_len - x->out_off);
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		x->out_off += (uint32_t)n;
	}
	free(x->out);
	x->out = NULL;
	x->out_off = x->out_len = 0;
	return 0;
}

/* Seals our KeyUpdate at <out> and moves our key; its length or -EIO. */
static int
xprt_tls13_update(struct xprt_tls13 *x, uint8_t *out)
{
	static const uint8_t	 msg[5] = { XPRT_TLS13_KEY_UPDATE, 0, 0, 1,
				    0 };
	int			 n;

	if ((n = tls13_seal(&x->t, TLS13_HANDSHAKE, msg, sizeof msg,
	    out)) < 0 || tls13_update(&x->t, &x->t.wr) != 0) {
		return -EIO;
	}
	x->update_owed = false;
	return n;
}

static ssize_t
xprt_tls13_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct xprt_tls13	*x = c->xprt_ctx;
	uint8_t			*w = xprt_tls13_wbuf, chunk[TLS13_MAX_PLAIN];
	const uint8_t		*p;
	size_t			 wlen = 0, plain = 0, n, take, off = 0;
	ssize_t			 done;
	bool			 gathered = false;
	int			 i = 0, records, r;

	if (x->out != NULL) {
		if ((r = xprt_tls13_flush(c, x)) != 0) {
			return r;
		}
		if (x->out_plain > 0) {
			done = x->out_plain;
			x->out_plain = 0;
			return done;
		}
	}
	if (x->update_owed || x->t.wr.seq >= XPRT_TLS13_MAX_RECORDS) {
		if ((r = xprt_tls13_update(x, w)) < 0) {
			return -EIO;
		}
		wlen += (size_t)r;
	}
	/*
	 * Records of up to 16 KB: straight from an iovec that holds one,
	 * else gathered across the iovecs.
	 */
	for (records = 0; records < XPRT_TLS13_SEAL_RECORDS; records++) {
		while (i < iovcnt && iov[i].iov_len == off) {
			i++;
			off = 0;
		}
		if (i == iovcnt) {
			break;
		}
		p = (const uint8_t *)iov[i].iov_base + off;
		n = iov[i].iov_len - off;
		if (n >= sizeof chunk || i == iovcnt - 1) {
			if (n > sizeof chunk) {
				n = sizeof chunk;
			}
			off += n;
		} else {
			for (n = 0; n < sizeof chunk && i < iovcnt; ) {
				take = iov[i].iov_len - off;
				if (take > sizeof chunk - n) {
					take = sizeof chunk - n;
				}
				memcpy(chunk + n, (const uint8_t *)
				    iov[i].iov_base + off, take);
				n += take;
				off += take;
				if (off == iov[i].iov_len) {
					i++;
					off = 0;
				}
			}
			p = chunk;
			gathered = true;
		}
		if ((r = tls13_seal(&x->t, TLS13_APPLICATION, p, n,
		    w + wlen)) < 0) {
			return -EIO;
		}
		wlen += (size_t)r;
		plain += n;
	}
	if (gathered) {
		OPENSSL_cleanse(chunk, sizeof chunk);
	}
	if (wlen == 0) {
		return 0;
	}
	do {
		done = write(c->fd, w, wlen);
	} while (done == -1 && errno == EINTR);
	if (done == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
		return -errno;
	}
	if (done == (ssize_t)wlen) {
		return (ssize_t)plain;
	}
	/* Sealed, so sent later as they are; reported once they left. */
	if (done < 0) {
		done = 0;
	}
	x->out_len = (uint32_t)(wlen - (size_t)done);
	x->out = xmalloc(x->out_len);
	memcpy(x->out, w + done, x->out_len);
	x->out_off = 0;
	x->out_plain = (uint32_t)plain;
	return -EAGAIN;
}

static void
xprt_tls13_shutdown(struct conn *c)
{
	static const uint8_t	 close_notify[2] = { 1, 0 };
	struct xprt_tls13	*x = c->xprt_ctx;
	uint8_t			 rec[TLS13_SEALED_LEN(2)];
	int			 n;

	/* Best effort, as OpenSSL's: the FIN follows either way. */
	if (xprt_tls13_flush(c, x) == 0 && (n = tls13_seal(&x->t,
	    TLS13_ALERT, close_notify, sizeof close_notify, rec)) > 0) {
		if (write(c->fd, rec, (size_t)n) == -1) {
			/* the FIN still tells */
		}
	}
	shutdown(c->fd, SHUT_WR);
}

static void
xprt_tls13_close(struct conn *c)
{
	struct xprt_tls13	*x = c->xprt_ctx;

	if (x == NULL) {
		return;
	}
	tls13_finish(&x->t);
	free(x->in);
	free(x->out);
	free(x);
	c->xprt_ctx = NULL;
}

/* A whole record kept from the last read: epoll will not tell. */
static bool
xprt_tls13_pending(const struct conn *c)
{
	const struct xprt_tls13	*x = c->xprt_ctx;
	size_t			 rlen;

	rlen = xprt_tls13_record_len(x->in, x->in_len);
	return rlen != 0 && x->in_len >= rlen;
}

const struct xprt_ops xprt_tls13 = {
	.name = "tls",
	.init = NULL,
	.read = xprt_tls13_read,
	.writev = xprt_tls13_writev,
	.shutdown = xprt_tls13_shutdown,
	.close = xprt_tls13_close,
	.pending = xprt_tls13_pending,
};
