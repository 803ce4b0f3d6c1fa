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
#include "common/xmalloc.h"

/* The first allocation for a split body; later ones double. */
#define PKG_PARTIAL_MIN	4096

static int	pkg_deliver(struct pkg_reader *, const uint8_t *, pkg_cb,
		    void *);
static void	pkg_partial_append(struct pkg_reader *, const uint8_t *,
		    size_t);

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
	FREE_AND_NULL(r->partial);
	r->head_have = 0;
	r->have = 0;
	r->cap = 0;
	r->len = 0;
}

int
pkg_reader_pending(const struct pkg_reader *r)
{
	return r->head_have > 0;
}

/*
 * Resets <r> for the next package, then passes it the finished body. The
 * reader is reset first so that it is consistent whatever <cb> does; a
 * collected buffer is detached and freed once <cb> returns.
 */
static int
pkg_deliver(struct pkg_reader *r, const uint8_t *body, pkg_cb cb, void *arg)
{
	uint8_t		*own = r->partial;
	uint32_t	 len = r->len;
	int		 type = r->type;
	int		 rc;

	r->partial = NULL;
	r->head_have = 0;
	r->have = 0;
	r->cap = 0;
	r->len = 0;
	rc = cb(arg, type, own != NULL ? own : body, len);
	free(own);
	return rc;
}

static void
pkg_partial_append(struct pkg_reader *r, const uint8_t *data, size_t n)
{
	size_t	 need = (size_t)r->have + n, cap;

	if (need > r->cap) {
		cap = r->cap != 0 ? (size_t)r->cap * 2 : PKG_PARTIAL_MIN;
		if (cap < need) {
			cap = need;
		}
		if (cap > r->len) {
			cap = r->len;
		}
		r->partial = xrealloc(r->partial, cap);
		r->cap = (uint32_t)cap;
	}
	memcpy(r->partial + r->have, data, n);
	r->have += (uint32_t)n;
}

int
pkg_reader_feed(struct pkg_reader *r, const uint8_t *data, size_t len,
    pkg_cb cb, void *arg)
{
	size_t	 n, blen;
	int	 rc, type;

	while (len > 0) {
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
				break;
			}
			if ((rc = pkg_head_decode(r->head, r->max_body,
			    &type, &blen)) != 0) {
				return rc;
			}
			r->type = (uint8_t)type;
			r->len = (uint32_t)blen;
			r->have = 0;
			if (len >= r->len) {
				/* The whole body is here: no copy. */
				n = r->len;
				rc = pkg_deliver(r, data, cb, arg);
				data += n;
				len -= n;
				if (rc != 0) {
					return rc;
				}
			}
			continue;
		}

		n = r->len - r->have;
		if (r->have == 0 && len >= n) {
			/* Only the header came before: no copy either. */
			rc = pkg_deliver(r, data, cb, arg);
			data += n;
			len -= n;
			if (rc != 0) {
				return rc;
			}
			continue;
		}
		if (n > len) {
			n = len;
		}
		pkg_partial_append(r, data, n);
		data += n;
		len -= n;
		if (r->have == r->len) {
			rc = pkg_deliver(r, NULL, cb, arg);
			if (rc != 0) {
				return rc;
			}
		}
	}
	return 0;
}
