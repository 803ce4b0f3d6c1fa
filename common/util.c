/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Value parsers for the config (durations, sizes, booleans, addresses),
 * clocks and descriptor helpers. Nothing here logs: errors are returned.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "common/util.h"
#include "common/xmalloc.h"

/* Splits "<digits><suffix>" and returns the number; -EINVAL if no digits. */
static int
parse_number_suffix(const char *s, uint64_t *ret, const char **ret_suffix)
{
	char			*end;
	unsigned long long	 v;

	if (s == NULL || !isdigit((unsigned char)*s)) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0) {
		return -ERANGE;
	}
	*ret = v;
	*ret_suffix = end;
	return 0;
}

int
parse_uint(const char *s, uint64_t *ret)
{
	const char	*suffix;
	uint64_t	 v;

	if (parse_number_suffix(s, &v, &suffix) != 0 || *suffix != '\0') {
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int
parse_duration(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char	*suffix;
		uint64_t	 ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char	*suffix;
	uint64_t	 v;
	size_t		 i;

	if (parse_number_suffix(s, &v, &suffix) != 0) {
		return -EINVAL;
	}
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(suffix, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].ms) {
				return -ERANGE;
			}
			*ret_ms = v * units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

int
parse_size(const char *s, uint64_t *ret)
{
	const char	*suffix;
	uint64_t	 v, mul;

	if (parse_number_suffix(s, &v, &suffix) != 0) {
		return -EINVAL;
	}
	if (*suffix == '\0' || strcasecmp(suffix, "b") == 0) {
		mul = 1;
	} else if (strcasecmp(suffix, "k") == 0 ||
	    strcasecmp(suffix, "kb") == 0) {
		mul = 1024;
	} else if (strcasecmp(suffix, "m") == 0 ||
	    strcasecmp(suffix, "mb") == 0) {
		mul = 1024 * 1024;
	} else if (strcasecmp(suffix, "g") == 0 ||
	    strcasecmp(suffix, "gb") == 0) {
		mul = 1024 * 1024 * 1024;
	} else {
		return -EINVAL;
	}
	if (v > UINT64_MAX / mul) {
		return -ERANGE;
	}
	*ret = v * mul;
	return 0;
}

int
parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };
	size_t	 i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int
addr_parse(const char *s, struct addr *ret, char *err, size_t errlen)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct sockaddr_un	*sun;
	char			 host[INET6_ADDRSTRLEN + 1];
	const char		*colon, *hstart, *hend;
	uint64_t		 port;
	size_t			 hlen;

	memset(ret, 0, sizeof *ret);
	if (strncmp(s, "unix:", 5) == 0) {
		sun = (struct sockaddr_un *)&ret->ss;
		if (s[5] != '/') {
			snprintf(err, errlen, "unix socket path must be "
			    "absolute");
			return -EINVAL;
		}
		if (strlen(s + 5) >= sizeof sun->sun_path) {
			snprintf(err, errlen, "unix socket path longer than "
			    "%zu bytes", sizeof sun->sun_path - 1);
			return -EINVAL;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s + 5);
		ret->len = sizeof *sun;
		return 0;
	}
	if (*s == '[') {
		hstart = s + 1;
		hend = strchr(s, ']');
		if (hend == NULL || hend[1] != ':') {
			snprintf(err, errlen, "expected [ipv6]:port");
			return -EINVAL;
		}
		colon = hend + 1;
	} else {
		hstart = s;
		colon = strrchr(s, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "expected host:port");
			return -EINVAL;
		}
		hend = colon;
	}
	if (parse_uint(colon + 1, &port) != 0 || port == 0 || port > 65535) {
		snprintf(err, errlen, "port \"%s\" is not in 1-65535",
		    colon + 1);
		return -EINVAL;
	}
	hlen = (size_t)(hend - hstart);
	if (hlen == 0 || hlen >= sizeof host) {
		snprintf(err, errlen, "missing or bad host");
		return -EINVAL;
	}
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (*s == '[') {
		sin6 = (struct sockaddr_in6 *)&ret->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "\"%s\" is not an IPv6 address",
			    host);
			return -EINVAL;
		}
		ret->len = sizeof *sin6;
		return 0;
	}
	sin = (struct sockaddr_in *)&ret->ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (strcmp(host, "*") == 0) {
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		snprintf(err, errlen, "\"%s\" is not an IPv4 address (names "
		    "are not resolved)", host);
		return -EINVAL;
	}
	ret->len = sizeof *sin;
	return 0;
}

const char *
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_un	*sun;
	char				 host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] == '\0') {
			snprintf(buf, size, "unix:");
		} else {
			snprintf(buf, size, "unix:%s", sun->sun_path);
		}
		break;
	default:
		snprintf(buf, size, "(family %d)", sa->sa_family);
		break;
	}
	return buf;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

uint64_t
now_ms(void)
{
	return now_us() / 1000;
}

/*
 * For per-packet bookkeeping (idle and heartbeat deadlines): the coarse
 * clock is read without the TSC, and libevent's timers use it too.
 */
uint64_t
now_coarse_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
fd_nonblock(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		return -errno;
	}
	return 0;
}

int
fd_cloexec(int fd, bool on)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1) {
		return -errno;
	}
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	if (fcntl(fd, F_SETFD, flags) == -1) {
		return -errno;
	}
	return 0;
}

static bool
fd_kept(int fd, const int *keep, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (keep[i] == fd) {
			return true;
		}
	}
	return false;
}

void
fd_close_all_except(const int *keep, size_t n)
{
	DIR		*d;
	struct dirent	*de;
	int		*fds = NULL, fd, dfd;
	size_t		 nfds = 0, cap = 0, i;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		for (fd = 3; fd < 65536; fd++) {
			if (!fd_kept(fd, keep, n)) {
				close(fd);
			}
		}
		return;
	}
	dfd = dirfd(d);
	/* Collect first: closing while reading the directory is unsafe. */
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0])) {
			continue;
		}
		fd = atoi(de->d_name);
		if (fd < 3 || fd == dfd || fd_kept(fd, keep, n)) {
			continue;
		}
		if (nfds == cap) {
			cap = cap ? cap * 2 : 64;
			fds = realloc(fds, cap * sizeof *fds);
			if (fds == NULL) {
				break;
			}
		}
		fds[nfds++] = fd;
	}
	closedir(d);
	for (i = 0; i < nfds && fds != NULL; i++) {
		close(fds[i]);
	}
	free(fds);
}

uint64_t
proc_rss(pid_t pid)
{
	char			 path[64];
	FILE			*f;
	unsigned long long	 size, resident;
	long			 page = sysconf(_SC_PAGESIZE);

	snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
	if ((f = fopen(path, "re")) == NULL) {
		return 0;
	}
	if (fscanf(f, "%llu %llu", &size, &resident) != 2) {
		resident = 0;
	}
	fclose(f);
	return (uint64_t)resident * (uint64_t)page;
}

int
cpu_count(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

int
file_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
	FILE	*fp;
	char	*p = NULL;
	size_t	 len = 0, cap = 0, n;
	int	 rc;

	if ((fp = fopen(path, "re")) == NULL) {
		return -errno;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				rc = -EFBIG;
				goto fail;
			}
			cap = cap != 0 ? cap * 2 : 4096;
			p = xrealloc(p, cap);
		}
		n = fread(p + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0) {
			break;
		}
	}
	if (ferror(fp)) {
		rc = errno != 0 ? -errno : -EIO;
		goto fail;
	}
	if (len > max) {
		rc = -EFBIG;
		goto fail;
	}
	fclose(fp);
	p[len] = '\0';
	*ret = p;
	*ret_len = len;
	return 0;

fail:
	free(p);
	fclose(fp);
	return rc;
}

int
md5_base64(const void *a, size_t alen, const void *b, size_t blen,
    char out[MD5_BASE64_SIZE])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 md_len = 0;
	EVP_MD_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		return -ENOMEM;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, a, alen) == 1 &&
	    EVP_DigestUpdate(ctx, b, blen) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || md_len != 16) {
		return -ENOTSUP;
	}
	sodium_bin2base64(out, MD5_BASE64_SIZE, md, md_len,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}
