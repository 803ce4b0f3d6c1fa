/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Transport detection on a shared port. Pomelo compares the first 4 bytes
 * of the first chunk with a few methods and takes a short first chunk
 * ("G") for raw TCP; here a partial method is only ever "more", so a
 * client that writes its request line one byte at a time still gets its
 * WebSocket. Pomelo package type bytes (0x01..0x05) are not printable
 * ASCII, so the two cases never overlap.
 */

#include "config.h"

#include <string.h>

#include "worker/switcher.h"

static const char *const switcher_methods[] = {
	"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ",
};

enum switcher_result
switcher_detect(const uint8_t *buf, size_t len)
{
	enum switcher_result	 result = SWITCHER_BAD;
	size_t			 i, mlen, n;

	if (len == 0) {
		return SWITCHER_MORE;
	}
	if (buf[0] >= 0x01 && buf[0] <= 0x05) {
		return SWITCHER_TCP;
	}
	for (i = 0; i < sizeof switcher_methods / sizeof switcher_methods[0];
	    i++) {
		mlen = strlen(switcher_methods[i]);
		n = len < mlen ? len : mlen;
		if (memcmp(buf, switcher_methods[i], n) != 0) {
			continue;
		}
		if (len >= mlen) {
			return SWITCHER_WS;
		}
		result = SWITCHER_MORE;
	}
	return result;
}
