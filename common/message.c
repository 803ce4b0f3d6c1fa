/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The Pomelo message codec (PROTOCOL.md §4): base-128 varints for message
 * ids, and the head of a DATA package body (flag, id, route) in both
 * directions. Decoding never copies: a decoded message points into the
 * buffer it came from. Bits of the flag byte that the server does not act
 * on (gzip, pitaya's error bit) are kept in <flag> and otherwise ignored,
 * as pomelo does.
 */

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/message.h"

static bool	msg_has_id(enum msg_type);
static bool	msg_has_route(enum msg_type);

static bool
msg_has_id(enum msg_type type)
{
	return type == MSG_REQUEST || type == MSG_RESPONSE;
}

static bool
msg_has_route(enum msg_type type)
{
	return type == MSG_REQUEST || type == MSG_NOTIFY || type == MSG_PUSH;
}

int
varint_encode(uint8_t *out, uint32_t v)
{
	int	 n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int
varint_decode(const uint8_t *in, size_t len, uint32_t *ret)
{
	uint32_t	 v = 0;
	size_t		 i;

	for (i = 0; i < VARINT_MAX; i++) {
		if (i == len) {
			return -EAGAIN;
		}
		/*
		 * The 5th group holds bits 28-31: anything above 0x0f
		 * either overflows 32 bits or announces a 6th byte.
		 */
		if (i == VARINT_MAX - 1 && in[i] > 0x0f) {
			return -EOVERFLOW;
		}
		v |= (uint32_t)(in[i] & 0x7f) << (7 * i);
		if ((in[i] & 0x80) == 0) {
			*ret = v;
			return (int)i + 1;
		}
	}
	/* Not reached: the 5th byte either ends the varint or overflows. */
	return -EOVERFLOW;
}

int
msg_decode(const uint8_t *buf, size_t len, struct msg *ret)
{
	struct msg	 m;
	size_t		 pos = 1, rlen;
	int		 n;

	if (len < 1) {
		return -EBADMSG;
	}
	memset(&m, 0, sizeof(m));
	m.flag = buf[0];
	if (((m.flag & MSG_FLAG_TYPE_MASK) >> 1) > MSG_PUSH) {
		return -EBADMSG;
	}
	m.type = (enum msg_type)((m.flag & MSG_FLAG_TYPE_MASK) >> 1);

	if (msg_has_id(m.type)) {
		n = varint_decode(buf + pos, len - pos, &m.id);
		if (n < 0) {
			return -EBADMSG;
		}
		pos += (size_t)n;
	}

	if (msg_has_route(m.type)) {
		if (m.flag & MSG_FLAG_COMPRESS_ROUTE) {
			if (len - pos < 2) {
				return -EBADMSG;
			}
			m.compressed = true;
			m.code = (uint16_t)(buf[pos] << 8 | buf[pos + 1]);
			if (m.code == 0) {
				return -EBADMSG;
			}
			pos += 2;
		} else {
			if (len - pos < 1) {
				return -EBADMSG;
			}
			rlen = buf[pos++];
			if (len - pos < rlen) {
				return -EBADMSG;
			}
			m.route = (const char *)(buf + pos);
			m.route_len = rlen;
			pos += rlen;
		}
	}

	m.body = buf + pos;
	m.body_len = len - pos;
	*ret = m;
	return 0;
}

size_t
msg_encode_head(uint8_t *out, enum msg_type type, uint32_t id,
    const char *route, size_t route_len, uint16_t code)
{
	size_t	 pos = 1;

	assert(type >= MSG_REQUEST && type <= MSG_PUSH);
	out[0] = (uint8_t)(type << 1);
	if (msg_has_id(type)) {
		pos += (size_t)varint_encode(out + pos, id);
	}
	if (!msg_has_route(type)) {
		return pos;
	}
	if (code > 0) {
		out[0] |= MSG_FLAG_COMPRESS_ROUTE;
		out[pos++] = (uint8_t)(code >> 8);
		out[pos++] = (uint8_t)code;
		return pos;
	}
	assert(route_len <= MSG_ROUTE_MAX);
	assert(route != NULL || route_len == 0);
	out[pos++] = (uint8_t)route_len;
	if (route_len > 0) {
		memcpy(out + pos, route, route_len);
		pos += route_len;
	}
	return pos;
}
