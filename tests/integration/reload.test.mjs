// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Reload: 20 HUP reloads while clients open connections in a loop lose no connection (each one
// completes a Pomelo handshake and gets its response); a broken config changes nothing (the
// reload fails with the parse error, the old workers serve on, the master pid stays); the
// admin `reload` command reports success with the new generation.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from './lib/daemon.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { waitFor } from './lib/util.mjs';

const WORKERS = 2;
const RELOADS = 20;
const LOOPS = 4;
let d;

after(async () => {
	await d?.stop();
});

test('start: 2 workers', async () => {
	d = await startDaemon({
		workers: WORKERS,
		server: { shutdown_timeout: '5s', max_draining_generations: 3 },
		connector: { heartbeat: '3s' },
	});
});

// Waits until the reload count reaches `reloads` and the generation it made is ready.
async function waitReloaded(reloads) {
	return waitFor(async () => {
		const info = await d.adminJson('show info');
		if (info.reloads < reloads) {
			return false;
		}
		const ready = (await d.workers()).filter((w) => w.state === 'ready' &&
			w.generation === info.generation);
		return ready.length === WORKERS ? info : false;
	}, { timeout: 10000, interval: 20, what: `reload number ${reloads} to finish` });
}

test(`${RELOADS} HUP reloads under a connect loop: zero refused or reset connections`, async (t) => {
	assert.ok(d, 'the daemon did not start');
	let stop = false;
	let ok = 0;
	const failures = [];
	async function loop(n) {
		while (!stop) {
			let c;
			try {
				c = await PomeloRawClient.open({ port: d.port, timeout: 5000 });
				const r = await c.request(ENTRY_ROUTE, { loop: n }, { timeout: 5000 });
				assert.deepEqual(r.body, ENTRY_OK);
				ok++;
			} catch (err) {
				failures.push(`${err.code ?? ''} ${err.message}`);
			} finally {
				c?.close();
			}
		}
	}
	// Waits until `n` more connections have completed (the loops are running against the
	// generation now serving).
	async function served(n) {
		const target = ok + n;
		await waitFor(() => ok >= target || failures.length > 0,
			{ timeout: 5000, interval: 5, what: `${n} more connections to complete` });
	}
	const loops = Array.from({ length: LOOPS }, (_, i) => loop(i));
	try {
		const start = await d.adminJson('show info');
		await served(2 * LOOPS);
		for (let i = 1; i <= RELOADS; i++) {
			d.signal('SIGHUP');
			await waitReloaded(start.reloads + i);
			await served(LOOPS);
		}
		await served(2 * LOOPS);
	} finally {
		stop = true;
		await Promise.all(loops);
	}
	const total = ok + failures.length;
	t.diagnostic(`${RELOADS} reloads: ${failures.length} of ${total} connections failed`);
	assert.deepEqual(failures, [], `${failures.length} of ${total} connections failed`);
	assert.ok(ok >= 100, `only ${ok} connections completed during the reloads`);
	const info = await d.adminJson('show info');
	assert.equal(info.pid, d.pid, 'the master pid changed');
	assert.equal(info.reloads, RELOADS);
	assert.equal(info.generation, 1 + RELOADS);
	// The old generations drained (their sessions are gone) and exited.
	await waitFor(async () => (await d.workers()).length === WORKERS,
		{ timeout: 8000, what: 'the draining generations to exit' });
	const workers = await d.workers();
	assert.ok(workers.every((w) => w.generation === 1 + RELOADS && w.state === 'ready'),
		JSON.stringify(workers));
	assert.deepEqual(d.childPids().sort(), workers.map((w) => w.pid).sort());
});

test('a reload with a broken config: shaddockctl reload exits 1 with the parse error; ' +
	'nothing changes', async () => {
	assert.ok(d, 'the daemon did not start');
	const infoBefore = await d.adminJson('show info');
	const workersBefore = await d.workers();
	const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
	try {
		const text = d.writeConfig({ server: { workers: 'abc' } });
		const line = text.split('\n').indexOf('workers = abc') + 1;
		assert.ok(line > 0);
		const r = await d.ctl(['reload']);
		assert.equal(r.code, 1, `shaddockctl reload: ${JSON.stringify(r)}`);
		const out = r.stdout + r.stderr;
		assert.match(out, /^error: reload failed: /m);
		assert.ok(out.includes(`${d.confPath}:${line}:`), `no ${d.confPath}:${line}: in ${out}`);
		assert.match(out, /workers/);

		// HUP with the same file: also refused, and said in the log with file and line.
		const mentions = () => d.log().split(`${d.confPath}:${line}`).length - 1;
		const logged = mentions();
		d.signal('SIGHUP');
		await waitFor(() => mentions() > logged,
			{ timeout: 3000, what: 'the parse error in the log after HUP' });

		const info = await d.adminJson('show info');
		assert.equal(info.pid, infoBefore.pid, 'the master pid changed');
		assert.equal(d.running, true);
		assert.equal(info.generation, infoBefore.generation, 'a new generation started');
		const workers = await d.workers();
		assert.deepEqual(workers.map((w) => [w.slot, w.pid, w.state]).sort(),
			workersBefore.map((w) => [w.slot, w.pid, w.state]).sort(), 'the workers changed');
		// The old workers still serve: the established session and new ones.
		assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		const n = await PomeloRawClient.open({ port: d.port });
		assert.deepEqual((await n.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		n.close();
	} finally {
		c.close();
		d.writeConfig({});
	}
});

test('shaddockctl reload with a good config: exit 0, "reload: ok, generation N"', async () => {
	assert.ok(d, 'the daemon did not start');
	const before = await d.adminJson('show info');
	d.writeConfig({});
	const r = await d.ctl(['reload']);
	assert.equal(r.code, 0, JSON.stringify(r));
	assert.equal(r.stdout.trim(), `reload: ok, generation ${before.generation + 1}`);
	assert.ok(!r.stdout.endsWith('\n\n'), 'shaddockctl printed the terminating empty line');
	const info = await d.adminJson('show info');
	assert.equal(info.generation, before.generation + 1);
	assert.equal(info.pid, before.pid);
	const ready = (await d.workers()).filter((w) => w.state === 'ready' &&
		w.generation === info.generation);
	assert.equal(ready.length, WORKERS, 'reload answered before the new generation was ready');
});

test('a reload that changes the worker count and keeps the listener', async () => {
	assert.ok(d, 'the daemon did not start');
	const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
	try {
		d.writeConfig({ server: { workers: 3 } });
		const r = await d.ctl(['reload']);
		assert.equal(r.code, 0, JSON.stringify(r));
		const info = await d.adminJson('show info');
		assert.equal(info.workers, 3);
		const ready = (await d.workers()).filter((w) => w.state === 'ready' &&
			w.generation === info.generation);
		assert.equal(ready.length, 3);
		// The session of the old generation is still served while it drains.
		assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		const n = await PomeloRawClient.open({ port: d.port });
		assert.deepEqual((await n.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		n.close();
	} finally {
		c.close();
		d.writeConfig({});
	}
});
