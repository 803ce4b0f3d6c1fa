// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The MQTT 3.1.1 subset that Pomelo's admin and RPC links use (CLUSTER.md §2): CONNECT, CONNACK,
// PUBLISH at QoS 0, PINGREQ/PINGRESP, DISCONNECT, and a framer that splits a TCP byte stream into
// packets across any chunking. Written for the tests' admin client; no library.

export const TYPE = Object.freeze({
	CONNECT: 1, CONNACK: 2, PUBLISH: 3, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14,
});

function remainingLength(n) {
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

function packet(first, body) {
	return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
}

function str(s) {
	const b = Buffer.from(s, 'utf8');
	const len = Buffer.alloc(2);
	len.writeUInt16BE(b.length);
	return Buffer.concat([len, b]);
}

// CONNECT as Node sends it: "MQTT", level 4, clean session, keepalive 0, client id only.
export function connect(clientId) {
	return packet(TYPE.CONNECT << 4, Buffer.concat([str('MQTT'), Buffer.from([4, 2, 0, 0]),
		str(clientId)]));
}

// PUBLISH, QoS 0; `payload` is a string or a Buffer.
export function publish(topic, payload) {
	return packet(TYPE.PUBLISH << 4, Buffer.concat([str(topic), Buffer.from(payload)]));
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const PINGRESP = Buffer.from([0xd0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

// Splits a byte stream into packets: push(chunk) returns [{type, flags, body, topic?, payload?}].
export class Framer {
	constructor(maxPacket = 16 * 1024 * 1024) {
		this.buf = Buffer.alloc(0);
		this.max = maxPacket;
	}

	push(chunk) {
		this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
		const out = [];
		for (;;) {
			if (this.buf.length < 2) {
				break;
			}
			let len = 0;
			let mul = 1;
			let i = 1;
			let complete = false;
			for (; i < 5 && i < this.buf.length; i++) {
				len += (this.buf[i] & 0x7f) * mul;
				mul *= 128;
				if ((this.buf[i] & 0x80) === 0) {
					complete = true;
					break;
				}
			}
			if (!complete) {
				if (i >= 5) {
					throw new Error('mqtt: remaining length longer than 4 bytes');
				}
				break;
			}
			if (len > this.max) {
				throw new Error(`mqtt: packet of ${len} bytes`);
			}
			const start = i + 1;
			if (this.buf.length < start + len) {
				break;
			}
			const first = this.buf[0];
			const body = this.buf.subarray(start, start + len);
			const p = { type: first >> 4, flags: first & 15, body: Buffer.from(body) };
			if (p.type === TYPE.PUBLISH) {
				const tlen = body.readUInt16BE(0);
				p.topic = body.subarray(2, 2 + tlen).toString('utf8');
				const qos = (first >> 1) & 3;
				p.payload = Buffer.from(body.subarray(2 + tlen + (qos > 0 ? 2 : 0)));
			}
			out.push(p);
			this.buf = this.buf.subarray(start + len);
		}
		return out;
	}
}

// Pomelo's admin payloads: JSON, sometimes a JSON string holding JSON (CLUSTER.md §3.3).
export function parseAdmin(payload) {
	let v = JSON.parse(payload.toString('utf8'));
	if (typeof v === 'string') {
		v = JSON.parse(v);
	}
	return v;
}
