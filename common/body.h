/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The body of a length-prefixed frame (a Pomelo package, an MQTT packet)
 * collected from a byte stream, for the readers of package.c and mqtt.c:
 * a body found whole in a fed chunk is handed on in place; only a body
 * split across chunks is copied, into a buffer that grows with the bytes
 * received rather than with the length the peer announced.
 */

#ifndef COMMON_BODY_H
#define COMMON_BODY_H

#include <stddef.h>
#include <stdint.h>

struct body {
	uint32_t	 len;		/* the body's length */
	uint32_t	 have;		/* bytes collected in <partial> */
	uint32_t	 cap;		/* bytes allocated for <partial> */
	uint8_t		*partial;	/* only while a body straddles chunks */
};

void		 body_start(struct body *b, uint32_t len);
const uint8_t	*body_collect(struct body *b, const uint8_t **data,
		     size_t *len, uint8_t **ret_own);
void		 body_finish(struct body *b);

/*
 * Takes the body's next bytes from the <*len> at <*data>, moving both on.
 * Returns the whole body once it is there, NULL while more is needed:
 * in place in the data, or the collected buffer, which is then detached
 * and given in <*ret_own> for the caller to free once done with it (else
 * <*ret_own> is NULL). <b->len> keeps the body's length until the next
 * body_start(). Inline: a body in place is the common case of every
 * package a client sends.
 */
static inline const uint8_t *
body_take(struct body *b, const uint8_t **data, size_t *len,
    uint8_t **ret_own)
{
	const uint8_t	*whole = *data;

	if (b->have == 0 && *len >= b->len) {
		*ret_own = NULL;
		*data += b->len;
		*len -= b->len;
		return whole;
	}
	return body_collect(b, data, len, ret_own);
}

#endif
