/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the message codec: varints (the table of PROTOCOL.md §4.2, the
 * 32-bit limit, truncation), the captured packages of §4.5 byte for byte,
 * round trips of every message type with string and coded routes, and
 * the malformed heads msg_decode must refuse.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/message.h"
#include "common/package.h"
#include "tests/unit/test.h"

#define ENTRY	"connector.entryHandler.entry"

struct varint_case {
	uint32_t	 v;
	const char	*bytes;
	size_t		 len;
};

static const struct varint_case varint_cases[] = {
	{ 0, "\x00", 1 },
	{ 1, "\x01", 1 },
	{ 127, "\x7f", 1 },
	{ 128, "\x80\x01", 2 },
	{ 200, "\xc8\x01", 2 },
	{ 300, "\xac\x02", 2 },
	{ 16383, "\xff\x7f", 2 },
	{ 16384, "\x80\x80\x01", 3 },
	{ 2097151, "\xff\xff\x7f", 3 },
	{ 2097152, "\x80\x80\x80\x01", 4 },
	{ 268435455, "\xff\xff\xff\x7f", 4 },
	{ 268435456, "\x80\x80\x80\x80\x01", 5 },
	{ 0xf0000000u, "\x80\x80\x80\x80\x0f", 5 },
	{ UINT32_MAX, "\xff\xff\xff\xff\x0f", 5 },
};

TEST(varint_table)
{
	const struct varint_case	*c;
	uint8_t				 out[VARINT_MAX];
	uint32_t			 v;
	size_t				 i;

	for (i = 0; i < sizeof(varint_cases) / sizeof(varint_cases[0]); i++) {
		c = &varint_cases[i];
		ASSERT_EQ(varint_encode(out, c->v), c->len);
		ASSERT_MEM_EQ(out, c->len, c->bytes, c->len);
		v = 12345;
		ASSERT_EQ(varint_decode((const uint8_t *)c->bytes, c->len, &v),
		    c->len);
		ASSERT_UEQ(v, c->v);
	}
}

TEST(varint_trailing_bytes)
{
	const uint8_t	 in[] = { 0xac, 0x02, 0x7b, 0x7d };
	uint32_t	 v = 0;

	/* Only the varint is consumed. */
	ASSERT_EQ(varint_decode(in, sizeof(in), &v), 2);
	ASSERT_UEQ(v, 300);
}

TEST(varint_truncated)
{
	const struct varint_case	*c;
	uint32_t			 v;
	size_t				 i, k;

	for (i = 0; i < sizeof(varint_cases) / sizeof(varint_cases[0]); i++) {
		c = &varint_cases[i];
		for (k = 0; k < c->len; k++) {
			v = 777;
			ASSERT_EQ(varint_decode((const uint8_t *)c->bytes, k,
			    &v), -EAGAIN);
			/* Untouched on failure. */
			ASSERT_UEQ(v, 777);
		}
	}
}

TEST(varint_overflow)
{
	uint32_t	 v = 777;

	/* 2^32: the 5th group has bit 4 set. */
	ASSERT_EQ(varint_decode((const uint8_t *)"\x80\x80\x80\x80\x10", 5,
	    &v), -EOVERFLOW);
	ASSERT_EQ(varint_decode((const uint8_t *)"\xff\xff\xff\xff\x7f", 5,
	    &v), -EOVERFLOW);
	/* A 5th byte that announces a 6th. */
	ASSERT_EQ(varint_decode((const uint8_t *)"\xff\xff\xff\xff\x8f\x00", 6,
	    &v), -EOVERFLOW);
	ASSERT_EQ(varint_decode((const uint8_t *)"\x80\x80\x80\x80\x80\x01", 6,
	    &v), -EOVERFLOW);
	/* Overflow is seen on the 5th byte, even with nothing after it. */
	ASSERT_EQ(varint_decode((const uint8_t *)"\x80\x80\x80\x80\x80", 5,
	    &v), -EOVERFLOW);
	ASSERT_UEQ(v, 777);
}

TEST(varint_overlong_in_range)
{
	uint32_t	 v = 777;

	/* Padded forms of small values are read as protobuf reads them. */
	ASSERT_EQ(varint_decode((const uint8_t *)"\x80\x00", 2, &v), 2);
	ASSERT_UEQ(v, 0);
	ASSERT_EQ(varint_decode((const uint8_t *)"\x81\x80\x80\x80\x00", 5,
	    &v), 5);
	ASSERT_UEQ(v, 1);
}

/*
 * Checks that <pkg> is one DATA package whose header announces exactly
 * its body, and that the body decodes into <m>.
 */
static int
decode_pkg(const uint8_t *pkg, size_t len, struct msg *m)
{
	size_t	 blen;

	if (len < PKG_HEAD_LEN || pkg[0] != PKG_DATA) {
		return -1;
	}
	blen = (size_t)pkg[1] << 16 | (size_t)pkg[2] << 8 | pkg[3];
	if (blen != len - PKG_HEAD_LEN) {
		return -2;
	}
	return msg_decode(pkg + PKG_HEAD_LEN, blen, m);
}

TEST(captured_request_string_route)
{
	static const char	 pkg[] = "\x04\x00\x00\x2f" "\x00" "\x01"
	    "\x1c" ENTRY "{\"name\":\"probe\"}";
	uint8_t			 head[MSG_HEAD_MAX];
	struct msg		 m;
	size_t			 n;

	ASSERT_EQ(decode_pkg((const uint8_t *)pkg, sizeof(pkg) - 1, &m), 0);
	ASSERT_EQ(m.type, MSG_REQUEST);
	ASSERT_EQ(m.flag, 0x00);
	ASSERT_UEQ(m.id, 1);
	ASSERT_TRUE(!m.compressed);
	ASSERT_EQ(m.code, 0);
	ASSERT_MEM_EQ(m.route, m.route_len, ENTRY, strlen(ENTRY));
	ASSERT_MEM_EQ(m.body, m.body_len, "{\"name\":\"probe\"}", 16);

	n = msg_encode_head(head, MSG_REQUEST, 1, ENTRY, strlen(ENTRY), 0);
	ASSERT_MEM_EQ(head, n, pkg + 4, 3 + strlen(ENTRY));
}

TEST(captured_responses)
{
	static const char	 ok[] =
	    "{\"code\":200,\"msg\":\"game server is ok.\"}";
	static const char	 r1[] = "\x04\x00\x00\x29" "\x04" "\x01"
	    "{\"code\":200,\"msg\":\"game server is ok.\"}";
	static const char	 r300[] = "\x04\x00\x00\x2a" "\x04" "\xac\x02"
	    "{\"code\":200,\"msg\":\"game server is ok.\"}";
	static const char	 r2[] = "\x04\x00\x00\x0e" "\x04" "\x02"
	    "{\"code\":500}";
	static const char	 kick[] = "\x04\x00\x00\x1f" "\x04" "\xc8\x01"
	    "{\"code\":200,\"willKick\":true}";
	uint8_t			 head[MSG_HEAD_MAX];
	struct msg		 m;
	size_t			 n;

	ASSERT_EQ(decode_pkg((const uint8_t *)r1, sizeof(r1) - 1, &m), 0);
	ASSERT_EQ(m.type, MSG_RESPONSE);
	ASSERT_UEQ(m.id, 1);
	ASSERT_TRUE(m.route == NULL);
	ASSERT_EQ(m.route_len, 0);
	ASSERT_MEM_EQ(m.body, m.body_len, ok, strlen(ok));
	/* A response head carries no route, whatever is passed. */
	n = msg_encode_head(head, MSG_RESPONSE, 1, ENTRY, strlen(ENTRY), 1);
	ASSERT_MEM_EQ(head, n, "\x04\x01", 2);

	ASSERT_EQ(decode_pkg((const uint8_t *)r300, sizeof(r300) - 1, &m), 0);
	ASSERT_EQ(m.type, MSG_RESPONSE);
	ASSERT_UEQ(m.id, 300);
	ASSERT_MEM_EQ(m.body, m.body_len, ok, strlen(ok));
	n = msg_encode_head(head, MSG_RESPONSE, 300, NULL, 0, 0);
	ASSERT_MEM_EQ(head, n, "\x04\xac\x02", 3);

	ASSERT_EQ(decode_pkg((const uint8_t *)r2, sizeof(r2) - 1, &m), 0);
	ASSERT_UEQ(m.id, 2);
	ASSERT_MEM_EQ(m.body, m.body_len, "{\"code\":500}", 12);

	ASSERT_EQ(decode_pkg((const uint8_t *)kick, sizeof(kick) - 1, &m), 0);
	ASSERT_UEQ(m.id, 200);
	n = msg_encode_head(head, MSG_RESPONSE, 200, NULL, 0, 0);
	ASSERT_MEM_EQ(head, n, "\x04\xc8\x01", 3);
}

TEST(captured_request_code)
{
	static const char	 pkg[] = "\x04\x00\x00\x07"
	    "\x01\xac\x02\x00\x01\x7b\x7d";
	uint8_t			 head[MSG_HEAD_MAX];
	struct msg		 m;
	size_t			 n;

	ASSERT_EQ(decode_pkg((const uint8_t *)pkg, sizeof(pkg) - 1, &m), 0);
	ASSERT_EQ(m.type, MSG_REQUEST);
	ASSERT_UEQ(m.id, 300);
	ASSERT_TRUE(m.compressed);
	ASSERT_EQ(m.code, 1);
	ASSERT_TRUE(m.route == NULL);
	ASSERT_MEM_EQ(m.body, m.body_len, "{}", 2);

	n = msg_encode_head(head, MSG_REQUEST, 300, NULL, 0, 1);
	ASSERT_MEM_EQ(head, n, "\x01\xac\x02\x00\x01", 5);
}

TEST(captured_notify_and_others)
{
	static const char	 notify[] = "\x04\x00\x00\x25" "\x02"
	    "\x1c" ENTRY "{\"n\":1}";
	static const char	 nope[] = "\x04\x00\x00\x20" "\x00" "\x02"
	    "\x1b" "connector.entryHandler.nope" "{}";
	static const char	 push[] = "\x06\x06" "onPush"
	    "{\"hello\":\"world\"}";
	uint8_t			 head[MSG_HEAD_MAX];
	struct msg		 m;
	size_t			 n;

	ASSERT_EQ(decode_pkg((const uint8_t *)notify, sizeof(notify) - 1,
	    &m), 0);
	ASSERT_EQ(m.type, MSG_NOTIFY);
	ASSERT_UEQ(m.id, 0);
	ASSERT_MEM_EQ(m.route, m.route_len, ENTRY, strlen(ENTRY));
	ASSERT_MEM_EQ(m.body, m.body_len, "{\"n\":1}", 7);
	/* The id is not written for a notify. */
	n = msg_encode_head(head, MSG_NOTIFY, 99, ENTRY, strlen(ENTRY), 0);
	ASSERT_MEM_EQ(head, n, notify + 4, 2 + strlen(ENTRY));

	ASSERT_EQ(decode_pkg((const uint8_t *)nope, sizeof(nope) - 1, &m), 0);
	ASSERT_UEQ(m.id, 2);
	ASSERT_MEM_EQ(m.route, m.route_len, "connector.entryHandler.nope", 27);
	ASSERT_MEM_EQ(m.body, m.body_len, "{}", 2);

	ASSERT_EQ(msg_decode((const uint8_t *)push, sizeof(push) - 1, &m), 0);
	ASSERT_EQ(m.type, MSG_PUSH);
	ASSERT_MEM_EQ(m.route, m.route_len, "onPush", 6);
	n = msg_encode_head(head, MSG_PUSH, 0, "onPush", 6, 0);
	ASSERT_MEM_EQ(head, n, "\x06\x06onPush", 8);
	n = msg_encode_head(head, MSG_PUSH, 0, "onPush", 6, 0x1234);
	ASSERT_MEM_EQ(head, n, "\x07\x12\x34", 3);
}

/* Encodes one head, appends a body, decodes, and compares every field. */
static bool
round_trip_one(enum msg_type t, uint32_t id, const char *route,
    uint16_t code)
{
	static const char	 body[] = "{\"k\":[1,2,3]}";
	uint8_t			 buf[MSG_HEAD_MAX + sizeof(body)];
	struct msg		 m;
	size_t			 n, rlen = strlen(route);
	bool			 has_id, has_route;

	has_id = t == MSG_REQUEST || t == MSG_RESPONSE;
	has_route = t != MSG_RESPONSE;
	n = msg_encode_head(buf, t, id, route, rlen, code);
	if (n > MSG_HEAD_MAX) {
		return false;
	}
	memcpy(buf + n, body, sizeof(body) - 1);
	if (msg_decode(buf, n + sizeof(body) - 1, &m) != 0) {
		return false;
	}
	if (m.type != t || (m.flag >> 1) != (int)t ||
	    m.id != (has_id ? id : 0) || m.body_len != sizeof(body) - 1 ||
	    memcmp(m.body, body, m.body_len) != 0) {
		return false;
	}
	if (!has_route) {
		return m.route == NULL && !m.compressed && m.code == 0 &&
		    (m.flag & MSG_FLAG_COMPRESS_ROUTE) == 0;
	}
	if (code > 0) {
		return m.compressed && m.code == code && m.route == NULL &&
		    (m.flag & MSG_FLAG_COMPRESS_ROUTE) != 0;
	}
	return !m.compressed && m.code == 0 && m.route != NULL &&
	    m.route_len == rlen && memcmp(m.route, route, rlen) == 0;
}

TEST(round_trips)
{
	static const uint32_t	 ids[] = { 0, 1, 127, 128, 300, 16384,
	    UINT32_MAX };
	static const char	*routes[] = { "", "a", ENTRY };
	static const uint16_t	 codes[] = { 0, 1, 255, 256, 65535 };
	size_t			 ti, ii, ri, ci;
	enum msg_type		 t;

	for (ti = 0; ti < 4; ti++) {
		t = (enum msg_type)ti;
		for (ii = 0; ii < sizeof(ids) / sizeof(ids[0]); ii++) {
			for (ri = 0; ri < 3; ri++) {
				for (ci = 0; ci < sizeof(codes) /
				    sizeof(codes[0]); ci++) {
					if (!round_trip_one(t, ids[ii],
					    routes[ri], codes[ci])) {
						TEST_FAIL_AT("type %d id %u "
						    "route \"%s\" code %u",
						    (int)t, ids[ii], routes[ri],
						    (unsigned)codes[ci]);
						return;
					}
				}
			}
		}
	}
}

TEST(longest_head)
{
	char		 route[MSG_ROUTE_MAX];
	uint8_t		 buf[MSG_HEAD_MAX];
	struct msg	 m;
	size_t		 n;

	memset(route, 'r', sizeof(route));
	n = msg_encode_head(buf, MSG_REQUEST, UINT32_MAX, route,
	    sizeof(route), 0);
	ASSERT_EQ(n, MSG_HEAD_MAX);
	ASSERT_EQ(msg_decode(buf, n, &m), 0);
	ASSERT_UEQ(m.id, UINT32_MAX);
	ASSERT_EQ(m.route_len, MSG_ROUTE_MAX);
	ASSERT_EQ(m.body_len, 0);
}

TEST(empty_route_and_body)
{
	struct msg	 m;

	ASSERT_EQ(msg_decode((const uint8_t *)"\x02\x00", 2, &m), 0);
	ASSERT_EQ(m.type, MSG_NOTIFY);
	ASSERT_TRUE(m.route != NULL);
	ASSERT_EQ(m.route_len, 0);
	ASSERT_EQ(m.body_len, 0);

	ASSERT_EQ(msg_decode((const uint8_t *)"\x04\x05", 2, &m), 0);
	ASSERT_EQ(m.type, MSG_RESPONSE);
	ASSERT_UEQ(m.id, 5);
	ASSERT_EQ(m.body_len, 0);
}

TEST(flag_bits_kept)
{
	struct msg	 m;

	/* A response with the compress bit: no route, bit ignored. */
	ASSERT_EQ(msg_decode((const uint8_t *)"\x05\x01{}", 4, &m), 0);
	ASSERT_EQ(m.type, MSG_RESPONSE);
	ASSERT_TRUE(!m.compressed);
	ASSERT_MEM_EQ(m.body, m.body_len, "{}", 2);
	ASSERT_EQ(m.flag, 0x05);

	/* The gzip bit and the unused high bits survive in <flag>. */
	ASSERT_EQ(msg_decode((const uint8_t *)"\xd3\x00\x07{}", 5, &m), 0);
	ASSERT_EQ(m.type, MSG_NOTIFY);
	ASSERT_EQ(m.flag, 0xd3);
	ASSERT_EQ(m.flag & MSG_FLAG_COMPRESS_GZIP, MSG_FLAG_COMPRESS_GZIP);
	ASSERT_EQ(m.code, 7);
}

TEST(decode_errors)
{
	static const struct {
		const char	*in;
		size_t		 len;
	} bad[] = {
		{ "", 0 },			/* nothing */
		{ "\x08\x01{}", 4 },		/* type 4 */
		{ "\x0a", 1 },			/* type 5 */
		{ "\x0c\x00", 2 },		/* type 6 */
		{ "\x0f\x00\x01", 3 },		/* type 7 */
		{ "\x00", 1 },			/* request without id */
		{ "\x00\x80", 2 },		/* truncated id */
		{ "\x04\xff\xff\xff\xff\x1f", 6 },	/* id over 2^32-1 */
		{ "\x00\x01", 2 },		/* no route length */
		{ "\x00\x01\x05" "abcd", 7 },	/* route runs past the end */
		{ "\x02", 1 },			/* notify, no route */
		{ "\x03\x01", 2 },		/* half a route code */
		{ "\x01\x01\x00\x00{}", 6 },	/* route code 0 */
		{ "\x07\x00\x00", 3 },		/* push, route code 0 */
	};
	struct msg	 m, before;
	size_t		 i;

	memset(&before, 0xa5, sizeof(before));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(&m, &before, sizeof(m));
		if (msg_decode((const uint8_t *)bad[i].in, bad[i].len, &m) !=
		    -EBADMSG) {
			TEST_FAIL_AT("case %zu decoded", i);
			return;
		}
		/* Untouched on failure. */
		ASSERT_TRUE(memcmp(&m, &before, sizeof(m)) == 0);
	}
}

int
main(void)
{
	RUN(varint_table);
	RUN(varint_trailing_bytes);
	RUN(varint_truncated);
	RUN(varint_overflow);
	RUN(varint_overlong_in_range);
	RUN(captured_request_string_route);
	RUN(captured_responses);
	RUN(captured_request_code);
	RUN(captured_notify_and_others);
	RUN(round_trips);
	RUN(longest_head);
	RUN(empty_route_and_body);
	RUN(flag_bits_kept);
	RUN(decode_errors);
	TEST_DONE();
}
