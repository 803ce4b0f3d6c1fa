// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Gate -> connector, and client requests and notifies forwarded by the connector tier to a game
// server as sys.msgRemote.forwardMessage, with the reply mapping of CLUSTER.md §5.3: success,
// next(null) -> {}, an error -> {code: 500}, an error with a response -> that response, an
// unknown handler or server type -> {code: 500}, a notify -> nothing, no answer -> {code: 500}
// after the RPC timeout. Both client kinds: the npm jsclient (WebSocket) and raw TCP.
// CLUSTER_FRAMEWORK = pomelo | pinus, CLUSTER_TIER = node | shaddock (see README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { useCluster, routeIndex, FRAMEWORK, TIER, LABEL } from './lib/setup.mjs';
import { KINDS } from './lib/clients.mjs';
import { RPC_TIMEOUT_MS } from './lib/cluster.mjs';
import { sleep, waitFor } from '../integration/lib/util.mjs';

const ctx = useCluster();
const opts = { skip: ctx.skip, timeout: 60000 };

test(`gate: queryEntry picks a connector of the tier by crc32(uid) (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const list = await c.gateConnectors();
	assert.equal(list.length, c.expectedConnectors());
	for (const s of list) {
		assert.equal(s.frontend, 'true', `${s.id} registers frontend as the string "true"`);
		assert.equal(typeof s.clientPort, 'number');
		assert.ok(c.connectorPorts().includes(s.clientPort), `${s.id}'s clientPort is a tier port`);
	}
	for (const uid of ['alice', 'bob', 'carol', 'x', '中']) {
		const e = await c.queryEntry(uid);
		const want = list[routeIndex(FRAMEWORK, uid, list.length)];
		assert.deepEqual(e, { code: 200, host: '127.0.0.1', port: want.clientPort, id: want.id });
	}
	assert.equal((await c.queryEntry('')).code, 500, 'no uid');
	const tcp = await c.queryEntry('dave', { kind: 'tcp' });
	assert.equal(tcp.code, 200, 'raw TCP client on the gate');
});

// The first calls of a worker open its RPC link to the game server. Pinus's acceptor starts a
// new MQTT parser once it has read the CONNECT, losing a packet the old one had begun: a link
// whose CONNECT shares a read with a burst of large calls broke at once, failing all of them.
// Here the burst comes before anything else has used the links. Pinus 1.7.4's own Node connector
// loses such calls too (its CONNECT and calls can share a read), so that pairing is skipped.
const burstOpts = FRAMEWORK === 'pinus' && TIER === 'node' ? { ...opts, skip: ctx.skip ||
	'Pinus\'s own connector loses calls sent with its CONNECT (mqtt-connection 4)' } : opts;
test(`the first calls on a new RPC link: a burst of large requests (${LABEL})`, burstOpts, async () => {
	const c = ctx.cluster;
	const clients = [];
	try {
		for (let i = 0; i < 24; i++) {
			clients.push(await c.connect({ kind: 'tcp', uid: `burst-${i}` }));
		}
		const big = 'x'.repeat(20000);
		const answers = await Promise.all(clients.map((cl, i) =>
			cl.request('game.gameHandler.echo', { i, big })));
		answers.forEach((a, i) => {
			assert.equal(a.code, 200, `request ${i}: ${JSON.stringify(a).slice(0, 200)}`);
			assert.equal(a.echo.i, i);
			assert.equal(a.echo.big.length, big.length);
		});
	} finally {
		for (const cl of clients) {
			cl.close();
		}
	}
});

for (const kind of KINDS) {
	test(`requests: success, next(null), errors, unknown handlers (${kind}, ${LABEL})`, opts, async () => {
		const c = ctx.cluster;
		const client = await c.connect({ kind, uid: `fwd-${kind}` });
		try {
			const body = { a: 1, s: 'é中', list: [1, 'two', null], nested: { t: true } };
			assert.deepEqual(await client.request('game.gameHandler.echo', body),
				{ code: 200, server: 'game-server-1', echo: body });
			assert.deepEqual(await client.request('game.gameHandler.empty', {}), {});
			assert.deepEqual(await client.request('game.gameHandler.fail', {}), { code: 500 });
			assert.deepEqual(await client.request('game.gameHandler.failCode', {}),
				{ code: 601, why: 'custom' });
			assert.deepEqual(await client.request('game.gameHandler.nope', {}), { code: 500 },
				'unknown method');
			assert.deepEqual(await client.request('game.nosuchHandler.x', {}), { code: 500 },
				'unknown handler');
			const t0 = performance.now();
			assert.deepEqual(await client.request('nosuchtype.handler.x', {}), { code: 500 },
				'a server type with no servers');
			assert.ok(performance.now() - t0 < 1500, 'no server: answered at once');
			// Still usable after every error.
			assert.equal((await client.request('game.gameHandler.echo', { n: 2 })).code, 200);
			if (TIER === 'shaddock') {
				// The calls are counted per backend server (with the workers' heartbeats).
				await waitFor(async () => {
					const st = await c.daemon.stat();
					const b = st.backends?.['game-server-1'];
					return b && b.forwarded >= 5 && b.answered >= 5 && b.latency_ms_mean > 0 &&
						st.cluster_forwarded >= 5 && st.cluster_forward_errors >= 1;
				}, { what: 'show stat counting the calls to game-server-1' });
			}
		} finally {
			client.close();
		}
	});

	test(`the forwarded session: id, frontendId, uid, settings (${kind}, ${LABEL})`, opts, async () => {
		const c = ctx.cluster;
		const client = await c.connect({ kind, uid: `who-${kind}` });
		try {
			const who = await client.request('game.gameHandler.whoami', {});
			assert.equal(who.code, 200);
			const s = who.session;
			assert.deepEqual(Object.keys(s).sort(), ['frontendId', 'id', 'settings', 'uid']);
			assert.equal(typeof s.id, 'number', 'session ids are numbers');
			assert.ok(s.id >= 1);
			assert.equal(s.uid, null, 'not bound yet');
			assert.deepEqual(s.settings, {});
			if (TIER === 'node') {
				assert.equal(s.frontendId, client.entry.id, 'the connector the gate picked');
			}
			const ids = (await c.gateConnectors()).map((x) => x.id);
			assert.ok(ids.includes(s.frontendId), `${s.frontendId} is a registered connector`);
			// The same session on the next message.
			const again = await client.request('game.gameHandler.whoami', {});
			assert.deepEqual(again.session, s);
		} finally {
			client.close();
		}
	});

	test(`a notify is forwarded and gets no answer (${kind}, ${LABEL})`, opts, async () => {
		const c = ctx.cluster;
		const client = await c.connect({ kind, uid: `note-${kind}` });
		try {
			const who = (await client.request('game.gameHandler.whoami', {})).session;
			const before = client.dataIn();
			const mark = `n-${kind}-${Date.now()}`;
			client.notify('game.gameHandler.note', { mark });
			const ev = await c.waitEvent((e) => e.type === 'note' && e.body.mark === mark,
				{ what: 'the notify on the game server' });
			assert.deepEqual(ev.session, who, 'the notify carries the session');
			assert.equal((await client.request('game.gameHandler.echo', { after: 1 })).code, 200);
			await sleep(300);
			assert.equal(client.dataIn(), before + 1, 'only the echo was answered');
		} finally {
			client.close();
		}
	});
}

test(`a dictionary-coded request is forwarded with its full route (tcp, ${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const client = await c.connect({ kind: 'tcp', uid: 'dict-user' });
	try {
		const dict = client.handshakeReply().sys.dict;
		assert.ok(dict && dict['game.gameHandler.echo'], 'the handshake has the game routes');
		assert.deepEqual(await client.requestCompressed('game.gameHandler.echo', { z: 26 }),
			{ code: 200, server: 'game-server-1', echo: { z: 26 } });
		const mark = `coded-${Date.now()}`;
		client.notify('game.gameHandler.note', { mark }, { compress: true });
		await c.waitEvent((e) => e.type === 'note' && e.body.mark === mark,
			{ what: 'the coded notify on the game server' });
	} finally {
		client.close();
	}
});

test(`no answer from the backend: {code: 500} after the RPC timeout (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const client = await c.connect({ kind: 'ws', uid: 'never' });
	try {
		const t0 = performance.now();
		const res = await client.request('game.gameHandler.never', {},
			{ timeout: RPC_TIMEOUT_MS + 5000 });
		const ms = performance.now() - t0;
		assert.deepEqual(res, { code: 500 });
		assert.ok(ms >= RPC_TIMEOUT_MS - 300, `answered after ${ms.toFixed(0)} ms, the timeout is ${RPC_TIMEOUT_MS}`);
		assert.ok(ms < RPC_TIMEOUT_MS + 3000, `answered after ${ms.toFixed(0)} ms`);
		assert.ok(c.events('game-server-1').some((e) => e.type === 'never'));
		assert.equal((await client.request('game.gameHandler.echo', {})).code, 200);
	} finally {
		client.close();
	}
});

test(`requests in flight together are answered under their own ids (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const client = await c.connect({ kind: 'tcp', uid: 'many' });
	try {
		const slow = client.request('game.gameHandler.slow', { ms: 400 });
		const quick = await Promise.all(Array.from({ length: 20 }, (_, i) =>
			client.request('game.gameHandler.echo', { i })));
		quick.forEach((r, i) => assert.deepEqual(r.echo, { i }));
		assert.deepEqual(await slow, { code: 200, slept: 400, server: 'game-server-1' });
	} finally {
		client.close();
	}
});

test(`protobuf: a request decoded by clientProtos, its response and a push encoded by serverProtos (ws, ${LABEL})`,
	opts, async () => {
		const c = ctx.cluster;
		const uid = 'pb-user';
		const { client } = await c.enter(uid, { kind: 'ws', room: 'pb' });
		try {
			const hs = client.handshakeReply();
			assert.equal(hs.sys.useProto, true);
			assert.ok(hs.sys.protos.client['game.gameHandler.score'], 'client protos sent');
			const res = await client.request('game.gameHandler.score', { room: 'r', limit: 2 });
			assert.deepEqual(res, { code: 200, who: uid,
				top: [{ uid: 'r-0', points: 0 }, { uid: 'r-1', points: -10 }] });
			const push = await client.waitPush('onScore');
			assert.deepEqual(push.body, { uid, at: 1.5, prize: { name: 'r', ids: [1, 300] } });
			// On the wire: the request body, the response body and the push body are protobuf.
			const out = client.js.frames.filter((f) => f.dir === 'out' && f.type === 4).at(-1);
			assert.notEqual(out.body.at(-1), 0x7d, 'the request is not JSON');
			const data = client.js.frames.filter((f) => f.dir === 'in' && f.type === 4);
			const resp = data.findLast((f) => f.body[0] === 0x04);
			// flag 04, the id, then field 1 (code, uInt32) = 200: 08 c8 01.
			assert.ok(resp.body.includes(Buffer.from([0x08, 0xc8, 0x01])), 'code 200 as protobuf');
			const pushFrame = data.findLast((f) => (f.body[0] & 0x0e) === 0x06);
			assert.ok(pushFrame && !pushFrame.body.includes(Buffer.from('{"')), 'push is protobuf');
		} finally {
			client.close();
		}
	});
