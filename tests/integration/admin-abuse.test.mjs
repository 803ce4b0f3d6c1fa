// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The master must never fall because of what an admin peer sends (issue 8): a broadcast of a
// large body reaches every session, a line over the limit is refused with its limit and the
// connection closed, a last line without its newline is still answered, and 50 abusive clients
// at once leave the master (same pid) answering `show info` with every worker ready.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDaemon } from './lib/daemon.mjs';
import { PomeloRawClient, PKG } from './lib/pomelo-raw.mjs';
import { withTimeout } from './lib/util.mjs';

const MAX_PACKAGE = 64 * 1024;          // the default max_package_size
const LINE_MAX = MAX_PACKAGE + 1024;    // what the admin socket reads in one line

let d;
let masterPid;
const clients = [];

after(async () => {
	for (const c of clients) {
		c.close();
	}
	await d?.stop();
});

// Writes `data` to the admin socket (ending our side when `end`), and resolves everything the
// server sent until it closed the connection (or `timeout`).
function exchange(data, { end = false, timeout = 10000 } = {}) {
	return withTimeout(new Promise((resolve, reject) => {
		const s = net.connect(d.sock);
		const chunks = [];
		s.on('connect', () => {
			s.write(data, () => {
				if (end) {
					s.end();
				}
			});
		});
		s.on('data', (chunk) => chunks.push(chunk));
		// The server closes after an error; EPIPE/ECONNRESET while we still write are fine.
		s.on('error', (err) => {
			if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') {
				reject(err);
			}
		});
		s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
	}), timeout, 'an admin exchange');
}

async function assertMasterFine(what) {
	assert.ok(d.running, `the master exited after ${what}: ${JSON.stringify(d.exit)}\n${d.logTail()}`);
	const info = await d.adminJson('show info');
	assert.equal(info.pid, masterPid, `the master pid changed after ${what}`);
	assert.equal((await d.readyWorkers()).length, 2, `workers not ready after ${what}`);
}

async function session() {
	const c = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true });
	clients.push(c);
	return c;
}

function nextPush(c, route) {
	return c.next((p) => p.type === PKG.DATA && p.message?.route === route, 5000,
		`a push on ${route}`);
}

test('start', async () => {
	d = await startDaemon({ workers: 2, connector: { heartbeat: '10s' } });
	masterPid = d.pid;
});

test('a 20 KB broadcast through shaddockctl reaches every session', async () => {
	const a = await session();
	const b = await session();
	const body = { text: 'x'.repeat(20 * 1024), n: 1 };
	const pa = nextPush(a, 'onChat');
	const pb = nextPush(b, 'onChat');
	const r = await d.ctl(['broadcast', 'onChat', JSON.stringify(body)]);
	assert.equal(r.code, 0, r.stderr);
	assert.equal(r.stdout.trim(), 'pushed to 2 sessions');
	assert.deepEqual((await pa).message.body, body);
	assert.deepEqual((await pb).message.body, body);
	await assertMasterFine('a 20 KB broadcast');
});

test('a broadcast of a body of max_package_size travels between processes whole', async () => {
	const a = await session();
	// A JSON string of exactly max_package_size bytes: larger than one control packet.
	const body = JSON.stringify('y'.repeat(MAX_PACKAGE - 2));
	assert.equal(body.length, MAX_PACKAGE);
	const pa = nextPush(a, 'onBig');
	const r = await d.ctl(['broadcast', 'onBig', body]);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout.trim(), /^pushed to \d+ sessions?$/);
	const p = await pa;
	assert.equal(p.message.rawBody.length, MAX_PACKAGE);
	assert.equal(p.message.body, 'y'.repeat(MAX_PACKAGE - 2));
	// One byte more is refused with the reason, and nothing is sent.
	const over = JSON.stringify('y'.repeat(MAX_PACKAGE - 1));
	const r2 = await d.ctl(['broadcast', 'onBig', over]);
	assert.equal(r2.code, 1);
	assert.match(r2.stderr + r2.stdout, /longer than max_package_size \(65536 bytes\)/);
	await assertMasterFine('a broadcast of max_package_size');
});

test('a 9,000-byte line without a newline is only a partial command', async () => {
	// Under the limit: the server waits for the rest, then answers the whole line.
	const s = net.connect(d.sock);
	const got = [];
	s.on('data', (c) => got.push(c));
	await new Promise((r) => s.on('connect', r));
	s.write('show info' + ' '.repeat(9000));
	await new Promise((r) => setTimeout(r, 200));
	await assertMasterFine('a 9,000-byte partial line');
	s.end('\n');
	await new Promise((r) => s.on('close', r));
	assert.match(Buffer.concat(got).toString(), /^pid: \d+/);
});

test('a 1 MiB line is refused with the limit, then closed', async () => {
	const text = await exchange('x'.repeat(1024 * 1024) + '\n');
	assert.equal(text, `error: line too long (limit ${LINE_MAX} bytes)\n\n`);
	await assertMasterFine('a 1 MiB line');
	assert.match(d.log(), /admin socket: uid \d+ \(pid \d+\): line too long/);
});

test('a line at the limit is read; one byte more is refused', async () => {
	// A command padded with spaces to exactly the limit: run (and refused as unknown).
	const atLimit = 'nosuchcommand' + ' '.repeat(LINE_MAX - 'nosuchcommand'.length);
	assert.equal(await exchange(atLimit + '\n', { end: true }),
		'error: unknown command; try help\n\n');
	assert.equal(await exchange(atLimit + ' \n'),
		`error: line too long (limit ${LINE_MAX} bytes)\n\n`);
});

test('a last line without its newline, then EOF, is answered', async () => {
	const text = await exchange('show info', { end: true });
	assert.match(text, /^pid: \d+\n/);
	assert.ok(text.endsWith('\n\n'));
	// Two lines, the second without a newline: both answered, in order.
	const two = await exchange('show info json\nshow workers json', { end: true });
	const answers = two.split('\n\n').filter(Boolean);
	assert.equal(answers.length, 2, two);
	assert.equal(JSON.parse(answers[0]).pid, masterPid);
	assert.ok(Array.isArray(JSON.parse(answers[1]).workers));
	// Garbage without a newline, then EOF: an error answer, nothing else.
	assert.equal(await exchange('\x01\x02garbage', { end: true }),
		'error: unknown command; try help\n\n');
	await assertMasterFine('lines ended by EOF');
});

test('50 abusive admin clients at once leave the master untouched', async () => {
	const big = 'b'.repeat(LINE_MAX + 4096);
	const jobs = [];
	for (let i = 0; i < 50; i++) {
		switch (i % 5) {
		case 0: // over the limit, newline or not
			jobs.push(exchange(i % 2 ? big : big + '\n'));
			break;
		case 1: // a huge broadcast body over the limit
			jobs.push(exchange(`broadcast onX "${'z'.repeat(200 * 1024)}"\n`));
			break;
		case 2: // many commands pipelined, the last one unterminated, then EOF
			jobs.push(exchange('show stat\nshow sessions json\nkick uid nobody\n' +
				'broadcast onPing {"i":' + i + '}\nhelp', { end: true }));
			break;
		case 3: // binary noise, then an abrupt close
			jobs.push(new Promise((resolve) => {
				const s = net.connect(d.sock);
				s.on('connect', () => {
					s.write(Buffer.from(Array.from({ length: 30000 }, (_, k) => (k * 31 + i) & 0xff)));
					setTimeout(() => { s.destroy(); resolve(''); }, 20);
				});
				s.on('error', () => resolve(''));
			}));
			break;
		case 4: // a reload request, then gone before the answer
			jobs.push(new Promise((resolve) => {
				const s = net.connect(d.sock);
				s.on('connect', () => {
					s.write('show workers\nreload\n');
					setTimeout(() => { s.destroy(); resolve(''); }, 5);
				});
				s.on('error', () => resolve(''));
			}));
			break;
		}
	}
	const results = await Promise.all(jobs);
	for (let i = 0; i < 50; i += 5) {
		assert.equal(results[i], `error: line too long (limit ${LINE_MAX} bytes)\n\n`);
		assert.equal(results[i + 1], `error: line too long (limit ${LINE_MAX} bytes)\n\n`);
		const answers = results[i + 2].split('\n\n').filter(Boolean);
		assert.equal(answers.length, 5, results[i + 2]);
		assert.match(answers[4], /^help/m);
	}
	// The reloads asked for settle; the master is the same process, answering.
	await d.waitReady({ workers: 2, timeout: 15000 });
	await assertMasterFine('50 abusive clients');
});
