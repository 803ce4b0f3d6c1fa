#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Checks bench-table.js, which turns scripts/bench's result lines into
// the table: on made-up result lines it must give the TLS rows the same
// columns as the plain ones (medians, ranges, per CPU-second, ratios to
// Pinus), leave out of the resumed-handshake figures every run that did a
// full TLS handshake in its window (and say so), show "not resumed" when
// no run resumed, and print the skip notes and the TLS summary line.
// Usage: test-bench-table.js [BENCH_TABLE_JS]
'use strict';

const assert = require('assert');
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const table = process.argv[2] || path.join(__dirname, 'bench-table.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-table-'));
let failed = 0;

function line(server, scen, round, fields) {
	const kv = Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ');
	return `server=${server} scen=${scen} round=${round} rc=0 ${kv}`;
}

function hs(server, scen, round, n, cpu, tls) {
	return line(server, scen, round, Object.assign({
		scenario: 'handshake', transport: 'tcp', conns: 8, tls: '1.3',
		tls_resume: scen === 'tls-hs-resume' ? 1 : 0, duration_s: '2.00',
		handshakes: n, hps: n / 2, p50_us: 1000, p99_us: 2000, errors: 0,
		lost: 0, client_cpu_s: '0.5', server_cpu_s: cpu,
	}, tls));
}

function run(results, meta) {
	fs.writeFileSync(path.join(tmp, 'results.txt'), results.join('\n') + '\n');
	fs.writeFileSync(path.join(tmp, 'meta.txt'), meta.join('\n') + '\n');
	return cp.execFileSync(process.execPath, [table, path.join(tmp, 'results.txt'),
		path.join(tmp, 'meta.txt')], { encoding: 'utf8' });
}

// The row of <label> and the <n> lines after it.
function rows(out, label, n) {
	const lines = out.split('\n');
	const i = lines.findIndex((l) => l.startsWith(`| ${label}`));
	assert.ok(i >= 0, `no row "${label}" in:\n${out}`);
	return lines.slice(i, i + n).map((l) => l.replace(/^\| /, '').replace(/ \|$/, '')
		.split(' | ').map((c) => c.trim()));
}

function test(name, f) {
	try {
		f();
		console.log(`ok - ${name}`);
	} catch (e) {
		failed++;
		console.log(`not ok - ${name}\n${e.message.replace(/^/gm, '# ')}`);
	}
}

const meta = ['shaddock_workers=1 (one per CPU it may use)', 'rounds=2',
	'tls=TLS 1.3, a self-signed P-256 (ECDSA) certificate',
	'skipped=limit, TLS rows only: the bare-epoll responder has no TLS'];
const ok = { tls_resumed: 0, tls_full: 4000 };
const base = [
	hs('shaddock', 'tls-hs', 1, 4000, '2.000', ok),
	hs('pinus', 'tls-hs', 1, 1000, '1.600', { tls_resumed: 0, tls_full: 1000 }),
	hs('shaddock', 'tls-hs', 2, 6000, '2.000', { tls_resumed: 0, tls_full: 6000 }),
	hs('pinus', 'tls-hs', 2, 1000, '1.600', { tls_resumed: 0, tls_full: 1000 }),
	line('shaddock', 'tls-idle', 1, { scenario: 'idle', tls: '1.3', tls_resume: 0,
		sessions: 2000, hold_s: '1.50', rss_per_session_b: 1800, errors: 0, lost: 0 }),
	line('pinus', 'tls-idle', 1, { scenario: 'idle', tls: '1.3', tls_resume: 0,
		sessions: 2000, hold_s: '1.50', rss_per_session_b: 36000, errors: 0, lost: 0 }),
];

test('TLS rows: medians, ranges, per CPU-second and ratios', () => {
	const out = run(base, meta);
	const r = rows(out, 'TLS 1.3 handshake, full', 5);
	assert.strictEqual(r[0][2], '2.50k [2.00k–3.00k]');
	assert.strictEqual(r[0][3], '500 [500–500]');
	assert.strictEqual(r[0][4], '5.00×');
	assert.strictEqual(r[3][1], 'handshakes per server CPU-second');
	assert.strictEqual(r[3][2], '2.50k');
	assert.strictEqual(r[3][3], '625');
	assert.strictEqual(r[3][4], '4.00×');
	const idle = rows(out, 'idle sessions, TLS 1.3 TCP, 2000 sessions', 2);
	assert.strictEqual(idle[0][2], '1800 B [1800 B–1800 B]');
	assert.strictEqual(idle[1][4], '20.00×');
	assert.match(out, /TLS rows: TLS 1\.3, a self-signed P-256/);
	assert.match(out, /Skipped: limit, TLS rows only: the bare-epoll responder has no TLS/);
	assert.match(out, /full handshakes per server CPU-second 4\.00×.*memory per idle TLS session 1\/20\.0/);
	assert.doesNotMatch(out, /\(!\)/);
});

test('a resumed run with a full TLS handshake is left out and noted', () => {
	const out = run(base.concat([
		hs('shaddock', 'tls-hs-resume', 1, 8000, '2.000', { tls_resumed: 8001, tls_full: 0 }),
		hs('shaddock', 'tls-hs-resume', 2, 2000, '2.000', { tls_resumed: 1990, tls_full: 12 }),
		hs('pinus', 'tls-hs-resume', 1, 1000, '1.000', { tls_resumed: 1001, tls_full: 0 }),
		hs('pinus', 'tls-hs-resume', 2, 1000, '1.000', { tls_resumed: 0, tls_full: 1000 }),
	]), meta);
	const r = rows(out, 'TLS 1.3 handshake, resumed', 4);
	assert.strictEqual(r[0][2], '4.00k (!) [4.00k–4.00k]');
	assert.strictEqual(r[0][3], '500 (!) [500–500]');
	assert.strictEqual(r[3][2], '4.00k');
	assert.strictEqual(r[3][4], '4.00×');
	assert.match(out, /shaddock \(1 worker\), TLS 1\.3 handshake, resumed.*: 1 of 2 runs did not resume every TLS session \(1990 resumed and 12 full for 2000 handshakes\)/);
	assert.match(out, /Pinus 1\.7\.4, TLS 1\.3 handshake, resumed.*: 1 of 2 runs did not resume/);
});

test('no run resumed: "not resumed", no figure, no ratio', () => {
	const out = run(base.concat([
		hs('shaddock', 'tls-hs-resume', 1, 4000, '2.000', { tls_resumed: 0, tls_full: 4000 }),
		hs('pinus', 'tls-hs-resume', 1, 1000, '1.000', { tls_resumed: 1000, tls_full: 0 }),
	]), meta);
	const r = rows(out, 'TLS 1.3 handshake, resumed', 4);
	assert.strictEqual(r[0][2], 'not resumed (!)');
	assert.strictEqual(r[0][4], '—');
	assert.strictEqual(r[3][2], '—');
	assert.doesNotMatch(out, /resumed handshakes per server CPU-second [0-9]/);
});

test('an idle run short of its sessions is marked and noted', () => {
	const out = run([line('pinus', 'tls-idle', 1, { scenario: 'idle', conns: 10000,
		sessions: 7263, hold_s: '5.00', rss_per_session_b: 36000, errors: 0, lost: 0 })], []);
	const r = rows(out, 'idle sessions, TLS 1.3 TCP', 1);
	assert.strictEqual(r[0][2], '36000 B (!) [36000 B–36000 B]');
	assert.match(out, /1 of 1 runs opened only 7263 of 10000 sessions/);
});

test('without tls_full: handshakes and resumptions within the loops', () => {
	const strip = (o) => { delete o.tls_full; return o; };
	const out = run([
		hs('shaddock', 'tls-hs-resume', 1, 4000, '2.000', strip({ tls_resumed: 3995 })),
		hs('shaddock', 'tls-hs-resume', 2, 4000, '2.000', strip({ tls_resumed: 3000 })),
	], []);
	assert.match(out, /1 of 2 runs did not resume every TLS session \(3000 resumed and \? full/);
});

fs.rmSync(tmp, { recursive: true, force: true });
if (failed > 0) {
	console.log(`${failed} failed`);
	process.exit(1);
}
console.log('all passed');
