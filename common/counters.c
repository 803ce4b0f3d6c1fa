/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The counter tables, made from the lists in counters.h: one entry per
 * member, in the members' order.
 */

#include "config.h"

#include <string.h>

#include "common/counters.h"
#include "common/util.h"

#define COUNTERS_DEF(type, member, kind, unit, metric, help)		\
	{ #member, metric, COUNTER_##kind, COUNTER_UNIT_##unit, help,	\
	  offsetof(struct type, member) },
#define COUNTERS_WORKER_DEF(member, kind, unit, metric, help)		\
	COUNTERS_DEF(worker_stats, member, kind, unit, metric, help)
#define COUNTERS_MASTER_DEF(member, kind, unit, metric, help)		\
	COUNTERS_DEF(master_stats, member, kind, unit, metric, help)

const struct counter_def worker_counters[] = {
	WORKER_COUNTERS(COUNTERS_WORKER_DEF)
};
const size_t worker_counters_n = nitems(worker_counters);

const struct counter_def master_counters[] = {
	MASTER_COUNTERS(COUNTERS_MASTER_DEF)
};
const size_t master_counters_n = nitems(master_counters);

_Static_assert(sizeof(struct worker_stats) == nitems(worker_counters) *
    sizeof(uint64_t), "struct worker_stats holds only the counters");
_Static_assert(sizeof(struct master_stats) == nitems(master_counters) *
    sizeof(uint64_t), "struct master_stats holds only the counters");

uint64_t
counter_get(const struct counter_def *def, const void *stats)
{
	uint64_t	 v;

	memcpy(&v, (const char *)stats + def->offset, sizeof v);
	return v;
}

const char *
counter_type(const struct counter_def *def)
{
	return def->kind == COUNTER_GAUGE ? "gauge" : "counter";
}
