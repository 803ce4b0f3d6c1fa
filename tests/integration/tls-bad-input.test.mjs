// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// TLS input that must fail (issue 11): garbage after a 0x16 byte, a truncated ClientHello, a
// ClientHello dribbled one byte a second (closed by handshake_timeout), a TLS 1.0-only client and
// plain HTTP on a TLS port: each is closed, counted (tls_errors or handshake_timeouts), logged
// once at info, and a witness TLS session on the same worker never notices. Then `shaddockd -t`
// on bad certificates: each error is FILE:LINE: directive: reason at the directive's line, and a
// certificate that expires within 14 days is a warning.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startDaemon, buildConfig, checkConfig } from './lib/daemon.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';
import { TestPki, tlsListener } from './lib/tls-certs.mjs';
import { freePort, sleep, waitFor } from './lib/util.mjs';

let d;
let pki;
let server;
let witness;
let optPort;
let clientHello;

after(async () => {
	witness?.close();
	await d?.stop();
	pki?.remove();
});

// The first bytes a real TLS client sends: its ClientHello, caught by a plain TCP server.
async function captureClientHello() {
	const srv = net.createServer();
	const got = new Promise((resolve) => {
		srv.on('connection', (s) => s.once('data', (chunk) => {
			resolve(chunk);
			s.destroy();
		}));
	});
	await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
	const c = tls.connect({ port: srv.address().port, host: '127.0.0.1',
		rejectUnauthorized: false });
	c.on('error', () => {});
	const hello = await got;
	c.destroy();
	srv.close();
	return hello;
}

test('start: one worker, a tls = on and a tls = optional listener, handshake_timeout 3s',
	async () => {
		pki = await TestPki.create();
		server = await pki.server('bad');
		const port = await freePort();
		optPort = await freePort();
		d = await startDaemon({
			workers: 1,
			listeners: {
				main: tlsListener(`127.0.0.1:${port}`, server, 'on'),
				opt: tlsListener(`127.0.0.1:${optPort}`, server, 'optional'),
			},
			connector: { heartbeat: '1s', handshake_timeout: '3s' },
		});
		d.port = port;
		witness = await PomeloRawClient.open({ port, tls: { ca: pki.caPem },
			autoHeartbeat: true });
		clientHello = await captureClientHello();
		assert.equal(clientHello[0], 0x16);
		assert.ok(clientHello.length > 100, `ClientHello of ${clientHello.length} bytes`);
	});

async function counter(name) {
	return (await d.stat())[name];
}

async function countedOnce(name, before) {
	await waitFor(async () => (await counter(name)) >= before + 1, { timeout: 3000,
		what: `${name} to count it` });
	await sleep(1100);	// one more heartbeat: counted once, not more
	assert.equal(await counter(name), before + 1, `${name} counted more than once`);
}

async function assertWitness() {
	assert.equal(witness.closed, false, 'the witness session was closed');
	assert.deepEqual((await witness.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
}

// Opens a plain TCP connection to `port`, writes `bytes` (then FIN when `end`), and resolves
// the milliseconds until the server closed it.
async function sendAndWaitClose(port, bytes, { end = false, timeout = 6000 } = {}) {
	const s = net.connect({ port, host: '127.0.0.1' });
	s.on('error', () => {});
	s.on('data', () => {});
	await new Promise((resolve) => s.once('connect', resolve));
	const t0 = performance.now();
	const closed = new Promise((resolve) => s.once('close', () => resolve(performance.now() - t0)));
	s.write(bytes);
	if (end) {
		s.end();
	}
	const timer = setTimeout(() => s.destroy(), timeout);
	const ms = await closed;
	clearTimeout(timer);
	return ms;
}

function tlsFailedLines() {
	return (d.log().match(/TLS handshake failed: /g) ?? []).length;
}

const cases = {
	'garbage after 0x16': () => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]),
		Buffer.alloc(32, 0x41)]),
	'a truncated ClientHello, then FIN': () => clientHello.subarray(0, 60),
	'plain HTTP on a TLS port': () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
};

for (const [name, bytes] of Object.entries(cases)) {
	test(`${name}: closed at once, counted in tls_errors, logged once`, async () => {
		assert.ok(d, 'the daemon did not start');
		const before = await counter('tls_errors');
		const lines = tlsFailedLines();
		const ms = await sendAndWaitClose(d.port, bytes(), { end: name.includes('FIN') });
		assert.ok(ms < 2000, `closed after ${ms} ms: by the timeout, not the error`);
		await countedOnce('tls_errors', before);
		assert.equal(tlsFailedLines(), lines + 1, 'not exactly one log line');
		await assertWitness();
	});
}

test('garbage after 0x16 on a tls = optional port goes to TLS and fails there', async () => {
	assert.ok(d, 'the daemon did not start');
	const before = await counter('tls_errors');
	const ms = await sendAndWaitClose(optPort, cases['garbage after 0x16']());
	assert.ok(ms < 2000, `closed after ${ms} ms`);
	await countedOnce('tls_errors', before);
	await assertWitness();
});

test('a ClientHello dribbled one byte a second is closed by handshake_timeout', async () => {
	assert.ok(d, 'the daemon did not start');
	const before = await counter('handshake_timeouts');
	const s = net.connect({ port: d.port, host: '127.0.0.1' });
	s.on('error', () => {});
	await new Promise((resolve) => s.once('connect', resolve));
	const t0 = performance.now();
	let closedAt = null;
	s.once('close', () => {
		closedAt = performance.now() - t0;
	});
	for (let i = 0; i < 8 && closedAt === null; i++) {
		s.write(clientHello.subarray(i, i + 1));
		await sleep(1000);
	}
	s.destroy();
	assert.ok(closedAt !== null, 'still open after 8 s');
	assert.ok(closedAt > 2500 && closedAt < 5000, `closed after ${closedAt} ms (timeout 3 s)`);
	await countedOnce('handshake_timeouts', before);
	assert.match(d.log(), /no handshake within 3000 ms/);
	await assertWitness();
});

test('a TLS 1.0-only client is refused: counted, logged, the witness unaffected', async () => {
	assert.ok(d, 'the daemon did not start');
	const before = await counter('tls_errors');
	const err = await new Promise((resolve) => {
		const c = tls.connect({ port: d.port, host: '127.0.0.1', ca: pki.caPem,
			minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
		c.on('secureConnect', () => {
			c.destroy();
			resolve(null);
		});
		c.on('error', resolve);
	});
	assert.ok(err, 'a TLS 1.0 handshake succeeded');
	assert.match(String(err.message), /protocol version|unsupported protocol|alert/i);
	await countedOnce('tls_errors', before);
	assert.match(d.log(), /TLS handshake failed: unsupported protocol/);
	await assertWitness();
});

// `shaddockd -t` on a config whose listener serves `cert` and `key`.
function tlsConfig(cert, key, extra = {}) {
	return buildConfig({
		dir: pki.dir,
		listeners: { main: { address: '127.0.0.1:1', tls: 'on', tls_certificate: cert,
			tls_key: key, ...extra } },
	});
}

function lineOf(text, key) {
	return text.split('\n').findIndex((l) => l.startsWith(`${key} =`)) + 1;
}

test('-t: expired, mismatched, unreadable and garbage certificates are FILE:LINE errors',
	async () => {
		assert.ok(pki, 'no test PKI');
		const expired = await pki.server('expired', { from: new Date(Date.now() - 10 * 86400e3),
			to: new Date(Date.now() - 86400e3) });
		const other = await pki.key('other');
		const garbage = pki.file('garbage.pem');
		fs.writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n');
		const checks = [
			[expired.cert, expired.key, {}, 'tls_certificate', /expired on \d{4}-/],
			[server.cert, other, {}, 'tls_key', /does not match the certificate in /],
			[pki.file('missing.pem'), server.key, {}, 'tls_certificate',
				/cannot open .*missing\.pem: No such file/],
			[garbage, server.key, {}, 'tls_certificate', /no PEM certificate could be read/],
			[server.cert, server.key, { tls_ciphers: 'NOPE' }, 'tls_ciphers',
				/no usable cipher/],
			[server.cert, server.key, { tls_protocols: 'TLSv1.1' }, 'tls_protocols',
				/"TLSv1\.1" is not a protocol/],
		];
		for (const [cert, key, extra, field, why] of checks) {
			const text = tlsConfig(cert, key, extra);
			const r = await checkConfig(text);
			assert.equal(r.code, 1, `${field}: -t passed:\n${r.stderr}`);
			const m = r.stderr.match(new RegExp(`check\\.conf:(\\d+): ${field}: (.*)`));
			assert.ok(m, `no "${field}" error in:\n${r.stderr}`);
			assert.equal(Number(m[1]), lineOf(text, field), r.stderr);
			assert.match(m[2], why);
		}
		const noCert = buildConfig({ dir: pki.dir,
			listeners: { main: { address: '127.0.0.1:1', tls: 'optional' } } });
		const r = await checkConfig(noCert);
		assert.equal(r.code, 1);
		assert.match(r.stderr, new RegExp(`check\\.conf:${lineOf(noCert, 'tls')}: ` +
			'\\[listener main\\] tls = optional needs tls_certificate'));
	});

test('-t: a certificate expiring within 14 days passes with a warning', async () => {
	assert.ok(pki, 'no test PKI');
	const soon = await pki.server('soon', { to: new Date(Date.now() + 7 * 86400e3 + 3600e3) });
	const text = tlsConfig(soon.cert, soon.key);
	const r = await checkConfig(text);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stderr, new RegExp(`check\\.conf:${lineOf(text, 'tls_certificate')}: ` +
		'tls_certificate: .*soon\\.pem expires on \\d{4}-\\d\\d-\\d\\dT.*, in 7 days'));
	assert.match(r.stderr, /syntax is ok/);
});
