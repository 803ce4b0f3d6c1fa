/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A hash map from byte-string keys to pointers: separate chaining, the
 * table doubling when the load passes one. Keys are copied; values are
 * the caller's. Used for channels (by name) and sessions (by uid).
 */

#ifndef COMMON_HMAP_H
#define COMMON_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_entry {
	struct hmap_entry	*next;
	uint64_t		 hash;
	void			*value;
	size_t			 len;
	char			 key[];		/* NUL-terminated copy */
};

struct hmap {
	struct hmap_entry	**buckets;
	size_t			 n_buckets;	/* a power of two, or 0 */
	size_t			 n;
};

void	 hmap_init(struct hmap *m);
/* Frees the entries, not the values. */
void	 hmap_finish(struct hmap *m);

void	*hmap_get(const struct hmap *m, const char *key, size_t len);
/* Sets <key> to <value>; returns the previous value or NULL. */
void	*hmap_put(struct hmap *m, const char *key, size_t len, void *value);
/* Removes <key>; returns its value or NULL. */
void	*hmap_del(struct hmap *m, const char *key, size_t len);

/* Iteration: for (e = hmap_first(m, &i); e; e = hmap_next(m, e, &i)) */
struct hmap_entry *hmap_first(const struct hmap *m, size_t *iter);
struct hmap_entry *hmap_next(const struct hmap *m, struct hmap_entry *e,
	     size_t *iter);

uint64_t hmap_hash(const char *key, size_t len);

#endif
