/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The counter tables: one entry per struct member, in order, with the
 * C member names `show stat` has always used, and Prometheus names that
 * follow the conventions (base units in the name, _total on counters
 * only, no name twice).
 */

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/counters.h"
#include "tests/unit/test.h"

static bool
ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Checks the naming rules of one table; returns false after a failure. */
static bool
check_table(const struct counter_def *t, size_t n)
{
	const char	*base;
	size_t		 i, j, len;
	char		 buf[128];

	for (i = 0; i < n; i++) {
		if (i > 0 && t[i].offset != t[i - 1].offset + 8) {
			TEST_FAIL_AT("%s: not in member order", t[i].name);
			return false;
		}
		if (t[i].help == NULL || strlen(t[i].help) < 5 ||
		    !ends_with(t[i].help, ".")) {
			TEST_FAIL_AT("%s: help is not a sentence", t[i].name);
			return false;
		}
		if (ends_with(t[i].metric, "_total") !=
		    (t[i].kind == COUNTER_COUNTER)) {
			TEST_FAIL_AT("%s: _total on a gauge, or a counter "
			    "without it", t[i].metric);
			return false;
		}
		/* The unit is the last word before _total. */
		len = strlen(t[i].metric);
		if (t[i].kind == COUNTER_COUNTER) {
			len -= strlen("_total");
		}
		snprintf(buf, sizeof buf, "%.*s", (int)len, t[i].metric);
		base = buf;
		if (ends_with(base, "_bytes") !=
		    (t[i].unit == COUNTER_UNIT_BYTES) ||
		    ends_with(base, "_seconds") !=
		    (t[i].unit == COUNTER_UNIT_SECONDS)) {
			TEST_FAIL_AT("%s: the name does not say its unit",
			    t[i].metric);
			return false;
		}
		for (j = 0; j < len; j++) {
			if (!((base[j] >= 'a' && base[j] <= 'z') ||
			    base[j] == '_' || (j > 0 && base[j] >= '0' &&
			    base[j] <= '9'))) {
				TEST_FAIL_AT("%s: not a metric name",
				    t[i].metric);
				return false;
			}
		}
	}
	return true;
}

TEST(worker_table)
{
	struct worker_stats	 s;
	size_t			 i;

	ASSERT_UEQ(worker_counters_n * 8, sizeof s);
	ASSERT_UEQ(worker_counters[0].offset, 0);
	ASSERT_TRUE(check_table(worker_counters, worker_counters_n));
	/* The names show stat has always had, in the order it had them. */
	ASSERT_STR_EQ(worker_counters[0].name, "rss");
	ASSERT_STR_EQ(worker_counters[1].name, "connections");
	ASSERT_STR_EQ(worker_counters[24].name, "bytes_out");
	ASSERT_STR_EQ(worker_counters[26].name, "channel_members");
	ASSERT_UEQ(worker_counters[26].offset,
	    offsetof(struct worker_stats, channel_members));
	/* counter_get reads the member the entry names. */
	memset(&s, 0, sizeof s);
	s.requests = 7;
	s.bytes_in = 1u << 20;
	for (i = 0; i < worker_counters_n; i++) {
		if (strcmp(worker_counters[i].name, "requests") == 0) {
			ASSERT_UEQ(counter_get(&worker_counters[i], &s), 7);
			ASSERT_STR_EQ(worker_counters[i].metric,
			    "requests_total");
			ASSERT_STR_EQ(counter_type(&worker_counters[i]),
			    "counter");
		}
		if (strcmp(worker_counters[i].name, "bytes_in") == 0) {
			ASSERT_UEQ(counter_get(&worker_counters[i], &s),
			    1u << 20);
			ASSERT_STR_EQ(worker_counters[i].metric,
			    "received_bytes_total");
		}
		if (strcmp(worker_counters[i].name, "rss") == 0) {
			ASSERT_STR_EQ(counter_type(&worker_counters[i]),
			    "gauge");
		}
	}
}

TEST(master_table)
{
	ASSERT_UEQ(master_counters_n * 8, sizeof(struct master_stats));
	ASSERT_TRUE(check_table(master_counters, master_counters_n));
	ASSERT_STR_EQ(master_counters[0].metric, "up");
}

TEST(names_unique)
{
	const struct counter_def	*all[64];
	size_t				 n = 0, i, j;

	for (i = 0; i < worker_counters_n; i++) {
		all[n++] = &worker_counters[i];
	}
	for (i = 0; i < master_counters_n; i++) {
		all[n++] = &master_counters[i];
	}
	ASSERT_LE(n, 64);
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			if (strcmp(all[i]->name, all[j]->name) == 0 ||
			    strcmp(all[i]->metric, all[j]->metric) == 0) {
				TEST_FAIL_AT("%s / %s twice", all[i]->name,
				    all[i]->metric);
				return;
			}
		}
	}
}

int
main(void)
{
	RUN(worker_table);
	RUN(master_table);
	RUN(names_unique);
	TEST_DONE();
}
