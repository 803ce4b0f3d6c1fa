/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Allocators that never return NULL: they abort the process on failure.
 * A worker that runs out of memory dies and its master respawns it.
 */

#ifndef COMMON_XMALLOC_H
#define COMMON_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *ptr, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
int	 xasprintf(char **ret, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **ret, const char *fmt, va_list ap)
	     __attribute__((format(printf, 2, 0)));

#define FREE_AND_NULL(p) do { free(p); (p) = NULL; } while (0)

#endif
