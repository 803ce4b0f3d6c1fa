/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The latency histogram (see loadgen.h): recording is a shift and an
 * increment, so every thread keeps its own and the main thread merges
 * them once at the end. Quantiles report the middle of their bucket,
 * never more than the largest value recorded.
 */

#include "config.h"

#include "loadgen.h"

#define LG_HIST_TOP	((UINT64_C(1) << LG_HIST_MAX_BITS) - 1)

static unsigned
lg_hist_index(uint64_t v)
{
	unsigned	 msb, shift;

	if (v < 2 * LG_HIST_SUB) {
		return (unsigned)v;
	}
	if (v > LG_HIST_TOP) {
		v = LG_HIST_TOP;
	}
	msb = 63 - (unsigned)__builtin_clzll(v);
	shift = msb - LG_HIST_SUB_BITS;
	return (shift + 1) * LG_HIST_SUB + (unsigned)((v >> shift) - LG_HIST_SUB);
}

static uint64_t
lg_hist_value(unsigned idx)
{
	unsigned	 shift;
	uint64_t	 low;

	if (idx < 2 * LG_HIST_SUB) {
		return idx;
	}
	shift = idx / LG_HIST_SUB - 1;
	low = (uint64_t)(LG_HIST_SUB + idx % LG_HIST_SUB) << shift;
	return low + ((UINT64_C(1) << shift) >> 1);
}

void
lg_hist_record(struct lg_hist *h, uint64_t ns)
{
	h->buckets[lg_hist_index(ns)]++;
	h->count++;
	if (ns > h->max) {
		h->max = ns;
	}
}

void
lg_hist_merge(struct lg_hist *into, const struct lg_hist *h)
{
	unsigned	 i;

	for (i = 0; i < LG_HIST_BUCKETS; i++) {
		into->buckets[i] += h->buckets[i];
	}
	into->count += h->count;
	if (h->max > into->max) {
		into->max = h->max;
	}
}

/* The value at quantile <q> (0 to 1) in ns; 0 for an empty histogram. */
uint64_t
lg_hist_quantile(const struct lg_hist *h, double q)
{
	uint64_t	 rank, seen, v;
	unsigned	 i;

	if (h->count == 0) {
		return 0;
	}
	if (q >= 1.0) {
		return h->max;
	}
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank == 0) {
		rank = 1;
	}
	seen = 0;
	for (i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			v = lg_hist_value(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
