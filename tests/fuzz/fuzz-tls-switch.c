/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for a client connection's first layers with TLS in
 * front: the bytes reach a real connection (conn.c on a socketpair,
 * tests/unit/tls-pump.c) through the detecting layer of tls = optional or
 * the TLS layer of tls = on, then the switcher, the raw TCP or WebSocket
 * framing and the Pomelo session.
 *
 * The first input byte chooses. Bits 0-1, what the rest is:
 *   0  raw bytes on the socket (plain bytes, or a made-up TLS stream);
 *   1  application data inside a real TLS session a client makes first
 *      over memory BIOs;
 *   2  raw bytes after a real TLS 1.3 handshake: records the lean TLS 1.3
 *      layer must refuse (worker/xprt-tls13.c);
 *   3  after a real TLS 1.3 handshake, records sealed with the client's
 *      real keys whose inner plaintext the input chooses, as
 *      [type][length: 2 bytes][content]..., so content types, padding,
 *      alerts and handshake messages reach the layer authenticated.
 * Bit 2: tls = on instead of optional. Bits 3-7: the size of the chunks
 * the bytes are sent in (1 to 32), the worker running between them.
 * Besides memory errors it checks that a real client's handshake always
 * succeeds and that a finished input leaves no connection behind.
 */

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "common/log.h"
#include "common/tls.h"
#include "common/tls13.h"
#include "tests/unit/tls-pump.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_ctx	*fuzz_tls;
static SSL_CTX		*fuzz_client;
static SSL_CTX		*fuzz_client13;
static uint8_t		 fuzz_secret[2][TLS13_MAX_SECRET];	/* c, s */
static size_t		 fuzz_secret_len;

/* The client's key log: its application traffic secrets. */
static void
fuzz_keylog(const SSL *ssl, const char *line)
{
	const char	*p;
	int		 which;
	size_t		 n = 0;
	char		 hex[3] = { 0, 0, 0 };

	if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0) {
		which = 0;
	} else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0) {
		which = 1;
	} else {
		return;
	}
	if ((p = strchr(line + 24, ' ')) == NULL) {
		return;
	}
	for (p++; p[0] != '\0' && p[1] != '\0' && n < TLS13_MAX_SECRET;
	    p += 2) {
		hex[0] = p[0];
		hex[1] = p[1];
		fuzz_secret[which][n++] = (uint8_t)strtol(hex, NULL, 16);
	}
	fuzz_secret_len = n;
}

static void
fuzz_init(void)
{
	log_open('F', LOG_LEVEL_ERROR, NULL);
	if (pump_worker_init("heartbeat = 0\nmax_package_size = 4k",
	    &fuzz_tls) != 0) {
		abort();
	}
	fuzz_client = SSL_CTX_new(TLS_client_method());
	fuzz_client13 = SSL_CTX_new(TLS_client_method());
	if (fuzz_client == NULL || fuzz_client13 == NULL) {
		abort();
	}
	SSL_CTX_set_min_proto_version(fuzz_client13, TLS1_3_VERSION);
	SSL_CTX_set_keylog_callback(fuzz_client13, fuzz_keylog);
}

/* Mode 3: the input as inner plaintexts, sealed with the client's keys. */
static void
fuzz_sealed(struct pump *p, const uint8_t *data, size_t size, size_t chunk)
{
	uint8_t		 rec[TLS13_MAX_RECORD];
	struct tls13	 t;
	size_t		 off = 0, len;
	uint16_t	 suite;
	int		 n;

	suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p->ssl));
	if (tls13_init(&t, suite, fuzz_secret[1], fuzz_secret[0],
	    fuzz_secret_len) != 0) {
		abort();
	}
	while (off + 3 <= size && !p->closed) {
		len = ((size_t)data[off + 1] << 8) | data[off + 2];
		if (len > size - off - 3) {
			len = size - off - 3;
		}
		if (len > TLS13_MAX_PLAIN) {
			len = TLS13_MAX_PLAIN;
		}
		n = tls13_seal(&t, data[off], data + off + 3, len, rec);
		if (n < 0) {
			abort();
		}
		off += 3 + len;
		/* In chunks, so records also arrive in pieces. */
		for (len = 0; len < (size_t)n && !p->closed; len += chunk) {
			pump_send_raw(p, rec + len, (size_t)n - len < chunk ?
			    (size_t)n - len : chunk);
			pump_run(p);
		}
	}
	tls13_finish(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct xprt_ops	*xprt;
	struct pump		 p;
	size_t			 off, n, chunk;
	int			 mode;

	if (fuzz_tls == NULL) {
		fuzz_init();
	}
	if (size < 1) {
		return 0;
	}
	mode = data[0] & 3;
	xprt = data[0] & 4 ? &xprt_tls : &xprt_detect;
	chunk = (size_t)(data[0] >> 3) + 1;
	data++;
	size--;

	fuzz_secret_len = 0;
	if (pump_open(&p, xprt, fuzz_tls, mode == 0 ? NULL : mode == 1 ?
	    fuzz_client : fuzz_client13) != 0) {
		abort();
	}
	if (mode != 0) {
		pump_run(&p);
		if (!pump_tls_done(&p)) {
			abort();
		}
	}
	if (mode == 3) {
		if (fuzz_secret_len == 0) {
			abort();
		}
		fuzz_sealed(&p, data, size, chunk);
	} else {
		for (off = 0; off < size && !p.closed; off += n) {
			n = size - off < chunk ? size - off : chunk;
			if (mode == 2) {
				pump_send_raw(&p, data + off, n);
			} else {
				pump_send(&p, data + off, n);
			}
			pump_run(&p);
		}
	}
	pump_close(&p);
	if (!TAILQ_EMPTY(&worker->conns) || !TAILQ_EMPTY(&worker->dead)) {
		abort();
	}
	return 0;
}
