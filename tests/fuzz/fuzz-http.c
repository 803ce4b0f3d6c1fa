/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the WebSocket upgrade request parser: arbitrary
 * bytes, cut into chunks whose size the first input byte chooses, are fed
 * to a fresh connection with a small request limit. Besides memory errors
 * it checks that the answer is a 101 exactly when the connection opened,
 * an HTTP error with "Connection: close" exactly when ws_feed() asked to
 * close, and nothing while the request is incomplete.
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ws.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_out {
	char	 buf[1024];
	size_t	 len;
	size_t	 writes;
};

static int
fuzz_write(void *arg, const void *data, size_t len)
{
	struct fuzz_out	*o = arg;
	size_t		 n = len;

	/* Keep the start of the output, where the status line is. */
	if (n > sizeof o->buf - 1 - o->len) {
		n = sizeof o->buf - 1 - o->len;
	}
	memcpy(o->buf + o->len, data, n);
	o->len += n;
	o->buf[o->len] = '\0';
	o->writes++;
	return 0;
}

static int
fuzz_message(void *arg, const uint8_t *data, size_t len)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_conf		 conf = { 4096, 512 };
	struct ws_callbacks	 cb = { fuzz_write, fuzz_message };
	struct fuzz_out		 o;
	struct ws		*ws;
	size_t			 off = 0, n, chunk;
	int			 r = 0;

	if (size < 1) {
		return 0;
	}
	chunk = data[0] != 0 ? data[0] : size;
	data++;
	size--;

	memset(&o, 0, sizeof o);
	ws = ws_create(&conf, &cb, &o);
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		r = ws_feed(ws, data + off, n);
		off += n;
		if (r != 0) {
			break;
		}
		if (!ws_is_open(ws) && o.writes != 0) {
			abort();
		}
	}
	if (ws_is_open(ws)) {
		if (strncmp(o.buf, "HTTP/1.1 101 Switching Protocols\r\n",
		    34) != 0 || ws_path(ws) == NULL) {
			abort();
		}
	} else if (r == 1) {
		if (strncmp(o.buf, "HTTP/1.1 4", 10) != 0 ||
		    strstr(o.buf, "\r\nConnection: close\r\n") == NULL ||
		    ws_feed(ws, data, size) != 1) {
			abort();
		}
	} else if (r != 0 || o.writes != 0 || ws_path(ws) != NULL) {
		abort();
	}
	ws_destroy(ws);
	return 0;
}
