/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The TLS byte layer and the detecting layer (worker/xprt-tls.c) inside a
 * real conn.c, switcher, framings and session (tests/unit/tls-pump.c):
 * raw Pomelo TCP and a WebSocket upgrade inside TLS, plain bytes through
 * the detecting layer, thousands of pipelined requests in back-to-back
 * records (every one answered: no decrypted byte is left waiting for an
 * epoll wake-up that never comes), a kick ending with close_notify, and
 * the counters.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "common/log.h"
#include "common/message.h"
#include "common/package.h"
#include "common/tls.h"
#include "common/tls13.h"
#include "tests/unit/tls-pump.h"
#include "tests/unit/test.h"

#define ENTRY	"connector.entryHandler.entry"

static struct tls_ctx	*tls;
static SSL_CTX		*client;

static const char hello[] = "{\"sys\":{\"type\":\"test\",\"version\":\"1\"}}";

/* A package of <type> with <body> into <out>; returns its length. */
static size_t
package(uint8_t *out, int type, const void *body, size_t len)
{
	pkg_head_encode(out, type, len);
	memcpy(out + PKG_HEAD_LEN, body, len);
	return PKG_HEAD_LEN + len;
}

static size_t
request(uint8_t *out, uint32_t id)
{
	uint8_t	 body[128];
	size_t	 n;

	n = msg_encode_head(body, MSG_REQUEST, id, ENTRY, strlen(ENTRY), 0);
	memcpy(body + n, "{}", 2);
	return package(out, PKG_DATA, body, n + 2);
}

/* The number of packages of <type> in what the client received. */
static int
count(const struct pump *p, int type)
{
	size_t	 off = 0, len;
	int	 n = 0;

	while (off + PKG_HEAD_LEN <= p->in_len) {
		len = ((size_t)p->in[off + 1] << 16) |
		    ((size_t)p->in[off + 2] << 8) | p->in[off + 3];
		if (p->in[off] == type) {
			n++;
		}
		off += PKG_HEAD_LEN + len;
	}
	return n;
}

/* Handshake, ack and one request over <p>; the answers are checked. */
static int
pomelo(struct pump *p)
{
	uint8_t	 buf[256];
	size_t	 n;

	pump_send(p, buf, package(buf, PKG_HANDSHAKE, hello, strlen(hello)));
	pump_run(p);
	if (count(p, PKG_HANDSHAKE) != 1 || memmem(p->in, p->in_len,
	    "\"code\":200", 10) == NULL) {
		return 0;
	}
	n = package(buf, PKG_HANDSHAKE_ACK, "", 0);
	n += request(buf + n, 1);
	pump_send(p, buf, n);
	pump_run(p);
	return count(p, PKG_DATA) == 1 && memmem(p->in, p->in_len,
	    "game server is ok.", 18) != NULL;
}

static struct conn *
the_conn(void)
{
	return TAILQ_FIRST(&worker->conns);
}

TEST(tls_raw_tcp)
{
	struct pump	 p;
	uint64_t	 before = worker->stats.tls_handshakes;

	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	pump_run(&p);
	ASSERT_TRUE(pump_tls_done(&p));
	ASSERT_EQ(worker->stats.tls_handshakes, before + 1);
	ASSERT_TRUE(pomelo(&p));
	ASSERT_STR_EQ(the_conn()->xprt->name, "tls");
	/* TLS 1.3: OpenSSL handed the connection over after the handshake. */
	ASSERT_TRUE(the_conn()->xprt == &xprt_tls13);
	ASSERT_STR_EQ(the_conn()->framing->name, "tcp");
	pump_close(&p);
}

/* TLS 1.2 stays on OpenSSL, and works the same. */
TEST(tls12_stays_on_openssl)
{
	SSL_CTX		*c12 = SSL_CTX_new(TLS_client_method());
	struct pump	 p;

	SSL_CTX_set_max_proto_version(c12, TLS1_2_VERSION);
	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, c12), 0);
	pump_run(&p);
	ASSERT_TRUE(pump_tls_done(&p));
	ASSERT_EQ(SSL_version(p.ssl), TLS1_2_VERSION);
	ASSERT_TRUE(pomelo(&p));
	ASSERT_TRUE(the_conn()->xprt == &xprt_tls);
	session_kick(&the_conn()->session, "bye");
	pump_run(&p);
	ASSERT_EQ(count(&p, PKG_KICK), 1);
	ASSERT_TRUE(SSL_get_shutdown(p.ssl) & SSL_RECEIVED_SHUTDOWN);
	pump_close(&p);
	SSL_CTX_free(c12);
}

/* Each TLS 1.3 suite after the hand-over. */
TEST(every_suite)
{
	static const char *const suites[] = { "TLS_AES_128_GCM_SHA256",
	    "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256" };
	SSL_CTX		*cs;
	struct pump	 p;
	size_t		 i;

	for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
		cs = SSL_CTX_new(TLS_client_method());
		ASSERT_EQ(SSL_CTX_set_ciphersuites(cs, suites[i]), 1);
		ASSERT_EQ(pump_open(&p, &xprt_tls, tls, cs), 0);
		ASSERT_TRUE(pomelo(&p));
		ASSERT_STR_EQ(SSL_CIPHER_get_name(SSL_get_current_cipher(
		    p.ssl)), suites[i]);
		ASSERT_TRUE(the_conn()->xprt == &xprt_tls13);
		pump_close(&p);
		SSL_CTX_free(cs);
	}
}

/* KeyUpdate from the client, asking for ours too, then more requests. */
TEST(key_update)
{
	struct pump	 p;
	uint8_t		 buf[128];
	int		 i;

	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	ASSERT_TRUE(pomelo(&p));
	ASSERT_TRUE(the_conn()->xprt == &xprt_tls13);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(SSL_key_update(p.ssl, i == 1 ?
		    SSL_KEY_UPDATE_NOT_REQUESTED :
		    SSL_KEY_UPDATE_REQUESTED), 1);
		pump_send(&p, buf, request(buf, (uint32_t)(10 + i)));
		pump_run(&p);
		ASSERT_EQ(count(&p, PKG_DATA), 2 + i);
	}
	ASSERT_TRUE(!p.closed);
	pump_close(&p);
}

/* The client's close_notify ends the connection. */
TEST(client_close_notify)
{
	struct pump	 p;

	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	ASSERT_TRUE(pomelo(&p));
	SSL_shutdown(p.ssl);
	pump_run(&p);
	ASSERT_TRUE(p.closed);
	ASSERT_TRUE(TAILQ_EMPTY(&worker->conns));
	pump_close(&p);
}

/* A client that does not read: sealed records wait, then all arrive. */
TEST(slow_reader)
{
	enum { N = 8000 };
	struct pump	 p;
	uint8_t		*buf;
	size_t		 n = 0;
	uint32_t	 i;
	int		 round;

	buf = malloc((size_t)N * 64);
	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	ASSERT_TRUE(pomelo(&p));
	for (i = 2; i < N + 2; i++) {
		n += request(buf + n, i);
	}
	p.paused = true;
	pump_send(&p, buf, n);
	for (round = 0; round < 20; round++) {
		pump_run(&p);
	}
	ASSERT_LT(count(&p, PKG_DATA), N);
	p.paused = false;
	for (round = 0; round < 200 && count(&p, PKG_DATA) < N + 1; round++) {
		pump_run(&p);
	}
	ASSERT_EQ(count(&p, PKG_DATA), N + 1);
	ASSERT_TRUE(!p.closed);
	free(buf);
	pump_close(&p);
}

TEST(detect_tls_websocket)
{
	static const char upgrade[] = "GET / HTTP/1.1\r\nHost: x\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n";
	struct pump	 p;

	ASSERT_EQ(pump_open(&p, &xprt_detect, tls, client), 0);
	ASSERT_STR_EQ(the_conn()->xprt->name, "detect");
	pump_run(&p);
	ASSERT_TRUE(pump_tls_done(&p));
	ASSERT_STR_EQ(the_conn()->xprt->name, "tls");
	pump_send(&p, upgrade, strlen(upgrade));
	pump_run(&p);
	ASSERT_TRUE(p.in_len > 12);
	ASSERT_TRUE(memcmp(p.in, "HTTP/1.1 101", 12) == 0);
	ASSERT_TRUE(memmem(p.in, p.in_len, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
	    28) != NULL);
	ASSERT_STR_EQ(the_conn()->framing->name, "ws");
	pump_close(&p);
}

TEST(detect_plain)
{
	struct pump	 p;
	uint64_t	 before = worker->stats.tls_handshakes;

	ASSERT_EQ(pump_open(&p, &xprt_detect, tls, NULL), 0);
	ASSERT_TRUE(pomelo(&p));
	ASSERT_STR_EQ(the_conn()->xprt->name, "plain");
	ASSERT_EQ(worker->stats.tls_handshakes, before);
	pump_close(&p);
}

/* Thousands of requests in back-to-back records, sent before a read. */
TEST(pipelined_records)
{
	enum { N = 6000 };
	struct pump	 p;
	uint8_t		*buf, hs[128];
	size_t		 n = 0;
	uint32_t	 i;
	int		 round;

	buf = malloc((size_t)N * 64);
	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	pump_send(&p, hs, package(hs, PKG_HANDSHAKE, hello, strlen(hello)));
	pump_run(&p);
	n = package(buf, PKG_HANDSHAKE_ACK, "", 0);
	for (i = 1; i <= N; i++) {
		n += request(buf + n, i);
	}
	ASSERT_GT(n, 10 * 16384);	/* more records than reads per wake */
	pump_send(&p, buf, n);
	for (round = 0; round < 100 && count(&p, PKG_DATA) < N; round++) {
		pump_run(&p);
	}
	ASSERT_EQ(count(&p, PKG_DATA), N);
	ASSERT_TRUE(!p.closed);
	free(buf);
	pump_close(&p);
}

/*
 * One small record per request, all sent before a read: one read(2) of
 * OpenSSL's read-ahead takes hundreds of records, more than a wake-up's
 * reads, and the socket is then empty: only pending() knows the rest.
 */
TEST(small_records)
{
	enum { N = 2000 };
	struct pump	 p;
	uint8_t		 buf[128];
	uint32_t	 i;
	int		 round, r;

	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	pump_send(&p, buf, package(buf, PKG_HANDSHAKE, hello, strlen(hello)));
	pump_run(&p);
	pump_send(&p, buf, package(buf, PKG_HANDSHAKE_ACK, "", 0));
	for (i = 1; i <= N; i++) {
		r = SSL_write(p.ssl, buf, (int)request(buf, i));
		ASSERT_GT(r, 0);
	}
	pump_send(&p, "", 0);
	for (round = 0; round < 100 && count(&p, PKG_DATA) < N; round++) {
		pump_run(&p);
	}
	ASSERT_EQ(count(&p, PKG_DATA), N);
	pump_close(&p);
}

TEST(kick_ends_with_close_notify)
{
	struct pump	 p;

	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	ASSERT_TRUE(pomelo(&p));
	session_kick(&the_conn()->session, "bye");
	pump_run(&p);
	ASSERT_EQ(count(&p, PKG_KICK), 1);
	ASSERT_TRUE(memmem(p.in, p.in_len, "{\"reason\":\"bye\"}", 16) != NULL);
	ASSERT_TRUE(SSL_get_shutdown(p.ssl) & SSL_RECEIVED_SHUTDOWN);
	ASSERT_TRUE(p.closed);
	pump_close(&p);
}

/* After the hand-over: records the lean layer must refuse, at once. */
TEST(bad_records_after_hand_over)
{
	static const uint8_t	 bad[][8] = {
		{ 0x17, 0x03, 0x03, 0x00, 0x00 },	/* no body at all */
		{ 0x17, 0x03, 0x03, 0x00, 0x10 },	/* shorter than a tag */
		{ 0x17, 0x03, 0x03, 0x48, 0x01 },	/* longer than 2^14+256 */
		{ 0x16, 0x03, 0x03, 0x00, 0x20 },	/* not protected */
	};
	struct pump		 p;
	uint8_t			 junk[64];
	uint64_t		 before;
	size_t			 i;

	memset(junk, 0xab, sizeof junk);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
		ASSERT_TRUE(pomelo(&p));
		ASSERT_TRUE(the_conn()->xprt == &xprt_tls13);
		before = worker->stats.tls_errors;
		pump_send_raw(&p, bad[i], 5);
		pump_send_raw(&p, junk, sizeof junk);
		pump_run(&p);
		ASSERT_TRUE(p.closed);
		ASSERT_EQ(worker->stats.tls_errors, before + 1);
		pump_close(&p);
	}
	/* A record that does not authenticate. */
	ASSERT_EQ(pump_open(&p, &xprt_tls, tls, client), 0);
	ASSERT_TRUE(pomelo(&p));
	before = worker->stats.tls_errors;
	junk[0] = 0x17;
	junk[1] = 0x03;
	junk[2] = 0x03;
	junk[3] = 0x00;
	junk[4] = sizeof junk - 5;
	pump_send_raw(&p, junk, sizeof junk);
	pump_run(&p);
	ASSERT_TRUE(p.closed);
	ASSERT_EQ(worker->stats.tls_errors, before + 1);
	pump_close(&p);
}

TEST(garbage_is_a_tls_error)
{
	static const uint8_t	 garbage[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
				    'n', 'o', 'p', 'e' };
	struct pump		 p;
	uint64_t		 before = worker->stats.tls_errors;

	ASSERT_EQ(pump_open(&p, &xprt_detect, tls, NULL), 0);
	pump_send(&p, garbage, sizeof garbage);
	pump_run(&p);
	ASSERT_TRUE(p.closed);
	ASSERT_EQ(worker->stats.tls_errors, before + 1);
	ASSERT_TRUE(TAILQ_EMPTY(&worker->conns));
	pump_close(&p);
}

int
main(void)
{
	log_open('T', LOG_LEVEL_ERROR, NULL);
	if (pump_worker_init("heartbeat = 0", &tls) != 0) {
		return 1;
	}
	client = SSL_CTX_new(TLS_client_method());
	RUN(tls_raw_tcp);
	RUN(tls12_stays_on_openssl);
	RUN(every_suite);
	RUN(key_update);
	RUN(client_close_notify);
	RUN(slow_reader);
	RUN(detect_tls_websocket);
	RUN(detect_plain);
	RUN(pipelined_records);
	RUN(small_records);
	RUN(kick_ends_with_close_notify);
	RUN(bad_records_after_hand_over);
	RUN(garbage_is_a_tls_error);
	SSL_CTX_free(client);
	pump_worker_finish(tls);
	TEST_DONE();
}
