/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the route dictionary: code order, repeats, the JSON texts and
 * versions (checked against what pomelo and Node.js compute), lookups,
 * the 65535-route limit and the errors for bad dictionary files. The
 * fixtures are tests/unit/data/dict-*.json.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/dict.h"
#include "common/xmalloc.h"
#include "tests/unit/test.h"

#define DATA	SRCDIR "/tests/unit/data/"

static const char *const helloworld[] = {
	"connector.entryHandler.subscribe",
	"connector.entryHandler.entry",
	"connector.entryHandler.publish",
};

TEST(helloworld_version)
{
	struct dict	 d;
	char		 err[256];

	ASSERT_EQ(dict_init(&d, helloworld, 3, NULL, err, sizeof(err)), 0);
	ASSERT_EQ(d.n, 3);
	/* pomelo 2.2.7's dictVersion for these routes (PROTOCOL.md §3.3). */
	ASSERT_STR_EQ(d.version, "vhs1TJfFaUAZcUaS9t3zTQ==");
	ASSERT_STR_EQ(d.json_dict,
	    "{\"connector.entryHandler.entry\":1,"
	    "\"connector.entryHandler.publish\":2,"
	    "\"connector.entryHandler.subscribe\":3}");
	ASSERT_STR_EQ(d.json_code_to_route,
	    "{\"1\":\"connector.entryHandler.entry\","
	    "\"2\":\"connector.entryHandler.publish\","
	    "\"3\":\"connector.entryHandler.subscribe\"}");
	ASSERT_STR_EQ(dict_route(&d, 1), "connector.entryHandler.entry");
	ASSERT_STR_EQ(dict_route(&d, 3), "connector.entryHandler.subscribe");
	ASSERT_TRUE(dict_route(&d, 0) == NULL);
	ASSERT_TRUE(dict_route(&d, 4) == NULL);
	ASSERT_EQ(dict_code(&d, "connector.entryHandler.publish", 30), 2);
	dict_finish(&d);
	ASSERT_TRUE(d.version == NULL && d.n == 0);
}

TEST(empty)
{
	struct dict	 d;
	char		 err[256];

	ASSERT_EQ(dict_init(&d, NULL, 0, NULL, err, sizeof(err)), 0);
	ASSERT_EQ(d.n, 0);
	ASSERT_STR_EQ(d.json_dict, "{}");
	ASSERT_STR_EQ(d.json_code_to_route, "{}");
	/* base64(MD5("{}")), as Node.js computes it. */
	ASSERT_STR_EQ(d.version, "mZFLkyvTelC5g8XnyQrpOw==");
	ASSERT_EQ(dict_code(&d, "a", 1), 0);
	ASSERT_TRUE(dict_route(&d, 1) == NULL);
	dict_finish(&d);

	/* "" means no file; so does the {} the pomelo templates ship. */
	ASSERT_EQ(dict_init(&d, NULL, 0, "", err, sizeof(err)), 0);
	ASSERT_EQ(d.n, 0);
	dict_finish(&d);
	ASSERT_EQ(dict_init(&d, NULL, 0, DATA "dict-empty-object.json", err,
	    sizeof(err)), 0);
	ASSERT_EQ(d.n, 0);
	ASSERT_STR_EQ(d.version, "mZFLkyvTelC5g8XnyQrpOw==");
	dict_finish(&d);
}

TEST(file_order_and_repeats)
{
	static const char *const builtin[] = { "b.x", "a.y", "b.x" };
	struct dict	 d;
	char		 err[256];

	/* File: onChat, onAdd, a.y (built in already), onChat, onLeave. */
	ASSERT_EQ(dict_init(&d, builtin, 3, DATA "dict-chat.json", err,
	    sizeof(err)), 0);
	ASSERT_EQ(d.n, 5);
	ASSERT_STR_EQ(d.json_dict,
	    "{\"a.y\":1,\"b.x\":2,\"onChat\":3,\"onAdd\":4,\"onLeave\":5}");
	ASSERT_STR_EQ(d.json_code_to_route,
	    "{\"1\":\"a.y\",\"2\":\"b.x\",\"3\":\"onChat\",\"4\":\"onAdd\","
	    "\"5\":\"onLeave\"}");
	/* Node.js: base64(md5(JSON.stringify(dict))). */
	ASSERT_STR_EQ(d.version, "xxwqfKpn+UQfJqZuUsKHcw==");
	ASSERT_EQ(dict_code(&d, "a.y", 3), 1);
	ASSERT_EQ(dict_code(&d, "b.x", 3), 2);
	ASSERT_EQ(dict_code(&d, "onChat", 6), 3);
	ASSERT_EQ(dict_code(&d, "onAdd", 5), 4);
	ASSERT_EQ(dict_code(&d, "onLeave", 7), 5);
	/* Lengths are honoured: no NUL is needed, prefixes do not match. */
	ASSERT_EQ(dict_code(&d, "onChatter", 6), 3);
	ASSERT_EQ(dict_code(&d, "onCha", 5), 0);
	ASSERT_EQ(dict_code(&d, "onChat!", 7), 0);
	ASSERT_EQ(dict_code(&d, "", 0), 0);
	ASSERT_STR_EQ(dict_route(&d, 4), "onAdd");
	dict_finish(&d);
}

TEST(javascript_sort_order)
{
	/* U+FF01, U+1F600, "a", U+E000, "Z". */
	static const char *const builtin[] = {
		"\xef\xbc\x81", "\xf0\x9f\x98\x80", "a", "\xee\x80\x80", "Z",
	};
	struct dict	 d;
	char		 err[256];

	ASSERT_EQ(dict_init(&d, builtin, 5, NULL, err, sizeof(err)), 0);
	/*
	 * [...].sort() in Node.js: UTF-16 order puts the surrogate pair of
	 * U+1F600 below U+E000 and U+FF01.
	 */
	ASSERT_STR_EQ(d.json_dict, "{\"Z\":1,\"a\":2,\"\xf0\x9f\x98\x80\":3,"
	    "\"\xee\x80\x80\":4,\"\xef\xbc\x81\":5}");
	ASSERT_STR_EQ(d.version, "RojecnfaqtlaArJT6zBNNQ==");
	ASSERT_EQ(dict_code(&d, "\xee\x80\x80", 3), 4);
	dict_finish(&d);
}

TEST(javascript_key_order_and_escapes)
{
	struct dict	 d;
	char		 err[256];

	/*
	 * File: "b", "7", "4294967295", "4294967294", "07", and a route with
	 * control characters, a quote, a slash, DEL, U+2028 and U+00E9.
	 * JavaScript lists the array-index keys first.
	 */
	ASSERT_EQ(dict_init(&d, NULL, 0, DATA "dict-js-order.json", err,
	    sizeof(err)), 0);
	ASSERT_EQ(d.n, 6);
	ASSERT_STR_EQ(d.json_dict, "{\"7\":2,\"4294967294\":4,\"b\":1,"
	    "\"4294967295\":3,\"07\":5,"
	    "\"\\u0001x\\n/\\\"\\u001f\x7f\xe2\x80\xa8\xc3\xa9\":6}");
	ASSERT_STR_EQ(d.version, "7fVqzsU5Uy2F7LOw++HMpQ==");
	ASSERT_STR_EQ(d.json_code_to_route, "{\"1\":\"b\",\"2\":\"7\","
	    "\"3\":\"4294967295\",\"4\":\"4294967294\",\"5\":\"07\","
	    "\"6\":\"\\u0001x\\n/\\\"\\u001f\x7f\xe2\x80\xa8\xc3\xa9\"}");
	ASSERT_EQ(dict_code(&d, "4294967294", 10), 4);
	ASSERT_STR_EQ(dict_route(&d, 6),
	    "\x01x\n/\"\x1f\x7f\xe2\x80\xa8\xc3\xa9");
	dict_finish(&d);
}

/* Runs dict_init on a fixture that must fail; checks <d> is left zeroed. */
static int
init_fails(const char *file, char *err, size_t errlen)
{
	struct dict	 d, zero;
	int		 rc;

	memset(&zero, 0, sizeof(zero));
	memset(&d, 0x5a, sizeof(d));
	rc = dict_init(&d, helloworld, 3, file, err, errlen);
	if (rc == 0) {
		dict_finish(&d);
		return 0;
	}
	if (memcmp(&d, &zero, sizeof(d)) != 0) {
		return 1;
	}
	dict_finish(&d);
	return rc;
}

TEST(file_errors)
{
	char	 err[512];

	err[0] = '\0';
	ASSERT_EQ(init_fails(DATA "dict-missing.json", err, sizeof(err)),
	    -ENOENT);
	ASSERT_STR_CONTAINS(err, "dict-missing.json");
	ASSERT_STR_CONTAINS(err, "No such file");

	ASSERT_EQ(init_fails(DATA, err, sizeof(err)), -EISDIR);
	ASSERT_STR_CONTAINS(err, "tests/unit/data/");

	ASSERT_EQ(init_fails(DATA "dict-bad-json.json", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "dict-bad-json.json:");

	ASSERT_EQ(init_fails(DATA "dict-object.json", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "dict-object.json: not a JSON array");

	ASSERT_EQ(init_fails(DATA "dict-not-string.json", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err,
	    "dict-not-string.json: element 3 is not a string");

	ASSERT_EQ(init_fails(DATA "dict-empty-string.json", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "dict-empty-string.json: element 2 is empty");

	ASSERT_EQ(init_fails(DATA "dict-too-long.json", err, sizeof(err)),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err,
	    "dict-too-long.json: element 2 is longer than 255 bytes");

	/* jansson refuses \u0000 in strings. */
	ASSERT_EQ(init_fails(DATA "dict-nul.json", err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "dict-nul.json:");

	/* No error buffer at all is fine. */
	ASSERT_EQ(init_fails(DATA "dict-object.json", NULL, 0), -EINVAL);
	ASSERT_EQ(init_fails(DATA "dict-object.json", err, 1), -EINVAL);
	ASSERT_STR_EQ(err, "");
}

TEST(builtin_errors)
{
	static const char *const empty[] = { "a.b", "" };
	char		 route[257];
	const char	*too_long[1] = { route };
	struct dict	 d;
	char		 err[256];

	ASSERT_EQ(dict_init(&d, empty, 2, NULL, err, sizeof(err)), -EINVAL);
	ASSERT_STR_CONTAINS(err, "built-in route 2");
	dict_finish(&d);

	memset(route, 'r', 256);
	route[256] = '\0';
	ASSERT_EQ(dict_init(&d, too_long, 1, NULL, err, sizeof(err)),
	    -EINVAL);
	dict_finish(&d);
	route[255] = '\0';
	ASSERT_EQ(dict_init(&d, too_long, 1, NULL, err, sizeof(err)), 0);
	ASSERT_EQ(dict_code(&d, route, 255), 1);
	dict_finish(&d);
}

/* Writes a dictionary file of routes "r<i>" for i in [0, <n>). */
static int
write_big(char *path, size_t n, bool repeat_first)
{
	FILE	*fp;
	int	 fd;
	size_t	 i;

	if ((fd = mkstemp(path)) == -1) {
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	fputc('[', fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s\"r%zu\"", i > 0 ? "," : "", i);
	}
	if (repeat_first) {
		fputs(",\"r0\"", fp);
	}
	fputs("]\n", fp);
	return fclose(fp) == 0 ? 0 : -1;
}

TEST(route_limit)
{
	static const char *const builtin[] = { "z.z" };
	char		 path[] = "/tmp/test-dict-XXXXXX";
	char		 path2[] = "/tmp/test-dict-XXXXXX";
	char		 err[256], name[16];
	struct dict	 d;
	size_t		 i;

	/* 1 built in + 65534 + a repeat: exactly the most there may be. */
	ASSERT_EQ(write_big(path, 65534, true), 0);
	ASSERT_EQ(dict_init(&d, builtin, 1, path, err, sizeof(err)), 0);
	unlink(path);
	ASSERT_EQ(d.n, 65535);
	ASSERT_EQ(dict_code(&d, "z.z", 3), 1);
	for (i = 0; i < 65534; i++) {
		snprintf(name, sizeof(name), "r%zu", i);
		if (dict_code(&d, name, strlen(name)) != i + 2) {
			TEST_FAIL_AT("code of %s: %u", name,
			    (unsigned)dict_code(&d, name, strlen(name)));
			dict_finish(&d);
			return;
		}
	}
	ASSERT_STR_EQ(dict_route(&d, 65535), "r65533");
	dict_finish(&d);

	ASSERT_EQ(write_big(path2, 65535, false), 0);
	ASSERT_EQ(dict_init(&d, builtin, 1, path2, err, sizeof(err)), -E2BIG);
	unlink(path2);
	ASSERT_STR_CONTAINS(err, "65536 routes");
	ASSERT_TRUE(d.routes == NULL);
	dict_finish(&d);
}

TEST(finish_zeroed)
{
	struct dict	 d;

	memset(&d, 0, sizeof(d));
	dict_finish(&d);
	dict_finish(NULL);
	ASSERT_EQ(d.n, 0);
}

int
main(void)
{
	RUN(helloworld_version);
	RUN(empty);
	RUN(file_order_and_repeats);
	RUN(javascript_sort_order);
	RUN(javascript_key_order_and_escapes);
	RUN(file_errors);
	RUN(builtin_errors);
	RUN(route_limit);
	RUN(finish_zeroed);
	TEST_DONE();
}
