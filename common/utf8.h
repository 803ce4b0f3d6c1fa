/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * UTF-8 as Node.js reads it: the WHATWG decoder, which turns every maximal
 * subpart of an invalid sequence into one U+FFFD. Text that crosses the
 * JavaScript side of a cluster (uids, route keys, client bodies) must be
 * read the same way here, or the two sides hash and compare different
 * strings.
 */

#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT	0xfffdu

typedef void (*utf8_cp_cb)(void *arg, uint32_t cp);

/* Calls <cb> with each code point of the <len> bytes at <s>, in order. */
void	 utf8_decode(const void *s, size_t len, utf8_cp_cb cb, void *arg);

/*
 * True when the <len> bytes at <s> are valid UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points above U+10FFFF).
 */
bool	 utf8_valid(const void *s, size_t len);

/*
 * A copy of the <len> bytes at <s> with each invalid subpart replaced by
 * U+FFFD, NUL-terminated; its length goes to <*ret_len>. The caller frees
 * it.
 */
char	*utf8_repair(const void *s, size_t len, size_t *ret_len);

/* Writes <cp> as UTF-8 to <out> (4 bytes); returns the bytes written. */
size_t	 utf8_encode(uint8_t *out, uint32_t cp);

#endif
