/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A worker in a test: the real conn.c, byte layers, switcher, framings
 * and session on one end of a socketpair, and a client on the other end
 * that writes plain bytes or speaks TLS through an OpenSSL client over
 * memory BIOs. The worker's event loop runs only inside pump_run(), so
 * a test decides when bytes move. Used by tests/unit/test-xprt-tls.c and
 * the fuzz target tests/fuzz/fuzz-tls-switch.c.
 */

#ifndef TESTS_UNIT_TLS_PUMP_H
#define TESTS_UNIT_TLS_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "worker/worker-int.h"

struct pump {
	int		 fd;		/* the client's end */
	SSL		*ssl;		/* the TLS client, or NULL: plain */
	bool		 closed;	/* the server closed its end */
	bool		 paused;	/* the client reads nothing for now */
	uint8_t		*in;		/* what the client received (plain) */
	size_t		 in_len;
	size_t		 in_cap;
};

/*
 * Makes the worker (the global <worker>) with a config whose [connector]
 * section is <connector>, the hello app's routes, and a TLS context
 * (a fresh self-signed certificate) in <ret_tls>. Returns 0 or -1.
 */
int	 pump_worker_init(const char *connector, struct tls_ctx **ret_tls);
void	 pump_worker_finish(struct tls_ctx *tls);

/*
 * Connects a client to a new connection whose byte layer is <xprt> set
 * up with <arg>. With <client> (a client SSL_CTX) the client speaks TLS;
 * its handshake runs as bytes are pumped. Returns 0 or -1.
 */
int	 pump_open(struct pump *p, const struct xprt_ops *xprt, void *arg,
	     SSL_CTX *client);
/* Sends <len> bytes: raw on the socket, or inside TLS (after its handshake). */
void	 pump_send(struct pump *p, const void *data, size_t len);
/* Sends <len> bytes on the socket as they are, even on a TLS client. */
void	 pump_send_raw(struct pump *p, const void *data, size_t len);
/* Moves bytes both ways and runs the worker until nothing moves. */
void	 pump_run(struct pump *p);
/* True once the client's TLS handshake is done. */
bool	 pump_tls_done(const struct pump *p);
/* Closes the client and every connection of the worker, and frees them. */
void	 pump_close(struct pump *p);

#endif
