/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the package framer and the message codec. The
 * input is [max_body][stop_at] then chunks, each a size byte and that many
 * stream bytes. The stream is fed to one reader chunk by chunk, each chunk
 * in a buffer of its exact size so that ASan sees any read past it, and to
 * a second reader in one piece: both must deliver the same packages and
 * end the same way. Every DATA body goes through msg_decode(); a decoded
 * head is encoded again and must decode to the same fields, and to the
 * same bytes when the original was in canonical form.
 */

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/message.h"
#include "common/package.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

struct run {
	size_t		 max_body;
	int		 stop_at;	/* return 1 on this package; 0: never */
	int		 n;
	uint64_t	 hash;		/* of every type, length and body */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t
mix(uint64_t h, const uint8_t *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	return h;
}

static void
check_message(const uint8_t *body, size_t len)
{
	uint8_t		 head[MSG_HEAD_MAX], vbuf[VARINT_MAX], *again;
	struct msg	 m, m2;
	size_t		 hlen, olen;
	uint32_t	 v;

	if (msg_decode(body, len, &m) != 0) {
		return;
	}
	CHECK(m.type <= MSG_PUSH);
	CHECK(m.body >= body && m.body + m.body_len == body + len);
	if (m.route != NULL) {
		CHECK((const uint8_t *)m.route >= body &&
		    (const uint8_t *)m.route + m.route_len <= m.body);
		CHECK(!m.compressed);
	}
	CHECK(!m.compressed || m.code > 0);

	if (m.type == MSG_REQUEST || m.type == MSG_RESPONSE) {
		CHECK(varint_decode(vbuf, (size_t)varint_encode(vbuf, m.id),
		    &v) > 0 && v == m.id);
	}

	hlen = msg_encode_head(head, m.type, m.id, m.route, m.route_len,
	    m.compressed ? m.code : 0);
	CHECK(hlen <= MSG_HEAD_MAX);
	again = malloc(hlen + m.body_len + 1);
	CHECK(again != NULL);
	memcpy(again, head, hlen);
	if (m.body_len > 0) {
		memcpy(again + hlen, m.body, m.body_len);
	}
	CHECK(msg_decode(again, hlen + m.body_len, &m2) == 0);
	CHECK(m2.type == m.type);
	CHECK(m2.id == m.id);
	CHECK(m2.compressed == m.compressed);
	CHECK(m2.code == m.code);
	CHECK((m2.route == NULL) == (m.route == NULL));
	CHECK(m2.route_len == m.route_len);
	CHECK(m.route_len == 0 ||
	    memcmp(m2.route, m.route, m.route_len) == 0);
	CHECK(m2.body_len == m.body_len);
	CHECK(m.body_len == 0 || memcmp(m2.body, m.body, m.body_len) == 0);

	/*
	 * A canonical head (minimal varint, no extra flag bits) comes out
	 * byte for byte; any other form only gets shorter.
	 */
	olen = len - m.body_len;
	CHECK(hlen <= olen);
	if (m2.flag == m.flag && hlen == olen) {
		CHECK(memcmp(head, body, hlen) == 0);
	}
	free(again);
}

static int
on_package(void *arg, int type, const uint8_t *body, size_t len)
{
	struct run	*r = arg;
	uint8_t		 t = (uint8_t)type;
	uint8_t		 l[4];

	CHECK(type >= PKG_HANDSHAKE && type <= PKG_KICK);
	CHECK(len <= r->max_body);
	CHECK(body != NULL || len == 0);
	pkg_head_encode(l, (enum pkg_type)type, len);
	r->hash = mix(r->hash, &t, 1);
	r->hash = mix(r->hash, l, sizeof(l));
	r->hash = mix(r->hash, body, len);
	r->n++;
	if (type == PKG_DATA) {
		check_message(body, len);
	}
	return r->n == r->stop_at ? 1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkg_reader	 rd;
	struct run		 a, b;
	uint8_t			*stream, *chunk;
	size_t			*cuts, n_cuts = 0, slen = 0, pos, c, i;
	int			 rc_a = 0, rc_b, pending_a, pending_b;

	if (size < 2) {
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.max_body = data[0] == 0xff ? PKG_MAX_BODY : (size_t)data[0] * 8;
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

	pkg_reader_init(&rd, a.max_body);
	for (pos = 0, i = 0; i < n_cuts && rc_a == 0; i++) {
		chunk = malloc(cuts[i] + 1);
		CHECK(chunk != NULL);
		memcpy(chunk, stream + pos, cuts[i]);
		rc_a = pkg_reader_feed(&rd, chunk, cuts[i], on_package, &a);
		free(chunk);
		pos += cuts[i];
	}
	pending_a = pkg_reader_pending(&rd);
	pkg_reader_finish(&rd);

	pkg_reader_init(&rd, b.max_body);
	rc_b = pkg_reader_feed(&rd, stream, slen, on_package, &b);
	pending_b = pkg_reader_pending(&rd);
	pkg_reader_finish(&rd);

	/* Chunking changes nothing that is delivered, nor how it ends. */
	CHECK(rc_a == rc_b);
	CHECK(a.n == b.n);
	CHECK(a.hash == b.hash);
	CHECK(rc_a != 0 || pending_a == pending_b);

	free(stream);
	free(cuts);
	return 0;
}
