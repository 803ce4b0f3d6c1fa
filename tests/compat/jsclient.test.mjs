// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The real npm pomelo-jsclient-websocket 0.1.1, unchanged, against shaddockd over WebSocket on
// the same port as raw TCP: handshake, the entry request, notify, staying connected across 4
// heartbeat intervals, a kick from the admin socket arriving as onKick with its reason, and the
// dictionary-compressed routes the client uses when the server offers them.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, stopAll, findSession, KICKED_ONE } from '../integration/lib/daemon.mjs';
import { createClient } from '../integration/lib/jsclient.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from '../integration/lib/pomelo-raw.mjs';
import { sleep } from '../integration/lib/util.mjs';

const PKG_HEARTBEAT = 3;
const PKG_DATA = 4;
let d;
const daemons = [];
const clients = [];

after(async () => {
	for (const c of clients) {
		c.disconnect();
	}
	await stopAll(daemons);
});

async function client(daemon = d) {
	assert.ok(daemon, 'the daemon did not start');
	const c = createClient();
	clients.push(c);
	await c.init({ host: '127.0.0.1', port: daemon.port });
	return c;
}

test('start: one worker, heartbeat 1 s', async () => {
	d = await startDaemon({ workers: 1, connector: { heartbeat: '1s' } });
	daemons.push(d);
});

test('init: the handshake and its ack go over WebSocket', async () => {
	const c = await client();
	const seq = c.frames.slice(0, 3).map((f) => `${f.dir}:${f.type}`);
	assert.deepEqual(seq, ['out:1', 'in:1', 'out:2']);
	const reply = JSON.parse(c.frames[1].body.toString());
	assert.deepEqual(reply, { code: 200, sys: { heartbeat: 1 } });
	const s = await findSession(d, c.localPort(), { state: 'working' });
	assert.equal(s.transport, 'ws');
	c.disconnect();
});

test('the entry request, as the HelloWorld page sends it', async () => {
	const c = await client();
	assert.deepEqual(await c.request(ENTRY_ROUTE, 'hello pomelo'), ENTRY_OK);
	assert.deepEqual(await c.request(ENTRY_ROUTE, { name: 'jsclient' }), ENTRY_OK);
	c.disconnect();
});

test('a notify gets no answer', async () => {
	const c = await client();
	c.notify(ENTRY_ROUTE, { n: 1 });
	// A worker reads a connection's packages in order and answers in order: an answer to
	// the notify would have come before the response to the request sent after it.
	assert.deepEqual(await c.request(ENTRY_ROUTE, {}), ENTRY_OK);
	const dataIn = c.frames.filter((f) => f.dir === 'in' && f.type === PKG_DATA).length;
	assert.equal(dataIn, 1, 'DATA packages received besides the one response');
	c.disconnect();
});

test('stays connected across 4 heartbeat intervals', async () => {
	const c = await client();
	let timedOut = false;
	let closed = false;
	c.on('heartbeat timeout', () => {
		timedOut = true;
	});
	c.on('close', () => {
		closed = true;
	});
	// A sleep on purpose: the test is about time (4.5 heartbeat intervals pass).
	await sleep(4500);
	assert.equal(timedOut, false, 'the client saw a heartbeat timeout');
	assert.equal(closed, false, 'the connection closed');
	const hbIn = c.frames.filter((f) => f.dir === 'in' && f.type === PKG_HEARTBEAT).length;
	const hbOut = c.frames.filter((f) => f.dir === 'out' && f.type === PKG_HEARTBEAT).length;
	assert.ok(hbIn >= 4, `${hbIn} heartbeats from the server`);
	assert.ok(hbOut >= 3, `${hbOut} heartbeats from the client`);
	assert.deepEqual(await c.request(ENTRY_ROUTE, {}), ENTRY_OK);
	c.disconnect();
});

test('kick session ID REASON arrives as onKick with the reason, then the socket closes',
	async () => {
		const c = await client();
		const s = await findSession(d, c.localPort(), { state: 'working' });
		const kicked = c.waitEvent('onKick', 3000);
		const closed = c.waitEvent('close', 3000);
		assert.match(await d.admin(`kick session ${s.id} maintenance`), KICKED_ONE);
		assert.deepEqual(await kicked, { reason: 'maintenance' });
		const ev = await closed;
		assert.equal(ev.code, 1000, 'the WebSocket did not end with a close frame 1000');
	});

test('WebSocket and raw TCP clients on one port at once; clients are independent', async () => {
	const a = await client();
	const b = await client();
	const raw = await PomeloRawClient.open({ port: d.port });
	assert.deepEqual(await a.request(ENTRY_ROUTE, {}), ENTRY_OK);
	assert.deepEqual((await raw.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	b.disconnect();
	assert.deepEqual(await a.request(ENTRY_ROUTE, {}), ENTRY_OK);
	raw.close();
	a.disconnect();
});

test('with use_dict the client sends route codes and still gets its answers', async () => {
	const e = await startDaemon({ workers: 1, connector: { heartbeat: '1s', use_dict: 'on' } });
	daemons.push(e);
	const c = await client(e);
	const reply = JSON.parse(c.frames[1].body.toString());
	assert.equal(reply.sys.useDict, true);
	assert.deepEqual(await c.request(ENTRY_ROUTE, 'hello pomelo'), ENTRY_OK);
	// The request went out with a compressed route (message flag 0x01).
	const req = c.frames.filter((f) => f.dir === 'out' && f.type === PKG_DATA).pop();
	assert.equal(req.body[0], 0x01, 'the request was not route-compressed');
	c.disconnect();
});
