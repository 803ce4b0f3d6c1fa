/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Unit tests of the load generator's pure parts: the JSON checks that
 * decide whether an answer counts as a success, the latency histogram's
 * quantiles and bucket error, and the Sec-WebSocket-Accept computation.
 */

#include "config.h"

#include <errno.h>

#include "tests/unit/test.h"

#include "loadgen.h"
#include "ws-accept.h"

#define S(lit)	lit, sizeof(lit) - 1

TEST(json_valid)
{
	ASSERT_TRUE(lg_json_valid(S("{}")));
	ASSERT_TRUE(lg_json_valid(S("{\"code\":200,\"msg\":\"game server is ok.\"}")));
	ASSERT_TRUE(lg_json_valid(S(" [1, -2.5e3, true, false, null, \"\\u00e9\\n\"] ")));
	ASSERT_TRUE(lg_json_valid(S("\"hello pomelo\"")));
	ASSERT_TRUE(lg_json_valid(S("{\"a\":{\"b\":[{}]}}")));
	ASSERT_TRUE(lg_json_valid(S("0")));
	ASSERT_TRUE(!lg_json_valid(S("")));
	ASSERT_TRUE(!lg_json_valid(S("{")));
	ASSERT_TRUE(!lg_json_valid(S("{\"code\":200,}")));
	ASSERT_TRUE(!lg_json_valid(S("{\"code\":200}x")));
	ASSERT_TRUE(!lg_json_valid(S("{code:200}")));
	ASSERT_TRUE(!lg_json_valid(S("[01]")));
	ASSERT_TRUE(!lg_json_valid(S("[1.]")));
	ASSERT_TRUE(!lg_json_valid(S("\"\\x\"")));
	ASSERT_TRUE(!lg_json_valid(S("\"a\nb\"")));
	ASSERT_TRUE(!lg_json_valid(S("tru")));
	ASSERT_TRUE(!lg_json_valid(S("{} {}")));
}

TEST(json_deep)
{
	char	 buf[400];
	int	 i;

	for (i = 0; i < 200; i++) {
		buf[i] = '[';
		buf[399 - i] = ']';
	}
	/* deeper than the walker goes: refused, not a crash */
	ASSERT_TRUE(!lg_json_valid(buf, sizeof(buf)));
	ASSERT_TRUE(lg_json_valid(buf + 150, 100));
}

TEST(json_handshake)
{
	double	 hb = -1;
	int	 code = 0;

	/* what Pinus sends, in shape */
	ASSERT_EQ(lg_json_handshake(S("{\"code\":200,\"sys\":{\"heartbeat\":3,"
	    "\"dict\":{\"connector.entryHandler.entry\":1},\"dictVersion\":"
	    "\"x==\",\"useDict\":true,\"protos\":{\"server\":{},\"client\":{},"
	    "\"version\":\"y\"},\"useProto\":true}}"), &code, &hb), 0);
	ASSERT_EQ(code, 200);
	ASSERT_TRUE(hb == 3);
	ASSERT_EQ(lg_json_handshake(S("{\"sys\":{\"heartbeat\":2.5},\"code\":200}"),
	    &code, &hb), 0);
	ASSERT_TRUE(hb == 2.5);
	ASSERT_EQ(lg_json_handshake(S("{\"code\":500}"), &code, &hb), 0);
	ASSERT_EQ(code, 500);
	ASSERT_TRUE(hb == 0);
	ASSERT_EQ(lg_json_handshake(S("{\"sys\":{\"heartbeat\":3}}"), &code,
	    &hb), -EBADMSG);
	ASSERT_EQ(lg_json_handshake(S("{\"code\":\"200\"}"), &code, &hb),
	    -EBADMSG);
	ASSERT_EQ(lg_json_handshake(S("{\"code\":200"), &code, &hb), -EBADMSG);
	ASSERT_EQ(lg_json_handshake(S("[200]"), &code, &hb), -EBADMSG);
}

TEST(json_code_and_string)
{
	const char	*s;
	size_t		 len = 0;

	ASSERT_EQ(lg_json_code(S("{\"code\":500}")), 500);
	ASSERT_EQ(lg_json_code(S("{\"msg\":\"x\",\"code\":200}")), 200);
	ASSERT_EQ(lg_json_code(S("{\"users\":[\"a\"]}")), -1);
	ASSERT_EQ(lg_json_code(S("{\"code\":\"500\"}")), -1);
	ASSERT_EQ(lg_json_code(S("[1]")), -1);
	ASSERT_EQ(lg_json_code(S("{\"a\":{\"code\":500}}")), -1);

	s = lg_json_string(S("{\"msg\":\"123456\",\"from\":\"u0\"}"), "msg",
	    &len);
	ASSERT_TRUE(s != NULL);
	ASSERT_EQ(len, 6);
	ASSERT_TRUE(memcmp(s, "123456", 6) == 0);
	s = lg_json_string(S("{\"from\":\"u0\",\"msg\":\"\"}"), "msg", &len);
	ASSERT_TRUE(s != NULL);
	ASSERT_EQ(len, 0);
	ASSERT_TRUE(lg_json_string(S("{\"msg\":12}"), "msg", &len) == NULL);
	ASSERT_TRUE(lg_json_string(S("{\"m\":\"x\"}"), "msg", &len) == NULL);
}

TEST(hist_exact_small)
{
	static struct lg_hist	 h;
	uint64_t		 v;

	memset(&h, 0, sizeof(h));
	for (v = 1; v <= 100; v++) {
		lg_hist_record(&h, v);
	}
	ASSERT_UEQ(h.count, 100);
	ASSERT_UEQ(lg_hist_quantile(&h, 0.5), 50);
	ASSERT_UEQ(lg_hist_quantile(&h, 0.99), 99);
	ASSERT_UEQ(lg_hist_quantile(&h, 1.0), 100);
	ASSERT_UEQ(lg_hist_quantile(&h, 0.0), 1);
}

TEST(hist_error_bound)
{
	static struct lg_hist	 h;
	uint64_t		 v, q;

	/* every value alone: the bucket it lands in is within 1/128 */
	for (v = 200; v < (UINT64_C(1) << 40); v = v * 7 / 5 + 13) {
		memset(&h, 0, sizeof(h));
		lg_hist_record(&h, v);
		lg_hist_record(&h, v);
		q = lg_hist_quantile(&h, 0.5);
		ASSERT_LE(q, v);
		ASSERT_GE((double)q, (double)v * (1 - 1.0 / LG_HIST_SUB));
	}
}

TEST(hist_merge_quantiles)
{
	static struct lg_hist	 a, b;
	uint64_t		 i, p50, p99, p999;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* 9900 samples at 100 us, 99 at 10 ms and one at 50 ms, two threads */
	for (i = 0; i < 9900; i++) {
		lg_hist_record(i % 2 ? &a : &b, 100000);
	}
	for (i = 0; i < 99; i++) {
		lg_hist_record(&b, 10000000);
	}
	lg_hist_record(&a, 50000000);
	lg_hist_merge(&a, &b);
	ASSERT_UEQ(a.count, 10000);
	ASSERT_UEQ(a.max, 50000000);
	p50 = lg_hist_quantile(&a, 0.5);
	p99 = lg_hist_quantile(&a, 0.99);
	p999 = lg_hist_quantile(&a, 0.999);
	ASSERT_TRUE(p50 > 99000 && p50 <= 100400);
	ASSERT_TRUE(p99 > 99000 && p99 <= 100400);
	ASSERT_TRUE(p999 > 9900000 && p999 <= 10040000);
	ASSERT_UEQ(lg_hist_quantile(&a, 1.0), 50000000);
}

TEST(ws_accept)
{
	char	 out[WS_ACCEPT_LEN + 1];

	/* RFC 6455 §1.3 */
	ws_accept_compute(S("dGhlIHNhbXBsZSBub25jZQ=="), out);
	ASSERT_TRUE(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
}

int
main(void)
{
	RUN(json_valid);
	RUN(json_deep);
	RUN(json_handshake);
	RUN(json_code_and_string);
	RUN(hist_exact_small);
	RUN(hist_error_bound);
	RUN(hist_merge_quantiles);
	RUN(ws_accept);
	TEST_DONE();
}
