/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Unit tests for common/jscan.c: which texts are plain (and that jansson
 * reads every one of them), and the walk through objects and arrays.
 */

#include "config.h"

#include <string.h>

#include <jansson.h>

#include "common/jscan.h"
#include "test.h"

static bool
plain(const char *s)
{
	return jscan_plain(s, strlen(s));
}

TEST(plain_texts)
{
	static const char *const yes[] = {
		"{}", "[]", " { } ", "\t[\n]\r\n", "0", "-0", "12", "-3.25",
		"0.5", "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/\"",
		"\"\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"",
		"\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		"{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{}}",
		"[[],[[]],{},{\"\":\"\"}]", "123456789012345",
		"0.12345678901234567890123", "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
	};
	static const char *const no[] = {
		/* not JSON */
		"", " ", "{", "}", "[", "]", "{]", "[}", "[1,]", "{\"a\":1,}",
		"{\"a\"}", "{\"a\" 1}", "{1:2}", "[1 2]", "01", "-", "1.",
		".5", "+1", "tru", "nul", "True", "\"abc", "\"\\x\"",
		"\"\\u12\"", "\"a\nb\"", "\"\t\"", "{} {}", "1 2", "[1]x",
		"\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
		"\"\xe2\x82\"", "\"\x80\"", "\"\xff\"", "NaN", "Infinity",
		/* JSON, but not plain: jansson and JSON.parse may differ */
		"1e5", "1E5", "2.5e-3", "1234567890123456", "-1234567890123456",
		"\"\\u0000\"", "\"\\uD83D\"", "\"\\uDE00\"", "\"\\uD83Dx\"",
		"\"\\uD83D\\u0041\"",
	};
	size_t	 i;
	json_t	*j;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (!plain(yes[i])) {
			TEST_FAIL_AT("not plain: %s", yes[i]);
		}
		j = json_loadb(yes[i], strlen(yes[i]), JSON_DECODE_ANY, NULL);
		if (j == NULL) {
			TEST_FAIL_AT("plain, but jansson refuses: %s", yes[i]);
		}
		json_decref(j);
	}
	for (i = 0; i < sizeof no / sizeof no[0]; i++) {
		if (plain(no[i])) {
			TEST_FAIL_AT("plain: %s", no[i]);
		}
	}
	/* A NUL byte is not plain anywhere; the length is what counts. */
	ASSERT_TRUE(!jscan_plain("\"a\0b\"", 5));
	ASSERT_TRUE(jscan_plain("[1]\0", 3));
	ASSERT_TRUE(!jscan_plain("[1]\0", 4));
}

TEST(depth)
{
	char	 text[2 * (JSCAN_MAX_DEPTH + 1)];
	size_t	 n;

	for (n = 0; n < JSCAN_MAX_DEPTH; n++) {
		text[n] = '[';
		text[2 * JSCAN_MAX_DEPTH - 1 - n] = ']';
	}
	ASSERT_TRUE(jscan_plain(text, 2 * JSCAN_MAX_DEPTH));
	memmove(text + 1, text, 2 * JSCAN_MAX_DEPTH);
	text[0] = '[';
	text[2 * JSCAN_MAX_DEPTH + 1] = ']';
	ASSERT_TRUE(!jscan_plain(text, 2 * JSCAN_MAX_DEPTH + 2));
	/* Objects and arrays interleaved close in their own order. */
	ASSERT_TRUE(plain("[{\"a\":[{\"b\":[]}]}]"));
	ASSERT_TRUE(!plain("[{\"a\":[{\"b\":[]]}]}"));
}

TEST(walk)
{
	static const char	 text[] =
	    "[ {\"id\" : 7 , \"resp\":[null,{\"code\":200,\"s\":\"a,]}\\\"\"}]},"
	    " 1.5 ,\"x\", [] , {} ]";
	struct jscan_iter	 it, obj;
	const char		*v, *k;
	size_t			 len, klen, n = 0;

	ASSERT_TRUE(jscan_plain(text, sizeof text - 1));
	ASSERT_TRUE(!jscan_enter(&it, text, sizeof text - 1, '{'));
	ASSERT_TRUE(jscan_enter(&it, text, sizeof text - 1, '['));
	ASSERT_TRUE(jscan_element(&it, &v, &len));
	ASSERT_TRUE(jscan_enter(&obj, v, len, '{'));
	ASSERT_TRUE(jscan_member(&obj, &k, &klen, &v, &len));
	ASSERT_MEM_EQ(k, klen, "id", 2);
	ASSERT_MEM_EQ(v, len, "7", 1);
	ASSERT_TRUE(jscan_member(&obj, &k, &klen, &v, &len));
	ASSERT_MEM_EQ(k, klen, "resp", 4);
	ASSERT_MEM_EQ(v, len, "[null,{\"code\":200,\"s\":\"a,]}\\\"\"}]", 32);
	ASSERT_TRUE(!jscan_member(&obj, &k, &klen, &v, &len));
	for (n = 0; jscan_element(&it, &v, &len); n++) {
		switch (n) {
		case 0:
			ASSERT_MEM_EQ(v, len, "1.5", 3);
			break;
		case 1:
			ASSERT_MEM_EQ(v, len, "\"x\"", 3);
			break;
		case 2:
			ASSERT_MEM_EQ(v, len, "[]", 2);
			break;
		case 3:
			ASSERT_MEM_EQ(v, len, "{}", 2);
			break;
		}
	}
	ASSERT_EQ(n, 4);
	ASSERT_TRUE(jscan_is("null", 4, "null"));
	ASSERT_TRUE(!jscan_is("nul", 3, "null"));
	/* Empty containers have nothing to walk. */
	ASSERT_TRUE(jscan_enter(&it, "{ }", 3, '{'));
	ASSERT_TRUE(!jscan_member(&it, &k, &klen, &v, &len));
	ASSERT_TRUE(jscan_enter(&it, "[ ]", 3, '['));
	ASSERT_TRUE(!jscan_element(&it, &v, &len));
}

int
main(void)
{
	RUN(plain_texts);
	RUN(depth);
	RUN(walk);
	TEST_DONE();
}
