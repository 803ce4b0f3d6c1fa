// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The session a connector holds, as game servers change it over sys.sessionRemote
// (CLUSTER.md §6.1): bind and unbind (and their errors), push and pushAll seen by later forwarded
// messages, getBackendSessionBySid and getBackendSessionsByUid, kick by sid and by uid (the
// client gets KICK with the reason), and the session-closed hook (game.roomRemote.leave with the
// exported session) when a bound session ends by a disconnect or a kick.
// CLUSTER_FRAMEWORK = pomelo | pinus, CLUSTER_TIER = node | shaddock (see README.md).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, LABEL, FRAMEWORK } from './lib/setup.mjs';
import { sleep } from '../integration/lib/util.mjs';

const ctx = useCluster();
const opts = { skip: ctx.skip, timeout: 60000 };
const G = (m) => `game.gameHandler.${m}`;

test(`enter binds the session and joins the room (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const a = await c.enter('s-ann', { room: 'sr1' });
	const b = await c.enter('s-ben', { room: 'sr1', kind: 'tcp' });
	try {
		assert.deepEqual(a.reply.members, ['s-ann']);
		assert.deepEqual(b.reply.members, ['s-ann', 's-ben']);
		assert.equal(a.session.uid, 's-ann');
		assert.deepEqual(a.session.settings, { room: 'sr1' });
		assert.equal(b.session.uid, 's-ben');
		const join = c.events('game-server-1').find((e) => e.type === 'join' && e.uid === 's-ben');
		assert.deepEqual({ uid: join.uid, frontendId: join.frontendId, room: join.room },
			{ uid: 's-ben', frontendId: b.session.frontendId, room: 'sr1' });
		assert.deepEqual((await a.client.waitPush('onJoin')).body, { uid: 's-ben', room: 'sr1' });
		const members = await a.client.request(G('members'), { room: 'sr1' });
		assert.deepEqual(members.members, [
			{ uid: 's-ann', sid: a.session.frontendId },
			{ uid: 's-ben', sid: b.session.frontendId },
		]);
	} finally {
		a.client.close();
		b.client.close();
	}
});

test(`bind and unbind from the game server, and their errors (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const client = await c.connect({ kind: 'ws', uid: 'binder' });
	try {
		assert.deepEqual(await client.request(G('bind'), { uid: 'u-bind' }), { code: 200, uid: 'u-bind' });
		let who = (await client.request(G('whoami'), {})).session;
		assert.equal(who.uid, 'u-bind', 'the next forwarded message carries the uid');
		assert.equal((await client.request(G('bind'), { uid: 'u-bind' })).code, 200, 'the same uid again');
		const other = await client.request(G('bind'), { uid: 'u-other' });
		assert.equal(other.code, 500);
		// Pomelo says "bind", Pinus "bound".
		assert.match(other.error, /session has already (bind|bound) with u-bind/);
		const wrong = await client.request(G('unbind'), { uid: 'u-other' });
		assert.equal(wrong.code, 500);
		assert.match(wrong.error, /session has not bind with/);
		assert.deepEqual(await client.request(G('unbind'), { uid: 'u-bind' }), { code: 200, uid: null });
		who = (await client.request(G('whoami'), {})).session;
		assert.equal(who.uid, null, 'unbound');
		assert.equal((await client.request(G('bind'), { uid: 'u-second' })).code, 200, 'bind again');
		assert.equal((await client.request(G('whoami'), {})).session.uid, 'u-second');
	} finally {
		client.close();
	}
});

test(`push and pushAll are seen by later forwarded messages (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const client = await c.connect({ kind: 'tcp', uid: 'settings' });
	try {
		assert.deepEqual(await client.request(G('set'), { key: 'level', value: 7 }), { code: 200 });
		let who = (await client.request(G('whoami'), {})).session;
		assert.deepEqual(who.settings, { level: 7 });
		const more = { name: 'zed', obj: { a: [1, 2], b: null }, n: 1.5, flag: false };
		assert.deepEqual(await client.request(G('setAll'), { settings: more }), { code: 200 });
		who = (await client.request(G('whoami'), {})).session;
		assert.deepEqual(who.settings, { level: 7, ...more }, 'pushAll merges');
		assert.deepEqual(await client.request(G('set'), { key: 'level', value: 8 }), { code: 200 });
		who = (await client.request(G('whoami'), {})).session;
		assert.deepEqual(who.settings, { level: 8, ...more });
		// Another session does not see them.
		const other = await c.connect({ kind: 'ws', uid: 'settings-2' });
		try {
			assert.deepEqual((await other.request(G('whoami'), {})).session.settings, {});
		} finally {
			other.close();
		}
	} finally {
		client.close();
	}
});

test(`getBackendSessionBySid and getBackendSessionsByUid (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const [x, y] = await c.clientsOnOneFrontend(2);
	try {
		const fid = x.session.frontendId;
		for (const v of [x, y]) {
			assert.equal((await v.client.request(G('bind'), { uid: 'u-twice' })).code, 200);
		}
		assert.equal((await x.client.request(G('set'), { key: 'k', value: 'vx' })).code, 200);
		const one = await y.client.request(G('getSession'), { frontendId: fid, sid: x.session.id });
		assert.deepEqual(one, { code: 200, session: { id: x.session.id, frontendId: fid,
			uid: 'u-twice', settings: { k: 'vx' } } });
		const none = await y.client.request(G('getSession'), { frontendId: fid, sid: 999999 });
		assert.deepEqual(none, { code: 200, session: null }, 'an unknown sid');
		const both = await y.client.request(G('getSessions'), { frontendId: fid, uid: 'u-twice' });
		assert.equal(both.code, 200);
		assert.deepEqual(both.sessions.map((s) => s.id).sort((p, q) => p - q),
			[x.session.id, y.session.id].sort((p, q) => p - q));
		for (const s of both.sessions) {
			assert.equal(s.frontendId, fid);
			assert.equal(s.uid, 'u-twice');
		}
		const nobody = await y.client.request(G('getSessions'), { frontendId: fid, uid: 'nobody' });
		assert.deepEqual(nobody, { code: 200, sessions: null }, 'an unknown uid');
	} finally {
		x.client.close();
		y.client.close();
	}
});

test(`kick by sid: KICK with the reason, then the session-closed hook (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const victim = await c.enter('k-sid', { room: 'kr', kind: 'tcp' });
	const plain = await c.enter('k-sid-2', { room: 'kr2' });
	const boss = await c.connect({ kind: 'ws', uid: 'k-boss' });
	try {
		const res = await boss.request(G('kickSid'), { frontendId: victim.session.frontendId,
			sid: victim.session.id, reason: 'bye-sid' });
		assert.deepEqual(res, { code: 200 });
		assert.deepEqual(await victim.client.waitKick(), { reason: 'bye-sid' });
		await victim.client.waitClose();
		const ev = await c.waitEvent((e) => e.type === 'leave' && e.session.uid === 'k-sid',
			{ what: 'roomRemote.leave for the kicked session' });
		assert.deepEqual(ev.session, victim.session, 'the hook gets the exported session');
		assert.deepEqual(await boss.request(G('kickSid'), { frontendId: plain.session.frontendId,
			sid: plain.session.id }), { code: 200 });
		await plain.client.waitClose();
		if (FRAMEWORK === 'pomelo') {
			assert.deepEqual(plain.client.kicks, [{ reason: 'kick' }], 'the default reason');
		} else {
			// Pinus sends KICK only with a reason string: none here, the connection just closes.
			assert.ok(plain.client.kicks.every((k) => k.reason === 'kick'));
		}
		assert.deepEqual(await boss.request(G('kickSid'), { frontendId: plain.session.frontendId,
			sid: 999999 }), { code: 200 }, 'an unknown sid is fine');
	} finally {
		victim.client.close();
		plain.client.close();
		boss.close();
	}
});

test(`kick by uid: every session of the uid on that frontend (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const pair = await c.clientsOnOneFrontend(2, { kind: 'tcp' });
	const boss = await c.connect({ kind: 'ws', uid: 'u-boss' });
	try {
		for (const v of pair) {
			const r = await v.client.request('connector.entryHandler.enter', { uid: 'u-kicked',
				room: 'ukr' });
			assert.equal(r.code, 200);
		}
		const fid = pair[0].session.frontendId;
		assert.deepEqual(await boss.request(G('kickUid'), { frontendId: fid, uid: 'u-kicked',
			reason: 'bye-uid' }), { code: 200 });
		for (const v of pair) {
			assert.deepEqual(await v.client.waitKick(), { reason: 'bye-uid' });
			await v.client.waitClose();
		}
		for (const v of pair) {
			await c.waitEvent((e) => e.type === 'leave' && e.session.id === v.session.id &&
				e.session.frontendId === fid, { what: `the hook for session ${v.session.id}` });
		}
		assert.deepEqual(await boss.request(G('kickUid'), { frontendId: fid, uid: 'nobody' }),
			{ code: 200 }, 'an unknown uid is fine');
	} finally {
		for (const v of pair) {
			v.client.close();
		}
		boss.close();
	}
});

test(`app.sysrpc.connector proxies reach the connector tier (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const v = await c.enter('u-sysrpc', { kind: 'tcp', room: 'sr' });
	const boss = await c.connect({ kind: 'ws', uid: 'u-boss2' });
	try {
		assert.deepEqual(await boss.request(G('sysrpcKick'), { frontendId: v.session.frontendId,
			uid: 'u-sysrpc' }), { code: 200 });
		assert.deepEqual(await v.client.waitKick(), { reason: 'via sysrpc' });
	} finally {
		v.client.close();
		boss.close();
	}
});

test(`the session-closed hook runs when a bound client disconnects (${LABEL})`, opts, async () => {
	const c = ctx.cluster;
	const stay = await c.enter('h-stay', { room: 'hr' });
	const go = await c.enter('h-go', { room: 'hr', kind: 'tcp' });
	const unbound = await c.connect({ kind: 'ws', uid: 'h-unbound' });
	const unboundSession = (await unbound.request(G('whoami'), {})).session;
	try {
		go.client.close();
		const ev = await c.waitEvent((e) => e.type === 'leave' && e.session.uid === 'h-go',
			{ what: 'roomRemote.leave for the closed session' });
		assert.deepEqual(ev.session, go.session);
		assert.deepEqual((await stay.client.waitPush('onLeave')).body, { uid: 'h-go', room: 'hr' });
		unbound.close();
		await sleep(500);
		assert.ok(!c.events().some((e) => e.type === 'leave' && e.session.id === unboundSession.id &&
			e.session.frontendId === unboundSession.frontendId), 'no hook for an unbound session');
		const members = await stay.client.request(G('members'), { room: 'hr' });
		assert.deepEqual(members.members.map((m) => m.uid), ['h-stay']);
	} finally {
		stay.client.close();
	}
});
