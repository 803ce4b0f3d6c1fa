/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Both crc32 flavours run one reflected CRC-32 step per byte, computed
 * bit by bit: route keys are a few dozen bytes, so a table buys nothing.
 * What differs is the byte sequence: Pomelo feeds the low byte of every
 * UTF-16 code unit, Pinus the UTF-8 encoding. Both start from the code
 * points of the key, decoded from UTF-8 the way the WHATWG decoder (and
 * Node's Buffer#toString) does, with U+FFFD for malformed input.
 */

#include "config.h"

#include <assert.h>
#include <stdlib.h>

#include "common/crc32.h"
#include "common/jsval.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

#define CRC32_POLY	0xedb88320u

static uint32_t	crc32_byte(uint32_t, uint8_t);
static void	crc32_utf16_low(void *, uint32_t);
static void	crc32_utf8(void *, uint32_t);

static uint32_t
crc32_byte(uint32_t crc, uint8_t b)
{
	int	 k;

	crc ^= b;
	for (k = 0; k < 8; k++) {
		crc = (crc >> 1) ^ (CRC32_POLY & (0u - (crc & 1u)));
	}
	return crc;
}

/* A code point as UTF-16 code units, of which crc@0.2.0 keeps the low byte. */
static void
crc32_utf16_low(void *arg, uint32_t cp)
{
	uint32_t	*crc = arg;

	if (cp < 0x10000u) {
		*crc = crc32_byte(*crc, (uint8_t)cp);
		return;
	}
	cp -= 0x10000u;
	*crc = crc32_byte(*crc, (uint8_t)(0xd800u + (cp >> 10)));
	*crc = crc32_byte(*crc, (uint8_t)(0xdc00u + (cp & 0x3ffu)));
}

static void
crc32_utf8(void *arg, uint32_t cp)
{
	uint32_t	*crc = arg;
	uint8_t		 b[4];
	size_t		 i, n = utf8_encode(b, cp);

	for (i = 0; i < n; i++) {
		*crc = crc32_byte(*crc, b[i]);
	}
}

int32_t
crc32_pomelo(const char *s, size_t len)
{
	uint32_t	 crc = 0xffffffffu;

	utf8_decode(s, len, crc32_utf16_low, &crc);
	/* JavaScript's `^` yields a signed 32-bit integer. */
	return (int32_t)(crc ^ 0xffffffffu);
}

uint32_t
crc32_pinus(const char *s, size_t len)
{
	uint32_t	 crc = 0xffffffffu;

	utf8_decode(s, len, crc32_utf8, &crc);
	return crc ^ 0xffffffffu;
}

size_t
crc32_route_index(enum flavour f, const char *key, size_t len, size_t n)
{
	int64_t	 v;

	assert(n > 0);
	if (f == FLAVOUR_PINUS) {
		return (size_t)(crc32_pinus(key, len) % n);
	}
	v = crc32_pomelo(key, len);
	return (size_t)((uint64_t)llabs(v) % n);
}

char *
crc32_route_key(const json_t *uid, size_t *ret_len)
{
	if (jsval_truthy(uid)) {
		return jsval_to_string(uid, ret_len);
	}
	if (ret_len != NULL) {
		*ret_len = 0;
	}
	return xstrdup("");
}
