// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Bad input and limits (issue 3 item 7, PROTOCOL.md §3.1): each gets the protocol's answer (a
// 500 handshake reply, a closed connection) while a well-behaved session on the same worker
// (workers = 1) keeps working, new sessions are served and the worker keeps its pid. Also the
// handshake timeout, max_connections (rejections counted in show stat), max_send_buffer (a
// client that never reads is disconnected), idle_timeout and heartbeat = 0.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startDaemon, stopAll } from './lib/daemon.mjs';
import {
	PomeloRawClient, PKG, ENTRY_ROUTE, ENTRY_OK, encodeHandshake, encodeHeader, encodePackage,
	encodeRequest,
} from './lib/pomelo-raw.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const daemons = [];
const clients = [];

after(async () => {
	for (const c of clients) {
		c.close();
	}
	await stopAll(daemons);
});

async function start(opts) {
	const d = await startDaemon({ workers: 1, ...opts });
	daemons.push(d);
	d.workerPid = (await d.workers())[0].pid;
	return d;
}

async function open(d, opts = {}) {
	const c = await PomeloRawClient.open({ port: d.port, ...opts });
	clients.push(c);
	return c;
}

async function connect(d) {
	const c = await PomeloRawClient.connect({ port: d.port });
	clients.push(c);
	return c;
}

// The witness session still answers, a new session is served, the worker kept its pid.
async function assertHealthy(d, witness) {
	assert.equal(witness.closed, false, 'the well-behaved session was closed');
	assert.deepEqual((await witness.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	const n = await open(d);
	assert.deepEqual((await n.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	n.close();
	const workers = await d.workers();
	assert.deepEqual(workers.map((w) => [w.pid, w.state]), [[d.workerPid, 'ready']],
		'the worker crashed or was replaced');
}

async function statAtLeast(d, key, min) {
	return waitFor(async () => {
		const st = await d.stat();
		return st[key] >= min ? st : false;
	}, { timeout: 4000, what: `show stat ${key} >= ${min}` });
}

// A plain TCP exchange: writes `bytes`, resolves { data, closed } once the peer closes or
// `ms` passes.
function plainExchange(port, bytes, ms = 2000) {
	return new Promise((resolve) => {
		const s = net.connect({ port, host: '127.0.0.1' });
		let data = Buffer.alloc(0);
		const timer = setTimeout(() => {
			s.destroy();
			resolve({ data, closed: false });
		}, ms);
		s.on('connect', () => s.write(bytes));
		s.on('data', (c) => {
			data = Buffer.concat([data, c]);
		});
		s.on('error', () => {});
		s.on('close', () => {
			clearTimeout(timer);
			resolve({ data, closed: true });
		});
	});
}

// ---- one worker, small packages, short handshake timeout -----------------------------------

let a;
let witness;

test('start: workers = 1, max_package_size = 4k, handshake_timeout = 1s', async () => {
	a = await start({ connector: { heartbeat: '1s', max_package_size: '4k',
		handshake_timeout: '1s' } });
	witness = await open(a, { autoHeartbeat: true });
});

function guard() {
	assert.ok(a && witness, 'the daemon did not start');
}

test('a package type 9 after the ack closes the connection', async () => {
	guard();
	const c = await open(a, { waitHeartbeat: true });
	c.write(Buffer.from([0x09, 0, 0, 0]));
	await c.waitClose(1000);
	await assertHealthy(a, witness);
});

test('a KICK (type 5) from the client closes the connection', async () => {
	guard();
	const c = await open(a, { waitHeartbeat: true });
	c.write(Buffer.from([0x05, 0, 0, 2, 0x7b, 0x7d]));
	await c.waitClose(1000);
	await assertHealthy(a, witness);
});

test('a first byte that is neither a package type nor an HTTP method closes', async () => {
	guard();
	for (const first of [Buffer.from([0, 0, 0, 0]), Buffer.from([0x09, 0, 0, 0]),
		Buffer.from('ZZZZ hello\r\n\r\n')]) {
		const c = await connect(a);
		c.write(first);
		await c.waitClose(1000);
		assert.equal(c.count(PKG.HANDSHAKE), 0);
	}
	await assertHealthy(a, witness);
});

test('an over-size header closes the connection before the body is sent', async () => {
	guard();
	const before = await a.stat();
	const c = await open(a, { waitHeartbeat: true });
	c.write(encodeHeader(PKG.DATA, 64 * 1024));
	await c.waitClose(1000);
	// The same as the very first package (a handshake announcing 16 MiB).
	const e = await connect(a);
	e.write(encodeHeader(PKG.HANDSHAKE, 0xffffff));
	await e.waitClose(1000);
	await statAtLeast(a, 'oversize_packages', before.oversize_packages + 2);
	// A package just under the limit is fine.
	const f = await open(a);
	const body = { pad: 'x'.repeat(3000) };
	assert.deepEqual((await f.request(ENTRY_ROUTE, body)).body, ENTRY_OK);
	f.close();
	await assertHealthy(a, witness);
});

test('a bad handshake gets {"code":500} and is closed', async () => {
	guard();
	const before = await a.stat();
	const bodies = ['{bad json', '{"nosys":1}', '[1,2,3]', '"just a string"', ''];
	for (const body of bodies) {
		const c = await connect(a);
		c.write(encodePackage(PKG.HANDSHAKE, Buffer.from(body)));
		const p = await c.nextOfType(PKG.HANDSHAKE, 1000);
		assert.deepEqual(p.json, { code: 500 }, `handshake body ${JSON.stringify(body)}`);
		await c.waitClose(1000);
	}
	await statAtLeast(a, 'handshake_errors', before.handshake_errors + bodies.length);
	await assertHealthy(a, witness);
});

test('malformed DATA messages: closed, or the stream stays in sync; never a crash', async () => {
	guard();
	const bad = [
		Buffer.from([0x04, 0, 0, 0]),                               // empty DATA body
		Buffer.from([0x04, 0, 0, 2, 0x00, 0x80]),                   // truncated id varint
		Buffer.from([0x04, 0, 0, 7, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // over-long id
		Buffer.from([0x04, 0, 0, 4, 0x00, 0x01, 0x20, 0x61]),       // route longer than the body
		Buffer.from([0x04, 0, 0, 4, 0x00, 0x01, 0x00, 0x7b]),       // empty route
		Buffer.from([0x04, 0, 0, 4, 0x04, 0x01, 0x7b, 0x7d]),       // a response from the client
		Buffer.from([0x04, 0, 0, 5, 0x06, 0x01, 0x61, 0x7b, 0x7d]), // a push from the client
		Buffer.from([0x04, 0, 0, 5, 0x01, 0x01, 0xff, 0xff, 0x7b]), // unknown route code
		Buffer.from([0x04, 0, 0, 3, 0x0e, 0x01, 0x00]),             // message type 7
	];
	for (const bytes of bad) {
		const c = await open(a, { waitHeartbeat: true });
		c.write(bytes);
		c.write(encodeRequest(77, ENTRY_ROUTE, {}));
		const outcome = await Promise.race([
			c.response(77, 2000).then(() => 'answered', () => (c.closed ? 'closed' : 'hung')),
			c.closedPromise.then(() => 'closed'),
		]);
		assert.notEqual(outcome, 'hung', `after ${bytes.toString('hex')} the server neither ` +
			'answered the next request nor closed');
		c.close();
	}
	await assertHealthy(a, witness);
});

test('handshake_timeout bounds the switcher wait, INITED and WAIT_ACK', async () => {
	guard();
	const before = await a.stat();
	// Nothing at all; one byte only; a handshake but never the ack.
	const silent = await connect(a);
	const oneByte = await connect(a);
	oneByte.write(Buffer.from([0x01]));
	const noAck = await connect(a);
	await noAck.handshake();
	const t0 = performance.now();
	for (const [name, c] of [['silent', silent], ['one byte', oneByte], ['no ack', noAck]]) {
		const info = await c.waitClose(4000);
		const ms = info.time - t0;
		assert.ok(ms >= 500 && ms <= 2500, `${name}: closed after ${ms.toFixed(0)} ms ` +
			'(handshake_timeout 1 s)');
	}
	await statAtLeast(a, 'handshake_timeouts', before.handshake_timeouts + 3);
	await assertHealthy(a, witness);
});

test('HTTP without a WebSocket upgrade gets a 4xx answer and is closed', async () => {
	guard();
	const plain = await plainExchange(a.port,
		'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
	assert.match(plain.data.toString('latin1'), /^HTTP\/1\.1 4\d\d /, plain.data.toString());
	assert.equal(plain.closed, true);
	const noKey = await plainExchange(a.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
		'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
	assert.match(noKey.data.toString('latin1'), /^HTTP\/1\.1 4\d\d /, noKey.data.toString());
	assert.equal(noKey.closed, true);
	const garbage = await plainExchange(a.port, 'GET \x00\x01\x02 garbage\r\n\r\n');
	assert.equal(garbage.closed, true, 'a malformed HTTP request was kept open');
	await assertHealthy(a, witness);
});

// ---- max_connections -----------------------------------------------------------------------

test('max_connections: beyond it a connection is closed at once and counted', async () => {
	const d = await start({ connector: { heartbeat: '3s', max_connections: 3 } });
	const held = [];
	for (let i = 0; i < 3; i++) {
		held.push(await open(d, { autoHeartbeat: true }));
	}
	const extra = await connect(d);
	extra.write(encodeHandshake());
	await extra.waitClose(1000);
	assert.equal(extra.count(PKG.HANDSHAKE), 0, 'the connection over the limit was served');
	await statAtLeast(d, 'rejected_max_connections', 1);
	for (const c of held) {
		assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	}
	// Room again once one leaves.
	held.pop().close();
	const again = await waitFor(async () => {
		const c = await connect(d);
		c.write(encodeHandshake());
		try {
			await c.nextOfType(PKG.HANDSHAKE, 500);
			return c;
		} catch {
			c.close();
			return false;
		}
	}, { timeout: 3000, interval: 100, what: 'a connection to be accepted after one left' });
	again.ack();
	assert.deepEqual((await again.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	assert.deepEqual((await d.workers()).map((w) => w.pid), [d.workerPid]);
});

// ---- max_send_buffer -----------------------------------------------------------------------

test('max_send_buffer: a client that never reads is disconnected; memory stays bounded',
	async () => {
		const d = await start({ connector: { heartbeat: '0', max_send_buffer: '4k',
			use_dict: 'on' } });
		const w = await open(d);
		const c = await open(d);
		const code = c.dict?.[ENTRY_ROUTE];
		assert.ok(code, 'no dictionary code for the entry route');
		c.pauseReading();
		// 64 KiB of 10-byte requests, each answered with ~45 bytes.
		const one = encodeRequest(1, code, {}, { compress: true });
		const chunk = Buffer.concat(Array.from({ length: Math.floor(65536 / one.length) },
			() => one));
		const t0 = performance.now();
		let written = 0;
		while (!c.closed && written < 64 * 1024 * 1024 && performance.now() - t0 < 15000) {
			const flushed = c.socket.write(chunk);
			written += chunk.length;
			if (!flushed) {
				// Until the socket drains or closes; the loop checks its bounds at
				// least every 500 ms.
				await Promise.race([
					new Promise((resolve) => c.socket.once('drain', resolve)),
					c.closedPromise,
					sleep(500),
				]);
			}
		}
		await c.waitClose(5000);
		const st = await statAtLeast(d, 'send_buffer_overflows', 1);
		assert.ok(st.send_buffer_overflows >= 1);
		const workers = await d.workers();
		assert.ok(workers[0].rss < 100 * 1024 * 1024, `worker rss ${workers[0].rss}`);
		await assertHealthy(d, w);
	});

// ---- idle_timeout and heartbeat = 0 --------------------------------------------------------

test('heartbeat = 0: no heartbeat in the handshake nor after the ack; idle_timeout closes',
	async () => {
		const d = await start({ connector: { heartbeat: '0', idle_timeout: '1s' } });
		const c = await connect(d);
		const reply = await c.handshake();
		assert.equal(reply.code, 200);
		assert.equal(reply.sys?.heartbeat, undefined, JSON.stringify(reply));
		c.ack();
		await assert.rejects(c.nextOfType(PKG.HEARTBEAT, 500), /timed out/,
			'a heartbeat with heartbeat = 0');
		// A session that talks every 300 ms outlives the idle timeout...
		const busy = await open(d);
		for (let i = 0; i < 6; i++) {
			// A sleep on purpose: the test is about time (a request every 300 ms for
			// longer than idle_timeout).
			await sleep(300);
			assert.deepEqual((await busy.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		}
		// ...and the silent one was closed after about 1 s without a byte.
		assert.equal(c.closed, true, 'the idle session is still open');
		const lastByte = c.received[c.received.length - 1].time;
		const ms = c.closeInfo.time - lastByte;
		assert.ok(ms >= 700 && ms <= 2500, `closed ${ms.toFixed(0)} ms after the last byte`);
		await statAtLeast(d, 'idle_timeouts', 1);
		busy.close();
	});
