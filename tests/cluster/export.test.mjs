// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// scripts/pomelo-export against the real thing: the route dictionary (dict, routeToCode,
// codeToRoute, dictVersion) and the protos (parsed server and client protos, version) it writes
// for the test game must be exactly what the connector tier sends in its handshake, and a client
// that already holds those versions must get a handshake without them (CLUSTER.md §8,
// PROTOCOL.md §5–6). With Node connectors this proves the exporter; with shaddock (fed the
// exporter's dictionary.json) it proves that clients moving between the two keep their caches.
// CLUSTER_FRAMEWORK = pomelo | pinus, CLUSTER_TIER = node | shaddock (see README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useCluster, LABEL, FRAMEWORK, TIER } from './lib/setup.mjs';
import { exportGame, REPO_ROOT } from './lib/cluster.mjs';
import { PomeloRawClient } from '../integration/lib/pomelo-raw.mjs';
import { run } from '../integration/lib/util.mjs';

const ctx = useCluster();
const opts = { skip: ctx.skip, timeout: 60000 };
const EXPORT = path.join(REPO_ROOT, 'scripts/pomelo-export');

async function handshake(port, sys = {}) {
	const c = await PomeloRawClient.open({ port, handshake: {
		sys: { type: 'shaddock-test', version: '0.0.1', ...sys }, user: {} } });
	c.close();
	return c.handshakeReply;
}

let exported;

test(`the export matches the connector tier's handshake (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	exported = await exportGame(c.base, path.join(c.dir, 'export-test'), { framework: FRAMEWORK });
	const d = JSON.parse(fs.readFileSync(exported.files.dict, 'utf8'));
	const protos = JSON.parse(fs.readFileSync(exported.files.protos, 'utf8'));
	const routes = JSON.parse(fs.readFileSync(exported.files.dictionary, 'utf8'));
	assert.ok(routes.includes('game.gameHandler.echo') && routes.includes('onRoom'));
	assert.equal(routes.includes('game.gameHandler.ping'), FRAMEWORK === 'pomelo',
		'an inherited handler method: a route for Pomelo (for…in), not for Pinus');
	routes.forEach((r, i) => assert.equal(d.codeToRoute[i + 1], r));
	for (const port of c.connectorPorts()) {
		const sys = (await handshake(port)).sys;
		assert.deepEqual(sys.dict, d.dict, `dict on port ${port}`);
		assert.equal(sys.dictVersion, d.dictVersion);
		if (FRAMEWORK === 'pomelo' || TIER === 'shaddock') {
			assert.deepEqual(sys.routeToCode, d.routeToCode);
			assert.deepEqual(sys.codeToRoute, d.codeToRoute);
		}
		assert.deepEqual(sys.protos, protos, `protos on port ${port}`);
		assert.equal(sys.useProto, true);
	}
	assert.notEqual(protos.version, '');
	assert.ok(protos.server['message Prize'], 'global messages keep their "message X" key');
});

test(`a client with the cached versions gets no dict and no protos (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const d = JSON.parse(fs.readFileSync(exported.files.dict, 'utf8'));
	const protos = JSON.parse(fs.readFileSync(exported.files.protos, 'utf8'));
	for (const port of c.connectorPorts()) {
		const sys = (await handshake(port, { dictVersion: d.dictVersion,
			protoVersion: protos.version })).sys;
		assert.equal(sys.dict, undefined, 'dict left out');
		assert.equal(sys.useDict, true);
		assert.equal(sys.protos, undefined, 'protos left out');
		assert.equal(sys.useProto, true);
		const stale = (await handshake(port, { dictVersion: 'stale' })).sys;
		assert.deepEqual(stale.dict, d.dict, 'a stale version gets the dict');
	}
});

test(`the gate's handshake has the same dictionary (${LABEL})`, { ...opts,
	skip: opts.skip || (TIER !== 'node' && 'the same check as with Node connectors') }, async () => {
	const d = JSON.parse(fs.readFileSync(exported.files.dict, 'utf8'));
	const sys = (await handshake(ctx.cluster.gate.clientPort)).sys;
	assert.deepEqual(sys.dict, d.dict);
	assert.equal(sys.dictVersion, d.dictVersion);
});

test(`the other framework's scan gives another dictionary (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const other = FRAMEWORK === 'pomelo' ? 'pinus' : 'pomelo';
	const r = await exportGame(c.base, path.join(c.dir, 'export-other'), { framework: other });
	assert.notEqual(r.dict.dictVersion, exported.dict.dictVersion);
});

test(`scripts/pomelo-export as a command (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const out = path.join(c.dir, 'export-cli');
	const r = await run(process.execPath, [EXPORT, '--out', out, c.base], { timeout: 30000 });
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, new RegExp(`^${FRAMEWORK}: \\d+ routes, dictVersion \\S+, protos version "\\S+"`));
	for (const f of ['dictionary.json', 'dict.json', 'protos.json']) {
		assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')),
			JSON.parse(fs.readFileSync(path.join(path.dirname(exported.files.dict), f), 'utf8')), f);
	}
	const bad = await run(process.execPath, [EXPORT, '--out', out, c.dir], { timeout: 30000 });
	assert.equal(bad.code, 1);
	assert.match(bad.stderr, /no config folder/);
	const usage = await run(process.execPath, [EXPORT], { timeout: 30000 });
	assert.equal(usage.code, 2);
});

// The raw handshake body of a raw-TCP client on <port> (text, as sent).
async function handshakeText(port, sys = {}) {
	const c = await PomeloRawClient.open({ port, handshake: {
		sys: { type: 'shaddock-test', version: '0.0.1', ...sys }, user: {} } });
	c.close();
	const hs = c.received.find((p) => p.type === 1);
	return hs.body.toString('utf8');
}

test(`shaddock's handshake carries the protos byte for byte as a Node connector's (${LABEL})`,
	{ ...opts, skip: opts.skip || (TIER !== 'shaddock' && 'compares shaddock with a Node connector') },
	async () => {
		const c = ctx.cluster;
		const node = await c.addNodeConnector('connector-node-hs');
		const protosOf = (text) => {
			const i = text.indexOf('"protos":');
			const j = text.indexOf(',"useProto":true', i);
			assert.ok(i > 0 && j > i, text);
			return text.slice(i, j);
		};
		const fromNode = protosOf(await handshakeText(node.clientPort));
		const fromShaddock = protosOf(await handshakeText(c.shaddockPort));
		assert.equal(fromShaddock, fromNode);
		// With the version cached, both send only useProto.
		const version = JSON.parse(`{${fromNode}}`).protos.version;
		for (const port of [node.clientPort, c.shaddockPort]) {
			const text = await handshakeText(port, { protoVersion: version });
			assert.ok(!text.includes('"protos"') && text.includes('"useProto":true'), text);
		}
	});
