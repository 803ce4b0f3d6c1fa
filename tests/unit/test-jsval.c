/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the JavaScript value helpers, against what Node 20 prints for
 * the same values: JSON.parse corner cases (any top-level value, NULs,
 * integers past 64 bits), truthiness, String() of every JSON type,
 * Number#toString, object-key ids, JSON.stringify escaping and the text
 * buffer.
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsval.h"
#include "tests/unit/test.h"

/* Parses <text>; NULL when it is not JSON. */
static json_t *
parse(const char *text)
{
	json_t	*j = NULL;

	if (jsval_parse(text, strlen(text), &j, NULL, 0) != 0) {
		return NULL;
	}
	return j;
}

TEST(parse_like_json_parse)
{
	json_t	*j;
	char	 err[128];

	/* Any value at the top. */
	j = parse("42");
	ASSERT_TRUE(json_is_integer(j));
	json_decref(j);
	j = parse("\"s\"");
	ASSERT_TRUE(json_is_string(j));
	json_decref(j);
	j = parse(" null ");
	ASSERT_TRUE(json_is_null(j));
	json_decref(j);

	/* "\u0000" inside a string is kept, with its length. */
	j = parse("[\"a\\u0000b\"]");
	ASSERT_TRUE(j != NULL);
	ASSERT_EQ(json_string_length(json_array_get(j, 0)), 3);
	json_decref(j);

	/* Integers past 64 bits: the whole text as doubles. */
	j = parse("{\"big\":100000000000000000000,\"n\":3}");
	ASSERT_TRUE(j != NULL);
	ASSERT_TRUE(json_is_real(json_object_get(j, "big")));
	ASSERT_TRUE(json_real_value(json_object_get(j, "big")) == 1e20);
	ASSERT_TRUE(json_is_real(json_object_get(j, "n")));
	json_decref(j);

	/* Not JSON: -EBADMSG with a reason; <*ret> untouched. */
	j = (json_t *)&err;
	ASSERT_EQ(jsval_parse("{\"a\":", 5, &j, err, sizeof(err)), -EBADMSG);
	ASSERT_TRUE(j == (json_t *)&err);
	ASSERT_STR_CONTAINS(err, "not JSON");
	ASSERT_EQ(jsval_parse("", 0, &j, err, sizeof(err)), -EBADMSG);
	ASSERT_EQ(jsval_parse("{} x", 4, &j, NULL, 0), -EBADMSG);
	/* A lone surrogate: JSON.parse takes it, jansson cannot. */
	ASSERT_EQ(jsval_parse("\"\\ud800\"", 8, &j, NULL, 0), -EBADMSG);
}

TEST(truthy)
{
	static const char *const falsy[] = {
		"null", "false", "0", "-0", "0.0", "-0.0", "\"\"",
	};
	static const char *const truthy[] = {
		"true", "1", "-1", "0.5", "\"0\"", "\" \"", "{}", "[]", "[0]",
		"\"false\"",
	};
	json_t	*j;
	size_t	 i;

	ASSERT_TRUE(!jsval_truthy(NULL));
	for (i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++) {
		j = parse(falsy[i]);
		ASSERT_TRUE(j != NULL);
		if (jsval_truthy(j)) {
			TEST_FAIL_AT("%s is truthy", falsy[i]);
		}
		json_decref(j);
	}
	for (i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
		j = parse(truthy[i]);
		ASSERT_TRUE(j != NULL);
		if (!jsval_truthy(j)) {
			TEST_FAIL_AT("%s is falsy", truthy[i]);
		}
		json_decref(j);
	}
}

TEST(number_format_as_node)
{
	/* String(v) in Node 20 for each value. */
	static const struct {
		double		 v;
		const char	*s;
	} cases[] = {
		{ 0.0, "0" }, { -0.0, "0" }, { 1, "1" }, { -1.5, "-1.5" },
		{ 100, "100" }, { 0.1, "0.1" }, { 0.1 + 0.2,
		"0.30000000000000004" }, { 1.0 / 3, "0.3333333333333333" },
		{ 4.35, "4.35" }, { 1234.5678, "1234.5678" },
		{ 1e20, "100000000000000000000" },
		{ 123456789012345680000.0, "123456789012345680000" },
		{ 1e21, "1e+21" }, { 1e301, "1e+301" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 0.000001, "0.000001" }, { 1e-7, "1e-7" },
		{ 1.5e-7, "1.5e-7" }, { 2.5e-7, "2.5e-7" },
		{ 123e-20, "1.23e-18" }, { 5e-324, "5e-324" },
		{ 9007199254740993.0, "9007199254740992" },
		{ 42, "42" }, { 841265288, "841265288" },
	};
	char	 out[JSVAL_NUMBER_MAX];
	size_t	 i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = jsval_number_format(cases[i].v, out);
		ASSERT_EQ(n, strlen(out));
		ASSERT_STR_EQ(out, cases[i].s);
	}
	jsval_number_format(NAN, out);
	ASSERT_STR_EQ(out, "NaN");
	jsval_number_format(INFINITY, out);
	ASSERT_STR_EQ(out, "Infinity");
	jsval_number_format(-INFINITY, out);
	ASSERT_STR_EQ(out, "-Infinity");
	/* The longest forms fit. */
	ASSERT_LT(jsval_number_format(-2.2250738585072014e-308, out),
	    JSVAL_NUMBER_MAX);
	ASSERT_STR_EQ(out, "-2.2250738585072014e-308");
}

TEST(to_string_as_node)
{
	static const struct {
		const char	*json;
		const char	*s;
	} cases[] = {
		{ "\"alice*r1\"", "alice*r1" }, { "42", "42" },
		{ "1e21", "1e+21" }, { "4.50", "4.5" }, { "true", "true" },
		{ "false", "false" }, { "null", "null" },
		{ "{\"a\":1}", "[object Object]" }, { "[]", "" },
		/* String([1,[2,[3,null]],null,"x",{a:1},true]) */
		{ "[1,[2,[3,null]],null,\"x\",{\"a\":1},true]",
		    "1,2,3,,,x,[object Object],true" },
	};
	json_t	*j;
	char	*s;
	size_t	 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = parse(cases[i].json);
		ASSERT_TRUE(j != NULL);
		s = jsval_to_string(j, &len);
		json_decref(j);
		ASSERT_EQ(len, strlen(cases[i].s));
		if (strcmp(s, cases[i].s) != 0) {
			TEST_FAIL_AT("String(%s) = \"%s\", want \"%s\"",
			    cases[i].json, s, cases[i].s);
			free(s);
			return;
		}
		free(s);
	}
	s = jsval_to_string(NULL, NULL);
	ASSERT_STR_EQ(s, "undefined");
	free(s);
	/* NULs survive, with the length. */
	j = parse("\"a\\u0000b\"");
	s = jsval_to_string(j, &len);
	ASSERT_EQ(len, 3);
	ASSERT_MEM_EQ(s, 3, "a\0b", 3);
	free(s);
	json_decref(j);
}

TEST(cstr_and_number)
{
	const char	*s = NULL;
	json_t		*j;
	double		 d = 0;

	j = parse("[\"ok\",\"a\\u0000b\",7,2.5,\"7\"]");
	ASSERT_TRUE(jsval_cstr(json_array_get(j, 0), &s));
	ASSERT_STR_EQ(s, "ok");
	s = "untouched";
	ASSERT_TRUE(!jsval_cstr(json_array_get(j, 1), &s));
	ASSERT_TRUE(!jsval_cstr(json_array_get(j, 2), &s));
	ASSERT_TRUE(!jsval_cstr(NULL, &s));
	ASSERT_STR_EQ(s, "untouched");
	ASSERT_TRUE(jsval_number(json_array_get(j, 2), &d));
	ASSERT_TRUE(d == 7.0);
	ASSERT_TRUE(jsval_number(json_array_get(j, 3), &d));
	ASSERT_TRUE(d == 2.5);
	ASSERT_TRUE(!jsval_number(json_array_get(j, 4), &d));
	ASSERT_TRUE(!jsval_number(NULL, &d));
	ASSERT_TRUE(d == 2.5);
	json_decref(j);
}

TEST(key_uint_as_object_keys)
{
	static const struct {
		const char	*json;
		bool		 ok;
		uint64_t	 v;
	} cases[] = {
		{ "0", true, 0 }, { "7", true, 7 }, { "7.0", true, 7 },
		{ "-0.0", true, 0 }, { "\"7\"", true, 7 }, { "\"0\"", true, 0 },
		{ "9007199254740992", true, 9007199254740992ull },
		{ "\"9007199254740992\"", true, 9007199254740992ull },
		{ "9007199254740993", false, 0 }, { "-1", false, 0 },
		{ "7.5", false, 0 }, { "\"07\"", false, 0 },
		{ "\"7.0\"", false, 0 }, { "\" 7\"", false, 0 },
		{ "\"\"", false, 0 }, { "\"-1\"", false, 0 },
		{ "null", false, 0 }, { "true", false, 0 }, { "[7]", false, 0 },
		{ "\"99999999999999999\"", false, 0 },
	};
	json_t		*j;
	uint64_t	 v;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = parse(cases[i].json);
		ASSERT_TRUE(j != NULL);
		v = 12345;
		if (jsval_key_uint(j, &v) != cases[i].ok) {
			TEST_FAIL_AT("%s: wrong verdict", cases[i].json);
			json_decref(j);
			return;
		}
		ASSERT_UEQ(v, cases[i].ok ? cases[i].v : 12345);
		json_decref(j);
	}
	ASSERT_TRUE(!jsval_key_uint(NULL, &v));
}

TEST(stringify_escapes_as_node)
{
	struct jsval_buf	 b = { 0 };
	const char		 raw[] = "\x01\x1f\x7f\b\f\n\r\t\"\\/\xc3\xa9"
	    "\xe2\x80\xa8";
	char			*s;
	size_t			 len;

	/* JSON.stringify("\u0001\u001f\u007f\b\f\n\r\t\"\\/é\u2028") */
	jsval_buf_add_quoted(&b, raw, sizeof(raw) - 1);
	s = jsval_buf_steal(&b, &len);
	ASSERT_STR_EQ(s, "\"\\u0001\\u001f\x7f\\b\\f\\n\\r\\t\\\"\\\\/"
	    "\xc3\xa9\xe2\x80\xa8\"");
	ASSERT_EQ(len, strlen(s));
	free(s);

	/* A NUL inside. */
	jsval_buf_add_quoted(&b, "a\0b", 3);
	s = jsval_buf_steal(&b, NULL);
	ASSERT_STR_EQ(s, "\"a\\u0000b\"");
	free(s);
}

TEST(dump_as_node)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "{ \"a\" : [1, 2.5, null, true, false, \"x\"], \"b\":{} }",
		    "{\"a\":[1,2.5,null,true,false,\"x\"],\"b\":{}}" },
		{ "[0.1, 1e21, 100000000000000000000, -0.0]",
		    "[0.1,1e+21,100000000000000000000,0]" },
		{ "{\"k\":\"v\\u0000\\n\"}", "{\"k\":\"v\\u0000\\n\"}" },
		{ "\"top\"", "\"top\"" }, { "[]", "[]" },
		{ "9223372036854775807", "9223372036854775807" },
	};
	json_t	*j;
	char	*s;
	size_t	 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = parse(cases[i].in);
		if (j == NULL) {
			TEST_FAIL_AT("could not parse %s", cases[i].in);
			return;
		}
		s = jsval_dump(j, &len);
		json_decref(j);
		ASSERT_EQ(len, strlen(cases[i].out));
		if (strcmp(s, cases[i].out) != 0) {
			TEST_FAIL_AT("dump of %s: %s", cases[i].in, s);
			free(s);
			return;
		}
		free(s);
	}
}

TEST(buffer)
{
	struct jsval_buf	 b = { 0 };
	char			*s;
	size_t			 len = 99, i;

	s = jsval_buf_steal(&b, &len);
	ASSERT_STR_EQ(s, "");
	ASSERT_EQ(len, 0);
	free(s);
	jsval_buf_add_str(&b, "id:");
	jsval_buf_add_uint(&b, 18446744073709551615ull);
	jsval_buf_add(&b, NULL, 0);
	ASSERT_STR_EQ(b.data, "id:18446744073709551615");
	/* Growth past the first allocation keeps what was written. */
	for (i = 0; i < 1000; i++) {
		jsval_buf_add(&b, "0123456789", 10);
	}
	ASSERT_EQ(b.len, 23 + 10000);
	ASSERT_EQ(b.data[b.len], '\0');
	ASSERT_MEM_EQ(b.data + b.len - 10, 10, "0123456789", 10);
	jsval_buf_finish(&b);
	ASSERT_TRUE(b.data == NULL);
	jsval_buf_finish(&b);
	jsval_buf_finish(NULL);
}

TEST(array_index_as_object_keys)
{
	static const struct {
		const char	*s;
		bool		 index;
		uint32_t	 v;
	} cases[] = {
		{ "0", true, 0 }, { "7", true, 7 }, { "4294967294", true,
		    4294967294u }, { "4294967295", false, 0 }, { "07", false, 0 },
		{ "", false, 0 }, { "-1", false, 0 }, { "1.0", false, 0 },
		{ "12345678901", false, 0 }, { "a1", false, 0 },
	};
	uint32_t	 v;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = 99;
		ASSERT_EQ(jsval_array_index(cases[i].s, strlen(cases[i].s), &v),
		    cases[i].index);
		ASSERT_EQ(v, cases[i].index ? cases[i].v : 99);
	}
}

int
main(void)
{
	RUN(parse_like_json_parse);
	RUN(truthy);
	RUN(number_format_as_node);
	RUN(to_string_as_node);
	RUN(cstr_and_number);
	RUN(key_uint_as_object_keys);
	RUN(stringify_escapes_as_node);
	RUN(dump_as_node);
	RUN(buffer);
	RUN(array_index_as_object_keys);
	TEST_DONE();
}
