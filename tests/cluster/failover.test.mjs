// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Servers going away under the connector tier (CLUSTER.md §3.6, §4.3, §9): a game server killed
// with a request in flight (the client gets {code: 500}: Node connectors after their RPC timeout,
// shaddock at once), requests while no game server is left ({code: 500} at once), the game server
// restarted (a new RPC connection carries requests again), and the master killed and restarted
// (sessions keep working meanwhile; every server, the connector tier included, registers again;
// then new clients go through the gate again). The tests run in order on one cluster.
// CLUSTER_FRAMEWORK = pomelo | pinus, CLUSTER_TIER = node | shaddock (see README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { useCluster, LABEL, TIER } from './lib/setup.mjs';
import { RPC_TIMEOUT_MS } from './lib/cluster.mjs';
import { sleep, waitFor } from '../integration/lib/util.mjs';

const ctx = useCluster();
const opts = { skip: ctx.skip, timeout: 90000 };
const G = (m) => `game.gameHandler.${m}`;
const MASTER = 'master-server-1';
const GAME = 'game-server-1';

// Registered server ids by type, from the master's `list`.
async function registered(c) {
	const list = await c.list({ timeout: 12000 });
	const byType = {};
	for (const rec of Object.values(list)) {
		(byType[rec.serverType] ??= []).push(rec.serverId);
	}
	return byType;
}

let client;

test(`a game server killed with a request in flight: {code: 500} (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	client = (await c.enter('fo-alice', { room: 'fo' })).client;
	const pending = client.request(G('slow'), { ms: 30000 }, { timeout: RPC_TIMEOUT_MS + 8000 });
	await c.waitEvent((e) => e.type === 'slow', { id: GAME, what: 'the slow request on the game' });
	const t0 = performance.now();
	await c.kill(GAME);
	const res = await pending;
	const ms = performance.now() - t0;
	assert.deepEqual(res, { code: 500 });
	if (TIER === 'shaddock') {
		// shaddock knows the backend is gone (its RPC connection closed, removeServer) and answers
		// at once instead of waiting for the RPC timeout.
		assert.ok(ms < 1000, `shaddock answered ${ms.toFixed(0)} ms after the kill`);
	} else {
		assert.ok(ms < RPC_TIMEOUT_MS + 2000, `answered ${ms.toFixed(0)} ms after the kill`);
	}
});

test(`no game server left: {code: 500} at once, sessions stay (${LABEL})`, opts, async () => {
	await sleep(500); // removeServer reaches the connectors
	for (let i = 0; i < 3; i++) {
		const t0 = performance.now();
		assert.deepEqual(await client.request(G('echo'), { i }), { code: 500 });
		const ms = performance.now() - t0;
		assert.ok(ms < 1500, `answered in ${ms.toFixed(0)} ms`);
	}
	assert.equal(client.closed, false, 'the client session is still open');
});

test(`the game server restarted: requests work again (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	await c.restart(GAME);
	const res = await waitFor(async () => {
		const r = await client.request(G('echo'), { back: true });
		return r.code === 200 ? r : false;
	}, { timeout: 15000, interval: 250, what: 'echo through the restarted game server' });
	assert.deepEqual(res, { code: 200, server: GAME, echo: { back: true } });
	// A new player enters (roomRemote.join on the new process).
	const bob = await c.enter('fo-bob', { room: 'fo2', kind: 'tcp' });
	try {
		assert.deepEqual(bob.reply.members, ['fo-bob']);
	} finally {
		bob.client.close();
	}
});

test(`the master killed and restarted: everyone registers again (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const before = await registered(c);
	assert.equal(before.connector?.length, c.expectedConnectors());
	await c.kill(MASTER);
	// Sessions keep working while the master is away.
	assert.equal((await client.request(G('echo'), { masterless: 1 })).code, 200);
	await sleep(500);
	assert.equal((await client.request(G('echo'), { masterless: 2 })).code, 200);
	await c.restart(MASTER);
	const after = await waitFor(async () => {
		const r = await registered(c);
		return (r.connector?.length === before.connector.length && r.game?.length === 1 &&
			r.gate?.length === 1) ? r : false;
	}, { timeout: 45000, interval: 1000, what: 'every server registered with the new master' });
	assert.deepEqual(after.connector.sort(), before.connector.sort(), 'the same connector ids');
	// The gate learns the connectors again, and a new player gets through.
	await c.waitConnectors(c.expectedConnectors(), { timeout: 30000 });
	const carol = await c.enter('fo-carol', { room: 'fo3' });
	try {
		assert.equal((await carol.client.request(G('echo'), { after: 'master' })).code, 200);
	} finally {
		carol.client.close();
	}
	assert.equal((await client.request(G('echo'), { old: 1 })).code, 200, 'the old session too');
	client.close();
});
