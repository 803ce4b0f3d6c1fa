// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Differential test of common/protobuf.c (through pb-tool) against the npm codecs as oracles:
// npm pomelo-protobuf 0.4.0 (its server codec, what Pomelo 2.2.7 runs, and its browser codec
// lib/client/protobuf.js with the wire-type quirk) and pinus-protobuf 1.7.4 (bool, 64-bit,
// map/obj). Random schemas and random values, from a seeded generator (PB_DIFF_SEED=n repeats a
// run; a failure names its seed):
//   - the parsed form's JSON text and the version equal JSON.stringify(parse(schema)) and its MD5;
//   - a value encoded here gives the same bytes as the server codec (resp. pinus), and both
//     fail together (a missing required field);
//   - bytes from every oracle encoder decode here to what the oracle's decoder makes of them;
//   - bytes encoded here decode there to what they decode to here;
//   - random byte strings in a string field decode as Node's Buffer.toString does.
// Schemas and values are written as JSON text by hand, so that keys JavaScript reorders (array
// indices) come in any order, as they may in a file or in a backend's message.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const pomelo = require('pomelo-protobuf');
const pomeloBrowser = require('pomelo-protobuf/lib/client/protobuf.js');
const { Protobuf: Pinus } = require('pinus-protobuf');

const TOOL = process.env.SHADDOCK_PB_TOOL;
const SEED = process.env.PB_DIFF_SEED !== undefined ?
	Number(process.env.PB_DIFF_SEED) : crypto.randomInt(2 ** 31);
const SCHEMAS = Number(process.env.PB_DIFF_SCHEMAS ?? 60);	// per flavour
const VALUES = 12;						// per route

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-diff-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// mulberry32: small, seedable, good enough to pick test cases.
function rng(seed) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	next.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
	next.pick = (arr) => arr[Math.floor(next() * arr.length)];
	next.chance = (p) => next() < p;
	return next;
}

// An object as an ordered list of members, so that the JSON text keeps our order.
class Obj {
	constructor(pairs = []) {
		this.pairs = pairs;
	}
}

function text(v) {
	if (v instanceof Obj) {
		return '{' + v.pairs.map(([k, x]) => JSON.stringify(k) + ':' + text(x)).join(',') + '}';
	}
	if (Array.isArray(v)) {
		return '[' + v.map(text).join(',') + ']';
	}
	return JSON.stringify(v);
}

function shuffle(r, arr) {
	for (let i = arr.length - 1; i > 0; i--) {
		const j = r.int(0, i);
		[arr[i], arr[j]] = [arr[j], arr[i]];
	}
	return arr;
}

const SCALARS = ['uInt32', 'int32', 'sInt32', 'float', 'double', 'string'];
const PINUS_SCALARS = ['bool', 'uInt64', 'sInt64'];
const KEY_TYPES = ['string', 'uInt32', 'int32', 'sInt32', 'uInt64', 'sInt64'];
const NAME_POOL = ['id', 'msg', 'from', 'target', 'x', 'y', 'list', 'pos', 'hp', 'name', '7',
	'12', '3', 'quo"te', 'back\\slash', 'tab\there', 'é', '中文', 'nl\nx', 'ctl\u0001',
	'', 'items', 'kv', 'z9', '0', '4294967295', '4294967294', '01'];
const ROUTE_POOL = ['onChat', 'onAdd', 'area.playerHandler.move', 'connector.entryHandler.enter',
	'5', '10', '2', 'ro"ute', 'päth', 'r\u0002', 'message', 'chat.chatHandler.send'];

// Schema generation. A message description: { fields: [{rule, type, name, tag}], nested: Map }
// plus its source text as an Obj. Types refer to nested messages of the same message or to
// globals, as the codecs resolve them.
function genSchema(r, pinus) {
	const globals = [];
	const nGlobals = r.int(0, 2);
	for (let i = 0; i < nGlobals; i++) {
		globals.push({ name: `G${i}`, desc: null });
	}
	const ctx = { r, pinus, globals };
	const top = [];
	const routes = [];
	// Globals first in scope (any order in the file).
	for (const g of globals) {
		g.desc = genMessage(ctx, 1, g.name);
	}
	const used = new Set();
	const nRoutes = r.int(1, 3);
	for (let i = 0; i < nRoutes; i++) {
		let name = r.pick(ROUTE_POOL);
		while (used.has(name)) {
			name += 'x';
		}
		used.add(name);
		const desc = genMessage(ctx, 0, null);
		routes.push({ name, desc });
		top.push([name, desc.src]);
	}
	for (const g of globals) {
		top.splice(r.int(0, top.length), 0, ['message ' + g.name, g.desc.src]);
	}
	return { src: new Obj(top), routes, globals };
}

function genMessage(ctx, depth, selfGlobal) {
	const { r, pinus } = ctx;
	const desc = { fields: [], nested: new Map(), src: null };
	const pairs = [];
	// Nested messages (types visible from this message only).
	const nNested = depth < 2 ? r.int(0, 2) : 0;
	for (let i = 0; i < nNested; i++) {
		const n = i === 0 && ctx.globals.length > 0 && r.chance(0.2) ? 'G0' : `N${depth}${i}`;
		const sub = genMessage(ctx, depth + 1, null);
		desc.nested.set(n, sub);
	}
	const tags = new Set();
	const names = new Set();
	const nFields = r.int(0, 6);
	const bigTags = r.chance(0.2);
	for (let i = 0; i < nFields; i++) {
		let name = r.pick(NAME_POOL);
		if (names.has(name)) {
			name = `f${i}`;
		}
		if (names.has(name)) {
			continue;
		}
		let tag;
		do {
			tag = bigTags ? r.int(0, 300000) : r.int(0, 20);
		} while (tags.has(tag));
		const f = { name, tag, rule: r.pick(['required', 'optional', 'optional', 'repeated']) };
		// Types: scalars, nested, globals (a global may refer to itself: recursion, optional).
		const choices = [...SCALARS, ...(pinus ? PINUS_SCALARS : [])];
		const msgs = [...desc.nested].filter(([, x]) => !x.kv).map(([k]) => k);
		const globs = ctx.globals.filter((g) => g.desc !== null || g.name === selfGlobal)
			.map((g) => g.name);
		const kind = r();
		if (kind < 0.3 && (msgs.length > 0 || globs.length > 0)) {
			f.type = r.pick([...msgs, ...globs]);
			if (f.type === selfGlobal && f.rule === 'required') {
				f.rule = 'optional';
			}
		} else if (pinus && kind < 0.45) {
			// map/obj: an entry message nested here with key and value.
			f.rule = r.pick(['map', 'obj']);
			const kv = `KV${i}`;
			const valueTypes = [...choices, ...msgs, ...globs.filter((g) => g !== selfGlobal)];
			const vt = r.pick(valueTypes);
			const kvsrc = new Obj(shuffle(r, [['required ' + r.pick(KEY_TYPES) + ' key', 1],
				['optional ' + vt + ' value', 2]]));
			desc.nested.set(kv, { kv: true, src: kvsrc, keyType: kvsrc.pairs.find((p) =>
				p[0].endsWith(' key'))[0].split(' ')[1], valueType: vt });
			f.type = kv;
		} else {
			f.type = r.pick(choices);
		}
		tags.add(tag);
		names.add(name);
		desc.fields.push(f);
		pairs.push([`${f.rule} ${f.type} ${name}`, r.chance(0.1) ? tag + 0.0 : tag]);
	}
	for (const [n, sub] of desc.nested) {
		pairs.splice(r.int(0, pairs.length), 0, ['message ' + n, sub.src]);
	}
	desc.src = new Obj(pairs);
	return desc;
}

function findType(schema, desc, type) {
	if (desc.nested.has(type)) {
		return desc.nested.get(type);
	}
	const g = schema.globals.find((x) => x.name === type);
	return g ? g.desc : null;
}

// Value generation, by schema.
const CHARS = ['a', 'b', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u007f',
	'é', 'ß', '中', '\u2028', '\ufeff', '😀', '𝄞', '\uffff'];

function genString(r) {
	let s = '';
	const n = r.int(0, 8);
	for (let i = 0; i < n; i++) {
		s += r.pick(CHARS);
	}
	return s;
}

function genInt(r, signed, big) {
	const k = r();
	let v;
	if (k < 0.4) {
		v = r.int(0, 300);
	} else if (k < 0.7) {
		v = r.int(0, 2 ** 32);
	} else if (k < 0.85) {
		v = Math.floor(r() * 2 ** 53);
	} else if (k < 0.93 && big) {
		v = Math.floor(r() * 2 ** 62);
	} else if (k < 0.96) {
		// parseInt cases: numeric strings and fractions
		return r.pick(['42', ' 7', '0x1f', '12abc', '-0', '+9', '\u00a05', '1e3', '007']);
	} else {
		v = r.int(0, 1000) + 0.5;
	}
	if (signed && r.chance(0.5)) {
		v = -v;
	}
	return v;
}

function genFloat(r) {
	return r.pick([0, 1, -1, 1.5, 0.1, -2.75, 3.4e38, 1e39, 1e-46, 65504, 123456789,
		Math.fround(r() * 1000), (r() - 0.5) * 1e6, 2 ** -149]);
}

function genDouble(r) {
	return r.pick([0, 1, -1, 0.1, 1e300, -1e-300, 5e-324, 2 ** 53 + 2, Math.PI,
		(r() - 0.5) * 1e12, r()]);
}

function genScalar(r, type) {
	switch (type) {
	case 'uInt32':
		return genInt(r, false, false);
	case 'uInt64':
		return genInt(r, false, true);
	case 'int32':
	case 'sInt32':
		return genInt(r, true, false);
	case 'sInt64':
		return genInt(r, true, true);
	case 'float':
		return genFloat(r);
	case 'double':
		return genDouble(r);
	case 'string':
		return genString(r);
	case 'bool':
		return r.pick([true, false, true, false, 0, 1, '', 'x', null, 2.5]);
	}
	return undefined;
}

function genKey(r, type) {
	if (type === 'string') {
		return r.pick(['a', 'b', '10', '2', '0', 'key"', '中', '', ' 3', 'x y']);
	}
	const signed = type === 'int32' || type === 'sInt32' || type === 'sInt64';
	// Keys are numbers in JavaScript first: 2^53 + 1 reads as 2^53. (A Map's numeric keys
	// come from Number(key), an obj's from parseInt(key): keep to forms both read alike.)
	return r.pick([0, 1, 2, 10, 300, 2 ** 31, 2 ** 40, '9007199254740993', '007', '0x10',
		...(signed ? [-1, -77, '-9007199254740993'] : [])]).toString();
}

function genValue(ctx, desc, depth) {
	const { r, schema } = ctx;
	const pairs = [];
	for (const f of desc.fields) {
		const required = f.rule === 'required';
		if (!required && r.chance(0.35)) {
			continue;
		}
		if (required && r.chance(0.02)) {
			continue;	// both codecs must refuse
		}
		const v = genField(f);
		if (v === undefined) {
			if (required) {
				return undefined;
			}
			continue;
		}
		pairs.push([f.name, v]);
	}
	if (r.chance(0.1)) {
		pairs.push(['unknown' + r.int(0, 9), r.pick([1, 'x', null, [1]])]);
	}
	return new Obj(shuffle(r, pairs));
	function genOne(type) {
		const sub = findType(schema, desc, type);
		if (sub) {
			if (depth > 3) {
				return undefined;
			}
			return genValue(ctx, sub, depth + 1);
		}
		return genScalar(r, type);
	}
	function genField(f) {
		if (f.rule === 'repeated') {
			if (r.chance(0.05)) {
				return null;
			}
			const n = r.int(0, 4);
			const arr = [];
			for (let i = 0; i < n; i++) {
				const x = genOne(f.type);
				if (x === undefined) {
					return undefined;
				}
				arr.push(x);
			}
			return arr;
		}
		if (f.rule === 'map' || f.rule === 'obj') {
			const kv = desc.nested.get(f.type);
			const keys = new Set();
			const n = r.int(0, 3);
			const entries = [];
			for (let i = 0; i < n; i++) {
				const k = genKey(r, kv.keyType);
				if (keys.has(k)) {
					continue;
				}
				const x = genOne(kv.valueType);
				if (x === undefined || x === null) {
					continue;
				}
				keys.add(k);
				entries.push([k, x]);
			}
			return new Obj(entries);
		}
		return genOne(f.type);
	}
}

// Pinus encodes map fields only from Map objects: convert by schema, keys as the key type.
function toPinusInput(schema, desc, v) {
	if (v === null || typeof v !== 'object' || Array.isArray(v)) {
		return v;
	}
	const out = {};
	for (const k of Object.keys(v)) {
		const f = desc.fields.find((x) => x.name === k);
		let x = v[k];
		if (f) {
			const conv = (type, y) => {
				const sub = findType(schema, desc, type);
				return sub && !sub.kv ? toPinusInput(schema, sub, y) : y;
			};
			if (f.rule === 'map' || f.rule === 'obj') {
				// An obj keeps its string keys (pinus parseInt's them); a Map
				// gets numbers for the integer key types, in the object's order.
				const kv = desc.nested.get(f.type);
				const num = f.rule === 'map' && kv.keyType !== 'string';
				const entries = Object.keys(x).map((key) => [num ? Number(key) : key,
					conv(kv.valueType, x[key])]);
				x = f.rule === 'map' ? new Map(entries) : Object.fromEntries(entries);
			} else if (f.rule === 'repeated' && Array.isArray(x)) {
				x = x.map((y) => conv(f.type, y));
			} else {
				x = conv(f.type, x);
			}
		}
		out[k] = x;
	}
	return out;
}

// The server codec sizes its buffers from JSON.stringify(value) * 2, which a few doubles
// overflow (RangeError); the browser codec from the length alone. Padding every message
// object with an unknown member gives them room without changing what they encode.
function pad(schema, desc, v) {
	if (v === null || typeof v !== 'object' || Array.isArray(v)) {
		return v;
	}
	const out = {};
	for (const k of Object.keys(v)) {
		const f = desc.fields.find((x) => x.name === k);
		let x = v[k];
		if (f) {
			const sub = findType(schema, desc, f.type);
			if (sub && f.rule === 'repeated' && Array.isArray(x)) {
				x = x.map((y) => pad(schema, sub, y));
			} else if (sub) {
				x = pad(schema, sub, x);
			}
		}
		out[k] = x;
	}
	out['\u0000pad'] = 'x'.repeat(64 + 8 * JSON.stringify(v).length);
	return out;
}

// As JSON, the way a backend would receive it: Maps as objects, NaN as null, -0 as 0.
function norm(v) {
	return JSON.parse(JSON.stringify(v, (k, x) => x instanceof Map ?
		Object.fromEntries([...x].map(([a, b]) => [String(a), b])) : x));
}

function quiet(fn) {
	const saved = [console.log, console.warn, console.error];
	console.log = console.warn = console.error = () => {};
	try {
		return { ok: true, value: fn() };
	} catch (err) {
		return { ok: false, err };
	} finally {
		[console.log, console.warn, console.error] = saved;
	}
}

const hex = (b) => Buffer.from(b).toString('hex');

// One pb-tool process per schema; requests go in batches, one answer line each.
class Tool {
	constructor(file, pinus) {
		this.proc = spawn(TOOL, [...(pinus ? ['-p'] : []), file], { stdio: ['pipe', 'pipe', 'inherit'] });
		this.buf = '';
		this.lines = [];
		this.waiting = null;
		this.proc.stdout.setEncoding('utf8');
		this.proc.stdout.on('data', (d) => {
			this.buf += d;
			let i;
			while ((i = this.buf.indexOf('\n')) >= 0) {
				this.lines.push(this.buf.slice(0, i));
				this.buf = this.buf.slice(i + 1);
			}
			this.wake();
		});
		this.exited = new Promise((resolve) => this.proc.on('exit', (code) => {
			this.code = code;
			this.wake();
			resolve(code);
		}));
	}

	wake() {
		if (this.waiting && (this.lines.length >= this.waiting.n || this.code !== undefined)) {
			const w = this.waiting;
			this.waiting = null;
			w.resolve(this.lines.splice(0, w.n));
		}
	}

	batch(reqs) {
		return new Promise((resolve) => {
			this.waiting = { n: reqs.length, resolve };
			this.proc.stdin.write(reqs.map((q) => q.join('\t') + '\n').join(''));
			this.wake();
		});
	}

	async close() {
		this.proc.stdin.end();
		await this.exited;
	}
}

function answer(line) {
	const [status, ...rest] = line === undefined ? ['ERR', 'no answer'] : line.split('\t');
	return { ok: status === 'OK', rest };
}

let schemaNo = 0;
async function runSchema(r, pinus, stats) {
	const schema = genSchema(r, pinus);
	const src = text(schema.src);
	const file = path.join(tmp, `s${schemaNo++}.json`);
	fs.writeFileSync(file, src);
	const parsed = pinus ? Pinus.parse(JSON.parse(src)) : pomelo.parse(JSON.parse(src));
	const parsedText = JSON.stringify(parsed);
	const ctx = `schema ${src}`;

	const tool = new Tool(file, pinus);
	try {
		// The parsed form and both versions.
		const [p] = await tool.batch([['P']]);
		const pa = answer(p);
		assert.ok(pa.ok, `${ctx}: ${p}`);
		assert.equal(pa.rest[0], parsedText, `${ctx}: parsed form`);
		const md5 = (s) => crypto.createHash('md5').update(s).digest('base64');
		assert.equal(pa.rest[1], md5('{}' + parsedText), `${ctx}: version as server protos`);
		assert.equal(pa.rest[2], md5(parsedText + '{}'), `${ctx}: version as client protos`);

		let pin;
		if (pinus) {
			pin = new Pinus({ encoderProtos: parsed, decoderProtos: parsed,
				encoderCacheSize: 1 << 20 });
		} else {
			pomelo.init({ encoderProtos: parsed, decoderProtos: parsed });
			pomeloBrowser.init({ encoderProtos: parsed, decoderProtos: parsed });
		}

		// Round 1: encode here; decode here what the oracles encoded.
		const cases = [];
		for (const route of schema.routes) {
			for (let i = 0; i < VALUES; i++) {
				const v = genValue({ r, schema }, route.desc, 0);
				if (v === undefined) {
					continue;
				}
				const t = text(v);
				const input = JSON.parse(t);
				const c = { route: route.name, t, ctx: `${ctx} route ${JSON.stringify(route.name)} value ${t}` };
				if (pinus) {
					// With a cache the result is a view of it: copy.
					c.oracle = quiet(() => {
						const b = pin.encode(route.name,
							toPinusInput(schema, route.desc, input));
						return b === null ? null : Buffer.from(b);
					});
				} else {
					c.oracle = quiet(() => pomelo.encode(route.name, pad(schema, route.desc, input)));
					c.browser = quiet(() => pomeloBrowser.encode(route.name,
						pad(schema, route.desc, input)));
				}
				cases.push(c);
			}
		}
		const reqs = [];
		for (const c of cases) {
			reqs.push(['E', c.route, c.t]);
			const ob = c.oracle.ok && c.oracle.value ? hex(c.oracle.value) : '';
			reqs.push(['D', c.route, ob]);
			const bb = c.browser?.ok && c.browser.value ? hex(c.browser.value) : '';
			reqs.push(['D', c.route, bb]);
		}
		const res = await tool.batch(reqs);
		const round2 = [];
		cases.forEach((c, i) => {
			const enc = answer(res[3 * i]);
			c.enc = enc;
			if (!c.oracle.ok) {
				const overflow = c.oracle.err instanceof RangeError;
				assert.ok(!overflow, `${c.ctx}: the oracle overflowed: ${c.oracle.err}`);
				assert.ok(!enc.ok, `${c.ctx}: the oracle threw (${c.oracle.err}), here: ${res[3 * i]}`);
				stats.bothFail++;
				return;
			}
			if (c.oracle.value === null) {
				// A refused value (missing required), or one that encodes to nothing.
				assert.ok(!enc.ok || enc.rest[0] === '', `${c.ctx}: the oracle refused, here: ${res[3 * i]}`);
				stats.bothFail += enc.ok ? 0 : 1;
				stats.empty += enc.ok ? 1 : 0;
				return;
			}
			const want = hex(c.oracle.value);
			assert.ok(enc.ok, `${c.ctx}: encode failed here: ${res[3 * i]} (oracle ${want})`);
			assert.equal(enc.rest[0], want, `${c.ctx}: bytes`);
			stats.encoded++;

			const oracleDecode = (b) => quiet(() => pinus ? pin.decode(c.route, b) :
				pomelo.decode(c.route, b));
			const dec = answer(res[3 * i + 1]);
			const od = oracleDecode(c.oracle.value);
			assert.ok(od.ok, `${c.ctx}: the oracle cannot decode its own bytes: ${od.err}`);
			assert.ok(dec.ok, `${c.ctx}: decode failed here: ${res[3 * i + 1]}`);
			assert.deepStrictEqual(norm(JSON.parse(dec.rest[0])), norm(od.value), `${c.ctx}: decoded`);
			if (c.browser && !(c.browser.ok && c.browser.value)) {
				// It throws on a null array (msg[name].length), unlike the server codec.
				stats.browserFailed++;
			} else if (c.browser) {
				const bd = oracleDecode(Buffer.from(c.browser.value));
				assert.ok(bd.ok, `${c.ctx}: the server codec cannot decode the browser's bytes`);
				const decb = answer(res[3 * i + 2]);
				assert.ok(decb.ok, `${c.ctx}: decoding the browser's ${hex(c.browser.value)} failed here: ${res[3 * i + 2]}`);
				assert.deepStrictEqual(norm(JSON.parse(decb.rest[0])), norm(bd.value),
					`${c.ctx}: browser bytes ${hex(c.browser.value)} decoded`);
				stats.browser++;
			}
			round2.push(c);
		});

		// Round 2: what was encoded here decodes there as here.
		const res2 = await tool.batch(round2.map((c) => ['D', c.route, c.enc.rest[0]]));
		round2.forEach((c, i) => {
			const here = answer(res2[i]);
			assert.ok(here.ok, `${c.ctx}: decoding our own bytes failed: ${res2[i]}`);
			const there = quiet(() => pinus ? pin.decode(c.route, Buffer.from(c.enc.rest[0], 'hex')) :
				pomelo.decode(c.route, Buffer.from(c.enc.rest[0], 'hex')));
			assert.ok(there.ok, `${c.ctx}: the oracle cannot decode our bytes: ${there.err}`);
			assert.deepStrictEqual(norm(JSON.parse(here.rest[0])), norm(there.value),
				`${c.ctx}: our bytes decoded`);
		});
	} finally {
		await tool.close();
	}
	assert.equal(tool.code, 0, `${ctx}: pb-tool exited with ${tool.code}`);
	stats.schemas++;
}

function seeded(name, fn) {
	test(name, { skip: !TOOL && 'SHADDOCK_PB_TOOL is not set' }, async (t) => {
		try {
			await fn(t);
		} catch (err) {
			err.message += `\n(seed ${SEED}: rerun with PB_DIFF_SEED=${SEED})`;
			throw err;
		}
	});
}

for (const pinus of [false, true]) {
	seeded(`random schemas and values against ${pinus ? 'pinus-protobuf' : 'pomelo-protobuf (server and browser codecs)'}`, async (t) => {
		const r = rng(SEED + (pinus ? 1 : 0));
		const stats = { schemas: 0, encoded: 0, browser: 0, browserFailed: 0, bothFail: 0,
			empty: 0 };
		for (let i = 0; i < SCHEMAS; i++) {
			await runSchema(r, pinus, stats);
		}
		t.diagnostic(`seed ${SEED}: ${JSON.stringify(stats)}`);
		assert.ok(stats.encoded > SCHEMAS * 3, `too few values encoded: ${JSON.stringify(stats)}`);
	});
}

seeded('random bytes in a string field decode as Buffer.toString does', async () => {
	const r = rng(SEED + 2);
	const file = path.join(tmp, 'str.json');
	const src = '{"s":{"optional string s":1,"repeated string l":2}}';
	fs.writeFileSync(file, src);
	pomelo.init({ encoderProtos: pomelo.parse(JSON.parse(src)), decoderProtos: pomelo.parse(JSON.parse(src)) });
	const tool = new Tool(file, false);
	const bodies = [];
	for (let i = 0; i < 400; i++) {
		const n = r.int(0, 10);
		const bytes = [];
		for (let j = 0; j < n; j++) {
			bytes.push(r.chance(0.5) ? r.pick([0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf,
				0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff]) : r.int(0, 255));
		}
		bodies.push(Buffer.from([r.pick([0x0a, 0x12]), n, ...bytes]));
	}
	const res = await tool.batch(bodies.map((b) => ['D', 's', hex(b)]));
	await tool.close();
	bodies.forEach((b, i) => {
		const a = answer(res[i]);
		assert.ok(a.ok, `${hex(b)}: ${res[i]}`);
		const want = quiet(() => pomelo.decode('s', b));
		assert.ok(want.ok);
		assert.deepStrictEqual(JSON.parse(a.rest[0]), norm(want.value), `bytes ${hex(b)}`);
	});
});

seeded('the version of two files, one or both absent', async () => {
	const a = path.join(tmp, 'client.json');
	const b = path.join(tmp, 'server.json');
	const ca = '{"chat.chatHandler.send":{"required string rid":1,"required string content":2}}';
	const sb = '{"onChat":{"required string msg":1,"required string from":2,"required string target":3}}';
	fs.writeFileSync(a, ca);
	fs.writeFileSync(b, sb);
	const J = (s) => JSON.stringify(pomelo.parse(JSON.parse(s)));
	const md5 = (s) => crypto.createHash('md5').update(s).digest('base64');
	const run = (x, y) => new Promise((resolve) => {
		const p = spawn(TOOL, ['-V', x, y]);
		let out = '';
		p.stdout.on('data', (d) => {
			out += d;
		});
		p.on('exit', () => resolve(out.trim()));
	});
	assert.equal(await run(a, b), md5(J(ca) + J(sb)));
	assert.equal(await run('-', b), md5('{}' + J(sb)));
	assert.equal(await run(a, '-'), md5(J(ca) + '{}'));
	assert.equal(await run('-', '-'), '');
});
