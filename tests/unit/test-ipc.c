/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Control-channel messages: headers and payloads across a real
 * SOCK_SEQPACKET pair, descriptor passing, rejection of bad versions and
 * lengths, and the queue of struct ipc_chan when the peer is not reading.
 */

#include "config.h"

#include <sys/socket.h>
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
	ASSERT_EQ(ipc_recv(sv[1], &got, buf, sizeof buf, &fd), -EBADMSG);
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
	struct event_base *base;
	int		 want;
};

static void
rec_msg(struct ipc_chan *chan, const struct ipc_hdr *h, const void *p,
    int fd, void *arg)
{
	struct recorder	*r = arg;

	if (r->count < 4096) {
		r->types[r->count] = h->type;
		r->lens[r->count] = h->len;
	}
	r->count++;
	if (fd != -1) {
		close(fd);
	}
	if (r->count == r->want) {
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
	a = ipc_chan_create(base, sv[0], rec_msg, rec_close, tx);
	b = ipc_chan_create(base, sv[1], rec_msg, rec_close, rx);
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

TEST(push_round_trip)
{
	struct ipc_push	 m, back;
	static char	 big[IPC_MAX_PAYLOAD];
	size_t		 len;
	char		*p;

	memset(&m, 0, sizeof m);
	m.exclude = 42;
	m.from = 7;
	m.channel = "room1";
	m.channel_len = 5;
	m.route = "onChat";
	m.route_len = 6;
	m.uid = "bob*room1";
	m.uid_len = 9;
	m.body = "{\"msg\":\"hi\"}";
	m.body_len = 12;
	p = ipc_push_encode(&m, &len);
	ASSERT_TRUE(p != NULL);
	ASSERT_UEQ(len, sizeof(struct ipc_ch_push) + 5 + 6 + 9 + 12);
	ASSERT_EQ(ipc_push_decode(p, len, &back), 0);
	ASSERT_UEQ(back.exclude, 42);
	ASSERT_UEQ(back.from, 7);
	ASSERT_MEM_EQ(back.channel, back.channel_len, "room1", 5);
	ASSERT_MEM_EQ(back.route, back.route_len, "onChat", 6);
	ASSERT_MEM_EQ(back.uid, back.uid_len, "bob*room1", 9);
	ASSERT_MEM_EQ(back.body, back.body_len, "{\"msg\":\"hi\"}", 12);
	/* A length that does not match the payload is refused. */
	ASSERT_EQ(ipc_push_decode(p, len - 1, &back), -EBADMSG);
	ASSERT_EQ(ipc_push_decode(p, 3, &back), -EBADMSG);
	free(p);
	/* No uid: every member. */
	m.uid = NULL;
	m.uid_len = 0;
	p = ipc_push_encode(&m, &len);
	ASSERT_EQ(ipc_push_decode(p, len, &back), 0);
	ASSERT_UEQ(back.uid_len, 0);
	ASSERT_MEM_EQ(back.body, back.body_len, "{\"msg\":\"hi\"}", 12);
	free(p);
	/* A body larger than one packet is laid out too (sent by memfd). */
	m.body = big;
	m.body_len = sizeof big;
	p = ipc_push_encode(&m, &len);
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(ipc_push_decode(p, len, &back), 0);
	ASSERT_UEQ(back.body_len, sizeof big);
	free(p);
	/* A field that does not fit its length is refused. */
	m.body_len = 2;
	m.channel = big;
	m.channel_len = (size_t)UINT16_MAX + 1;
	ASSERT_TRUE(ipc_push_encode(&m, &len) == NULL);
}

struct bigrec {
	struct event_base	*base;
	size_t			 len;
	int			 count;
	int			 ok;
};

static void
big_msg(struct ipc_chan *chan, const struct ipc_hdr *h, const void *payload,
    int fd, void *arg)
{
	struct bigrec	*r = arg;
	const uint8_t	*p = payload;
	size_t		 i;

	r->count++;
	r->len = h->len;
	r->ok = r->ok && fd == -1 && p[h->len] == '\0';
	for (i = 0; i < h->len; i++) {
		if (p[i] != (uint8_t)(i * 7)) {
			r->ok = 0;
			break;
		}
	}
	if (r->count == 3) {
		event_base_loopbreak(r->base);
	}
}

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
	a = ipc_chan_create(base, sv[0], big_msg, NULL, &tx);
	b = ipc_chan_create(base, sv[1], big_msg, NULL, &rx);
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

TEST(stats_names)
{
	ASSERT_UEQ(WORKER_STATS_N, sizeof(struct worker_stats) / 8);
	ASSERT_STR_EQ(worker_stats_names[0], "rss");
	ASSERT_STR_EQ(worker_stats_names[WORKER_STATS_N - 1],
	    "tls_errors");
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
	RUN(push_round_trip);
	RUN(chan_large_message);
	RUN(stats_names);
	TEST_DONE();
}
