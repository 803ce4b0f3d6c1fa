// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// A hand-made WebSocket client (RFC 6455) over a plain TCP socket, for tests that need what a
// library will not do: send the upgrade request in pieces, send unmasked or over-size frames,
// fragment a message, look at ping/pong and close frames byte by byte. Frames from the server
// are decoded and kept in order with the time they arrived.

import crypto from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export const OP = Object.freeze({ CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 });
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptKey(key) {
	return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

// One client frame. mask: true (random key), false (unmasked, invalid from a client).
export function encodeFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true,
	announce } = {}) {
	const data = Buffer.from(payload);
	const len = announce ?? data.length;
	const head = [(fin ? 0x80 : 0) | opcode];
	const m = mask ? 0x80 : 0;
	if (len < 126) {
		head.push(m | len);
	} else if (len < 65536) {
		head.push(m | 126, (len >> 8) & 0xff, len & 0xff);
	} else {
		const b = Buffer.alloc(8);
		b.writeBigUInt64BE(BigInt(len));
		head.push(m | 127, ...b);
	}
	if (!mask) {
		return Buffer.concat([Buffer.from(head), data]);
	}
	const key = crypto.randomBytes(4);
	const masked = Buffer.from(data);
	for (let i = 0; i < masked.length; i++) {
		masked[i] ^= key[i & 3];
	}
	return Buffer.concat([Buffer.from(head), key, masked]);
}

export class RawWebSocket {
	// Connects and (unless upgrade: false) performs the upgrade; `split` sends the request's
	// first byte alone, then the rest after `splitDelay` ms.
	static async open({ port, host = '127.0.0.1', path = '/', upgrade = true, split = false,
		splitDelay = 200, timeout = 3000 } = {}) {
		const socket = await new Promise((resolve, reject) => {
			const s = net.connect({ port, host });
			s.once('connect', () => resolve(s));
			s.once('error', reject);
		});
		const ws = new RawWebSocket(socket);
		if (upgrade) {
			await ws.upgrade({ host: `${host}:${port}`, path, split, splitDelay, timeout });
		}
		return ws;
	}

	constructor(socket) {
		this.socket = socket;
		this.socket.setNoDelay(true);
		this.buf = Buffer.alloc(0);
		this.http = null;
		this.frames = [];
		this.waiters = [];
		this.closed = false;
		this.closeTime = null;
		this.closedPromise = new Promise((resolve) => {
			socket.on('close', () => {
				this.closed = true;
				this.closeTime = performance.now();
				this.poke();
				resolve();
			});
		});
		socket.on('error', () => {});
		socket.on('data', (chunk) => {
			this.buf = Buffer.concat([this.buf, chunk]);
			this.parse();
		});
	}

	poke() {
		for (const w of this.waiters.splice(0)) {
			w();
		}
	}

	parse() {
		if (this.http === null) {
			const end = this.buf.indexOf('\r\n\r\n');
			if (end < 0) {
				return;
			}
			this.http = this.buf.subarray(0, end + 4).toString('latin1');
			this.buf = this.buf.subarray(end + 4);
			this.poke();
		}
		for (;;) {
			if (this.buf.length < 2) {
				break;
			}
			const b0 = this.buf[0];
			const b1 = this.buf[1];
			let len = b1 & 0x7f;
			let off = 2;
			if (len === 126) {
				if (this.buf.length < 4) {
					break;
				}
				len = this.buf.readUInt16BE(2);
				off = 4;
			} else if (len === 127) {
				if (this.buf.length < 10) {
					break;
				}
				len = Number(this.buf.readBigUInt64BE(2));
				off = 10;
			}
			const masked = (b1 & 0x80) !== 0;
			if (masked) {
				off += 4;
			}
			if (this.buf.length < off + len) {
				break;
			}
			this.frames.push({
				fin: (b0 & 0x80) !== 0,
				opcode: b0 & 0x0f,
				masked,
				payload: Buffer.from(this.buf.subarray(off, off + len)),
				time: performance.now(),
			});
			this.buf = this.buf.subarray(off + len);
			this.poke();
		}
	}

	// Resolves when `fn()` is truthy (re-checked on every arrival); rejects after `timeout`.
	until(fn, timeout = 3000, what = 'a condition') {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms ` +
				`waiting for ${what}`)), timeout);
			const check = () => {
				const v = fn();
				if (v) {
					clearTimeout(timer);
					resolve(v);
				} else if (this.closed) {
					clearTimeout(timer);
					reject(new Error(`connection closed while waiting for ${what}`));
				} else {
					this.waiters.push(check);
				}
			};
			check();
		});
	}

	async upgrade({ host, path = '/', split = false, splitDelay = 200, timeout = 3000 }) {
		this.key = crypto.randomBytes(16).toString('base64');
		const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n` +
			'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
			`Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
		if (split) {
			this.socket.write(req.subarray(0, 1));
			await new Promise((resolve) => setTimeout(resolve, splitDelay));
			this.socket.write(req.subarray(1));
		} else {
			this.socket.write(req);
		}
		await this.until(() => this.http !== null, timeout, 'the upgrade answer');
		return this.http;
	}

	header(name) {
		const m = this.http?.match(new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'mi'));
		return m ? m[1] : null;
	}

	write(bytes) {
		if (!this.closed) {
			this.socket.write(bytes);
		}
	}

	send(opcode, payload, opts) {
		this.write(encodeFrame(opcode, payload, opts));
	}

	// The next frame (after index `from`) that `pred` accepts.
	async frame(pred = () => true, { from = 0, timeout = 3000, what = 'a frame' } = {}) {
		return this.until(() => this.frames.slice(from).find(pred), timeout, what);
	}

	waitClose(timeout = 3000) {
		return this.until(() => this.closed || null, timeout, 'the close').catch((err) => {
			if (this.closed) {
				return true;
			}
			throw err;
		});
	}

	close() {
		this.socket.destroy();
	}
}
