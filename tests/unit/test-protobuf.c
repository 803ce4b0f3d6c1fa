/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the pomelo-protobuf codec: the captured vectors of PROTOCOL.md
 * §6.3 (server and browser codec bytes), every scalar type, nested and
 * global messages, repeated fields of each kind, pinus's bool, 64-bit and
 * map/obj, JavaScript's parseInt and key order, the parsed form's JSON
 * text and the version (checked against npm pomelo-protobuf 0.4.0 and
 * pinus-protobuf 1.7.4 run under Node), the errors for bad schemas and
 * bad values, truncated and malformed input, the buffer protocol of
 * pb_encode() and the loader.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/protobuf.h"
#include "common/xmalloc.h"
#include "tests/unit/test.h"

/* Results are kept in a few rotating buffers, so two fit in one assert. */
static char	 results[4][8192];
static int	 result_i;

static char *
result(void)
{
	result_i = (result_i + 1) % 4;
	return results[result_i];
}

static struct pb_protos *
compile(const char *text, enum pb_flavour fl)
{
	struct pb_protos	*p = NULL;
	json_error_t		 jerr;
	json_t			*src;
	char			 err[PB_ERR_SIZE];

	if ((src = json_loads(text, 0, &jerr)) == NULL) {
		fprintf(stderr, "bad test JSON: %s\n", jerr.text);
		return NULL;
	}
	if (pb_protos_compile(src, fl, "test.json", &p, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "compile: %s\n", err);
	}
	json_decref(src);
	return p;
}

/* The error of compiling <text>, or "" when it compiles. */
static const char *
compile_err(const char *text, enum pb_flavour fl)
{
	struct pb_protos	*p = NULL;
	json_t			*src;
	char			*out = result();

	src = json_loads(text, 0, NULL);
	if (src == NULL) {
		return "bad test JSON";
	}
	out[0] = '\0';
	if (pb_protos_compile(src, fl, "test.json", &p, out, 8192) == 0) {
		out[0] = '\0';
		pb_protos_free(p);
	}
	json_decref(src);
	return out;
}

/* Encodes the JSON <value> as <route>: hex, or "ERR <reason>". */
static const char *
enc(const struct pb_protos *p, const char *route, const char *value)
{
	const struct pb_msg	*m;
	uint8_t			 buf[4096];
	json_t			*v;
	char			*out = result(), err[PB_ERR_SIZE];
	size_t			 len = 0, i;
	int			 rc;

	if ((m = pb_protos_find(p, route, strlen(route))) == NULL) {
		return "ERR no route";
	}
	if ((v = json_loads(value, JSON_DECODE_ANY, NULL)) == NULL) {
		return "ERR bad test JSON";
	}
	rc = pb_encode(m, v, buf, sizeof(buf), &len, err, sizeof(err));
	json_decref(v);
	if (rc != 0) {
		snprintf(out, 8192, "ERR %s", err);
		return out;
	}
	for (i = 0; i < len; i++) {
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	}
	out[2 * len] = '\0';
	return out;
}

static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t		 n = strlen(hex) / 2, i;
	unsigned	 b;

	for (i = 0; i < n; i++) {
		sscanf(hex + 2 * i, "%2x", &b);
		out[i] = (uint8_t)b;
	}
	return n;
}

/* Decodes the hex <bytes> as <route>: compact JSON, or "ERR <reason>". */
static const char *
dec(const struct pb_protos *p, const char *route, const char *bytes)
{
	const struct pb_msg	*m;
	uint8_t			 buf[4096];
	json_t			*v;
	char			*out = result(), *s, err[PB_ERR_SIZE];
	size_t			 len;

	if ((m = pb_protos_find(p, route, strlen(route))) == NULL) {
		return "ERR no route";
	}
	len = unhex(bytes, buf);
	if (pb_decode(m, buf, len, &v, err, sizeof(err)) != 0) {
		snprintf(out, 8192, "ERR %s", err);
		return out;
	}
	s = json_dumps(v, JSON_COMPACT);
	snprintf(out, 8192, "%s", s);
	free(s);
	json_decref(v);
	return out;
}

static const char chat_server[] =
    "{\"onChat\":{\"required string msg\":1,\"required string from\":2,"
    "\"required string target\":3}}";

/* PROTOCOL.md §6.3's demo schema. */
static const char demo[] =
    "{\"demo\":{\"required uInt32 id\":1,\"optional int32 delta\":2,"
    "\"repeated uInt32 list\":3,\"optional float f\":4,"
    "\"optional double d\":5,\"repeated Point pts\":6,"
    "\"optional Inner inner\":7,\"repeated string names\":8,"
    "\"message Point\":{\"required sInt32 x\":1,\"required sInt32 y\":2},"
    "\"message Inner\":{\"optional string s\":1}}}";

static const char demo_value[] =
    "{\"id\":300,\"delta\":-3,\"list\":[1,2,300],\"f\":1.5,\"d\":0.25,"
    "\"pts\":[{\"x\":1,\"y\":-1}],\"inner\":{\"s\":\"ok\"},"
    "\"names\":[\"a\",\"bc\"]}";

TEST(chat_vectors)
{
	struct pb_protos	*p, *empty1, *empty2;
	char			 ver[PB_VERSION_SIZE];

	ASSERT_TRUE((p = compile(chat_server, PB_POMELO)) != NULL);
	/* PROTOCOL.md §6.2, as npm pomelo-protobuf 0.4.0 parses it. */
	ASSERT_STR_EQ(pb_protos_json(p, NULL),
	    "{\"onChat\":{\"msg\":{\"option\":\"required\",\"type\":\"string\","
	    "\"tag\":1},\"from\":{\"option\":\"required\",\"type\":\"string\","
	    "\"tag\":2},\"target\":{\"option\":\"required\",\"type\":"
	    "\"string\",\"tag\":3},\"__messages\":{},\"__tags\":{\"1\":\"msg\","
	    "\"2\":\"from\",\"3\":\"target\"}}}");
	/* CLUSTER.md §8.2: chatofpomelo with clientProtos {}. */
	ASSERT_EQ(pb_protos_version(NULL, p, ver), 0);
	ASSERT_STR_EQ(ver, "2zWPnSlRsRxjqgcU215Uxg==");
	ASSERT_STR_EQ(enc(p, "onChat",
	    "{\"msg\":\"hi\",\"from\":\"bob\",\"target\":\"*\"}"),
	    "0a0268691203626f621a012a");
	ASSERT_STR_EQ(dec(p, "onChat", "0a0268691203626f621a012a"),
	    "{\"msg\":\"hi\",\"from\":\"bob\",\"target\":\"*\"}");
	/* Fields go in the value's order, not the tags'. */
	ASSERT_STR_EQ(enc(p, "onChat",
	    "{\"target\":\"*\",\"msg\":\"hi\",\"extra\":1,\"from\":\"bob\"}"),
	    "1a012a0a0268691203626f62");
	ASSERT_TRUE(pb_protos_find(p, "onChat", 6) != NULL);
	ASSERT_TRUE(pb_protos_find(p, "onChatX", 6) != NULL);
	ASSERT_TRUE(pb_protos_find(p, "onCha", 5) == NULL);
	ASSERT_TRUE(pb_protos_find(p, "onChat2", 7) == NULL);
	ASSERT_TRUE(pb_protos_find(NULL, "onChat", 6) == NULL);

	/* Both absent: ""; both {}: base64(MD5("{}{}")), PROTOCOL.md §3.3. */
	ASSERT_EQ(pb_protos_version(NULL, NULL, ver), 0);
	ASSERT_STR_EQ(ver, "");
	ASSERT_STR_EQ(pb_protos_json(NULL, NULL), "{}");
	empty1 = compile("{}", PB_POMELO);
	empty2 = compile("{}", PB_PINUS);
	ASSERT_TRUE(empty1 != NULL && empty2 != NULL);
	ASSERT_STR_EQ(pb_protos_json(empty1, NULL), "{}");
	ASSERT_EQ(pb_protos_version(empty1, empty2, ver), 0);
	ASSERT_STR_EQ(ver, "xT9OvpsqULwrUv2IpdUD4Q==");
	ASSERT_EQ(pb_protos_version(NULL, empty2, ver), 0);
	ASSERT_STR_EQ(ver, "xT9OvpsqULwrUv2IpdUD4Q==");
	pb_protos_free(empty1);
	pb_protos_free(empty2);
	pb_protos_free(p);
}

TEST(chatofpomelo_files)
{
	struct pb_protos	*s, *c;
	char			 ver[PB_VERSION_SIZE];

	/* The repository's two files; the version Node computes for them. */
	s = compile("{\"onChat\":{\"required string msg\":1,"
	    "\"required string from\":2,\"required string target\":3},"
	    "\"onLeave\":{\"required string user\":1},"
	    "\"onAdd\":{\"required string user\":1}}", PB_POMELO);
	c = compile("{\"chat.chatHandler.send\":{\"required string rid\":1,"
	    "\"required string content\":2,\"required string from\":3,"
	    "\"required string target\":4},"
	    "\"connector.entryHandler.enter\":{\"required string username\":1,"
	    "\"required string rid\":2},"
	    "\"gate.gateHandler.queryEntry\":{\"required string uid\":1}}",
	    PB_POMELO);
	ASSERT_TRUE(s != NULL && c != NULL);
	ASSERT_EQ(pb_protos_version(c, s, ver), 0);
	ASSERT_STR_EQ(ver, "UzBzIWEk+oufZ+ovKTq0og==");
	ASSERT_EQ(pb_protos_version(NULL, s, ver), 0);
	ASSERT_STR_EQ(ver, "x93a8RTlgRDLt/Lvvbj7PQ==");
	pb_protos_free(s);
	pb_protos_free(c);
}

TEST(demo_vectors)
{
	struct pb_protos	*p;
	const char		*want;

	ASSERT_TRUE((p = compile(demo, PB_POMELO)) != NULL);
	/* PROTOCOL.md §6.3: the server codec's bytes. */
	ASSERT_STR_EQ(enc(p, "demo", demo_value),
	    "08ac02" "1005" "18030102ac02" "250000c03f"
	    "29000000000000d03f" "3204080210013a040a026f6b" "420161"
	    "42026263");
	want = "{\"id\":300,\"delta\":-3,\"list\":[1,2,300],\"f\":1.5,"
	    "\"d\":0.25,\"pts\":[{\"x\":1,\"y\":-1}],\"inner\":{\"s\":\"ok\"},"
	    "\"names\":[\"a\",\"bc\"]}";
	ASSERT_STR_EQ(dec(p, "demo", "08ac02100518030102ac02250000c03f29000"
	    "000000000d03f3204080210013a040a026f6b42016142026263"), want);
	/* The browser codec writes varint keys with wire type 2. */
	ASSERT_STR_EQ(dec(p, "demo", "0aac0212051a030102ac02250000c03f29000"
	    "000000000d03f32040a0212013a040a026f6b42016142026263"), want);
	pb_protos_free(p);
}

TEST(scalars)
{
	struct pb_protos	*p;

	p = compile("{\"s\":{\"optional uInt32 u\":1,\"optional int32 i\":2,"
	    "\"optional sInt32 z\":3,\"optional float f\":4,"
	    "\"optional double d\":5,\"optional string s\":6}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":0}"), "0800");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":127}"), "087f");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":128}"), "088001");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":4294967295}"), "08ffffffff0f");
	/* Beyond 32 bits, as JavaScript numbers (2^53 + 1 is 2^53 there). */
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":9007199254740993}"),
	    "088080808080808010");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":9223372036854775807}"),
	    "0880808080808080808001");
	ASSERT_STR_EQ(dec(p, "s", "0880808080808080808001"),
	    "{\"u\":9.2233720368547758e18}");
	ASSERT_STR_EQ(dec(p, "s", "08ffffffffffffffff7f"),
	    "{\"u\":9.2233720368547758e18}");
	ASSERT_STR_EQ(dec(p, "s", "08ffffffffffff3f"),
	    "{\"u\":281474976710655}");
	/* 2^56 - 1 is 2^56 as a JavaScript number. */
	ASSERT_STR_EQ(dec(p, "s", "08ffffffffffffff7f"),
	    "{\"u\":72057594037927936}");
	/* int32 is zig-zag too, unlike Google protobuf. */
	ASSERT_STR_EQ(enc(p, "s", "{\"i\":-1,\"z\":1}"), "10011802");
	ASSERT_STR_EQ(enc(p, "s", "{\"i\":-2147483648}"), "10ffffffff0f");
	ASSERT_STR_EQ(dec(p, "s", "10ffffffff0f1802"),
	    "{\"i\":-2147483648,\"z\":1}");
	ASSERT_STR_EQ(enc(p, "s", "{\"z\":-4611686018427387904}"),
	    "1880808080808080808001");
	ASSERT_STR_EQ(enc(p, "s", "{\"f\":1.5,\"d\":-0.25}"),
	    "250000c03f29000000000000d0bf");
	ASSERT_STR_EQ(dec(p, "s", "25cdcc8c3f"),
	    "{\"f\":1.1000000238418579}");
	/* Math.fround: the nearest float, infinity past FLT_MAX. */
	ASSERT_STR_EQ(enc(p, "s", "{\"f\":1e39}"), "250000807f");
	ASSERT_STR_EQ(enc(p, "s", "{\"f\":3.4028235e38}"), "25ffff7f7f");
	ASSERT_STR_EQ(enc(p, "s", "{\"f\":5}"), "250000a040");
	/* NaN and infinity decode as JSON.stringify writes them. */
	ASSERT_STR_EQ(dec(p, "s", "250000c07f"), "{\"f\":null}");
	ASSERT_STR_EQ(dec(p, "s", "29000000000000f07f"), "{\"d\":null}");
	ASSERT_STR_EQ(enc(p, "s", "{\"s\":\"\\u00e9\\ud83d\\ude00\"}"),
	    "3206c3a9f09f9880");
	ASSERT_STR_EQ(dec(p, "s", "3206c3a9f09f9880"),
	    "{\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"}");
	ASSERT_STR_EQ(dec(p, "s", "3200"), "{\"s\":\"\"}");
	/* A NUL byte is a character like any other. */
	ASSERT_STR_EQ(dec(p, "s", "32026100"), "{\"s\":\"a\\u0000\"}");
	pb_protos_free(p);
}

TEST(js_numbers)
{
	struct pb_protos	*p;

	p = compile("{\"s\":{\"optional uInt32 u\":1,"
	    "\"optional sInt32 z\":3}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	/* parseInt(value), as encodeUInt32/encodeSInt32 (npm results). */
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"12abc\"}"), "080c");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"0x1f\"}"), "081f");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\" \\u00a07\"}"), "0807");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"1e3\"}"), "0801");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"007\"}"), "0807");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":3.7}"), "0803");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":-0.5}"), "0800");
	ASSERT_STR_EQ(enc(p, "s", "{\"z\":-3.7}"), "1805");
	ASSERT_STR_EQ(enc(p, "s", "{\"z\":\"-12\"}"), "1817");
	ASSERT_STR_EQ(enc(p, "s", "{\"z\":\"-0\"}"), "1800");
	/* NaN, a negative unsigned, exponent forms: errors, not garbage. */
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"abc\"}"),
	    "ERR field 'u': \"abc\" is not a number");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"0x\"}"),
	    "ERR field 'u': \"0x\" is not a number");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":-1}"), "ERR field 'u': -1 is negative");
	ASSERT_STR_CONTAINS(enc(p, "s", "{\"u\":1e21}"),
	    "is not an integer parseInt reads");
	ASSERT_STR_CONTAINS(enc(p, "s", "{\"u\":5e-7}"),
	    "is not an integer parseInt reads");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":18446744073709551616.0}"),
	    "ERR field 'u': out of range");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":\"99999999999999999999999999\"}"),
	    "ERR field 'u': out of range");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":true}"),
	    "ERR field 'u': expected a number, got a boolean");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":null}"),
	    "ERR field 'u': expected a number, got null");
	ASSERT_STR_EQ(enc(p, "s", "{\"u\":[1]}"),
	    "ERR field 'u': expected a number, got an array");
	pb_protos_free(p);
}

TEST(wrong_types)
{
	struct pb_protos	*p;

	p = compile("{\"s\":{\"optional float f\":1,\"optional string s\":2,"
	    "\"optional M m\":3,\"repeated uInt32 r\":4,"
	    "\"message M\":{\"optional uInt32 x\":1}}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "s", "{\"f\":\"1.5\"}"),
	    "ERR field 'f': expected a number, got a string");
	ASSERT_STR_EQ(enc(p, "s", "{\"f\":null}"),
	    "ERR field 'f': expected a number, got null");
	ASSERT_STR_EQ(enc(p, "s", "{\"s\":5}"),
	    "ERR field 's': expected a string, got a number");
	ASSERT_STR_EQ(enc(p, "s", "{\"m\":null}"),
	    "ERR field 'm': expected an object, got null");
	ASSERT_STR_EQ(enc(p, "s", "{\"m\":{\"x\":\"y\"}}"),
	    "ERR field 'm.x': \"y\" is not a number");
	ASSERT_STR_EQ(enc(p, "s", "{\"r\":\"12\"}"),
	    "ERR field 'r': expected an array, got a string");
	ASSERT_STR_EQ(enc(p, "s", "{\"r\":[1,\"x\"]}"),
	    "ERR field 'r[1]': \"x\" is not a number");
	/* null for a repeated field is absent, as pomelo's !!value. */
	ASSERT_STR_EQ(enc(p, "s", "{\"r\":null}"), "");
	ASSERT_STR_EQ(enc(p, "s", "[]"), "ERR the value is an array, not an "
	    "object");
	pb_protos_free(p);
}

TEST(nested_and_global)
{
	struct pb_protos	*p;

	/*
	 * Point is nested in "r" and global with other tags; nested wins.
	 * Inside the nested Box, "Point" is not nested, so it is the global
	 * one: enclosing messages are not searched.
	 */
	p = compile("{\"message Point\":{\"required uInt32 gx\":5},"
	    "\"r\":{\"optional Point p\":1,\"optional Box b\":2,"
	    "\"message Point\":{\"required uInt32 nx\":7},"
	    "\"message Box\":{\"optional Point q\":1}},"
	    "\"g\":{\"optional Point p\":1}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "r", "{\"p\":{\"nx\":1}}"), "0a023801");
	ASSERT_STR_EQ(enc(p, "r", "{\"b\":{\"q\":{\"gx\":2}}}"),
	    "12040a022802");
	ASSERT_STR_EQ(dec(p, "r", "12040a022802"),
	    "{\"b\":{\"q\":{\"gx\":2}}}");
	ASSERT_STR_EQ(enc(p, "g", "{\"p\":{\"gx\":3}}"), "0a022803");
	/* The global is also an entry of its own, as pomelo looks it up. */
	ASSERT_STR_EQ(enc(p, "message Point", "{\"gx\":3}"), "2803");
	ASSERT_STR_EQ(enc(p, "r", "{\"p\":{\"gx\":1}}"),
	    "ERR missing required field 'p.nx'");
	pb_protos_free(p);
}

TEST(recursion_and_depth)
{
	struct pb_protos	*p;
	const struct pb_msg	*m;
	uint8_t			 buf[1024];
	json_t			*v, *in;
	char			 err[PB_ERR_SIZE];
	size_t			 len = 0, i;
	int			 n;

	p = compile("{\"message Node\":{\"optional Node next\":1,"
	    "\"optional uInt32 v\":2},\"list\":{\"optional Node head\":1}}",
	    PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "list", "{\"head\":{\"v\":1,\"next\":{\"v\":2}}}"),
	    "0a061001"  "0a021002");
	m = pb_protos_find(p, "list", 4);
	/* 64 nested messages pass, 65 do not, both ways. */
	for (n = 64; n <= 65; n++) {
		v = json_object();
		in = v;
		for (i = 0; i < (size_t)n; i++) {
			json_object_set_new(in, i == 0 ? "head" : "next",
			    json_object());
			in = json_object_get(in, i == 0 ? "head" : "next");
		}
		err[0] = '\0';
		ASSERT_EQ(pb_encode(m, v, buf + 3, sizeof(buf) - 3, &len, err,
		    sizeof(err)), n == 64 ? 0 : -EINVAL);
		json_decref(v);
		if (n == 64) {
			ASSERT_UEQ(len, 2 * 64);
		}
	}
	/* The path's last 120 bytes: where the error is. */
	ASSERT_STR_EQ(err, "field '...xt.next.next.next.next.next.next.next.ne"
	    "xt.next.next.next.next.next.next.next.next.next.next.next.ne"
	    "xt.next.next.next': nested deeper than 64");
	/* The 64 levels (128 bytes), in one more level. */
	buf[0] = 0x0a;
	buf[1] = 0x80;
	buf[2] = 0x01;
	ASSERT_EQ(pb_decode(m, buf + 3, 128, &v, err, sizeof(err)), 0);
	json_decref(v);
	ASSERT_EQ(pb_decode(m, buf, 131, &v, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_CONTAINS(err, "nested deeper than 64");
	pb_protos_free(p);
}

TEST(repeated)
{
	struct pb_protos	*p;

	p = compile("{\"r\":{\"repeated uInt32 u\":1,\"repeated sInt32 z\":2,"
	    "\"repeated float f\":3,\"repeated double d\":4,"
	    "\"repeated string s\":5,\"repeated M m\":6,"
	    "\"message M\":{\"optional uInt32 x\":1}}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	/* Numbers: one key, a count, the elements (not Google packed). */
	ASSERT_STR_EQ(enc(p, "r", "{\"u\":[1,300],\"z\":[-1]}"),
	    "080201ac02100101");
	ASSERT_STR_EQ(enc(p, "r", "{\"f\":[1.5,-2],\"d\":[0.25]}"),
	    "1d020000c03f000000c02101000000000000d03f");
	/* Strings and messages: one key per element. */
	ASSERT_STR_EQ(enc(p, "r", "{\"s\":[\"a\",\"\"],\"m\":[{\"x\":1},{}]}"),
	    "2a01612a0032020801" "3200");
	ASSERT_STR_EQ(dec(p, "r", "2a01612a00320208013200"),
	    "{\"s\":[\"a\",\"\"],\"m\":[{\"x\":1},{}]}");
	/* Empty arrays are left out; a count of 0 decodes to []. */
	ASSERT_STR_EQ(enc(p, "r", "{\"u\":[],\"s\":[],\"m\":[]}"), "");
	ASSERT_STR_EQ(dec(p, "r", "0800"), "{\"u\":[]}");
	/* Repeated keys append, wherever they are. */
	ASSERT_STR_EQ(dec(p, "r", "080107" "2a0178" "08020203"),
	    "{\"u\":[7,2,3],\"s\":[\"x\"]}");
	/* A count the bytes cannot hold. */
	ASSERT_STR_EQ(dec(p, "r", "1a020000c03f000000"),
	    "ERR field 'f': 2 elements cannot fit at byte 1");
	ASSERT_STR_EQ(dec(p, "r", "08ffffffff0f01"),
	    "ERR field 'u': 4294967295 elements cannot fit at byte 1");
	pb_protos_free(p);
}

TEST(required)
{
	struct pb_protos	*p;

	p = compile("{\"r\":{\"required uInt32 a\":1,\"repeated P ps\":2,"
	    "\"optional P p\":3,"
	    "\"message P\":{\"required sInt32 x\":1,\"required sInt32 y\":2}}}",
	    PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "r", "{}"), "ERR missing required field 'a'");
	ASSERT_STR_EQ(enc(p, "r", "{\"a\":1,\"ps\":[{\"x\":1,\"y\":2},"
	    "{\"y\":1}]}"), "ERR missing required field 'ps[1].x'");
	ASSERT_STR_EQ(enc(p, "r", "{\"a\":1,\"p\":{\"x\":1}}"),
	    "ERR missing required field 'p.y'");
	/* Present but null counts as there, then fails as a value. */
	ASSERT_STR_EQ(enc(p, "r", "{\"a\":null}"),
	    "ERR field 'a': expected a number, got null");
	/* Decoding checks no required field, as none of the npm codecs. */
	ASSERT_STR_EQ(dec(p, "r", ""), "{}");
	ASSERT_STR_EQ(dec(p, "r", "1a020801"), "{\"p\":{\"x\":-1}}");
	pb_protos_free(p);
}

TEST(bad_input)
{
	struct pb_protos	*p;

	p = compile(demo, PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(dec(p, "demo", "4a00"), "ERR unknown tag 9 at byte 0");
	ASSERT_STR_EQ(dec(p, "demo", "0801" "3206080210014a00"),
	    "ERR field 'pts[0]': unknown tag 9 at byte 8");
	ASSERT_STR_EQ(dec(p, "demo", "08"), "ERR field 'id': truncated at "
	    "byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "0880"), "ERR field 'id': truncated at "
	    "byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "250000c0"),
	    "ERR field 'f': truncated at byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "29000000000000d0"),
	    "ERR field 'd': truncated at byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "420361"),
	    "ERR field 'names[0]': string of 3 bytes runs past the end at "
	    "byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "3205080210"),
	    "ERR field 'pts[0]': message of 5 bytes runs past the end at "
	    "byte 1");
	/* A field that overruns its message's length. */
	ASSERT_STR_EQ(dec(p, "demo", "320308021001"),
	    "ERR field 'pts[0].y': truncated at byte 5");
	/* Varints: 10 bytes at most, below 2^64, keys below 2^32. */
	ASSERT_STR_EQ(dec(p, "demo", "088080808080808080808001"),
	    "ERR field 'id': varint longer than 10 bytes at byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "0880808080808080808002"),
	    "ERR field 'id': varint not below 2^64 at byte 1");
	ASSERT_STR_EQ(dec(p, "demo", "8880808010"),
	    "ERR unknown tag 536870913 at byte 0");
	ASSERT_STR_EQ(dec(p, "demo", "88808080808001"),
	    "ERR unknown tag 549755813889 at byte 0");
	/* Over-long forms of small values are fine. */
	ASSERT_STR_EQ(dec(p, "demo", "88008100"), "{\"id\":1}");
	/* A later value of the same field wins, as msg[name] = value. */
	ASSERT_STR_EQ(dec(p, "demo", "08010802"), "{\"id\":2}");
	pb_protos_free(p);
}

TEST(utf8)
{
	struct pb_protos	*p;

	p = compile("{\"s\":{\"optional string s\":1}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	/*
	 * The browser codec writes U+1F600 as CESU-8 (ED A0 BD ED B8 80);
	 * Node, and so pomelo, read six U+FFFD from it. Other invalid forms
	 * give one U+FFFD per maximal subpart, as WHATWG says.
	 */
	ASSERT_STR_EQ(dec(p, "s", "0a06eda0bdedb880"),
	    "{\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\"}");
	ASSERT_STR_EQ(dec(p, "s", "0a04c0afe080"),
	    "{\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
	ASSERT_STR_EQ(dec(p, "s", "0a03e282"), "ERR field 's': string of 3 "
	    "bytes runs past the end at byte 1");
	ASSERT_STR_EQ(dec(p, "s", "0a0341e282"),
	    "{\"s\":\"A\xef\xbf\xbd\"}");
	ASSERT_STR_EQ(dec(p, "s", "0a04f4908041"),
	    "{\"s\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A\"}");
	pb_protos_free(p);
}

TEST(js_key_order)
{
	struct pb_protos	*p;

	/*
	 * for...in visits array-index names first, ascending: fields named
	 * "2" and "10" go before "b" and "a" whatever the value's order;
	 * "01" and "4294967295" are not indices.
	 */
	p = compile("{\"k\":{\"optional uInt32 b\":1,\"optional uInt32 10\":2,"
	    "\"optional uInt32 a\":3,\"optional uInt32 2\":4,"
	    "\"optional uInt32 01\":5,\"optional uInt32 4294967295\":6}}",
	    PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "k", "{\"b\":1,\"01\":5,\"10\":2,\"a\":3,"
	    "\"4294967295\":6,\"2\":4}"), "2004100208012805180330" "06");
	pb_protos_free(p);
}

TEST(parsed_form)
{
	struct pb_protos	*p;
	char			 ver[PB_VERSION_SIZE];

	/* The text and version npm pomelo-protobuf 0.4.0 gives (Node). */
	p = compile("{\"b\":{\"required uInt32 z\":3,\"optional string 10\":1,"
	    "\"optional string 2\":2,\"message 7\":{},\"message x\":"
	    "{\"optional uInt32 q\\\"\\\\\\n\\u0001" "\xc3\xa9/\":4}},"
	    "\"1\":{\"repeated float f\":0},"
	    "\"message G\":{\"required sInt32 v\":5.0}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(pb_protos_json(p, NULL),
	    "{\"1\":{\"f\":{\"option\":\"repeated\",\"type\":\"float\","
	    "\"tag\":0},\"__messages\":{},\"__tags\":{\"0\":\"f\"}},"
	    "\"b\":{\"2\":{\"option\":\"optional\",\"type\":\"string\","
	    "\"tag\":2},\"10\":{\"option\":\"optional\",\"type\":\"string\","
	    "\"tag\":1},\"z\":{\"option\":\"required\",\"type\":\"uInt32\","
	    "\"tag\":3},\"__messages\":{\"7\":{\"__messages\":{},"
	    "\"__tags\":{}},\"x\":{\"q\\\"\\\\\\n\\u0001" "\xc3\xa9/\":"
	    "{\"option\":\"optional\",\"type\":\"uInt32\",\"tag\":4},"
	    "\"__messages\":{},\"__tags\":{\"4\":\"q\\\"\\\\\\n\\u0001"
	    "\xc3\xa9/\"}}},\"__tags\":{\"1\":\"10\",\"2\":\"2\",\"3\":\"z\"}},"
	    "\"message G\":{\"v\":{\"option\":\"required\",\"type\":\"sInt32\","
	    "\"tag\":5},\"__messages\":{},\"__tags\":{\"5\":\"v\"}}}");
	ASSERT_EQ(pb_protos_version(NULL, p, ver), 0);
	pb_protos_free(p);

	/* A repeated JSON key: the last value, the first place (JSON.parse). */
	p = compile("{\"r\":{\"optional uInt32 a\":1,\"optional string b\":2,"
	    "\"optional uInt32 a\":3},\"s\":{},\"r\":{\"optional uInt32 a\":4,"
	    "\"optional string b\":2}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(pb_protos_json(p, NULL), "{\"r\":{\"a\":{\"option\":"
	    "\"optional\",\"type\":\"uInt32\",\"tag\":4},\"b\":{\"option\":"
	    "\"optional\",\"type\":\"string\",\"tag\":2},\"__messages\":{},"
	    "\"__tags\":{\"2\":\"b\",\"4\":\"a\"}},\"s\":{\"__messages\":{},"
	    "\"__tags\":{}}}");
	pb_protos_free(p);

	/* Large tags use the sorted table; __tags stays ascending. */
	p = compile("{\"t\":{\"optional uInt32 a\":268435455,"
	    "\"optional uInt32 b\":1000,\"optional uInt32 c\":1}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_CONTAINS(pb_protos_json(p, NULL),
	    "\"__tags\":{\"1\":\"c\",\"1000\":\"b\",\"268435455\":\"a\"}");
	ASSERT_STR_EQ(enc(p, "t", "{\"a\":1,\"b\":2,\"c\":3}"),
	    "f8ffffff0701c03e020803");
	ASSERT_STR_EQ(dec(p, "t", "f8ffffff0701c03e020803"),
	    "{\"a\":1,\"b\":2,\"c\":3}");
	ASSERT_STR_EQ(dec(p, "t", "c83e02"), "ERR unknown tag 1001 at byte 0");
	pb_protos_free(p);
}

TEST(schema_errors)
{
	/* The brief's example, word for word. */
	ASSERT_STR_EQ(compile_err("{\"onChat\":{\"required strng msg\":1}}",
	    PB_POMELO), "test.json: route onChat: field 'msg': unknown type "
	    "'strng'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"message A\":{\"optional B b\":1}}"
	    ",\"s\":{\"optional A x\":1}}", PB_POMELO),
	    "test.json: route s: field 'x': unknown type 'A'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"optional uInt32 a\":1,"
	    "\"message A\":{\"optional B b\":1}}}", PB_POMELO), "");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"optional A a\":1,\"message A\":"
	    "{\"optional B b\":1}}}", PB_POMELO),
	    "test.json: route r: message A: field 'b': unknown type 'B'");
	ASSERT_STR_EQ(compile_err("{\"message G\":{\"optional X x\":1},"
	    "\"r\":{\"optional G g\":1}}", PB_POMELO),
	    "test.json: message G: field 'x': unknown type 'X'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"required uInt32 a\":1,"
	    "\"optional string b\":1}}", PB_POMELO), "test.json: route r: "
	    "field 'b': tag 1 already used by field 'a'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"required uInt32 a\":1,"
	    "\"optional string a\":2}}", PB_POMELO),
	    "test.json: route r: field 'a': defined twice");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"required uInt32 a\":1.5}}",
	    PB_POMELO), "test.json: route r: field 'a': the tag must be an "
	    "integer from 0 to 268435455");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"required uInt32 a\":\"1\"}}",
	    PB_POMELO), "the tag must be an integer");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"required uInt32 a\":-1}}",
	    PB_POMELO), "the tag must be an integer");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"required uInt32 a\":"
	    "268435456}}", PB_POMELO), "the tag must be an integer");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"required uInt32 a\":1.0}}",
	    PB_POMELO), "");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"required uInt32\":1}}",
	    PB_POMELO), "test.json: route r: 'required uInt32' is not 'rule "
	    "type name' (one space between each)");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"required  uInt32 a\":1}}",
	    PB_POMELO), "is not 'rule type name'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"requird uInt32 a\":1}}",
	    PB_POMELO), "test.json: route r: 'requird uInt32 a': unknown "
	    "rule 'requird' (not 'rule type name' nor 'message Name')");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"comment\":1}}", PB_POMELO),
	    "unknown rule 'comment'");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"optional\":1}}", PB_POMELO),
	    "'optional' is not 'rule type name'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"map KV m\":1}}", PB_POMELO),
	    "test.json: route r: 'map KV m': rule 'map' needs the pinus "
	    "flavour");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"optional bool b\":1}}",
	    PB_POMELO), "test.json: route r: field 'b': type 'bool' needs "
	    "the pinus flavour");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"optional bool b\":1}}", PB_PINUS),
	    "");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"optional uInt32 __tags\":1}}",
	    PB_POMELO), "test.json: route r: field '__tags': reserved name");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"optional uInt32 "
	    "constructor\":1}}", PB_POMELO), "reserved name");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"message toString\":{}}}",
	    PB_POMELO), "reserved message name");
	ASSERT_STR_CONTAINS(compile_err("{\"__proto__\":{}}", PB_POMELO),
	    "reserved name");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"message\":{}}}", PB_POMELO),
	    "test.json: route r: 'message' is not 'message Name'");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"message A B\":{}}}", PB_POMELO),
	    "test.json: route r: 'message A B' is not 'message Name'");
	ASSERT_STR_CONTAINS(compile_err("{\"r\":{\"message \":{}}}",
	    PB_POMELO), "empty message name");
	ASSERT_STR_EQ(compile_err("{\"r\":5}", PB_POMELO),
	    "test.json: route r: not a JSON object");
	ASSERT_STR_EQ(compile_err("{\"r\":{\"message M\":[]}}", PB_POMELO),
	    "test.json: route r: message M: not a JSON object");
	ASSERT_STR_EQ(compile_err("{\"message G\":{\"optional X x\":1}}",
	    PB_POMELO), "");
}

TEST(unreachable_types)
{
	struct pb_protos	*p;

	/*
	 * pomelo's parser takes any type name and the codecs resolve it on
	 * use: an unknown type is an error only where a route can reach it.
	 * A broken global is not found as an entry of its own.
	 */
	p = compile("{\"message G\":{\"optional X x\":1},"
	    "\"r\":{\"optional uInt32 a\":1,\"message Unused\":"
	    "{\"optional Y y\":1}}}", PB_POMELO);
	ASSERT_TRUE(p != NULL);
	ASSERT_TRUE(pb_protos_find(p, "message G", 9) == NULL);
	ASSERT_TRUE(pb_protos_find(p, "r", 1) != NULL);
	ASSERT_STR_CONTAINS(pb_protos_json(p, NULL),
	    "\"message G\":{\"x\":{\"option\":\"optional\",\"type\":\"X\"");
	pb_protos_free(p);
}

TEST(pinus_types)
{
	struct pb_protos	*p;

	p = compile("{\"p\":{\"optional bool b\":1,\"optional uInt64 u\":2,"
	    "\"optional sInt64 s\":3,\"repeated bool bs\":4}}", PB_PINUS);
	ASSERT_TRUE(p != NULL);
	/* bool is the value's JavaScript truthiness. */
	ASSERT_STR_EQ(enc(p, "p", "{\"b\":true}"), "0801");
	ASSERT_STR_EQ(enc(p, "p", "{\"b\":\"yes\"}"), "0801");
	ASSERT_STR_EQ(enc(p, "p", "{\"b\":\"\"}"), "0800");
	ASSERT_STR_EQ(enc(p, "p", "{\"b\":0.0}"), "0800");
	ASSERT_STR_EQ(enc(p, "p", "{\"b\":null}"), "0800");
	ASSERT_STR_EQ(enc(p, "p", "{\"b\":[]}"), "0801");
	ASSERT_STR_EQ(dec(p, "p", "0802"), "{\"b\":true}");
	ASSERT_STR_EQ(dec(p, "p", "0800"), "{\"b\":false}");
	ASSERT_STR_EQ(enc(p, "p", "{\"bs\":[true,false]}"), "20020100");
	/*
	 * 64-bit: the uInt32/sInt32 encodings in doubles, JavaScript numbers
	 * decoded (pinus-protobuf's results: -(2^53 + 1) is -2^53 there, and
	 * zig-zag 2^54 - 1 rounds to 2^54; 2^55 - 1 decodes to +2^54).
	 */
	ASSERT_STR_EQ(enc(p, "p", "{\"u\":9007199254740994,"
	    "\"s\":-9007199254740993}"),
	    "108280808080808010188080808080808020");
	ASSERT_STR_EQ(dec(p, "p", "108280808080808010"),
	    "{\"u\":9007199254740994}");
	ASSERT_STR_EQ(dec(p, "p", "18ffffffffffffff3f"),
	    "{\"s\":18014398509481984}");
	ASSERT_STR_EQ(dec(p, "p", "18feffffffffffffff01"),
	    "{\"s\":72057594037927936}");
	ASSERT_STR_EQ(dec(p, "p", "18fdffffffffff0f"),
	    "{\"s\":-35184372088831}");
	pb_protos_free(p);
}

TEST(pinus_maps)
{
	struct pb_protos	*p;

	/*
	 * The entry message KV is nested; its value type Item is resolved
	 * where the map field is, as pinus does (KV's own "value" field
	 * would not resolve it). Bytes from pinus-protobuf 1.7.4, "a" as a
	 * Map built from the object.
	 */
	p = compile("{\"m\":{\"map KV a\":1,\"obj KV b\":2,"
	    "\"optional Item c\":3,\"message KV\":{\"required sInt32 key\":1,"
	    "\"required Item value\":2},\"message Item\":{\"optional bool ok\":1,"
	    "\"optional uInt64 n\":2}}}", PB_PINUS);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "m", "{\"a\":{\"2\":{\"ok\":true},\"-10\":{\"n\":5}},"
	    "\"b\":{\"10\":{\"ok\":false},\"2\":{},\"-1\":{\"n\":"
	    "9223372036854775808.0}},\"c\":{\"ok\":\"yes\",\"n\":"
	    "9007199254740994}}"),
	    "0a0204020801130210051203040014020800010b10808080808080808080011a"
	    "0b0801108280808080808010");
	ASSERT_STR_EQ(dec(p, "m", "0a0204020801130210051203040014020800010b1"
	    "0808080808080808080011a0b0801108280808080808010"),
	    "{\"a\":{\"2\":{\"ok\":true},\"-10\":{\"n\":5}},\"b\":{\"2\":{},"
	    "\"10\":{\"ok\":false},\"-1\":{\"n\":9.2233720368547758e18}},"
	    "\"c\":{\"ok\":true,\"n\":9007199254740994}}");
	/* An empty map is written (an empty Map is); an empty obj is not. */
	ASSERT_STR_EQ(enc(p, "m", "{\"a\":{},\"b\":{}}"), "0a00");
	ASSERT_STR_EQ(dec(p, "m", "0a00"), "{\"a\":{}}");
	ASSERT_STR_EQ(enc(p, "m", "{\"a\":null,\"b\":null}"), "");
	/* Required fields beneath map values are not checked, as in pinus. */
	ASSERT_STR_EQ(enc(p, "m", "{\"b\":{\"x\":{}}}"),
	    "ERR field 'b[x]': the key is not a number");
	ASSERT_STR_EQ(enc(p, "m", "{\"b\":[]}"),
	    "ERR field 'b': expected an object, got an array");
	ASSERT_STR_EQ(dec(p, "m", "120102"),
	    "ERR field 'b': 1 entries cannot fit at byte 1");
	ASSERT_STR_EQ(dec(p, "m", "1201808080808080804000"),
	    "ERR field 'b': map key beyond 2^53 at byte 2");
	pb_protos_free(p);

	p = compile("{\"m\":{\"obj KV o\":1,\"message KV\":{\"required string "
	    "key\":1,\"required uInt32 value\":2}}}", PB_PINUS);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(enc(p, "m", "{\"o\":{\"x\":1,\"10\":2,\"\":3,\"2\":4}}"),
	    "0a04" "013204" "02313002" "017801" "0003");
	ASSERT_STR_EQ(dec(p, "m", "0a02" "017801" "017802"),
	    "{\"o\":{\"x\":2}}");
	ASSERT_STR_EQ(dec(p, "m", "0a0102c3280a"),
	    "{\"o\":{\"\xef\xbf\xbd(\":10}}");
	pb_protos_free(p);

	/* Integer keys are JavaScript numbers first (pinus's results). */
	p = compile("{\"k\":{\"obj KU o\":1,\"obj KS z\":2,\"message KU\":"
	    "{\"required uInt64 key\":1,\"required uInt32 value\":2},"
	    "\"message KS\":{\"required sInt64 key\":1,"
	    "\"required uInt32 value\":2}}}", PB_PINUS);
	ASSERT_TRUE(p != NULL);
	ASSERT_STR_EQ(dec(p, "k", "0a01818080808080801005"),
	    "{\"o\":{\"9007199254740992\":5}}");
	ASSERT_STR_EQ(dec(p, "k", "1201838080808080801005"),
	    "{\"z\":{\"4503599627370498\":5}}");
	ASSERT_STR_EQ(dec(p, "k", "1201818080808080801005"),
	    "{\"z\":{\"4503599627370496\":5}}");
	pb_protos_free(p);

	ASSERT_STR_EQ(compile_err("{\"m\":{\"map KV a\":1,\"message KV\":"
	    "{\"required float key\":1,\"required uInt32 value\":2}}}",
	    PB_PINUS), "test.json: route m: field 'a': key type 'float' is "
	    "not string or an integer type");
	ASSERT_STR_EQ(compile_err("{\"m\":{\"map KV a\":1,\"message KV\":"
	    "{\"required string k\":1,\"required uInt32 value\":2}}}",
	    PB_PINUS), "test.json: route m: field 'a': type 'KV' is not a "
	    "message with fields 'key' and 'value'");
	ASSERT_STR_EQ(compile_err("{\"m\":{\"map uInt32 a\":1}}", PB_PINUS),
	    "test.json: route m: field 'a': type 'uInt32' is not a message "
	    "with fields 'key' and 'value'");
	ASSERT_STR_EQ(compile_err("{\"m\":{\"map KV a\":1,\"message KV\":"
	    "{\"required string key\":1,\"required Nope value\":2}}}",
	    PB_PINUS), "test.json: route m: field 'a': unknown value type "
	    "'Nope'");
}

/* Every buffer size from 0 up: -ENOBUFS with the size, then the bytes. */
TEST(buffer_sizes)
{
	struct pb_protos	*p;
	const struct pb_msg	*m;
	uint8_t			 full[40000], *buf;
	json_t			*v, *list, *inner;
	char			 err[PB_ERR_SIZE];
	size_t			 need = 0, len, cap, k, sizes[] = { 1, 126, 127,
				     128, 200, 16383, 16384, 20000 };

	p = compile("{\"r\":{\"optional uInt32 a\":1,\"repeated M m\":2},"
	    "\"message M\":{\"optional string s\":1,\"optional M m\":2}}",
	    PB_POMELO);
	ASSERT_TRUE(p != NULL);
	m = pb_protos_find(p, "r", 1);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		/* {a:1, m:[{s:<sizes[k] x>, m:{s:"yy"}}, {}]} */
		v = json_object();
		json_object_set_new(v, "a", json_integer(1));
		list = json_array();
		inner = json_object();
		buf = xmalloc(sizes[k] + 1);
		memset(buf, 'x', sizes[k]);
		json_object_set_new(inner, "s", json_stringn((char *)buf,
		    sizes[k]));
		free(buf);
		json_object_set_new(inner, "m", json_pack("{s:s}", "s", "yy"));
		json_array_append_new(list, inner);
		json_array_append_new(list, json_object());
		json_object_set_new(v, "m", list);

		ASSERT_EQ(pb_encode(m, v, full, sizeof(full), &need, err,
		    sizeof(err)), 0);
		for (cap = 0; cap <= need; cap += (cap < 300 ||
		    need - cap < 300) ? 1 : 97) {
			buf = xmalloc(cap > 0 ? cap : 1);
			len = 0;
			if (cap < need) {
				ASSERT_EQ(pb_encode(m, v, buf, cap, &len, err,
				    sizeof(err)), -ENOBUFS);
				ASSERT_UEQ(len, need);
			} else {
				ASSERT_EQ(pb_encode(m, v, buf, cap, &len, err,
				    sizeof(err)), 0);
				ASSERT_MEM_EQ(buf, len, full, need);
			}
			free(buf);
		}
		ASSERT_EQ(pb_encode(m, v, NULL, 0, &len, err, sizeof(err)),
		    -ENOBUFS);
		ASSERT_UEQ(len, need);
		/* And it decodes to what went in. */
		ASSERT_EQ(pb_decode(m, full, need, &inner, err, sizeof(err)),
		    0);
		ASSERT_TRUE(json_equal(inner, v));
		json_decref(inner);
		json_decref(v);
	}
	pb_protos_free(p);
}

TEST(loader)
{
	struct pb_protos	*p = NULL;
	char			 dir[] = "/tmp/test-protobuf-XXXXXX";
	char			 path[256], err[PB_ERR_SIZE];
	FILE			*fp;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/serverProtos.json", dir);

	ASSERT_EQ(pb_protos_load(path, PB_POMELO, &p, err, sizeof(err)),
	    -ENOENT);
	ASSERT_STR_CONTAINS(err, "serverProtos.json: No such file");

	/* An empty file is a syntax error, as require() finds it. */
	fp = fopen(path, "w");
	fclose(fp);
	ASSERT_EQ(pb_protos_load(path, PB_POMELO, &p, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "serverProtos.json:1: ");

	fp = fopen(path, "w");
	fputs("{\n  \"onChat\": {\n    \"required string msg\": 1,\n  }\n}\n",
	    fp);
	fclose(fp);
	ASSERT_EQ(pb_protos_load(path, PB_POMELO, &p, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "serverProtos.json:4: ");

	fp = fopen(path, "w");
	fputs("[]", fp);
	fclose(fp);
	ASSERT_EQ(pb_protos_load(path, PB_POMELO, &p, err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "serverProtos.json: not a JSON object");

	fp = fopen(path, "w");
	fputs("{\"onChat\":{\"required strng msg\":1}}", fp);
	fclose(fp);
	ASSERT_EQ(pb_protos_load(path, PB_POMELO, &p, err, sizeof(err)),
	    -EINVAL);
	ASSERT_TRUE(strstr(err, "/serverProtos.json: route onChat: field "
	    "'msg': unknown type 'strng'") != NULL);

	/* A byte order mark is skipped, as Node's require() does. */
	fp = fopen(path, "w");
	fputs("\xef\xbb\xbf" "{\"onChat\":{\"required string msg\":1,"
	    "\"required string from\":2,\"required string target\":3}}\n", fp);
	fclose(fp);
	ASSERT_EQ(pb_protos_load(path, PB_POMELO, &p, err, sizeof(err)), 0);
	ASSERT_STR_EQ(enc(p, "onChat", "{\"msg\":\"hi\",\"from\":\"bob\","
	    "\"target\":\"*\"}"), "0a0268691203626f621a012a");
	pb_protos_free(p);

	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	RUN(chat_vectors);
	RUN(chatofpomelo_files);
	RUN(demo_vectors);
	RUN(scalars);
	RUN(js_numbers);
	RUN(wrong_types);
	RUN(nested_and_global);
	RUN(recursion_and_depth);
	RUN(repeated);
	RUN(required);
	RUN(bad_input);
	RUN(utf8);
	RUN(js_key_order);
	RUN(parsed_form);
	RUN(schema_errors);
	RUN(unreachable_types);
	RUN(pinus_types);
	RUN(pinus_maps);
	RUN(buffer_sizes);
	RUN(loader);
	TEST_DONE();
}
