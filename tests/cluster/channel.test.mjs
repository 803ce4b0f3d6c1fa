// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Pushes from the game server through sys.channelRemote (CLUSTER.md §6.3) to sessions held by
// two different frontends (two Node connectors, or two shaddock workers): a channel push and a
// push by uids with the exact failure list (the uids a frontend has no session for), broadcast
// to every session and to bound sessions only, dictionary-coded push routes on the wire.
// CLUSTER_FRAMEWORK = pomelo | pinus, CLUSTER_TIER = node | shaddock (see README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, LABEL, TIER } from './lib/setup.mjs';
import { sleep } from '../integration/lib/util.mjs';

const ctx = useCluster();
const opts = { skip: ctx.skip, timeout: 60000 };
const G = (m) => `game.gameHandler.${m}`;

// Three sessions: a and b bound in room `room` on two different frontends (a on the first, b on
// the second), and u, connected to the first frontend but never bound.
async function threeSessions(c, room, kinds = ['ws', 'tcp', 'ws']) {
	let frontends;
	if (TIER === 'node') {
		frontends = c.nodeConnectors.slice(0, 2).map((x) => ({ port: x.clientPort, id: x.id }));
	} else {
		// One kind for both (a tcp-only test gets tcp; mixed kinds get ws).
		const spread = await c.spreadOverFrontends(2, {
			kind: kinds[0] === kinds[1] ? kinds[0] : 'ws' });
		frontends = spread.map((s) => ({ client: s.client, id: s.session.frontendId }));
	}
	const out = {};
	const names = ['a', 'b'];
	for (let i = 0; i < 2; i++) {
		const f = frontends[i];
		const uid = `${room}-${names[i]}`;
		if (f.client) {
			// shaddock: the connection the kernel gave to that worker enters the room.
			const reply = await f.client.request('connector.entryHandler.enter', { uid, room });
			assert.equal(reply.code, 200);
			const who = await f.client.request(G('whoami'), {});
			out[names[i]] = { client: f.client, session: who.session, uid };
		} else {
			const e = await c.enter(uid, { room, kind: kinds[i], port: f.port });
			out[names[i]] = { ...e, uid };
		}
	}
	assert.notEqual(out.a.session.frontendId, out.b.session.frontendId, 'two frontends');
	if (TIER === 'node') {
		out.u = { client: await c.connect({ kind: kinds[2], port: frontends[0].port }) };
	} else {
		const [u] = await c.clientsOnOneFrontend(1, { kind: kinds[2] });
		out.u = u;
	}
	out.u.session = (await out.u.client.request(G('whoami'), {})).session;
	out.close = () => {
		for (const k of ['a', 'b', 'u']) {
			out[k]?.client.close();
		}
	};
	return out;
}

test(`channel push reaches members on both frontends, failure list empty (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const s = await threeSessions(c, 'cp');
	try {
		const res = await s.a.client.request(G('roomPush'), { room: 'cp', route: 'onRoom',
			msg: { text: 'hi all', n: 1 } });
		assert.deepEqual(res, { code: 200, fails: [], members: ['cp-a', 'cp-b'] });
		for (const k of ['a', 'b']) {
			assert.deepEqual((await s[k].client.waitPush('onRoom')).body, { text: 'hi all', n: 1 });
		}
		await sleep(300);
		assert.deepEqual(s.u.client.pushesOf('onRoom'), [], 'not a member');
		// A member leaves: the next push fails for nobody and reaches only the other one.
		s.b.client.close();
		await c.waitEvent((e) => e.type === 'leave' && e.session.uid === 'cp-b',
			{ what: 'the hook for cp-b' });
		const after = await s.a.client.request(G('roomPush'), { room: 'cp', route: 'onRoom',
			msg: { text: 'again' } });
		assert.deepEqual(after, { code: 200, fails: [], members: ['cp-a'] });
		await s.a.client.waitPush('onRoom', { pred: (b) => b.text === 'again' });
	} finally {
		s.close();
	}
});

test(`push by uids: the failure list names the uids a frontend does not hold (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const s = await threeSessions(c, 'pu', ['tcp', 'ws', 'tcp']);
	try {
		const fa = s.a.session.frontendId;
		const fb = s.b.session.frontendId;
		const uids = [
			{ uid: 'pu-a', sid: fa },
			{ uid: 'ghost-1', sid: fa },
			{ uid: 'pu-b', sid: fb },
			{ uid: 'ghost-2', sid: fb },
			{ uid: 'pu-b', sid: fa },       // b is on the other frontend
		];
		const res = await s.u.client.request(G('pushTo'), { route: 'onDirect',
			msg: { to: 'some' }, uids });
		assert.equal(res.code, 200);
		assert.deepEqual([...res.fails].sort(), ['ghost-1', 'ghost-2', 'pu-b']);
		assert.deepEqual((await s.a.client.waitPush('onDirect')).body, { to: 'some' });
		assert.deepEqual((await s.b.client.waitPush('onDirect')).body, { to: 'some' });
		await sleep(300);
		assert.equal(s.b.client.pushesOf('onDirect').length, 1, 'b once, from its own frontend');
		const allFail = await s.u.client.request(G('pushTo'), { route: 'onDirect', msg: { x: 1 },
			uids: [{ uid: 'ghost-3', sid: fa }] });
		// Every uid failed on the only frontend asked: Pomelo's channel service reports
		// success with the failure list.
		assert.deepEqual(allFail, { code: 200, fails: ['ghost-3'] });
	} finally {
		s.close();
	}
});

test(`pushes on dictionary routes are sent with their codes (tcp, ${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const s = await threeSessions(c, 'dc', ['tcp', 'tcp', 'tcp']);
	try {
		assert.equal((await s.a.client.request(G('roomPush'), { room: 'dc', route: 'onRoom',
			msg: { coded: true } })).code, 200);
		const p = await s.a.client.waitPush('onRoom');
		assert.equal(p.compressed, true, 'onRoom is in config/dictionary.json');
		assert.equal((await s.a.client.request(G('pushTo'), { route: 'notInDict', msg: { plain: 1 },
			uids: [{ uid: 'dc-a', sid: s.a.session.frontendId }] })).code, 200);
		const q = await s.a.client.waitPush('notInDict');
		assert.equal(q.compressed, false);
		assert.deepEqual(q.body, { plain: 1 });
	} finally {
		s.close();
	}
});

test(`broadcast to every session, and to bound sessions only (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const s = await threeSessions(c, 'bc');
	try {
		const all = await s.u.client.request(G('broadcast'), { route: 'onBroadcast',
			msg: { to: 'everyone' } });
		assert.deepEqual(all, { code: 200 });
		for (const k of ['a', 'b', 'u']) {
			await s[k].client.waitPush('onBroadcast', { pred: (b) => b.to === 'everyone' });
		}
		const bound = await s.u.client.request(G('broadcast'), { route: 'onBroadcast',
			msg: { to: 'bound' }, binded: true });
		assert.deepEqual(bound, { code: 200 });
		for (const k of ['a', 'b']) {
			await s[k].client.waitPush('onBroadcast', { pred: (b) => b.to === 'bound' });
		}
		await sleep(400);
		assert.deepEqual(s.u.client.pushesOf('onBroadcast'), [{ to: 'everyone' }],
			'the unbound session got only the first broadcast');
		for (const k of ['a', 'b']) {
			assert.equal(s[k].client.pushesOf('onBroadcast').length, 2, `${k}: once each`);
		}
	} finally {
		s.close();
	}
});

// Pomelo's frontend sends a `binded` broadcast N times to each of a uid's N sessions
// (CLUSTER.md §6.3); shaddock sends it once per session.
test(`broadcast: once per session for a uid with two sessions (shaddock only, ${LABEL})`,
	{ ...opts, skip: opts.skip || (TIER !== 'shaddock' && 'Node connectors repeat it per session') },
	async () => {
		const c = ctx.cluster;
		const pair = await c.clientsOnOneFrontend(2);
		try {
			for (const v of pair) {
				assert.equal((await v.client.request(G('bind'), { uid: 'bc-twice' })).code, 200);
			}
			assert.deepEqual(await pair[0].client.request(G('broadcast'), { route: 'onBroadcast',
				msg: { to: 'twice' }, binded: true }), { code: 200 });
			for (const v of pair) {
				await v.client.waitPush('onBroadcast', { pred: (b) => b.to === 'twice' });
			}
			await sleep(400);
			for (const v of pair) {
				assert.equal(v.client.pushesOf('onBroadcast').filter((b) => b.to === 'twice').length, 1);
			}
		} finally {
			for (const v of pair) {
				v.client.close();
			}
		}
	});
