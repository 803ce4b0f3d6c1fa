/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the WebSocket frame reader: an upgraded connection
 * is fed arbitrary frame bytes, cut into chunks whose sizes the first
 * input byte chooses. Besides memory errors under ASan and UBSan it
 * checks the contract: messages never exceed the limit, a non-zero answer
 * from ws_feed() is final, and nothing is written after a close frame.
 */

#include "config.h"

#include <sys/uio.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ws.h"

#define FUZZ_MAX_MESSAGE	4096

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_request[] =
	"GET / HTTP/1.1\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"\r\n";

struct fuzz_state {
	size_t		 written;
	unsigned int	 sum;
	int		 in_sendv;	/* payload writes are not frames */
	int		 close_written;
};

static int
fuzz_write(void *arg, const void *data, size_t len)
{
	struct fuzz_state	*st = arg;
	const uint8_t		*p = data;
	size_t			 i;

	/* Nothing at all after a close frame. */
	if (st->close_written) {
		abort();
	}
	if (!st->in_sendv && len >= 1 && p[0] == 0x88) {
		st->close_written = 1;
	}
	for (i = 0; i < len; i++) {
		st->sum += p[i];
	}
	st->written += len;
	return 0;
}

static int
fuzz_message(void *arg, const uint8_t *data, size_t len)
{
	struct fuzz_state	*st = arg;
	size_t			 i;

	if (len > FUZZ_MAX_MESSAGE) {
		abort();
	}
	for (i = 0; i < len; i++) {
		st->sum += data[i];
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_conf		 conf = { FUZZ_MAX_MESSAGE, 1024 };
	struct ws_callbacks	 cb = { fuzz_write, fuzz_message };
	struct fuzz_state	 st;
	struct ws		*ws;
	uint32_t		 rnd;
	size_t			 off = 0, n, max_chunk;
	int			 r = 0;

	if (size < 1) {
		return 0;
	}
	/* 0: one feed; otherwise pseudo-random chunks of 1..max_chunk. */
	max_chunk = data[0];
	rnd = data[0] * 2654435761u + 1;
	data++;
	size--;

	memset(&st, 0, sizeof st);
	ws = ws_create(&conf, &cb, &st);
	if (ws_feed(ws, (const uint8_t *)fuzz_request,
	    sizeof fuzz_request - 1) != 0 || !ws_is_open(ws)) {
		abort();
	}
	while (off < size) {
		n = size - off;
		if (max_chunk != 0) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 17;
			rnd ^= rnd << 5;
			if (n > rnd % max_chunk + 1) {
				n = rnd % max_chunk + 1;
			}
		}
		r = ws_feed(ws, data + off, n);
		off += n;
		if (r != 0) {
			break;
		}
	}
	if (r != 0) {
		n = st.written;
		/* Final: the same answer, no more bytes read or written. */
		if (ws_feed(ws, data, size) != r || st.written != n) {
			abort();
		}
	} else {
		struct iovec	 iov = { (void *)data, size < 300 ? size : 300 };

		st.in_sendv = 1;
		if (ws_sendv(ws, &iov, 1) != 0) {
			abort();
		}
		st.in_sendv = 0;
		if (ws_close(ws, 1000, "fuzz") != 0 ||
		    ws_sendv(ws, &iov, 1) != -EPIPE) {
			abort();
		}
	}
	ws_destroy(ws);
	return 0;
}
