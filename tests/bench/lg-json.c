/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Just enough JSON for the load generator to judge answers without a
 * library call per response: a validator that walks the text once
 * (RFC 8259 grammar, nesting bounded), and readers for the few members it
 * looks at, the handshake's "code" and "sys.heartbeat", a response's
 * "code" and a push's string members.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

#define LG_JSON_DEPTH	64

/*
 * Called by lg_json_members() for each member: the key (quotes stripped)
 * and the value's first byte. Returns the byte after the value, or NULL.
 */
typedef const char *(*lg_json_member_cb)(void *arg, const char *key,
    size_t key_len, const char *value, const char *end);

static const char	*lg_json_value(const char *p, const char *end, int depth);

static const char *
lg_json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r')) {
		p++;
	}
	return p;
}

static int
lg_json_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* <p> is at the opening quote; returns the byte after the closing one. */
static const char *
lg_json_str(const char *p, const char *end)
{
	int	 i;

	p++;
	while (p < end) {
		if (*p == '"') {
			return p + 1;
		}
		if ((unsigned char)*p < 0x20) {
			return NULL;
		}
		if (*p == '\\') {
			if (++p >= end) {
				return NULL;
			}
			if (*p == 'u') {
				for (i = 0; i < 4; i++) {
					if (++p >= end || !lg_json_hex(*p)) {
						return NULL;
					}
				}
			} else if (strchr("\"\\/bfnrt", *p) == NULL) {
				return NULL;
			}
		}
		p++;
	}
	return NULL;
}

static const char *
lg_json_digits(const char *p, const char *end)
{
	const char	*start = p;

	while (p < end && *p >= '0' && *p <= '9') {
		p++;
	}
	return p == start ? NULL : p;
}

static const char *
lg_json_num(const char *p, const char *end)
{
	if (p < end && *p == '-') {
		p++;
	}
	if (p < end && *p == '0') {
		p++;
	} else if ((p = lg_json_digits(p, end)) == NULL) {
		return NULL;
	}
	if (p < end && *p == '.') {
		if ((p = lg_json_digits(p + 1, end)) == NULL) {
			return NULL;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) {
			p++;
		}
		if ((p = lg_json_digits(p, end)) == NULL) {
			return NULL;
		}
	}
	return p;
}

static const char *
lg_json_word(const char *p, const char *end, const char *w)
{
	size_t	 n = strlen(w);

	if ((size_t)(end - p) < n || memcmp(p, w, n) != 0) {
		return NULL;
	}
	return p + n;
}

/* <p> is at '{' or '['. */
static const char *
lg_json_container(const char *p, const char *end, int depth)
{
	char	 close = *p == '{' ? '}' : ']';
	int	 object = *p == '{';

	p = lg_json_ws(p + 1, end);
	if (p < end && *p == close) {
		return p + 1;
	}
	for (;;) {
		if (object) {
			if (p >= end || *p != '"' ||
			    (p = lg_json_str(p, end)) == NULL) {
				return NULL;
			}
			p = lg_json_ws(p, end);
			if (p >= end || *p != ':') {
				return NULL;
			}
			p++;
		}
		if ((p = lg_json_value(p, end, depth + 1)) == NULL) {
			return NULL;
		}
		p = lg_json_ws(p, end);
		if (p >= end) {
			return NULL;
		}
		if (*p == close) {
			return p + 1;
		}
		if (*p != ',') {
			return NULL;
		}
		p = lg_json_ws(p + 1, end);
	}
}

/* Skips one value and the spaces before it; NULL when it is invalid. */
static const char *
lg_json_value(const char *p, const char *end, int depth)
{
	if (depth > LG_JSON_DEPTH) {
		return NULL;
	}
	p = lg_json_ws(p, end);
	if (p >= end) {
		return NULL;
	}
	switch (*p) {
	case '{':
	case '[':
		return lg_json_container(p, end, depth);
	case '"':
		return lg_json_str(p, end);
	case 't':
		return lg_json_word(p, end, "true");
	case 'f':
		return lg_json_word(p, end, "false");
	case 'n':
		return lg_json_word(p, end, "null");
	default:
		return lg_json_num(p, end);
	}
}

bool
lg_json_valid(const char *s, size_t len)
{
	const char	*end = s + len;
	const char	*p;

	if ((p = lg_json_value(s, end, 0)) == NULL) {
		return false;
	}
	return lg_json_ws(p, end) == end;
}

/*
 * Walks the members of the object at <p> (spaces before it allowed),
 * calling <fn> for each. Returns the byte after the object, or NULL.
 */
static const char *
lg_json_members(const char *p, const char *end, lg_json_member_cb fn,
    void *arg)
{
	const char	*key, *q;

	p = lg_json_ws(p, end);
	if (p >= end || *p != '{') {
		return NULL;
	}
	p = lg_json_ws(p + 1, end);
	if (p < end && *p == '}') {
		return p + 1;
	}
	for (;;) {
		if (p >= end || *p != '"' || (q = lg_json_str(p, end)) == NULL) {
			return NULL;
		}
		key = p + 1;
		p = lg_json_ws(q, end);
		if (p >= end || *p != ':') {
			return NULL;
		}
		p = lg_json_ws(p + 1, end);
		if (p >= end ||
		    (p = fn(arg, key, (size_t)(q - 1 - key), p, end)) == NULL) {
			return NULL;
		}
		p = lg_json_ws(p, end);
		if (p >= end) {
			return NULL;
		}
		if (*p == '}') {
			return p + 1;
		}
		if (*p != ',') {
			return NULL;
		}
		p = lg_json_ws(p + 1, end);
	}
}

static bool
lg_json_key_is(const char *key, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(key, name, len) == 0;
}

/* Parses the number at <p> into <*ret>; returns the byte after it. */
static const char *
lg_json_number(const char *p, const char *end, double *ret)
{
	const char	*q;
	char		 buf[64];

	if ((q = lg_json_num(p, end)) == NULL ||
	    (size_t)(q - p) >= sizeof(buf)) {
		return NULL;
	}
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	*ret = strtod(buf, NULL);
	return q;
}

struct lg_json_hs {
	bool	 has_code;
	double	 code;
	double	 heartbeat;
};

static const char *
lg_json_hs_sys(void *arg, const char *key, size_t len, const char *v,
    const char *end)
{
	struct lg_json_hs	*hs = arg;

	if (lg_json_key_is(key, len, "heartbeat") && *v != '"') {
		return lg_json_number(v, end, &hs->heartbeat);
	}
	return lg_json_value(v, end, 1);
}

static const char *
lg_json_hs_top(void *arg, const char *key, size_t len, const char *v,
    const char *end)
{
	struct lg_json_hs	*hs = arg;

	if (lg_json_key_is(key, len, "code")) {
		hs->has_code = true;
		return lg_json_number(v, end, &hs->code);
	}
	if (lg_json_key_is(key, len, "sys") && *v == '{') {
		return lg_json_members(v, end, lg_json_hs_sys, hs);
	}
	return lg_json_value(v, end, 1);
}

int
lg_json_handshake(const char *s, size_t len, int *ret_code,
    double *ret_heartbeat)
{
	struct lg_json_hs	 hs = { 0 };
	const char		*end = s + len;
	const char		*p;

	if ((p = lg_json_members(s, end, lg_json_hs_top, &hs)) == NULL ||
	    lg_json_ws(p, end) != end || !hs.has_code ||
	    hs.code != (double)(int)hs.code || hs.heartbeat < 0) {
		return -EBADMSG;
	}
	*ret_code = (int)hs.code;
	*ret_heartbeat = hs.heartbeat;
	return 0;
}

static const char *
lg_json_code_top(void *arg, const char *key, size_t len, const char *v,
    const char *end)
{
	struct lg_json_hs	*hs = arg;

	if (lg_json_key_is(key, len, "code") && *v != '"' && *v != '{' &&
	    *v != '[' && *v != 't' && *v != 'f' && *v != 'n') {
		hs->has_code = true;
		return lg_json_number(v, end, &hs->code);
	}
	return lg_json_value(v, end, 1);
}

long
lg_json_code(const char *s, size_t len)
{
	struct lg_json_hs	 hs = { 0 };

	if (lg_json_members(s, s + len, lg_json_code_top, &hs) == NULL ||
	    !hs.has_code) {
		return -1;
	}
	return (long)hs.code;
}

struct lg_json_find {
	const char	*key;
	const char	*found;
	size_t		 found_len;
};

static const char *
lg_json_find_top(void *arg, const char *key, size_t len, const char *v,
    const char *end)
{
	struct lg_json_find	*f = arg;
	const char		*q;

	if ((q = lg_json_value(v, end, 1)) == NULL) {
		return NULL;
	}
	if (f->found == NULL && *v == '"' && lg_json_key_is(key, len, f->key)) {
		f->found = v + 1;
		f->found_len = (size_t)(q - v - 2);
	}
	return q;
}

const char *
lg_json_string(const char *s, size_t len, const char *key, size_t *ret_len)
{
	struct lg_json_find	 f = { key, NULL, 0 };

	if (lg_json_members(s, s + len, lg_json_find_top, &f) == NULL ||
	    f.found == NULL) {
		return NULL;
	}
	*ret_len = f.found_len;
	return f.found;
}
