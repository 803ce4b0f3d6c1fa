// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The Pomelo protocol over raw TCP against one worker (PROTOCOL.md §2–4): the handshake reply,
// the HelloWorld entry route, ids above 127, unknown routes, notifies never answered, several
// packages per write, the whole exchange one byte at a time, heartbeats (right after the ack,
// answered at once, timeout at twice the interval, staying alive across 4 intervals), the state
// machine (data, heartbeats and handshakes out of place are ignored), kick from the admin socket,
// and the session list and counters.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startDaemon, findSession, KICKED_ONE } from './lib/daemon.mjs';
import {
	PomeloRawClient, PKG, MSG, ENTRY_ROUTE, ENTRY_OK, DEFAULT_HANDSHAKE,
	encodeHandshake, encodeRequest, encodeNotify, ACK_BYTES, HEARTBEAT_BYTES,
} from './lib/pomelo-raw.mjs';
import { sleep, waitFor } from './lib/util.mjs';

let d;
const clients = [];

after(async () => {
	for (const c of clients) {
		c.close();
	}
	await d?.stop();
});

async function open(opts = {}) {
	assert.ok(d, 'the daemon did not start');
	const c = await PomeloRawClient.open({ port: d.port, ...opts });
	clients.push(c);
	return c;
}

async function connect(opts = {}) {
	assert.ok(d, 'the daemon did not start');
	const c = await PomeloRawClient.connect({ port: d.port, ...opts });
	clients.push(c);
	return c;
}

// Asserts that no package of `type` (or matching `pred`) arrives within `ms`.
async function assertNone(c, pred, ms, what) {
	await assert.rejects(c.next(pred, ms, what), /timed out/, `unexpected ${what}`);
}

test('start: one worker, heartbeat 1 s', async () => {
	d = await startDaemon({ workers: 1, connector: { heartbeat: '1s' } });
});

test('handshake reply: {"code":200,"sys":{"heartbeat":1}} in a type-1 package', async () => {
	const c = await connect();
	c.write(encodeHandshake(DEFAULT_HANDSHAKE));
	const p = await c.nextOfType(PKG.HANDSHAKE);
	assert.equal(p.raw[0], 0x01);
	assert.equal((p.raw[1] << 16) | (p.raw[2] << 8) | p.raw[3], p.raw.length - 4);
	assert.deepEqual(p.json, { code: 200, sys: { heartbeat: 1 } });
	c.close();
});

test('handshakes as real clients send them are accepted', async () => {
	const shapes = [
		// pomelo-jsclient-websocket 0.1.1
		{ sys: { type: 'js-websocket', version: '0.0.1', rsa: {}, protoVersion: 0 }, user: {} },
		// libpomelo2 0.3.5
		{ sys: { type: 'pcdrive', version: '0.3.5-release' }, user: { from: 'pcdrive' } },
		// pinus node client
		{ sys: { type: 'js-ws', version: '0.0.1', dictVersion: '', protoVersion: 0 } },
		// sys only, user any JSON
		{ sys: {}, user: 'hello' },
	];
	for (const hs of shapes) {
		const c = await connect();
		const reply = await c.handshake(hs);
		assert.equal(reply.code, 200, `handshake ${JSON.stringify(hs)} → ${JSON.stringify(reply)}`);
		c.ack();
		assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		c.close();
	}
});

test('the entry request: a response with flag 04, the same id, the HelloWorld body', async () => {
	const c = await open();
	const r = await c.request(ENTRY_ROUTE, { name: 'probe' }, { id: 1 });
	const raw = r.package.raw;
	assert.equal(raw[0], PKG.DATA);
	assert.equal((raw[1] << 16) | (raw[2] << 8) | raw[3], raw.length - 4);
	assert.equal(raw[4], 0x04, 'message flag of a response');
	assert.equal(raw[5], 0x01, 'id 1');
	assert.equal(r.type, MSG.RESPONSE);
	assert.deepEqual(r.body, ENTRY_OK);
	// The HelloWorld web page sends a JSON string as the body.
	assert.deepEqual((await c.request(ENTRY_ROUTE, 'hello pomelo')).body, ENTRY_OK);
	c.close();
});

test('ids above 127 are varints echoed byte for byte', async () => {
	const c = await open();
	const cases = [
		[127, [0x7f]], [128, [0x80, 0x01]], [200, [0xc8, 0x01]], [300, [0xac, 0x02]],
		[16384, [0x80, 0x80, 0x01]], [2 ** 28 + 5, [0x85, 0x80, 0x80, 0x80, 0x01]],
		[2 ** 32 - 1, [0xff, 0xff, 0xff, 0xff, 0x0f]],
	];
	for (const [id, bytes] of cases) {
		const waiting = c.next((p) => p.type === PKG.DATA, 3000, `the response to id ${id}`);
		c.write(encodeRequest(id, ENTRY_ROUTE, {}));
		const p = await waiting;
		assert.equal(p.raw[4], 0x04);
		assert.deepEqual([...p.raw.subarray(5, 5 + bytes.length)], bytes, `id ${id}`);
		assert.deepEqual(JSON.parse(p.raw.subarray(5 + bytes.length).toString()), ENTRY_OK);
	}
	c.close();
});

test('an unknown route answers {"code":500} with the request id', async () => {
	const c = await open();
	const r = await c.request('connector.entryHandler.nosuch', {}, { id: 300 });
	assert.equal(r.id, 300);
	assert.deepEqual(r.body, { code: 500 });
	const r2 = await c.request('nope', {});
	assert.deepEqual(r2.body, { code: 500 });
	c.close();
});

test('a notify is never answered', async () => {
	const c = await open();
	c.notify(ENTRY_ROUTE, { n: 1 });
	c.notify('connector.entryHandler.nosuch', { n: 2 });
	const r = await c.request(ENTRY_ROUTE, {}, { id: 7 });
	assert.deepEqual(r.body, ENTRY_OK);
	await assertNone(c, (p) => p.type === PKG.DATA, 500, 'a DATA package after the notifies');
	assert.equal(c.count(PKG.DATA), 1, 'the notifies got answers');
	c.close();
});

test('two packages in one write are both processed', async () => {
	const c = await open({ waitHeartbeat: true });
	c.write(Buffer.concat([encodeRequest(11, ENTRY_ROUTE, {}), encodeRequest(12, ENTRY_ROUTE, {})]));
	assert.deepEqual((await c.response(11)).message.body, ENTRY_OK);
	assert.deepEqual((await c.response(12)).message.body, ENTRY_OK);
	// A request and a heartbeat in one write: a response and a heartbeat come back.
	const hb = c.count(PKG.HEARTBEAT);
	c.write(Buffer.concat([encodeRequest(13, ENTRY_ROUTE, {}), HEARTBEAT_BYTES]));
	await c.response(13);
	await waitFor(() => c.count(PKG.HEARTBEAT) > hb, { timeout: 500, what: 'the heartbeat reply' });
	// Handshake, ack, request and notify in a single write.
	const e = await connect();
	e.write(Buffer.concat([encodeHandshake(), ACK_BYTES, encodeNotify(ENTRY_ROUTE, {}),
		encodeRequest(1, ENTRY_ROUTE, {})]));
	assert.equal((await e.nextOfType(PKG.HANDSHAKE)).json.code, 200);
	assert.deepEqual((await e.response(1)).message.body, ENTRY_OK);
	c.close();
	e.close();
});

test('the whole exchange one byte at a time', async () => {
	const c = await connect();
	// The first byte alone, a pause, then the rest one byte per write.
	const bytes = Buffer.concat([encodeHandshake(), ACK_BYTES, encodeRequest(300, ENTRY_ROUTE,
		{ slow: true }), HEARTBEAT_BYTES]);
	c.write(bytes.subarray(0, 1));
	// A sleep on purpose: the pause is the test (the first byte is read alone).
	await sleep(200);
	await c.writeChunked(bytes.subarray(1), { size: 1, delay: 2 });
	assert.equal((await c.nextOfType(PKG.HANDSHAKE)).json.code, 200);
	assert.deepEqual((await c.response(300)).message.body, ENTRY_OK);
	assert.ok(c.count(PKG.HEARTBEAT) >= 1);
	c.close();
});

test('a heartbeat comes right after the ack', async () => {
	const c = await connect();
	await c.handshake();
	// A sleep on purpose: the ack comes apart from the handshake in time, so the heartbeat
	// measured below follows the ack and nothing else.
	await sleep(50);
	const t0 = performance.now();
	c.ack();
	const hb = await c.nextOfType(PKG.HEARTBEAT, 1000);
	assert.ok(hb.time - t0 < 300, `heartbeat ${(hb.time - t0).toFixed(0)} ms after the ack`);
	assert.deepEqual([...hb.raw], [0x03, 0, 0, 0]);
	c.close();
});

test('client heartbeats are answered at once', async () => {
	const c = await open({ waitHeartbeat: true });
	for (let i = 0; i < 3; i++) {
		// A sleep on purpose: heartbeats spaced in time, as a client sends them.
		await sleep(200);
		const before = c.count(PKG.HEARTBEAT);
		const t0 = performance.now();
		c.sendHeartbeat();
		await waitFor(() => c.count(PKG.HEARTBEAT) > before,
			{ timeout: 500, interval: 5, what: `the answer to heartbeat ${i + 1}` });
		assert.ok(performance.now() - t0 < 200);
	}
	c.close();
});

test('heartbeat timeout: a silent client is closed about 2 heartbeats after the last one',
	async () => {
		const c = await open();
		const hb = await c.nextOfType(PKG.HEARTBEAT, 1000);
		const info = await c.waitClose(5000);
		const ms = info.time - hb.time;
		assert.ok(ms >= 1500 && ms <= 3000, `closed ${ms.toFixed(0)} ms after the heartbeat ` +
			'(heartbeat 1 s, timeout 2 s)');
	});

test('a client answering heartbeats stays connected across 4 intervals', async () => {
	const c = await open({ autoHeartbeat: true });
	// A sleep on purpose: the test is about time (4.5 heartbeat intervals pass).
	await sleep(4500);
	assert.equal(c.closed, false, 'the session was closed');
	assert.ok(c.count(PKG.HEARTBEAT) >= 4, `${c.count(PKG.HEARTBEAT)} heartbeats from the server`);
	assert.ok(c.sent.heartbeats >= 3, `${c.sent.heartbeats} heartbeats sent`);
	assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	c.close();
});

test('data before the ack is ignored and the connection kept', async () => {
	const c = await connect();
	await c.handshake();
	c.write(encodeRequest(1, ENTRY_ROUTE, {}));
	c.write(HEARTBEAT_BYTES);
	await assertNone(c, () => true, 500, 'an answer before the ack');
	assert.equal(c.closed, false, 'closed for data before the ack');
	c.ack();
	await c.nextOfType(PKG.HEARTBEAT, 1000);
	assert.deepEqual((await c.request(ENTRY_ROUTE, {}, { id: 2 })).body, ENTRY_OK);
	await assertNone(c, (p) => p.type === PKG.DATA && p.message?.id === 1, 300,
		'a response to the request sent before the ack');
	c.close();
});

test('a second handshake or ack in WORKING is ignored', async () => {
	const c = await open({ waitHeartbeat: true });
	c.write(encodeHandshake());
	c.write(ACK_BYTES);
	await assertNone(c, (p) => p.type === PKG.HANDSHAKE, 500, 'a second handshake reply');
	assert.equal(c.closed, false);
	assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	c.close();
});

test('show sessions lists the session with its peer; kick session ID REASON sends a KICK ' +
	'with that reason and closes', async () => {
	const c = await open({ autoHeartbeat: true });
	const s = await findSession(d, c.localPort, { state: 'working' });
	assert.equal(typeof s.id, 'string');
	assert.match(s.id, /^[0-9]+$/);
	assert.equal(s.uid, null);
	assert.equal(s.worker, 0);
	assert.equal(s.transport, 'tcp');
	assert.equal(typeof s.age, 'number');
	const answer = await d.admin(`kick session ${s.id} maintenance`);
	assert.match(answer, KICKED_ONE);
	const kick = await c.nextOfType(PKG.KICK, 2000);
	assert.deepEqual(kick.json, { reason: 'maintenance' });
	await c.waitClose(2000);
	// The session is gone from the list.
	await waitFor(async () => !(await d.sessions()).some((x) => x.id === s.id),
		{ timeout: 3000, what: 'the kicked session to leave show sessions' });
});

test('kick without a reason sends {"reason":"kick"}; shaddockctl kick exits 0', async () => {
	const c = await open({ autoHeartbeat: true });
	const s = await findSession(d, c.localPort, { state: 'working' });
	const r = await d.ctl(['kick', 'session', s.id]);
	assert.equal(r.code, 0, JSON.stringify(r));
	assert.match(r.stdout.trim(), KICKED_ONE);
	const kick = await c.nextOfType(PKG.KICK, 2000);
	assert.deepEqual(kick.json, { reason: 'kick' });
	await c.waitClose(2000);
});

test('show stat counts handshakes, requests, notifies, responses and kicks', async () => {
	const before = await d.stat();
	const c = await open();
	for (let i = 0; i < 3; i++) {
		await c.request(ENTRY_ROUTE, {});
	}
	c.notify(ENTRY_ROUTE, {});
	await c.request(ENTRY_ROUTE, {});
	const s = await findSession(d, c.localPort);
	await d.admin(`kick session ${s.id} counted`);
	await c.waitClose(2000);
	const after = await waitFor(async () => {
		const st = await d.stat();
		return st.requests >= before.requests + 4 && st.kicks >= before.kicks + 1 ? st : false;
	}, { timeout: 4000, what: 'the counters to move' });
	assert.ok(after.handshakes >= before.handshakes + 1);
	assert.ok(after.notifies >= before.notifies + 1);
	assert.ok(after.responses >= before.responses + 4);
	assert.ok(after.bytes_in > before.bytes_in);
	assert.ok(after.bytes_out > before.bytes_out);
	assert.ok(after.accepted > before.accepted);
});

test('the worker survived everything above', async () => {
	const workers = await d.workers();
	assert.equal(workers.length, 1);
	assert.equal(workers[0].state, 'ready');
	assert.ok(d.seenWorkerPids.size === 1, `worker pids seen: ${[...d.seenWorkerPids]}`);
});
