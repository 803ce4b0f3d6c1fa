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
#include "common/xmalloc.h"

#define CRC32_POLY	0xedb88320u
#define CRC32_REPLACEMENT 0xfffdu

typedef void (*crc32_cp_cb)(uint32_t *crc, uint32_t cp);

static uint32_t	crc32_byte(uint32_t, uint8_t);
static void	crc32_decode(const char *, size_t, crc32_cp_cb, uint32_t *);
static void	crc32_utf16_low(uint32_t *, uint32_t);
static void	crc32_utf8(uint32_t *, uint32_t);

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

/*
 * Calls <cb> with each code point of the <len> bytes at <s>, decoded as
 * the WHATWG UTF-8 decoder does: a byte that cannot start or continue a
 * sequence, and a sequence cut short, each give one U+FFFD, and the byte
 * that broke a sequence is read again as a possible start.
 */
static void
crc32_decode(const char *s, size_t len, crc32_cp_cb cb, uint32_t *crc)
{
	const uint8_t	*u = (const uint8_t *)s;
	uint32_t	 cp = 0;
	uint8_t		 lower = 0x80, upper = 0xbf, b;
	int		 need = 0, seen = 0;
	size_t		 i;

	for (i = 0; i < len; i++) {
		b = u[i];
		if (need == 0) {
			if (b <= 0x7f) {
				cb(crc, b);
			} else if (b >= 0xc2 && b <= 0xdf) {
				need = 1;
				cp = b & 0x1fu;
			} else if (b >= 0xe0 && b <= 0xef) {
				if (b == 0xe0) {
					lower = 0xa0;
				} else if (b == 0xed) {
					upper = 0x9f;
				}
				need = 2;
				cp = b & 0x0fu;
			} else if (b >= 0xf0 && b <= 0xf4) {
				if (b == 0xf0) {
					lower = 0x90;
				} else if (b == 0xf4) {
					upper = 0x8f;
				}
				need = 3;
				cp = b & 0x07u;
			} else {
				cb(crc, CRC32_REPLACEMENT);
			}
			continue;
		}
		if (b < lower || b > upper) {
			cp = 0;
			need = 0;
			seen = 0;
			lower = 0x80;
			upper = 0xbf;
			cb(crc, CRC32_REPLACEMENT);
			i--;	/* read <b> again as a start byte */
			continue;
		}
		lower = 0x80;
		upper = 0xbf;
		cp = cp << 6 | (b & 0x3fu);
		if (++seen == need) {
			cb(crc, cp);
			cp = 0;
			need = 0;
			seen = 0;
		}
	}
	if (need != 0) {
		cb(crc, CRC32_REPLACEMENT);
	}
}

/* A code point as UTF-16 code units, of which crc@0.2.0 keeps the low byte. */
static void
crc32_utf16_low(uint32_t *crc, uint32_t cp)
{
	if (cp < 0x10000u) {
		*crc = crc32_byte(*crc, (uint8_t)cp);
		return;
	}
	cp -= 0x10000u;
	*crc = crc32_byte(*crc, (uint8_t)(0xd800u + (cp >> 10)));
	*crc = crc32_byte(*crc, (uint8_t)(0xdc00u + (cp & 0x3ffu)));
}

static void
crc32_utf8(uint32_t *crc, uint32_t cp)
{
	if (cp < 0x80u) {
		*crc = crc32_byte(*crc, (uint8_t)cp);
	} else if (cp < 0x800u) {
		*crc = crc32_byte(*crc, (uint8_t)(0xc0u | cp >> 6));
		*crc = crc32_byte(*crc, (uint8_t)(0x80u | (cp & 0x3fu)));
	} else if (cp < 0x10000u) {
		*crc = crc32_byte(*crc, (uint8_t)(0xe0u | cp >> 12));
		*crc = crc32_byte(*crc, (uint8_t)(0x80u | (cp >> 6 & 0x3fu)));
		*crc = crc32_byte(*crc, (uint8_t)(0x80u | (cp & 0x3fu)));
	} else {
		*crc = crc32_byte(*crc, (uint8_t)(0xf0u | cp >> 18));
		*crc = crc32_byte(*crc, (uint8_t)(0x80u | (cp >> 12 & 0x3fu)));
		*crc = crc32_byte(*crc, (uint8_t)(0x80u | (cp >> 6 & 0x3fu)));
		*crc = crc32_byte(*crc, (uint8_t)(0x80u | (cp & 0x3fu)));
	}
}

int32_t
crc32_pomelo(const char *s, size_t len)
{
	uint32_t	 crc = 0xffffffffu;

	crc32_decode(s, len, crc32_utf16_low, &crc);
	/* JavaScript's `^` yields a signed 32-bit integer. */
	return (int32_t)(crc ^ 0xffffffffu);
}

uint32_t
crc32_pinus(const char *s, size_t len)
{
	uint32_t	 crc = 0xffffffffu;

	crc32_decode(s, len, crc32_utf8, &crc);
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
