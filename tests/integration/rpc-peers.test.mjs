// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// A worker's pomelo-rpc acceptor (issue 12, point 7) against peers that are not well-behaved
// backends: a payload that is not JSON gets Pomelo's answer without an id, unknown namespaces,
// services and methods get the dispatcher's errors, PINGREQ gets PINGRESP, a packet over
// rpc_max_payload or bytes that are not MQTT close that connection, and each is counted. The
// session calls of a well-behaved one work (getBackendSessionBySid, kickBySid), and no client
// session notices the others. The cluster's master is not running: the worker keeps retrying it
// (show cluster says so) and serves meanwhile.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDaemon, stopAll } from './lib/daemon.mjs';
import { reservePort } from './lib/ports.mjs';
import { PomeloRawClient, PKG, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { withTimeout, waitFor } from './lib/util.mjs';
import { connect, publish, Framer, TYPE, PINGREQ } from '../cluster/lib/mqtt.mjs';

const daemons = [];
const open = [];
let d;
let rpcPort;
let noMaster;

after(async () => {
	for (const c of open) {
		c.destroy ? c.destroy() : c.close();
	}
	await stopAll(daemons);
	noMaster?.release();
});

// An MQTT connection to the worker's RPC port, collecting the packets it gets.
function peer() {
	return new Promise((resolve, reject) => {
		const s = net.connect({ host: '127.0.0.1', port: rpcPort });
		const framer = new Framer();
		s.packets = [];
		s.gone = false;
		s.on('data', (b) => s.packets.push(...framer.push(b)));
		s.on('close', () => {
			s.gone = true;
		});
		s.on('error', () => {});
		s.on('connect', () => {
			s.write(connect('test_rpc_peer'));
			resolve(s);
		});
		s.once('error', reject);
		open.push(s);
	});
}

async function answer(s, pred, what) {
	return waitFor(() => s.packets.find(pred), { timeout: 3000, what });
}

function rpcAnswers(s) {
	return s.packets.filter((p) => p.type === TYPE.PUBLISH && p.topic === 'rpc')
		.map((p) => JSON.parse(p.payload.toString('utf8')));
}

test('start a cluster member whose master is away', async () => {
	noMaster = await reservePort();
	d = await startDaemon({ workers: 1, sections: { cluster: { type: 'pomelo',
		master: `127.0.0.1:${noMaster.port}`, rpc_max_payload: '4k' } } });
	daemons.push(d);
	const cl = await waitFor(async () => {
		const c = await d.adminJson('show cluster');
		return c.workers?.[0]?.rpc_port > 0 ? c : false;
	}, { what: 'a worker with its RPC port' });
	assert.equal(cl.type, 'pomelo');
	assert.match(cl.workers[0].state, /waiting to reconnect|connecting/);
	assert.notEqual(cl.workers[0].last_error, '');
	rpcPort = cl.workers[0].rpc_port;
});

test('bad payloads get the dispatcher\'s errors; PINGREQ gets PINGRESP', async () => {
	const client = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true });
	open.push(client);
	const s = await peer();
	s.write(publish('rpc', 'not json'));
	s.write(publish('rpc', JSON.stringify({ id: 1, msg: { namespace: 'sys',
		service: 'sessionRemote', method: 'nope', args: [] } })));
	s.write(publish('rpc', JSON.stringify({ id: 2, msg: { namespace: 'sys',
		service: 'nosuch', method: 'x', args: [] } })));
	s.write(publish('rpc', JSON.stringify({ id: 3, msg: { namespace: 'weird',
		service: 'a', method: 'b' } })));
	s.write(publish('rpc', JSON.stringify({ id: 4, msg: { namespace: 'user',
		serverType: 'connector', service: 'probeRemote', method: 'echo', args: ['x'] } })));
	s.write(PINGREQ);
	await answer(s, (p) => p.type === TYPE.PINGRESP, 'PINGRESP');
	await waitFor(() => rpcAnswers(s).length === 5, { what: 'five answers' });
	const a = rpcAnswers(s);
	assert.equal(a[0].id, undefined, 'no id for a payload that is not JSON');
	assert.match(a[0].resp[0].stack, /^Error: /);
	assert.deepEqual(a[1], { id: 1, resp: [{ stack: 'Error: no such method:nope' }] });
	assert.deepEqual(a[2], { id: 2, resp: [{ stack: 'Error: no such service:nosuch' }] });
	assert.deepEqual(a[3], { id: 3, resp: [{ stack: 'Error: no such namespace:weird' }] });
	assert.deepEqual(a[4], { id: 4, resp: [{ stack: 'Error: no such service:probeRemote' }] });
	assert.equal(s.gone, false);
	// The client never noticed.
	const r = await client.request(ENTRY_ROUTE, {});
	assert.deepEqual(r.body, ENTRY_OK);
});

test('oversize packets and bytes that are not MQTT close that connection, counted', async () => {
	const client = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true });
	open.push(client);
	const before = await d.stat();
	const big = await peer();
	big.write(publish('rpc', JSON.stringify({ id: 9, pad: 'x'.repeat(8192) })));
	await waitFor(() => big.gone, { what: 'the oversize peer closed' });
	const junk = await peer();
	junk.write(Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5]));
	await waitFor(() => junk.gone, { what: 'the junk peer closed' });
	await waitFor(async () => (await d.stat()).cluster_bad_packets >=
		before.cluster_bad_packets + 2, { what: 'cluster_bad_packets counted' });
	assert.match(d.log(), /packet over the size limit: closing/);
	const r = await client.request(ENTRY_ROUTE, {});
	assert.deepEqual(r.body, ENTRY_OK);
});

test('a well-behaved backend: getBackendSessionBySid, bind, kickBySid', async () => {
	const client = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true });
	open.push(client);
	const sessions = await d.sessions();
	const mine = sessions.find((x) => x.peer.endsWith(`:${client.localPort}`));
	const sid = Number(mine.id);
	const s = await peer();
	const call = (id, method, args) => s.write(publish('rpc', JSON.stringify({ id,
		msg: { namespace: 'sys', service: 'sessionRemote', method, args } })));
	call(0, 'bind', [sid, 'rpc-user']);
	call(1, 'getBackendSessionBySid', [sid]);
	call(2, 'getBackendSessionBySid', [12345]);
	await waitFor(() => rpcAnswers(s).length === 3, { what: 'three answers' });
	const [bound, found, missing] = rpcAnswers(s);
	assert.deepEqual(bound, { id: 0, resp: [] });
	assert.deepEqual(found.resp[1], { id: sid, frontendId: found.resp[1].frontendId,
		uid: 'rpc-user', settings: {} });
	assert.match(found.resp[1].frontendId, /^connector-shaddock-0-1-\d+$/);
	assert.deepEqual(missing, { id: 2, resp: [] });
	const kick = client.next((p) => p.type === PKG.KICK, 3000, 'the kick');
	call(3, 'kickBySid', [sid, 'rpc says bye']);
	assert.deepEqual((await kick).json, { reason: 'rpc says bye' });
	await withTimeout(client.closedPromise, 3000, 'the kicked client to close');
});
