/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the transport switcher: every prefix of a WebSocket upgrade
 * request and of a libpomelo2 handshake package, each HTTP method, and the
 * bytes that are neither.
 */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include "worker/switcher.h"
#include "tests/unit/test.h"

static const char get_request[] =
	"GET / HTTP/1.1\r\n"
	"Host: 127.0.0.1:3010\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"\r\n";

/* The libpomelo2 handshake of PROTOCOL.md §3.2. */
static const char handshake[] =
	"\x01\x00\x00\x4e"
	"{\"sys\":{\"type\":\"pcdrive\",\"version\":\"0.3.5-release\"},"
	"\"user\":{\"from\":\"pcdrive\"}}";

static enum switcher_result
detect(const char *s, size_t len)
{
	return switcher_detect((const uint8_t *)s, len);
}

/* "GET" and shorter are MORE; from "GET " on, WS whatever follows. */
TEST(get_every_prefix)
{
	size_t	 len;

	ASSERT_EQ(detect(get_request, 0), SWITCHER_MORE);
	for (len = 1; len < 4; len++) {
		ASSERT_EQ(detect(get_request, len), SWITCHER_MORE);
	}
	for (len = 4; len <= strlen(get_request); len++) {
		ASSERT_EQ(detect(get_request, len), SWITCHER_WS);
	}
}

/* One byte of a package header is enough, and stays TCP. */
TEST(handshake_every_prefix)
{
	size_t	 len;

	ASSERT_EQ(sizeof handshake - 1, 4 + 0x4e);
	for (len = 1; len <= sizeof handshake - 1; len++) {
		ASSERT_EQ(detect(handshake, len), SWITCHER_TCP);
	}
}

TEST(package_types)
{
	uint8_t		 b[4] = { 0, 0, 0, 0 };
	int		 t;

	for (t = 0; t < 256; t++) {
		b[0] = (uint8_t)t;
		if (t >= 1 && t <= 5) {
			ASSERT_EQ(switcher_detect(b, 1), SWITCHER_TCP);
			ASSERT_EQ(switcher_detect(b, 4), SWITCHER_TCP);
		} else if (strchr("GPHDO", t) == NULL || t == 0) {
			ASSERT_EQ(switcher_detect(b, 1), SWITCHER_BAD);
		}
	}
}

TEST(methods)
{
	static const char *const methods[] = {
		"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ",
	};
	char	 buf[32];
	size_t	 i, len, mlen;

	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		mlen = strlen(methods[i]);
		snprintf(buf, sizeof buf, "%s/ HTTP/1.1", methods[i]);
		for (len = 1; len < mlen; len++) {
			ASSERT_EQ(detect(buf, len), SWITCHER_MORE);
		}
		for (len = mlen; len <= strlen(buf); len++) {
			ASSERT_EQ(detect(buf, len), SWITCHER_WS);
		}
	}
}

TEST(neither)
{
	ASSERT_EQ(detect("\x00", 1), SWITCHER_BAD);
	ASSERT_EQ(detect("\x06\x00\x00\x00", 4), SWITCHER_BAD);
	ASSERT_EQ(detect("\x16\x03\x01", 3), SWITCHER_BAD);	/* TLS */
	ASSERT_EQ(detect("get ", 4), SWITCHER_BAD);
	ASSERT_EQ(detect("GET/", 4), SWITCHER_BAD);
	ASSERT_EQ(detect("GETX", 4), SWITCHER_BAD);
	ASSERT_EQ(detect("GX", 2), SWITCHER_BAD);
	ASSERT_EQ(detect("PATCH ", 6), SWITCHER_BAD);
	ASSERT_EQ(detect("PA", 2), SWITCHER_BAD);
	ASSERT_EQ(detect("POS", 3), SWITCHER_MORE);
	ASSERT_EQ(detect("PU", 2), SWITCHER_MORE);
	ASSERT_EQ(detect("P", 1), SWITCHER_MORE);
	ASSERT_EQ(detect("POSTX", 5), SWITCHER_BAD);
	ASSERT_EQ(detect("HEAD\t", 5), SWITCHER_BAD);
	ASSERT_EQ(detect("OPTION", 6), SWITCHER_MORE);
	ASSERT_EQ(detect("OPTIONS", 7), SWITCHER_MORE);
	ASSERT_EQ(detect("DELETE", 6), SWITCHER_MORE);
	ASSERT_EQ(detect("DELETX", 6), SWITCHER_BAD);
}

int
main(void)
{
	RUN(get_every_prefix);
	RUN(handshake_every_prefix);
	RUN(package_types);
	RUN(methods);
	RUN(neither);
	TEST_DONE();
}
