/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * JavaScript value semantics over jansson values, for the cluster codecs:
 * Pomelo and Pinus are JavaScript, and what they do with a JSON value
 * (JSON.parse it, test it for truth, turn it into a string or an object
 * key, JSON.stringify it) decides routing, dispatch and reply shapes. A
 * NULL json_t pointer stands for `undefined` (a member that is absent).
 *
 * Also a small growable text buffer with a JSON.stringify-style writer,
 * which the envelope encoders build their payloads in.
 */

#ifndef COMMON_JSVAL_H
#define COMMON_JSVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Enough for any Number.prototype.toString() result and its NUL. */
#define JSVAL_NUMBER_MAX	32

/* 2^53: the largest integer up to which every integer is a JS number. */
#define JSVAL_SAFE_MAX		9007199254740992ull

/* A growable NUL-terminated text buffer; zero it to initialise. */
struct jsval_buf {
	char	*data;
	size_t	 len;		/* bytes written, without the NUL */
	size_t	 cap;
};

/*
 * Parses <len> bytes of <text> as JSON.parse would: any value at the top
 * (not only objects and arrays), "\u0000" inside strings, and integers
 * beyond 64 bits (the whole text is then read again with every integer as
 * a double, which is what JavaScript holds). On success stores a new
 * reference in <*ret> (the caller json_decref()s it) and returns 0;
 * returns -EBADMSG with a reason in <err> when the text is not JSON, and
 * leaves <*ret> untouched. Two things JSON.parse accepts are refused,
 * because jansson cannot hold them: lone UTF-16 surrogate escapes
 * ("\ud800") and "\u0000" inside object keys.
 */
int	 jsval_parse(const void *text, size_t len, json_t **ret, char *err,
	     size_t errlen);

/*
 * JavaScript truthiness (ToBoolean): false for NULL (undefined), null,
 * false, 0, -0 and "", true for everything else, empty objects and arrays
 * included.
 */
bool	 jsval_truthy(const json_t *v);

/*
 * True when <v> is a number (an integer or a real), with its value as a
 * double in <*ret>; otherwise false and <*ret> untouched.
 */
bool	 jsval_number(const json_t *v, double *ret);

/*
 * True when <v> is a string without an embedded NUL; its value (borrowed
 * from <v>) is then stored in <*ret>. False otherwise, <*ret> untouched.
 */
bool	 jsval_cstr(const json_t *v, const char **ret);

/*
 * True when <v> names the object key of a non-negative integer n no
 * larger than JSVAL_SAFE_MAX, as JavaScript compares keys: a number whose
 * value is n, or a string that is n written in canonical decimal ("7", not
 * "07", "7.0" or " 7"). Stores n in <*ret>; false and untouched otherwise.
 */
bool	 jsval_key_uint(const json_t *v, uint64_t *ret);

/*
 * True when the <len> bytes at <s> are a number from 0 to <max> written
 * in canonical decimal ("7", not "07", "+7" or "7.0"), as JavaScript's
 * keys and ids are compared. Stores it in <*ret>; false and untouched
 * otherwise.
 */
bool	 jsval_decimal(const char *s, size_t len, uint64_t max, uint64_t *ret);

/*
 * True when JavaScript treats the <len> bytes at <s> as an array index
 * (the canonical decimal form of a number below 2^32 - 1): such keys come
 * first in an object, in numeric order. Stores it in <*ret>; false and
 * untouched otherwise.
 */
bool	 jsval_array_index(const char *s, size_t len, uint32_t *ret);

/*
 * Writes <v> as Number.prototype.toString() does (shortest round-trip
 * digits; "1e+21", "1.5e-7", "NaN", "-Infinity", "0" for -0) to <out>,
 * which holds JSVAL_NUMBER_MAX bytes. Returns the length, without the NUL.
 */
size_t	 jsval_number_format(double v, char *out);

/*
 * String(v): strings as they are, numbers as jsval_number_format(),
 * "true", "false", "null", "undefined" for NULL, "[object Object]" for
 * objects, and arrays joined with "," with null elements as "". Returns a
 * NUL-terminated string the caller frees; its length (it may hold NULs)
 * goes to <*ret_len> when that is not NULL.
 */
char	*jsval_to_string(const json_t *v, size_t *ret_len);

/*
 * JSON.stringify(v) for a value that is not NULL: compact, members in the
 * order jansson holds them, strings escaped as JavaScript escapes them,
 * numbers as jsval_number_format() writes them (integers in full). Returns
 * a NUL-terminated string the caller frees, its length in <*ret_len> when
 * that is not NULL.
 */
char	*jsval_dump(const json_t *v, size_t *ret_len);

/* Appends <n> bytes / a C string / an unsigned decimal to <b>. */
void	 jsval_buf_add(struct jsval_buf *b, const void *p, size_t n);
void	 jsval_buf_add_str(struct jsval_buf *b, const char *s);
void	 jsval_buf_add_uint(struct jsval_buf *b, uint64_t v);

/*
 * Appends the <n> bytes of <s> as a JSON string literal, quoted and
 * escaped as JSON.stringify escapes it: \" \\ \b \f \n \r \t, other
 * control characters as \u00xx, everything else (UTF-8 included) as is.
 */
void	 jsval_buf_add_quoted(struct jsval_buf *b, const char *s, size_t n);

/* Appends JSON.stringify(v) (see jsval_dump()); <v> must not be NULL. */
void	 jsval_buf_add_json(struct jsval_buf *b, const json_t *v);

/*
 * Hands the buffer's text over: returns it NUL-terminated (the caller
 * frees it; an empty buffer gives ""), stores its length in <*ret_len>
 * when that is not NULL, and leaves <b> empty. jsval_buf_finish() frees
 * what <b> holds instead; both accept an empty buffer.
 */
char	*jsval_buf_steal(struct jsval_buf *b, size_t *ret_len);
void	 jsval_buf_finish(struct jsval_buf *b);

#endif
