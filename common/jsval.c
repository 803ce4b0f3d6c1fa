/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * JavaScript semantics for jansson values. The Node side of a cluster
 * link parses every payload with JSON.parse, tests values with `if (x)`,
 * turns ids and uids into strings and object keys, and writes with
 * JSON.stringify; the helpers here do the same so that a C peer decides
 * exactly as a Node peer would. Numbers follow ECMA-262 Number::toString:
 * the shortest digit string that reads back to the same double, written
 * in fixed notation from 1e-7 to 1e21 and in exponent notation outside.
 */

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsval.h"
#include "common/xmalloc.h"

#define JSVAL_BUF_MIN	256

static void	jsval_buf_reserve(struct jsval_buf *, size_t);
static void	jsval_string_into(struct jsval_buf *, const json_t *);

int
jsval_parse(const void *text, size_t len, json_t **ret, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*j;
	size_t		 flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;

	j = json_loadb(text, len, flags, &jerr);
	if (j == NULL &&
	    json_error_code(&jerr) == json_error_numeric_overflow) {
		/* JavaScript reads every number as a double. */
		j = json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL,
		    &jerr);
	}
	if (j == NULL) {
		if (err != NULL && errlen > 0) {
			snprintf(err, errlen, "not JSON (at byte %d: %s)",
			    jerr.position, jerr.text);
		}
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

bool
jsval_truthy(const json_t *v)
{
	if (v == NULL) {
		return false;
	}
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0 &&
		    !isnan(json_real_value(v));
	case JSON_STRING:
		return json_string_length(v) > 0;
	default:
		return true;
	}
}

bool
jsval_number(const json_t *v, double *ret)
{
	if (json_is_integer(v)) {
		*ret = (double)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		*ret = json_real_value(v);
		return true;
	}
	return false;
}

bool
jsval_cstr(const json_t *v, const char **ret)
{
	const char	*s;

	if (!json_is_string(v)) {
		return false;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		return false;
	}
	*ret = s;
	return true;
}

bool
jsval_key_uint(const json_t *v, uint64_t *ret)
{
	json_int_t	 i;
	double		 d;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		if (i < 0 || (uint64_t)i > JSVAL_SAFE_MAX) {
			return false;
		}
		*ret = (uint64_t)i;
		return true;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d >= 0.0 && d <= (double)JSVAL_SAFE_MAX) ||
		    d != floor(d)) {
			return false;
		}
		*ret = (uint64_t)d;
		return true;
	}
	if (!json_is_string(v)) {
		return false;
	}
	return jsval_decimal(json_string_value(v), json_string_length(v),
	    JSVAL_SAFE_MAX, ret);
}

bool
jsval_decimal(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	uint64_t	 n = 0;
	size_t		 k;

	/* 20 digits would overflow; no max needs more than 19. */
	if (len == 0 || len > 19 || (s[0] == '0' && len > 1)) {
		return false;
	}
	for (k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9') {
			return false;
		}
		n = n * 10 + (uint64_t)(s[k] - '0');
	}
	if (n > max) {
		return false;
	}
	*ret = n;
	return true;
}

size_t
jsval_number_format(double v, char *out)
{
	char		 tmp[40], digits[20], *e;
	int		 p, k = 0, n, exp10, i;
	size_t		 o = 0;
	double		 a;

	if (isnan(v)) {
		memcpy(out, "NaN", 4);
		return 3;
	}
	if (v == 0.0) {
		memcpy(out, "0", 2);
		return 1;
	}
	if (v < 0) {
		out[o++] = '-';
	}
	a = fabs(v);
	if (isinf(a)) {
		memcpy(out + o, "Infinity", 9);
		return o + 8;
	}

	/* The fewest significant digits that read back as <a>. */
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, a);
		if (strtod(tmp, NULL) == a) {
			break;
		}
	}
	for (i = 0; tmp[i] != 'e'; i++) {
		if (tmp[i] != '.') {
			digits[k++] = tmp[i];
		}
	}
	e = tmp + i + 1;
	exp10 = atoi(e);
	while (k > 1 && digits[k - 1] == '0') {
		k--;
	}
	n = exp10 + 1;	/* the value is 0.<digits> * 10^n */

	if (k <= n && n <= 21) {
		memcpy(out + o, digits, (size_t)k);
		o += (size_t)k;
		for (i = 0; i < n - k; i++) {
			out[o++] = '0';
		}
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, (size_t)(k - n));
		o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < -n; i++) {
			out[o++] = '0';
		}
		memcpy(out + o, digits, (size_t)k);
		o += (size_t)k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(k - 1));
			o += (size_t)(k - 1);
		}
		o += (size_t)snprintf(out + o, JSVAL_NUMBER_MAX - o, "e%c%d",
		    n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
	out[o] = '\0';
	return o;
}

/* String(v) appended to <b>. */
static void
jsval_string_into(struct jsval_buf *b, const json_t *v)
{
	char	 num[JSVAL_NUMBER_MAX];
	size_t	 i, n;
	double	 d;

	if (v == NULL) {
		jsval_buf_add_str(b, "undefined");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		jsval_buf_add(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		jsval_number(v, &d);
		n = jsval_number_format(d, num);
		jsval_buf_add(b, num, n);
		break;
	case JSON_TRUE:
		jsval_buf_add_str(b, "true");
		break;
	case JSON_FALSE:
		jsval_buf_add_str(b, "false");
		break;
	case JSON_NULL:
		jsval_buf_add_str(b, "null");
		break;
	case JSON_OBJECT:
		jsval_buf_add_str(b, "[object Object]");
		break;
	case JSON_ARRAY:
		/* Array.prototype.join(","): null elements are "". */
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0) {
				jsval_buf_add(b, ",", 1);
			}
			if (!json_is_null(json_array_get(v, i))) {
				jsval_string_into(b, json_array_get(v, i));
			}
		}
		break;
	}
}

bool
jsval_array_index(const char *s, size_t len, uint32_t *ret)
{
	uint64_t	 v;

	if (!jsval_decimal(s, len, UINT32_MAX - 1, &v)) {
		return false;
	}
	*ret = (uint32_t)v;
	return true;
}

char *
jsval_to_string(const json_t *v, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_string_into(&b, v);
	return jsval_buf_steal(&b, ret_len);
}

char *
jsval_dump(const json_t *v, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_json(&b, v);
	return jsval_buf_steal(&b, ret_len);
}

static void
jsval_buf_reserve(struct jsval_buf *b, size_t n)
{
	size_t	 cap;

	if (b->len + n + 1 <= b->cap) {
		return;
	}
	cap = b->cap != 0 ? b->cap : JSVAL_BUF_MIN;
	while (cap < b->len + n + 1) {
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
jsval_buf_add(struct jsval_buf *b, const void *p, size_t n)
{
	jsval_buf_reserve(b, n);
	if (n > 0) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = '\0';
}

void
jsval_buf_add_str(struct jsval_buf *b, const char *s)
{
	jsval_buf_add(b, s, strlen(s));
}

void
jsval_buf_add_uint(struct jsval_buf *b, uint64_t v)
{
	char	 tmp[24];
	size_t	 i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jsval_buf_add(b, tmp + i, sizeof tmp - i);
}

void
jsval_buf_add_quoted(struct jsval_buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, run = 0;
	char			 esc[6];
	size_t			 elen;

	jsval_buf_reserve(b, n + 2);
	jsval_buf_add(b, "\"", 1);
	for (i = 0; i < n; i++) {
		if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			run++;
			continue;
		}
		jsval_buf_add(b, s + i - run, run);
		run = 0;
		esc[0] = '\\';
		elen = 2;
		switch (u[i]) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 0xf];
			elen = 6;
			break;
		}
		jsval_buf_add(b, esc, elen);
	}
	jsval_buf_add(b, s + n - run, run);
	jsval_buf_add(b, "\"", 1);
}

void
jsval_buf_add_json(struct jsval_buf *b, const json_t *v)
{
	char		 num[JSVAL_NUMBER_MAX];
	const char	*key;
	json_t		*m;
	size_t		 i, n, klen;
	int		 first = 1;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jsval_buf_add(b, "{", 1);
		json_object_keylen_foreach((json_t *)v, key, klen, m) {
			if (!first) {
				jsval_buf_add(b, ",", 1);
			}
			first = 0;
			/* Keys may hold NULs: write them by length. */
			jsval_buf_add_quoted(b, key, klen);
			jsval_buf_add(b, ":", 1);
			jsval_buf_add_json(b, m);
		}
		jsval_buf_add(b, "}", 1);
		break;
	case JSON_ARRAY:
		jsval_buf_add(b, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0) {
				jsval_buf_add(b, ",", 1);
			}
			jsval_buf_add_json(b, json_array_get(v, i));
		}
		jsval_buf_add(b, "]", 1);
		break;
	case JSON_STRING:
		jsval_buf_add_quoted(b, json_string_value(v),
		    json_string_length(v));
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		jsval_buf_add(b, num, n);
		break;
	case JSON_REAL:
		if (!isfinite(json_real_value(v))) {
			jsval_buf_add_str(b, "null");
			break;
		}
		n = jsval_number_format(json_real_value(v), num);
		jsval_buf_add(b, num, n);
		break;
	case JSON_TRUE:
		jsval_buf_add_str(b, "true");
		break;
	case JSON_FALSE:
		jsval_buf_add_str(b, "false");
		break;
	case JSON_NULL:
		jsval_buf_add_str(b, "null");
		break;
	}
}

char *
jsval_buf_steal(struct jsval_buf *b, size_t *ret_len)
{
	char	*s;

	if (b->data == NULL) {
		jsval_buf_reserve(b, 0);
		b->data[0] = '\0';
	}
	s = b->data;
	if (ret_len != NULL) {
		*ret_len = b->len;
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}

void
jsval_buf_finish(struct jsval_buf *b)
{
	if (b == NULL) {
		return;
	}
	FREE_AND_NULL(b->data);
	b->len = 0;
	b->cap = 0;
}
