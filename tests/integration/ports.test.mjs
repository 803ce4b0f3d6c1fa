// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The harness's port reservations (lib/ports.mjs): a reserved port is never handed out again,
// not in this process nor in another one, until it is released or its holder exits; a port
// something listens on is skipped; the ephemeral range is never used. The range is narrowed
// to a few ports with SHADDOCK_TEST_PORTS so that every case is forced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ephemeralRange, reservePort } from './lib/ports.mjs';
import { run } from './lib/util.mjs';

const PORTS_MJS = fileURLToPath(new URL('./lib/ports.mjs', import.meta.url));

// Reserves a window of `n` consecutive ports inside the harness's range, every one of them;
// resolves { range, held } (the reservations, in port order).
async function holdWindow(n) {
	for (let tries = 0; tries < 50; tries++) {
		const lo = 10000 + Math.floor(Math.random() * (10000 - n));
		const range = [lo, lo + n - 1];
		process.env.SHADDOCK_TEST_PORTS = range.join('-');
		const held = [];
		try {
			for (let i = 0; i < n; i++) {
				held.push(await reservePort());
			}
			return { range, held: held.sort((x, y) => x.port - y.port) };
		} catch {
			/* one was busy: another window */
			for (const h of held) {
				h.release();
			}
		} finally {
			delete process.env.SHADDOCK_TEST_PORTS;
		}
	}
	throw new Error(`no window of ${n} free ports`);
}

// Reserves a port from `range` in a separate Node process: resolves its port, or null when it
// found none. It holds the port for `holdMs` before exiting.
async function reserveElsewhere(range, holdMs = 0) {
	const script = `
		import { reservePort } from ${JSON.stringify(PORTS_MJS)};
		try {
			const r = await reservePort();
			console.log(r.port);
			await new Promise((resolve) => setTimeout(resolve, ${holdMs}));
		} catch {
			console.log('none');
		}`;
	const r = await run(process.execPath, ['--input-type=module', '-e', script], {
		env: { ...process.env, SHADDOCK_TEST_PORTS: range.join('-') },
		timeout: 10000,
	});
	assert.equal(r.code, 0, r.stderr);
	const out = r.stdout.trim();
	return out === 'none' ? null : Number(out);
}

test('reserved ports are distinct, and exhausted ranges fail', async (t) => {
	const { range, held } = await holdWindow(3);
	process.env.SHADDOCK_TEST_PORTS = range.join('-');
	t.after(() => delete process.env.SHADDOCK_TEST_PORTS);
	try {
		assert.deepEqual(held.map((h) => h.port), [range[0], range[0] + 1, range[1]]);
		await assert.rejects(reservePort(), /no free port/);
		// Another process finds none either.
		assert.equal(await reserveElsewhere(range), null);
		// A released port is the one the next reservation gets, elsewhere and here.
		held[1].release();
		held[1].release();
		assert.equal(await reserveElsewhere(range), held[1].port);
		const again = await reservePort();
		assert.equal(again.port, held[1].port);
		again.release();
	} finally {
		for (const h of held) {
			h.release();
		}
	}
});

test('a port held by a process that is gone is free again', async (t) => {
	const { range, held } = await holdWindow(1);
	held[0].release();
	// The other process reserves the only port and exits without releasing it.
	assert.equal(await reserveElsewhere(range, 50), range[0]);
	process.env.SHADDOCK_TEST_PORTS = range.join('-');
	t.after(() => delete process.env.SHADDOCK_TEST_PORTS);
	const r = await reservePort();
	assert.equal(r.port, range[0]);
	r.release();
});

test('a port something listens on is skipped', async (t) => {
	const { range, held } = await holdWindow(2);
	process.env.SHADDOCK_TEST_PORTS = range.join('-');
	t.after(() => delete process.env.SHADDOCK_TEST_PORTS);
	// A listener that did not reserve its port (a daemon left by a killed test, say).
	held[0].release();
	const squatter = net.createServer();
	await new Promise((resolve) => squatter.listen(range[0], '127.0.0.1', resolve));
	held[1].release();
	try {
		const r = await reservePort();
		assert.equal(r.port, range[1]);
		await assert.rejects(reservePort(), /no free port/);
		r.release();
	} finally {
		await new Promise((resolve) => squatter.close(resolve));
	}
});
test('the default range is outside the ephemeral range', async () => {
	const [elo, ehi] = ephemeralRange();
	for (let i = 0; i < 20; i++) {
		const r = await reservePort();
		assert.ok(r.port < elo || r.port > ehi, `${r.port} is in ${elo}-${ehi}`);
		assert.ok(r.port >= 10000 && r.port <= 19999, `${r.port} is outside 10000-19999`);
		r.release();
	}
});

test('SHADDOCK_TEST_PORTS inside the ephemeral range gives no port', async (t) => {
	const [elo] = ephemeralRange();
	process.env.SHADDOCK_TEST_PORTS = `${elo}-${elo + 9}`;
	t.after(() => delete process.env.SHADDOCK_TEST_PORTS);
	await assert.rejects(reservePort(), /no free port/);
});
