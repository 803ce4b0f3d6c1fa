/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/* Allocators that abort on failure (see xmalloc.h). */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0) {
		size = 1;
	}
	if ((p = malloc(size)) == NULL) {
		fatalx("xmalloc: out of memory allocating %zu bytes", size);
	}
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0) {
		nmemb = size = 1;
	}
	if ((p = calloc(nmemb, size)) == NULL) {
		fatalx("xcalloc: out of memory allocating %zu * %zu bytes",
		    nmemb, size);
	}
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	return xreallocarray(ptr, 1, size);
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0) {
		nmemb = size = 1;
	}
	if (size > SIZE_MAX / nmemb) {
		fatalx("xreallocarray: %zu * %zu overflows", nmemb, size);
	}
	if ((p = realloc(ptr, nmemb * size)) == NULL) {
		fatalx("xreallocarray: out of memory allocating %zu bytes",
		    nmemb * size);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;
	size_t	 len = strnlen(s, n);

	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	 n;

	n = vasprintf(ret, fmt, ap);
	if (n == -1) {
		fatalx("xvasprintf: out of memory");
	}
	return n;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return n;
}
