/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * JSON text read in place (jscan.h): one pass with a bit per open
 * container (object or array) instead of recursion, no allocation.
 */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "common/jscan.h"

enum jscan_want {
	JSCAN_VALUE,		/* a value */
	JSCAN_KEY,		/* an object member's key, its colon */
	JSCAN_NEXT,		/* a comma, the end of a container or text */
};

static size_t	jscan_ws(const uint8_t *, size_t, size_t);
static bool	jscan_hex4(const uint8_t *, size_t, size_t, unsigned *);
static size_t	jscan_utf8(const uint8_t *, size_t, size_t);
static size_t	jscan_string(const uint8_t *, size_t, size_t);
static size_t	jscan_number(const uint8_t *, size_t, size_t);
static size_t	jscan_literal(const uint8_t *, size_t, size_t);
static size_t	jscan_skip(const uint8_t *, size_t, size_t);

static size_t
jscan_ws(const uint8_t *p, size_t len, size_t i)
{
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
	    p[i] == '\r')) {
		i++;
	}
	return i;
}

static bool
jscan_hex4(const uint8_t *p, size_t len, size_t i, unsigned *ret)
{
	unsigned	 v = 0, d;
	size_t		 k;

	if (len < 4 || i > len - 4) {
		return false;
	}
	for (k = 0; k < 4; k++) {
		d = p[i + k];
		if (d >= '0' && d <= '9') {
			d -= '0';
		} else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f') {
			d = (d | 0x20) - 'a' + 10;
		} else {
			return false;
		}
		v = v << 4 | d;
	}
	*ret = v;
	return true;
}

/*
 * The length of the UTF-8 sequence at p[i] (a byte >= 0x80): 2 to 4, or 0
 * when it is not one (overlong forms, surrogates and code points past
 * U+10FFFF are not UTF-8, as jansson checks).
 */
static size_t
jscan_utf8(const uint8_t *p, size_t len, size_t i)
{
	uint8_t	 c = p[i], lo = 0x80, hi = 0xbf;
	size_t	 n, k;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (len - i < n || p[i + 1] < lo || p[i + 1] > hi) {
		return 0;
	}
	for (k = 2; k < n; k++) {
		if ((p[i + k] & 0xc0) != 0x80) {
			return 0;
		}
	}
	return n;
}

/*
 * The string whose opening quote is at p[i]: the position past its
 * closing quote, or 0 when it is not plain.
 */
static size_t
jscan_string(const uint8_t *p, size_t len, size_t i)
{
	unsigned	 cp, low;
	size_t		 n;

	for (i++; i < len;) {
		if (p[i] == '"') {
			return i + 1;
		}
		if (p[i] < 0x20) {
			return 0;
		}
		if (p[i] >= 0x80) {
			if ((n = jscan_utf8(p, len, i)) == 0) {
				return 0;
			}
			i += n;
			continue;
		}
		if (p[i] != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= len) {
			return 0;
		}
		switch (p[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i += 2;
			continue;
		}
		if (p[i + 1] != 'u' || !jscan_hex4(p, len, i + 2, &cp) ||
		    cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
			return 0;
		}
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			/* A high surrogate: its low one must follow. */
			if (i + 1 >= len || p[i] != '\\' || p[i + 1] != 'u' ||
			    !jscan_hex4(p, len, i + 2, &low) || low < 0xdc00 ||
			    low > 0xdfff) {
				return 0;
			}
			i += 6;
		}
	}
	return 0;
}

/*
 * The number at p[i]: the position past it, or 0 when it is not plain
 * (not JSON, an exponent, or too many digits before the point).
 */
static size_t
jscan_number(const uint8_t *p, size_t len, size_t i)
{
	size_t	 start;

	if (p[i] == '-') {
		i++;
	}
	start = i;
	if (i < len && p[i] == '0') {
		i++;
	} else if (i < len && p[i] >= '1' && p[i] <= '9') {
		while (i < len && p[i] >= '0' && p[i] <= '9') {
			i++;
		}
	} else {
		return 0;
	}
	if (i - start > JSCAN_INT_DIGITS) {
		return 0;
	}
	if (i < len && p[i] == '.') {
		i++;
		if (i >= len || p[i] < '0' || p[i] > '9') {
			return 0;
		}
		while (i < len && p[i] >= '0' && p[i] <= '9') {
			i++;
		}
	}
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		return 0;
	}
	return i;
}

static size_t
jscan_literal(const uint8_t *p, size_t len, size_t i)
{
	static const char *const literals[] = { "true", "false", "null" };
	size_t			 k, n;

	for (k = 0; k < sizeof literals / sizeof literals[0]; k++) {
		n = strlen(literals[k]);
		if (len - i >= n && memcmp(p + i, literals[k], n) == 0) {
			return i + n;
		}
	}
	return 0;
}

bool
jscan_plain(const char *text, size_t len)
{
	const uint8_t		*p = (const uint8_t *)text;
	uint8_t			 in_object[JSCAN_MAX_DEPTH / 8];
	enum jscan_want		 want = JSCAN_VALUE;
	size_t			 i = 0, depth = 0, end;
	bool			 obj;

	for (;;) {
		i = jscan_ws(p, len, i);
		obj = depth > 0 &&
		    (in_object[(depth - 1) / 8] >> ((depth - 1) % 8) & 1);
		if (want == JSCAN_NEXT) {
			if (depth == 0) {
				return i == len;
			}
			if (i >= len) {
				return false;
			}
			if (p[i] == ',') {
				want = obj ? JSCAN_KEY : JSCAN_VALUE;
				i++;
			} else if (p[i] == (obj ? '}' : ']')) {
				depth--;
				i++;
			} else {
				return false;
			}
			continue;
		}
		if (i >= len) {
			return false;
		}
		if (want == JSCAN_KEY) {
			if (p[i] != '"' || (i = jscan_string(p, len, i)) == 0) {
				return false;
			}
			i = jscan_ws(p, len, i);
			if (i >= len || p[i] != ':') {
				return false;
			}
			i++;
			want = JSCAN_VALUE;
			continue;
		}
		switch (p[i]) {
		case '{':
		case '[':
			if (depth == JSCAN_MAX_DEPTH) {
				return false;
			}
			if (p[i] == '{') {
				in_object[depth / 8] |= (uint8_t)(1u << depth % 8);
			} else {
				in_object[depth / 8] &= (uint8_t)~(1u << depth % 8);
			}
			depth++;
			i = jscan_ws(p, len, i + 1);
			obj = in_object[(depth - 1) / 8] >>
			    ((depth - 1) % 8) & 1;
			if (i < len && p[i] == (obj ? '}' : ']')) {
				depth--;
				i++;
				want = JSCAN_NEXT;
			} else {
				want = obj ? JSCAN_KEY : JSCAN_VALUE;
			}
			continue;
		case '"':
			end = jscan_string(p, len, i);
			break;
		case 't':
		case 'f':
		case 'n':
			end = jscan_literal(p, len, i);
			break;
		default:
			end = jscan_number(p, len, i);
			break;
		}
		if (end == 0) {
			return false;
		}
		i = end;
		want = JSCAN_NEXT;
	}
}

/* True when the value <v> is exactly <literal> (true, false, null). */
bool
jscan_is(const char *v, size_t len, const char *literal)
{
	return len == strlen(literal) && memcmp(v, literal, len) == 0;
}

/*
 * The end of the value that starts at p[i], in a plain text (so nothing
 * is checked but the bounds).
 */
static size_t
jscan_skip(const uint8_t *p, size_t len, size_t i)
{
	size_t	 depth = 0;
	bool	 in_string = false;

	for (; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\') {
				i++;
			} else if (p[i] == '"') {
				in_string = false;
				if (depth == 0) {
					return i + 1;
				}
			}
			continue;
		}
		switch (p[i]) {
		case '"':
			in_string = true;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0) {
				return i;
			}
			if (--depth == 0) {
				return i + 1;
			}
			break;
		case ',':
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			if (depth == 0) {
				return i;
			}
			break;
		}
	}
	return len;
}

/*
 * Starts a walk through the object (<open> '{') or array ('[') <v> of
 * <len> bytes, a value of a plain text, whitespace around it allowed.
 * False when <v> is not one.
 */
bool
jscan_enter(struct jscan_iter *it, const char *v, size_t len, char open)
{
	size_t	 i = jscan_ws((const uint8_t *)v, len, 0);

	v += i;
	len -= i;
	if (len < 2 || v[0] != open) {
		return false;
	}
	it->p = v;
	it->len = len;
	it->pos = 1;
	it->first = true;
	return true;
}

/* The next element of an array: false after the last. */
bool
jscan_element(struct jscan_iter *it, const char **ret_v, size_t *ret_len)
{
	const uint8_t	*p = (const uint8_t *)it->p;
	size_t		 i, end;

	i = jscan_ws(p, it->len, it->pos);
	if (i >= it->len || p[i] == ']' || p[i] == '}') {
		return false;
	}
	if (!it->first) {
		if (p[i] != ',') {
			return false;
		}
		i = jscan_ws(p, it->len, i + 1);
	}
	it->first = false;
	end = jscan_skip(p, it->len, i);
	*ret_v = it->p + i;
	*ret_len = end - i;
	it->pos = end;
	return true;
}

/*
 * The next member of an object: its key as written between the quotes
 * (escapes not undone) and its value; false after the last.
 */
bool
jscan_member(struct jscan_iter *it, const char **ret_key,
    size_t *ret_key_len, const char **ret_v, size_t *ret_len)
{
	const uint8_t	*p = (const uint8_t *)it->p;
	size_t		 i, key_end;

	if (!jscan_element(it, ret_key, ret_key_len)) {
		return false;
	}
	key_end = it->pos;
	i = jscan_ws(p, it->len, key_end);
	if (i >= it->len || p[i] != ':' || *ret_key_len < 2) {
		return false;
	}
	(*ret_key)++;
	*ret_key_len -= 2;
	it->pos = i + 1;
	it->first = true;
	if (!jscan_element(it, ret_v, ret_len)) {
		return false;
	}
	it->first = false;
	return true;
}
