/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * String-keyed hash map (see hmap.h). FNV-1a is enough here: keys are
 * channel names and uids chosen by the server's own apps, and a chain is
 * compared by hash before bytes.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/xmalloc.h"

uint64_t
hmap_hash(const char *key, size_t len)
{
	uint64_t	 h = 14695981039346656037ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void
hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof *m);
}

void
hmap_finish(struct hmap *m)
{
	struct hmap_entry	*e, *next;
	size_t			 i;

	for (i = 0; i < m->n_buckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof *m);
}

static struct hmap_entry **
hmap_slot(const struct hmap *m, const char *key, size_t len, uint64_t h)
{
	struct hmap_entry	**p;

	p = &m->buckets[h & (m->n_buckets - 1)];
	for (; *p != NULL; p = &(*p)->next) {
		if ((*p)->hash == h && (*p)->len == len &&
		    memcmp((*p)->key, key, len) == 0) {
			break;
		}
	}
	return p;
}

void *
hmap_get(const struct hmap *m, const char *key, size_t len)
{
	struct hmap_entry	**p;

	if (m->n == 0) {
		return NULL;
	}
	p = hmap_slot(m, key, len, hmap_hash(key, len));
	return *p != NULL ? (*p)->value : NULL;
}

static void
hmap_grow(struct hmap *m)
{
	struct hmap_entry	**old = m->buckets, *e, *next;
	size_t			 n_old = m->n_buckets, i, b;

	m->n_buckets = n_old ? n_old * 2 : 16;
	m->buckets = xcalloc(m->n_buckets, sizeof *m->buckets);
	for (i = 0; i < n_old; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			b = e->hash & (m->n_buckets - 1);
			e->next = m->buckets[b];
			m->buckets[b] = e;
		}
	}
	free(old);
}

void *
hmap_put(struct hmap *m, const char *key, size_t len, void *value)
{
	struct hmap_entry	**p, *e;
	uint64_t		 h = hmap_hash(key, len);
	void			*prev;

	if (m->n >= m->n_buckets) {
		hmap_grow(m);
	}
	p = hmap_slot(m, key, len, h);
	if (*p != NULL) {
		prev = (*p)->value;
		(*p)->value = value;
		return prev;
	}
	e = xmalloc(sizeof *e + len + 1);
	e->next = NULL;
	e->hash = h;
	e->value = value;
	e->len = len;
	memcpy(e->key, key, len);
	e->key[len] = '\0';
	*p = e;
	m->n++;
	return NULL;
}

void *
hmap_del(struct hmap *m, const char *key, size_t len)
{
	struct hmap_entry	**p, *e;
	void			*value;

	if (m->n == 0) {
		return NULL;
	}
	p = hmap_slot(m, key, len, hmap_hash(key, len));
	if ((e = *p) == NULL) {
		return NULL;
	}
	*p = e->next;
	value = e->value;
	free(e);
	m->n--;
	return value;
}

struct hmap_entry *
hmap_first(const struct hmap *m, size_t *iter)
{
	size_t	 i;

	for (i = 0; i < m->n_buckets; i++) {
		if (m->buckets[i] != NULL) {
			*iter = i;
			return m->buckets[i];
		}
	}
	return NULL;
}

struct hmap_entry *
hmap_next(const struct hmap *m, struct hmap_entry *e, size_t *iter)
{
	size_t	 i;

	if (e->next != NULL) {
		return e->next;
	}
	for (i = *iter + 1; i < m->n_buckets; i++) {
		if (m->buckets[i] != NULL) {
			*iter = i;
			return m->buckets[i];
		}
	}
	return NULL;
}
