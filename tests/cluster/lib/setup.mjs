// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// What every cluster test file shares: one cluster per file, started before its tests and
// stopped after them (by pid, even when a test failed), the framework and tier from the
// environment (CLUSTER_FRAMEWORK, CLUSTER_TIER), the reason the shaddock tier is skipped, and the
// default-route arithmetic of each framework (CLUSTER.md §5.2) computed with the game's own crc
// package.

import path from 'node:path';
import { before, after } from 'node:test';
import { createRequire } from 'node:module';
import { startCluster, shaddockSkipReason, appDir, FRAMEWORK, TIER } from './cluster.mjs';

export { FRAMEWORK, TIER };
export const LABEL = `${FRAMEWORK}, ${TIER} connectors`;

// Starts one cluster for the file. Returns {cluster, skip}: `cluster` is set once before() ran.
export function useCluster(opts = {}) {
	const tier = opts.tier ?? TIER;
	const ctx = { cluster: null, skip: opts.skip ?? shaddockSkipReason(tier) ?? false };
	before(async () => {
		if (!ctx.skip) {
			ctx.cluster = await startCluster({ framework: FRAMEWORK, tier, ...opts });
		}
	}, { timeout: 120000 });
	after(async () => {
		if (ctx.cluster) {
			await ctx.cluster.stop();
		}
	}, { timeout: 30000 });
	return ctx;
}

// The framework's default route: index of the server for `key` among `n` (CLUSTER.md §5.2).
export function routeIndex(framework, key, n) {
	const req = createRequire(path.join(appDir(framework), 'package.json'));
	const crc = req('crc');
	const v = crc.crc32(String(key));
	return Math.abs(v) % n;
}

// The uids of CLUSTER.md §5.2's test vectors: they tell the two crc32 flavours apart.
export const ROUTE_VECTORS = ['alice*r1', 'bob*r1', 'x', 'r1', 'lobby', 'é', '中', '😀', '42'];
