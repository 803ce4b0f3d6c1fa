// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// A raw-TCP Pomelo client for the tests. Packages and messages are encoded and decoded with the
// npm `pomelo-protocol` package (the codec every Pomelo server and JS client uses), so the tests
// speak the protocol as Pomelo does; on top of that it splits the TCP byte stream into packages
// itself (any chunking, several packages per read), keeps every received package with the time
// it arrived, and offers raw-byte helpers for malformed input: writing arbitrary bytes, writing
// one byte at a time, headers that lie about their length.
//
//   const c = await PomeloRawClient.open({ port });          // connect, handshake, ack
//   const res = await c.request('connector.entryHandler.entry', { name: 'x' });
//   res.body  // { code: 200, msg: 'game server is ok.' }

import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Protocol = require('pomelo-protocol');

const { Package, Message } = Protocol;

export const PKG = Object.freeze({
	HANDSHAKE: Package.TYPE_HANDSHAKE,
	ACK: Package.TYPE_HANDSHAKE_ACK,
	HEARTBEAT: Package.TYPE_HEARTBEAT,
	DATA: Package.TYPE_DATA,
	KICK: Package.TYPE_KICK,
});

export const MSG = Object.freeze({
	REQUEST: Message.TYPE_REQUEST,
	NOTIFY: Message.TYPE_NOTIFY,
	RESPONSE: Message.TYPE_RESPONSE,
	PUSH: Message.TYPE_PUSH,
});

export const ENTRY_ROUTE = 'connector.entryHandler.entry';
export const ENTRY_OK = Object.freeze({ code: 200, msg: 'game server is ok.' });

export const DEFAULT_HANDSHAKE = Object.freeze({
	sys: { type: 'shaddock-test', version: '0.0.1' },
	user: {},
});

function toBody(body) {
	if (body === undefined || body === null) {
		return null;
	}
	if (Buffer.isBuffer(body)) {
		return body;
	}
	if (typeof body === 'string') {
		return Buffer.from(body, 'utf8');
	}
	return Buffer.from(Protocol.strencode(JSON.stringify(body)));
}

// A whole package: [type][length: 3 bytes big-endian][body].
export function encodePackage(type, body) {
	return Buffer.from(Package.encode(type, toBody(body)));
}

// A package header alone, announcing `length` body bytes (which may be a lie).
export function encodeHeader(type, length) {
	return Buffer.from([type & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff]);
}

// Base-128 varint, least significant group first (PROTOCOL.md §4.2), for any uint32.
export function encodeVarint(n) {
	const out = [];
	let v = n;
	do {
		let b = v % 128;
		v = Math.floor(v / 128);
		if (v > 0) {
			b |= 0x80;
		}
		out.push(b);
	} while (v > 0);
	return Buffer.from(out);
}

// A DATA package holding a request. `route` is a string, or a number with compress.
export function encodeRequest(id, route, body = {}, { compress = typeof route === 'number' } = {}) {
	if (id > 0x7fffffff) {
		// pomelo-protocol sizes ids with a signed 32-bit shift and cannot encode these.
		const head = compress
			? Buffer.from([0x01, ...encodeVarint(id), (route >> 8) & 0xff, route & 0xff])
			: Buffer.concat([Buffer.from([0x00]), encodeVarint(id),
				Buffer.from([Buffer.byteLength(route)]), Buffer.from(route)]);
		return encodePackage(PKG.DATA, Buffer.concat([head, toBody(body) ?? Buffer.alloc(0)]));
	}
	const msg = Message.encode(id, MSG.REQUEST, compress ? 1 : 0, route, toBody(body));
	return encodePackage(PKG.DATA, Buffer.from(msg));
}

export function encodeNotify(route, body = {}, { compress = typeof route === 'number' } = {}) {
	const msg = Message.encode(0, MSG.NOTIFY, compress ? 1 : 0, route, toBody(body));
	return encodePackage(PKG.DATA, Buffer.from(msg));
}

export function encodeHandshake(obj = DEFAULT_HANDSHAKE) {
	return encodePackage(PKG.HANDSHAKE, typeof obj === 'string' ? obj : JSON.stringify(obj));
}

export const ACK_BYTES = encodePackage(PKG.ACK);
export const HEARTBEAT_BYTES = encodePackage(PKG.HEARTBEAT);

function parseJson(buf) {
	if (!buf) {
		return undefined;
	}
	try {
		return JSON.parse(Protocol.strdecode(buf));
	} catch {
		return undefined;
	}
}

// Splits a byte stream into packages, across any chunking.
class Framer {
	constructor() {
		this.buf = Buffer.alloc(0);
	}

	push(chunk) {
		this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
		const out = [];
		while (this.buf.length >= 4) {
			const len = (this.buf[1] << 16) | (this.buf[2] << 8) | this.buf[3];
			if (this.buf.length < 4 + len) {
				break;
			}
			out.push(this.buf.subarray(0, 4 + len));
			this.buf = this.buf.subarray(4 + len);
		}
		return out;
	}
}

export class PomeloRawClient extends EventEmitter {
	// Opens a TCP connection; resolves once connected. With `tls` (options for tls.connect, e.g.
	// { ca }), the connection is TLS and resolves once its handshake is done.
	static connect({ port, host = '127.0.0.1', timeout = 3000, tls: tlsOpts, ...opts } = {}) {
		return new Promise((resolve, reject) => {
			const socket = tlsOpts ? tls.connect({ port, host, ...tlsOpts })
				: net.connect({ port, host });
			const timer = setTimeout(() => {
				socket.destroy();
				reject(new Error(`connect to ${host}:${port} timed out`));
			}, timeout);
			socket.once(tlsOpts ? 'secureConnect' : 'connect', () => {
				clearTimeout(timer);
				socket.removeListener('error', onError);
				resolve(new PomeloRawClient(socket, opts));
			});
			const onError = (err) => {
				clearTimeout(timer);
				reject(err);
			};
			socket.once('error', onError);
		});
	}

	// Connects, handshakes and acks: a session in WORKING state.
	static async open({ handshake = DEFAULT_HANDSHAKE, waitHeartbeat = false, ...opts } = {}) {
		const c = await PomeloRawClient.connect(opts);
		try {
			c.handshakeReply = await c.handshake(handshake, { timeout: opts.timeout ?? 3000 });
			if (c.handshakeReply?.code !== 200) {
				throw new Error(`handshake refused: ${JSON.stringify(c.handshakeReply)}`);
			}
			c.ack();
			if (waitHeartbeat) {
				await c.next((p) => p.type === PKG.HEARTBEAT, opts.timeout ?? 3000,
					'the heartbeat after the ack');
			}
		} catch (err) {
			c.close();
			throw err;
		}
		return c;
	}

	constructor(socket, { autoHeartbeat = false, heartbeatDelay = null, noDelay = true } = {}) {
		super();
		this.socket = socket;
		this.localPort = socket.localPort;
		this.autoHeartbeat = autoHeartbeat;
		this.heartbeatDelay = heartbeatDelay; // ms; null = the handshake's sys.heartbeat
		this.heartbeatTimer = null;
		this.framer = new Framer();
		this.received = [];     // every package, in order
		this.unclaimed = [];    // packages no waiter took yet
		this.waiters = [];
		this.reqId = 0;
		this.heartbeat = 0;     // seconds, from the handshake reply
		this.dict = null;       // route -> code
		this.codeToRoute = null;
		this.sent = { heartbeats: 0 };
		this.closed = false;
		this.closeInfo = null;
		this.error = null;
		socket.setNoDelay(noDelay);
		this.closedPromise = new Promise((resolve) => {
			socket.on('close', (hadError) => {
				this.closed = true;
				clearTimeout(this.heartbeatTimer);
				this.closeInfo = {
					time: performance.now(),
					hadError,
					code: this.error?.code ?? null,
				};
				for (const w of this.waiters.splice(0)) {
					clearTimeout(w.timer);
					w.reject(new Error(`connection closed while waiting for ${w.what}` +
						(this.error ? ` (${this.error.code || this.error.message})` : '')));
				}
				this.emit('close', this.closeInfo);
				resolve(this.closeInfo);
			});
		});
		socket.on('error', (err) => {
			this.error = err;
		});
		socket.on('data', (chunk) => this.onData(chunk));
	}

	onData(chunk) {
		for (const raw of this.framer.push(chunk)) {
			this.onPackage(raw);
		}
	}

	onPackage(raw) {
		const decoded = Package.decode(raw);
		const pkg = {
			type: decoded.type,
			body: decoded.body ? Buffer.from(decoded.body) : null,
			raw: Buffer.from(raw),
			time: performance.now(),
		};
		if (pkg.type === PKG.DATA && pkg.body) {
			const m = Message.decode(pkg.body);
			pkg.message = {
				id: m.id,
				type: m.type,
				compressRoute: m.compressRoute,
				route: m.route,
				rawBody: Buffer.from(m.body),
				body: parseJson(m.body),
			};
			if (m.compressRoute && this.codeToRoute) {
				pkg.message.routeName = this.codeToRoute[m.route];
			}
		} else if (pkg.type === PKG.HANDSHAKE || pkg.type === PKG.KICK) {
			pkg.json = parseJson(pkg.body);
		}
		this.received.push(pkg);
		if (pkg.type === PKG.HEARTBEAT && this.autoHeartbeat) {
			this.scheduleHeartbeat();
		}
		if (pkg.type === PKG.KICK) {
			this.emit('kick', pkg.json, pkg);
		} else if (pkg.type === PKG.DATA && pkg.message?.type === MSG.PUSH) {
			this.emit('push', pkg.message, pkg);
		}
		this.emit('package', pkg);
		const i = this.waiters.findIndex((w) => w.pred(pkg));
		if (i >= 0) {
			const [w] = this.waiters.splice(i, 1);
			clearTimeout(w.timer);
			w.resolve(pkg);
		} else {
			this.unclaimed.push(pkg);
		}
	}

	// Like pomelo-jsclient-websocket: a heartbeat from the server is answered one interval later.
	scheduleHeartbeat() {
		if (this.heartbeatTimer || this.closed) {
			return;
		}
		const delay = this.heartbeatDelay ?? this.heartbeat * 1000;
		this.heartbeatTimer = setTimeout(() => {
			this.heartbeatTimer = null;
			if (!this.closed) {
				this.sendHeartbeat();
			}
		}, delay);
	}

	// The first package (already received and unclaimed, or still to come) that `pred` accepts.
	next(pred = () => true, timeout = 3000, what = 'a package') {
		const i = this.unclaimed.findIndex(pred);
		if (i >= 0) {
			return Promise.resolve(this.unclaimed.splice(i, 1)[0]);
		}
		if (this.closed) {
			return Promise.reject(new Error(`connection closed while waiting for ${what}`));
		}
		return new Promise((resolve, reject) => {
			const w = { pred, resolve, reject, what };
			w.timer = setTimeout(() => {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				reject(new Error(`timed out after ${timeout} ms waiting for ${what}`));
			}, timeout);
			this.waiters.push(w);
		});
	}

	nextOfType(type, timeout = 3000) {
		return this.next((p) => p.type === type, timeout, `a package of type ${type}`);
	}

	// Packages of `type` received so far (claimed or not).
	count(type) {
		return this.received.filter((p) => p.type === type).length;
	}

	write(bytes) {
		if (!this.closed) {
			this.socket.write(Buffer.from(bytes));
		}
	}

	// Writes `bytes` `size` bytes at a time with `delay` ms between writes (separate segments).
	async writeChunked(bytes, { size = 1, delay = 3 } = {}) {
		const buf = Buffer.from(bytes);
		for (let off = 0; off < buf.length && !this.closed; off += size) {
			await new Promise((resolve) => this.socket.write(buf.subarray(off, off + size), resolve));
			await new Promise((resolve) => setTimeout(resolve, delay));
		}
	}

	sendPackage(type, body) {
		this.write(encodePackage(type, body));
	}

	// Sends a handshake and resolves its decoded JSON reply.
	async handshake(obj = DEFAULT_HANDSHAKE, { timeout = 3000 } = {}) {
		this.write(encodeHandshake(obj));
		const pkg = await this.nextOfType(PKG.HANDSHAKE, timeout);
		this.takeHandshake(pkg.json);
		return pkg.json;
	}

	takeHandshake(reply) {
		const sys = reply?.sys ?? {};
		this.heartbeat = sys.heartbeat ?? 0;
		if (sys.dict) {
			this.dict = sys.dict;
			this.codeToRoute = {};
			for (const [route, code] of Object.entries(sys.dict)) {
				this.codeToRoute[code] = route;
			}
		}
	}

	ack() {
		this.write(ACK_BYTES);
	}

	sendHeartbeat() {
		this.sent.heartbeats++;
		this.write(HEARTBEAT_BYTES);
	}

	// The id the next request() will use unless told otherwise.
	nextId() {
		return this.reqId + 1;
	}

	// Sends a request and resolves its response message ({ id, body, rawBody, ... }).
	// compress: send the dictionary code for `route` (from the handshake) instead of the string.
	async request(route, body = {}, { id, compress = false, timeout = 3000 } = {}) {
		const reqId = id ?? ++this.reqId;
		if (id !== undefined && id > this.reqId) {
			this.reqId = id;
		}
		let r = route;
		if (compress && typeof route === 'string') {
			if (!this.dict || this.dict[route] === undefined) {
				throw new Error(`route ${route} is not in the handshake dictionary`);
			}
			r = this.dict[route];
		}
		const waiting = this.response(reqId, timeout);
		this.write(encodeRequest(reqId, r, body, { compress: compress || typeof r === 'number' }));
		const pkg = await waiting;
		return { ...pkg.message, package: pkg };
	}

	// Resolves the response package to request `id`.
	response(id, timeout = 3000) {
		return this.next((p) => p.type === PKG.DATA && p.message?.type === MSG.RESPONSE &&
			p.message.id === id, timeout, `the response to request ${id}`);
	}

	notify(route, body = {}, { compress = false } = {}) {
		let r = route;
		if (compress && typeof route === 'string') {
			r = this.dict[route];
		}
		this.write(encodeNotify(r, body, { compress: compress || typeof r === 'number' }));
	}

	onPush(cb) {
		this.on('push', cb);
		return this;
	}

	onKick(cb) {
		this.on('kick', cb);
		return this;
	}

	onClose(cb) {
		this.on('close', cb);
		return this;
	}

	// Resolves { time, hadError, code } when the server closes; rejects after `timeout` ms.
	waitClose(timeout = 3000) {
		if (this.closed) {
			return Promise.resolve(this.closeInfo);
		}
		let timer;
		return Promise.race([
			this.closedPromise,
			new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error(
					`connection still open after ${timeout} ms`)), timeout);
			}),
		]).finally(() => clearTimeout(timer));
	}

	// Stops reading from the socket (the kernel buffers fill, then the server's).
	pauseReading() {
		this.socket.pause();
	}

	close() {
		clearTimeout(this.heartbeatTimer);
		this.socket.destroy();
	}
}
