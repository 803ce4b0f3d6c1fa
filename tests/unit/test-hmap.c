/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/* The string-keyed hash map: put, get, replace, delete, growth, iteration. */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/hmap.h"
#include "tests/unit/test.h"

TEST(basic)
{
	struct hmap	 m;
	int		 a = 1, b = 2;

	hmap_init(&m);
	ASSERT_TRUE(hmap_get(&m, "x", 1) == NULL);
	ASSERT_TRUE(hmap_put(&m, "room1", 5, &a) == NULL);
	ASSERT_TRUE(hmap_get(&m, "room1", 5) == &a);
	/* Keys are byte strings: a prefix is another key. */
	ASSERT_TRUE(hmap_get(&m, "room", 4) == NULL);
	ASSERT_TRUE(hmap_put(&m, "room1", 5, &b) == &a);
	ASSERT_TRUE(hmap_get(&m, "room1", 5) == &b);
	ASSERT_UEQ(m.n, 1);
	ASSERT_TRUE(hmap_del(&m, "room1", 5) == &b);
	ASSERT_TRUE(hmap_del(&m, "room1", 5) == NULL);
	ASSERT_UEQ(m.n, 0);
	hmap_finish(&m);
}

TEST(many)
{
	static int	 values[5000];
	struct hmap	 m;
	struct hmap_entry *e;
	char		 key[32];
	size_t		 i, iter, seen = 0;
	long		 sum = 0;

	hmap_init(&m);
	for (i = 0; i < 5000; i++) {
		values[i] = (int)i;
		snprintf(key, sizeof key, "user%zu*room", i);
		ASSERT_TRUE(hmap_put(&m, key, strlen(key), &values[i]) == NULL);
	}
	ASSERT_UEQ(m.n, 5000);
	for (i = 0; i < 5000; i += 7) {
		snprintf(key, sizeof key, "user%zu*room", i);
		ASSERT_TRUE(hmap_get(&m, key, strlen(key)) == &values[i]);
	}
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof key, "user%zu*room", i);
		ASSERT_TRUE(hmap_del(&m, key, strlen(key)) == &values[i]);
	}
	for (e = hmap_first(&m, &iter); e != NULL; e = hmap_next(&m, e,
	    &iter)) {
		seen++;
		sum += *(int *)e->value;
		ASSERT_EQ(*(int *)e->value % 2, 1);
		ASSERT_EQ(strlen(e->key), e->len);
	}
	ASSERT_UEQ(seen, 2500);
	ASSERT_EQ(sum, 2500L * 2500L);
	hmap_finish(&m);
}

int
main(void)
{
	RUN(basic);
	RUN(many);
	TEST_DONE();
}
