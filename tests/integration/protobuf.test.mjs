// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// pomelo-protobuf on a standalone server (issue 10): the real pomelo-jsclient-websocket with
// pomelo-protobuf's client codec against the chat demo with chatofpomelo-style schemas. The
// handshake carries the parsed protos and their version; a client with the cached version gets
// only useProto; a request with a client schema is decoded, its response and the onChat push
// are protobuf on the wire. A body that does not fit its schema is dropped (counted, the
// connection kept); a value the server cannot encode is answered {"code":500}, never a malformed
// body. A bad schema file fails -t and a reload with file, route and field.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, stopAll, checkConfig, makeTempDir } from './lib/daemon.mjs';
import { createClient } from './lib/jsclient.mjs';
import { PomeloRawClient, PKG, encodePackage, encodeVarint } from './lib/pomelo-raw.mjs';
import { waitFor } from './lib/util.mjs';

const ENTER = 'connector.entryHandler.enter';
const SEND = 'chat.chatHandler.send';
const ENTRY = 'connector.entryHandler.entry';

// chatofpomelo's onChat, plus schemas for the enter response, the send request and an
// impossible one for the HelloWorld answer (a required field it never has).
const SERVER_PROTOS = {
	onChat: { 'required string msg': 1, 'required string from': 2, 'required string target': 3 },
	[ENTER]: { 'repeated string users': 1 },
	[ENTRY]: { 'required uInt32 code': 1, 'required string never': 2 },
};
const CLIENT_PROTOS = {
	[SEND]: { 'required string rid': 1, 'required string content': 2,
		'required string from': 3, 'required string target': 4 },
};

const daemons = [];
const clients = [];
let d;
let dir;

after(async () => {
	for (const c of clients) {
		try {
			c.close ? c.close() : c.disconnect();
		} catch {
			// already closed
		}
	}
	await stopAll(daemons);
	if (dir) {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

function writeProtos(server, client) {
	fs.writeFileSync(path.join(dir, 'serverProtos.json'), JSON.stringify(server, null, 2));
	fs.writeFileSync(path.join(dir, 'clientProtos.json'), JSON.stringify(client, null, 2));
}

function jsclient(storage) {
	const c = createClient(storage ? { storage } : {});
	clients.push(c);
	return c;
}

test('start with use_protobuf and the schema files', async () => {
	dir = makeTempDir('shaddock-protos-');
	writeProtos(SERVER_PROTOS, CLIENT_PROTOS);
	d = await startDaemon({ workers: 1, connector: {
		server_protos: path.join(dir, 'serverProtos.json'),
		client_protos: path.join(dir, 'clientProtos.json'),
	} });
	daemons.push(d);
});

test('the jsclient: handshake protos, a decoded request, protobuf response and push', async () => {
	const c = jsclient();
	await c.init({ host: '127.0.0.1', port: d.port });
	const hs = JSON.parse(c.frames.find((f) => f.dir === 'in' && f.type === PKG.HANDSHAKE)
		.body.toString('utf8'));
	assert.equal(hs.sys.useProto, true);
	assert.deepEqual(hs.sys.protos.server.onChat, {
		msg: { option: 'required', type: 'string', tag: 1 },
		from: { option: 'required', type: 'string', tag: 2 },
		target: { option: 'required', type: 'string', tag: 3 },
		__messages: {}, __tags: { 1: 'msg', 2: 'from', 3: 'target' } });
	assert.match(hs.sys.protos.version, /^[A-Za-z0-9+/]{22}==$/);
	// The version is stored by the client for its next handshake.
	assert.equal(JSON.parse(c.storage.getItem('protos')).version, hs.sys.protos.version);

	assert.deepEqual(await c.request(ENTER, { username: 'ann', rid: 'pb' }), { users: ['ann'] });
	const inData = () => c.frames.filter((f) => f.dir === 'in' && f.type === PKG.DATA);
	// The enter response on the wire: flag 04, id 1, then field 1 (string) "ann": 0a 03 61 6e 6e.
	assert.deepEqual([...inData().at(-1).body], [0x04, 0x01, 0x0a, 0x03, 0x61, 0x6e, 0x6e]);

	const got = c.waitEvent('onChat');
	await c.request(SEND, { rid: 'pb', content: 'hi', from: 'ann', target: '*' });
	// The send request went out protobuf-encoded (the client's codec, wire-type quirk and all).
	const sent = c.frames.filter((f) => f.dir === 'out' && f.type === PKG.DATA).at(-1);
	assert.ok(!sent.body.includes(Buffer.from('"content"')), 'the request is protobuf');
	assert.deepEqual(await got, { msg: 'hi', from: 'ann', target: '*' });
	const push = inData().find((f) => (f.body[0] & 0x0e) === 0x06);
	// flag 06, route "onChat", then msg "hi", from "ann", target "*" (PROTOCOL.md §6.3).
	assert.deepEqual([...push.body], [0x06, 0x06, ...Buffer.from('onChat'),
		0x0a, 0x02, 0x68, 0x69, 0x12, 0x03, 0x61, 0x6e, 0x6e, 0x1a, 0x01, 0x2a]);
	c.disconnect();
});

test('a client with the cached protoVersion gets only useProto', async () => {
	const first = jsclient();
	await first.init({ host: '127.0.0.1', port: d.port });
	first.disconnect();
	// A second page load: the same localStorage, so the client sends the cached version.
	const again = jsclient(first.storage);
	await again.init({ host: '127.0.0.1', port: d.port });
	const out = again.frames.find((f) => f.dir === 'out' && f.type === PKG.HANDSHAKE);
	const version = JSON.parse(first.storage.getItem('protos')).version;
	assert.equal(JSON.parse(out.body.toString('utf8')).sys.protoVersion, version);
	const hs = again.frames.find((f) => f.dir === 'in' && f.type === PKG.HANDSHAKE);
	assert.equal(hs.body.toString('utf8'), '{"code":200,"sys":{"heartbeat":1,"useProto":true}}');
	// It still decodes with the cached protos.
	assert.deepEqual(await again.request(ENTER, { username: 'bob', rid: 'pb2' }),
		{ users: ['bob'] });
	again.disconnect();
	// A stale version gets the protos again.
	const raw = await PomeloRawClient.open({ port: d.port, handshake: { sys: { protoVersion: 'stale' } } });
	clients.push(raw);
	assert.equal(raw.handshakeReply.sys.protos.version, version);
	raw.close();
});

test('a body that does not fit its schema is dropped; the connection stays', async () => {
	const raw = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true });
	clients.push(raw);
	const before = (await d.stat()).protobuf_errors;
	// A send request whose body is field 9 (an unknown tag): dropped, not answered.
	const route = Buffer.from(SEND);
	raw.write(encodePackage(PKG.DATA, Buffer.concat([Buffer.from([0x00]), encodeVarint(7),
		Buffer.from([route.length]), route, Buffer.from([0x4a, 0x01, 0x41])])));
	// The connection is kept: a request after it is answered.
	const r = await raw.request(ENTRY, {}, { id: 8 });
	assert.equal(r.id, 8);
	assert.ok(!raw.received.some((p) => p.message?.id === 7), 'the bad request got no answer');
	await waitFor(async () => (await d.stat()).protobuf_errors >= before + 2,
		{ what: 'protobuf_errors counted' });
	assert.match(d.log(), /a request on chat\.chatHandler\.send does not fit its protobuf schema: .*unknown tag 9/);
	raw.close();
});

test('a value that cannot be encoded is answered {"code":500}, never a malformed body', async () => {
	const raw = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true });
	clients.push(raw);
	// HelloWorld answers {"code":200,"msg":...}; its schema requires "never".
	const r = await raw.request(ENTRY, {});
	assert.equal(r.rawBody.toString('utf8'), '{"code":500}');
	assert.match(d.log(), /the response to request \d+ does not fit its protobuf schema: missing required field 'never'/);
	raw.close();
});

test('-t and a reload check the schema files: file, route and field', async () => {
	writeProtos({ onChat: { 'required strng msg': 1 } }, CLIENT_PROTOS);
	const text = d.writeConfig();
	const r = await checkConfig(text);
	assert.equal(r.code, 1);
	assert.match(r.stderr, /server_protos: .*serverProtos\.json: route onChat: field 'msg': unknown type 'strng'/);
	const res = await d.ctl(['reload']);
	assert.equal(res.code, 1);
	assert.match(res.stderr, /route onChat: field 'msg': unknown type 'strng'/);
	// The old schemas still serve.
	const c = jsclient();
	await c.init({ host: '127.0.0.1', port: d.port });
	assert.deepEqual(await c.request(ENTER, { username: 'cid', rid: 'pb3' }), { users: ['cid'] });
	c.disconnect();
	// A syntax error names the line.
	writeProtos(SERVER_PROTOS, CLIENT_PROTOS);
	fs.writeFileSync(path.join(dir, 'clientProtos.json'), '{\n  "a": {\n  oops\n}\n');
	const r2 = await checkConfig(text);
	assert.match(r2.stderr, /client_protos: .*clientProtos\.json:3: /);
});
