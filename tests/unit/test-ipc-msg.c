/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Control-channel payloads: every encoder's output decodes back to what
 * went in, and every decoder refuses a payload whose lengths do not add
 * up (one byte short, one byte long, a length field that points past the
 * end), never reading past it.
 */

#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "tests/unit/test.h"

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

TEST(join_round_trip)
{
	struct ipc_join	 j, back;
	size_t		 len;
	char		*p;

	memset(&j, 0, sizeof j);
	j.session = (7ULL << 32) | 3;
	j.unique_uid = true;
	j.channel = "r1";
	j.channel_len = 2;
	j.uid = "ann*r1";
	j.uid_len = 6;
	j.leave_route = "onLeave";
	j.leave_route_len = 7;
	j.leave_body = "{}";
	j.leave_body_len = 2;
	p = ipc_join_encode(&j, &len);
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(ipc_join_decode(p, len, &back), 0);
	ASSERT_UEQ(back.session, j.session);
	ASSERT_TRUE(back.unique_uid);
	ASSERT_MEM_EQ(back.channel, back.channel_len, "r1", 2);
	ASSERT_MEM_EQ(back.uid, back.uid_len, "ann*r1", 6);
	ASSERT_MEM_EQ(back.leave_route, back.leave_route_len, "onLeave", 7);
	ASSERT_MEM_EQ(back.leave_body, back.leave_body_len, "{}", 2);
	ASSERT_EQ(ipc_join_decode(p, len - 1, &back), -EBADMSG);
	ASSERT_EQ(ipc_join_decode(p, len + 1, &back), -EBADMSG);
	/* A NUL in a name (the master would copy it as a C string). */
	p[sizeof(struct ipc_ch_join) + 1] = '\0';
	ASSERT_EQ(ipc_join_decode(p, len, &back), -EBADMSG);
	p[sizeof(struct ipc_ch_join) + 1] = '1';
	/* An empty channel name is no channel. */
	((struct ipc_ch_join *)(void *)p)->channel_len = 0;
	((struct ipc_ch_join *)(void *)p)->uid_len += 2;
	ASSERT_EQ(ipc_join_decode(p, len, &back), -EBADMSG);
	free(p);
	j.channel_len = 0;
	ASSERT_TRUE(ipc_join_encode(&j, &len) == NULL);
	j.channel_len = IPC_NAME_MAX + 1;
	ASSERT_TRUE(ipc_join_encode(&j, &len) == NULL);
}

TEST(joined_round_trip)
{
	const char	*uids[] = { "ann*r1", "", "bob*r1" };
	struct ipc_joined j;
	const char	*u;
	size_t		 len, ulen;
	uint8_t		*p;
	uint32_t	 huge = 1000;

	p = ipc_joined_encode(IPC_JOIN_OK, uids, 3, &len);
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(ipc_joined_decode(p, len, &j), 0);
	ASSERT_EQ(j.status, IPC_JOIN_OK);
	ASSERT_UEQ(j.n_uids, 3);
	ASSERT_TRUE(ipc_joined_next(&j, &u, &ulen));
	ASSERT_MEM_EQ(u, ulen, "ann*r1", 6);
	ASSERT_TRUE(ipc_joined_next(&j, &u, &ulen));
	ASSERT_UEQ(ulen, 0);
	ASSERT_TRUE(ipc_joined_next(&j, &u, &ulen));
	ASSERT_MEM_EQ(u, ulen, "bob*r1", 6);
	ASSERT_TRUE(!ipc_joined_next(&j, &u, &ulen));
	ASSERT_EQ(ipc_joined_decode(p, len - 1, &j), -EBADMSG);
	ASSERT_EQ(ipc_joined_decode(p, len + 1, &j), -EBADMSG);
	/* A uid length pointing past the end. */
	memcpy(p + sizeof(struct ipc_ch_joined), &huge, sizeof huge);
	ASSERT_EQ(ipc_joined_decode(p, len, &j), -EBADMSG);
	free(p);
	p = ipc_joined_encode(IPC_JOIN_DUPLICATE, NULL, 0, &len);
	ASSERT_EQ(ipc_joined_decode(p, len, &j), 0);
	ASSERT_EQ(j.status, IPC_JOIN_DUPLICATE);
	ASSERT_TRUE(!ipc_joined_next(&j, &u, &ulen));
	/* A status that does not exist. */
	((struct ipc_ch_joined *)(void *)p)->status = 99;
	ASSERT_EQ(ipc_joined_decode(p, len, &j), -EBADMSG);
	free(p);
}

TEST(kick_broadcast)
{
	struct ipc_kick_msg	 k;
	const char		*s, *b;
	size_t			 len, slen, blen;
	char			*p, r[129];

	p = ipc_kick_encode(0, "maintenance", "ann", 3, &len);
	ASSERT_EQ(ipc_kick_decode(p, len, &k), 0);
	ASSERT_UEQ(k.session, 0);
	ASSERT_STR_EQ(k.reason, "maintenance");
	ASSERT_MEM_EQ(k.uid, k.uid_len, "ann", 3);
	/* A reason without its NUL is ended by the decoder. */
	memset(((struct ipc_kick *)(void *)p)->reason, 'x', 128);
	ASSERT_EQ(ipc_kick_decode(p, len, &k), 0);
	ASSERT_UEQ(strlen(k.reason), 127);
	/* By uid without a uid: nothing to kick. */
	ASSERT_EQ(ipc_kick_decode(p, sizeof(struct ipc_kick), &k), -EBADMSG);
	ASSERT_EQ(ipc_kick_decode(p, 5, &k), -EBADMSG);
	free(p);
	p = ipc_kick_encode(42, "kick", NULL, 0, &len);
	ASSERT_EQ(ipc_kick_decode(p, len, &k), 0);
	ASSERT_UEQ(k.session, 42);
	ASSERT_UEQ(k.uid_len, 0);
	free(p);
	/* 127 bytes of reason fit; 128 do not. */
	memset(r, 'r', sizeof r);
	r[127] = '\0';
	p = ipc_kick_encode(1, r, NULL, 0, &len);
	ASSERT_TRUE(p != NULL);
	free(p);
	r[127] = 'r';
	r[128] = '\0';
	ASSERT_TRUE(ipc_kick_encode(1, r, NULL, 0, &len) == NULL);

	p = ipc_broadcast_encode("onNews", 6, "{\"n\":1}", 7, &len);
	ASSERT_EQ(ipc_broadcast_decode(p, len, &s, &slen, &b, &blen), 0);
	ASSERT_MEM_EQ(s, slen, "onNews", 6);
	ASSERT_MEM_EQ(b, blen, "{\"n\":1}", 7);
	ASSERT_EQ(ipc_broadcast_decode(p, len - 1, &s, &slen, &b, &blen),
	    -EBADMSG);
	((struct ipc_broadcast *)(void *)p)->route_len = 0;
	ASSERT_EQ(ipc_broadcast_decode(p, len, &s, &slen, &b, &blen),
	    -EBADMSG);
	free(p);
	ASSERT_TRUE(ipc_broadcast_encode("", 0, "1", 1, &len) == NULL);
}

TEST(session_records)
{
	struct ipc_session_view	 v, back;
	struct ipc_buf		 b;
	size_t			 off = 0;
	int			 i;

	memset(&b, 0, sizeof b);
	for (i = 0; i < 3; i++) {
		memset(&v, 0, sizeof v);
		v.id = (uint64_t)i + 1;
		v.age_ms = 1500;
		v.bytes_in = 10;
		v.bytes_out = 20;
		v.worker = i;
		v.uid = i == 1 ? NULL : "ann";
		v.uid_len = i == 1 ? 0 : 3;
		v.transport = "ws";
		v.transport_len = 2;
		v.state = "working";
		v.state_len = 7;
		v.peer = "127.0.0.1:5000";
		v.peer_len = 14;
		v.xprt = i == 2 ? "tls" : "plain";
		v.xprt_len = strlen(v.xprt);
		ipc_session_add(&b, &v);
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(ipc_session_next(b.data, b.len, &off, &back), 1);
		ASSERT_UEQ(back.id, (uint64_t)i + 1);
		ASSERT_EQ(back.worker, i);
		if (i == 1) {
			ASSERT_TRUE(back.uid == NULL);
		} else {
			ASSERT_MEM_EQ(back.uid, back.uid_len, "ann", 3);
		}
		ASSERT_MEM_EQ(back.state, back.state_len, "working", 7);
		ASSERT_MEM_EQ(back.peer, back.peer_len, "127.0.0.1:5000", 14);
		if (i == 2) {
			ASSERT_MEM_EQ(back.xprt, back.xprt_len, "tls", 3);
		} else {
			ASSERT_MEM_EQ(back.xprt, back.xprt_len, "plain", 5);
		}
	}
	ASSERT_EQ(ipc_session_next(b.data, b.len, &off, &back), 0);
	/* Cut anywhere inside the last record: refused, not read past. */
	off = 0;
	ASSERT_EQ(ipc_session_next(b.data, b.len - 1, &off, &back), 1);
	ASSERT_EQ(ipc_session_next(b.data, b.len - 1, &off, &back), 1);
	ASSERT_EQ(ipc_session_next(b.data, b.len - 1, &off, &back),
	    -EBADMSG);
	off = b.len + 1;
	ASSERT_EQ(ipc_session_next(b.data, b.len, &off, &back), -EBADMSG);
	ipc_buf_free(&b);
}

int
main(void)
{
	RUN(push_round_trip);
	RUN(join_round_trip);
	RUN(joined_round_trip);
	RUN(kick_broadcast);
	RUN(session_records);
	TEST_DONE();
}
