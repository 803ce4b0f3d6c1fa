// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Measures what TLS costs shaddockd on this machine, with Node clients on 127.0.0.1 (until the
// load generator speaks TLS; see tests/bench/README.md):
//   idle:       SESSIONS sessions (default 2000) opened and held, plain and over TLS 1.3 and
//               1.2, on one worker; the growth of the worker's VmRSS divided by the sessions;
//   handshakes: LOOPS parallel loops (default 8) of connect, TLS handshake, Pomelo handshake,
//               ack, first heartbeat, close, for SECONDS (default 5), full and resumed (Node's
//               `session` option); the worker's CPU time per handshake from /proc/PID/stat;
//   requests:   100 TLS sessions with 1 request in flight each for SECONDS; worker CPU time per
//               request, plain for comparison.
// The clients are Node, usually slower than the server, so the rates printed are what these
// clients reached; the server CPU-seconds per operation are the server's own figures.
// Run it after building: node scripts/measure-tls.mjs. Every process it starts is stopped by
// pid; every loop is bounded in count and time.

import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startDaemon } from '../tests/integration/lib/daemon.mjs';
import { PomeloRawClient, PKG, ENTRY_ROUTE } from '../tests/integration/lib/pomelo-raw.mjs';
import { TestPki, tlsListener } from '../tests/integration/lib/tls-certs.mjs';
import { freePort, sleep } from '../tests/integration/lib/util.mjs';

const SESSIONS = Number(process.env.SESSIONS ?? 2000);
const LOOPS = Number(process.env.LOOPS ?? 8);
const SECONDS = Number(process.env.SECONDS ?? 5);
const TICK = 100; // clock ticks per second (sysconf(_SC_CLK_TCK) on Linux)

function rssKb(pid) {
	const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
	return Number(m[1]);
}

function cpuSeconds(pid) {
	const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(f[11]) + Number(f[12])) / TICK;
}

async function daemon(pki, server, mode) {
	const port = await freePort();
	const d = await startDaemon({
		workers: 1,
		server: { log_level: 'warn' },
		listeners: { main: mode === 'plain' ? { address: `127.0.0.1:${port}` }
			: tlsListener(`127.0.0.1:${port}`, server, 'on') },
		connector: { heartbeat: '60s', idle_timeout: '0', max_connections: 100000,
			handshake_timeout: '30s' },
	});
	d.port = port;
	d.workerPid = (await d.workers())[0].pid;
	return d;
}

function tlsOpts(pki, version, session) {
	return version ? { ca: pki.caPem, minVersion: version, maxVersion: version, session }
		: undefined;
}

async function idle(pki, server, version) {
	const d = await daemon(pki, server, version ? 'tls' : 'plain');
	const clients = [];
	try {
		await sleep(500);
		const before = rssKb(d.workerPid);
		for (let i = 0; i < SESSIONS; i += 50) {
			const batch = [];
			for (let j = i; j < Math.min(SESSIONS, i + 50); j++) {
				batch.push(PomeloRawClient.open({ port: d.port, timeout: 20000,
					tls: tlsOpts(pki, version) }));
			}
			clients.push(...await Promise.all(batch));
		}
		await sleep(2000);
		const after = rssKb(d.workerPid);
		const per = ((after - before) * 1024) / SESSIONS;
		console.log(`idle ${version ?? 'plain'}: ${SESSIONS} sessions, worker VmRSS ` +
			`${before} -> ${after} kB: ${per.toFixed(0)} B per session`);
		return per;
	} finally {
		for (const c of clients) {
			c.close();
		}
		await d.stop();
	}
}

async function handshakes(pki, server, resumed) {
	const d = await daemon(pki, server, 'tls');
	let session;
	if (resumed) {
		const c = await PomeloRawClient.open({ port: d.port, tls: tlsOpts(pki, 'TLSv1.3') });
		session = c.socket.getSession();
		c.close();
	}
	let n = 0;
	let errors = 0;
	let stop = false;
	async function loop() {
		while (!stop) {
			let c;
			try {
				c = await PomeloRawClient.open({ port: d.port, waitHeartbeat: true,
					tls: tlsOpts(pki, 'TLSv1.3', session) });
				if (resumed && !c.socket.isSessionReused()) {
					throw new Error('not resumed');
				}
				n++;
			} catch {
				errors++;
			} finally {
				c?.close();
			}
		}
	}
	try {
		const cpu0 = cpuSeconds(d.workerPid);
		const t0 = performance.now();
		const loops = Array.from({ length: LOOPS }, loop);
		await sleep(SECONDS * 1000);
		stop = true;
		await Promise.all(loops);
		const secs = (performance.now() - t0) / 1000;
		const cpu = cpuSeconds(d.workerPid) - cpu0;
		console.log(`handshakes ${resumed ? 'resumed' : 'full'} (TLS 1.3): ${n} in ` +
			`${secs.toFixed(1)} s = ${(n / secs).toFixed(0)}/s by these clients, ${errors} ` +
			`errors; worker CPU ${cpu.toFixed(2)} s = ${(n / cpu).toFixed(0)} handshakes per ` +
			'server CPU-second');
	} finally {
		await d.stop();
	}
}

async function requests(pki, server, version) {
	const d = await daemon(pki, server, version ? 'tls' : 'plain');
	const clients = [];
	let n = 0;
	let stop = false;
	try {
		for (let i = 0; i < 100; i++) {
			clients.push(await PomeloRawClient.open({ port: d.port,
				tls: tlsOpts(pki, version) }));
		}
		const cpu0 = cpuSeconds(d.workerPid);
		const t0 = performance.now();
		const loops = clients.map(async (c) => {
			while (!stop) {
				await c.request(ENTRY_ROUTE, {}, { timeout: 10000 });
				n++;
				c.received.length = 0;
			}
		});
		await sleep(SECONDS * 1000);
		stop = true;
		await Promise.all(loops);
		const secs = (performance.now() - t0) / 1000;
		const cpu = cpuSeconds(d.workerPid) - cpu0;
		console.log(`requests 100x1 ${version ?? 'plain'}: ${(n / secs).toFixed(0)}/s by these ` +
			`clients; worker CPU ${cpu.toFixed(2)} s = ${(n / cpu).toFixed(0)} requests per ` +
			'server CPU-second');
	} finally {
		for (const c of clients) {
			c.close();
		}
		await d.stop();
	}
}

const pki = await TestPki.create();
try {
	const server = await pki.server('measure');
	const what = process.argv.slice(2);
	const all = what.length === 0;
	if (all || what.includes('idle')) {
		await idle(pki, server, null);
		await idle(pki, server, 'TLSv1.3');
		await idle(pki, server, 'TLSv1.2');
	}
	if (all || what.includes('handshakes')) {
		await handshakes(pki, server, false);
		await handshakes(pki, server, true);
	}
	if (all || what.includes('requests')) {
		await requests(pki, server, null);
		await requests(pki, server, 'TLSv1.3');
	}
} finally {
	pki.remove();
}
void PKG;
