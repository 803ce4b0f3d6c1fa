// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// TLS certificates and ticket keys over time (issue 11). A reload with a new certificate: a
// connection opened before keeps working (on its draining worker, with its certificate), one
// opened after sees the new certificate, a ticket issued before the reload resumes on the new
// generation; a reload with a key that does not match fails, changes nothing, and the current
// certificate still serves. Ticket-key rotation reaches running workers: after several
// rotations a worker respawned with the master's current ring resumes a ticket a long-running
// worker has just issued, and the other way round (a worker that missed the rotations would
// encrypt under a key the ring has dropped).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startDaemon, findSession } from './lib/daemon.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { TestPki, tlsListener } from './lib/tls-certs.mjs';
import { freePort, waitFor } from './lib/util.mjs';

const daemons = [];
const open = [];
let pki;
let live;

after(async () => {
	for (const c of open) {
		c.close();
	}
	for (const d of daemons) {
		await d.stop();
	}
	pki?.remove();
});

// Serves `cert` at the configured paths (what an operator's certificate renewal does).
function install(cert) {
	fs.copyFileSync(cert.cert, live.cert);
	fs.copyFileSync(cert.key, live.key);
}

async function tlsClient(d, session) {
	const c = await PomeloRawClient.open({ port: d.port, tls: { ca: pki.caPem, session } });
	open.push(c);
	return c;
}

function peerCn(c) {
	return c.socket.getPeerCertificate().subject.CN;
}

test('reload with a new certificate; a reload with a mismatched key fails', async () => {
	pki = await TestPki.create();
	const first = await pki.server('first');
	const second = await pki.server('second');
	const third = await pki.server('third');
	live = { cert: pki.file('live.pem'), key: pki.file('live.key') };
	install(first);
	const port = await freePort();
	const d = await startDaemon({
		workers: 1,
		server: { shutdown_timeout: '30s' },
		listeners: { main: tlsListener(`127.0.0.1:${port}`, live, 'on') },
		connector: { heartbeat: '0', idle_timeout: '0' },
	});
	daemons.push(d);
	d.port = port;

	const before = await tlsClient(d);
	assert.equal(peerCn(before), 'first.test');
	assert.deepEqual((await before.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	const ticket = before.socket.getSession();

	install(second);
	const ok = await d.ctl(['reload']);
	assert.equal(ok.code, 0, `reload failed: ${ok.stdout}${ok.stderr}`);
	assert.match(ok.stdout, /generation 2/);

	// The connection from before keeps working, on its (draining) worker.
	assert.deepEqual((await before.request(ENTRY_ROUTE, { after: 'reload' })).body, ENTRY_OK);
	assert.equal(before.closed, false);
	const after1 = await tlsClient(d);
	assert.equal(peerCn(after1), 'second.test');
	assert.deepEqual((await after1.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	const { listeners } = await d.adminJson('show listeners');
	assert.equal(listeners[0].subject, 'CN=second.test');

	// A ticket issued by generation 1 resumes on generation 2.
	const resumed = await tlsClient(d, ticket);
	assert.equal(resumed.socket.isSessionReused(), true, 'the ticket did not resume');
	const s = await findSession(d, resumed.localPort, { state: 'working' });
	const w = (await d.workers()).find((x) => x.slot === s.worker && x.state === 'ready');
	assert.equal(w.generation, 2);

	// A key that does not match: the reload fails and changes nothing.
	fs.copyFileSync(third.key, live.key);
	const bad = await d.ctl(['reload']);
	assert.notEqual(bad.code, 0, 'a reload with a mismatched key succeeded');
	assert.match(bad.stdout + bad.stderr, /tls_key: .*does not match the certificate/);
	assert.match(d.log(), /reload: .*shaddock\.conf:\d+: tls_key: .*does not match/);
	assert.equal((await d.adminJson('show info')).generation, 2);
	const after2 = await tlsClient(d);
	assert.equal(peerCn(after2), 'second.test');
	assert.deepEqual((await after2.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	assert.deepEqual((await before.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	assert.deepEqual((await after1.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
});

// A fresh TLS session landing on worker `slot` (bounded tries): { client, session }.
async function onSlot(d, slot, session) {
	for (let i = 0; i < 60; i++) {
		const c = await tlsClient(d, session);
		const s = await findSession(d, c.localPort, { state: 'working' });
		if (s.worker === slot) {
			return { client: c, session: c.socket.getSession() };
		}
		c.close();
	}
	throw new Error(`60 connections never landed on worker ${slot}`);
}

function rotations(d) {
	return (d.log().match(/TLS session-ticket keys rotated/g) ?? []).length;
}

test('key rotations reach running workers: tickets cross to a respawned worker', async () => {
	assert.ok(pki, 'no test PKI');
	const server = await pki.server('rotation');
	const port = await freePort();
	const d = await startDaemon({
		workers: 2,
		server: { tls_ticket_rotation: '2s' },
		listeners: { main: tlsListener(`127.0.0.1:${port}`, server, 'on') },
	});
	daemons.push(d);
	d.port = port;
	await waitFor(() => rotations(d) >= 3, { timeout: 10000, interval: 100,
		what: 'three key rotations' });
	const old = (await d.workers()).find((w) => w.slot === 1);
	process.kill(old.pid, 'SIGKILL');
	await waitFor(async () => (await d.readyWorkers()).some((w) => w.slot === 1 &&
		w.pid !== old.pid), { timeout: 10000, what: 'worker 1 respawned' });
	for (const [from, to] of [[0, 1], [1, 0]]) {
		const a = await onSlot(d, from);
		a.client.close();
		const b = await onSlot(d, to, a.session);
		assert.equal(b.client.socket.isSessionReused(), true,
			`a ticket from worker ${from} did not resume on worker ${to}`);
		assert.deepEqual((await b.client.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
		b.client.close();
	}
});
