/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the route crc32 flavours with the values CLUSTER.md §5.2
 * records from running npm crc@0.2.0 and crc@4.3.2 and the real default
 * routers with 3 servers, plus values computed the same way in Node for
 * the edges: lone surrogates and malformed UTF-8 (as Node decodes them),
 * a key whose Pomelo crc is INT32_MIN (Math.abs gives 2^31), and uids
 * that are not strings. tests/compat/crc32.test.mjs compares many random
 * strings against the npm packages themselves.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/crc32.h"
#include "common/jsval.h"
#include "tests/unit/test.h"

struct vector {
	const char	*s;		/* UTF-8 */
	int32_t		 pomelo;	/* crc@0.2.0 crc32(s) */
	size_t		 pomelo_of3;
	uint32_t	 pinus;		/* crc@4.3.2 crc32(s) */
	size_t		 pinus_of3;
};

/* CLUSTER.md §5.2, the table of test vectors. */
static const struct vector	 cluster_vectors[] = {
	{ "alice*r1", -1310075493, 0, 2984891803u, 1 },
	{ "bob*r1", 129894558, 0, 129894558u, 0 },
	{ "x", -1931733373, 1, 2363233923u, 0 },
	{ "r1", 219023793, 0, 219023793u, 0 },
	{ "lobby", -857451017, 2, 3437516279u, 2 },
	{ "", 0, 0, 0u, 0 },
	{ "\xc3\xa9", 198489425, 2, 235179326u, 2 },		/* é */
	{ "\xe4\xb8\xad", -1747078152, 0, 3587267211u, 0 },	/* 中 */
	{ "\xf0\x9f\x98\x80", 724654657, 1, 88978756u, 1 },	/* 😀 */
	{ "42", 841265288, 2, 841265288u, 2 },
};

TEST(cluster_md_vectors)
{
	const struct vector	*v;
	size_t			 i, len;

	for (i = 0; i < sizeof(cluster_vectors) / sizeof(cluster_vectors[0]);
	    i++) {
		v = &cluster_vectors[i];
		len = strlen(v->s);
		ASSERT_EQ(crc32_pomelo(v->s, len), v->pomelo);
		ASSERT_UEQ(crc32_pinus(v->s, len), v->pinus);
		ASSERT_UEQ(crc32_route_index(FLAVOUR_POMELO, v->s, len, 3),
		    v->pomelo_of3);
		ASSERT_UEQ(crc32_route_index(FLAVOUR_PINUS, v->s, len, 3),
		    v->pinus_of3);
	}
}

TEST(int32_min_takes_abs_as_a_double)
{
	/* "uidH\u0083we": crc@0.2.0 gives -2147483648; |.| % 3 = 2. */
	const char	*s = "uidH\xc2\x83we";

	ASSERT_EQ(crc32_pomelo(s, strlen(s)), INT32_MIN);
	ASSERT_UEQ(crc32_route_index(FLAVOUR_POMELO, s, strlen(s), 3), 2);
	ASSERT_UEQ(crc32_route_index(FLAVOUR_POMELO, s, strlen(s), 7),
	    2147483648u % 7);
	ASSERT_UEQ(crc32_pinus(s, strlen(s)), 114028253u);
	ASSERT_UEQ(crc32_route_index(FLAVOUR_PINUS, s, strlen(s), 3), 2);
}

TEST(one_server_and_many)
{
	size_t	 n;

	for (n = 1; n < 50; n++) {
		ASSERT_LT(crc32_route_index(FLAVOUR_POMELO, "x", 1, n), n);
		ASSERT_LT(crc32_route_index(FLAVOUR_PINUS, "x", 1, n), n);
	}
	ASSERT_UEQ(crc32_route_index(FLAVOUR_POMELO, "alice*r1", 8, 1), 0);
	/* |-1310075493| = 1310075493; 2984891803 unsigned. */
	ASSERT_UEQ(crc32_route_index(FLAVOUR_POMELO, "alice*r1", 8, 1000),
	    493);
	ASSERT_UEQ(crc32_route_index(FLAVOUR_PINUS, "alice*r1", 8, 1000),
	    803);
}

TEST(malformed_utf8_as_node_decodes_it)
{
	/*
	 * Node: crc32(Buffer.from(bytes).toString()). Each maximal invalid
	 * subpart is one U+FFFD, so "\xff" "a" hashes as "\ufffda".
	 */
	ASSERT_UEQ(crc32_pinus("\xff" "a", 2), 176469604u);
	ASSERT_EQ(crc32_pomelo("\xff" "a", 2), -629220159);
	ASSERT_UEQ(crc32_pinus("\xef\xbf\xbd" "a", 4), 176469604u);
	ASSERT_EQ(crc32_pomelo("\xef\xbf\xbd" "a", 4), -629220159);
	/* A truncated sequence at the end, and a surrogate encoded. */
	ASSERT_UEQ(crc32_pinus("a\xe4\xb8", 3), crc32_pinus("a\xef\xbf\xbd", 4));
	ASSERT_UEQ(crc32_pinus("\xed\xa0\x80", 3),
	    crc32_pinus("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9));
	ASSERT_EQ(crc32_pomelo("\xc0\xaf", 2),
	    crc32_pomelo("\xef\xbf\xbd\xef\xbf\xbd", 6));
	ASSERT_EQ(crc32_pomelo("\xf4\x90\x80\x80", 4),
	    crc32_pomelo("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	    12));
}

TEST(route_key_of_uids)
{
	static const struct {
		const char	*json;	/* NULL: no uid at all */
		const char	*key;
	} cases[] = {
		{ NULL, "" }, { "null", "" }, { "\"\"", "" }, { "0", "" },
		{ "false", "" }, { "0.0", "" },
		{ "\"alice*r1\"", "alice*r1" }, { "42", "42" },
		{ "42.0", "42" }, { "1e21", "1e+21" }, { "0.5", "0.5" },
		{ "true", "true" }, { "[1,2]", "1,2" },
		{ "{}", "[object Object]" },
	};
	json_t		*j;
	char		*key;
	size_t		 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = NULL;
		if (cases[i].json != NULL) {
			ASSERT_EQ(jsval_parse(cases[i].json,
			    strlen(cases[i].json), &j, NULL, 0), 0);
		}
		key = crc32_route_key(j, &len);
		json_decref(j);
		ASSERT_EQ(len, strlen(cases[i].key));
		if (strcmp(key, cases[i].key) != 0) {
			TEST_FAIL_AT("key of %s: \"%s\"", cases[i].json, key);
			free(key);
			return;
		}
		free(key);
	}
	/* A number uid and its string spelling pick the same server. */
	ASSERT_UEQ(crc32_route_index(FLAVOUR_POMELO, "42", 2, 3), 2);
}

int
main(void)
{
	RUN(cluster_md_vectors);
	RUN(int32_min_takes_abs_as_a_double);
	RUN(one_server_and_many);
	RUN(malformed_utf8_as_node_decodes_it);
	RUN(route_key_of_uids);
	TEST_DONE();
}
