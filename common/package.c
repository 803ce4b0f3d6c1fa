/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The Pomelo package framer (PROTOCOL.md §2). The reader is a two-state
 * machine: it collects the 4 header bytes, then the body. The header is
 * checked the moment its 4th byte arrives, so a bad type or an oversized
 * length is refused before any body byte is read or any memory is set
 * aside for it. A body found whole in the fed chunk is handed to the
 * callback in place; only a body split across chunks is copied, and its
 * buffer grows with the bytes received rather than with the length the
 * peer announced.
 */

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/package.h"

static int	pkg_deliver(struct pkg_reader *, const uint8_t *, uint8_t *,
		    pkg_cb, void *);

void
pkg_head_encode(uint8_t *out, enum pkg_type type, size_t len)
{
	assert(len <= PKG_MAX_BODY);
	out[0] = (uint8_t)type;
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

int
pkg_head_decode(const uint8_t *head, size_t max_body, int *ret_type,
    size_t *ret_len)
{
	size_t	 len;

	if (head[0] < PKG_HANDSHAKE || head[0] > PKG_KICK) {
		return -EPROTO;
	}
	len = (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
	if (len > max_body) {
		return -EMSGSIZE;
	}
	*ret_type = head[0];
	*ret_len = len;
	return 0;
}

int
pkg_decode_one(const uint8_t *data, size_t len, size_t max_body,
    int *ret_type, const uint8_t **ret_body, size_t *ret_len)
{
	size_t	 blen;
	int	 type, r;

	if (len < PKG_HEAD_LEN) {
		return -EBADMSG;
	}
	if ((r = pkg_head_decode(data, max_body, &type, &blen)) != 0) {
		return r;
	}
	if (blen != len - PKG_HEAD_LEN) {
		return -EBADMSG;
	}
	*ret_type = type;
	*ret_body = data + PKG_HEAD_LEN;
	*ret_len = blen;
	return 0;
}

void
pkg_reader_init(struct pkg_reader *r, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->max_body = max_body;
}

void
pkg_reader_finish(struct pkg_reader *r)
{
	if (r == NULL) {
		return;
	}
	body_finish(&r->body);
	r->head_have = 0;
}

int
pkg_reader_pending(const struct pkg_reader *r)
{
	return r->head_have > 0;
}

/*
 * Resets <r> for the next package, then passes it the finished <body>:
 * the reader is consistent whatever <cb> does, and a collected buffer
 * (<own>) is freed once <cb> returns.
 */
static int
pkg_deliver(struct pkg_reader *r, const uint8_t *body, uint8_t *own,
    pkg_cb cb, void *arg)
{
	int	 rc;

	r->head_have = 0;
	rc = cb(arg, r->type, body, r->body.len);
	free(own);
	return rc;
}

int
pkg_reader_feed(struct pkg_reader *r, const uint8_t *data, size_t len,
    pkg_cb cb, void *arg)
{
	const uint8_t	*body;
	uint8_t		*own;
	size_t		 n, blen;
	int		 rc, type;

	for (;;) {
		if (r->head_have < PKG_HEAD_LEN) {
			n = PKG_HEAD_LEN - r->head_have;
			if (n > len) {
				n = len;
			}
			memcpy(r->head + r->head_have, data, n);
			r->head_have += (uint8_t)n;
			data += n;
			len -= n;
			if (r->head_have < PKG_HEAD_LEN) {
				return 0;
			}
			if ((rc = pkg_head_decode(r->head, r->max_body,
			    &type, &blen)) != 0) {
				return rc;
			}
			r->type = (uint8_t)type;
			body_start(&r->body, (uint32_t)blen);
		}
		if ((body = body_take(&r->body, &data, &len, &own)) == NULL) {
			return 0;
		}
		if ((rc = pkg_deliver(r, body, own, cb, arg)) != 0) {
			return rc;
		}
		if (len == 0) {
			return 0;
		}
	}
}
