/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for a client connection's first layers with TLS in
 * front: the bytes reach a real connection (conn.c on a socketpair,
 * tests/unit/tls-pump.c) through the detecting layer of tls = optional or
 * the TLS layer of tls = on, then the switcher, the raw TCP or WebSocket
 * framing and the Pomelo session.
 *
 * The first input byte chooses: bit 0, whether the rest is sent raw
 * (plain bytes, or a TLS record stream the fuzzer makes up) or as
 * application data inside a real TLS session a client makes first over
 * memory BIOs; bit 1, tls = on instead of optional; bits 2-7, the size of
 * the chunks it is sent in (1 to 64 bytes, the worker running between
 * them). Besides memory errors it checks that a real client's handshake
 * always succeeds and that a finished input leaves no connection behind.
 */

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/ssl.h>

#include "common/log.h"
#include "common/tls.h"
#include "tests/unit/tls-pump.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_ctx	*fuzz_tls;
static SSL_CTX		*fuzz_client;

static void
fuzz_init(void)
{
	log_open('F', LOG_LEVEL_ERROR, NULL);
	if (pump_worker_init("heartbeat = 0\nmax_package_size = 4k",
	    &fuzz_tls) != 0) {
		abort();
	}
	fuzz_client = SSL_CTX_new(TLS_client_method());
	if (fuzz_client == NULL) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct xprt_ops	*xprt;
	struct pump		 p;
	size_t			 off, n, chunk;
	bool			 inside;

	if (fuzz_tls == NULL) {
		fuzz_init();
	}
	if (size < 1) {
		return 0;
	}
	inside = data[0] & 1;
	xprt = data[0] & 2 ? &xprt_tls : &xprt_detect;
	chunk = (size_t)(data[0] >> 2) + 1;
	data++;
	size--;

	if (pump_open(&p, xprt, fuzz_tls, inside ? fuzz_client : NULL) != 0) {
		abort();
	}
	if (inside) {
		pump_run(&p);
		if (!pump_tls_done(&p)) {
			abort();
		}
	}
	for (off = 0; off < size && !p.closed; off += n) {
		n = size - off < chunk ? size - off : chunk;
		pump_send(&p, data + off, n);
		pump_run(&p);
	}
	pump_close(&p);
	if (!TAILQ_EMPTY(&worker->conns) || !TAILQ_EMPTY(&worker->dead)) {
		abort();
	}
	return 0;
}
