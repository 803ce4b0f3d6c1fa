// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Small helpers shared by the integration tests: bounded waits, running a program with a time
// limit, and (from ports.mjs) reserved loopback ports. Every wait here has a deadline; nothing
// polls forever.

import { execFile } from 'node:child_process';

export { freePort, reservePort } from './ports.mjs';

export function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Rejects with `what` when `promise` has not settled within `ms`.
export function withTimeout(promise, ms, what = 'operation') {
	let timer;
	const timeout = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Calls `fn` every `interval` ms until it returns a truthy value (returned) or `ms` passes
// (throws, with the last value or error in the message).
export async function waitFor(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
	const deadline = Date.now() + timeout;
	let last;
	for (;;) {
		try {
			const v = await fn();
			if (v) {
				return v;
			}
			last = v;
		} catch (err) {
			last = err;
		}
		if (Date.now() >= deadline) {
			const detail = last instanceof Error ? last.message : JSON.stringify(last);
			throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`);
		}
		await sleep(interval);
	}
}

// The lines that start a sanitizer report: AddressSanitizer and LeakSanitizer errors (and
// ASan's warnings), UBSan's "FILE:LINE:COL: runtime error: ...".
const SANITIZER_RE = /^.*(ERROR: AddressSanitizer|WARNING: AddressSanitizer|ERROR: LeakSanitizer|runtime error: ).*$/m;

// The sanitizer report in `text` (a daemon's log, a program's stderr): from the first line of
// one, at most 80 lines; null when there is none.
export function sanitizerReport(text) {
	const m = SANITIZER_RE.exec(text ?? '');
	if (!m) {
		return null;
	}
	return text.slice(m.index).split('\n').slice(0, 80).join('\n');
}

// Runs a program; resolves { code, signal, stdout, stderr } (never rejects on a non-zero exit,
// but rejects when its stderr holds a sanitizer report).
export function run(file, args = [], { timeout = 10000, env, input } = {}) {
	return new Promise((resolve, reject) => {
		const child = execFile(file, args, {
			timeout,
			killSignal: 'SIGKILL',
			env: env ?? process.env,
			maxBuffer: 16 * 1024 * 1024,
		}, (err, stdout, stderr) => {
			if (err && typeof err.code !== 'number' && !err.signal) {
				reject(err);
				return;
			}
			const report = sanitizerReport(stderr);
			if (report) {
				reject(new Error(`${file} ${args.join(' ')} reported:\n${report}`));
				return;
			}
			resolve({
				code: err ? (typeof err.code === 'number' ? err.code : null) : 0,
				signal: err?.signal ?? null,
				stdout,
				stderr,
			});
		});
		if (input !== undefined) {
			child.stdin.end(input);
		} else {
			child.stdin.end();
		}
	});
}

// True when this process may act as another user (setpriv needs root).
export function isRoot() {
	return typeof process.getuid === 'function' && process.getuid() === 0;
}
