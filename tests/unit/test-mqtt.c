/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the MQTT codec: the packets captured between real Pomelo
 * processes (CLUSTER.md §2-5) decoded from one stream cut at every split
 * point, byte by byte and in pseudo-random chunks; zero-copy delivery;
 * the remaining-length varint at its boundaries and malformed; every
 * packet type outside the subset; malformed bodies; the size limit
 * checked on the header; a callback that stops the feed; and every
 * encoder against the captured bytes.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mqtt.h"
#include "common/xmalloc.h"
#include "tests/unit/test.h"

#define MAX_PKTS	32

/* A packet as the callback saw it, copied out. */
struct got {
	enum mqtt_type	 type;
	uint8_t		 flags;
	size_t		 body_len;
	const uint8_t	*where;		/* the body pointer passed in */
	char		*topic;		/* PUBLISH */
	uint8_t		*payload;
	size_t		 payload_len;
	char		*client_id;	/* CONNECT */
	uint16_t	 keepalive;
	uint8_t		 connect_flags;
	uint8_t		 rc;		/* CONNACK */
};

struct seen {
	int		 n;
	struct got	 p[MAX_PKTS];
	int		 stop_at;	/* return 42 for this packet */
};

/* The stream: captured packets in order, and what each one decodes to. */
struct expect {
	enum mqtt_type	 type;
	const char	*topic;
	const char	*payload;	/* PUBLISH */
	const char	*client_id;	/* CONNECT */
};

static const char	 rpc_forward_payload[] =
    "{\"id\":2,\"msg\":{\"namespace\":\"sys\",\"serverType\":\"chat\","
    "\"service\":\"msgRemote\",\"method\":\"forwardMessage\",\"args\":[{"
    "\"id\":2,\"type\":0,\"compressRoute\":1,\"route\":"
    "\"chat.chatHandler.send\",\"body\":{\"rid\":\"r1\",\"content\":"
    "\"hi all\",\"from\":\"alice\",\"target\":\"*\"},\"compressGzip\":0},"
    "{\"id\":1,\"frontendId\":\"connector-server-1\",\"uid\":\"alice*r1\","
    "\"settings\":{\"rid\":\"r1\"}}]}}";

static const struct expect	 stream_expect[] = {
	{ MQTT_CONNECT, NULL, NULL, "MQTT_ADMIN_1795997633946" },
	{ MQTT_CONNACK, NULL, NULL, NULL },
	{ MQTT_PUBLISH, "register", "{\"code\":1,\"msg\":\"ok\"}", NULL },
	{ MQTT_PUBLISH, "monitor", "\"{\\\"respId\\\":1,\\\"error\\\":1}\"",
	    NULL },
	{ MQTT_CONNECT, NULL, NULL, "MQTT_RPC_1795997641660" },
	{ MQTT_PUBLISH, "rpc", rpc_forward_payload, NULL },
	{ MQTT_PUBLISH, "rpc", "{\"id\":2,\"resp\":[null,{},null]}", NULL },
	{ MQTT_PUBLISH, "rpc", "{\"id\":0,\"resp\":[[\"alice\"]]}", NULL },
	{ MQTT_PINGREQ, NULL, NULL, NULL },
	{ MQTT_PINGRESP, NULL, NULL, NULL },
	{ MQTT_DISCONNECT, NULL, NULL, NULL },
};
#define N_EXPECT	(sizeof(stream_expect) / sizeof(stream_expect[0]))

static int
collect(void *arg, const struct mqtt_packet *pkt)
{
	struct seen	*s = arg;
	struct got	*g;

	if (s->n >= MAX_PKTS) {
		return -ENOSPC;
	}
	g = &s->p[s->n];
	memset(g, 0, sizeof(*g));
	g->type = pkt->type;
	g->flags = pkt->flags;
	g->body_len = pkt->body_len;
	g->where = pkt->body;
	switch (pkt->type) {
	case MQTT_PUBLISH:
		g->topic = xstrndup(pkt->publish.topic, pkt->publish.topic_len);
		g->payload_len = pkt->publish.payload_len;
		g->payload = xmalloc(g->payload_len + 1);
		memcpy(g->payload, pkt->publish.payload, g->payload_len);
		g->payload[g->payload_len] = '\0';
		/* The views point inside the body. */
		if ((const uint8_t *)pkt->publish.topic != pkt->body + 2 ||
		    pkt->publish.payload + pkt->publish.payload_len !=
		    pkt->body + pkt->body_len) {
			return -EFAULT;
		}
		break;
	case MQTT_CONNECT:
		g->client_id = xstrndup(pkt->connect.client_id,
		    pkt->connect.client_id_len);
		g->keepalive = pkt->connect.keepalive;
		g->connect_flags = pkt->connect.flags;
		break;
	case MQTT_CONNACK:
		g->rc = pkt->connack.return_code;
		break;
	default:
		break;
	}
	s->n++;
	return s->stop_at == s->n ? 42 : 0;
}

static void
seen_reset(struct seen *s)
{
	int	 i;

	for (i = 0; i < s->n; i++) {
		free(s->p[i].topic);
		free(s->p[i].payload);
		free(s->p[i].client_id);
	}
	memset(s, 0, sizeof(*s));
}

/* Appends the bytes written in hex ("10 24 00 04") to <buf> at <*len>. */
static void
put_hex(uint8_t *buf, size_t *len, const char *hex)
{
	char	*end;

	for (;;) {
		while (*hex == ' ') {
			hex++;
		}
		if (*hex == '\0') {
			break;
		}
		buf[(*len)++] = (uint8_t)strtoul(hex, &end, 16);
		hex = end;
	}
}

static void
put_str(uint8_t *buf, size_t *len, const char *s)
{
	memcpy(buf + *len, s, strlen(s));
	*len += strlen(s);
}

/* The captured packets, written out byte by byte as on the wire. */
static size_t
make_stream(uint8_t *buf)
{
	size_t	 len = 0;

	put_hex(buf, &len, "10 24 00 04 4d 51 54 54 04 02 00 00 00 18");
	put_str(buf, &len, "MQTT_ADMIN_1795997633946");
	put_hex(buf, &len, "20 02 00 00");
	put_hex(buf, &len, "30 1f 00 08 72 65 67 69 73 74 65 72 7b 22 63 6f"
	    " 64 65 22 3a 31 2c 22 6d 73 67 22 3a 22 6f 6b 22 7d");
	put_hex(buf, &len, "30 25 00 07 6d 6f 6e 69 74 6f 72 22 7b 5c 22 72"
	    " 65 73 70 49 64 5c 22 3a 31 2c 5c 22 65 72 72 6f 72 5c 22 3a 31"
	    " 7d 22");
	put_hex(buf, &len, "10 22 00 04 4d 51 54 54 04 02 00 00 00 16");
	put_str(buf, &len, "MQTT_RPC_1795997641660");
	put_hex(buf, &len, "30 e0 02 00 03 72 70 63");
	put_str(buf, &len, rpc_forward_payload);
	put_hex(buf, &len, "30 23 00 03 72 70 63 7b 22 69 64 22 3a 32 2c 22"
	    " 72 65 73 70 22 3a 5b 6e 75 6c 6c 2c 7b 7d 2c 6e 75 6c 6c 5d 7d");
	put_hex(buf, &len, "30 20 00 03 72 70 63");
	put_str(buf, &len, "{\"id\":0,\"resp\":[[\"alice\"]]}");
	put_hex(buf, &len, "c0 00 d0 00 e0 00");
	return len;
}

/* Checks <s> against stream_expect, reporting the first difference. */
static bool
stream_ok(const struct seen *s)
{
	const struct expect	*e;
	const struct got	*g;
	size_t			 i;

	if (s->n != (int)N_EXPECT) {
		fprintf(stderr, "  %d packets, want %zu\n", s->n, N_EXPECT);
		return false;
	}
	for (i = 0; i < N_EXPECT; i++) {
		e = &stream_expect[i];
		g = &s->p[i];
		if (g->type != e->type || g->flags != 0) {
			fprintf(stderr, "  packet %zu: type %d\n", i, g->type);
			return false;
		}
		if (e->topic != NULL && (strcmp(g->topic, e->topic) != 0 ||
		    g->payload_len != strlen(e->payload) ||
		    memcmp(g->payload, e->payload, g->payload_len) != 0)) {
			fprintf(stderr, "  packet %zu: publish differs\n", i);
			return false;
		}
		if (e->client_id != NULL &&
		    (strcmp(g->client_id, e->client_id) != 0 ||
		    g->keepalive != 0 ||
		    g->connect_flags != MQTT_CONNECT_CLEAN)) {
			fprintf(stderr, "  packet %zu: connect differs\n", i);
			return false;
		}
	}
	return true;
}

TEST(captured_stream_whole_zero_copy)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024];
	size_t			 len = make_stream(buf);

	mqtt_reader_init(&r, 65536);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, len, collect, &s), 0);
	ASSERT_TRUE(stream_ok(&s));
	/* Every body was passed in place. */
	ASSERT_TRUE(s.p[0].where == buf + 2);
	ASSERT_TRUE(s.p[1].where == buf + 38 + 2);
	ASSERT_EQ(s.p[5].body_len, 352);	/* the e0 02 varint */
	ASSERT_EQ(s.p[2].body_len, 31);
	ASSERT_EQ(s.p[1].rc, 0);
	ASSERT_TRUE(r.body.partial == NULL);
	ASSERT_TRUE(!mqtt_reader_pending(&r));
	mqtt_reader_finish(&r);
	seen_reset(&s);
}

TEST(captured_stream_split_in_two_everywhere)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024];
	size_t			 len = make_stream(buf), k;

	for (k = 0; k <= len; k++) {
		mqtt_reader_init(&r, 65536);
		ASSERT_EQ(mqtt_reader_feed(&r, buf, k, collect, &s), 0);
		ASSERT_EQ(mqtt_reader_feed(&r, buf + k, len - k, collect, &s),
		    0);
		if (!stream_ok(&s)) {
			TEST_FAIL_AT("stream split at %zu", k);
			seen_reset(&s);
			mqtt_reader_finish(&r);
			return;
		}
		ASSERT_TRUE(!mqtt_reader_pending(&r));
		ASSERT_TRUE(r.body.partial == NULL);
		mqtt_reader_finish(&r);
		seen_reset(&s);
	}
}

TEST(captured_stream_split_in_three)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024];
	size_t			 len = make_stream(buf), i, j;

	/* Every pair of cuts within the first 120 bytes (5 packets). */
	for (i = 0; i < 120; i++) {
		for (j = i; j < 120; j++) {
			mqtt_reader_init(&r, 65536);
			ASSERT_EQ(mqtt_reader_feed(&r, buf, i, collect, &s), 0);
			ASSERT_EQ(mqtt_reader_feed(&r, buf + i, j - i, collect,
			    &s), 0);
			ASSERT_EQ(mqtt_reader_feed(&r, buf + j, len - j,
			    collect, &s), 0);
			if (!stream_ok(&s)) {
				TEST_FAIL_AT("cuts at %zu, %zu", i, j);
				seen_reset(&s);
				mqtt_reader_finish(&r);
				return;
			}
			mqtt_reader_finish(&r);
			seen_reset(&s);
		}
	}
}

TEST(captured_stream_byte_at_a_time_and_random_chunks)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024], *chunk;
	size_t			 len = make_stream(buf), k, n;
	unsigned		 seed = 12345, round;

	mqtt_reader_init(&r, 65536);
	for (k = 0; k < len; k++) {
		/* Each byte in its own allocation: ASan/valgrind see reads. */
		chunk = xmalloc(1);
		chunk[0] = buf[k];
		ASSERT_EQ(mqtt_reader_feed(&r, chunk, 1, collect, &s), 0);
		free(chunk);
	}
	ASSERT_TRUE(stream_ok(&s));
	ASSERT_TRUE(!mqtt_reader_pending(&r));
	mqtt_reader_finish(&r);
	seen_reset(&s);

	for (round = 0; round < 200; round++) {
		mqtt_reader_init(&r, 65536);
		for (k = 0; k < len; k += n) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 64;
			if (n > len - k) {
				n = len - k;
			}
			chunk = xmalloc(n);
			memcpy(chunk, buf + k, n);
			ASSERT_EQ(mqtt_reader_feed(&r, chunk, n, collect, &s),
			    0);
			free(chunk);
		}
		ASSERT_TRUE(stream_ok(&s));
		mqtt_reader_finish(&r);
		seen_reset(&s);
	}
}

TEST(header_split_then_whole_body_in_place)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024];
	size_t			 len = 0, start, k;

	/* The 352-byte forward: a 3-byte header with its 2-byte varint. */
	put_hex(buf, &len, "30 e0 02 00 03 72 70 63");
	put_str(buf, &len, rpc_forward_payload);
	for (k = 1; k <= 3; k++) {
		mqtt_reader_init(&r, 65536);
		ASSERT_EQ(mqtt_reader_feed(&r, buf, k, collect, &s), 0);
		ASSERT_EQ(s.n, 0);
		ASSERT_TRUE(mqtt_reader_pending(&r));
		ASSERT_EQ(mqtt_reader_feed(&r, buf + k, len - k, collect, &s),
		    0);
		ASSERT_EQ(s.n, 1);
		ASSERT_TRUE(s.p[0].where == buf + 3);
		ASSERT_TRUE(r.body.partial == NULL);
		mqtt_reader_finish(&r);
		seen_reset(&s);
	}

	/* A split body is collected, and the next packet is in place. */
	start = len;
	put_hex(buf, &len, "30 08 00 03 72 70 63 7b 7d 20");
	mqtt_reader_init(&r, 65536);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, 100, collect, &s), 0);
	ASSERT_EQ(r.body.have, 97);
	ASSERT_LE(r.body.cap, 4096);
	ASSERT_EQ(mqtt_reader_feed(&r, buf + 100, len - 100, collect, &s), 0);
	ASSERT_EQ(s.n, 2);
	ASSERT_TRUE(s.p[0].where != buf + 3);
	ASSERT_MEM_EQ(s.p[0].payload, s.p[0].payload_len, rpc_forward_payload,
	    strlen(rpc_forward_payload));
	ASSERT_TRUE(s.p[1].where == buf + start + 2);
	ASSERT_STR_EQ((char *)s.p[1].payload, "{} ");
	mqtt_reader_finish(&r);
	seen_reset(&s);
}

TEST(large_body_grows_with_input)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	size_t			 plen = 100000, len, off, n, i;
	uint8_t			*buf;
	int			 h;

	buf = xmalloc(MQTT_PUBLISH_HEAD_MAX(3) + plen);
	h = mqtt_encode_publish_head(buf, MQTT_PUBLISH_HEAD_MAX(3), "rpc", 3,
	    plen);
	ASSERT_EQ(h, 1 + 3 + 2 + 3);
	for (i = 0; i < plen; i++) {
		buf[(size_t)h + i] = (uint8_t)(i * 7 + 3);
	}
	len = (size_t)h + plen;
	mqtt_reader_init(&r, MQTT_REMAINING_MAX);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, 1000, collect, &s), 0);
	/* 996 body bytes in: nothing like the announced 100005 is held. */
	ASSERT_EQ(r.body.have, 996);
	ASSERT_LE(r.body.cap, 4096);
	for (off = 1000; off < len; off += n) {
		n = len - off < 999 ? len - off : 999;
		ASSERT_EQ(mqtt_reader_feed(&r, buf + off, n, collect, &s), 0);
		if (off + n < len) {
			ASSERT_LE(r.body.cap, 2 * r.body.have + 4096);
		}
	}
	ASSERT_EQ(s.n, 1);
	ASSERT_MEM_EQ(s.p[0].payload, s.p[0].payload_len, buf + h, plen);
	mqtt_reader_finish(&r);
	seen_reset(&s);
	free(buf);
}

TEST(callback_stops_feed_reader_stays_usable)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024];
	size_t			 len = make_stream(buf);

	/* Stop on the CONNACK: 38 + 4 bytes were used. */
	s.stop_at = 2;
	mqtt_reader_init(&r, 65536);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, len, collect, &s), 42);
	ASSERT_EQ(s.n, 2);
	ASSERT_TRUE(!mqtt_reader_pending(&r));
	/* The caller resumes with the bytes it knows were not read. */
	s.stop_at = 0;
	ASSERT_EQ(mqtt_reader_feed(&r, buf + 42, len - 42, collect, &s), 0);
	ASSERT_TRUE(stream_ok(&s));
	mqtt_reader_finish(&r);
	seen_reset(&s);

	/* Stopping on a collected packet frees its buffer. */
	s.stop_at = 1;
	mqtt_reader_init(&r, 65536);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, 20, collect, &s), 0);
	ASSERT_EQ(mqtt_reader_feed(&r, buf + 20, len - 20, collect, &s), 42);
	ASSERT_EQ(s.n, 1);
	ASSERT_STR_EQ(s.p[0].client_id, "MQTT_ADMIN_1795997633946");
	ASSERT_TRUE(r.body.partial == NULL);
	mqtt_reader_finish(&r);
	seen_reset(&s);
}

/* Feeds <hex> to a fresh reader; returns the result, packets in <s>. */
static int
feed_hex(const char *hex, size_t max_len, struct seen *s)
{
	struct mqtt_reader	 r;
	uint8_t			 buf[512];
	size_t			 len = 0;
	int			 rc;

	put_hex(buf, &len, hex);
	mqtt_reader_init(&r, max_len);
	rc = mqtt_reader_feed(&r, buf, len, collect, s);
	mqtt_reader_finish(&r);
	return rc;
}

TEST(types_outside_the_subset_refused_on_first_byte)
{
	static const struct {
		uint8_t	 first;
		int	 rc;
	} cases[] = {
		{ 0x00, -EBADMSG }, { 0x0f, -EBADMSG },	/* reserved 0 */
		{ 0xf0, -EBADMSG }, { 0xff, -EBADMSG },	/* reserved 15 */
		{ 0x40, -EPROTO }, { 0x50, -EPROTO },	/* PUBACK, PUBREC */
		{ 0x62, -EPROTO }, { 0x60, -EBADMSG },	/* PUBREL */
		{ 0x70, -EPROTO },			/* PUBCOMP */
		{ 0x82, -EPROTO }, { 0x80, -EBADMSG },	/* SUBSCRIBE */
		{ 0x90, -EPROTO }, { 0x91, -EBADMSG },	/* SUBACK */
		{ 0xa2, -EPROTO }, { 0xa0, -EBADMSG },	/* UNSUBSCRIBE */
		{ 0xb0, -EPROTO },			/* UNSUBACK */
		{ 0x32, -EPROTO }, { 0x34, -EPROTO },	/* PUBLISH QoS 1, 2 */
		{ 0x3a, -EPROTO },			/* QoS 1 + dup */
		{ 0x36, -EBADMSG }, { 0x3f, -EBADMSG },	/* QoS 3 */
		{ 0x11, -EBADMSG }, { 0x18, -EBADMSG },	/* CONNECT flags */
		{ 0x21, -EBADMSG }, { 0xc1, -EBADMSG },
		{ 0xd8, -EBADMSG }, { 0xe2, -EBADMSG },
	};
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 ping[2] = { 0xc0, 0x00 };
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mqtt_reader_init(&r, 65536);
		/* A good packet first: it is delivered. */
		ASSERT_EQ(mqtt_reader_feed(&r, ping, 2, collect, &s), 0);
		ASSERT_EQ(mqtt_reader_feed(&r, &cases[i].first, 1, collect,
		    &s), cases[i].rc);
		ASSERT_EQ(s.n, 1);
		/* Dead from now on, whatever comes. */
		ASSERT_EQ(mqtt_reader_feed(&r, ping, 2, collect, &s),
		    cases[i].rc);
		ASSERT_EQ(s.n, 1);
		mqtt_reader_finish(&r);
		seen_reset(&s);
	}
	/* dup and retain are allowed at QoS 0. */
	ASSERT_EQ(feed_hex("39 04 00 01 74 78", 64, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_EQ(s.p[0].flags, 0x09);
	seen_reset(&s);
}

TEST(remaining_length_varint)
{
	static const struct {
		uint32_t	 v;
		const char	*hex;
	} cases[] = {
		{ 0, "00" }, { 31, "1f" }, { 127, "7f" }, { 128, "80 01" },
		{ 339, "d3 02" }, { 352, "e0 02" }, { 963, "c3 07" },
		{ 1276, "fc 09" }, { 16383, "ff 7f" }, { 16384, "80 80 01" },
		{ 2097151, "ff ff 7f" }, { 2097152, "80 80 80 01" },
		{ 268435455, "ff ff ff 7f" },
	};
	uint8_t		 out[4], want[4];
	size_t		 i, wlen;
	uint32_t	 v;
	int		 n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wlen = 0;
		put_hex(want, &wlen, cases[i].hex);
		n = mqtt_remaining_len_encode(out, cases[i].v);
		ASSERT_MEM_EQ(out, (size_t)n, want, wlen);
		v = 1;
		ASSERT_EQ(mqtt_remaining_len_decode(want, wlen, &v),
		    (int)wlen);
		ASSERT_UEQ(v, cases[i].v);
		/* Cut short: -EAGAIN, <v> untouched. */
		v = 77;
		ASSERT_EQ(mqtt_remaining_len_decode(want, wlen - 1, &v),
		    -EAGAIN);
		ASSERT_EQ(v, 77);
	}
	/* Over-long forms read; a 5th byte never. */
	ASSERT_EQ(mqtt_remaining_len_decode((const uint8_t *)"\x80\x00", 2,
	    &v), 2);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(mqtt_remaining_len_decode(
	    (const uint8_t *)"\xff\xff\xff\xff\x01", 5, &v), -EBADMSG);
	ASSERT_EQ(mqtt_remaining_len_decode(
	    (const uint8_t *)"\x80\x80\x80\x80", 4, &v), -EBADMSG);
}

TEST(malformed_remaining_length_in_stream)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	static const uint8_t	 bad[] = { 0x30, 0xff, 0xff, 0xff, 0xff, 0x7f };
	size_t			 k;

	/* Refused on the 5th byte of the header, however it is cut. */
	for (k = 1; k < 5; k++) {
		mqtt_reader_init(&r, MQTT_REMAINING_MAX);
		ASSERT_EQ(mqtt_reader_feed(&r, bad, k, collect, &s), 0);
		ASSERT_EQ(mqtt_reader_feed(&r, bad + k, 5 - k, collect, &s),
		    -EBADMSG);
		ASSERT_EQ(mqtt_reader_feed(&r, bad + 5, 1, collect, &s),
		    -EBADMSG);
		mqtt_reader_finish(&r);
	}
	ASSERT_EQ(s.n, 0);

	/* An over-long but valid form is accepted. */
	ASSERT_EQ(feed_hex("c0 80 00", 64, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_EQ(s.p[0].type, MQTT_PINGREQ);
	seen_reset(&s);
}

TEST(oversize_refused_on_header)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[64];
	size_t			 len = 0;
	int			 h;

	/* Remaining length 11 against a limit of 10: no body needed. */
	h = mqtt_encode_publish_head(buf, sizeof(buf), "rpc", 3, 6);
	ASSERT_EQ(h, 7);
	mqtt_reader_init(&r, 10);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, 1, collect, &s), 0);
	ASSERT_EQ(mqtt_reader_feed(&r, buf + 1, 1, collect, &s), -EMSGSIZE);
	ASSERT_TRUE(r.body.partial == NULL);
	ASSERT_EQ(s.n, 0);
	mqtt_reader_finish(&r);

	/* Exactly the limit passes. */
	h = mqtt_encode_publish(buf, sizeof(buf), "rpc", 3, "{}{}{", 5);
	ASSERT_EQ(h, 12);
	mqtt_reader_init(&r, 10);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, (size_t)h, collect, &s), 0);
	ASSERT_EQ(s.n, 1);
	mqtt_reader_finish(&r);
	seen_reset(&s);

	/* The largest length a header can announce, refused at once. */
	put_hex(buf, &len, "30 ff ff ff 7f");
	mqtt_reader_init(&r, 1 << 20);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, len, collect, &s), -EMSGSIZE);
	mqtt_reader_finish(&r);

	/* A limit above the protocol's is clamped. */
	mqtt_reader_init(&r, SIZE_MAX);
	ASSERT_UEQ(r.max_len, MQTT_REMAINING_MAX);
	mqtt_reader_finish(&r);
}

TEST(malformed_bodies)
{
	static const struct {
		const char	*hex;
		int		 rc;
	} cases[] = {
		/* CONNACK of the wrong size, reserved flag bits */
		{ "20 03 00 00 00", -EBADMSG }, { "20 00", -EBADMSG },
		{ "20 02 02 00", -EBADMSG }, { "20 02 80 00", -EBADMSG },
		/* pings and DISCONNECT with a body */
		{ "c0 01 00", -EBADMSG }, { "d0 01 00", -EBADMSG },
		{ "e0 02 00 00", -EBADMSG },
		/* PUBLISH: too short, empty topic, topic past the end */
		{ "30 00", -EBADMSG }, { "30 02 00 00", -EBADMSG },
		{ "30 03 00 00 61", -EBADMSG }, { "30 04 00 05 61 62", -EBADMSG },
		{ "30 03 ff ff 61", -EBADMSG },
		/* CONNECT: too short, strings past the end */
		{ "10 02 00 04", -EBADMSG },
		{ "10 0c 00 0a 4d 51 54 54 04 02 00 00 00 00", -EBADMSG },
		{ "10 0c 00 04 4d 51 54 54 04 02 00 00 00 01", -EBADMSG },
		/* trailing bytes after the client id */
		{ "10 0d 00 04 4d 51 54 54 04 02 00 00 00 00 00", -EBADMSG },
		/* reserved connect flag; will QoS 3; will bits without will */
		{ "10 0c 00 04 4d 51 54 54 04 03 00 00 00 00", -EBADMSG },
		{ "10 10 00 04 4d 51 54 54 04 1c 00 00 00 00 00 00 00 00",
		    -EBADMSG },
		{ "10 0c 00 04 4d 51 54 54 04 22 00 00 00 00", -EBADMSG },
		{ "10 0c 00 04 4d 51 54 54 04 08 00 00 00 00", -EBADMSG },
		/* password without user name */
		{ "10 0e 00 04 4d 51 54 54 04 42 00 00 00 00 00 00", -EBADMSG },
		/* will announced, will message missing */
		{ "10 0e 00 04 4d 51 54 54 04 06 00 00 00 00 00 00", -EBADMSG },
		/* other protocols and levels */
		{ "10 0c 00 04 4d 51 54 54 05 02 00 00 00 00", -EPROTO },
		{ "10 0c 00 04 4d 51 54 54 03 02 00 00 00 00", -EPROTO },
		{ "10 0c 00 04 48 54 54 50 04 02 00 00 00 00", -EPROTO },
		{ "10 0e 00 06 4d 51 49 73 64 70 04 02 00 00 00 00", -EPROTO },
	};
	struct seen	 s = { 0 };
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (feed_hex(cases[i].hex, 256, &s) != cases[i].rc) {
			TEST_FAIL_AT("case %zu (%s): got %d, want %d", i,
			    cases[i].hex, feed_hex(cases[i].hex, 256, &s),
			    cases[i].rc);
			seen_reset(&s);
			return;
		}
		ASSERT_EQ(s.n, 0);
	}
}

TEST(connect_variants)
{
	struct seen	 s = { 0 };
	struct mqtt_packet p;

	/* MQTT 3.1 "MQIsdp" level 3, keepalive 60, id "ab". */
	ASSERT_EQ(feed_hex("10 10 00 06 4d 51 49 73 64 70 03 02 00 3c 00 02 61"
	    " 62", 256, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_STR_EQ(s.p[0].client_id, "ab");
	ASSERT_EQ(s.p[0].keepalive, 60);
	seen_reset(&s);

	/* Will, user name and password are read past. */
	ASSERT_EQ(feed_hex("10 1a 00 04 4d 51 54 54 04 ce 00 00 00 01 63 00 01"
	    " 74 00 01 6d 00 01 75 00 02 70 77", 256, &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_STR_EQ(s.p[0].client_id, "c");
	ASSERT_EQ(s.p[0].connect_flags, 0xce);
	seen_reset(&s);

	/* An empty client id is well-formed. */
	ASSERT_EQ(feed_hex("10 0c 00 04 4d 51 54 54 04 02 00 00 00 00", 256,
	    &s), 0);
	ASSERT_EQ(s.n, 1);
	ASSERT_STR_EQ(s.p[0].client_id, "");
	seen_reset(&s);

	/* mqtt_decode() alone; <ret> untouched on failure. */
	memset(&p, 0xa5, sizeof(p));
	ASSERT_EQ(mqtt_decode(0x20, (const uint8_t *)"\x01\x05", 2, &p), 0);
	ASSERT_EQ(p.type, MQTT_CONNACK);
	ASSERT_TRUE(p.connack.session_present);
	ASSERT_EQ(p.connack.return_code, 5);
	memset(&p, 0xa5, sizeof(p));
	ASSERT_EQ(mqtt_decode(0x20, (const uint8_t *)"\x00", 1, &p), -EBADMSG);
	ASSERT_EQ(p.flags, 0xa5);
	ASSERT_EQ(mqtt_decode(0x40, (const uint8_t *)"\x00\x01", 2, &p),
	    -EPROTO);
	ASSERT_EQ(mqtt_decode(0xc0, NULL, 0, &p), 0);
	ASSERT_EQ(p.type, MQTT_PINGREQ);
}

TEST(encode_connect_as_node)
{
	uint8_t		 out[64], want[64];
	size_t		 wlen = 0, k;
	const char	*id = "MQTT_ADMIN_1795997633946";
	int		 n;

	put_hex(want, &wlen, "10 24 00 04 4d 51 54 54 04 02 00 00 00 18");
	put_str(want, &wlen, id);
	n = mqtt_encode_connect(out, sizeof(out), id, strlen(id), 0);
	ASSERT_MEM_EQ(out, (size_t)n, want, wlen);
	ASSERT_LE((size_t)n, MQTT_CONNECT_MAX(strlen(id)));

	wlen = 0;
	id = "MQTT_RPC_1795997641660";
	put_hex(want, &wlen, "10 22 00 04 4d 51 54 54 04 02 00 00 00 16");
	put_str(want, &wlen, id);
	n = mqtt_encode_connect(out, sizeof(out), id, strlen(id), 0);
	ASSERT_MEM_EQ(out, (size_t)n, want, wlen);

	/* Every shorter buffer is refused. */
	for (k = 0; k < wlen; k++) {
		ASSERT_EQ(mqtt_encode_connect(out, k, id, strlen(id), 0),
		    -ENOBUFS);
	}
	/* A keepalive, and an id too long for its 2-byte length. */
	n = mqtt_encode_connect(out, sizeof(out), "x", 1, 0x1234);
	ASSERT_EQ(n, 15);
	ASSERT_MEM_EQ(out + 10, 2, "\x12\x34", 2);
	ASSERT_EQ(mqtt_encode_connect(out, sizeof(out), id, 65536, 0),
	    -EINVAL);
}

TEST(encode_connack_pings_disconnect)
{
	uint8_t	 out[8];

	ASSERT_EQ(mqtt_encode_connack(out, sizeof(out), false, 0), 4);
	ASSERT_MEM_EQ(out, 4, "\x20\x02\x00\x00", 4);
	ASSERT_EQ(mqtt_encode_connack(out, sizeof(out), true, 5), 4);
	ASSERT_MEM_EQ(out, 4, "\x20\x02\x01\x05", 4);
	ASSERT_EQ(mqtt_encode_connack(out, 3, false, 0), -ENOBUFS);
	ASSERT_EQ(mqtt_encode_pingreq(out, sizeof(out)), 2);
	ASSERT_MEM_EQ(out, 2, "\xc0\x00", 2);
	ASSERT_EQ(mqtt_encode_pingresp(out, sizeof(out)), 2);
	ASSERT_MEM_EQ(out, 2, "\xd0\x00", 2);
	ASSERT_EQ(mqtt_encode_disconnect(out, sizeof(out)), 2);
	ASSERT_MEM_EQ(out, 2, "\xe0\x00", 2);
	ASSERT_EQ(mqtt_encode_pingreq(out, 1), -ENOBUFS);
	ASSERT_EQ(mqtt_encode_pingresp(out, 0), -ENOBUFS);
	ASSERT_EQ(mqtt_encode_disconnect(out, 1), -ENOBUFS);
}

TEST(encode_publish_as_node)
{
	uint8_t		 out[512], want[512], head[MQTT_PUBLISH_HEAD_MAX(8)];
	const char	*reply = "{\"code\":1,\"msg\":\"ok\"}";
	size_t		 wlen = 0, k;
	int		 n, h;

	put_hex(want, &wlen, "30 1f 00 08 72 65 67 69 73 74 65 72");
	put_str(want, &wlen, reply);
	n = mqtt_encode_publish(out, sizeof(out), "register", 8, reply,
	    strlen(reply));
	ASSERT_MEM_EQ(out, (size_t)n, want, wlen);

	/* The head alone, then the payload from elsewhere: same bytes. */
	h = mqtt_encode_publish_head(head, sizeof(head), "register", 8,
	    strlen(reply));
	ASSERT_EQ(h, 12);
	ASSERT_MEM_EQ(head, (size_t)h, want, 12);

	/* The forward: a 2-byte remaining length (e0 02). */
	wlen = 0;
	put_hex(want, &wlen, "30 e0 02 00 03 72 70 63");
	put_str(want, &wlen, rpc_forward_payload);
	n = mqtt_encode_publish(out, sizeof(out), "rpc", 3,
	    rpc_forward_payload, strlen(rpc_forward_payload));
	ASSERT_MEM_EQ(out, (size_t)n, want, wlen);
	for (k = 0; k < wlen; k++) {
		ASSERT_EQ(mqtt_encode_publish(out, k, "rpc", 3,
		    rpc_forward_payload, strlen(rpc_forward_payload)),
		    -ENOBUFS);
	}
	for (k = 0; k < 8; k++) {
		ASSERT_EQ(mqtt_encode_publish_head(out, k, "rpc", 3,
		    strlen(rpc_forward_payload)), -ENOBUFS);
	}

	/* An empty payload; bad topics; a payload beyond the protocol. */
	ASSERT_EQ(mqtt_encode_publish(out, sizeof(out), "t", 1, NULL, 0), 5);
	ASSERT_MEM_EQ(out, 5, "\x30\x03\x00\x01t", 5);
	ASSERT_EQ(mqtt_encode_publish(out, sizeof(out), "", 0, "x", 1),
	    -EINVAL);
	ASSERT_EQ(mqtt_encode_publish_head(out, sizeof(out), "rpc", 65536, 1),
	    -EINVAL);
	ASSERT_EQ(mqtt_encode_publish_head(out, sizeof(out), "rpc", 3,
	    MQTT_REMAINING_MAX - 4), -EMSGSIZE);
	h = mqtt_encode_publish_head(out, sizeof(out), "rpc", 3,
	    MQTT_REMAINING_MAX - 5);
	ASSERT_EQ(h, 10);
	ASSERT_MEM_EQ(out, 5, "\x30\xff\xff\xff\x7f", 5);
}

TEST(encoded_packets_read_back)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[256];
	size_t			 len = 0;

	len += (size_t)mqtt_encode_connect(buf + len, sizeof(buf) - len, "me",
	    2, 0);
	len += (size_t)mqtt_encode_connack(buf + len, sizeof(buf) - len,
	    false, 0);
	len += (size_t)mqtt_encode_publish(buf + len, sizeof(buf) - len,
	    "monitor", 7, "\"x\"", 3);
	len += (size_t)mqtt_encode_pingreq(buf + len, sizeof(buf) - len);
	len += (size_t)mqtt_encode_pingresp(buf + len, sizeof(buf) - len);
	len += (size_t)mqtt_encode_disconnect(buf + len, sizeof(buf) - len);
	mqtt_reader_init(&r, 256);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, len, collect, &s), 0);
	ASSERT_EQ(s.n, 6);
	ASSERT_STR_EQ(s.p[0].client_id, "me");
	ASSERT_EQ(s.p[1].type, MQTT_CONNACK);
	ASSERT_STR_EQ(s.p[2].topic, "monitor");
	ASSERT_STR_EQ((char *)s.p[2].payload, "\"x\"");
	ASSERT_EQ(s.p[3].type, MQTT_PINGREQ);
	ASSERT_EQ(s.p[4].type, MQTT_PINGRESP);
	ASSERT_EQ(s.p[5].type, MQTT_DISCONNECT);
	mqtt_reader_finish(&r);
	seen_reset(&s);
}

TEST(names_and_topics)
{
	struct mqtt_packet	 p;

	ASSERT_STR_EQ(mqtt_type_name(MQTT_CONNECT), "CONNECT");
	ASSERT_STR_EQ(mqtt_type_name(MQTT_DISCONNECT), "DISCONNECT");
	ASSERT_STR_EQ(mqtt_type_name(0), "RESERVED");
	ASSERT_STR_EQ(mqtt_type_name(15), "RESERVED");
	ASSERT_EQ(mqtt_decode(0x30, (const uint8_t *)"\x00\x03rpc{}", 7, &p),
	    0);
	ASSERT_TRUE(mqtt_topic_is(&p, "rpc"));
	ASSERT_TRUE(!mqtt_topic_is(&p, "rp"));
	ASSERT_TRUE(!mqtt_topic_is(&p, "rpcx"));
	ASSERT_EQ(p.publish.payload_len, 2);
	ASSERT_EQ(mqtt_decode(0xc0, NULL, 0, &p), 0);
	ASSERT_TRUE(!mqtt_topic_is(&p, "rpc"));
}

TEST(finish_frees_partial_and_accepts_null)
{
	struct mqtt_reader	 r;
	struct seen		 s = { 0 };
	uint8_t			 buf[1024];
	size_t			 len = make_stream(buf);

	mqtt_reader_init(&r, 65536);
	ASSERT_EQ(mqtt_reader_feed(&r, buf, 10, collect, &s), 0);
	ASSERT_TRUE(mqtt_reader_pending(&r));
	ASSERT_TRUE(r.body.partial != NULL);
	mqtt_reader_finish(&r);
	ASSERT_TRUE(r.body.partial == NULL);
	ASSERT_TRUE(!mqtt_reader_pending(&r));
	mqtt_reader_finish(&r);
	mqtt_reader_finish(NULL);
	(void)len;
}

int
main(void)
{
	RUN(captured_stream_whole_zero_copy);
	RUN(captured_stream_split_in_two_everywhere);
	RUN(captured_stream_split_in_three);
	RUN(captured_stream_byte_at_a_time_and_random_chunks);
	RUN(header_split_then_whole_body_in_place);
	RUN(large_body_grows_with_input);
	RUN(callback_stops_feed_reader_stays_usable);
	RUN(types_outside_the_subset_refused_on_first_byte);
	RUN(remaining_length_varint);
	RUN(malformed_remaining_length_in_stream);
	RUN(oversize_refused_on_header);
	RUN(malformed_bodies);
	RUN(connect_variants);
	RUN(encode_connect_as_node);
	RUN(encode_connack_pings_disconnect);
	RUN(encode_publish_as_node);
	RUN(encoded_packets_read_back);
	RUN(names_and_topics);
	RUN(finish_frees_partial_and_accepts_null);
	TEST_DONE();
}
