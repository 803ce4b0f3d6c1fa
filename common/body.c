/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A frame's body collected from a stream (body.h).
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/body.h"
#include "common/xmalloc.h"

/* The first allocation for a split body; later ones double. */
#define BODY_PARTIAL_MIN	4096

/* A body of <len> bytes comes next (<b> holds no other). */
void
body_start(struct body *b, uint32_t len)
{
	b->len = len;
	b->have = 0;
}

/* body_take() when the body is not all in place: it is collected. */
const uint8_t *
body_collect(struct body *b, const uint8_t **data, size_t *len,
    uint8_t **ret_own)
{
	size_t	 n = b->len - b->have, cap;

	*ret_own = NULL;
	if (n > *len) {
		n = *len;
	}
	if (n == 0) {
		return NULL;
	}
	if (b->have + n > b->cap) {
		cap = b->cap != 0 ? (size_t)b->cap * 2 : BODY_PARTIAL_MIN;
		if (cap < b->have + n) {
			cap = b->have + n;
		}
		if (cap > b->len) {
			cap = b->len;
		}
		b->partial = xrealloc(b->partial, cap);
		b->cap = (uint32_t)cap;
	}
	memcpy(b->partial + b->have, *data, n);
	b->have += (uint32_t)n;
	*data += n;
	*len -= n;
	if (b->have < b->len) {
		return NULL;
	}
	*ret_own = b->partial;
	b->partial = NULL;
	b->have = 0;
	b->cap = 0;
	return *ret_own;
}

/* Frees a body being collected; <b> may be NULL. */
void
body_finish(struct body *b)
{
	if (b == NULL) {
		return;
	}
	FREE_AND_NULL(b->partial);
	b->len = 0;
	b->have = 0;
	b->cap = 0;
}
