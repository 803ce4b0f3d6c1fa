/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The Sec-WebSocket-Accept value of RFC 6455 §4.2.2, shared by the load
 * generator (to check the server's) and the bare-epoll responder (to send
 * its own).
 */

#ifndef BENCH_WS_ACCEPT_H
#define BENCH_WS_ACCEPT_H

#include <stddef.h>

#define WS_ACCEPT_LEN	28	/* base64 of a SHA-1 digest */

/* Writes base64(SHA-1(<key> + GUID)) and a NUL to <out>, 29 bytes. */
void	 ws_accept_compute(const char *key, size_t key_len, char *out);

#endif
