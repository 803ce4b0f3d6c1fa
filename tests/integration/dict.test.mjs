// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Route dictionary (PROTOCOL.md §3.3, §4.3): with `dictionary = FILE` the handshake reply
// carries dict, routeToCode, codeToRoute, dictVersion and useDict; codes follow the file's
// order and include the built-in routes; requests and notifies with 2-byte route codes work;
// a client whose dictVersion matches gets useDict without the tables; use_dict = on without a
// file still offers the built-in routes.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, stopAll, makeTempDir } from './lib/daemon.mjs';
import { PomeloRawClient, PKG, ENTRY_ROUTE, ENTRY_OK, DEFAULT_HANDSHAKE } from './lib/pomelo-raw.mjs';

const ROUTES = ['area.playerHandler.move', 'onMove', 'shop.buyHandler.buy'];
const daemons = [];
const clients = [];
let dir;
let d;

after(async () => {
	for (const c of clients) {
		c.close();
	}
	await stopAll(daemons);
	if (dir) {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

async function connect(daemon) {
	const c = await PomeloRawClient.connect({ port: daemon.port });
	clients.push(c);
	return c;
}

function checkTables(sys) {
	assert.equal(sys.useDict, true);
	assert.equal(typeof sys.dict, 'object');
	assert.deepEqual(sys.routeToCode, sys.dict, 'routeToCode differs from dict');
	assert.equal(typeof sys.dictVersion, 'string');
	assert.ok(sys.dictVersion.length > 0);
	const codes = Object.values(sys.dict);
	assert.equal(new Set(codes).size, codes.length, 'two routes share a code');
	for (const [route, code] of Object.entries(sys.dict)) {
		assert.ok(Number.isInteger(code) && code >= 1 && code <= 0xffff, `${route}: ${code}`);
		assert.equal(sys.codeToRoute[String(code)], route, `codeToRoute[${code}]`);
	}
	assert.equal(Object.keys(sys.codeToRoute).length, codes.length);
	assert.ok(ENTRY_ROUTE in sys.dict, 'the built-in entry route is not in the dictionary');
}

test('start: dictionary = FILE', async () => {
	dir = makeTempDir('shaddock-dict-');
	const file = path.join(dir, 'dictionary.json');
	fs.writeFileSync(file, JSON.stringify(ROUTES));
	d = await startDaemon({ workers: 1, connector: { dictionary: file } });
	daemons.push(d);
});

test('the handshake reply carries the whole dictionary; codes follow the file order', async () => {
	assert.ok(d, 'the daemon did not start');
	const c = await connect(d);
	const reply = await c.handshake();
	assert.equal(reply.code, 200);
	assert.equal(reply.sys.heartbeat, 1);
	checkTables(reply.sys);
	for (const r of ROUTES) {
		assert.ok(r in reply.sys.dict, `${r} missing from dict`);
	}
	const codes = ROUTES.map((r) => reply.sys.dict[r]);
	assert.deepEqual([...codes].sort((x, y) => x - y), codes, `codes ${codes} not in file order`);
	c.close();
});

test('requests with route codes (and ids above 127) are answered; notifies are not', async () => {
	assert.ok(d, 'the daemon did not start');
	const c = await PomeloRawClient.open({ port: d.port });
	clients.push(c);
	const code = c.dict[ENTRY_ROUTE];
	const r = await c.request(ENTRY_ROUTE, {}, { id: 300, compress: true });
	const raw = r.package.raw;
	assert.equal(raw[4], 0x04, 'a response is never route-compressed');
	assert.deepEqual([...raw.subarray(5, 7)], [0xac, 0x02]);
	assert.deepEqual(r.body, ENTRY_OK);
	assert.ok(code >= 1);
	c.notify(ENTRY_ROUTE, {}, { compress: true });
	const r2 = await c.request(ENTRY_ROUTE, {}, { id: 301, compress: true });
	assert.deepEqual(r2.body, ENTRY_OK);
	// String routes still work with a dictionary.
	assert.deepEqual((await c.request(ENTRY_ROUTE, {}, { id: 302 })).body, ENTRY_OK);
	assert.equal(c.count(PKG.DATA), 3, 'the notify was answered');
	// A dictionary route without a handler is an unknown route.
	const r3 = await c.request('area.playerHandler.move', { x: 1 }, { compress: true });
	assert.deepEqual(r3.body, { code: 500 });
	c.close();
});

test('a client with the current dictVersion gets useDict without the tables', async () => {
	assert.ok(d, 'the daemon did not start');
	const first = await connect(d);
	const full = await first.handshake();
	first.close();
	const c = await connect(d);
	const reply = await c.handshake({
		sys: { ...DEFAULT_HANDSHAKE.sys, dictVersion: full.sys.dictVersion }, user: {},
	});
	assert.equal(reply.code, 200);
	assert.equal(reply.sys.useDict, true);
	for (const k of ['dict', 'routeToCode', 'codeToRoute', 'dictVersion']) {
		assert.equal(k in reply.sys, false, `${k} sent to a client that has the dictionary`);
	}
	// It uses its cached codes.
	c.dict = full.sys.dict;
	c.ack();
	assert.deepEqual((await c.request(ENTRY_ROUTE, {}, { compress: true })).body, ENTRY_OK);
	// A stale version gets everything again.
	const s = await connect(d);
	const stale = await s.handshake({ sys: { ...DEFAULT_HANDSHAKE.sys, dictVersion: 'stale' } });
	checkTables(stale.sys);
	assert.equal(stale.sys.dictVersion, full.sys.dictVersion);
	c.close();
	s.close();
});

test('use_dict = on without a file offers the built-in routes', async () => {
	const e = await startDaemon({ workers: 1, connector: { use_dict: 'on' } });
	daemons.push(e);
	const c = await PomeloRawClient.open({ port: e.port });
	clients.push(c);
	checkTables(c.handshakeReply.sys);
	for (const r of ROUTES) {
		assert.equal(r in c.handshakeReply.sys.dict, false, `${r} in a dictionary without a file`);
	}
	assert.deepEqual((await c.request(ENTRY_ROUTE, {}, { compress: true })).body, ENTRY_OK);
	c.close();
});
