/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/* The value parsers and address helpers of common/util.c. */

#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "tests/unit/test.h"

TEST(durations)
{
	uint64_t	 v;

	ASSERT_EQ(parse_duration("3s", &v), 0);
	ASSERT_UEQ(v, 3000);
	ASSERT_EQ(parse_duration("3", &v), 0);
	ASSERT_UEQ(v, 3000);
	ASSERT_EQ(parse_duration("250ms", &v), 0);
	ASSERT_UEQ(v, 250);
	ASSERT_EQ(parse_duration("2m", &v), 0);
	ASSERT_UEQ(v, 120000);
	ASSERT_EQ(parse_duration("1h", &v), 0);
	ASSERT_UEQ(v, 3600000);
	ASSERT_EQ(parse_duration("1d", &v), 0);
	ASSERT_UEQ(v, 86400000);
	ASSERT_EQ(parse_duration("0", &v), 0);
	ASSERT_UEQ(v, 0);
	ASSERT_EQ(parse_duration("", &v), -EINVAL);
	ASSERT_EQ(parse_duration("s", &v), -EINVAL);
	ASSERT_EQ(parse_duration("-1s", &v), -EINVAL);
	ASSERT_EQ(parse_duration("3 s", &v), -EINVAL);
	ASSERT_EQ(parse_duration("3sec", &v), -EINVAL);
	ASSERT_EQ(parse_duration("99999999999999999999d", &v), -EINVAL);
}

TEST(sizes)
{
	uint64_t	 v;

	ASSERT_EQ(parse_size("64k", &v), 0);
	ASSERT_UEQ(v, 65536);
	ASSERT_EQ(parse_size("1M", &v), 0);
	ASSERT_UEQ(v, 1048576);
	ASSERT_EQ(parse_size("2g", &v), 0);
	ASSERT_UEQ(v, 2147483648ULL);
	ASSERT_EQ(parse_size("100", &v), 0);
	ASSERT_UEQ(v, 100);
	ASSERT_EQ(parse_size("10kb", &v), 0);
	ASSERT_UEQ(v, 10240);
	ASSERT_EQ(parse_size("1t", &v), -EINVAL);
	ASSERT_EQ(parse_size("k", &v), -EINVAL);
}

TEST(bools)
{
	bool	 b;

	ASSERT_EQ(parse_bool("on", &b), 0);
	ASSERT_TRUE(b);
	ASSERT_EQ(parse_bool("No", &b), 0);
	ASSERT_TRUE(!b);
	ASSERT_EQ(parse_bool("1", &b), 0);
	ASSERT_TRUE(b);
	ASSERT_EQ(parse_bool("false", &b), 0);
	ASSERT_TRUE(!b);
	ASSERT_EQ(parse_bool("maybe", &b), -EINVAL);
}

TEST(addresses)
{
	struct addr	 a, b;
	char		 err[128], buf[128];

	ASSERT_EQ(addr_parse("127.0.0.1:3010", &a, err, sizeof err), 0);
	ASSERT_EQ(a.ss.ss_family, AF_INET);
	ASSERT_STR_EQ(addr_format((struct sockaddr *)&a.ss, a.len, buf,
	    sizeof buf), "127.0.0.1:3010");
	ASSERT_EQ(addr_parse("[::1]:80", &a, err, sizeof err), 0);
	ASSERT_EQ(a.ss.ss_family, AF_INET6);
	ASSERT_STR_EQ(addr_format((struct sockaddr *)&a.ss, a.len, buf,
	    sizeof buf), "[::1]:80");
	ASSERT_EQ(addr_parse("*:8080", &a, err, sizeof err), 0);
	ASSERT_STR_EQ(addr_format((struct sockaddr *)&a.ss, a.len, buf,
	    sizeof buf), "0.0.0.0:8080");
	ASSERT_EQ(addr_parse("unix:/run/x.sock", &a, err, sizeof err), 0);
	ASSERT_STR_EQ(addr_format((struct sockaddr *)&a.ss, a.len, buf,
	    sizeof buf), "unix:/run/x.sock");
	ASSERT_EQ(addr_parse("127.0.0.1:3010", &a, err, sizeof err), 0);
	ASSERT_EQ(addr_parse("127.0.0.1:3010", &b, err, sizeof err), 0);
	ASSERT_TRUE(addr_equal(&a, &b));
	ASSERT_EQ(addr_parse("127.0.0.1:3011", &b, err, sizeof err), 0);
	ASSERT_TRUE(!addr_equal(&a, &b));
	ASSERT_EQ(addr_parse("127.0.0.1:0", &a, err, sizeof err), -EINVAL);
	ASSERT_STR_CONTAINS(err, "not in 1-65535");
	ASSERT_EQ(addr_parse("example.com:80", &a, err, sizeof err), -EINVAL);
	ASSERT_STR_CONTAINS(err, "not an IPv4 address");
	ASSERT_EQ(addr_parse("[::g]:80", &a, err, sizeof err), -EINVAL);
	ASSERT_STR_CONTAINS(err, "not an IPv6 address");
	ASSERT_EQ(addr_parse(":80", &a, err, sizeof err), -EINVAL);
	ASSERT_EQ(addr_parse("1.2.3.4:", &a, err, sizeof err), -EINVAL);
}

TEST(uint)
{
	uint64_t	 v;

	ASSERT_EQ(parse_uint("18446744073709551615", &v), 0);
	ASSERT_UEQ(v, UINT64_MAX);
	ASSERT_EQ(parse_uint("18446744073709551616", &v), -EINVAL);
	ASSERT_EQ(parse_uint("+1", &v), -EINVAL);
	ASSERT_EQ(parse_uint("12a", &v), -EINVAL);
}

int
main(void)
{
	RUN(durations);
	RUN(sizes);
	RUN(bools);
	RUN(addresses);
	RUN(uint);
	TEST_DONE();
}
