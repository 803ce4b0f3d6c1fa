/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The two crc32 functions of Pomelo-style default routing (CLUSTER.md
 * §5.2) and the server choice made with them. A frontend picks the backend
 * server for a session itself, as `list[|crc32(uid)| mod n]`, and a C
 * frontend must pick the server a Node frontend of the same cluster picks:
 *
 *  - Pomelo (crc@0.2.0) runs the reflected CRC-32 (poly 0xEDB88320, init
 *    and final xor 0xFFFFFFFF) over the low 8 bits of each UTF-16 code unit
 *    of the JavaScript string and returns a signed 32-bit value; the index
 *    is Math.abs(v) % n (so |INT32_MIN| = 2^31);
 *  - Pinus (crc@4.3.2) runs the same CRC over the string's UTF-8 bytes and
 *    returns it unsigned; the index is v % n.
 *
 * Keys come in as UTF-8. A byte sequence that is not valid UTF-8 is read
 * as Node would decode it into a string (each maximal invalid subpart
 * becomes U+FFFD), so every input has the value its JavaScript string has.
 */

#ifndef COMMON_CRC32_H
#define COMMON_CRC32_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/flavour.h"

/* crc@0.2.0 crc32() of the string held in the <len> UTF-8 bytes of <s>. */
int32_t	 crc32_pomelo(const char *s, size_t len);

/* crc@4.3.2 crc32() (unsigned) of the string in the <len> bytes of <s>. */
uint32_t crc32_pinus(const char *s, size_t len);

/*
 * The index, 0 to <n> - 1, of the server that the default route of
 * flavour <f> picks for <key> (<len> bytes) among <n> servers, <n> > 0:
 * |crc32_pomelo(key)| mod n, or crc32_pinus(key) mod n.
 */
size_t	 crc32_route_index(enum flavour f, const char *key, size_t len,
	     size_t n);

/*
 * The key the default route hashes for a session whose uid is <uid>
 * (NULL: no uid): `(session.uid || '').toString()`, so an unbound session
 * (null, "", 0, false) gives "", a number its JavaScript spelling (42 ->
 * "42", 1e21 -> "1e+21") and a string itself. Returns a NUL-terminated
 * string the caller frees, its length in <*ret_len> when not NULL.
 */
char	*crc32_route_key(const json_t *uid, size_t *ret_len);

#endif
