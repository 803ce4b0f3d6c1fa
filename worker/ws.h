/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The server side of a WebSocket connection (RFC 6455), in two parts that
 * do no I/O: the HTTP/1.1 upgrade request (ws-http.c), parsed with
 * libhttp-parser and answered with 101 or an HTTP error, then frames
 * (ws-frame.c), read and written here with wslay's definitions. The
 * framing layer (frame-ws.c) feeds the codec the bytes it reads and gives
 * it a callback that queues bytes for the peer.
 */

#ifndef WORKER_WS_H
#define WORKER_WS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ws;

/* Copied by ws_create(); 0 means the default (1 MiB, 8 KiB). */
struct ws_conf {
	size_t	 max_message;	/* largest data message, reassembled */
	size_t	 max_request;	/* largest upgrade request, headers included */
};

/* Queues <len> bytes for the peer. Returns 0 or -errno. */
typedef int (*ws_write_cb)(void *arg, const void *data, size_t len);

/*
 * Called once per complete data message (binary, or text), after any
 * reassembly of fragments. <data> is valid only during the call. A
 * non-zero return stops ws_feed(), which returns it; the rest of that
 * input is dropped and every later ws_feed() returns the same value, but
 * ws_sendv() and ws_close() still work. Neither callback may destroy the
 * ws.
 */
typedef int (*ws_message_cb)(void *arg, const uint8_t *data, size_t len);

struct ws_callbacks {
	ws_write_cb	 write;
	ws_message_cb	 message;
};

/* ws_feed() returns this when the connection is to be closed once the
 * queued bytes are written: an HTTP error was answered, or the close
 * handshake is complete. */
#define WS_FEED_CLOSE	1

struct ws	*ws_create(const struct ws_conf *conf,
		     const struct ws_callbacks *cb, void *arg);
void		 ws_destroy(struct ws *ws);

/*
 * Feeds bytes read from the peer: first the upgrade request (answered
 * through the write callback with 101, or with 400, 405, 426 or 431 and
 * WS_FEED_CLOSE), then frames; frames that follow the request in the same
 * feed are read too. Pings are answered, a close frame is answered and
 * gives WS_FEED_CLOSE. Unmasked frames, oversize messages (1009,
 * -EMSGSIZE), bad opcodes, bad UTF-8 in a text message or a close reason
 * (1007) and other protocol errors (1002) send a close frame with the
 * RFC 6455 code and return -EPROTO (or -EMSGSIZE). A failed write callback
 * returns its error. Returns 0 to go on. Once it returned anything else,
 * every later call returns the same and reads nothing.
 */
int		 ws_feed(struct ws *ws, const uint8_t *data, size_t len);

/* True once the upgrade has been answered with 101. */
int		 ws_is_open(const struct ws *ws);

/*
 * Sends one binary frame holding the <iovcnt> parts back to back: the
 * header in one write callback, then one per non-empty part. Returns 0,
 * -ENOTCONN before the upgrade, -EPIPE once a close frame was sent or a
 * write failed, or the write callback's error.
 */
int		 ws_sendv(struct ws *ws, const struct iovec *iov, int iovcnt);

/*
 * Sends a close frame with <code> and <reason> (may be NULL; cut to 123
 * bytes on a UTF-8 boundary); at most once: a later call returns 0 and
 * sends nothing. Returns -ENOTCONN before the upgrade, -EINVAL for a code
 * outside 1000-1003, 1007-1014 and 3000-4999.
 */
int		 ws_close(struct ws *ws, uint16_t code, const char *reason);

/*
 * The heap bytes the connection holds now, as the allocator counts them (malloc_usable_size()): for statistics and tests.
 */
size_t		 ws_memory(const struct ws *ws);

/*
 * The request target of the upgrade request, path and query as sent
 * (borrowed), or NULL before the upgrade.
 */
const char	*ws_path(const struct ws *ws);

/* A short description of the last error, for the log; borrowed. */
const char	*ws_error(const struct ws *ws);

/* The upgrade request (ws-http.c), which ws_feed() drives. */

struct ws_http;

/* What answers a complete upgrade request. */
struct ws_http_answer {
	char		 text[512];	/* the HTTP response to write */
	size_t		 len;
	const char	*why;		/* WS_HTTP_REJECT: for the log */
	char		*path;		/* WS_HTTP_UPGRADE: the request
					 * target, the caller's to free */
};

#define WS_HTTP_MORE	0	/* the request is not complete yet */
#define WS_HTTP_UPGRADE	1	/* accepted: 101 in the answer */
#define WS_HTTP_REJECT	2	/* refused: an HTTP error, then close */

/* A parser for one request of at most <max_request> bytes. */
struct ws_http	*ws_http_create(size_t max_request);
void		 ws_http_destroy(struct ws_http *h);

/*
 * Parses the next <len> bytes of the request. <*ret_used> gets how many
 * were part of it (on WS_HTTP_UPGRADE the rest are frames). Returns
 * WS_HTTP_MORE, or WS_HTTP_UPGRADE or WS_HTTP_REJECT with <*ret> filled
 * in; the parser must not be fed after that.
 */
int		 ws_http_feed(struct ws_http *h, const uint8_t *data,
		     size_t len, size_t *ret_used, struct ws_http_answer *ret);

/* The heap bytes <h> holds (0 for NULL). */
size_t		 ws_http_memory(const struct ws_http *h);

/* base64(SHA-1(key + GUID)) into <out> (29 bytes with the NUL). */
void		 ws_accept_key(const char *key, size_t key_len, char *out);

#endif
