// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// One client interface over the two clients the cluster tests use: the unchanged npm
// pomelo-jsclient-websocket (WebSocket; tests/integration/lib/jsclient.mjs) and the raw-TCP
// Pomelo client (tests/integration/lib/pomelo-raw.mjs). Both answer heartbeats, keep every push
// ({route, body, time}) and kick they receive, and have bounded waits:
//
//   const c = await openClient('ws', { port });
//   const body = await c.request('game.gameHandler.echo', { a: 1 });
//   const push = await c.waitPush('onRoom');
//   const kick = await c.waitKick();           // {reason}
//   c.close();

import { performance } from 'node:perf_hooks';
import { createClient } from '../../integration/lib/jsclient.mjs';
import { PomeloRawClient } from '../../integration/lib/pomelo-raw.mjs';
import { waitFor } from '../../integration/lib/util.mjs';

// Push routes the test game sends; the jsclient emits pushes by route name only.
export const PUSH_ROUTES = ['onJoin', 'onLeave', 'onRoom', 'onBroadcast', 'onDirect', 'onBench',
	'onScore'];

export const KINDS = ['ws', 'tcp'];

const open = new Set();

process.on('exit', () => {
	for (const c of open) {
		try {
			c.close();
		} catch {
			/* gone */
		}
	}
});

class BaseClient {
	constructor(kind) {
		this.kind = kind;
		this.pushes = [];
		this.kicks = [];
		this.closed = false;
		open.add(this);
	}

	onPushReceived(route, body, extra = {}) {
		this.pushes.push({ route, body, time: performance.now(), ...extra });
	}

	// Resolves the first push of `route` (already received or to come) that `pred` accepts.
	async waitPush(route, { timeout = 3000, pred = () => true, from = 0 } = {}) {
		return waitFor(() => this.pushes.slice(from).find((p) => p.route === route && pred(p.body)),
			{ timeout, interval: 10, what: `push ${route} on a ${this.kind} client` });
	}

	pushesOf(route) {
		return this.pushes.filter((p) => p.route === route).map((p) => p.body);
	}

	async waitKick({ timeout = 3000 } = {}) {
		return waitFor(() => this.kicks[0], { timeout, interval: 10, what: 'a kick' });
	}

	async waitClose({ timeout = 3000 } = {}) {
		return waitFor(() => this.closed, { timeout, interval: 10, what: 'the connection to close' });
	}
}

class WsClient extends BaseClient {
	constructor() {
		super('ws');
		this.js = createClient();
		for (const r of PUSH_ROUTES) {
			this.js.on(r, (body) => this.onPushReceived(r, body));
		}
		this.js.on('onKick', (data) => this.kicks.push(data));
		this.js.on('close', () => {
			this.closed = true;
		});
	}

	async init(host, port, timeout) {
		await this.js.init({ host, port, log: false }, { timeout });
		this.handshake = this.js.frames.find((f) => f.dir === 'in' && f.type === 1);
		this.localPort = this.js.localPort();
	}

	// The handshake reply's JSON.
	handshakeReply() {
		return this.handshake ? JSON.parse(this.handshake.body.toString('utf8')) : null;
	}

	request(route, body = {}, { timeout = 5000 } = {}) {
		return this.js.request(route, body, { timeout });
	}

	notify(route, body = {}) {
		this.js.notify(route, body);
	}

	// DATA packages received so far (responses and pushes).
	dataIn() {
		return this.js.frames.filter((f) => f.dir === 'in' && f.type === 4).length;
	}

	close() {
		open.delete(this);
		this.js.disconnect();
	}
}

class TcpClient extends BaseClient {
	constructor() {
		super('tcp');
	}

	async init(host, port, timeout) {
		this.raw = await PomeloRawClient.open({ host, port, timeout, autoHeartbeat: true });
		this.localPort = this.raw.localPort;
		this.raw.on('push', (m) => this.onPushReceived(m.routeName ?? m.route, m.body,
			{ compressed: Boolean(m.compressRoute) }));
		this.raw.on('kick', (json) => this.kicks.push(json));
		this.raw.on('close', () => {
			this.closed = true;
		});
		if (this.raw.closed) {
			this.closed = true;
		}
		// The first heartbeat goes out at once so a server waiting for one is satisfied.
		this.raw.scheduleHeartbeat();
	}

	handshakeReply() {
		return this.raw.handshakeReply;
	}

	async request(route, body = {}, { timeout = 5000 } = {}) {
		const res = await this.raw.request(route, body, { timeout });
		return res.body;
	}

	notify(route, body = {}, opts = {}) {
		this.raw.notify(route, body, opts);
	}

	dataIn() {
		return this.raw.count(4);
	}

	// A request sent with the route's dictionary code (from the handshake) instead of its name.
	async requestCompressed(route, body = {}, { timeout = 5000 } = {}) {
		const res = await this.raw.request(route, body, { timeout, compress: true });
		return res.body;
	}

	close() {
		open.delete(this);
		this.raw.close();
	}
}

// Opens a client of `kind` ('ws' or 'tcp') to host:port and completes the handshake.
export async function openClient(kind, { host = '127.0.0.1', port, timeout = 5000 } = {}) {
	const c = kind === 'ws' ? new WsClient() : kind === 'tcp' ? new TcpClient() : null;
	if (!c) {
		throw new Error(`unknown client kind ${kind}`);
	}
	try {
		await c.init(host, port, timeout);
	} catch (err) {
		open.delete(c);
		throw err;
	}
	return c;
}
