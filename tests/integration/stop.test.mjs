// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Stopping: TERM drains (sessions kept until shutdown_timeout, then kicked with reason
// "shutdown", where a reload's drain says "reload") and exits 0; without sessions TERM exits at
// once; INT is TERM; QUIT kicks everyone at once and exits 0. No worker outlives the master.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startDaemon } from './lib/daemon.mjs';
import { PomeloRawClient, PKG, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { waitFor } from './lib/util.mjs';

let d;
const clients = [];

afterEach(async () => {
	for (const c of clients.splice(0)) {
		c.close();
	}
	await d?.stop();
	d = null;
});

// Waits until the master says it is stopping (the signal was handled).
async function stopping(daemon) {
	await waitFor(async () => (await daemon.adminJson('show info')).stopping === true,
		{ timeout: 3000, interval: 20, what: 'show info: stopping' });
}

async function workersGone(daemon, pids) {
	await waitFor(() => pids.every((p) => !daemon.isOurs(p)),
		{ timeout: 3000, what: 'the workers to exit' });
}

test('TERM with a session: served until shutdown_timeout, kicked with "shutdown", exit 0',
	async () => {
		d = await startDaemon({
			workers: 1,
			server: { shutdown_timeout: '1500ms' },
			connector: { heartbeat: '3s' },
		});
		const pids = (await d.workers()).map((w) => w.pid);
		const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
		clients.push(c);
		const t0 = performance.now();
		d.signal('SIGTERM');
		// Draining: the session is still served.
		await stopping(d);
		assert.equal(d.running, true, 'the master exited before shutdown_timeout');
		assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		const kick = await c.nextOfType(PKG.KICK, 5000);
		const kickedAfter = kick.time - t0;
		assert.deepEqual(kick.json, { reason: 'shutdown' });
		assert.ok(kickedAfter >= 1200 && kickedAfter <= 3500,
			`kicked ${kickedAfter.toFixed(0)} ms after TERM (shutdown_timeout 1.5 s)`);
		await c.waitClose(2000);
		const exit = await d.waitExit(5000);
		assert.deepEqual(exit, { code: 0, signal: null }, d.logTail());
		await workersGone(d, pids);
	});

test('TERM without sessions: exit 0 at once (well before shutdown_timeout)', async () => {
	d = await startDaemon({ workers: 2, server: { shutdown_timeout: '20s' } });
	const pids = (await d.workers()).map((w) => w.pid);
	const t0 = performance.now();
	d.signal('SIGTERM');
	const exit = await d.waitExit(5000);
	assert.deepEqual(exit, { code: 0, signal: null }, d.logTail());
	assert.ok(performance.now() - t0 < 5000);
	await workersGone(d, pids);
});

test('INT stops like TERM: exit 0', async () => {
	d = await startDaemon({ workers: 1, server: { shutdown_timeout: '20s' } });
	d.signal('SIGINT');
	const exit = await d.waitExit(5000);
	assert.deepEqual(exit, { code: 0, signal: null }, d.logTail());
});

test('QUIT: every session kicked at once, exit 0', async () => {
	d = await startDaemon({
		workers: 2,
		server: { shutdown_timeout: '20s' },
		connector: { heartbeat: '3s' },
	});
	const pids = (await d.workers()).map((w) => w.pid);
	const cs = [];
	for (let i = 0; i < 4; i++) {
		const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
		clients.push(c);
		cs.push(c);
	}
	// Every worker has counted its sessions before the signal.
	await waitFor(async () => (await d.sessions()).filter((x) => x.state === 'working').length === 4,
		{ timeout: 3000, interval: 20, what: '4 working sessions in show sessions' });
	const t0 = performance.now();
	d.signal('SIGQUIT');
	for (const c of cs) {
		const kick = await c.nextOfType(PKG.KICK, 3000);
		assert.equal(typeof kick.json?.reason, 'string', `kick body ${kick.body}`);
		await c.waitClose(2000);
	}
	const exit = await d.waitExit(5000);
	assert.deepEqual(exit, { code: 0, signal: null }, d.logTail());
	assert.ok(performance.now() - t0 < 3000, 'QUIT waited for something');
	await workersGone(d, pids);
});

test('after TERM the master stops accepting: no new session is served', async () => {
	d = await startDaemon({
		workers: 1,
		server: { shutdown_timeout: '3s' },
		connector: { heartbeat: '3s' },
	});
	const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
	clients.push(c);
	d.signal('SIGTERM');
	// The master handled TERM and told its worker to drain; `show sessions` asks the worker over
	// the same channel, so its answer comes after the worker has read the drain order.
	await stopping(d);
	await waitFor(async () => (await d.workers()).every((w) => w.state === 'draining'),
		{ timeout: 3000, interval: 20, what: 'the worker to drain' });
	await d.sessions();
	assert.equal(d.running, true);
	// A new connection is refused, or accepted by nobody: it never gets a handshake reply.
	let served = false;
	try {
		const n = await PomeloRawClient.open({ port: d.port, timeout: 1000 });
		clients.push(n);
		served = true;
	} catch {
		/* refused or never answered */
	}
	assert.equal(served, false, 'a connection made after TERM was served');
	const exit = await d.waitExit(8000);
	assert.equal(exit.code, 0);
});
