// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Sessions across workers (issue 5): the chatofpomelo-websocket routes with room members placed
// on both workers on purpose (each client reconnects until `show sessions` puts it on the worker
// it wants), the real pomelo-jsclient-websocket for one member and raw TCP for the others.
// Every push must reach exactly the right members, exactly once; kicks by uid and broadcasts
// reach every worker; a killed worker's members leave their channels while the others chat on;
// draining workers keep receiving channel pushes until they close.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, stopAll, findSession } from './lib/daemon.mjs';
import { createClient } from './lib/jsclient.mjs';
import { PomeloRawClient } from './lib/pomelo-raw.mjs';
import { sleep, waitFor } from './lib/util.mjs';

const ENTER = 'connector.entryHandler.enter';
const SEND = 'chat.chatHandler.send';
const QUERY = 'gate.gateHandler.queryEntry';
const daemons = [];
const open = [];

after(async () => {
	for (const c of open) {
		try {
			c.close ? c.close() : c.disconnect();
		} catch {
			// already closed
		}
	}
	await stopAll(daemons);
});

// A chat member: a client of either kind with the pushes it got, by route, in order.
class Member {
	constructor(name, kind, client, worker) {
		this.name = name;
		this.kind = kind;
		this.client = client;
		this.worker = worker;
		this.pushes = [];
		if (kind === 'raw') {
			client.onPush((m) => this.pushes.push({ route: m.route, body: m.body }));
		} else {
			for (const route of ['onAdd', 'onChat', 'onLeave', 'onNews']) {
				client.on(route, (body) => this.pushes.push({ route, body }));
			}
		}
	}

	request(route, body) {
		if (this.kind === 'raw') {
			return this.client.request(route, body).then((r) => r.body);
		}
		return this.client.request(route, body);
	}

	got(route) {
		return this.pushes.filter((p) => p.route === route).map((p) => p.body);
	}

	close() {
		if (this.kind === 'raw') {
			this.client.close();
		} else {
			this.client.disconnect();
		}
	}
}

// Connects (raw TCP or the jsclient over WebSocket) until the session lands on worker `slot`.
async function member(d, name, kind, slot) {
	for (let tries = 0; tries < 60; tries++) {
		let c;
		let port;
		if (kind === 'raw') {
			c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
			port = c.localPort;
		} else {
			c = createClient();
			await c.init({ host: '127.0.0.1', port: d.port });
			port = c.localPort();
		}
		const s = await findSession(d, port, { state: 'working' });
		if (s.worker === slot) {
			const m = new Member(name, kind, c, slot);
			open.push(m);
			return m;
		}
		kind === 'raw' ? c.close() : c.disconnect();
	}
	throw new Error(`no session of ${name} landed on worker ${slot} in 60 tries`);
}

async function enter(m, rid) {
	return m.request(ENTER, { username: m.name, rid });
}

// How long a test waits for pushes that must not come. A sleep on purpose: an absence can only
// be seen over time (a duplicate, or a push to the wrong member, would come within it).
const QUIET_MS = 100;

// Waits until `m` has `n` pushes on `route`, then QUIET_MS longer to catch duplicates.
async function expectPushes(m, route, n, what) {
	await waitFor(() => m.got(route).length >= n, { timeout: 3000, what });
	await sleep(QUIET_MS);
	assert.equal(m.got(route).length, n, `${m.name}: ${what}`);
}

test('a room with members on both workers: enter, send, leave', async () => {
	const d = await startDaemon({ workers: 2, connector: { heartbeat: '3s' } });
	daemons.push(d);

	const alice = await member(d, 'alice', 'js', 0);
	const bob = await member(d, 'bob', 'raw', 1);
	const carol = await member(d, 'carol', 'raw', 0);
	const dave = await member(d, 'dave', 'raw', 1);

	assert.deepEqual(await enter(alice, 'r1'), { users: ['alice'] });
	assert.deepEqual(await enter(bob, 'r1'), { users: ['alice', 'bob'] });
	assert.deepEqual(await enter(carol, 'r1'), { users: ['alice', 'bob', 'carol'] });
	// dave stays out of the room: he must hear nothing of it.
	assert.deepEqual(await d.adminJson('show channels'), { channels: [{ name: 'r1', members: 3,
		uids: ['alice*r1', 'bob*r1', 'carol*r1'] }] });

	// onAdd reaches the members already there, not the newcomer.
	await expectPushes(alice, 'onAdd', 2, 'onAdd for bob and carol');
	assert.deepEqual(alice.got('onAdd'), [{ route: 'onAdd', user: 'bob' },
		{ route: 'onAdd', user: 'carol' }]);
	await expectPushes(bob, 'onAdd', 1, 'onAdd for carol');
	assert.deepEqual(bob.got('onAdd'), [{ route: 'onAdd', user: 'carol' }]);
	assert.equal(carol.got('onAdd').length, 0);

	// A name already in the room is refused, as Pomelo does, on either worker.
	const eve = await member(d, 'eve', 'raw', 1);
	assert.deepEqual(await eve.request(ENTER, { username: 'alice', rid: 'r1' }),
		{ code: 500, error: true });

	// To everyone: each member once, the sender included.
	assert.deepEqual(await alice.request(SEND, { rid: 'r1', content: 'hi all', from: 'alice',
		target: '*' }), {});
	for (const m of [alice, bob, carol]) {
		await expectPushes(m, 'onChat', 1, 'the message to everyone');
		assert.deepEqual(m.got('onChat')[0], { msg: 'hi all', from: 'alice', target: '*' });
	}

	// To one user on the other worker: only that user.
	assert.deepEqual(await carol.request(SEND, { rid: 'r1', content: 'psst', from: 'carol',
		target: 'bob' }), {});
	await expectPushes(bob, 'onChat', 2, 'the private message');
	assert.deepEqual(bob.got('onChat')[1], { msg: 'psst', from: 'carol', target: 'bob' });
	await sleep(QUIET_MS);
	assert.equal(alice.got('onChat').length, 1, 'alice got the private message');
	assert.equal(carol.got('onChat').length, 1, 'carol got her own private message');

	// And from the jsclient to a raw client on the other worker.
	await alice.request(SEND, { rid: 'r1', content: 'to bob', from: 'alice', target: 'bob' });
	await expectPushes(bob, 'onChat', 3, 'alice to bob');
	assert.equal(carol.got('onChat').length, 1);

	// bob leaves: the others hear it once; dave and eve heard nothing at all.
	bob.close();
	await expectPushes(alice, 'onLeave', 1, 'onLeave for bob');
	await expectPushes(carol, 'onLeave', 1, 'onLeave for bob');
	assert.deepEqual(alice.got('onLeave')[0], { route: 'onLeave', user: 'bob' });
	assert.equal(dave.pushes.length, 0, `dave got ${JSON.stringify(dave.pushes)}`);
	assert.equal(eve.pushes.length, 0, `eve got ${JSON.stringify(eve.pushes)}`);

	// The gate answers with this server's address.
	assert.deepEqual(await dave.request(QUERY, { uid: 'dave' }),
		{ code: 200, host: '127.0.0.1', port: d.port });
	assert.deepEqual(await dave.request(QUERY, {}), { code: 500 });

	// Counters come with the workers' heartbeats, once a second.
	// Pushes: onAdd 3, onChat 3 + 1 + 1, onLeave 2.
	await waitFor(async () => {
		const s = await d.stat();
		return s.channels === 1 && s.channel_members === 2 && s.pushes === 10;
	}, { what: 'show stat: 1 channel, 2 members, 10 pushes' });
});

test('kick uid and broadcast reach sessions on every worker', async () => {
	const d = await startDaemon({ workers: 2, connector: { heartbeat: '3s' } });
	daemons.push(d);
	const a = await member(d, 'ann', 'raw', 0);
	const b = await member(d, 'ben', 'raw', 1);
	const c = await member(d, 'cat', 'js', 1);
	await enter(a, 'r2');
	await enter(b, 'r2');

	// broadcast: every session on both workers, in or out of a room.
	const res = await d.ctl(['broadcast', 'onNews', '{"n":1}']);
	assert.equal(res.code, 0, res.stderr);
	assert.equal(res.stdout.trim(), 'pushed to 3 sessions');
	for (const m of [a, b, c]) {
		await expectPushes(m, 'onNews', 1, 'the broadcast');
		assert.deepEqual(m.got('onNews')[0], { n: 1 });
	}

	// kick uid: the session on worker 1, then the one on worker 0, each with its reason.
	const kickB = b.client.next((p) => p.type === 5, 3000, 'a kick');
	let r = await d.ctl(['kick', 'uid', 'ben*r2', 'maintenance', 'window']);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual((await kickB).json, { reason: 'maintenance window' });
	await b.client.waitClose();
	const kickA = a.client.next((p) => p.type === 5, 3000, 'a kick');
	r = await d.ctl(['kick', 'uid', 'ann*r2']);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual((await kickA).json, { reason: 'kick' });
	await a.client.waitClose();
	r = await d.ctl(['kick', 'uid', 'nobody*r2']);
	assert.equal(r.code, 1);
	assert.match(r.stderr, /no such session/);
	// The room is gone with its members.
	await waitFor(async () => {
		const s = await d.stat();
		return s.channel_members === 0 && s.channels === 0;
	}, { what: 'no channel and no member left' });
	assert.deepEqual(await d.adminJson('show channels'), { channels: [] });
});

test('a worker killed with kill -9: its members leave, the others chat on', async () => {
	const d = await startDaemon({ workers: 2, connector: { heartbeat: '3s' } });
	daemons.push(d);
	const a = await member(d, 'amy', 'raw', 0);
	const b = await member(d, 'bea', 'raw', 0);
	const x = await member(d, 'xia', 'raw', 1);
	await enter(a, 'r3');
	await enter(b, 'r3');
	await enter(x, 'r3');
	const victim = (await d.workers()).find((w) => w.slot === 1 && w.state === 'ready');
	process.kill(victim.pid, 'SIGKILL');
	await x.client.waitClose();

	// The master sends the leave push of the dead worker's member.
	await expectPushes(a, 'onLeave', 1, 'onLeave for xia');
	assert.deepEqual(a.got('onLeave')[0], { route: 'onLeave', user: 'xia' });
	await waitFor(async () => {
		const list = await d.sessions();
		return list.every((s) => s.uid !== 'xia*r3') && list.length === 2;
	}, { what: 'xia gone from show sessions' });

	await a.request(SEND, { rid: 'r3', content: 'still here', target: '*' });
	await expectPushes(b, 'onChat', 1, 'the message after the kill');
	await expectPushes(a, 'onChat', 1, 'the message after the kill');
	// A newcomer on the respawned worker sees the room without xia, and can take the name.
	await waitFor(async () => (await d.readyWorkers()).length === 2, { what: 'the respawn' });
	const y = await member(d, 'xia', 'raw', 1);
	assert.deepEqual(await enter(y, 'r3'), { users: ['amy', 'bea', 'xia'] });
	await expectPushes(a, 'onAdd', 3, 'onAdd for bea, xia and the new xia');
});

test('reload: sessions on draining workers keep receiving channel pushes', async () => {
	const d = await startDaemon({ workers: 2, connector: { heartbeat: '3s' },
		server: { shutdown_timeout: '4s' } });
	daemons.push(d);
	const old1 = await member(d, 'o1', 'raw', 0);
	const old2 = await member(d, 'o2', 'js', 1);
	await enter(old1, 'r4');
	await enter(old2, 'r4');
	const r = await d.ctl(['reload']);
	assert.equal(r.code, 0, r.stderr);
	const draining = (await d.workers()).filter((w) => w.state === 'draining');
	assert.equal(draining.length, 2, 'both old workers drain');

	const fresh = await member(d, 'n1', 'raw', 0);
	assert.deepEqual(await enter(fresh, 'r4'), { users: ['o1', 'o2', 'n1'] });
	await fresh.request(SEND, { rid: 'r4', content: 'after reload', target: '*' });
	for (const m of [old1, old2, fresh]) {
		await expectPushes(m, 'onChat', 1, 'a push after the reload');
		assert.deepEqual(m.got('onChat')[0], { msg: 'after reload', from: 'n1', target: '*' });
	}
	// At shutdown_timeout the old sessions are kicked with "reload"; the room shrinks.
	const kick = old1.client.next((p) => p.type === 5, 8000, 'the reload kick');
	assert.deepEqual((await kick).json, { reason: 'reload' });
	await expectPushes(fresh, 'onLeave', 2, 'both old members leaving');
});
