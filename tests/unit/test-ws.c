/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the WebSocket transport: the RFC 6455 accept key, the upgrade
 * request fed whole and byte by byte, every HTTP refusal, client frames
 * built by a small masking encoder here (cut at every byte, fragmented,
 * several per feed), ping, close, the protocol errors with the close code
 * each one sends, the exact bytes ws_sendv() writes, and the heap an idle
 * open connection keeps.
 */

#include "config.h"

#include <sys/uio.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/ws.h"
#include "tests/unit/test.h"

#define MAX_MSGS	8

#define RFC_KEY		"dGhlIHNhbXBsZSBub25jZQ=="
/*
 * RFC 6455 §1.3 prints this value (with a Q after "Txa"); it is also
 * what Python's hashlib and base64 give for RFC_KEY.
 */
#define RFC_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* A browser's request (Chrome), with an extension offer to decline. */
static const char request[] =
	"GET /chat?room=1 HTTP/1.1\r\n"
	"Host: 127.0.0.1:3010\r\n"
	"Connection: Upgrade\r\n"
	"Pragma: no-cache\r\n"
	"Upgrade: websocket\r\n"
	"Origin: http://127.0.0.1:3001\r\n"
	"Sec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Key: " RFC_KEY "\r\n"
	"Sec-WebSocket-Extensions: permessage-deflate; "
	"client_max_window_bits\r\n"
	"\r\n";

static const char response_101[] =
	"HTTP/1.1 101 Switching Protocols\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
	"\r\n";

/* One connection and everything its callbacks saw. */
struct fx {
	struct ws	*ws;
	uint8_t		*out;		/* bytes written, NUL-terminated */
	size_t		 out_len;
	int		 writes;	/* write callback calls */
	int		 write_ret;	/* what the write callback returns */
	int		 msg_ret;	/* what the message callback returns */
	int		 n;
	uint8_t		*msg[MAX_MSGS];
	size_t		 msg_len[MAX_MSGS];
	size_t		 msg_mem[MAX_MSGS];	/* ws_memory() in the call */
};

static int
fx_write(void *arg, const void *data, size_t len)
{
	struct fx	*f = arg;

	f->writes++;
	if (f->write_ret != 0) {
		return f->write_ret;
	}
	f->out = realloc(f->out, f->out_len + len + 1);
	memcpy(f->out + f->out_len, data, len);
	f->out_len += len;
	f->out[f->out_len] = '\0';
	return 0;
}

static int
fx_message(void *arg, const uint8_t *data, size_t len)
{
	struct fx	*f = arg;

	if (f->n >= MAX_MSGS) {
		return -ENOSPC;
	}
	f->msg[f->n] = malloc(len + 1);
	memcpy(f->msg[f->n], data, len);
	f->msg_len[f->n] = len;
	f->msg_mem[f->n] = ws_memory(f->ws);
	f->n++;
	return f->msg_ret;
}

static void
fx_clear_out(struct fx *f)
{
	free(f->out);
	f->out = NULL;
	f->out_len = 0;
	f->writes = 0;
}

static void
fx_init(struct fx *f, size_t max_message, size_t max_request)
{
	struct ws_conf		 conf = { max_message, max_request };
	struct ws_callbacks	 cb = { fx_write, fx_message };

	memset(f, 0, sizeof *f);
	f->ws = ws_create(&conf, &cb, f);
}

static void
fx_finish(struct fx *f)
{
	int	 i;

	ws_destroy(f->ws);
	fx_clear_out(f);
	for (i = 0; i < f->n; i++) {
		free(f->msg[i]);
	}
	memset(f, 0, sizeof *f);
}

/* Creates a connection and upgrades it; returns what the feed returned. */
static int
fx_open(struct fx *f, size_t max_message)
{
	int	 r;

	fx_init(f, max_message, 4096);
	r = ws_feed(f->ws, (const uint8_t *)request, strlen(request));
	if (r != 0 || f->out == NULL || strcmp((char *)f->out,
	    response_101) != 0) {
		return r != 0 ? r : -1;
	}
	fx_clear_out(f);
	return 0;
}

/* Encodes one client frame; masked frames use a fixed key. */
static size_t
enc(uint8_t *dst, int fin, int rsv, int op, bool masked, const void *payload,
    size_t len)
{
	static const uint8_t	 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const uint8_t		*p = payload;
	uint8_t			 m = masked ? 0x80 : 0;
	size_t			 n = 0, i;

	dst[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
	if (len < 126) {
		dst[n++] = m | (uint8_t)len;
	} else if (len < 65536) {
		dst[n++] = m | 126;
		dst[n++] = (uint8_t)(len >> 8);
		dst[n++] = (uint8_t)len;
	} else {
		dst[n++] = m | 127;
		for (i = 0; i < 8; i++) {
			dst[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		}
	}
	if (masked) {
		memcpy(dst + n, key, 4);
		n += 4;
	}
	for (i = 0; i < len; i++) {
		dst[n + i] = p[i] ^ (masked ? key[i % 4] : 0);
	}
	return n + len;
}

/* A masked FIN frame. */
static size_t
enc_msg(uint8_t *dst, int op, const char *payload)
{
	return enc(dst, 1, 0, op, true, payload, strlen(payload));
}

/* Feeds <len> bytes in pieces of <chunk>; the first non-zero return. */
static int
feed_chunks(struct ws *ws, const void *data, size_t len, size_t chunk)
{
	const uint8_t	*p = data;
	size_t		 off, n;
	int		 r;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		r = ws_feed(ws, p + off, n);
		if (r != 0) {
			return r;
		}
	}
	return 0;
}

TEST(accept_key_rfc)
{
	char	 out[29];
	char	 key[100];

	ws_accept_key(RFC_KEY, strlen(RFC_KEY), out);
	ASSERT_STR_EQ(out, RFC_ACCEPT);
	/* A key longer than the stack buffer takes the heap path. */
	memset(key, 'k', sizeof key);
	ws_accept_key(key, sizeof key, out);
	ASSERT_STR_EQ(out, "rWzVOVhJgr+k5nChyKqRW0+OIwk=");
}

TEST(upgrade_one_piece)
{
	struct fx	 f;

	fx_init(&f, 1024, 4096);
	ASSERT_TRUE(ws_path(f.ws) == NULL);
	ASSERT_EQ(ws_is_open(f.ws), 0);
	ASSERT_EQ(ws_feed(f.ws, (const uint8_t *)request, strlen(request)), 0);
	ASSERT_STR_EQ((char *)f.out, response_101);
	ASSERT_EQ(f.writes, 1);
	ASSERT_TRUE(ws_is_open(f.ws));
	ASSERT_STR_EQ(ws_path(f.ws), "/chat?room=1");
	ASSERT_EQ(f.n, 0);
	fx_finish(&f);
}

TEST(upgrade_byte_by_byte)
{
	struct fx	 f;
	size_t		 i, len = strlen(request);

	fx_init(&f, 1024, 4096);
	for (i = 0; i < len; i++) {
		ASSERT_EQ(ws_feed(f.ws, (const uint8_t *)request + i, 1), 0);
		if (i + 1 < len) {
			ASSERT_EQ(f.out_len, 0);
			ASSERT_EQ(ws_is_open(f.ws), 0);
		}
	}
	ASSERT_STR_EQ((char *)f.out, response_101);
	ASSERT_STR_EQ(ws_path(f.ws), "/chat?room=1");
	fx_finish(&f);
}

/* Node's ws client: lower-case names, a token list, a longer key. */
TEST(upgrade_case_and_lists)
{
	static const char req[] =
		"GET / HTTP/1.1\r\n"
		"sec-websocket-version:13\r\n"
		"sec-websocket-key:   " RFC_KEY "   \r\n"
		"connection: keep-alive, UPGRADE\r\n"
		"upgrade: WebSocket\r\n"
		"host: localhost\r\n"
		"\r\n";
	struct fx	 f;

	fx_init(&f, 1024, 4096);
	ASSERT_EQ(feed_chunks(f.ws, req, strlen(req), 7), 0);
	ASSERT_STR_EQ((char *)f.out, response_101);
	ASSERT_STR_EQ(ws_path(f.ws), "/");
	fx_finish(&f);
}

/*
 * Feeds <req> in pieces of <chunk> and checks the shape of an HTTP error
 * answer; returns its status, or a negative value if anything is off.
 * The response is copied to <resp>.
 */
static int
reject_status(const char *req, size_t max_request, size_t chunk,
    char *resp, size_t resp_size)
{
	struct fx	 f;
	const char	*cl, *body;
	int		 status = -1;
	size_t		 clen;

	resp[0] = '\0';
	fx_init(&f, 1024, max_request);
	if (feed_chunks(f.ws, req, strlen(req), chunk) != WS_FEED_CLOSE ||
	    f.out == NULL) {
		goto out;
	}
	snprintf(resp, resp_size, "%s", (char *)f.out);
	if (strncmp(resp, "HTTP/1.1 ", 9) != 0 ||
	    strstr(resp, "\r\nConnection: close\r\n") == NULL ||
	    (cl = strstr(resp, "\r\nContent-Length: ")) == NULL ||
	    (body = strstr(resp, "\r\n\r\n")) == NULL) {
		status = -2;
		goto out;
	}
	clen = strtoul(cl + 18, NULL, 10);
	if (clen == 0 || strlen(body + 4) != clen) {
		status = -3;
		goto out;
	}
	/* Closed: later bytes are ignored and nothing more is written. */
	fx_clear_out(&f);
	if (ws_feed(f.ws, (const uint8_t *)"x", 1) != WS_FEED_CLOSE ||
	    f.out_len != 0 || ws_is_open(f.ws)) {
		status = -4;
		goto out;
	}
	status = atoi(resp + 9);
out:
	fx_finish(&f);
	return status;
}

#define REQ_HEAD	"GET / HTTP/1.1\r\nHost: h\r\n"
#define REQ_UPGRADE	"Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define REQ_VERSION	"Sec-WebSocket-Version: 13\r\n"
#define REQ_KEY		"Sec-WebSocket-Key: " RFC_KEY "\r\n"

TEST(reject_http)
{
	static const struct {
		const char	*req;
		int		 status;
		const char	*header;	/* also in the answer */
	} cases[] = {
		/* A plain GET: not a WebSocket request. */
		{ REQ_HEAD "\r\n", 426, "\r\nUpgrade: websocket\r\n" },
		{ REQ_HEAD REQ_VERSION REQ_KEY "\r\n", 426, "Upgrade:" },
		{ "POST / HTTP/1.1\r\nHost: h\r\n" REQ_UPGRADE REQ_VERSION
		    REQ_KEY "\r\n", 405, "\r\nAllow: GET\r\n" },
		{ "PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 405,
		    "Allow: GET" },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", 405, "Allow: GET" },
		{ REQ_HEAD REQ_UPGRADE REQ_KEY "\r\n", 426,
		    "\r\nSec-WebSocket-Version: 13\r\n" },
		{ REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Version: 8\r\n" REQ_KEY
		    "\r\n", 426, "\r\nSec-WebSocket-Version: 13\r\n" },
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION "\r\n", 400, NULL },
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION
		    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", 400,
		    NULL },
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION
		    "Sec-WebSocket-Key: not base64!\r\n\r\n", 400, NULL },
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION REQ_KEY REQ_KEY "\r\n", 400,
		    NULL },
		{ REQ_HEAD "Upgrade: h2c\r\nConnection: Upgrade\r\n"
		    REQ_VERSION REQ_KEY "\r\n", 400, NULL },
		{ REQ_HEAD "Upgrade: websocket\r\nConnection: keep-alive\r\n"
		    REQ_VERSION REQ_KEY "\r\n", 400, NULL },
		{ "GET / HTTP/1.0\r\n" REQ_UPGRADE REQ_VERSION REQ_KEY "\r\n",
		    400, NULL },
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION REQ_KEY
		    "Content-Length: 5\r\n\r\nhello", 400, NULL },
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION REQ_KEY
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, NULL },
		/* Malformed. */
		{ "GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, NULL },
		{ "GET / HTTP/1.1\r\n\x01\x02\x03\r\n\r\n", 400, NULL },
		{ "GET  HTTP/1.1\r\n\r\n", 400, NULL },
		{ "GET / FTP/1.1\r\n\r\n", 400, NULL },
		{ "GET / HTTP/1.1\n\n\x80\x81", 426, NULL },
		/* Too large for max_request (256 here). */
		{ REQ_HEAD REQ_UPGRADE REQ_VERSION REQ_KEY
		    "X-Pad: 0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789\r\n\r\n", 431,
		    NULL },
		{ "GET /0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890123456789", 431, NULL },
	};
	static const size_t	 chunks[] = { 1, 3, 100000 };
	char			 resp[1024];
	size_t			 i, j;
	int			 st;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (j = 0; j < sizeof chunks / sizeof chunks[0]; j++) {
			st = reject_status(cases[i].req, 256, chunks[j], resp,
			    sizeof resp);
			if (st != cases[i].status) {
				fprintf(stderr, "case %zu, chunk %zu: %s\n", i,
				    chunks[j], resp);
			}
			ASSERT_EQ(st, cases[i].status);
			if (cases[i].header != NULL) {
				ASSERT_STR_CONTAINS(resp, cases[i].header);
			}
		}
	}
}

/* The request as large as the limit is fine; one byte more is not. */
TEST(max_request_edge)
{
	struct fx	 f;
	char		 resp[1024];
	size_t		 len = strlen(request);

	fx_init(&f, 1024, len);
	ASSERT_EQ(ws_feed(f.ws, (const uint8_t *)request, len), 0);
	ASSERT_STR_EQ((char *)f.out, response_101);
	fx_finish(&f);
	ASSERT_EQ(reject_status(request, len - 1, 1, resp, sizeof resp), 431);
}

/* A client's first frame in the same segment as its request. */
TEST(frame_after_request)
{
	struct fx	 f;
	uint8_t		 buf[1024];
	size_t		 len = strlen(request);

	memcpy(buf, request, len);
	len += enc(buf + len, 1, 0, 2, true, "\x01\x00\x00\x02{}", 6);
	fx_init(&f, 1024, 4096);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_STR_EQ((char *)f.out, response_101);
	ASSERT_EQ(f.n, 1);
	ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], "\x01\x00\x00\x02{}", 6);
	fx_finish(&f);
}

TEST(binary_and_text_messages)
{
	struct fx	 f;
	uint8_t		 buf[256];
	size_t		 len;

	ASSERT_EQ(fx_open(&f, 1024), 0);
	len = enc(buf, 1, 0, 2, true, "\x04\x00\x00\x05hello", 9);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	len = enc_msg(buf, 1, "caf\xc3\xa9 \xf0\x9f\x8d\x8a");
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	len = enc(buf, 1, 0, 2, true, "", 0);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_EQ(f.n, 3);
	ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], "\x04\x00\x00\x05hello", 9);
	ASSERT_MEM_EQ(f.msg[1], f.msg_len[1], "caf\xc3\xa9 \xf0\x9f\x8d\x8a",
	    10);
	ASSERT_EQ(f.msg_len[2], 0);
	ASSERT_EQ(f.out_len, 0);
	fx_finish(&f);
}

TEST(two_frames_one_feed)
{
	struct fx	 f;
	uint8_t		 buf[256];
	size_t		 len;

	ASSERT_EQ(fx_open(&f, 1024), 0);
	len = enc_msg(buf, 2, "first");
	len += enc_msg(buf + len, 2, "second");
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_EQ(f.n, 2);
	ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], "first", 5);
	ASSERT_MEM_EQ(f.msg[1], f.msg_len[1], "second", 6);
	fx_finish(&f);
}

/* Fragments, with a ping between them; the pong goes out at once. */
TEST(fragmented_message)
{
	struct fx	 f;
	uint8_t		 buf[256];
	size_t		 len, chunk;

	for (chunk = 1; chunk <= 256; chunk *= 4) {
		ASSERT_EQ(fx_open(&f, 1024), 0);
		len = enc(buf, 0, 0, 2, true, "hel", 3);
		len += enc(buf + len, 0, 0, 0, true, "lo ", 3);
		len += enc(buf + len, 1, 0, 9, true, "p", 1);
		len += enc(buf + len, 0, 0, 0, true, "", 0);
		len += enc(buf + len, 1, 0, 0, true, "world", 5);
		ASSERT_EQ(feed_chunks(f.ws, buf, len, chunk), 0);
		ASSERT_EQ(f.n, 1);
		ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], "hello world", 11);
		ASSERT_MEM_EQ(f.out, f.out_len, "\x8a\x01p", 3);
		fx_finish(&f);
	}
}

/* A message of 70000 bytes, larger than any one read, in odd pieces. */
TEST(large_message)
{
	static const size_t	 chunks[] = { 1000, 4099, 70014 };
	struct fx		 f;
	uint8_t			*payload, *buf;
	size_t			 i, len, n = 70000;

	payload = malloc(n);
	buf = malloc(n + 14);
	for (i = 0; i < n; i++) {
		payload[i] = (uint8_t)(i * 7 + 3);
	}
	len = enc(buf, 1, 0, 2, true, payload, n);
	ASSERT_EQ(len, n + 14);
	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		ASSERT_EQ(fx_open(&f, 100000), 0);
		ASSERT_EQ(feed_chunks(f.ws, buf, len, chunks[i]), 0);
		ASSERT_EQ(f.n, 1);
		ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], payload, n);
		fx_finish(&f);
	}
	free(payload);
	free(buf);
}

/* Two frames cut at every byte, then fed one byte at a time. */
TEST(split_at_every_byte)
{
	struct fx	 f;
	uint8_t		 buf[512];
	char		 big[300];
	size_t		 len, i;

	memset(big, 'z', sizeof big);
	len = enc(buf, 1, 0, 2, true, big, sizeof big);
	len += enc_msg(buf + len, 9, "hb");
	len += enc(buf + len, 1, 0, 2, true, "\x03\x00\x00\x00", 4);
	for (i = 0; i <= len; i++) {
		ASSERT_EQ(fx_open(&f, 1024), 0);
		ASSERT_EQ(ws_feed(f.ws, buf, i), 0);
		ASSERT_EQ(ws_feed(f.ws, buf + i, len - i), 0);
		ASSERT_EQ(f.n, 2);
		ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], big, sizeof big);
		ASSERT_MEM_EQ(f.msg[1], f.msg_len[1], "\x03\x00\x00\x00", 4);
		ASSERT_MEM_EQ(f.out, f.out_len, "\x8a\x02hb", 4);
		fx_finish(&f);
	}
	ASSERT_EQ(fx_open(&f, 1024), 0);
	ASSERT_EQ(feed_chunks(f.ws, buf, len, 1), 0);
	ASSERT_EQ(f.n, 2);
	ASSERT_MEM_EQ(f.msg[0], f.msg_len[0], big, sizeof big);
	fx_finish(&f);
}

TEST(ping_pong)
{
	struct fx	 f;
	uint8_t		 buf[256];
	char		 big[125];
	uint8_t		 want[127];
	size_t		 len;

	ASSERT_EQ(fx_open(&f, 1024), 0);
	len = enc_msg(buf, 9, "ping");
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x8a\x04ping", 6);
	fx_clear_out(&f);
	/* An empty ping, a pong (ignored), a ping of the largest size. */
	len = enc(buf, 1, 0, 9, true, "", 0);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x8a\x00", 2);
	fx_clear_out(&f);
	len = enc_msg(buf, 10, "unsolicited");
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_EQ(f.out_len, 0);
	memset(big, 'p', sizeof big);
	len = enc(buf, 1, 0, 9, true, big, sizeof big);
	ASSERT_EQ(feed_chunks(f.ws, buf, len, 5), 0);
	want[0] = 0x8a;
	want[1] = 125;
	memcpy(want + 2, big, sizeof big);
	ASSERT_MEM_EQ(f.out, f.out_len, want, sizeof want);
	ASSERT_EQ(f.n, 0);
	fx_finish(&f);
}

TEST(close_handshake)
{
	struct fx	 f;
	uint8_t		 buf[256];
	size_t		 len;

	/* The code is echoed; the reason is not. */
	ASSERT_EQ(fx_open(&f, 1024), 0);
	len = enc(buf, 1, 0, 8, true, "\x03\xe9" "bye", 5);
	len += enc_msg(buf + len, 2, "after close");
	ASSERT_EQ(ws_feed(f.ws, buf, len), WS_FEED_CLOSE);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x88\x02\x03\xe9", 4);
	ASSERT_EQ(f.n, 0);
	fx_clear_out(&f);
	ASSERT_EQ(ws_feed(f.ws, buf, len), WS_FEED_CLOSE);
	ASSERT_EQ(f.out_len, 0);
	ASSERT_EQ(ws_close(f.ws, 1000, NULL), 0);
	ASSERT_EQ(f.out_len, 0);
	ASSERT_EQ(ws_sendv(f.ws, NULL, 0), -EPIPE);
	fx_finish(&f);

	/* No code: answered with 1000. */
	ASSERT_EQ(fx_open(&f, 1024), 0);
	len = enc(buf, 1, 0, 8, true, "", 0);
	ASSERT_EQ(feed_chunks(f.ws, buf, len, 1), WS_FEED_CLOSE);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x88\x02\x03\xe8", 4);
	fx_finish(&f);
}

/* We close first: one close frame, and the peer's answer ends it. */
TEST(server_close)
{
	struct fx	 f;
	uint8_t		 buf[256];
	char		 reason[200];
	size_t		 len;
	struct iovec	 iov = { (void *)"x", 1 };

	fx_init(&f, 1024, 4096);
	ASSERT_EQ(ws_close(f.ws, 1000, NULL), -ENOTCONN);
	ASSERT_EQ(ws_sendv(f.ws, &iov, 1), -ENOTCONN);
	fx_finish(&f);

	ASSERT_EQ(fx_open(&f, 1024), 0);
	ASSERT_EQ(ws_close(f.ws, 1005, NULL), -EINVAL);
	ASSERT_EQ(f.out_len, 0);
	ASSERT_EQ(ws_close(f.ws, 1000, "bye"), 0);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x88\x05\x03\xe8" "bye", 7);
	ASSERT_EQ(ws_close(f.ws, 1001, "again"), 0);
	ASSERT_EQ(f.out_len, 7);
	ASSERT_EQ(ws_sendv(f.ws, &iov, 1), -EPIPE);
	fx_clear_out(&f);
	/* Data and pings after our close are dropped, unanswered. */
	len = enc_msg(buf, 2, "late");
	len += enc_msg(buf + len, 9, "p");
	len += enc(buf + len, 1, 0, 8, true, "\x03\xe8", 2);
	ASSERT_EQ(ws_feed(f.ws, buf, len), WS_FEED_CLOSE);
	ASSERT_EQ(f.out_len, 0);
	ASSERT_EQ(f.n, 0);
	fx_finish(&f);

	/* A long reason is cut to 123 bytes, on a character boundary. */
	ASSERT_EQ(fx_open(&f, 1024), 0);
	memset(reason, 'a', sizeof reason);
	memcpy(reason + 121, "\xc3\xa9", 2);	/* bytes 121-122 */
	memcpy(reason + 123, "\xc3\xa9", 2);	/* bytes 123-124: cut */
	reason[sizeof reason - 1] = '\0';
	ASSERT_EQ(ws_close(f.ws, 4000, reason), 0);
	ASSERT_EQ(f.out_len, 2 + 2 + 123);
	ASSERT_EQ(f.out[1], 125);
	ASSERT_MEM_EQ(f.out + 4, 123, reason, 123);
	fx_finish(&f);

	ASSERT_EQ(fx_open(&f, 1024), 0);
	memcpy(reason + 122, "\xc3\xa9", 2);	/* bytes 122-123: cut */
	ASSERT_EQ(ws_close(f.ws, 4000, reason), 0);
	ASSERT_EQ(f.out_len, 2 + 2 + 122);
	fx_finish(&f);
}

/* Feeds one frame to a fresh connection: what ws_feed() returned. */
static int
bad_frame(const uint8_t *frame, size_t len, uint16_t want_code,
    size_t max_message)
{
	struct fx	 f;
	int		 r;
	uint8_t		 want[4] = { 0x88, 0x02, want_code >> 8,
	    want_code & 0xff };

	if (fx_open(&f, max_message) != 0) {
		return 1000;
	}
	r = ws_feed(f.ws, frame, len);
	if (f.out_len != 4 || memcmp(f.out, want, 4) != 0 || f.n != 0) {
		test_hexdump("close frame", f.out, f.out_len);
		r = 1001;
	} else {
		/* Failed for good: nothing more is read or written. */
		fx_clear_out(&f);
		if (ws_feed(f.ws, frame, len) != r || f.out_len != 0 ||
		    ws_close(f.ws, 1000, NULL) != 0 || f.out_len != 0) {
			r = 1002;
		}
	}
	fx_finish(&f);
	return r;
}

TEST(protocol_errors)
{
	uint8_t		 buf[512];
	char		 big[200];
	size_t		 len;

	memset(big, 'b', sizeof big);
	len = enc(buf, 1, 0, 2, false, "hi", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 4, 2, true, "hi", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 1, 2, true, "hi", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 0, 3, true, "hi", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 0, 0xb, true, "", 0);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	/* Control frames: too long, fragmented. */
	len = enc(buf, 1, 0, 9, true, big, 126);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 0, 0, 9, true, "p", 1);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	/* A continuation without a start; a start inside a message. */
	len = enc(buf, 1, 0, 0, true, "hi", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 0, 0, 2, true, "hi", 2);
	len += enc(buf + len, 1, 0, 1, true, "hi", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	/* A length not in its shortest form. */
	memcpy(buf, "\x82\xfe\x00\x05\x00\x00\x00\x00hello", 13);
	ASSERT_EQ(bad_frame(buf, 13, 1002, 1024), -EPROTO);
	/* Close frames: one byte, a bad code, a bad reason. */
	len = enc(buf, 1, 0, 8, true, "\x03", 1);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 0, 8, true, "\x03\xe7", 2);
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 0, 8, true, "\x03\xee", 2);	/* 1006 */
	ASSERT_EQ(bad_frame(buf, len, 1002, 1024), -EPROTO);
	len = enc(buf, 1, 0, 8, true, "\x03\xe8\xc3\x28", 4);
	ASSERT_EQ(bad_frame(buf, len, 1007, 1024), -EPROTO);
	/* Text that is not UTF-8: a bad byte, an overlong form, a
	 * surrogate, a truncated sequence. */
	len = enc_msg(buf, 1, "\xff");
	ASSERT_EQ(bad_frame(buf, len, 1007, 1024), -EPROTO);
	len = enc_msg(buf, 1, "\xc0\xaf");
	ASSERT_EQ(bad_frame(buf, len, 1007, 1024), -EPROTO);
	len = enc_msg(buf, 1, "\xed\xa0\x80");
	ASSERT_EQ(bad_frame(buf, len, 1007, 1024), -EPROTO);
	len = enc_msg(buf, 1, "ok\xe2\x82");
	ASSERT_EQ(bad_frame(buf, len, 1007, 1024), -EPROTO);
}

TEST(oversize)
{
	uint8_t		 buf[512];
	char		 big[200];
	size_t		 len;
	struct fx	 f;

	memset(big, 'b', sizeof big);
	/* One frame over the limit, refused from its header. */
	len = enc(buf, 1, 0, 2, true, big, 101);
	ASSERT_EQ(bad_frame(buf, 8, 1009, 100), -EMSGSIZE);
	ASSERT_EQ(bad_frame(buf, len, 1009, 100), -EMSGSIZE);
	/* Fragments that add up to more. */
	len = enc(buf, 0, 0, 2, true, big, 60);
	len += enc(buf + len, 1, 0, 0, true, big, 41);
	ASSERT_EQ(bad_frame(buf, len, 1009, 100), -EMSGSIZE);
	/* A length that would overflow the sum. */
	memcpy(buf, "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\0\0\0\0x", 15);
	ASSERT_EQ(bad_frame(buf, 15, 1009, 100), -EMSGSIZE);
	/* Exactly the limit is fine. */
	ASSERT_EQ(fx_open(&f, 100), 0);
	len = enc(buf, 0, 0, 2, true, big, 60);
	len += enc(buf + len, 1, 0, 0, true, big, 40);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_EQ(f.n, 1);
	ASSERT_EQ(f.msg_len[0], 100);
	fx_finish(&f);
}

/* A non-zero return from the message callback stops the feed for good. */
TEST(callback_stops)
{
	struct fx	 f;
	uint8_t		 buf[256];
	size_t		 len;

	ASSERT_EQ(fx_open(&f, 1024), 0);
	f.msg_ret = -EBADMSG;
	len = enc_msg(buf, 2, "one");
	len += enc_msg(buf + len, 2, "two");
	ASSERT_EQ(ws_feed(f.ws, buf, len), -EBADMSG);
	ASSERT_EQ(f.n, 1);
	ASSERT_EQ(ws_feed(f.ws, buf, len), -EBADMSG);
	ASSERT_EQ(f.n, 1);
	/* The session may still say goodbye. */
	ASSERT_EQ(ws_close(f.ws, 1008, NULL), 0);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x88\x02\x03\xf0", 4);
	fx_finish(&f);
}

TEST(write_failure)
{
	struct fx	 f;
	uint8_t		 buf[64];
	size_t		 len;
	struct iovec	 iov = { (void *)"x", 1 };

	fx_init(&f, 1024, 4096);
	f.write_ret = -ENOBUFS;
	ASSERT_EQ(ws_feed(f.ws, (const uint8_t *)request, strlen(request)),
	    -ENOBUFS);
	fx_finish(&f);

	ASSERT_EQ(fx_open(&f, 1024), 0);
	f.write_ret = -ENOBUFS;
	len = enc_msg(buf, 9, "p");
	len += enc_msg(buf + len, 2, "data");
	ASSERT_EQ(ws_feed(f.ws, buf, len), -ENOBUFS);
	ASSERT_EQ(ws_sendv(f.ws, &iov, 1), -EPIPE);
	ASSERT_EQ(ws_close(f.ws, 1000, NULL), -EPIPE);
	/* Failed for good: later input is not read. */
	ASSERT_EQ(ws_feed(f.ws, buf + len - 10, 10), -ENOBUFS);
	ASSERT_EQ(f.n, 0);
	ASSERT_EQ(f.writes, 1);
	ASSERT_STR_EQ(ws_error(f.ws), "write failed");
	fx_finish(&f);
}

/* ws_sendv() output for the three length encodings. */
static int
sendv_check(size_t n, const uint8_t *head, size_t head_len)
{
	struct fx	 f;
	struct iovec	 iov[3];
	uint8_t		*payload;
	size_t		 i, a = n / 3, b = n / 2;
	int		 ok;

	payload = malloc(n);
	for (i = 0; i < n; i++) {
		payload[i] = (uint8_t)(i ^ (i >> 8));
	}
	iov[0].iov_base = payload;
	iov[0].iov_len = a;
	iov[1].iov_base = payload + a;
	iov[1].iov_len = b - a;
	iov[2].iov_base = payload + b;
	iov[2].iov_len = n - b;
	if (fx_open(&f, 1024) != 0) {
		free(payload);
		return 0;
	}
	ok = ws_sendv(f.ws, iov, 3) == 0 && f.out_len == head_len + n &&
	    memcmp(f.out, head, head_len) == 0 &&
	    memcmp(f.out + head_len, payload, n) == 0;
	if (!ok) {
		test_hexdump("head", f.out, f.out_len < 16 ? f.out_len : 16);
	}
	fx_finish(&f);
	free(payload);
	return ok;
}

TEST(sendv_bytes)
{
	struct fx	 f;

	ASSERT_TRUE(sendv_check(5, (const uint8_t *)"\x82\x05", 2));
	ASSERT_TRUE(sendv_check(125, (const uint8_t *)"\x82\x7d", 2));
	ASSERT_TRUE(sendv_check(126, (const uint8_t *)"\x82\x7e\x00\x7e", 4));
	ASSERT_TRUE(sendv_check(200, (const uint8_t *)"\x82\x7e\x00\xc8", 4));
	ASSERT_TRUE(sendv_check(65535,
	    (const uint8_t *)"\x82\x7e\xff\xff", 4));
	ASSERT_TRUE(sendv_check(70000,
	    (const uint8_t *)"\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
	ASSERT_EQ(fx_open(&f, 1024), 0);
	ASSERT_EQ(ws_sendv(f.ws, NULL, 0), 0);
	ASSERT_MEM_EQ(f.out, f.out_len, "\x82\x00", 2);
	fx_finish(&f);
}

/*
 * An idle open connection keeps only struct ws and its path; the frame
 * reader's state lives only while a frame is cut between feeds, and a
 * message buffer only while a message is reassembled.
 */
TEST(idle_memory)
{
	struct fx	 f;
	uint8_t		 buf[256];
	size_t		 len, fresh, idle, mid, frag;

	fx_init(&f, 1024, 4096);
	fresh = ws_memory(f.ws);
	fx_finish(&f);
	ASSERT_EQ(fx_open(&f, 1024), 0);
	idle = ws_memory(f.ws);
	printf("# before the upgrade: %zu heap bytes, idle open: %zu\n",
	    fresh, idle);
	ASSERT_LE(idle, 128);
	ASSERT_GT(fresh, idle);

	/* Cut inside the third frame: the reader's state is held. */
	len = enc(buf, 0, 0, 2, true, "frag", 4);
	len += enc(buf + len, 1, 0, 0, true, "ment", 4);
	len += enc_msg(buf + len, 2, "whole");
	ASSERT_EQ(ws_feed(f.ws, buf, len - 3), 0);
	mid = ws_memory(f.ws);
	printf("# while a frame is cut: %zu heap bytes\n", mid);
	ASSERT_GT(mid, idle);
	ASSERT_LT(mid, idle + 512);
	ASSERT_EQ(ws_feed(f.ws, buf + len - 3, 3), 0);
	ASSERT_EQ(f.n, 2);
	ASSERT_EQ(ws_memory(f.ws), idle);

	/* Between fragments, on a frame boundary: only the message. */
	len = enc(buf, 0, 0, 2, true, "frag", 4);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	frag = ws_memory(f.ws);
	ASSERT_GT(frag, idle);
	ASSERT_LT(frag, idle + 128);
	len = enc(buf, 1, 0, 0, true, "ment", 4);
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_EQ(f.n, 3);
	ASSERT_MEM_EQ(f.msg[2], f.msg_len[2], "fragment", 8);
	ASSERT_EQ(ws_memory(f.ws), idle);
	/* A frame that arrives whole is delivered from the process's
	 * scratch buffer, with nothing held by the connection; one that was
	 * cut, or fragments, from a buffer of their own. */
	len = enc_msg(buf, 2, "whole");
	ASSERT_EQ(ws_feed(f.ws, buf, len), 0);
	ASSERT_EQ(f.n, 4);
	ASSERT_LT(f.msg_mem[3], f.msg_mem[0]);
	ASSERT_LT(f.msg_mem[3], f.msg_mem[1]);
	ASSERT_LT(f.msg_mem[3], f.msg_mem[2]);
	ASSERT_EQ(f.msg_mem[3], idle);
	fx_finish(&f);
}

int
main(void)
{
	RUN(accept_key_rfc);
	RUN(upgrade_one_piece);
	RUN(upgrade_byte_by_byte);
	RUN(upgrade_case_and_lists);
	RUN(reject_http);
	RUN(max_request_edge);
	RUN(frame_after_request);
	RUN(binary_and_text_messages);
	RUN(two_frames_one_feed);
	RUN(fragmented_message);
	RUN(large_message);
	RUN(split_at_every_byte);
	RUN(ping_pong);
	RUN(close_handshake);
	RUN(server_close);
	RUN(protocol_errors);
	RUN(oversize);
	RUN(callback_stops);
	RUN(write_failure);
	RUN(sendv_bytes);
	RUN(idle_memory);
	TEST_DONE();
}
