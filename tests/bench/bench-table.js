#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Turns the result lines of scripts/bench (one key=value line per load
// generator run, prefixed with server=, scen=, round= and rc=) into the
// Markdown table of tests/bench/README.md: per scenario and server the
// median and min-max of each metric over the rounds, the server's CPU use
// and work per CPU-second, the client's CPU use (to show when the load
// generator, not the server, is the limit), and the ratios of shaddock to
// the others (shaddock against a baseline build of itself when one ran).
// The cluster rows (forward, backend-push: issue 12) get a table of their
// own below it (clusterTable).
// Usage: bench-table.js RESULTS [META]
'use strict';

const fs = require('fs');

const SERVERS = {
	shaddock: 'shaddock',
	baseline: 'shaddock (baseline)',
	pinus: 'Pinus 1.7.4',
	pomelo: 'Pomelo 2.2.7',
	limit: 'limit (bare epoll)',
};
const ORDER = ['shaddock', 'baseline', 'pinus', 'pomelo', 'limit'];
const SCENARIOS = {
	'req-tcp-1': 'req, TCP, 100 sessions × 1 in flight',
	'req-pb-1': 'req, TCP, 100 × 1, protobuf bodies',
	'req-tcp-8': 'req, TCP, 100 sessions × 8 in flight',
	'req-ws-1': 'req, WebSocket, 100 × 1',
	'req-ws-8': 'req, WebSocket, 100 × 8',
	'hs-tcp': 'handshake, TCP, 50 loops',
	'hs-ws': 'handshake, WebSocket, 50 loops',
	'idle-tcp': 'idle sessions, TCP',
	'push': 'push, TCP, 100 members of one channel',
	'tls-hs': 'TLS 1.3 handshake, full, TCP, 8 loops',
	'tls-hs-resume': 'TLS 1.3 handshake, resumed (ticket), TCP, 8 loops',
	'tls-req-1': 'req, TLS 1.3 TCP, 100 × 1',
	'tls-idle': 'idle sessions, TLS 1.3 TCP',
};
// What a scenario measures: requests (the default), handshakes, pushes or
// idle sessions.
function kind(scen) {
	if (/(^|-)idle(-|$)/.test(scen)) {
		return 'idle';
	}
	if (/(^|-)hs(-|$)/.test(scen)) {
		return 'hs';
	}
	return scen.startsWith('push') ? 'push' : 'req';
}
const CLIENT_BOUND = 90;	// % of a core: the client is the limit

// A run asked to resume TLS sessions (--tls-resume) that did not resume
// every TLS handshake of its window: its figures are not resumed ones.
// tls_full= counts the full handshakes; without it, the handshakes and the
// resumptions may differ by at most the loops in flight at either edge.
function notResumed(r) {
	if (r.tls_resume !== '1') {
		return false;
	}
	if (!(num(r.tls_resumed) > 0)) {
		return true;
	}
	if (r.tls_full !== undefined) {
		return num(r.tls_full) !== 0;
	}
	return !(Math.abs(num(r.tls_resumed) - num(r.handshakes)) <= num(r.conns));
}

// Issue 12's cluster rows (scripts/bench run_cluster, tests/bench/cluster/
// cluster-bench.mjs): a Pinus cluster with shaddock or the Pinus connector
// as its connector tier. Their result lines carry the loadgen's keys plus
// cluster_scenario, connector, backend_cpu_s, connector_sys_share, members,
// rate, pub_inflight and connector_cpu_us_per_request / _per_push.
const CLUSTER_SCENARIOS = {
	'forward': 'forward: client → connector → Pinus backend (echo) and back',
	'backend-push': 'backend push: a Pinus backend pushes to one channel',
};
const CLUSTER_SERVERS = ['shaddock', 'baseline', 'pinus'];
const CLUSTER_TARGET = 5;	// issue 12: 5× fewer connector CPU-seconds

// CPU-µs with 3 significant digits.
function cpuUs(v) {
	if (v === undefined) {
		return '—';
	}
	return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} µs`;
}

// The cluster rows' own table (empty when none ran); <notes> gets the
// runs that counted errors or gave no result.
function clusterTable(runs, meta, notes) {
	const mine = runs.filter((r) => r.scen in CLUSTER_SCENARIOS);
	if (mine.length === 0) {
		return [];
	}
	const servers = CLUSTER_SERVERS.filter((s) => mine.some((r) => r.server === s));
	const others = servers.filter((s) => s !== 'shaddock');
	const name = (s) => (s === 'pinus' ? `Pinus ${meta.cluster_pinus || '1.7.4'} connector`
		: SERVERS[s] || s);
	const out = [''];
	const plainBaseline = runs.some((r) => r.server === 'baseline' &&
		!(r.scen in CLUSTER_SCENARIOS));
	out.push('Connector tier of a Pinus cluster (issue 12): the cluster tests\' game ' +
		'(tests/cluster/app-pinus: master, gate, one `game` backend, each a Node process) ' +
		'with shaddock or the Pinus connector in front of the same backend, a fresh cluster ' +
		'per run (tests/bench/cluster/cluster-bench.mjs), every process of the cluster pinned ' +
		'as the Pinning line says. Connector CPU counts the connector tier only (shaddock: master and ' +
		'workers; Pinus: the connector process) over the measured window; backend CPU is ' +
		'the game server over the whole run, warm-up and joins included.');
	if (servers.includes('baseline') && !plainBaseline) {
		out.push(`shaddock: ${meta.shaddock_build || '?'}; baseline: ` +
			`${meta.baseline_build || '?'}.`);
	}
	for (const k of Object.keys(CLUSTER_SCENARIOS)) {
		if (meta[`cluster_args_${k}`]) {
			out.push(`${k}: cluster-bench.mjs ${meta[`cluster_args_${k}`]}.`);
		}
	}
	if (meta.cluster_note) {
		out.push(`Note: ${meta.cluster_note}.`);
	}
	out.push('');
	const head = ['scenario', 'metric', ...servers.map(name)];
	if (servers.includes('shaddock')) {
		head.push(...others.map((s) => `shaddock / ${name(s)}`));
	}
	out.push(`| ${head.join(' | ')} |`);
	out.push(`|${head.map(() => '---').join('|')}|`);

	const target = [];
	for (const scen of Object.keys(CLUSTER_SCENARIOS)) {
		const rs = mine.filter((r) => r.scen === scen);
		if (rs.length === 0) {
			continue;
		}
		const push = scen === 'backend-push';
		const stat = {};
		for (const s of servers) {
			const sr = rs.filter((r) => r.server === s);
			const ok = sr.filter((r) => r.cluster_failed === undefined);
			const get = (f) => ok.map(f);
			const dur = (r) => num(r.duration_s);
			const st = {
				n: sr.length,
				failed: sr.filter((r) => r.rc !== '0').length,
				nostart: sr.length - ok.length,
				errors: ok.reduce((a, r) => a + (num(r.errors) || 0) + (num(r.lost) || 0), 0),
				rate: get((r) => num(push ? r.pushes_per_s : r.rps)),
				p50: get((r) => num(r.p50_us)),
				p99: get((r) => num(r.p99_us)),
				unit: get((r) => num(push ? r.connector_cpu_us_per_push
					: r.connector_cpu_us_per_request)),
				conn: get((r) => num(r.server_cpu_s)),
				connPct: get((r) => (num(r.server_cpu_s) !== undefined && dur(r)
					? 100 * num(r.server_cpu_s) / dur(r) : undefined)),
				backend: get((r) => num(r.backend_cpu_s)),
				sys: get((r) => (num(r.connector_sys_share) !== undefined
					? 100 * num(r.connector_sys_share) : undefined)),
				cli: get((r) => (num(r.client_cpu_s) !== undefined && dur(r)
					? 100 * num(r.client_cpu_s) / dur(r) : undefined)),
				published: get((r) => num(r.published)),
				offered: get((r) => (num(r.rate) !== undefined && dur(r)
					? num(r.rate) * dur(r) : undefined)),
			};
			st.mrate = median(st.rate);
			st.munit = median(st.unit);
			st.bad = st.errors > 0 || st.failed > 0;
			stat[s] = st;
			if (st.bad) {
				notes.push(`${name(s)}, ${scen}: ${st.errors} errors or lost sessions, ` +
					`${st.failed} of ${st.n} runs did not exit 0` +
					(st.nostart ? `, ${st.nostart} gave no result (the cluster or the ` +
					'run failed: see cluster/*.err in the run directory)' : '') + '.');
			}
		}
		const withRange = (st, a, m, fmt) => {
			const r = range(a);
			if (m === undefined) {
				return st.n > 0 ? 'no result (!)' : '—';
			}
			return `${fmt(m)}${st.bad ? ' (!)' : ''} [${fmt(r[0])}–${fmt(r[1])}]`;
		};
		const ratios = (f) => (servers.includes('shaddock')
			? others.map((s) => ratio(f(stat.shaddock), f(stat[s]))) : []);
		const blank = () => ratios(() => undefined).map(() => '');
		const cells = (f) => servers.map((s) => f(stat[s]));
		const rows = [];
		const title = push ? `${CLUSTER_SCENARIOS[scen]}, ${median(rs.map((r) => num(r.members))) ?? '?'} ` +
			`members, ${median(rs.map((r) => num(r.rate))) ?? '?'} publishes/s (≤ ` +
			`${median(rs.map((r) => num(r.pub_inflight))) ?? '?'} in flight), TCP`
			: `${CLUSTER_SCENARIOS[scen]}, TCP, ${median(rs.map((r) => num(r.conns))) ?? '?'} ` +
			`sessions × ${median(rs.map((r) => num(r.inflight))) ?? '?'} in flight`;
		rows.push([title, push ? 'pushes/s delivered' : 'requests/s end to end',
			...cells((st) => withRange(st, st.rate, st.mrate, si)),
			...ratios((st) => st.mrate)]);
		if (push) {
			rows.push(['', 'publishes made / offered (the publisher\'s limit)',
				...cells((st) => {
					const p = median(st.published);
					const o = median(st.offered);
					return p === undefined || o === undefined ? '—'
						: `${p.toFixed(0)} / ${o.toFixed(0)} (${pct(100 * p / o)})`;
				}),
				...blank()]);
		}
		rows.push(['', push ? 'latency p50 / p99 (publish to push)' : 'latency p50 / p99',
			...cells((st) => `${us(median(st.p50))} / ${us(median(st.p99))}`), ...blank()]);
		rows.push(['', `connector CPU per ${push ? 'delivered push' : 'forwarded request'}`,
			...cells((st) => withRange(st, st.unit, st.munit, cpuUs)),
			...ratios((st) => st.munit)]);
		rows.push(['', 'connector CPU time per run (share of one core)',
			...cells((st) => (median(st.conn) === undefined ? '—'
				: `${median(st.conn).toFixed(2)} s (${pct(median(st.connPct))})`)),
			...blank()]);
		rows.push(['', 'connector CPU spent in the kernel (whole run)',
			...cells((st) => pct(median(st.sys))), ...blank()]);
		rows.push(['', 'backend CPU time per run (warm-up included)',
			...cells((st) => (median(st.backend) === undefined ? '—'
				: `${median(st.backend).toFixed(2)} s`)),
			...blank()]);
		rows.push(['', 'load generator CPU (of one core)',
			...cells((st) => {
				const c = median(st.cli);
				return c !== undefined && c >= CLIENT_BOUND ? `${pct(c)} (client-bound)` : pct(c);
			}),
			...blank()]);
		for (const r of rows) {
			out.push(`| ${r.join(' | ')} |`);
		}
		if (stat.shaddock && stat.pinus && stat.shaddock.munit > 0 &&
		    stat.pinus.munit !== undefined) {
			const x = stat.pinus.munit / stat.shaddock.munit;
			target.push(`${scen} ${x.toFixed(1)}× (${x >= CLUSTER_TARGET ? 'met' : 'not met'})`);
		}
	}
	if (target.length > 0) {
		out.push('');
		out.push(`Issue 12's target, at least ${CLUSTER_TARGET}× fewer connector CPU-seconds per ` +
			`unit of work than the Pinus connector (Pinus / shaddock, medians): ` +
			`${target.join('; ')}.`);
	}
	return out;
}

function parse(line) {
	const o = {};
	for (const kv of line.trim().split(/\s+/)) {
		const i = kv.indexOf('=');
		if (i > 0) {
			o[kv.slice(0, i)] = kv.slice(i + 1);
		}
	}
	return o;
}

function num(v) {
	const n = Number(v);
	return v === undefined || v === '' || !Number.isFinite(n) ? undefined : n;
}

function median(a) {
	const s = a.filter((v) => v !== undefined).sort((x, y) => x - y);
	if (s.length === 0) {
		return undefined;
	}
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function range(a) {
	const s = a.filter((v) => v !== undefined);
	return s.length ? [Math.min(...s), Math.max(...s)] : undefined;
}

// 3 significant digits with k/M: 51234 -> 51.2k.
function si(v) {
	if (v === undefined) {
		return '—';
	}
	const a = Math.abs(v);
	const f = (x, u) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + u;
	if (a >= 1e6) {
		return f(v / 1e6, 'M');
	}
	if (a >= 1e3) {
		return f(v / 1e3, 'k');
	}
	return a >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1);
}

function us(v) {
	if (v === undefined) {
		return '—';
	}
	return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} ms` : `${v.toFixed(0)} µs`;
}

function bytes(v) {
	if (v === undefined) {
		return '—';
	}
	return v >= 100000 ? `${(v / 1024).toFixed(0)} KiB` : `${v.toFixed(0)} B`;
}

function pct(v) {
	return v === undefined ? '—' : `${v.toFixed(0)} %`;
}

function ratio(a, b) {
	return a === undefined || b === undefined || b === 0 ? '—' : `${(a / b).toFixed(2)}×`;
}

function main() {
	const [resultsPath, metaPath] = process.argv.slice(2);
	if (!resultsPath) {
		console.error('usage: bench-table.js RESULTS [META]');
		process.exit(2);
	}
	const runs = fs.readFileSync(resultsPath, 'utf8').split('\n')
		.filter((l) => l.trim() !== '').map(parse);
	const meta = {};
	const skipped = [];
	if (metaPath && fs.existsSync(metaPath)) {
		for (const l of fs.readFileSync(metaPath, 'utf8').split('\n')) {
			const i = l.indexOf('=');
			if (i <= 0) {
				continue;
			}
			if (l.startsWith('skipped=')) {
				skipped.push(l.slice(i + 1));
			} else {
				meta[l.slice(0, i)] = l.slice(i + 1);
			}
		}
	}

	// by scenario, then by server: the list of runs
	const by = new Map();
	const seen = new Set();
	for (const r of runs) {
		if (r.scen in CLUSTER_SCENARIOS) {
			continue;
		}
		if (!by.has(r.scen)) {
			by.set(r.scen, new Map());
		}
		const m = by.get(r.scen);
		if (!m.has(r.server)) {
			m.set(r.server, []);
		}
		m.get(r.server).push(r);
		seen.add(r.server);
	}
	const servers = ORDER.filter((s) => seen.has(s));
	const others = servers.filter((s) => s !== 'shaddock');
	const out = [];

	out.push(`Machine: ${meta.cpu || '?'}, ${meta.ncpu || '?'} CPUs, ${meta.mem || '?'}, ` +
		`Linux ${meta.kernel || '?'}, node ${meta.node || '?'}; ${meta.date || ''}.`);
	out.push(`Pinning: ${meta.pinning || '?'}. Load average at the end: ${meta.loadavg || '?'}.`);
	if (meta.shaddock_workers) {
		const n = parseInt(meta.shaddock_workers, 10);
		SERVERS.shaddock = `shaddock (${n} worker${n === 1 ? '' : 's'})`;
		if (seen.has('baseline')) {
			SERVERS.baseline = `shaddock baseline (${n} worker${n === 1 ? '' : 's'})`;
		}
		out.push(`shaddock workers: ${meta.shaddock_workers}.`);
	}
	if (seen.has('baseline')) {
		out.push(`shaddock: ${meta.shaddock_build || '?'}; baseline: ${meta.baseline_build || '?'}. ` +
			'The two builds ran in the same rounds, their order swapped every round; ' +
			'"shaddock / shaddock baseline" > 1 means this build does more.');
	}
	if (meta.rounds) {
		out.push(`Runs: ${meta.rounds} rounds per scenario and server, taken in turn; ` +
			`${meta.duration} s measured after ${meta.warmup} s of warm-up; idle: ` +
			`${meta.idle_conns} sessions opened on a freshly started server, held ` +
			`${meta.idle_hold} s after ${meta.idle_settle} s. Each cell is the median over ` +
			'the rounds, [min–max] after the main figure; ratios compare medians.');
	}
	if (meta.tls) {
		out.push(`TLS rows: ${meta.tls}; shaddock on a second listener with tls = on, ` +
			'the Node servers\' HelloWorld given ssl: {key, cert} in its connectorConfig.');
	}
	for (const s of skipped) {
		out.push(`Skipped: ${s}`);
	}
	out.push('');

	const head = ['scenario', 'metric', ...servers.map((s) => SERVERS[s] || s)];
	if (servers.includes('shaddock')) {
		head.push(...others.map((s) => `shaddock / ${SERVERS[s] || s}`));
	} else {
		head.push(...others.filter((s) => s !== 'limit' && servers.includes('limit'))
			.map((s) => `${SERVERS[s]} / limit`));
	}
	const tableAt = out.length;
	out.push(`| ${head.join(' | ')} |`);
	out.push(`|${head.map(() => '---').join('|')}|`);

	const notes = [];
	const medians = {};
	const pinus = {};
	for (const scen of Object.keys(SCENARIOS).filter((k) => by.has(k))
		.concat([...by.keys()].filter((k) => !(k in SCENARIOS)))) {
		const m = by.get(scen);
		const idle = kind(scen) === 'idle';
		const hs = kind(scen) === 'hs';
		const push = kind(scen) === 'push';
		const rows = [];
		const stat = {};
		for (const s of servers) {
			const all = m.get(s) || [];
			const rs = all.filter((r) => !notResumed(r));
			const get = (f) => rs.map(f);
			const dur = (r) => num(idle ? r.hold_s : r.duration_s);
			const work = (r) => num(hs ? r.handshakes : push ? r.pushes : r.requests);
			const st = {
				n: all.length,
				errors: all.reduce((a, r) => a + (num(r.errors) || 0) + (num(r.lost) || 0), 0),
				failed: all.filter((r) => r.rc !== '0').length,
				unresumed: all.length - rs.length,
				// idle runs that did not open all their sessions in time
				short: all.filter((r) => idle && num(r.sessions) < num(r.conns)),
				rate: get((r) => num(idle ? r.rss_per_session_b : hs ? r.hps
					: push ? r.pushes_per_s : r.rps)),
				unsupported: push && rs.length > 0 && rs.every((r) => r.rc === '2'),
				p50: get((r) => num(idle ? r.open_p50_us : r.p50_us)),
				p99: get((r) => num(idle ? r.open_p99_us : r.p99_us)),
				srv: get((r) => (num(r.server_cpu_s) !== undefined && dur(r)
					? 100 * num(r.server_cpu_s) / dur(r) : undefined)),
				srvs: get((r) => num(r.server_cpu_s)),
				cli: get((r) => (!idle && num(r.client_cpu_s) !== undefined && dur(r)
					? 100 * num(r.client_cpu_s) / dur(r) : undefined)),
				per: get((r) => (num(r.server_cpu_s) > 0 && work(r) !== undefined
					? work(r) / num(r.server_cpu_s) : undefined)),
				pss: get((r) => num(r.pss_per_session_b)),
				sessions: get((r) => num(r.sessions)),
			};
			st.mrate = median(st.rate);
			st.mper = median(st.per);
			st.mgib = st.mrate > 0 ? 2 ** 30 / st.mrate : undefined;
			stat[s] = st;
			if (st.unsupported) {
				st.mrate = st.mper = undefined;
			} else if (st.errors > 0 || st.failed > 0) {
				notes.push(`${SERVERS[s] || s}, ${SCENARIOS[scen] || scen}: ` +
					`${st.errors} errors or lost sessions, ${st.failed} of ${st.n} runs ` +
					'did not exit 0 (see the raw results).');
			}
			if (st.short.length > 0) {
				notes.push(`${SERVERS[s] || s}, ${SCENARIOS[scen] || scen}: ` +
					`${st.short.length} of ${st.n} runs opened only ` +
					st.short.map((r) => `${r.sessions} of ${r.conns}`).join(', ') +
					' sessions within the open timeout (per session: over those).');
			}
			if (st.unresumed > 0) {
				const bad = all.filter(notResumed).map((r) =>
					`${r.tls_resumed} resumed and ${r.tls_full ?? '?'} full ` +
					`for ${r.handshakes} handshakes`);
				notes.push(`${SERVERS[s] || s}, ${SCENARIOS[scen] || scen}: ` +
					`${st.unresumed} of ${st.n} runs did not resume every TLS ` +
					`session (${bad.join('; ')}); left out of the figures.`);
			}
		}
		const cell = (s, f) => (stat[s].unsupported && !f.main ? '—' : f(stat[s]));
		const main = (f) => Object.assign(f, { main: true });
		const ratios = (f) => {
			if (!servers.includes('shaddock')) {
				return others.filter((s) => s !== 'limit' && servers.includes('limit'))
					.map((s) => ratio(f(stat[s]), f(stat.limit)));
			}
			return others.map((s) => ratio(f(stat.shaddock), f(stat[s])));
		};
		const withRange = (st, fmt) => {
			const r = range(st.rate);
			if (st.unsupported) {
				return 'not supported';
			}
			if (st.mrate === undefined) {
				return st.unresumed > 0 ? 'not resumed (!)' : '—';
			}
			const mark = st.errors > 0 || st.failed > 0 || st.unresumed > 0 ||
				st.short.length > 0 ? ' (!)' : '';
			return `${fmt(st.mrate)}${mark} [${fmt(r[0])}–${fmt(r[1])}]`;
		};
		if (idle) {
			const sess = median(Object.values(stat).flatMap((st) => st.sessions));
			rows.push([`${SCENARIOS[scen]}, ${sess === undefined ? "?" : Math.round(sess)} sessions`, 'server RSS per session',
				...servers.map((s) => cell(s, (st) => withRange(st, bytes))),
				...ratios(() => undefined).map(() => '')]);
			rows.push(['', 'sessions per GiB',
				...servers.map((s) => cell(s, (st) => si(st.mgib))),
				...ratios((st) => st.mgib)]);
			rows.push(['', 'server PSS per session',
				...servers.map((s) => cell(s, (st) => (median(st.pss) === undefined
					? '—' : bytes(median(st.pss))))),
				...ratios(() => undefined).map(() => '')]);
			rows.push(['', 'open latency p50 / p99',
				...servers.map((s) => cell(s, (st) => `${us(median(st.p50))} / ${us(median(st.p99))}`)),
				...ratios(() => undefined).map(() => '')]);
		} else {
			const unit = hs ? 'handshakes/s' : push ? 'pushes/s received' : 'requests/s';
			rows.push([SCENARIOS[scen] || scen, unit,
				...servers.map((s) => cell(s, main((st) => withRange(st, si)))),
				...ratios((st) => st.mrate)]);
			rows.push(['', 'latency p50 / p99',
				...servers.map((s) => cell(s, (st) => `${us(median(st.p50))} / ${us(median(st.p99))}`)),
				...ratios(() => undefined).map(() => '')]);
			rows.push(['', 'server CPU time per run (share of one core)',
				...servers.map((s) => cell(s, (st) => (median(st.srvs) === undefined ? '—'
					: `${median(st.srvs).toFixed(1)} s (${pct(median(st.srv))})`))),
				...ratios(() => undefined).map(() => '')]);
			rows.push(['', `${hs ? 'handshakes' : push ? 'pushes' : 'requests'} per server CPU-second`,
				...servers.map((s) => cell(s, (st) => si(st.mper))),
				...ratios((st) => st.mper)]);
			rows.push(['', 'load generator CPU (of one core)',
				...servers.map((s) => cell(s, (st) => {
					const c = median(st.cli);
					return c !== undefined && c >= CLIENT_BOUND ? `${pct(c)} (client-bound)` : pct(c);
				})),
				...ratios(() => undefined).map(() => '')]);
		}
		for (const r of rows) {
			out.push(`| ${r.join(' | ')} |`);
		}
		if (stat.shaddock) {
			medians[scen] = stat.shaddock;
		}
		if (stat.pinus) {
			pinus[scen] = stat.pinus;
		}
	}
	if (by.size === 0) {
		out.splice(tableAt - 1, 3);	/* only cluster rows ran */
	}
	out.push(...clusterTable(runs, meta, notes));
	// Protobuf bodies against the JSON row of the same scenario.
	if (medians['req-pb-1'] && medians['req-tcp-1']) {
		const pb = medians['req-pb-1'];
		const js = medians['req-tcp-1'];
		out.push('');
		out.push(`shaddock, protobuf row / JSON row (req, TCP, 100 × 1): requests/s ` +
			`${ratio(pb.mrate, js.mrate)}, requests per server CPU-second ` +
			`${ratio(pb.mper, js.mper)}.`);
	}
	// TLS against Pinus, next to the targets of issue 11.
	const tls = [];
	for (const [scen, what] of [['tls-hs', 'full handshakes'],
		['tls-hs-resume', 'resumed handshakes'], ['tls-req-1', 'requests (100 × 1)']]) {
		if (medians[scen] && pinus[scen]) {
			tls.push(`${what} per server CPU-second ${ratio(medians[scen].mper, pinus[scen].mper)}`);
		}
	}
	if (medians['tls-idle'] && pinus['tls-idle'] && medians['tls-idle'].mrate > 0 &&
		pinus['tls-idle'].mrate > 0) {
		tls.push(`memory per idle TLS session 1/${(pinus['tls-idle'].mrate /
			medians['tls-idle'].mrate).toFixed(1)}`);
	}
	if (tls.length > 0) {
		out.push('');
		out.push(`shaddock / Pinus over TLS (issue 11's targets: at least 3× the full ` +
			`handshakes per server CPU-second, at most 1/4 of the memory per idle session): ` +
			`${tls.join(', ')}.`);
	}
	if (notes.length > 0) {
		out.push('');
		out.push('(!) errors:');
		for (const n of notes) {
			out.push(`- ${n}`);
		}
	}
	if (meta.elapsed_s) {
		out.push('');
		out.push(`Whole run: ${meta.elapsed_s} s.`);
	}
	console.log(out.join('\n'));
}

main();
