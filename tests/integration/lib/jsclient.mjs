// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Runs the real npm `pomelo-jsclient-websocket` 0.1.1 under Node, unchanged, with the browser
// globals it expects. In a browser the client is loaded by a component build
// (template/web-server's build.js): every file is a CommonJS-style module called with
// (exports, require, module) and `this` = window, and a boot file sets
// window.EventEmitter = require('emitter'), window.Protocol = require('pomelo-protocol'),
// window.protobuf = require('pomelo-protobuf'), then requires the client. This file does the same
// with the npm sources of those four packages (component-emitter, pomelo-protocol's
// lib/protocol.js, pomelo-protobuf's lib/client/protobuf.js, the client), a WebSocket class from
// `ws`, a localStorage, and a console that records instead of printing. The client keeps its
// state in module variables, so each createClient() evaluates all of it afresh: independent
// clients.
//
// The WebSocket given to the client records every frame both ways (tap), so tests can see the
// packages on the wire (heartbeats, kicks) while the client runs as it would in a page.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import WebSocketImpl from 'ws';

const require = createRequire(import.meta.url);

function sourceOf(pkg, file) {
	const dir = require.resolve(`${pkg}/package.json`).replace(/package\.json$/, '');
	return fs.readFileSync(dir + file, 'utf8');
}

const SOURCES = {
	emitter: sourceOf('component-emitter', 'index.js'),
	protocol: sourceOf('pomelo-protocol', 'lib/protocol.js'),
	protobuf: sourceOf('pomelo-protobuf', 'lib/client/protobuf.js'),
	client: sourceOf('pomelo-jsclient-websocket', 'lib/pomelo-client.js'),
};

const PARAMS = ['exports', 'require', 'module', 'window', 'WebSocket', 'console', 'localStorage',
	'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'];

const COMPILED = Object.fromEntries(Object.entries(SOURCES).map(([name, src]) =>
	[name, new Function(...PARAMS, `${src}\n//# sourceURL=jsclient-${name}.js`)]));

class MemoryStorage {
	constructor() {
		this.items = new Map();
	}

	getItem(k) {
		return this.items.has(k) ? this.items.get(k) : null;
	}

	setItem(k, v) {
		this.items.set(k, String(v));
	}

	removeItem(k) {
		this.items.delete(k);
	}

	clear() {
		this.items.clear();
	}
}

function packageTypes(data) {
	const bytes = new Uint8Array(data);
	const out = [];
	let off = 0;
	while (off + 4 <= bytes.length) {
		const len = (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3];
		out.push({ type: bytes[off], body: Buffer.from(bytes.subarray(off + 4, off + 4 + len)) });
		off += 4 + len;
	}
	return out;
}

// Creates one independent client. Returns { pomelo, init, request, notify, on, once,
// disconnect, waitEvent, frames, logs, socket(), localPort() }. With `tls` (options for the
// TLS connection, e.g. { ca }), the WebSocket the client makes dials wss:// instead of the
// ws:// URL the client builds, as a page served over https would.
export function createClient({ storage = new MemoryStorage(), quiet = true, tls = null } = {}) {
	const logs = [];
	const frames = []; // { dir: 'in' | 'out', type, body, time }
	const record = (level) => (...args) => {
		logs.push({ level, text: args.map((a) => (typeof a === 'string' ? a : safe(a))).join(' ') });
		if (!quiet) {
			console[level](...args);
		}
	};
	const fakeConsole = {
		log: record('log'), info: record('info'), warn: record('warn'),
		error: record('error'), debug: record('debug'),
	};
	let lastSocket = null;

	// The browser's WebSocket, taken from `ws`, with a tap on every frame.
	class TapWebSocket extends WebSocketImpl {
		constructor(url, protocols) {
			if (tls) {
				super(url.replace(/^ws:/, 'wss:'), protocols, tls);
			} else {
				super(url, protocols);
			}
			lastSocket = this;
			this.addEventListener('message', (ev) => {
				const time = performance.now();
				for (const p of packageTypes(ev.data)) {
					frames.push({ dir: 'in', type: p.type, body: p.body, time });
				}
			});
		}

		send(data, ...rest) {
			const time = performance.now();
			for (const p of packageTypes(data)) {
				frames.push({ dir: 'out', type: p.type, body: p.body, time });
			}
			return super.send(data, ...rest);
		}
	}

	const window = {};
	window.window = window;
	window.localStorage = storage;
	window.WebSocket = TapWebSocket;
	window.console = fakeConsole;

	const modules = {};
	const requireShim = (name) => {
		const key = { emitter: 'emitter', 'component-emitter': 'emitter',
			'pomelo-protocol': 'protocol', 'pomelo-protobuf': 'protobuf',
			'pomelo-jsclient-websocket': 'client' }[name];
		if (!key) {
			throw new Error(`jsclient loader: unknown module ${name}`);
		}
		if (!modules[key]) {
			const module = { exports: {} };
			modules[key] = module;
			COMPILED[key].call(window, module.exports, requireShim, module, window, TapWebSocket,
				fakeConsole, storage, setTimeout, clearTimeout, setInterval, clearInterval);
		}
		return modules[key].exports;
	};

	// The boot component of Pomelo's web template, line for line.
	window.EventEmitter = requireShim('emitter');
	window.Protocol = requireShim('pomelo-protocol');
	window.protobuf = requireShim('pomelo-protobuf');
	// The client (0.1.1) decodes server-protobuf bodies with protobuf.decodeStr, which
	// pomelo-protobuf's client codec names decode: a browser build aliases it, so do we.
	if (!window.protobuf.decodeStr) {
		window.protobuf.decodeStr = window.protobuf.decode;
	}
	const pomelo = requireShim('pomelo-jsclient-websocket');
	window.pomelo = pomelo;

	const api = {
		pomelo,
		frames,
		logs,
		storage,
		socket: () => lastSocket,
		localPort: () => lastSocket?._socket?.localPort ?? null,

		// Resolves once the handshake is done and acked (the init callback); rejects on a
		// handshake error, a close before it, or after `timeout` ms.
		init(params, { timeout = 5000 } = {}) {
			return new Promise((resolve, reject) => {
				let done = false;
				const finish = (fn, v) => {
					if (!done) {
						done = true;
						clearTimeout(timer);
						pomelo.off('error', onError);
						pomelo.off('close', onClose);
						fn(v);
					}
				};
				const onError = (e) => finish(reject, new Error(`jsclient error: ${safe(e)}`));
				const onClose = (e) => finish(reject,
					new Error(`jsclient: socket closed during init (code ${e?.code})`));
				const timer = setTimeout(() => finish(reject,
					new Error(`jsclient init timed out after ${timeout} ms`)), timeout);
				pomelo.on('error', onError);
				pomelo.on('close', onClose);
				pomelo.init(params, (socket) => finish(resolve, socket));
			});
		},

		// Resolves the response body; rejects after `timeout` ms.
		request(route, msg, { timeout = 3000 } = {}) {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(
					`jsclient: no response to ${route} within ${timeout} ms`)), timeout);
				pomelo.request(route, msg, (body) => {
					clearTimeout(timer);
					resolve(body);
				});
			});
		},

		notify(route, msg) {
			pomelo.notify(route, msg);
		},

		on(event, fn) {
			pomelo.on(event, fn);
			return api;
		},

		once(event, fn) {
			pomelo.once(event, fn);
			return api;
		},

		// Resolves the first emission of `event` (its first argument); rejects after `timeout`.
		waitEvent(event, timeout = 3000) {
			return new Promise((resolve, reject) => {
				const fn = (arg) => {
					clearTimeout(timer);
					resolve(arg);
				};
				const timer = setTimeout(() => {
					pomelo.off(event, fn);
					reject(new Error(`jsclient: no '${event}' within ${timeout} ms`));
				}, timeout);
				pomelo.once(event, fn);
			});
		},

		disconnect() {
			pomelo.disconnect();
			if (lastSocket && lastSocket.readyState !== WebSocketImpl.CLOSED) {
				lastSocket.terminate();
			}
		},
	};
	return api;
}

function safe(v) {
	try {
		if (v && typeof v === 'object' && 'type' in v && 'target' in v) {
			return `[${v.type} event${v.code !== undefined ? ` code ${v.code}` : ''}]`;
		}
		return JSON.stringify(v);
	} catch {
		return String(v);
	}
}
