// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The Node side of issue 12's benchmark: a Pinus 1.7.4 (or Pomelo 2.2.7) cluster of the cluster
// tests' game (tests/cluster/app-*: master, gate, one `game` backend) with either the framework's
// own Node connector or shaddockd as the connector tier, driven by shaddock-loadgen:
//
//   forward  clients -> connector -> game.gameHandler.echo on the backend (sys.msgRemote
//            .forwardMessage and back); loadgen `req` scenario, --expect any
//   push     MEMBERS sessions join one channel on the backend (game.gameHandler.benchJoin); one
//            client publishes RATE times a second (game.gameHandler.benchPublish) and the backend
//            pushes `onBench` to every member through the connector tier
//            (sys.channelRemote.pushMessage); loadgen `push` scenario. The publisher keeps up
//            to PUB_INFLIGHT publishes in flight (loadgen -p): with one, the publish rate is
//            bounded by one publish's round trip through the cluster, not by the connector
//
// It prints one JSON line per run (--format kv: one key=value line, for scripts/bench) with the
// loadgen's result line parsed, the connector tier's CPU seconds over the measured window
// (loadgen --pids), the backend's CPU seconds and the connector's system-time share over the
// whole loadgen run, and the connector CPU seconds per forwarded request / per delivered push. scripts/bench runs it once per connector
// and round and puts the rows side by side (tests/bench/README.md).
//
// Usage: node tests/bench/cluster/cluster-bench.mjs [--connector pinus|pomelo|shaddock]
//   [--framework pinus|pomelo] [--scenario forward|push|all] [--duration S] [--warmup S]
//   [--conns N] [--inflight N] [--transport tcp|ws] [--members N] [--rate N]
//   [--pub-inflight N] [--workers N] [--loadgen PATH] [--shaddockd PATH] [--format json|kv]
//   [--no-pin]
// Defaults: Pinus connector, Pinus cluster, all scenarios, 8 s after 2 s, 100 sessions × 1 in
// flight over TCP, 1000 members at 100 publishes/s with 8 publishes in flight, 1 shaddock
// worker, build/tests/bench/shaddock-loadgen, build/master/shaddockd, JSON. Servers are pinned
// to CPU 0 and the load generator to CPU 1 (taskset) when the machine has two CPUs or more.
// Every process is stopped by pid at the end.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run } from '../../integration/lib/util.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function parseArgs(argv) {
	const o = { connector: 'pinus', scenario: 'all', duration: 8, warmup: 2, conns: 100,
		inflight: 1, transport: 'tcp', members: 1000, rate: 100, pubInflight: 8, workers: 1,
		pin: true, format: 'json', loadgen: path.join(REPO_ROOT, 'build/tests/bench/shaddock-loadgen') };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const v = () => argv[++i];
		switch (a) {
		case '--connector': o.connector = v(); break;
		case '--framework': o.framework = v(); break;
		case '--scenario': o.scenario = v(); break;
		case '--duration': o.duration = Number(v()); break;
		case '--warmup': o.warmup = Number(v()); break;
		case '--conns': o.conns = Number(v()); break;
		case '--inflight': o.inflight = Number(v()); break;
		case '--transport': o.transport = v(); break;
		case '--members': o.members = Number(v()); break;
		case '--rate': o.rate = Number(v()); break;
		case '--pub-inflight': o.pubInflight = Number(v()); break;
		case '--workers': o.workers = Number(v()); break;
		case '--loadgen': o.loadgen = v(); break;
		case '--shaddockd': o.shaddockd = path.resolve(v()); break;
		case '--format': o.format = v(); break;
		case '--no-pin': o.pin = false; break;
		default:
			process.stderr.write(`cluster-bench: unknown option ${a}\n`);
			process.exit(2);
		}
	}
	o.framework ??= o.connector === 'shaddock' ? 'pinus' : o.connector;
	if (!['pinus', 'pomelo'].includes(o.framework) ||
	    !['pinus', 'pomelo', 'shaddock'].includes(o.connector)) {
		process.stderr.write('cluster-bench: --connector pinus|pomelo|shaddock, --framework pinus|pomelo\n');
		process.exit(2);
	}
	if (o.connector !== 'shaddock' && o.connector !== o.framework) {
		process.stderr.write('cluster-bench: a Node connector runs in its own framework\'s cluster\n');
		process.exit(2);
	}
	if (!['forward', 'push', 'all'].includes(o.scenario) || !['json', 'kv'].includes(o.format)) {
		process.stderr.write('cluster-bench: --scenario forward|push|all, --format json|kv\n');
		process.exit(2);
	}
	for (const k of ['duration', 'warmup', 'conns', 'inflight', 'members', 'rate', 'pubInflight',
		'workers']) {
		if (!(o[k] >= 0) || (k !== 'warmup' && o[k] === 0)) {
			process.stderr.write(`cluster-bench: bad ${k}\n`);
			process.exit(2);
		}
	}
	return o;
}

// One key=value line: the loadgen's result keys, then this script's (its scenario name as
// cluster_scenario); nothing with spaces (the command and the loadgen's stderr stay out).
function kvLine(row) {
	const out = [];
	const put = (k, v) => {
		if (v !== null && v !== undefined && typeof v !== 'object') {
			out.push(`${k}=${String(v).replace(/\s+/g, '_')}`);
		}
	};
	for (const [k, v] of Object.entries(row.result ?? {})) {
		put(k, v);
	}
	for (const [k, v] of Object.entries(row)) {
		if (!['result', 'stderr', 'command'].includes(k)) {
			put(k === 'scenario' ? 'cluster_scenario' : k, v);
		}
	}
	return out.join(' ');
}

// The pids and all their descendants (pgrep -P, recursively).
function withDescendants(pids) {
	const seen = new Set();
	const visit = (pid) => {
		if (seen.has(pid)) {
			return;
		}
		seen.add(pid);
		let kids = [];
		try {
			kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
				.split('\n').filter(Boolean).map(Number);
		} catch {
			/* none */
		}
		kids.forEach(visit);
	};
	pids.forEach(visit);
	return [...seen];
}

// utime and stime of processes and their descendants, in seconds: {user, sys}.
function cpuTimes(pids) {
	const tick = 100;
	const t = { user: 0, sys: 0 };
	for (const pid of withDescendants(pids)) {
		try {
			const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
			const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			t.user += Number(f[11]) / tick;
			t.sys += Number(f[12]) / tick;
		} catch {
			/* gone */
		}
	}
	return t;
}

// Pins the pids, every thread of each (-a), and their descendants (shaddockd's workers were
// forked before this) to one CPU.
function pin(pids, cpu) {
	for (const pid of withDescendants(pids)) {
		try {
			execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
		} catch {
			/* gone */
		}
	}
}

function parseLine(line) {
	const out = {};
	for (const kv of line.trim().split(/\s+/)) {
		const i = kv.indexOf('=');
		if (i > 0) {
			const v = kv.slice(i + 1);
			out[kv.slice(0, i)] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
		}
	}
	return out;
}

async function loadgen(o, args, { connectorPids, backendPid }) {
	const cmd = [o.loadgen, '-H', '127.0.0.1', '--pids', connectorPids.join(','), '--children',
		'-d', String(o.duration), '-w', String(o.warmup), ...args];
	const pinCmd = o.pin ? ['taskset', '-c', '1'] : [];
	const backend0 = cpuTimes([backendPid]);
	const conn0 = cpuTimes(connectorPids);
	const r = await run(pinCmd[0] ?? cmd[0], [...pinCmd.slice(1), ...(pinCmd.length ? cmd : cmd.slice(1))],
		{ timeout: (o.duration + o.warmup + 120) * 1000 });
	const b1 = cpuTimes([backendPid]);
	const backend = b1.user + b1.sys - backend0.user - backend0.sys;
	// The connector's kernel share over the whole run (the loadgen times the window).
	const c1 = cpuTimes(connectorPids);
	const cu = c1.user - conn0.user;
	const cs = c1.sys - conn0.sys;
	const line = r.stdout.trim().split('\n').pop() ?? '';
	if (o.format === 'kv') {
		// the loadgen's notes (why a response was wrong, say) and summary, for the log
		process.stderr.write(`${cmd.join(' ')}\n${r.stderr.trim().split('\n').slice(-20).join('\n')}\n`);
	}
	return { exit: r.code, result: parseLine(line), backend_cpu_s: Number(backend.toFixed(2)),
		connector_sys_share: cu + cs > 0 ? Number((cs / (cu + cs)).toFixed(3)) : null,
		stderr: r.stderr.trim().split('\n').slice(-3).join(' | '), command: cmd.join(' ') };
}

async function main() {
	const o = parseArgs(process.argv.slice(2));
	if (!fs.existsSync(o.loadgen)) {
		process.stderr.write(`cluster-bench: ${o.loadgen} is not built (ninja -C build)\n`);
		process.exit(2);
	}
	if (o.shaddockd) {
		if (!fs.existsSync(o.shaddockd)) {
			process.stderr.write(`cluster-bench: ${o.shaddockd} does not exist\n`);
			process.exit(2);
		}
		// read by tests/integration/lib/daemon.mjs when it is first imported (below)
		process.env.SHADDOCK_TEST_BINARY = o.shaddockd;
	}
	const { startCluster } = await import('../../cluster/lib/cluster.mjs');
	const tier = o.connector === 'shaddock' ? 'shaddock' : 'node';
	if (tier === 'shaddock') {
		process.env.SHADDOCK_CLUSTER = '1';
	}
	const c = await startCluster({ framework: o.framework, tier, nodeConnectors: tier === 'node' ? 1 : 0,
		games: 1, workers: o.workers, rpcTimeout: 30000,
		shaddock: { server: { log_level: 'warn' } } });
	const rows = [];
	try {
		const connectorPids = tier === 'node' ? [c.procs.get('connector-server-1').pid] : [c.daemon.pid];
		const backendPid = c.procs.get('game-server-1').pid;
		const port = tier === 'node' ? c.nodeConnectors[0].clientPort : c.shaddockPort;
		if (o.pin && os.cpus().length >= 2) {
			pin([...c.procs.values()].map((p) => p.pid).concat(c.daemon ? [c.daemon.pid] : []), 0);
		} else {
			o.pin = false;
		}
		const base = { connector: o.connector, framework: o.framework, pinned: o.pin };
		if (o.scenario === 'forward' || o.scenario === 'all') {
			const r = await loadgen(o, ['-P', String(port), '-s', 'req', '-t', o.transport,
				'-c', String(o.conns), '-p', String(o.inflight), '-r', 'game.gameHandler.echo',
				'--expect', 'any'], { connectorPids, backendPid });
			const req = r.result.requests ?? 0;
			rows.push({ scenario: 'forward', ...base, ...r,
				connector_cpu_us_per_request: req ? Number((r.result.server_cpu_s / req * 1e6).toFixed(2)) : null });
		}
		if (o.scenario === 'push' || o.scenario === 'all') {
			const r = await loadgen(o, ['-P', String(port), '-s', 'push', '-t', o.transport,
				'-c', String(o.members), '--rate', String(o.rate), '-p', String(o.pubInflight),
				'--channel', 'bench',
				'--join-route', 'game.gameHandler.benchJoin',
				'--join-body', '{"uid":"b{n}","room":"{ch}"}',
				'--publish-route', 'game.gameHandler.benchPublish',
				'--publish-body', '{"room":"{ch}","ts":"{ts}"}',
				'--push-route', 'onBench', '--push-field', 'ts'], { connectorPids, backendPid });
			const pushes = r.result.pushes ?? 0;
			rows.push({ scenario: 'push', ...base, members: o.members, rate: o.rate,
				pub_inflight: o.pubInflight, ...r,
				connector_cpu_us_per_push: pushes ? Number((r.result.server_cpu_s / pushes * 1e6).toFixed(2)) : null });
		}
	} finally {
		await c.stop();
	}
	for (const row of rows) {
		process.stdout.write(`${o.format === 'kv' ? kvLine(row) : JSON.stringify(row)}\n`);
	}
	process.exit(rows.every((r) => r.exit === 0) ? 0 : 1);
}

main().catch((err) => {
	process.stderr.write(`cluster-bench: ${err.stack || err}\n`);
	process.exit(2);
});
