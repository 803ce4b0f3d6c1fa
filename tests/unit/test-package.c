/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the package framer: header encoding, streams cut at every byte,
 * several packages per chunk, zero-copy delivery, empty bodies, a callback
 * that stops the feed, bad types and oversized bodies.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/package.h"
#include "common/xmalloc.h"
#include "tests/unit/test.h"

#define MAX_PKGS	16

/* What the callback saw. */
struct seen {
	int		 n;
	int		 type[MAX_PKGS];
	size_t		 len[MAX_PKGS];
	uint8_t		*body[MAX_PKGS];
	const uint8_t	*where[MAX_PKGS];	/* the pointer passed in */
	int		 stop_at;		/* return 42 for this package */
};

static int
collect(void *arg, int type, const uint8_t *body, size_t len)
{
	struct seen	*s = arg;

	if (s->n >= MAX_PKGS) {
		return -ENOSPC;
	}
	s->type[s->n] = type;
	s->len[s->n] = len;
	s->where[s->n] = body;
	s->body[s->n] = xmalloc(len);
	if (len > 0) {
		memcpy(s->body[s->n], body, len);
	}
	s->n++;
	return s->stop_at == s->n ? 42 : 0;
}

static void
seen_reset(struct seen *s)
{
	int	 i;

	for (i = 0; i < s->n; i++) {
		free(s->body[i]);
	}
	memset(s, 0, sizeof(*s));
}

/* Appends a package to <buf> at <*len>. */
static void
put_pkg(uint8_t *buf, size_t *len, int type, const char *body, size_t blen)
{
	pkg_head_encode(buf + *len, (enum pkg_type)type, blen);
	memcpy(buf + *len + PKG_HEAD_LEN, body, blen);
	*len += PKG_HEAD_LEN + blen;
}

/* A stream of five packages, two of them with empty bodies. */
static size_t
make_stream(uint8_t *buf)
{
	size_t	 len = 0;

	put_pkg(buf, &len, PKG_HANDSHAKE, "{\"sys\":{}}", 10);
	put_pkg(buf, &len, PKG_HANDSHAKE_ACK, "", 0);
	put_pkg(buf, &len, PKG_DATA, "\x00\x01\x01" "a{}", 6);
	put_pkg(buf, &len, PKG_HEARTBEAT, "", 0);
	put_pkg(buf, &len, PKG_KICK, "{\"reason\":\"x\"}", 14);
	return len;
}

/* Checks <s> against the packages of make_stream(). */
static bool
stream_ok(const struct seen *s)
{
	return s->n == 5 &&
	    s->type[0] == PKG_HANDSHAKE && s->len[0] == 10 &&
	    memcmp(s->body[0], "{\"sys\":{}}", 10) == 0 &&
	    s->type[1] == PKG_HANDSHAKE_ACK && s->len[1] == 0 &&
	    s->type[2] == PKG_DATA && s->len[2] == 6 &&
	    memcmp(s->body[2], "\x00\x01\x01" "a{}", 6) == 0 &&
	    s->type[3] == PKG_HEARTBEAT && s->len[3] == 0 &&
	    s->type[4] == PKG_KICK && s->len[4] == 14 &&
	    memcmp(s->body[4], "{\"reason\":\"x\"}", 14) == 0;
}

TEST(head_encode)
{
	uint8_t	 h[PKG_HEAD_LEN];

	pkg_head_encode(h, PKG_HANDSHAKE, 540);
	ASSERT_MEM_EQ(h, 4, "\x01\x00\x02\x1c", 4);
	pkg_head_encode(h, PKG_HEARTBEAT, 0);
	ASSERT_MEM_EQ(h, 4, "\x03\x00\x00\x00", 4);
	pkg_head_encode(h, PKG_DATA, PKG_MAX_BODY);
	ASSERT_MEM_EQ(h, 4, "\x04\xff\xff\xff", 4);
	pkg_head_encode(h, PKG_KICK, 0x010203);
	ASSERT_MEM_EQ(h, 4, "\x05\x01\x02\x03", 4);
}

TEST(whole_stream_zero_copy)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[256];
	size_t			 len = make_stream(buf);

	pkg_reader_init(&r, 1024);
	ASSERT_EQ(pkg_reader_feed(&r, buf, len, collect, &s), 0);
	ASSERT_TRUE(stream_ok(&s));
	/* Every body was passed in place. */
	ASSERT_TRUE(s.where[0] == buf + 4);
	ASSERT_TRUE(s.where[2] == buf + 4 + 10 + 4 + 4);
	ASSERT_TRUE(s.where[4] == buf + len - 14);
	ASSERT_EQ(pkg_reader_pending(&r), 0);
	ASSERT_TRUE(r.body.partial == NULL);
	pkg_reader_finish(&r);
	seen_reset(&s);
}

TEST(split_in_two_everywhere)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[256];
	size_t			 len = make_stream(buf), k;

	for (k = 0; k <= len; k++) {
		pkg_reader_init(&r, 1024);
		ASSERT_EQ(pkg_reader_feed(&r, buf, k, collect, &s), 0);
		ASSERT_EQ(pkg_reader_feed(&r, buf + k, len - k, collect, &s),
		    0);
		if (!stream_ok(&s)) {
			TEST_FAIL_AT("stream split at %zu: %d packages", k,
			    s.n);
			seen_reset(&s);
			pkg_reader_finish(&r);
			return;
		}
		ASSERT_EQ(pkg_reader_pending(&r), 0);
		pkg_reader_finish(&r);
		seen_reset(&s);
	}
}

TEST(byte_at_a_time)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[256];
	size_t			 len = make_stream(buf), k;

	pkg_reader_init(&r, 1024);
	for (k = 0; k < len; k++) {
		ASSERT_EQ(pkg_reader_feed(&r, buf + k, 1, collect, &s), 0);
	}
	ASSERT_TRUE(stream_ok(&s));
	ASSERT_EQ(pkg_reader_pending(&r), 0);
	pkg_reader_finish(&r);
	seen_reset(&s);
}

TEST(header_split_at_every_byte)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[16];
	size_t			 len = 0, k;

	put_pkg(buf, &len, PKG_DATA, "hello", 5);
	for (k = 1; k < PKG_HEAD_LEN; k++) {
		pkg_reader_init(&r, 1024);
		ASSERT_EQ(pkg_reader_feed(&r, buf, k, collect, &s), 0);
		ASSERT_EQ(s.n, 0);
		ASSERT_NE(pkg_reader_pending(&r), 0);
		ASSERT_EQ(pkg_reader_feed(&r, buf + k, len - k, collect, &s),
		    0);
		ASSERT_EQ(s.n, 1);
		ASSERT_EQ(s.type[0], PKG_DATA);
		ASSERT_MEM_EQ(s.body[0], s.len[0], "hello", 5);
		/* The body came whole in the second chunk: in place. */
		ASSERT_TRUE(s.where[0] == buf + PKG_HEAD_LEN);
		ASSERT_EQ(pkg_reader_pending(&r), 0);
		pkg_reader_finish(&r);
		seen_reset(&s);
	}
}

TEST(body_split_at_every_byte)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[64];
	const char		*body = "0123456789abcdefghij";
	size_t			 len = 0, k;

	put_pkg(buf, &len, PKG_DATA, body, 20);
	put_pkg(buf, &len, PKG_HEARTBEAT, "", 0);
	for (k = PKG_HEAD_LEN + 1; k < PKG_HEAD_LEN + 20; k++) {
		pkg_reader_init(&r, 1024);
		ASSERT_EQ(pkg_reader_feed(&r, buf, k, collect, &s), 0);
		ASSERT_EQ(s.n, 0);
		ASSERT_NE(pkg_reader_pending(&r), 0);
		ASSERT_EQ(r.body.have, k - PKG_HEAD_LEN);
		ASSERT_EQ(pkg_reader_feed(&r, buf + k, len - k, collect, &s),
		    0);
		ASSERT_EQ(s.n, 2);
		ASSERT_MEM_EQ(s.body[0], s.len[0], body, 20);
		/* Collected, so not the caller's memory. */
		ASSERT_TRUE(s.where[0] != buf + PKG_HEAD_LEN);
		ASSERT_EQ(s.type[1], PKG_HEARTBEAT);
		ASSERT_EQ(s.len[1], 0);
		ASSERT_EQ(pkg_reader_pending(&r), 0);
		ASSERT_TRUE(r.body.partial == NULL);
		pkg_reader_finish(&r);
		seen_reset(&s);
	}
}

TEST(header_alone_then_body)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 head[PKG_HEAD_LEN];
	const uint8_t		 body[3] = { 'a', 'b', 'c' };

	pkg_head_encode(head, PKG_DATA, 3);
	pkg_reader_init(&r, 1024);
	ASSERT_EQ(pkg_reader_feed(&r, head, 4, collect, &s), 0);
	ASSERT_EQ(s.n, 0);
	ASSERT_NE(pkg_reader_pending(&r), 0);
	ASSERT_EQ(pkg_reader_feed(&r, body, 3, collect, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_TRUE(s.where[0] == body);
	ASSERT_EQ(pkg_reader_pending(&r), 0);
	pkg_reader_finish(&r);
	seen_reset(&s);
}

TEST(empty_body_split_header)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	const uint8_t		 hb[4] = { 0x03, 0x00, 0x00, 0x00 };

	pkg_reader_init(&r, 0);
	ASSERT_EQ(pkg_reader_feed(&r, hb, 2, collect, &s), 0);
	ASSERT_EQ(s.n, 0);
	ASSERT_EQ(pkg_reader_feed(&r, hb + 2, 2, collect, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_EQ(s.type[0], PKG_HEARTBEAT);
	ASSERT_EQ(s.len[0], 0);
	ASSERT_EQ(pkg_reader_pending(&r), 0);
	pkg_reader_finish(&r);
	seen_reset(&s);
}

TEST(callback_stops_feed)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[256];
	size_t			 len = make_stream(buf);

	s.stop_at = 2;
	pkg_reader_init(&r, 1024);
	ASSERT_EQ(pkg_reader_feed(&r, buf, len, collect, &s), 42);
	ASSERT_EQ(s.n, 2);
	ASSERT_EQ(s.type[1], PKG_HANDSHAKE_ACK);
	pkg_reader_finish(&r);
	seen_reset(&s);

	/* Also when the stopping package was collected across chunks. */
	s.stop_at = 1;
	pkg_reader_init(&r, 1024);
	ASSERT_EQ(pkg_reader_feed(&r, buf, 7, collect, &s), 0);
	ASSERT_EQ(pkg_reader_feed(&r, buf + 7, len - 7, collect, &s), 42);
	ASSERT_EQ(s.n, 1);
	ASSERT_MEM_EQ(s.body[0], s.len[0], "{\"sys\":{}}", 10);
	ASSERT_TRUE(r.body.partial == NULL);
	pkg_reader_finish(&r);
	seen_reset(&s);
}

TEST(bad_type)
{
	static const uint8_t	 bad[] = { 0x00, 0x06, 0x09, 0x7f, 0xff };
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[32];
	size_t			 i, len;

	for (i = 0; i < sizeof(bad); i++) {
		/* Whole header at once, after a good package. */
		len = 0;
		put_pkg(buf, &len, PKG_HEARTBEAT, "", 0);
		buf[len] = bad[i];
		memcpy(buf + len + 1, "\x00\x00\x02{}", 5);
		len += 6;
		pkg_reader_init(&r, 1024);
		ASSERT_EQ(pkg_reader_feed(&r, buf, len, collect, &s), -EPROTO);
		ASSERT_EQ(s.n, 1);
		ASSERT_EQ(s.type[0], PKG_HEARTBEAT);
		pkg_reader_finish(&r);
		seen_reset(&s);

		/* Refused when, and only when, the 4th byte arrives. */
		pkg_reader_init(&r, 1024);
		ASSERT_EQ(pkg_reader_feed(&r, buf + 4, 3, collect, &s), 0);
		ASSERT_EQ(pkg_reader_feed(&r, buf + 7, 1, collect, &s),
		    -EPROTO);
		ASSERT_EQ(s.n, 0);
		pkg_reader_finish(&r);
	}
}

TEST(oversize)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 head[PKG_HEAD_LEN];
	uint8_t			 buf[PKG_HEAD_LEN + 16];

	/* Refused on the header alone: no body byte is needed. */
	pkg_head_encode(head, PKG_DATA, 17);
	pkg_reader_init(&r, 16);
	ASSERT_EQ(pkg_reader_feed(&r, head, 4, collect, &s), -EMSGSIZE);
	ASSERT_EQ(s.n, 0);
	ASSERT_TRUE(r.body.partial == NULL);
	pkg_reader_finish(&r);

	pkg_head_encode(head, PKG_DATA, PKG_MAX_BODY);
	pkg_reader_init(&r, 65536);
	ASSERT_EQ(pkg_reader_feed(&r, head, 3, collect, &s), 0);
	ASSERT_EQ(pkg_reader_feed(&r, head + 3, 1, collect, &s), -EMSGSIZE);
	pkg_reader_finish(&r);

	/* Exactly max_body passes. */
	pkg_head_encode(buf, PKG_DATA, 16);
	memset(buf + PKG_HEAD_LEN, 'x', 16);
	pkg_reader_init(&r, 16);
	ASSERT_EQ(pkg_reader_feed(&r, buf, sizeof(buf), collect, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_EQ(s.len[0], 16);
	pkg_reader_finish(&r);
	seen_reset(&s);

	/* The type is checked before the length. */
	head[0] = 0x07;
	pkg_reader_init(&r, 16);
	ASSERT_EQ(pkg_reader_feed(&r, head, 4, collect, &s), -EPROTO);
	pkg_reader_finish(&r);
}

TEST(large_body_grows_with_input)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	size_t			 blen = 100000, len, off, n;
	uint8_t			*buf;
	size_t			 i;

	len = PKG_HEAD_LEN + blen;
	buf = xmalloc(len);
	pkg_head_encode(buf, PKG_DATA, blen);
	for (i = 0; i < blen; i++) {
		buf[PKG_HEAD_LEN + i] = (uint8_t)(i * 7 + 3);
	}
	pkg_reader_init(&r, PKG_MAX_BODY);
	ASSERT_EQ(pkg_reader_feed(&r, buf, 1000, collect, &s), 0);
	/* 996 body bytes in: nothing like the announced 100000 is held. */
	ASSERT_EQ(r.body.have, 996);
	ASSERT_LE(r.body.cap, 4096);
	for (off = 1000; off < len; off += n) {
		n = len - off < 999 ? len - off : 999;
		ASSERT_EQ(pkg_reader_feed(&r, buf + off, n, collect, &s), 0);
		if (off + n < len) {
			ASSERT_LE(r.body.cap, 2 * r.body.have + 4096);
		}
	}
	ASSERT_EQ(s.n, 1);
	ASSERT_MEM_EQ(s.body[0], s.len[0], buf + PKG_HEAD_LEN, blen);
	pkg_reader_finish(&r);
	seen_reset(&s);
	free(buf);
}

TEST(finish_frees_partial)
{
	struct pkg_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[16];
	size_t			 len = 0;

	put_pkg(buf, &len, PKG_DATA, "0123456789", 10);
	pkg_reader_init(&r, 1024);
	ASSERT_EQ(pkg_reader_feed(&r, buf, 8, collect, &s), 0);
	ASSERT_TRUE(r.body.partial != NULL);
	pkg_reader_finish(&r);
	ASSERT_TRUE(r.body.partial == NULL);
	ASSERT_EQ(pkg_reader_pending(&r), 0);
	/* Twice is harmless, as is a NULL reader. */
	pkg_reader_finish(&r);
	pkg_reader_finish(NULL);
	ASSERT_EQ(s.n, 0);
}

int
main(void)
{
	RUN(head_encode);
	RUN(whole_stream_zero_copy);
	RUN(split_in_two_everywhere);
	RUN(byte_at_a_time);
	RUN(header_split_at_every_byte);
	RUN(body_split_at_every_byte);
	RUN(header_alone_then_body);
	RUN(empty_body_split_header);
	RUN(callback_stops_feed);
	RUN(bad_type);
	RUN(oversize);
	RUN(large_body_grows_with_input);
	RUN(finish_frees_partial);
	TEST_DONE();
}
