// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Supervision: N workers appear in `show workers` as children of the master; `kill -9` of a
// worker gets a new pid in the same slot, ready within 1 s, while the other worker's
// established sessions carry on untouched.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startDaemon, findSession } from './lib/daemon.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { waitFor } from './lib/util.mjs';

const WORKERS = 2;
let d;
const clients = [];

after(async () => {
	for (const c of clients) {
		c.close();
	}
	await d?.stop();
});

test('start: the daemon runs with 2 ready workers', async () => {
	d = await startDaemon({ workers: WORKERS, connector: { heartbeat: '3s' } });
});

test('show workers lists N ready workers, one per slot, children of the master', async () => {
	assert.ok(d, 'the daemon did not start');
	const workers = await d.workers();
	assert.equal(workers.length, WORKERS, JSON.stringify(workers));
	assert.deepEqual(workers.map((w) => w.slot).sort(), [0, 1]);
	for (const w of workers) {
		assert.equal(w.state, 'ready');
		assert.equal(w.generation, 1);
		assert.equal(typeof w.pid, 'number');
		for (const k of ['sessions', 'connections', 'accepted', 'rss']) {
			assert.equal(typeof w[k], 'number', `worker field ${k}: ${JSON.stringify(w)}`);
		}
		assert.ok(w.rss > 0, `rss ${w.rss}`);
	}
	assert.equal(new Set(workers.map((w) => w.pid)).size, WORKERS, 'pids are not distinct');
	assert.deepEqual(d.childPids().sort(), workers.map((w) => w.pid).sort(),
		'the workers are not exactly the master\'s children');
});

test('show info, show listeners and the pid file describe the running daemon', async () => {
	assert.ok(d, 'the daemon did not start');
	const info = await d.adminJson('show info');
	assert.equal(info.pid, d.pid);
	assert.equal(info.version, '0.1.0');
	assert.equal(info.workers, WORKERS);
	assert.equal(info.generation, 1);
	assert.equal(info.reloads, 0);
	assert.equal(info.config, d.confPath);
	assert.equal(typeof info.uptime, 'number');
	const listeners = await d.adminJson('show listeners');
	assert.deepEqual(listeners.listeners.map((l) => l.name), ['main']);
	assert.equal(listeners.listeners[0].address, d.address);
	assert.equal(listeners.listeners[0].sockets, WORKERS, 'reuseport: one socket per slot');
	assert.equal(fs.readFileSync(d.pidFile, 'utf8').trim(), String(d.pid));
});

// Opens sessions until both slots hold at least `per` of them (bounded).
async function sessionsOnBothSlots(per = 2) {
	const bySlot = new Map([[0, []], [1, []]]);
	for (let i = 0; i < 60 && [...bySlot.values()].some((l) => l.length < per); i++) {
		const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
		clients.push(c);
		const s = await findSession(d, c.localPort, { state: 'working' });
		bySlot.get(s.worker)?.push(c);
	}
	assert.ok(bySlot.get(0).length >= per && bySlot.get(1).length >= per,
		'the kernel never spread 60 connections over both workers');
	return bySlot;
}

async function killAndWaitRespawn(slot) {
	const before = (await d.workers()).find((w) => w.slot === slot);
	const t0 = performance.now();
	process.kill(before.pid, 'SIGKILL');
	const fresh = await waitFor(async () => {
		const w = (await d.workers()).find((x) => x.slot === slot && x.pid !== before.pid);
		return w && w.state === 'ready' ? w : false;
	}, { timeout: 5000, interval: 10, what: `a new ready worker in slot ${slot}` });
	const ms = performance.now() - t0;
	return { before, fresh, ms };
}

for (const slot of [0, 1]) {
	test(`kill -9 of the worker in slot ${slot}: respawned in the same slot, ready within 1 s; ` +
		'the other slot\'s sessions untouched', async (t) => {
		assert.ok(d, 'the daemon did not start');
		const bySlot = await sessionsOnBothSlots();
		const other = 1 - slot;
		const { before, fresh, ms } = await killAndWaitRespawn(slot);
		t.diagnostic(`slot ${slot}: pid ${before.pid} killed, pid ${fresh.pid} ready after ` +
			`${ms.toFixed(1)} ms`);
		assert.ok(ms <= 1000, `slot ${slot} ready again after ${ms.toFixed(0)} ms`);
		assert.notEqual(fresh.pid, before.pid);
		assert.equal(fresh.slot, slot);
		assert.ok(d.childPids().includes(fresh.pid), 'the new worker is not a child of the master');
		assert.equal(d.running, true, 'the master died');
		// The killed worker's sessions are gone; the other worker's all still answer.
		for (const c of bySlot.get(slot)) {
			await c.waitClose(3000);
		}
		for (const c of bySlot.get(other)) {
			assert.equal(c.closed, false, 'a session of the other worker was closed');
			const r = await c.request(ENTRY_ROUTE, {});
			assert.deepEqual(r.body, ENTRY_OK);
		}
		// And new connections are served (by either slot).
		for (let i = 0; i < 4; i++) {
			const c = await PomeloRawClient.open({ port: d.port });
			clients.push(c);
			assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
			c.close();
		}
		for (const c of bySlot.get(other)) {
			c.close();
		}
	});
}

test('the master pid is unchanged and both slots are ready', async () => {
	assert.ok(d, 'the daemon did not start');
	const info = await d.adminJson('show info');
	assert.equal(info.pid, d.pid);
	const ready = await d.readyWorkers();
	assert.deepEqual(ready.map((w) => w.slot).sort(), [0, 1]);
});
