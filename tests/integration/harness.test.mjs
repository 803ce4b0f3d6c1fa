// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The harness's sanitizer checks (lib/daemon.mjs, lib/util.mjs): a daemon whose log holds an
// AddressSanitizer, LeakSanitizer or UBSan report fails its stop(), with the report, and its
// folder is kept; run() rejects when a program's stderr holds one. The reports here are fake
// lines written by a launcher in front of the real shaddockd, so the checks are proven on every
// build, sanitized or not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startDaemon } from './lib/daemon.mjs';
import { run, sanitizerReport } from './lib/util.mjs';

const REPORTS = [
	'==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010',
	'==123==ERROR: LeakSanitizer: detected memory leaks',
	'../worker/conn.c:42:7: runtime error: signed integer overflow',
];

// A launcher that writes `line` to the daemon's stderr (its log), then execs shaddockd.
function launcher(line) {
	return () => ['sh', '-c', 'printf "%s\\n" "$0" >&2; exec "$@"', line];
}

test('sanitizerReport finds each kind of report, from its first line', () => {
	for (const line of REPORTS) {
		const text = `2026-01-01T00:00:00.000 1 M info starting\n${line}\n    #0 0x1 in f\n`;
		assert.equal(sanitizerReport(text), `${line}\n    #0 0x1 in f\n`);
	}
	assert.equal(sanitizerReport('2026-01-01T00:00:00.000 1 M warn worker 0 exited\n'), null);
	assert.equal(sanitizerReport(''), null);
});

for (const line of REPORTS) {
	test(`a daemon that logged "${line.slice(0, 40)}..." fails its stop()`, async () => {
		const d = await startDaemon({ wrap: launcher(line) });
		assert.match(d.log(), /M info ready/);
		await assert.rejects(d.stop(), (err) => {
			assert.ok(err.message.includes(line), err.message);
			assert.ok(err.message.includes(d.logPath), err.message);
			return true;
		});
		assert.equal(d.running, false, 'the daemon still runs');
		assert.ok(fs.existsSync(d.logPath), 'the folder was removed');
		fs.rmSync(d.dir, { recursive: true, force: true });
	});
}

test('a daemon without a report stops and its folder goes', async () => {
	const d = await startDaemon({});
	await d.stop();
	assert.equal(fs.existsSync(d.dir), false);
});

test('run() rejects when the stderr of a program holds a report', async () => {
	await assert.rejects(run('sh', ['-c', `echo '${REPORTS[2]}' >&2`]), /runtime error: signed/);
	const r = await run('sh', ['-c', 'echo plain >&2; exit 3']);
	assert.deepEqual([r.code, r.stderr], [3, 'plain\n']);
});
