/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Picks the framing of a connection on a shared port from its first bytes.
 * Pomelo compares the first 4 bytes of the first chunk with a few methods
 * and takes a short first chunk ("G") for raw TCP; here a partial method
 * is only ever "more", so a client that writes its request line one byte
 * at a time still gets its WebSocket. Pomelo package type bytes
 * (0x01..0x05) are not printable ASCII, so the two cases never overlap.
 */

#include "config.h"

#include <string.h>

#include "common/log.h"
#include "worker/switcher.h"
#include "worker/worker-int.h"

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

/*
 * The first bytes of <c> (with any held back from earlier reads in front):
 * installs the framing they call for and hands them to it, holds them
 * back until the next read when they are too few to decide, or closes.
 */
void
switcher_feed(struct conn *c, const uint8_t *data, size_t len)
{
	const struct framing_ops	*f;

	switch (switcher_detect(data, len)) {
	case SWITCHER_MORE:
		if (len > sizeof c->first) {
			break;
		}
		memcpy(c->first, data, len);
		c->first_len = (uint8_t)len;
		return;
	case SWITCHER_TCP:
		f = &framing_tcp;
		goto found;
	case SWITCHER_WS:
		f = &framing_ws;
		goto found;
	case SWITCHER_BAD:
		break;
	}
	worker->stats.protocol_errors++;
	conn_log(c, LOG_LEVEL_INFO, "first bytes are neither a Pomelo "
	    "package nor an HTTP request (0x%02x)", data[0]);
	conn_close(c, "unknown protocol");
	return;
found:
	c->first_len = 0;
	conn_set_framing(c, f);
	f->feed(c, data, len);
}
