// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// TLS on the client port (issue 11), over every carrier a game client uses: raw Pomelo over TLS
// with Node's `tls` module, wss:// with the npm `ws` client, the real pomelo-jsclient-websocket
// given a WebSocket that dials wss://, and `openssl s_client`. Each does the handshake, a
// request, heartbeats both ways, a push (admin broadcast) and a kick (admin kick uid), and shows
// in `show sessions` as TLS. Then `tls = optional`: plain TCP, plain WebSocket, TLS TCP and wss://
// on one port at once; `show listeners`; and session resumption across the two workers: a
// ticket issued by one worker resumes on the other (Node's `session` option and
// `openssl s_client -sess_out/-sess_in`), counted in tls_resumptions. Certificates come from a
// throw-away CA made with the openssl command (lib/tls-certs.mjs).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startDaemon, findSession } from './lib/daemon.mjs';
import { createClient } from './lib/jsclient.mjs';
import { PomeloRawClient, PKG, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { wsSocket, sClientSocket } from './lib/stream-socket.mjs';
import { TestPki, tlsListener } from './lib/tls-certs.mjs';
import { freePort, run, waitFor, withTimeout } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const ENTER = 'connector.entryHandler.enter';
let d;
let pki;
let server;
let optPort;
const open = [];

after(async () => {
	for (const c of open) {
		try {
			c.close ? c.close() : c.disconnect();
		} catch {
			// already closed
		}
	}
	await d?.stop();
	pki?.remove();
});

function track(c) {
	open.push(c);
	return c;
}

async function handshaken(socket, opts = {}) {
	const c = track(new PomeloRawClient(socket, opts));
	c.handshakeReply = await c.handshake();
	assert.equal(c.handshakeReply.code, 200, JSON.stringify(c.handshakeReply));
	c.ack();
	return c;
}

// The four carriers, each resolving a PomeloRawClient in WORKING state.
const carriers = {
	async 'node tls'(port) {
		return track(await PomeloRawClient.open({ port, tls: { ca: pki.caPem } }));
	},
	async 'ws wss://'(port) {
		const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca: pki.caPem });
		return handshaken(await wsSocket(ws));
	},
	async 'openssl s_client'(port) {
		const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
			'-CAfile', pki.caCert, '-verify_return_error', '-quiet', '-nocommands'],
		{ stdio: ['pipe', 'pipe', 'ignore'] });
		return handshaken(sClientSocket(child));
	},
};

test('start: 2 workers, a tls = on and a tls = optional listener', async () => {
	pki = await TestPki.create();
	server = await pki.server('first');
	const port = await freePort();
	optPort = await freePort();
	d = await startDaemon({
		workers: 2,
		listeners: {
			main: tlsListener(`127.0.0.1:${port}`, server, 'on'),
			opt: tlsListener(`127.0.0.1:${optPort}`, server, 'optional'),
		},
		connector: { heartbeat: '1s', handshake_timeout: '3s' },
	});
	d.port = port;
});

// Heartbeats both ways, a request, a push and a kick over `c`, known as `name`.
async function exercise(c, name, transport) {
	await c.nextOfType(PKG.HEARTBEAT, 3000);
	const before = c.count(PKG.HEARTBEAT);
	c.sendHeartbeat();
	await waitFor(() => c.count(PKG.HEARTBEAT) > before, { timeout: 3000,
		what: 'the answer to a client heartbeat' });
	assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	const entered = await c.request(ENTER, { username: name, rid: 'tls' });
	assert.ok(Array.isArray(entered.body?.users), JSON.stringify(entered.body));
	const uid = `${name}*tls`;
	const sessions = await d.sessions();
	const s = sessions.find((x) => x.uid === uid);
	assert.ok(s, `no session with uid ${uid} in ${JSON.stringify(sessions)}`);
	assert.equal(s.xprt, 'tls');
	assert.equal(s.transport, transport);
	const push = new Promise((resolve) => c.onPush((m) => m.route === 'onNews' && resolve(m)));
	assert.match(await d.admin(`broadcast onNews {"to":"${name}"}`), /^pushed to \d+ session/);
	assert.deepEqual((await withTimeout(push, 3000, 'the push')).body, { to: name });
	const kick = new Promise((resolve) => c.onKick(resolve));
	await d.admin(`kick uid ${uid} bye-${name}`);
	assert.deepEqual(await withTimeout(kick, 3000, 'the kick'), { reason: `bye-${name}` });
	await c.waitClose(3000);
}

for (const [name, make] of Object.entries(carriers)) {
	test(`${name}: handshake, heartbeats, request, push and kick over TLS`, async () => {
		assert.ok(d, 'the daemon did not start');
		const c = await make(d.port);
		await exercise(c, name.replace(/[^a-z]/g, ''), name.startsWith('ws') ? 'ws' : 'tcp');
	});
}

test('pomelo-jsclient-websocket over wss://: init, request, heartbeats, push, kick', async () => {
	assert.ok(d, 'the daemon did not start');
	const c = track(createClient({ tls: { ca: pki.caPem } }));
	await c.init({ host: '127.0.0.1', port: d.port });
	assert.match(c.socket().url, /^wss:\/\//);
	assert.deepEqual(await c.request(ENTRY_ROUTE, 'hello pomelo'), ENTRY_OK);
	const s = await findSession(d, c.localPort(), { state: 'working' });
	assert.equal(s.xprt, 'tls');
	assert.equal(s.transport, 'ws');
	await waitFor(() => c.frames.filter((f) => f.dir === 'out' && f.type === PKG.HEARTBEAT)
		.length >= 1 && c.frames.filter((f) => f.dir === 'in' && f.type === PKG.HEARTBEAT)
		.length >= 2, { timeout: 4000, what: 'heartbeats both ways' });
	const news = c.waitEvent('onNews', 3000);
	await d.admin('broadcast onNews {"to":"jsclient"}');
	assert.deepEqual(await news, { to: 'jsclient' });
	const kicked = c.waitEvent('onKick', 3000);
	const closed = c.waitEvent('close', 3000);
	await d.admin(`kick session ${s.id} maintenance`);
	assert.deepEqual(await kicked, { reason: 'maintenance' });
	assert.equal((await closed).code, 1000, 'the WebSocket did not end with close 1000');
});

test('tls = optional: plain TCP, ws://, TLS TCP and wss:// on one port at once', async () => {
	assert.ok(d, 'the daemon did not start');
	const clients = {
		plain: track(await PomeloRawClient.open({ port: optPort })),
		ws: await handshaken(await wsSocket(new WebSocket(`ws://127.0.0.1:${optPort}/`))),
		tls: track(await PomeloRawClient.open({ port: optPort, tls: { ca: pki.caPem } })),
		wss: await handshaken(await wsSocket(new WebSocket(`wss://127.0.0.1:${optPort}/`,
			{ ca: pki.caPem }))),
	};
	const want = {
		plain: ['plain', 'tcp'], ws: ['plain', 'ws'], tls: ['tls', 'tcp'], wss: ['tls', 'ws'],
	};
	await Promise.all(Object.values(clients).map(async (c) => {
		for (let i = 0; i < 3; i++) {
			assert.deepEqual((await c.request(ENTRY_ROUTE, { i })).body, ENTRY_OK);
		}
	}));
	for (const [name, c] of Object.entries(clients)) {
		const s = await findSession(d, c.localPort, { state: 'working' });
		assert.deepEqual([s.xprt, s.transport], want[name], `${name}: ${JSON.stringify(s)}`);
	}
	const text = await d.admin('show sessions');
	assert.match(text, /^id +uid +worker +transport +xprt +peer +state /m);
	assert.match(text, / ws +tls +127\.0\.0\.1:/);
	assert.match(text, / tcp +tls +127\.0\.0\.1:/);
	for (const c of Object.values(clients)) {
		c.close();
	}
});

test('show listeners: TLS mode, certificate subject and expiry', async () => {
	assert.ok(d, 'the daemon did not start');
	const { listeners } = await d.adminJson('show listeners');
	const byName = Object.fromEntries(listeners.map((l) => [l.name, l]));
	assert.equal(byName.main.tls, 'on');
	assert.equal(byName.opt.tls, 'optional');
	assert.equal(byName.main.subject, 'CN=first.test');
	assert.match(byName.main.expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
	assert.ok(byName.main.days_left >= 29 && byName.main.days_left <= 30,
		JSON.stringify(byName.main));
	const text = await d.admin('show listeners');
	assert.match(text, /^name +address +sockets +shared +systemd +tls +subject +expires +days_left$/m);
	assert.match(text, /^main +127\.0\.0\.1:\d+ +2 +no +no +on +CN=first\.test +\d{4}-\d\d-\d\dT\S+Z +(29|30)$/m);
});

// A TLS connection resolving { reused, session, slot } once it is a working Pomelo session. The
// server's ticket (sent right after the TLS handshake) came before the Pomelo handshake reply,
// so getSession() holds it by then.
async function tlsSession(port, session) {
	const c = track(await PomeloRawClient.open({ port, tls: { ca: pki.caPem, session } }));
	const s = await findSession(d, c.localPort, { state: 'working' });
	const r = { reused: c.socket.isSessionReused(), session: c.socket.getSession(),
		slot: s.worker };
	c.close();
	return r;
}

test('resumption: a ticket from one worker resumes on the other', async () => {
	assert.ok(d, 'the daemon did not start');
	const before = (await d.stat()).tls_resumptions;
	const first = await tlsSession(d.port);
	assert.equal(first.reused, false);
	const seen = new Set();
	let resumed = 0;
	for (let i = 0; i < 40 && !seen.has(1 - first.slot); i++) {
		const r = await tlsSession(d.port, first.session);
		assert.equal(r.reused, true, `connection ${i} (worker ${r.slot}) did not resume`);
		seen.add(r.slot);
		resumed++;
	}
	assert.ok(seen.has(1 - first.slot),
		`40 connections never reached worker ${1 - first.slot}`);
	await waitFor(async () => (await d.stat()).tls_resumptions >= before + resumed,
		{ timeout: 3000, what: 'tls_resumptions to count them' });
});

test('resumption with openssl s_client -sess_out / -sess_in', async () => {
	assert.ok(d, 'the daemon did not start');
	const sess = pki.file('s_client.sess');
	const base = ['s_client', '-connect', `127.0.0.1:${d.port}`, '-CAfile', pki.caCert];
	// The ticket comes after the handshake: keep s_client open until it has saved it.
	const child = spawn('openssl', [...base, '-sess_out', sess], { stdio: ['pipe', 'pipe', 'ignore'] });
	let out = '';
	child.stdout.on('data', (chunk) => {
		out += chunk;
	});
	const exited = new Promise((resolve) => child.on('close', resolve));
	try {
		await waitFor(() => fs.existsSync(sess) && fs.statSync(sess).size > 0,
			{ timeout: 5000, what: 's_client to save the session' });
	} finally {
		child.stdin.end();
		await withTimeout(exited, 5000, 's_client to exit').catch(() => child.kill('SIGKILL'));
	}
	assert.match(out, /^New, TLSv1\.3/m, out);
	let again;
	for (let i = 0; i < 3; i++) {
		again = await run('openssl', [...base, '-sess_in', sess], { input: '', timeout: 10000 });
		assert.match(again.stdout, /^Reused, TLSv1\.3/m, again.stdout);
	}
});
