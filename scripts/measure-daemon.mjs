// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Measures the daemon's supervision on this machine, with the real shaddockd on 127.0.0.1:
//   respawn: kill -9 one worker, time until `show workers` lists a new pid in its slot as
//            ready; once in each of 10 slots (a slot's second quick death is a crash loop,
//            respawned after a back-off by design), median/min/max;
//   reload:  HUP reloads while client loops connect, handshake and request in a loop; counts
//            the connections that failed (refused, reset, no answer) out of all attempted.
// Run it through scripts/measure-daemon (which builds first). Every process it starts is
// stopped by pid; every loop is bounded in count and time.

import { performance } from 'node:perf_hooks';
import { startDaemon } from '../tests/integration/lib/daemon.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from '../tests/integration/lib/pomelo-raw.mjs';
import { sleep, waitFor } from '../tests/integration/lib/util.mjs';

const RESPAWNS = Number(process.env.RESPAWNS ?? 10);
const RELOADS = Number(process.env.RELOADS ?? 20);
const LOOPS = Number(process.env.LOOPS ?? 8);

function stats(xs) {
	const s = [...xs].sort((a, b) => a - b);
	return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

async function respawn(d) {
	const times = [];
	for (let i = 0; i < RESPAWNS; i++) {
		const victim = (await d.workers()).find((w) => w.slot === i && w.state === 'ready');
		const t0 = performance.now();
		process.kill(victim.pid, 'SIGKILL');
		await waitFor(async () => (await d.workers()).some((w) => w.slot === victim.slot &&
			w.pid !== victim.pid && w.state === 'ready'),
		{ timeout: 5000, interval: 2, what: `a new worker in slot ${victim.slot}` });
		times.push(performance.now() - t0);
	}
	return times;
}

async function reloads(d) {
	let stop = false;
	let ok = 0;
	const failures = [];
	async function loop() {
		while (!stop) {
			let c;
			try {
				c = await PomeloRawClient.open({ port: d.port, timeout: 5000 });
				const r = await c.request(ENTRY_ROUTE, {}, { timeout: 5000 });
				if (JSON.stringify(r.body) !== JSON.stringify(ENTRY_OK)) {
					throw new Error(`wrong answer ${JSON.stringify(r.body)}`);
				}
				ok++;
			} catch (err) {
				failures.push(`${err.code ?? ''} ${err.message}`);
			} finally {
				c?.close();
			}
		}
	}
	const loops = Array.from({ length: LOOPS }, loop);
	const start = (await d.adminJson('show info')).reloads;
	const t0 = performance.now();
	try {
		for (let i = 1; i <= RELOADS; i++) {
			d.signal('SIGHUP');
			await waitFor(async () => {
				const info = await d.adminJson('show info');
				return info.reloads >= start + i &&
					(await d.readyWorkers()).every((w) => w.generation === info.generation);
			}, { timeout: 10000, interval: 10, what: `reload ${i}` });
			await sleep(150);
		}
	} finally {
		stop = true;
		await Promise.all(loops);
	}
	return { ok, failures, seconds: (performance.now() - t0) / 1000 };
}

let d = await startDaemon({ workers: RESPAWNS, server: { shutdown_timeout: '2s' },
	connector: { heartbeat: '3s' } });
try {
	const t = stats(await respawn(d));
	console.log(`respawn after kill -9 (${RESPAWNS} slots, one kill each): median ` +
		`${t.median.toFixed(1)} ms, min ${t.min.toFixed(1)} ms, max ${t.max.toFixed(1)} ms`);
	await d.stop();
	d = await startDaemon({ workers: 2, server: { shutdown_timeout: '2s' },
		connector: { heartbeat: '3s' } });
	const r = await reloads(d);
	const total = r.ok + r.failures.length;
	console.log(`${RELOADS} HUP reloads in ${r.seconds.toFixed(1)} s under ${LOOPS} connect loops: ` +
		`${r.failures.length} of ${total} connections failed`);
	for (const f of r.failures.slice(0, 10)) {
		console.log(`  failure: ${f}`);
	}
	process.exitCode = r.failures.length === 0 ? 0 : 1;
} finally {
	await d.stop();
}
