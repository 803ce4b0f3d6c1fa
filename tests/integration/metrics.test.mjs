// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The metrics listener: GET /metrics in the Prometheus text format (a # HELP and a # TYPE line
// before every family, base units in the names, _total on counters only, per-worker series
// labelled slot and generation and nothing else), GET /healthz (200 "ready" while every slot
// serves, 503 while a reload or a stop runs), and plain HTTP answers for anything else (404, 405,
// 400).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDaemon } from './lib/daemon.mjs';
import { PomeloRawClient } from './lib/pomelo-raw.mjs';
import { freePort, waitFor, withTimeout } from './lib/util.mjs';

let d;
let port;
const clients = [];

after(async () => {
	for (const c of clients) {
		c.close();
	}
	if (d?.pid) {
		try {
			process.kill(d.pid, 'SIGCONT');
		} catch {
			/* gone */
		}
	}
	await d?.stop();
});

// Sends `raw` (a whole request) and resolves { status, headers, body } once the server closes.
function http(raw) {
	return withTimeout(new Promise((resolve, reject) => {
		const s = net.connect(port, '127.0.0.1');
		const chunks = [];
		s.on('connect', () => s.write(raw));
		s.on('data', (c) => chunks.push(c));
		s.on('error', reject);
		s.on('close', () => {
			const text = Buffer.concat(chunks).toString('utf8');
			const end = text.indexOf('\r\n\r\n');
			const head = text.slice(0, end).split('\r\n');
			const headers = {};
			for (const h of head.slice(1)) {
				const i = h.indexOf(':');
				headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
			}
			resolve({
				statusLine: head[0],
				status: Number(head[0].split(' ')[1]),
				headers,
				body: text.slice(end + 4),
			});
		});
	}), 5000, `HTTP ${JSON.stringify(raw.split('\r\n')[0])}`);
}

function get(path, method = 'GET') {
	return http(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
}

test('start with metrics_listen', async () => {
	port = await freePort();
	d = await startDaemon({
		workers: 2,
		server: { metrics_listen: `127.0.0.1:${port}`, shutdown_timeout: '4s' },
		connector: { heartbeat: '10s' },
	});
});

test('/metrics: HELP and TYPE before every family, units in names, slot and generation labels',
	async () => {
		const c = await PomeloRawClient.open({ port: d.port });
		clients.push(c);
		// Wait for a heartbeat that counts the session.
		await waitFor(async () => (await d.stat()).sessions === 1, { what: 'the session counted' });
		const r = await get('/metrics');
		assert.equal(r.status, 200, r.statusLine);
		assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
		assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
		const help = new Map();
		const type = new Map();
		const samples = [];
		for (const line of r.body.split('\n').filter(Boolean)) {
			let m;
			if ((m = /^# HELP (\S+) (.+)$/.exec(line))) {
				help.set(m[1], m[2]);
			} else if ((m = /^# TYPE (\S+) (gauge|counter)$/.exec(line))) {
				assert.ok(help.has(m[1]), `TYPE before HELP for ${m[1]}`);
				type.set(m[1], m[2]);
			} else {
				m = /^([a-z_][a-z0-9_]*)(\{[^}]*\})? (\d+)$/.exec(line);
				assert.ok(m, `not a sample line: ${line}`);
				assert.ok(type.has(m[1]), `${m[1]} has no TYPE line before it`);
				samples.push({ name: m[1], labels: m[2] ?? '', value: Number(m[3]) });
			}
		}
		for (const [name, t] of type) {
			assert.ok(name.startsWith('shaddock_'), name);
			assert.equal(name.endsWith('_total'), t === 'counter', `${name} is a ${t}`);
		}
		assert.ok(!r.body.includes('pid='), 'a pid label');
		const workers = await d.workers();
		const perWorker = samples.filter((s) => s.labels !== '');
		for (const s of perWorker) {
			const m = /^\{slot="(\d+)",generation="(\d+)"\}$/.exec(s.labels);
			assert.ok(m, `labels ${s.labels}`);
			assert.ok(workers.some((w) => w.slot === Number(m[1]) &&
				w.generation === Number(m[2])), `no worker for ${s.labels}`);
		}
		const one = (name) => samples.filter((s) => s.name === name);
		assert.equal(one('shaddock_up')[0].value, 1);
		assert.equal(one('shaddock_generation')[0].value, 1);
		assert.equal(one('shaddock_workers')[0].value, 2);
		assert.ok(one('shaddock_uptime_seconds').length === 1);
		// Base units: bytes in the names; every worker reports each family.
		for (const name of ['shaddock_resident_memory_bytes', 'shaddock_received_bytes_total',
			'shaddock_sent_bytes_total', 'shaddock_sessions', 'shaddock_accepted_connections_total']) {
			assert.equal(one(name).length, 2, `${name}: ${JSON.stringify(one(name))}`);
		}
		assert.ok(one('shaddock_resident_memory_bytes').every((s) => s.value > 0));
		assert.equal(one('shaddock_sessions').reduce((a, s) => a + s.value, 0), 1);
		assert.ok(one('shaddock_received_bytes_total').reduce((a, s) => a + s.value, 0) > 0);
	});

test('/healthz: 200 "ready"; HEAD has no body; other paths 404, other methods 405, junk 400',
	async () => {
		const h = await get('/healthz');
		assert.equal(h.status, 200, h.statusLine);
		assert.equal(h.body, 'ready\n');
		const q = await get('/healthz?verbose=1');
		assert.equal(q.status, 200);
		const head = await get('/healthz', 'HEAD');
		assert.equal(head.status, 200);
		assert.equal(head.body, '');
		assert.equal(Number(head.headers['content-length']), 'ready\n'.length);
		assert.equal((await get('/')).status, 404);
		assert.equal((await get('/metricsx')).status, 404);
		const post = await get('/metrics', 'POST');
		assert.equal(post.status, 405);
		assert.equal(post.headers.allow, 'GET, HEAD');
		assert.equal((await http('hello\r\n\r\n')).status, 400);
		// Headers that do not end within 8 KiB: 431 (the whole request read, so no reset).
		const start = 'GET /metrics HTTP/1.1\r\nX: ';
		const big = await http(start + 'a'.repeat(8194 - start.length));
		assert.equal(big.status, 431);
	});

test('/healthz: 503 "reloading" while a reload runs, 200 once it is done', async () => {
	// The master is stopped while the request and the HUP wait for it: when it runs again, the
	// reload starts before the request is read, and its new workers cannot be ready yet.
	process.kill(d.pid, 'SIGSTOP');
	const during = get('/healthz');
	await new Promise((r) => setTimeout(r, 100));
	process.kill(d.pid, 'SIGHUP');
	process.kill(d.pid, 'SIGCONT');
	const r = await during;
	assert.equal(r.status, 503, r.body);
	assert.equal(r.body, 'reloading\n');
	await waitFor(async () => (await get('/healthz')).status === 200,
		{ timeout: 10000, what: '/healthz 200 after the reload' });
	assert.equal((await d.adminJson('show info')).generation, 2);
	const m = await get('/metrics');
	assert.match(m.body, /^shaddock_generation 2$/m);
	assert.match(m.body, /^shaddock_reloads_total 1$/m);
});

test('/healthz: 503 "stopping" while the workers drain', async () => {
	const c = await PomeloRawClient.open({ port: d.port, autoHeartbeat: true });
	clients.push(c);
	d.signal('SIGTERM');
	await waitFor(async () => {
		const r = await get('/healthz');
		return r.status === 503 && r.body === 'stopping\n';
	}, { timeout: 3000, what: '/healthz 503 stopping' });
	const exit = await d.waitExit(10000);
	assert.deepEqual(exit, { code: 0, signal: null });
});
