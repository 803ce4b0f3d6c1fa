/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Small helpers shared by the master, the workers and the tools: value
 * parsers for the config, socket addresses, clocks and descriptors.
 */

#ifndef COMMON_UTIL_H
#define COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

struct addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

/* "3s", "500ms", "2m", "1h", "1d" or a bare number of seconds, into ms. */
int	 parse_duration(const char *s, uint64_t *ret_ms);
/* "64k", "1m", "1g" (powers of 1024) or bare bytes. */
int	 parse_size(const char *s, uint64_t *ret);
int	 parse_bool(const char *s, bool *ret);
int	 parse_uint(const char *s, uint64_t *ret);

/*
 * Parses "host:port", "[v6]:port" or "unix:/path" into <ret>. Host names
 * are not resolved: the host must be a numeric address or "*" (any IPv4).
 * Returns 0 or -EINVAL with a reason in <err>.
 */
int	 addr_parse(const char *s, struct addr *ret, char *err, size_t errlen);
/* Formats <sa> as "1.2.3.4:5", "[::1]:5" or "unix:/path" into <buf>. */
const char *addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
	     size_t size);
bool	 addr_equal(const struct addr *a, const struct addr *b);

uint64_t now_ms(void);		/* CLOCK_MONOTONIC */
uint64_t now_coarse_ms(void);	/* CLOCK_MONOTONIC_COARSE: cheap, ~4 ms */
uint64_t now_us(void);

int	 fd_nonblock(int fd);
int	 fd_cloexec(int fd, bool on);
/* Closes every descriptor from 3 up except those in <keep>. */
void	 fd_close_all_except(const int *keep, size_t n);

/* Resident set size of <pid> in bytes, or 0 when unknown. */
uint64_t proc_rss(pid_t pid);

/* The number of online CPUs, at least 1. */
int	 cpu_count(void);

/*
 * Reads all of <path> (at most <max> bytes) into a new buffer, the
 * caller's to free, with a NUL after the <*ret_len> bytes. Returns 0, or
 * -errno (-EFBIG past <max>).
 */
int	 file_read(const char *path, size_t max, char **ret, size_t *ret_len);

/* base64(MD5(<a> then <b>)): what Pomelo's versions are, into <out>. */
#define MD5_BASE64_SIZE	25
int	 md5_base64(const void *a, size_t alen, const void *b, size_t blen,
	     char out[MD5_BASE64_SIZE]);

#endif
