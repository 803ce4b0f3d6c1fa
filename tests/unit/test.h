/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A minimal unit-test harness: each test file defines TEST(name) functions
 * and lists them in main() with RUN(name). An assertion that fails prints
 * both operands and the location and fails the test; the executable exits
 * 0 when every test passed, 1 otherwise (77 means skipped to meson).
 */

#ifndef TESTS_UNIT_TEST_H
#define TESTS_UNIT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_count;
static int test_passed_count;
static int test_cur_failed;

#define TEST(name) static void test_##name(void)

#define RUN(name) do {							\
	test_cur_failed = 0;						\
	test_##name();							\
	if (test_cur_failed) {						\
		test_failed_count++;					\
		printf("not ok - %s\n", #name);				\
	} else {							\
		test_passed_count++;					\
		printf("ok - %s\n", #name);				\
	}								\
	fflush(stdout);							\
} while (0)

#define TEST_DONE() do {						\
	printf("%d passed, %d failed\n", test_passed_count,		\
	    test_failed_count);						\
	return test_failed_count == 0 ? 0 : 1;				\
} while (0)

#define TEST_FAIL_AT(...) do {						\
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	test_cur_failed = 1;						\
} while (0)

#define ASSERT_TRUE(e) do {						\
	if (!(e)) {							\
		TEST_FAIL_AT("assertion failed: %s", #e);		\
		return;							\
	}								\
} while (0)

#define ASSERT_INT_OP(a, op, b) do {					\
	intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);		\
	if (!(_a op _b)) {						\
		TEST_FAIL_AT("%s %s %s: %jd vs %jd", #a, #op, #b, _a, _b); \
		return;							\
	}								\
} while (0)

#define ASSERT_EQ(a, b)	ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b)	ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b)	ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b)	ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b)	ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b)	ASSERT_INT_OP(a, >=, b)

#define ASSERT_UEQ(a, b) do {						\
	uintmax_t _a = (uintmax_t)(a), _b = (uintmax_t)(b);		\
	if (_a != _b) {							\
		TEST_FAIL_AT("%s == %s: %ju vs %ju", #a, #b, _a, _b);	\
		return;							\
	}								\
} while (0)

#define ASSERT_STR_EQ(a, b) do {					\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {		\
		TEST_FAIL_AT("%s == %s: \"%s\" vs \"%s\"", #a, #b,	\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
		return;							\
	}								\
} while (0)

#define ASSERT_STR_CONTAINS(hay, needle) do {				\
	const char *_h = (hay), *_n = (needle);				\
	if (_h == NULL || strstr(_h, _n) == NULL) {			\
		TEST_FAIL_AT("\"%s\" does not contain \"%s\"",		\
		    _h ? _h : "(null)", _n);				\
		return;							\
	}								\
} while (0)

static inline void
test_hexdump(const char *what, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	fprintf(stderr, "  %s (%zu):", what, len);
	for (i = 0; i < len; i++) {
		fprintf(stderr, " %02x", b[i]);
	}
	fputc('\n', stderr);
}

#define ASSERT_MEM_EQ(a, alen, b, blen) do {				\
	size_t _al = (alen), _bl = (blen);				\
	if (_al != _bl || memcmp((a), (b), _al) != 0) {			\
		TEST_FAIL_AT("%s == %s: bytes differ", #a, #b);		\
		test_hexdump(#a, (a), _al);				\
		test_hexdump(#b, (b), _bl);				\
		return;							\
	}								\
} while (0)

#endif
