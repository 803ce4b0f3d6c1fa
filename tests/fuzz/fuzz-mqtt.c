/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the MQTT stream reader. The input is
 * [max_len][stop_at] then chunks, each a size byte and that many stream
 * bytes. The stream is fed to one reader chunk by chunk, each chunk in a
 * buffer of its exact size so that ASan sees any read past it, and to a
 * second reader in one piece: both must deliver the same packets and end
 * the same way. Every packet must satisfy the views' invariants and
 * encode again (PUBLISH, CONNECT from Node, the empty packets) into bytes
 * that decode to the same fields; a dead reader must stay dead.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mqtt.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

struct run {
	size_t		 max_len;
	int		 stop_at;	/* return 1 on this packet; 0: never */
	int		 n;
	uint64_t	 hash;		/* of every first byte and body */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t
mix(uint64_t h, const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h = (h ^ b[i]) * 0x100000001b3ull;
	}
	return h;
}

/* A packet encoded again must decode to the same fields. */
static void
check_reencode(const struct mqtt_packet *p)
{
	struct mqtt_packet	 q;
	uint8_t			*buf;
	uint32_t		 rlen;
	size_t			 cap;
	int			 n, h;

	cap = MQTT_PUBLISH_HEAD_MAX(p->body_len) + p->body_len +
	    MQTT_CONNECT_MAX(p->body_len);
	buf = malloc(cap);
	CHECK(buf != NULL);
	n = -1;
	switch (p->type) {
	case MQTT_PUBLISH:
		n = mqtt_encode_publish(buf, cap, p->publish.topic,
		    p->publish.topic_len, p->publish.payload,
		    p->publish.payload_len);
		break;
	case MQTT_CONNECT:
		if (p->connect.level == 4 &&
		    p->connect.flags == MQTT_CONNECT_CLEAN) {
			n = mqtt_encode_connect(buf, cap, p->connect.client_id,
			    p->connect.client_id_len, p->connect.keepalive);
			CHECK(n > 0);
			/* Node's own form: the body comes out byte for byte. */
			h = 1 + mqtt_remaining_len_decode(buf + 1,
			    (size_t)n - 1, &rlen);
			CHECK(rlen == p->body_len);
			CHECK(memcmp(buf + h, p->body, p->body_len) == 0);
		}
		break;
	case MQTT_CONNACK:
		n = mqtt_encode_connack(buf, cap, p->connack.session_present,
		    p->connack.return_code);
		break;
	case MQTT_PINGREQ:
		n = mqtt_encode_pingreq(buf, cap);
		break;
	case MQTT_PINGRESP:
		n = mqtt_encode_pingresp(buf, cap);
		break;
	case MQTT_DISCONNECT:
		n = mqtt_encode_disconnect(buf, cap);
		break;
	default:
		CHECK(0);
	}
	if (n < 0) {
		free(buf);
		return;
	}
	h = mqtt_remaining_len_decode(buf + 1, (size_t)n - 1, &rlen);
	CHECK(h > 0 && (size_t)h + 1 + rlen == (size_t)n);
	CHECK(mqtt_decode(buf[0], buf + 1 + h, rlen, &q) == 0);
	CHECK(q.type == p->type);
	switch (p->type) {
	case MQTT_PUBLISH:
		CHECK(q.publish.topic_len == p->publish.topic_len);
		CHECK(memcmp(q.publish.topic, p->publish.topic,
		    p->publish.topic_len) == 0);
		CHECK(q.publish.payload_len == p->publish.payload_len);
		CHECK(p->publish.payload_len == 0 ||
		    memcmp(q.publish.payload, p->publish.payload,
		    p->publish.payload_len) == 0);
		CHECK(!q.publish.dup && !q.publish.retain);
		break;
	case MQTT_CONNECT:
		CHECK(q.connect.keepalive == p->connect.keepalive);
		CHECK(q.connect.client_id_len == p->connect.client_id_len);
		break;
	case MQTT_CONNACK:
		CHECK(q.connack.session_present == p->connack.session_present);
		CHECK(q.connack.return_code == p->connack.return_code);
		break;
	default:
		break;
	}
	free(buf);
}

static int
on_packet(void *arg, const struct mqtt_packet *p)
{
	struct run	*r = arg;
	uint8_t		 first = (uint8_t)(p->type << 4 | p->flags);

	CHECK(p->type == MQTT_CONNECT || p->type == MQTT_CONNACK ||
	    p->type == MQTT_PUBLISH || p->type == MQTT_PINGREQ ||
	    p->type == MQTT_PINGRESP || p->type == MQTT_DISCONNECT);
	CHECK(p->body_len <= r->max_len);
	CHECK(p->body != NULL || p->body_len == 0);
	switch (p->type) {
	case MQTT_PUBLISH:
		CHECK((p->flags & 0x06) == 0);
		CHECK(p->publish.topic_len > 0);
		CHECK((const uint8_t *)p->publish.topic == p->body + 2);
		CHECK(p->publish.payload + p->publish.payload_len ==
		    p->body + p->body_len);
		break;
	case MQTT_CONNECT:
		CHECK(p->flags == 0);
		CHECK((const uint8_t *)p->connect.client_id >= p->body &&
		    (const uint8_t *)p->connect.client_id +
		    p->connect.client_id_len <= p->body + p->body_len);
		CHECK(p->connect.level == 3 || p->connect.level == 4);
		break;
	case MQTT_CONNACK:
		CHECK(p->body_len == 2);
		break;
	default:
		CHECK(p->body_len == 0 && p->flags == 0);
		break;
	}
	check_reencode(p);
	r->hash = mix(r->hash, &first, 1);
	r->hash = mix(r->hash, &p->body_len, sizeof(p->body_len));
	if (p->body_len > 0) {
		r->hash = mix(r->hash, p->body, p->body_len);
	}
	r->n++;
	return r->n == r->stop_at ? 1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 ping[2] = { 0xc0, 0x00 };
	struct mqtt_reader	 rd;
	struct run		 a, b;
	uint8_t			*stream, *chunk;
	size_t			*cuts, n_cuts = 0, slen = 0, pos, c, i;
	int			 rc_a = 0, rc_b, pending_a, pending_b;

	if (size < 2) {
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.max_len = data[0] == 0xff ? MQTT_REMAINING_MAX : (size_t)data[0] * 8;
	a.stop_at = data[1] % 8;
	b = a;

	/* Split the rest into the stream and its chunk sizes. */
	stream = malloc(size);
	cuts = malloc(size * sizeof(*cuts));
	CHECK(stream != NULL && cuts != NULL);
	for (pos = 2; pos < size; pos += c) {
		c = data[pos++];
		if (c > size - pos) {
			c = size - pos;
		}
		memcpy(stream + slen, data + pos, c);
		slen += c;
		cuts[n_cuts++] = c;
	}

	mqtt_reader_init(&rd, a.max_len);
	for (pos = 0, i = 0; i < n_cuts && rc_a == 0; i++) {
		chunk = malloc(cuts[i] + 1);
		CHECK(chunk != NULL);
		memcpy(chunk, stream + pos, cuts[i]);
		rc_a = mqtt_reader_feed(&rd, chunk, cuts[i], on_packet, &a);
		free(chunk);
		pos += cuts[i];
	}
	pending_a = mqtt_reader_pending(&rd);
	if (rc_a < 0) {
		CHECK(rc_a == -EBADMSG || rc_a == -EPROTO ||
		    rc_a == -EMSGSIZE);
		/* Dead: the same error again, nothing delivered. */
		i = (size_t)a.n;
		CHECK(mqtt_reader_feed(&rd, ping, 2, on_packet, &a) == rc_a);
		CHECK((size_t)a.n == i);
	}
	mqtt_reader_finish(&rd);

	mqtt_reader_init(&rd, b.max_len);
	rc_b = mqtt_reader_feed(&rd, stream, slen, on_packet, &b);
	pending_b = mqtt_reader_pending(&rd);
	mqtt_reader_finish(&rd);

	/* Chunking changes nothing that is delivered, nor how it ends. */
	CHECK(rc_a == rc_b);
	CHECK(a.n == b.n);
	CHECK(a.hash == b.hash);
	CHECK(rc_a != 0 || pending_a == pending_b);

	free(stream);
	free(cuts);
	return 0;
}
