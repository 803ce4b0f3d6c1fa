// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// systemd notifications: a fake NOTIFY_SOCKET (a Unix datagram socket bound by the test, by path
// and by abstract "@name") receives READY=1 once the workers serve, RELOADING=1 with
// MONOTONIC_USEC then READY=1 around a reload (HUP and shaddockctl reload), and STOPPING=1 at
// TERM.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, makeTempDir, NotifyListener } from './lib/daemon.mjs';

let d;
let listener;
let dir;

afterEach(async () => {
	await d?.stop();
	listener?.stop();
	if (dir) {
		fs.rmSync(dir, { recursive: true, force: true });
	}
	d = listener = dir = null;
});

// RELOADING=1 must come with MONOTONIC_USEC in the same datagram, close to the time it arrived.
function assertReloading(m) {
	assert.ok('MONOTONIC_USEC' in m.fields, `RELOADING=1 without MONOTONIC_USEC: ${m.msg}`);
	const usec = Number(m.fields.MONOTONIC_USEC);
	assert.ok(Number.isInteger(usec) && usec > 0, `MONOTONIC_USEC=${m.fields.MONOTONIC_USEC}`);
	const skew = Math.abs(m.t * 1e6 - usec);
	assert.ok(skew < 5e6, `MONOTONIC_USEC is ${(skew / 1e6).toFixed(1)} s off CLOCK_MONOTONIC`);
}

async function lifecycle(address) {
	listener = await new NotifyListener(address).start();
	d = await startDaemon({ workers: 2, env: { NOTIFY_SOCKET: address } });
	const ready = await listener.waitFor('READY', '1');
	assert.ok((await d.readyWorkers()).length === 2);

	// HUP: RELOADING=1 (+ MONOTONIC_USEC), then READY=1.
	const infoBefore = await d.adminJson('show info');
	d.signal('SIGHUP');
	const reloading = await listener.waitFor('RELOADING', '1', { from: ready.index + 1 });
	assertReloading(reloading);
	const ready2 = await listener.waitFor('READY', '1', { from: reloading.index + 1 });
	const info = await d.adminJson('show info');
	assert.equal(info.generation, infoBefore.generation + 1);

	// shaddockctl reload: the same pair.
	const r = await d.ctl(['reload']);
	assert.equal(r.code, 0, JSON.stringify(r));
	const reloading2 = await listener.waitFor('RELOADING', '1', { from: ready2.index + 1 });
	assertReloading(reloading2);
	const ready3 = await listener.waitFor('READY', '1', { from: reloading2.index + 1 });

	// TERM: STOPPING=1, then exit 0.
	d.signal('SIGTERM');
	await listener.waitFor('STOPPING', '1', { from: ready3.index + 1 });
	const exit = await d.waitExit(8000);
	assert.deepEqual(exit, { code: 0, signal: null });
}

test('NOTIFY_SOCKET as a path: READY, RELOADING/READY around reloads, STOPPING', async () => {
	dir = makeTempDir('shaddock-notify-');
	await lifecycle(path.join(dir, 'notify.sock'));
});

test('NOTIFY_SOCKET as an abstract @name: the same messages', async () => {
	await lifecycle(`@shaddock-test-${process.pid}-${Date.now()}`);
});

test('a failed reload still ends with READY=1 and keeps serving', async () => {
	dir = makeTempDir('shaddock-notify-');
	const address = path.join(dir, 'notify.sock');
	listener = await new NotifyListener(address).start();
	d = await startDaemon({ workers: 1, env: { NOTIFY_SOCKET: address } });
	const ready = await listener.waitFor('READY', '1');
	d.writeConfig({ server: { workers: 'abc' } });
	const r = await d.ctl(['reload']);
	assert.equal(r.code, 1, JSON.stringify(r));
	const reloading = await listener.waitFor('RELOADING', '1', { from: ready.index + 1 });
	await listener.waitFor('READY', '1', { from: reloading.index + 1 });
	assert.equal(d.running, true);
});
