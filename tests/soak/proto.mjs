// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The client side of one Pomelo session for the soak (tests/soak/README.md), over raw TCP or
// WebSocket, lean enough for thousands per process: node built-ins only, callbacks instead of
// events, one timer of each kind per session. It behaves as pomelo-jsclient-websocket does
// (PROTOCOL.md §3): handshake, ack, the server's heartbeat right after the ack, then one client
// heartbeat `heartbeat` seconds after each heartbeat received, which the server answers at once.
// Everything the server sends is checked; a wrong byte is an error, never ignored.
//
// How a session ends is what the soak is about, so `onClosed` gets one record: who closed it
// (`byServer`: a FIN, a reset or a WebSocket close frame the client did not ask for), the reason,
// the stage it had reached, and the client's address and port (`key`, as the server and
// /proc/net/tcp see the peer).

import crypto from 'node:crypto';
import net from 'node:net';

export const PKG_HANDSHAKE = 1;
export const PKG_ACK = 2;
export const PKG_HEARTBEAT = 3;
export const PKG_DATA = 4;
export const PKG_KICK = 5;

const MSG_REQUEST = 0;
const MSG_RESPONSE = 2;
const MSG_PUSH = 3;

export const ENTRY_ROUTE = 'connector.entryHandler.entry';
export const ENTRY_OK = '{"code":200,"msg":"game server is ok."}';
const MAX_PACKAGE = 4 * 1024 * 1024;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const HANDSHAKE_BODY = Buffer.from(JSON.stringify({
	sys: { type: 'shaddock-soak', version: '0.1.0' },
	user: {},
}));

export function encodePackage(type, body) {
	const len = body ? body.length : 0;
	const b = Buffer.allocUnsafe(4 + len);
	b[0] = type;
	b[1] = (len >> 16) & 0xff;
	b[2] = (len >> 8) & 0xff;
	b[3] = len & 0xff;
	if (len) {
		body.copy(b, 4);
	}
	return b;
}

const ACK = encodePackage(PKG_ACK);
const HEARTBEAT = encodePackage(PKG_HEARTBEAT);
const HANDSHAKE = encodePackage(PKG_HANDSHAKE, HANDSHAKE_BODY);

// A request message (flag 0, id as a base-128 varint, route length and route, body) in a package.
export function encodeRequest(id, route, body) {
	const r = Buffer.from(route);
	const b = Buffer.from(body);
	const head = [MSG_REQUEST << 1];
	let v = id;
	do {
		let x = v & 0x7f;
		v = Math.floor(v / 128);
		if (v > 0) {
			x |= 0x80;
		}
		head.push(x);
	} while (v > 0);
	head.push(r.length);
	return encodePackage(PKG_DATA, Buffer.concat([Buffer.from(head), r, b]));
}

// One masked binary frame holding `payload` (a client must mask, RFC 6455 §5.3).
function wsFrame(payload, opcode = 2) {
	const len = payload.length;
	const hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
	const f = Buffer.allocUnsafe(hl + 4 + len);
	f[0] = 0x80 | opcode;
	if (len < 126) {
		f[1] = 0x80 | len;
	} else if (len < 65536) {
		f[1] = 0x80 | 126;
		f.writeUInt16BE(len, 2);
	} else {
		f[1] = 0x80 | 127;
		f.writeUInt32BE(0, 2);
		f.writeUInt32BE(len, 6);
	}
	const m = (Math.random() * 0x100000000) >>> 0;
	f.writeUInt32BE(m, hl);
	const k = [m >>> 24, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff];
	for (let i = 0; i < len; i++) {
		f[hl + 4 + i] = payload[i] ^ k[i & 3];
	}
	return f;
}

// Stages a session goes through, for the close record.
export const STAGE = Object.freeze({
	CONNECTING: 'connecting',
	UPGRADING: 'upgrading',
	HANDSHAKING: 'handshaking',
	WAIT_HEARTBEAT: 'wait-heartbeat',
	WORKING: 'working',
});

let nextSerial = 1;

// One session. opts: port, host, ws (bool), localAddress, timeout (ms for opening, a request and
// a heartbeat answer), owner (callbacks below), tag (anything the owner wants back).
// Owner callbacks: onWorking(s), onResponse(s, id, body, ms), onPush(s, route, body),
// onKick(s, reason), onClosed(s, record), onError(s, kind, detail) (the session then closes).
export class Session {
	constructor(opts) {
		this.serial = nextSerial++;
		this.opts = opts;
		this.owner = opts.owner;
		this.tag = opts.tag;
		this.ws = !!opts.ws;
		this.stage = STAGE.CONNECTING;
		this.key = null;
		this.byServer = false;
		this.reason = null;
		this.detail = null;
		this.kick = null;
		this.closing = false;
		this.done = false;
		this.pending = new Map();	// request id -> [sent ms, expected body]
		this.nextId = 1;
		this.buf = null;		// unframed package bytes
		this.wbuf = null;		// unframed WebSocket bytes
		this.http = '';
		this.hbInterval = 0;
		this.hbSend = null;
		this.hbWait = null;
		this.started = Date.now();
		this.workingAt = 0;
		this.hbSent = 0;
		this.hbRecv = 0;
		this.open();
	}

	open() {
		const o = this.opts;
		const s = net.connect({ port: o.port, host: o.host ?? '127.0.0.1',
			localAddress: o.localAddress });
		this.socket = s;
		s.setNoDelay(true);
		this.openTimer = setTimeout(() => this.fail('open-timeout',
			`not working after ${o.timeout} ms (${this.stage})`), o.timeout);
		s.on('connect', () => {
			this.key = `${s.localAddress}:${s.localPort}`;
			if (this.ws) {
				this.stage = STAGE.UPGRADING;
				this.wsKey = crypto.randomBytes(16).toString('base64');
				s.write(`GET / HTTP/1.1\r\nHost: ${o.host ?? '127.0.0.1'}:${o.port}\r\n` +
					'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
					`Sec-WebSocket-Key: ${this.wsKey}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
			} else {
				this.stage = STAGE.HANDSHAKING;
				s.write(HANDSHAKE);
			}
		});
		s.on('data', (d) => this.onData(d));
		s.on('end', () => {
			if (!this.closing) {
				this.byServer = true;
				this.reason ??= 'fin';
			}
			s.end();
		});
		s.on('error', (err) => {
			if (!this.closing) {
				if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
					this.byServer = true;
					this.reason ??= 'reset';
				} else {
					this.reason ??= 'socket-error';
					this.detail ??= err.code ?? err.message;
				}
			}
		});
		s.on('close', () => this.finish());
	}

	send(pkg) {
		if (!this.closing) {
			this.socket.write(this.ws ? wsFrame(pkg) : pkg);
		}
	}

	request(route, body, expect) {
		const id = this.nextId++;
		this.pending.set(id, [Date.now(), expect]);
		this.send(encodeRequest(id, route, body));
		return id;
	}

	// Closes from the client side (FIN), unless already closing.
	close(reason = 'client') {
		if (this.closing) {
			return;
		}
		this.closing = true;
		this.reason ??= reason;
		if (this.ws && this.stage !== STAGE.CONNECTING && this.stage !== STAGE.UPGRADING) {
			this.socket.write(wsFrame(Buffer.from([0x03, 0xe8]), 8));
		}
		this.socket.end();
		// A server that does not close its side within the timeout is reset.
		this.endTimer = setTimeout(() => this.socket.destroy(), this.opts.timeout);
	}

	fail(kind, detail) {
		if (this.closing || this.done) {
			return;
		}
		this.reason = kind;
		this.detail = detail;
		this.owner.onError?.(this, kind, detail);
		this.close(kind);
	}

	onData(d) {
		if (this.closing && this.byServer) {
			return;
		}
		if (this.ws) {
			if (this.stage === STAGE.UPGRADING) {
				this.http += d.toString('latin1');
				const end = this.http.indexOf('\r\n\r\n');
				if (end < 0) {
					if (this.http.length > 8192) {
						this.fail('upgrade', 'no end of the HTTP answer in 8 KiB');
					}
					return;
				}
				const head = this.http.slice(0, end);
				const want = crypto.createHash('sha1').update(this.wsKey + WS_GUID)
					.digest('base64');
				if (!/^HTTP\/1\.1 101 /.test(head) ||
				    !new RegExp(`\\r\\nsec-websocket-accept: *${want.replace(/[+/=]/g, '\\$&')}`, 'i')
					.test(head)) {
					this.fail('upgrade', head.split('\r\n')[0]);
					return;
				}
				const rest = Buffer.from(this.http.slice(end + 4), 'latin1');
				this.http = '';
				this.stage = STAGE.HANDSHAKING;
				this.socket.write(wsFrame(HANDSHAKE));
				if (rest.length) {
					this.onFrames(rest);
				}
				return;
			}
			this.onFrames(d);
			return;
		}
		this.onStream(d);
	}

	// WebSocket frames from the server: unmasked; binary (or continuation) payloads are the
	// package stream, a close frame ends the session, a ping is answered.
	onFrames(d) {
		let b = this.wbuf ? Buffer.concat([this.wbuf, d]) : d;
		while (b.length >= 2) {
			const op = b[0] & 0x0f;
			if (b[1] & 0x80) {
				this.fail('proto', 'a masked frame from the server');
				return;
			}
			let len = b[1] & 0x7f;
			let off = 2;
			if (len === 126) {
				if (b.length < 4) {
					break;
				}
				len = b.readUInt16BE(2);
				off = 4;
			} else if (len === 127) {
				if (b.length < 10) {
					break;
				}
				len = b.readUInt32BE(2) * 0x100000000 + b.readUInt32BE(6);
				off = 10;
			}
			if (len > MAX_PACKAGE) {
				this.fail('proto', `a ${len}-byte frame`);
				return;
			}
			if (b.length < off + len) {
				break;
			}
			const payload = b.subarray(off, off + len);
			b = b.subarray(off + len);
			if (op === 0 || op === 2) {
				this.onStream(payload);
			} else if (op === 8) {
				if (!this.closing) {
					this.byServer = true;
					this.reason ??= 'ws-close';
					this.detail ??= payload.length >= 2 ? `code ${payload.readUInt16BE(0)}` : 'no code';
					this.closing = true;
					this.socket.write(wsFrame(payload.subarray(0, 2), 8));
					this.socket.end();
				}
				this.wbuf = null;
				return;
			} else if (op === 9) {
				this.socket.write(wsFrame(payload, 10));
			} else if (op !== 10) {
				this.fail('proto', `WebSocket opcode ${op}`);
				return;
			}
			if (this.done || this.closing) {
				return;
			}
		}
		this.wbuf = b.length ? Buffer.from(b) : null;
	}

	onStream(d) {
		let b = this.buf ? Buffer.concat([this.buf, d]) : d;
		while (b.length >= 4) {
			const type = b[0];
			const len = (b[1] << 16) | (b[2] << 8) | b[3];
			if (type < PKG_HANDSHAKE || type > PKG_KICK) {
				this.fail('proto', `package type ${type}`);
				return;
			}
			if (len > MAX_PACKAGE) {
				this.fail('proto', `a ${len}-byte package`);
				return;
			}
			if (b.length < 4 + len) {
				break;
			}
			const body = b.subarray(4, 4 + len);
			b = b.subarray(4 + len);
			this.onPackage(type, body);
			if (this.closing) {
				return;
			}
		}
		this.buf = b.length ? Buffer.from(b) : null;
	}

	onPackage(type, body) {
		switch (type) {
		case PKG_HANDSHAKE: {
			if (this.stage !== STAGE.HANDSHAKING) {
				this.fail('proto', `a handshake reply in stage ${this.stage}`);
				return;
			}
			let r;
			try {
				r = JSON.parse(body.toString());
			} catch {
				this.fail('handshake', `not JSON: ${body.toString().slice(0, 80)}`);
				return;
			}
			if (r.code !== 200 || typeof r.sys?.heartbeat !== 'number' || r.sys.heartbeat <= 0) {
				this.fail('handshake', body.toString().slice(0, 120));
				return;
			}
			this.hbInterval = r.sys.heartbeat * 1000;
			this.stage = STAGE.WAIT_HEARTBEAT;
			this.send(ACK);
			return;
		}
		case PKG_HEARTBEAT:
			if (this.stage === STAGE.WAIT_HEARTBEAT) {
				clearTimeout(this.openTimer);
				this.openTimer = null;
				this.stage = STAGE.WORKING;
				this.workingAt = Date.now();
				this.hbRecv++;
				this.armHeartbeat();
				this.owner.onWorking?.(this);
				return;
			}
			if (this.stage !== STAGE.WORKING) {
				this.fail('proto', `a heartbeat in stage ${this.stage}`);
				return;
			}
			if (this.hbWait === null) {
				this.fail('proto', 'a heartbeat that answers none');
				return;
			}
			this.hbRecv++;
			clearTimeout(this.hbWait);
			this.hbWait = null;
			this.armHeartbeat();
			return;
		case PKG_DATA:
			if (this.stage !== STAGE.WORKING) {
				this.fail('proto', `data in stage ${this.stage}`);
				return;
			}
			this.onMessage(body);
			return;
		case PKG_KICK:
			this.kick = body.toString();
			try {
				this.kick = JSON.parse(this.kick).reason ?? this.kick;
			} catch {
				/* kept as text */
			}
			this.byServer = true;
			this.reason = 'kick';
			this.detail = this.kick;
			this.owner.onKick?.(this, this.kick);
			return;
		default:
			this.fail('proto', `package type ${type} from the server`);
		}
	}

	// One heartbeat `heartbeat` seconds after the last one received; its answer is due within
	// the timeout.
	armHeartbeat() {
		this.hbSend = setTimeout(() => {
			this.hbSend = null;
			this.hbSent++;
			this.send(HEARTBEAT);
			this.hbWait = setTimeout(() => this.fail('heartbeat-timeout',
				`no heartbeat answer in ${this.opts.timeout} ms`), this.opts.timeout);
		}, this.hbInterval);
	}

	onMessage(body) {
		if (body.length < 1) {
			this.fail('proto', 'an empty DATA package');
			return;
		}
		const flag = body[0];
		const mtype = (flag >> 1) & 0x7;
		let off = 1;
		if (mtype === MSG_RESPONSE) {
			let id = 0;
			let mul = 1;
			for (;;) {
				if (off >= body.length || off > 5) {
					this.fail('proto', 'a truncated response id');
					return;
				}
				const x = body[off++];
				id += (x & 0x7f) * mul;
				mul *= 128;
				if (!(x & 0x80)) {
					break;
				}
			}
			const p = this.pending.get(id);
			if (!p) {
				this.fail('id', `a response to id ${id}, not in flight`);
				return;
			}
			this.pending.delete(id);
			const text = body.subarray(off).toString();
			if (p[1] !== null && text !== p[1]) {
				this.fail('body', `route answer ${text.slice(0, 120)}`);
				return;
			}
			this.owner.onResponse?.(this, id, text, Date.now() - p[0]);
			return;
		}
		if (mtype === MSG_PUSH) {
			let route;
			if (flag & 1) {
				if (body.length < 3) {
					this.fail('proto', 'a truncated compressed route');
					return;
				}
				route = `#${body.readUInt16BE(1)}`;
				off = 3;
			} else {
				const rl = body[1];
				if (rl === undefined || body.length < 2 + rl) {
					this.fail('proto', 'a truncated push route');
					return;
				}
				route = body.subarray(2, 2 + rl).toString();
				off = 2 + rl;
			}
			this.owner.onPush?.(this, route, body.subarray(off).toString());
			return;
		}
		this.fail('proto', `message type ${mtype} from the server`);
	}

	// Requests older than the timeout are errors (checked by the owner's sweep).
	sweep(now) {
		for (const [id, p] of this.pending) {
			if (now - p[0] > this.opts.timeout) {
				this.fail('request-timeout', `no answer to id ${id} in ${this.opts.timeout} ms`);
				return;
			}
		}
	}

	finish() {
		if (this.done) {
			return;
		}
		this.done = true;
		clearTimeout(this.openTimer);
		clearTimeout(this.hbSend);
		clearTimeout(this.hbWait);
		clearTimeout(this.endTimer);
		this.owner.onClosed?.(this, {
			key: this.key,
			transport: this.ws ? 'ws' : 'tcp',
			byServer: this.byServer,
			reason: this.reason ?? (this.closing ? 'client' : 'closed'),
			detail: this.detail,
			kick: this.kick,
			stage: this.stage,
			ageMs: Date.now() - this.started,
			workingMs: this.workingAt ? Date.now() - this.workingAt : 0,
			t: Date.now(),
			pending: this.pending.size,
		});
	}
}
