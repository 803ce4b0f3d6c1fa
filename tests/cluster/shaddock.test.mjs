// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// What only shaddock as the connector tier does (issue 12): each worker registers as its own
// frontend server under a unique id and answers the console `list` (so `pomelo list` / `pinus
// list` show the workers), refuses `stop` from the admin tools, `show cluster` reports the
// registration; a reload registers the new workers and the old ones deregister once their
// sessions are gone; a killed worker's bound sessions still get the session-closed hook; and a
// Node connector beside shaddock in one cluster picks the same game server for the same uid (the
// framework's crc32 flavour). Runs only with CLUSTER_TIER=shaddock.
// CLUSTER_FRAMEWORK = pomelo | pinus (see README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, LABEL, FRAMEWORK, TIER, ROUTE_VECTORS, routeIndex } from './lib/setup.mjs';
import { cliPath, shaddockSkipReason } from './lib/cluster.mjs';
import { openClient } from './lib/clients.mjs';
import { run, sleep, waitFor } from '../integration/lib/util.mjs';

const GAMES = 3;
const ctx = useCluster({
	tier: 'shaddock',
	games: GAMES,
	skip: TIER !== 'shaddock' ? 'shaddock only (CLUSTER_TIER=shaddock)' : shaddockSkipReason('shaddock') ?? false,
	shaddock: { server: { shutdown_timeout: '60s', max_draining_generations: 3 } },
});
const opts = { skip: ctx.skip, timeout: 120000 };
const G = (m) => `game.gameHandler.${m}`;

// The jsclient writes each UTF-16 code unit as its own UTF-8 sequence (CESU-8), so an astral
// character arrives as two encoded surrogates, which Node (and shaddock) read as U+FFFD each
// byte: the uid the servers see.
function asServersReadIt(s) {
	const bytes = [];
	for (const unit of Array.from({ length: s.length }, (_, k) => s.charCodeAt(k))) {
		if (unit < 0x80) {
			bytes.push(unit);
		} else if (unit < 0x800) {
			bytes.push(0xc0 | (unit >> 6), 0x80 | (unit & 0x3f));
		} else {
			bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
		}
	}
	return Buffer.from(bytes).toString('utf8');
}

// The connector records of the master's `list`: [{serverId, serverType, pid, ...}].
async function connectorRecords(c) {
	const list = await c.list({ timeout: 12000 });
	return Object.values(list).filter((r) => r.serverType === 'connector');
}

function cli(c, args) {
	return run(process.execPath, [cliPath(FRAMEWORK), ...args, '-h', '127.0.0.1', '-P',
		String(c.masterPort), '-u', 'admin', '-p', 'admin'], { timeout: 30000 });
}

test(`every worker registers under its own id and answers list (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const workers = await c.daemon.readyWorkers();
	assert.equal(workers.length, c.workers);
	const recs = await connectorRecords(c);
	assert.equal(recs.length, c.workers, 'one registration per worker');
	assert.deepEqual(recs.map((r) => r.pid).sort(), workers.map((w) => w.pid).sort(),
		'each record is answered by its worker (pid)');
	const ids = recs.map((r) => r.serverId);
	assert.equal(new Set(ids).size, ids.length, 'unique ids');
	for (const id of ids) {
		assert.ok(id.startsWith('connector-shaddock'), `${id} starts with server_id`);
	}
	// The gate sees them as frontends with the listener's client port.
	const gate = await c.gateConnectors();
	assert.deepEqual(gate.map((g) => g.id).sort(), [...ids].sort());
	for (const g of gate) {
		assert.equal(g.frontend, 'true');
		assert.equal(g.clientPort, c.shaddockPort);
		assert.equal(g.host, '127.0.0.1');
	}
	// A forwarded session names the worker that holds it.
	const client = await c.connect({ kind: 'ws', uid: 'reg' });
	try {
		const who = (await client.request(G('whoami'), {})).session;
		assert.ok(ids.includes(who.frontendId));
	} finally {
		client.close();
	}
	// `show cluster` names the master and every registered id and known server.
	const text = await c.daemon.admin('show cluster json');
	const info = JSON.parse(text.split('\n')[0]);
	assert.equal(info.master, `127.0.0.1:${c.masterPort}`);
	for (const id of [...ids, 'game-server-1', 'gate-server-1']) {
		assert.ok(text.includes(id), `show cluster mentions ${id}`);
	}
});

test(`${FRAMEWORK} list shows the workers; stop is refused (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const recs = await connectorRecords(c);
	const r = await cli(c, ['list']);
	assert.equal(r.code, 0, r.stderr);
	for (const rec of recs) {
		assert.match(r.stdout, new RegExp(rec.serverId), `${FRAMEWORK} list shows ${rec.serverId}`);
	}
	const victim = recs[0].serverId;
	const stop = await cli(c, ['stop', victim]);
	assert.equal(stop.code, 0, stop.stderr);
	await sleep(1500);
	const after = await connectorRecords(c);
	assert.ok(after.some((x) => x.serverId === victim), `${victim} is still registered`);
	assert.equal((await c.daemon.readyWorkers()).length, c.workers, 'no worker stopped');
	assert.match(c.daemon.log(), /stop/i, 'the refusal is logged');
});

test(`reload: new workers register, old ones deregister after their sessions (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const oldIds = (await connectorRecords(c)).map((r) => r.serverId);
	const held = await c.spreadOverFrontends(c.workers);
	try {
		const before = await c.daemon.adminJson('show info');
		assert.match(await c.daemon.admin('reload'), /./);
		await waitFor(async () => {
			const info = await c.daemon.adminJson('show info');
			const ready = (await c.daemon.workers()).filter((w) => w.state === 'ready' &&
				w.generation === info.generation);
			return info.generation > before.generation && ready.length === c.workers;
		}, { timeout: 20000, interval: 100, what: 'the new generation' });
		const both = await waitFor(async () => {
			const ids = (await connectorRecords(c)).map((r) => r.serverId);
			return ids.length === 2 * c.workers ? ids : false;
		}, { timeout: 20000, interval: 500, what: 'old and new workers registered' });
		const newIds = both.filter((id) => !oldIds.includes(id));
		assert.equal(newIds.length, c.workers, 'new ids for the new workers');
		// The old sessions still work through their draining workers.
		for (const h of held) {
			const who = await h.client.request(G('whoami'), {});
			assert.equal(who.session.frontendId, h.session.frontendId);
		}
		// New clients reach only new workers.
		const fresh = await c.connect({ kind: 'tcp', uid: 'after-reload' });
		try {
			const who = (await fresh.request(G('whoami'), {})).session;
			assert.ok(newIds.includes(who.frontendId), `new session on ${who.frontendId}`);
		} finally {
			fresh.close();
		}
		// One old worker loses its last session: it leaves the master's list; the other stays.
		held[0].client.close();
		await waitFor(async () => !(await connectorRecords(c)).some((r) =>
			r.serverId === held[0].session.frontendId),
		{ timeout: 20000, interval: 500, what: `${held[0].session.frontendId} to deregister` });
		assert.ok((await connectorRecords(c)).some((r) => r.serverId === held[1].session.frontendId),
			'the old worker that still has a session stays registered');
		held[1].client.close();
		const left = await waitFor(async () => {
			const ids = (await connectorRecords(c)).map((r) => r.serverId);
			return ids.length === c.workers ? ids : false;
		}, { timeout: 20000, interval: 500, what: 'only the new workers registered' });
		assert.deepEqual(left.sort(), newIds.sort());
		await c.waitConnectors(c.workers);
	} finally {
		for (const h of held) {
			h.client.close();
		}
	}
});

test(`a killed worker's bound sessions still get the session-closed hook (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const [h] = await c.spreadOverFrontends(1);
	const fid = h.session.frontendId;
	assert.equal((await h.client.request('connector.entryHandler.enter',
		{ uid: 'doomed', room: 'kw' })).code, 200);
	const rec = (await connectorRecords(c)).find((r) => r.serverId === fid);
	process.kill(rec.pid, 'SIGKILL');
	const ev = await c.waitEvent((e) => e.type === 'leave' && e.session.uid === 'doomed',
		{ timeout: 15000, what: 'roomRemote.leave for a session of the killed worker' });
	assert.equal(ev.session.frontendId, fid);
	assert.deepEqual(ev.session.settings, { room: 'kw' });
	// The respawned worker registers under a new id.
	await waitFor(async () => {
		const ids = (await connectorRecords(c)).map((r) => r.serverId);
		return ids.length === c.workers && !ids.includes(fid);
	}, { timeout: 20000, interval: 500, what: 'the respawned worker registered' });
	h.client.close();
});

test(`a Node connector beside shaddock picks the same game server per uid (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const node = await c.addNodeConnector('connector-node-1');
	await c.waitConnectors(c.workers + 1);
	// The same client on both: the npm jsclient writes astral characters as CESU-8, which
	// every server reads as U+FFFD (WHATWG), so both must see the same bytes.
	const nodeClient = await openClient('ws', { port: node.clientPort });
	const shClient = await openClient('ws', { port: c.shaddockPort });
	try {
		const byIndex = new Map(); // default-route index -> game server picked
		for (const uid of ROUTE_VECTORS) {
			// Rebind each session to the uid (unbind the previous one first).
			for (const cl of [nodeClient, shClient]) {
				const who = (await cl.request(G('whoami'), {})).session;
				if (who.uid !== null) {
					assert.equal((await cl.request(G('unbind'), { uid: who.uid })).code, 200);
				}
				assert.equal((await cl.request(G('bind'), { uid })).code, 200);
			}
			const viaNode = await nodeClient.request(G('echo'), {});
			const viaShaddock = await shClient.request(G('echo'), {});
			assert.equal(viaShaddock.server, viaNode.server, `the same game server for uid ${uid}`);
			// Both follow the framework's crc32 over the master's order of the game servers,
			// of the uid as the servers read it from the jsclient's bytes.
			const i = routeIndex(FRAMEWORK, asServersReadIt(uid), GAMES);
			assert.equal(byIndex.get(i) ?? viaNode.server, viaNode.server, `index ${i} for ${uid}`);
			byIndex.set(i, viaNode.server);
		}
		assert.equal(new Set(byIndex.values()).size, byIndex.size, 'one server per index');
		// A push from a game server reaches sessions on both kinds of connector.
		const n = (await nodeClient.request(G('whoami'), {})).session;
		const s = (await shClient.request(G('whoami'), {})).session;
		const res = await nodeClient.request(G('pushTo'), { route: 'onDirect', msg: { both: 1 },
			uids: [{ uid: n.uid, sid: n.frontendId }, { uid: s.uid, sid: s.frontendId }] });
		assert.deepEqual(res, { code: 200, fails: [] });
		await nodeClient.waitPush('onDirect');
		await shClient.waitPush('onDirect');
	} finally {
		nodeClient.close();
		shClient.close();
	}
});
