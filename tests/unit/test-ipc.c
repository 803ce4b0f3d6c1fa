/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The control channel: headers and payloads across a real SOCK_SEQPACKET
 * pair, descriptor passing, the queue of struct ipc_chan when the peer is
 * not reading, memfd payloads; dispatch through a receiving table (an
 * unknown type, a bad length, a missing descriptor, a payload that does
 * not decode, another version, a malformed packet: each refused, counted
 * and reported); and the request/reply helper (answers in order, parts,
 * a timeout, a peer that goes away, a refused request, cancel).
 */

#include "config.h"

#include <sys/socket.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/util.h"
#include "tests/unit/test.h"

static int
pair(int sv[2])
{
	int	 r;

	r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	fd_nonblock(sv[0]);
	fd_nonblock(sv[1]);
	return r;
}

static struct ipc_hdr
hdr(uint16_t type, uint32_t len, uint64_t tag)
{
	struct ipc_hdr	 h;

	memset(&h, 0, sizeof h);
	h.version = IPC_VERSION;
	h.type = type;
	h.len = len;
	h.tag = tag;
	return h;
}

TEST(send_recv)
{
	struct ipc_hdr		 h = hdr(IPC_DRAIN, sizeof(struct ipc_drain),
	    42), got;
	struct ipc_drain	 d, back;
	int			 sv[2], fd;

	ASSERT_EQ(pair(sv), 0);
	memset(&d, 0, sizeof d);
	d.timeout_ms = 1500;
	strcpy(d.reason, "reload");
	ASSERT_EQ(ipc_send(sv[0], &h, &d, -1), 0);
	ASSERT_EQ(ipc_recv(sv[1], &got, &back, sizeof back, &fd),
	    (int)(sizeof got + sizeof back));
	ASSERT_EQ(fd, -1);
	ASSERT_EQ(got.type, IPC_DRAIN);
	ASSERT_UEQ(got.tag, 42);
	ASSERT_UEQ(back.timeout_ms, 1500);
	ASSERT_STR_EQ(back.reason, "reload");
	ASSERT_EQ(ipc_recv(sv[1], &got, &back, sizeof back, &fd), -EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

TEST(empty_payload)
{
	struct ipc_hdr	 h = hdr(IPC_START, 0, 0), got;
	char		 buf[16];
	int		 sv[2], fd;

	ASSERT_EQ(pair(sv), 0);
	ASSERT_EQ(ipc_send(sv[0], &h, NULL, -1), 0);
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, sizeof buf, &fd),
	    (int)sizeof got);
	ASSERT_EQ(got.type, IPC_START);
	close(sv[0]);
	/* EOF: 0, which no message can be. */
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, sizeof buf, &fd), 0);
	close(sv[1]);
}

TEST(pass_descriptor)
{
	struct ipc_hdr	 h = hdr(IPC_LISTENER, 4, 0), got;
	char		 buf[16];
	int		 sv[2], p[2], fd;

	ASSERT_EQ(pair(sv), 0);
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(ipc_send(sv[0], &h, "abcd", p[1]), 0);
	close(p[1]);
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, sizeof buf, &fd),
	    (int)sizeof got + 4);
	ASSERT_TRUE(fd > 2);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* The received descriptor is the pipe's write end. */
	ASSERT_EQ(write(fd, "x", 1), 1);
	ASSERT_EQ(read(p[0], buf, 1), 1);
	ASSERT_EQ(buf[0], 'x');
	close(fd);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

TEST(bad_version_and_length)
{
	struct ipc_hdr	 h = hdr(IPC_START, 0, 0), got;
	char		 buf[16];
	int		 sv[2], fd;

	ASSERT_EQ(pair(sv), 0);
	h.version = IPC_VERSION + 1;
	ASSERT_EQ(ipc_send(sv[0], &h, NULL, -1), 0);
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, sizeof buf, &fd), -EPROTO);
	ASSERT_EQ(got.type, IPC_START);
	/* A header claiming more payload than the packet holds. */
	h = hdr(IPC_START, 0, 0);
	ASSERT_EQ(send(sv[0], &h, sizeof h - 2, 0), (ssize_t)sizeof h - 2);
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, sizeof buf, &fd), -EBADMSG);
	h = hdr(IPC_START, 8, 0);
	ASSERT_EQ(ipc_send(sv[0], &h, "12345678", -1), 0);
	/* Too big for the receiver's buffer: truncated, rejected. */
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, 4, &fd), -EBADMSG);
	close(sv[0]);
	close(sv[1]);
}

struct recorder {
	int		 count;
	uint16_t	 types[4096];
	uint32_t	 lens[4096];
	int		 closed;
	int		 errors[8];
	uint16_t	 error_type;
	size_t		 error_len;
	struct event_base *base;
	int		 want;
	int		 want_errors;
	bool		 reply;		/* answer tagged messages */
	const char	*answer;	/* what to answer, in parts of 3 */
};

static int
rec_msg(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct recorder	*r = arg;
	size_t		 len, off;

	if (r->count < 4096) {
		r->types[r->count] = m->type;
		r->lens[r->count] = (uint32_t)m->len;
	}
	r->count++;
	if (r->reply && r->answer != NULL) {
		len = strlen(r->answer);
		for (off = 0; off + 3 < len; off += 3) {
			ipc_chan_reply_part(chan, m->tag, r->answer + off, 3);
		}
		ipc_chan_reply(chan, m->tag, r->answer + off, len - off);
	} else if (r->reply) {
		ipc_chan_reply(chan, m->tag, m->payload, m->len);
	}
	if (r->count == r->want) {
		event_base_loopbreak(r->base);
	}
	return 0;
}

static int
rec_keep_fd(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct recorder	*r = arg;

	/* Kept: the dispatcher must not close it. */
	if (write(m->fd, "k", 1) == 1) {
		r->count++;
	}
	close(m->fd);
	m->fd = -1;
	return 0;
}

static int
rec_bad_payload(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	return -EBADMSG;
}

static void
rec_error(struct ipc_chan *chan, enum ipc_error err, uint16_t type,
    size_t len, void *arg)
{
	struct recorder	*r = arg;

	r->errors[err]++;
	r->error_type = type;
	r->error_len = len;
	if (--r->want_errors == 0) {
		event_base_loopbreak(r->base);
	}
}

static void
rec_close(struct ipc_chan *chan, void *arg)
{
	struct recorder	*r = arg;

	r->closed++;
	event_base_loopbreak(r->base);
}

/* Every test type 0x300..0x306, any length up to a packet. */
static const struct ipc_handler rec_handlers[] = {
	{ 0x300, "t0", 0, IPC_MAX_MESSAGE, 0, rec_msg },
	{ 0x301, "t1", 0, IPC_MAX_MESSAGE, 0, rec_msg },
	{ 0x302, "t2", 0, IPC_MAX_MESSAGE, 0, rec_msg },
	{ 0x303, "t3", 0, IPC_MAX_MESSAGE, 0, rec_msg },
	{ 0x304, "t4", 0, IPC_MAX_MESSAGE, 0, rec_msg },
	{ 0x305, "t5", 0, IPC_MAX_MESSAGE, 0, rec_msg },
	{ 0x306, "t6", 0, IPC_MAX_MESSAGE, 0, rec_msg },
};

static const struct ipc_receiver rec_rx = {
	rec_handlers, nitems(rec_handlers), rec_error, rec_close,
};

/* A table with bounds: 0x310 exactly 8 bytes, 0x311 needs an fd. */
static const struct ipc_handler strict_handlers[] = {
	{ 0x310, "exact", 8, 8, 0, rec_msg },
	{ 0x311, "with fd", 0, 16, IPC_H_FD, rec_keep_fd },
	{ 0x312, "undecodable", 0, 64, 0, rec_bad_payload },
};

static const struct ipc_receiver strict_rx = {
	strict_handlers, nitems(strict_handlers), rec_error, rec_close,
};

/* The sender queues what the peer cannot take and delivers it in order. */
TEST(chan_queues_in_order)
{
	struct event_base	*base = event_base_new();
	struct recorder		*rx = calloc(1, sizeof *rx), *tx = calloc(1,
	    sizeof *tx);
	struct ipc_chan		*a, *b;
	static char		 big[IPC_MAX_PAYLOAD];
	int			 sv[2], i, n = 400;

	ASSERT_EQ(pair(sv), 0);
	rx->base = tx->base = base;
	rx->want = n;
	a = ipc_chan_create(base, sv[0], &rec_rx, tx);
	b = ipc_chan_create(base, sv[1], &rec_rx, rx);
	/* 400 x 60 KiB = 24 MiB: far more than the socket buffers hold. */
	for (i = 0; i < n; i++) {
		memset(big, i & 0xff, sizeof big);
		ASSERT_EQ(ipc_chan_send(a, (uint16_t)(0x300 + (i % 7)), 0, big,
		    i % 3 == 0 ? sizeof big : (size_t)i, -1), 0);
	}
	ASSERT_TRUE(ipc_chan_queued(a) > 0);
	ASSERT_EQ(ipc_chan_send(a, 1, 0, big, (size_t)IPC_MAX_MESSAGE + 1,
	    -1), -EMSGSIZE);
	event_base_dispatch(base);
	ASSERT_EQ(rx->count, n);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(rx->types[i], 0x300 + (i % 7));
		ASSERT_UEQ(rx->lens[i], i % 3 == 0 ? sizeof big : (size_t)i);
	}
	ASSERT_UEQ(ipc_chan_queued(a), 0);
	ASSERT_UEQ(ipc_chan_errors(b), 0);
	/* Closing one end is seen by the other. */
	ipc_chan_destroy(a);
	event_base_dispatch(base);
	ASSERT_EQ(rx->closed, 1);
	ASSERT_EQ(ipc_chan_send(b, 1, 0, NULL, 0, -1), -EPIPE);
	ipc_chan_destroy(b);
	event_base_free(base);
	free(rx);
	free(tx);
}

/*
 * What the table refuses is counted and reported with its type and
 * length: a type it lacks, a length outside the bounds, a missing
 * descriptor, a payload the handler cannot decode, another version, a
 * packet shorter than a header. Good messages around them still arrive.
 */
TEST(chan_refuses_and_counts)
{
	struct event_base	*base = event_base_new();
	struct recorder		*rx = calloc(1, sizeof *rx), *tx = calloc(1,
	    sizeof *tx);
	struct ipc_chan		*a, *b;
	struct ipc_hdr		 h;
	char			 c;
	int			 sv[2], p[2];

	ASSERT_EQ(pair(sv), 0);
	ASSERT_EQ(pipe(p), 0);
	rx->base = tx->base = base;
	rx->want_errors = 7;
	a = ipc_chan_create(base, sv[0], &rec_rx, tx);
	b = ipc_chan_create(base, sv[1], &strict_rx, rx);
	ASSERT_EQ(ipc_chan_send(a, 0x3ff, 0, "abc", 3, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x310, 0, "1234567", 7, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x310, 0, "123456789", 9, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x310, 0, "12345678", 8, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x311, 0, "x", 1, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x311, 0, "y", 1, p[1]), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x312, 0, "z", 1, -1), 0);
	/* Another version, and a torn header, written under the channel. */
	h = hdr(0x310, 8, 0);
	h.version = IPC_VERSION - 1;
	ASSERT_EQ(ipc_send(sv[0], &h, "12345678", -1), 0);
	ASSERT_EQ(send(sv[0], &h, 5, 0), 5);
	event_base_dispatch(base);
	ASSERT_EQ(rx->errors[IPC_ERR_UNKNOWN], 1);
	ASSERT_EQ(rx->errors[IPC_ERR_LENGTH], 2);
	ASSERT_EQ(rx->errors[IPC_ERR_FD], 1);
	ASSERT_EQ(rx->errors[IPC_ERR_PAYLOAD], 1);
	ASSERT_EQ(rx->errors[IPC_ERR_VERSION], 1);
	ASSERT_EQ(rx->errors[IPC_ERR_MALFORMED], 1);
	ASSERT_UEQ(ipc_chan_errors(b), 7);
	/* The good ones: the exact 8 bytes, and the fd the handler kept. */
	ASSERT_EQ(rx->count, 2);
	ASSERT_EQ(rx->types[0], 0x310);
	ASSERT_EQ(read(p[0], &c, 1), 1);
	ASSERT_EQ(c, 'k');
	ASSERT_STR_EQ(ipc_error_name(IPC_ERR_LENGTH), "message of bad length");
	ipc_chan_destroy(a);
	ipc_chan_destroy(b);
	close(p[0]);
	close(p[1]);
	event_base_free(base);
	free(rx);
	free(tx);
}

/* ipc_dispatch() alone: the codes, and descriptors closed unless kept. */
TEST(dispatch_codes)
{
	struct recorder	*r = calloc(1, sizeof *r);
	struct ipc_msg	 m;
	char		 c;
	int		 p[2];

	memset(&m, 0, sizeof m);
	m.payload = (const uint8_t *)"12345678";
	m.fd = -1;
	m.type = 0x310;
	m.len = 8;
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r), IPC_OK);
	m.len = 0;
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r),
	    IPC_ERR_LENGTH);
	m.type = 0x30f;
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r),
	    IPC_ERR_UNKNOWN);
	m.type = 0x313;
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r),
	    IPC_ERR_UNKNOWN);
	m.type = 0x311;
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r), IPC_ERR_FD);
	/* A descriptor on a refused message is closed: the pipe sees EOF. */
	ASSERT_EQ(pipe(p), 0);
	m.type = 0x3ff;
	m.fd = p[1];
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r),
	    IPC_ERR_UNKNOWN);
	ASSERT_EQ(m.fd, -1);
	ASSERT_EQ(read(p[0], &c, 1), 0);
	close(p[0]);
	m.type = 0x312;
	ASSERT_EQ(ipc_dispatch(NULL, strict_handlers, 3, &m, r),
	    IPC_ERR_PAYLOAD);
	ASSERT_EQ(r->count, 1);
	free(r);
}

struct answers {
	int		 calls;
	size_t		 n;
	int		 status[4];
	char		 data[4][64];
	size_t		 len[4];
	bool		 inside;	/* set while the test's call runs */
	bool		 reentered;
	struct event_base *base;
};

static void
got_answers(const struct ipc_answer *a, size_t n, void *arg)
{
	struct answers	*r = arg;
	size_t		 i;

	r->calls++;
	r->reentered = r->reentered || r->inside;
	r->n = n;
	for (i = 0; i < n && i < 4; i++) {
		r->status[i] = a[i].status;
		r->len[i] = a[i].len;
		if (a[i].len < sizeof r->data[i]) {
			memcpy(r->data[i], a[i].data, a[i].len);
			r->data[i][a[i].len] = '\0';
		}
	}
	event_base_loopbreak(r->base);
}

/* Three channel pairs: the requester's ends a[i], the peers' ends b[i]. */
struct peers {
	struct event_base	*base;
	struct ipc_chan		*a[3], *b[3];
	struct recorder		*rec[3], *mine;
};

static void
peers_open(struct peers *p)
{
	int	 sv[2], i;

	p->base = event_base_new();
	p->mine = calloc(1, sizeof *p->mine);
	p->mine->base = p->base;
	for (i = 0; i < 3; i++) {
		pair(sv);
		p->rec[i] = calloc(1, sizeof *p->rec[i]);
		p->rec[i]->base = p->base;
		p->rec[i]->reply = true;
		p->a[i] = ipc_chan_create(p->base, sv[0], &rec_rx, p->mine);
		p->b[i] = ipc_chan_create(p->base, sv[1], &rec_rx, p->rec[i]);
	}
}

static void
peers_close(struct peers *p)
{
	int	 i;

	for (i = 0; i < 3; i++) {
		ipc_chan_destroy(p->a[i]);
		ipc_chan_destroy(p->b[i]);
		free(p->rec[i]);
	}
	event_base_loop(p->base, EVLOOP_NONBLOCK);
	event_base_free(p->base);
	free(p->mine);
}

/* Every peer answers; the answers come in the channels' order, whole. */
TEST(request_answers)
{
	struct peers	 p;
	struct answers	 r;

	peers_open(&p);
	memset(&r, 0, sizeof r);
	r.base = p.base;
	p.rec[1]->answer = "an answer in five parts";
	r.inside = true;
	ASSERT_TRUE(ipc_request(p.base, p.a, 3, 0x301, "ping", 4, 5000,
	    got_answers, &r) != NULL);
	r.inside = false;
	event_base_dispatch(p.base);
	ASSERT_EQ(r.calls, 1);
	ASSERT_TRUE(!r.reentered);
	ASSERT_UEQ(r.n, 3);
	ASSERT_EQ(r.status[0], 0);
	ASSERT_STR_EQ(r.data[0], "ping");
	ASSERT_EQ(r.status[1], 0);
	ASSERT_STR_EQ(r.data[1], "an answer in five parts");
	ASSERT_STR_EQ(r.data[2], "ping");
	ASSERT_EQ(p.rec[0]->types[0], 0x301);
	/* No channel: the callback still runs, from the loop, with none. */
	r.calls = 0;
	r.inside = true;
	ipc_request(p.base, p.a, 0, 0x301, NULL, 0, 5000, got_answers, &r);
	r.inside = false;
	ASSERT_EQ(r.calls, 0);
	event_base_dispatch(p.base);
	ASSERT_EQ(r.calls, 1);
	ASSERT_TRUE(!r.reentered);
	ASSERT_UEQ(r.n, 0);
	peers_close(&p);
}

/*
 * A peer that does not answer times out; its late answer is dropped and
 * is not an error. A peer that goes away answers -EPIPE before the
 * timeout, and so does a channel destroyed on the requester's side
 * (from the loop, not inside the destroy).
 */
TEST(request_timeout_and_gone)
{
	struct peers	 p;
	struct answers	 r;
	uint64_t	 t0;
	int		 i;

	peers_open(&p);
	memset(&r, 0, sizeof r);
	r.base = p.base;
	p.rec[0]->reply = false;
	t0 = now_ms();
	ipc_request(p.base, p.a, 2, 0x300, "x", 1, 200, got_answers, &r);
	event_base_dispatch(p.base);
	ASSERT_EQ(r.calls, 1);
	ASSERT_GE(now_ms() - t0, 150);
	ASSERT_EQ(r.status[0], -ETIMEDOUT);
	ASSERT_EQ(r.status[1], 0);
	/* The late answer. */
	ipc_chan_reply(p.b[0], 1, "late", 4);
	event_base_loop(p.base, EVLOOP_NONBLOCK);
	ASSERT_UEQ(ipc_chan_errors(p.a[0]), 0);

	/* The peer of a[1] closes; a[2] is destroyed by the requester. */
	memset(&r, 0, sizeof r);
	r.base = p.base;
	p.rec[1]->reply = false;
	p.rec[2]->reply = false;
	t0 = now_ms();
	ipc_request(p.base, p.a + 1, 2, 0x300, "x", 1, 5000, got_answers, &r);
	ipc_chan_destroy(p.b[1]);
	p.b[1] = NULL;
	r.inside = true;
	ipc_chan_destroy(p.a[2]);
	p.a[2] = NULL;
	r.inside = false;
	ASSERT_EQ(r.calls, 0);
	/* The close callback of a[1] breaks the loop too: go on (bounded). */
	for (i = 0; i < 10 && r.calls == 0; i++) {
		event_base_dispatch(p.base);
	}
	ASSERT_EQ(r.calls, 1);
	ASSERT_TRUE(!r.reentered);
	ASSERT_LT(now_ms() - t0, 2000);
	ASSERT_EQ(r.status[0], -EPIPE);
	ASSERT_EQ(r.status[1], -EPIPE);
	/* A closed channel refuses at once: -EPIPE without waiting. */
	memset(&r, 0, sizeof r);
	r.base = p.base;
	t0 = now_ms();
	ipc_request(p.base, p.a + 1, 1, 0x300, "x", 1, 5000, got_answers, &r);
	for (i = 0; i < 10 && r.calls == 0; i++) {
		event_base_dispatch(p.base);
	}
	ASSERT_EQ(r.calls, 1);
	ASSERT_LT(now_ms() - t0, 2000);
	ASSERT_EQ(r.status[0], -EPIPE);
	peers_close(&p);
}

/* A request the peer's table refuses is answered "refused" at once. */
TEST(request_refused)
{
	struct event_base	*base = event_base_new();
	struct recorder		*rx = calloc(1, sizeof *rx), *tx = calloc(1,
	    sizeof *tx);
	struct ipc_chan		*a, *b;
	struct answers		 r;
	uint64_t		 t0;
	int			 sv[2];

	ASSERT_EQ(pair(sv), 0);
	rx->base = tx->base = base;
	rx->want_errors = -1;
	a = ipc_chan_create(base, sv[0], &rec_rx, tx);
	b = ipc_chan_create(base, sv[1], &strict_rx, rx);
	memset(&r, 0, sizeof r);
	r.base = base;
	t0 = now_ms();
	ipc_request(base, &a, 1, 0x310, "short", 5, 5000, got_answers, &r);
	event_base_dispatch(base);
	ASSERT_EQ(r.calls, 1);
	ASSERT_EQ(r.status[0], -EBADMSG);
	ASSERT_LT(now_ms() - t0, 2000);
	ASSERT_EQ(rx->errors[IPC_ERR_LENGTH], 1);
	ipc_chan_destroy(a);
	ipc_chan_destroy(b);
	event_base_free(base);
	free(rx);
	free(tx);
}

/* A cancelled request never calls back, even when answers come. */
TEST(request_cancel)
{
	struct peers		 p;
	struct answers		 r;
	struct ipc_request	*req;
	struct timeval		 tv = { 0, 100000 };

	peers_open(&p);
	memset(&r, 0, sizeof r);
	r.base = p.base;
	req = ipc_request(p.base, p.a, 3, 0x300, "x", 1, 50, got_answers,
	    &r);
	ipc_request_cancel(req);
	event_base_loopexit(p.base, &tv);
	event_base_dispatch(p.base);
	ASSERT_EQ(r.calls, 0);
	ASSERT_EQ(p.rec[0]->count, 1);
	ASSERT_UEQ(ipc_chan_errors(p.a[0]), 0);
	peers_close(&p);
}

struct bigrec {
	struct event_base	*base;
	size_t			 len;
	int			 count;
	int			 ok;
};

static int
big_msg(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct bigrec	*r = arg;
	const uint8_t	*p = m->payload;
	size_t		 i;

	r->count++;
	r->len = m->len;
	r->ok = r->ok && m->fd == -1 && p[m->len] == '\0';
	for (i = 0; i < m->len; i++) {
		if (p[i] != (uint8_t)(i * 7)) {
			r->ok = 0;
			break;
		}
	}
	if (r->count == 3) {
		event_base_loopbreak(r->base);
	}
	return 0;
}

static const struct ipc_handler big_handlers[] = {
	{ 0x300, "big", 0, IPC_MAX_MESSAGE, 0, big_msg },
};

static const struct ipc_receiver big_rx = {
	big_handlers, nitems(big_handlers), NULL, NULL,
};

/* A payload larger than a packet travels in a memfd, in order. */
TEST(chan_large_message)
{
	struct event_base	*base = event_base_new();
	struct bigrec		 rx = { base, 0, 0, 1 }, tx = { base, 0, 0, 1 };
	struct ipc_chan		*a, *b;
	size_t			 len = 5 * 1024 * 1024 + 3, i;
	uint8_t			*big = malloc(len);
	int			 sv[2];

	for (i = 0; i < len; i++) {
		big[i] = (uint8_t)(i * 7);
	}
	ASSERT_EQ(pair(sv), 0);
	a = ipc_chan_create(base, sv[0], &big_rx, &tx);
	b = ipc_chan_create(base, sv[1], &big_rx, &rx);
	ASSERT_EQ(ipc_chan_send(a, 0x300, 1, big, len, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x300, 2, big, 10, -1), 0);
	ASSERT_EQ(ipc_chan_send(a, 0x300, 3, big, IPC_MAX_PAYLOAD + 1, -1),
	    0);
	/* A memfd payload cannot carry a descriptor of its own. */
	ASSERT_EQ(ipc_chan_send(a, 0x300, 4, big, len, 0), -EINVAL);
	event_base_dispatch(base);
	ASSERT_EQ(rx.count, 3);
	ASSERT_UEQ(rx.len, IPC_MAX_PAYLOAD + 1);
	ASSERT_TRUE(rx.ok);
	ipc_chan_destroy(a);
	ipc_chan_destroy(b);
	event_base_free(base);
	free(big);
}

int
main(void)
{
	log_open('T', LOG_LEVEL_ERROR, NULL);
	RUN(send_recv);
	RUN(empty_payload);
	RUN(pass_descriptor);
	RUN(bad_version_and_length);
	RUN(chan_queues_in_order);
	RUN(chan_refuses_and_counts);
	RUN(dispatch_codes);
	RUN(request_answers);
	RUN(request_timeout_and_gone);
	RUN(request_refused);
	RUN(request_cancel);
	RUN(chan_large_message);
	TEST_DONE();
}
