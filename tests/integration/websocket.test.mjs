// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The WebSocket transport frame by frame (RFC 6455 server side, issue 3 item 2): the upgrade
// (also when its first byte comes alone), Sec-WebSocket-Accept, one Pomelo package per binary
// frame, fragmented messages, ping/pong, the close handshake, unmasked and over-size client
// frames rejected, a kick ending with a close frame; a witness session on the same worker keeps
// working throughout.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, findSession, KICKED_ONE } from './lib/daemon.mjs';
import { RawWebSocket, OP, acceptKey } from './lib/ws-raw.mjs';
import {
	PomeloRawClient, PKG, ENTRY_ROUTE, ENTRY_OK, encodeHandshake, encodeRequest, ACK_BYTES,
} from './lib/pomelo-raw.mjs';

let d;
let witness;
const sockets = [];

after(async () => {
	for (const s of sockets) {
		s.close();
	}
	witness?.close();
	await d?.stop();
});

function pkgType(frame) {
	return frame.payload[0];
}

function json(frame) {
	return JSON.parse(frame.payload.subarray(4).toString());
}

async function ws(opts = {}) {
	assert.ok(d, 'the daemon did not start');
	const s = await RawWebSocket.open({ port: d.port, ...opts });
	sockets.push(s);
	return s;
}

// Handshake, ack and one entry request over `s`; returns the response frame.
async function pomeloOver(s) {
	s.send(OP.BINARY, encodeHandshake());
	const hs = await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.HANDSHAKE,
		{ what: 'the handshake reply' });
	assert.equal(json(hs).code, 200);
	s.send(OP.BINARY, ACK_BYTES);
	s.send(OP.BINARY, encodeRequest(5, ENTRY_ROUTE, {}));
	const res = await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.DATA,
		{ what: 'the response' });
	assert.deepEqual(JSON.parse(res.payload.subarray(6).toString()), ENTRY_OK);
	return res;
}

async function assertWitness() {
	assert.equal(witness.closed, false, 'the witness session was closed');
	assert.deepEqual((await witness.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
}

test('start: one worker, max_package_size = 4k', async () => {
	d = await startDaemon({ workers: 1, connector: { heartbeat: '1s', max_package_size: '4k' } });
	witness = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
});

test('upgrade: 101 with the right Sec-WebSocket-Accept, then Pomelo in binary frames',
	async () => {
		const s = await ws();
		assert.match(s.http, /^HTTP\/1\.1 101 /);
		assert.equal(s.header('Sec-WebSocket-Accept'), acceptKey(s.key));
		assert.match(s.header('Upgrade') ?? '', /^websocket$/i);
		const res = await pomeloOver(s);
		assert.equal(res.fin, true);
		assert.equal(res.masked, false, 'a server frame was masked');
		// Each server frame holds whole packages (header length matches the frame).
		for (const f of s.frames.filter((x) => x.opcode === OP.BINARY)) {
			const len = (f.payload[1] << 16) | (f.payload[2] << 8) | f.payload[3];
			assert.ok(f.payload.length >= 4 + len);
		}
		s.close();
	});

test('the upgrade request with its first byte alone works (switcher waits)', async () => {
	const s = await ws({ split: true });
	assert.match(s.http, /^HTTP\/1\.1 101 /);
	await pomeloOver(s);
	s.close();
});

test('a package in a fragmented message is reassembled', async () => {
	const s = await ws();
	const hs = encodeHandshake();
	s.send(OP.BINARY, hs.subarray(0, 3), { fin: false });
	s.send(OP.CONT, hs.subarray(3, 10), { fin: false });
	s.send(OP.CONT, hs.subarray(10), { fin: true });
	const reply = await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.HANDSHAKE,
		{ what: 'the handshake reply' });
	assert.equal(json(reply).code, 200);
	s.close();
});

test('ping is answered with a pong carrying the same payload', async () => {
	const s = await ws();
	s.send(OP.PING, Buffer.from('are you there'));
	const pong = await s.frame((f) => f.opcode === OP.PONG, { what: 'the pong' });
	assert.equal(pong.payload.toString(), 'are you there');
	// A ping in the middle of a fragmented message too.
	const hs = encodeHandshake();
	s.send(OP.BINARY, hs.subarray(0, 5), { fin: false });
	s.send(OP.PING, Buffer.from('mid'));
	s.send(OP.CONT, hs.subarray(5), { fin: true });
	await s.frame((f) => f.opcode === OP.PONG && f.payload.toString() === 'mid',
		{ what: 'the second pong' });
	await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.HANDSHAKE,
		{ what: 'the handshake reply' });
	s.close();
});

test('close handshake: a close frame 1000 is answered with a close frame, then TCP closes',
	async () => {
		const s = await ws();
		await pomeloOver(s);
		s.send(OP.CLOSE, Buffer.from([0x03, 0xe8]));
		const c = await s.frame((f) => f.opcode === OP.CLOSE, { what: 'the close frame' });
		assert.ok(c.payload.length === 0 || c.payload.readUInt16BE(0) === 1000,
			`close code ${c.payload.length ? c.payload.readUInt16BE(0) : 'none'}`);
		await s.waitClose(2000);
		await assertWitness();
	});

test('an unmasked client frame closes the connection (1002 if a code is sent)', async () => {
	const s = await ws();
	s.send(OP.BINARY, encodeHandshake(), { mask: false });
	await s.waitClose(2000);
	assert.equal(s.frames.some((f) => f.opcode === OP.BINARY), false,
		'the unmasked handshake was answered');
	const c = s.frames.find((f) => f.opcode === OP.CLOSE);
	if (c && c.payload.length >= 2) {
		assert.equal(c.payload.readUInt16BE(0), 1002);
	}
	await assertWitness();
});

test('an over-size frame is refused (1009) on its first bytes, never buffered', async () => {
	const s = await ws();
	// Announce 1 MiB (max_package_size 4k); send the header, the mask and 16 payload bytes
	// only (a frame parser may look at the length once payload starts).
	const frame = Buffer.concat([Buffer.from([0x82, 0xff]), (() => {
		const b = Buffer.alloc(8);
		b.writeBigUInt64BE(1024n * 1024n);
		return b;
	})(), Buffer.from([1, 2, 3, 4]), Buffer.alloc(16, 0x41)]);
	s.write(frame);
	await s.waitClose(2000);
	const c = s.frames.find((f) => f.opcode === OP.CLOSE);
	if (c && c.payload.length >= 2) {
		assert.equal(c.payload.readUInt16BE(0), 1009);
	}
	await assertWitness();
});

test('reserved opcodes, RSV bits, a bad close frame or garbage close the connection; ' +
	'the worker survives',
	async () => {
		const before = (await d.workers()).map((w) => w.pid);
		for (const bytes of [
			Buffer.from([0x83, 0x80, 1, 2, 3, 4]),       // reserved opcode 3
			Buffer.from([0xf2, 0x80, 1, 2, 3, 4]),       // RSV bits set
			Buffer.from([0x88, 0x81, 1, 2, 3, 4, 5]),    // close with a 1-byte payload
			Buffer.from('not a frame at all, just text\r\n'),
		]) {
			const s = await ws();
			s.write(bytes);
			await s.waitClose(2000);
		}
		assert.deepEqual((await d.workers()).map((w) => w.pid), before);
		await assertWitness();
	});

test('a kick over WebSocket: the KICK package, then a close frame 1000', async () => {
	const s = await ws();
	await pomeloOver(s);
	const port = s.socket.localPort;
	const sess = await findSession(d, port, { state: 'working' });
	assert.equal(sess.transport, 'ws');
	assert.match(await d.admin(`kick session ${sess.id} bye-bye`), KICKED_ONE);
	const kick = await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.KICK,
		{ what: 'the kick' });
	assert.deepEqual(json(kick), { reason: 'bye-bye' });
	const c = await s.frame((f) => f.opcode === OP.CLOSE, { what: 'the close frame' });
	assert.ok(c.payload.length >= 2, 'close frame without a code');
	assert.equal(c.payload.readUInt16BE(0), 1000);
	await s.waitClose(2000);
});

test('heartbeats go over WebSocket too: right after the ack, answered at once', async () => {
	const s = await ws();
	s.send(OP.BINARY, encodeHandshake());
	await s.frame((f) => pkgType(f) === PKG.HANDSHAKE, { what: 'the handshake reply' });
	s.send(OP.BINARY, ACK_BYTES);
	await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.HEARTBEAT,
		{ timeout: 500, what: 'the heartbeat after the ack' });
	const n = s.frames.length;
	s.send(OP.BINARY, Buffer.from([3, 0, 0, 0]));
	await s.frame((f) => f.opcode === OP.BINARY && pkgType(f) === PKG.HEARTBEAT,
		{ from: n, timeout: 300, what: 'the answer to a heartbeat' });
	s.close();
});
