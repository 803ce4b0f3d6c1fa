/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The hybrid switcher (PROTOCOL.md §7, DESIGN.md §3): from the first bytes
 * a connection sent, decides whether it speaks raw Pomelo TCP (a package
 * type byte) or HTTP, which leads to the WebSocket upgrade. Unlike
 * Pomelo's, it never guesses from a short first segment: it asks for more.
 */

#ifndef WORKER_SWITCHER_H
#define WORKER_SWITCHER_H

#include <stddef.h>
#include <stdint.h>

enum switcher_result {
	SWITCHER_MORE,		/* too few bytes to decide yet */
	SWITCHER_TCP,		/* a Pomelo package type byte, 0x01..0x05 */
	SWITCHER_WS,		/* an HTTP method and a space */
	SWITCHER_BAD,		/* neither: close the connection */
};

/*
 * Classifies the first <len> bytes of a connection (all the bytes it sent
 * so far, from the first one). A first byte of 0x01..0x05 gives
 * SWITCHER_TCP at once. "GET ", "POST ", "PUT ", "HEAD ", "DELETE " or
 * "OPTIONS " gives SWITCHER_WS, a prefix of one of them (or no byte at all)
 * SWITCHER_MORE, and anything else SWITCHER_BAD. The HTTP layer answers the
 * methods other than GET with an error.
 */
enum switcher_result switcher_detect(const uint8_t *buf, size_t len);

#endif
