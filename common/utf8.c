/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The WHATWG UTF-8 decoder (what Node's Buffer.toString() uses) and what
 * is built on it: validation and repair.
 */

#include "config.h"

#include <stdlib.h>

#include "common/utf8.h"
#include "common/xmalloc.h"

void
utf8_decode(const void *s, size_t len, utf8_cp_cb cb, void *arg)
{
	const uint8_t	*u = s;
	uint32_t	 cp = 0;
	uint8_t		 lower = 0x80, upper = 0xbf, b;
	int		 need = 0, seen = 0;
	size_t		 i;

	for (i = 0; i < len; i++) {
		b = u[i];
		if (need == 0) {
			if (b <= 0x7f) {
				cb(arg, b);
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
				cb(arg, UTF8_REPLACEMENT);
			}
			continue;
		}
		if (b < lower || b > upper) {
			/* The subpart so far is one U+FFFD; <b> starts anew. */
			cp = 0;
			need = 0;
			seen = 0;
			lower = 0x80;
			upper = 0xbf;
			cb(arg, UTF8_REPLACEMENT);
			i--;
			continue;
		}
		lower = 0x80;
		upper = 0xbf;
		cp = cp << 6 | (b & 0x3fu);
		if (++seen == need) {
			cb(arg, cp);
			cp = 0;
			need = 0;
			seen = 0;
		}
	}
	if (need != 0) {
		cb(arg, UTF8_REPLACEMENT);
	}
}

size_t
utf8_encode(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* A fast pass that only checks; the decoder runs only on bad input. */
bool
utf8_valid(const void *s, size_t len)
{
	const uint8_t	*u = s;
	size_t		 i = 0, j, n;
	uint32_t	 cp, min;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((u[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = u[i] & 0x1f;
			min = 0x80;
		} else if ((u[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = u[i] & 0x0f;
			min = 0x800;
		} else if ((u[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = u[i] & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n) {
			return false;
		}
		for (j = 1; j <= n; j++) {
			if ((u[i + j] & 0xc0) != 0x80) {
				return false;
			}
			cp = (cp << 6) | (u[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
		i += n + 1;
	}
	return true;
}

struct utf8_out {
	uint8_t		*p;
	size_t		 len;
};

static void
utf8_repair_cp(void *arg, uint32_t cp)
{
	struct utf8_out	*o = arg;

	o->len += utf8_encode(o->p + o->len, cp);
}

char *
utf8_repair(const void *s, size_t len, size_t *ret_len)
{
	struct utf8_out	 o;

	/* Each input byte becomes at most one U+FFFD: 3 bytes. */
	o.p = xmalloc(len * 3 + 1);
	o.len = 0;
	utf8_decode(s, len, utf8_repair_cp, &o);
	o.p[o.len] = '\0';
	*ret_len = o.len;
	return (char *)o.p;
}
