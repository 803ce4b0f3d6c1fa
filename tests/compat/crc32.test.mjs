// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Differential test of common/crc32.c against the npm packages the two frameworks route with:
// crc@0.2.0 (Pomelo, as "crc-pomelo") and crc@4.3.2 (Pinus, as "crc-pinus"), both installed
// from tests/package.json. Seeded random strings (ASCII, BMP, astral, malformed UTF-8 bytes) and
// random uid values (numbers of every magnitude, big integer literals, booleans, arrays, ...)
// go through the C tool crc32-tool and through the default route of pomelo-rpc / pinus-rpc
// (`Math.abs(crc.crc32((session.uid || '').toString())) % list.length`), and must agree on the
// key, both crc values and the server index for 3 and 7 servers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const crcPomelo = require('crc-pomelo');
const crcPinus = require('crc-pinus');

const TOOL = process.env.SHADDOCK_CRC32_TOOL;
const SEED = Number(process.env.SHADDOCK_CRC32_SEED ?? 20261130);
const N = 4000;

// mulberry32: a small seeded generator, so that a failure can be replayed.
function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n);

function randomCodePoint(kind) {
	switch (kind) {
	case 'ascii':
		return 0x20 + int(0x5f);
	case 'latin':
		return 0x80 + int(0x780);
	case 'bmp': {
		let cp;
		do {
			cp = 0x800 + int(0x10000 - 0x800);
		} while (cp >= 0xd800 && cp <= 0xdfff);
		return cp;
	}
	default:
		return 0x10000 + int(0x100000);
	}
}

function randomString() {
	const kinds = ['ascii', 'latin', 'bmp', 'astral'];
	const mix = kinds.slice(0, 1 + int(4));
	let s = '';
	for (let i = int(40); i > 0; i--) {
		s += String.fromCodePoint(randomCodePoint(mix[int(mix.length)]));
	}
	if (int(8) === 0) {
		s += '\u0000' + s; // NULs pass through the tool's hex form
	}
	return s;
}

function randomBytes() {
	const b = Buffer.alloc(int(24));
	for (let i = 0; i < b.length; i++) {
		// Bias towards UTF-8 lead and continuation bytes.
		b[i] = int(3) === 0 ? int(256) : [0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0x80, 0xbf, 0x61][int(8)];
	}
	return b;
}

function randomUidJson() {
	switch (int(12)) {
	case 0: {
		// Any double from random bits, finite.
		const buf = Buffer.alloc(8);
		let v;
		do {
			for (let i = 0; i < 8; i++) {
				buf[i] = int(256);
			}
			v = buf.readDoubleLE(0);
		} while (!Number.isFinite(v));
		return JSON.stringify(v);
	}
	case 1:
		return JSON.stringify((rand() - 0.5) * 10 ** (int(60) - 30));
	case 2:
		return JSON.stringify(int(2 ** 31) - 2 ** 30);
	case 3: {
		// An integer literal beyond 64 bits: JavaScript rounds it to a double.
		let s = String(1 + int(9));
		for (let i = 15 + int(15); i > 0; i--) {
			s += String(int(10));
		}
		return s;
	}
	case 4:
		return ['null', 'true', 'false', '0', '-0', '0.0', '""', '[]', '{}', '1e21', '1e-7',
			'123456789012345680000'][int(12)];
	case 5:
		return JSON.stringify([int(100), 'a', null, [int(5), true], rand()]);
	case 6:
		return JSON.stringify({ a: int(9) });
	default:
		return JSON.stringify(randomString());
	}
}

// What pomelo-rpc's and pinus-rpc's default routes compute for a key; the tool also echoes
// the key's bytes (<bytes> when the C side was given bytes that are not the key's UTF-8).
function expected(key, bytes) {
	const p = crcPomelo.crc32(key);
	const q = crcPinus.crc32(key);
	return [p, q, Math.abs(p) % 3, Math.abs(q) % 3, Math.abs(p) % 7, Math.abs(q) % 7,
		(bytes ?? Buffer.from(key, 'utf8')).toString('hex')].join(' ');
}

function runTool(lines) {
	assert.ok(TOOL, 'SHADDOCK_CRC32_TOOL is not set');
	const r = spawnSync(TOOL, [], { input: lines.join('\n') + '\n', encoding: 'utf8',
		maxBuffer: 64 << 20, timeout: 30000 });
	assert.equal(r.status, 0, `crc32-tool failed: ${r.stderr}`);
	const out = r.stdout.split('\n');
	out.pop();
	assert.equal(out.length, lines.length);
	return out;
}

function compare(inputs, lines, keys, bytes = []) {
	const out = runTool(lines);
	const bad = [];
	for (let i = 0; i < lines.length; i++) {
		const want = expected(keys[i], bytes[i]);
		if (out[i] !== want) {
			bad.push(`input ${JSON.stringify(inputs[i])}:\n  C:    ${out[i]}\n  Node: ${want}`);
		}
	}
	assert.equal(bad.length, 0, `seed ${SEED}: ${bad.length} of ${lines.length} differ; ` +
		`the first:\n${bad.slice(0, 5).join('\n')}`);
}

test('the CLUSTER.md vectors', () => {
	const keys = ['alice*r1', 'bob*r1', 'x', 'r1', 'lobby', '', 'é', '中', '😀', '42', 'uidH\u0083we'];
	compare(keys, keys.map((k) => 's ' + Buffer.from(k).toString('hex')), keys);
});

test(`random strings: ASCII, BMP, astral (seed ${SEED})`, () => {
	const keys = [];
	for (let i = 0; i < N; i++) {
		keys.push(randomString());
	}
	compare(keys, keys.map((k) => 's ' + Buffer.from(k).toString('hex')), keys);
});

test('random bytes, malformed UTF-8 decoded as Node decodes it', () => {
	const bytes = [];
	for (let i = 0; i < N; i++) {
		bytes.push(randomBytes());
	}
	// A C frontend holds bytes; the string Node would make of them is what is hashed.
	compare(bytes, bytes.map((b) => 's ' + b.toString('hex')), bytes.map((b) => b.toString('utf8')),
		bytes);
});

test('random uid values: (session.uid || \'\').toString()', () => {
	const json = [];
	for (let i = 0; i < N; i++) {
		json.push(randomUidJson());
	}
	const keys = json.map((j) => (JSON.parse(j) || '').toString());
	compare(json, json.map((j) => 'j ' + j), keys);
});
