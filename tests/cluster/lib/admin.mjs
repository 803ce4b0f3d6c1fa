// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// An admin client for a Pomelo 2.2.7 / Pinus 1.7.4 master, as `pomelo list` is one
// (CLUSTER.md §3.7): MQTT CONNECT, `register` as type "client" with the adminUser.json user
// (md5 password), then requests on topic `client`. list() asks the master's console module for
// every registered server's `list` record (the master fans it out to every monitor, shaddock's
// workers included) and resolves {serverId: {serverId, serverType, pid, ...}}.

import net from 'node:net';
import crypto from 'node:crypto';
import * as mqtt from './mqtt.mjs';

export class AdminClient {
	static async open({ host = '127.0.0.1', port, username = 'admin', password = 'admin',
		timeout = 5000 } = {}) {
		const c = new AdminClient();
		await c.connect({ host, port, username, password, timeout });
		return c;
	}

	constructor() {
		this.reqId = 1;
		this.pending = new Map();
		this.framer = new mqtt.Framer();
		this.closed = false;
	}

	connect({ host, port, username, password, timeout }) {
		this.id = `shaddock_test_admin_${Date.now()}_${process.pid}`;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.close();
				reject(new Error(`admin client: no register answer from ${host}:${port} in ${timeout} ms`));
			}, timeout);
			const fail = (err) => {
				clearTimeout(timer);
				this.close();
				reject(err);
			};
			this.socket = net.connect({ host, port });
			this.socket.on('error', fail);
			this.socket.on('close', () => {
				this.closed = true;
				for (const [, p] of this.pending) {
					clearTimeout(p.timer);
					p.reject(new Error('admin client: the master closed the connection'));
				}
				this.pending.clear();
			});
			this.socket.on('connect', () => this.socket.write(mqtt.connect(this.id)));
			this.socket.on('data', (chunk) => {
				let packets;
				try {
					packets = this.framer.push(chunk);
				} catch (err) {
					fail(err);
					return;
				}
				for (const p of packets) {
					if (p.type === mqtt.TYPE.CONNACK) {
						const pw = crypto.createHash('md5').update(password).digest('hex');
						this.socket.write(mqtt.publish('register', JSON.stringify({ type: 'client',
							id: this.id, username, password: pw, md5: true })));
					} else if (p.type === mqtt.TYPE.PUBLISH && p.topic === 'register') {
						const res = mqtt.parseAdmin(p.payload);
						if (res.code !== 1) {
							fail(new Error(`admin client: register refused: ${JSON.stringify(res)}`));
							return;
						}
						clearTimeout(timer);
						this.socket.removeListener('error', fail);
						this.socket.on('error', () => {});
						resolve(this);
					} else if (p.type === mqtt.TYPE.PUBLISH && p.topic === 'client') {
						this.onClient(mqtt.parseAdmin(p.payload));
					}
				}
			});
		});
	}

	onClient(msg) {
		if (msg.respId === undefined) {
			return;
		}
		const p = this.pending.get(Number(msg.respId));
		if (p) {
			this.pending.delete(Number(msg.respId));
			clearTimeout(p.timer);
			p.resolve({ error: msg.error, body: msg.body });
		}
	}

	// Sends a request to a master module; resolves {error, body}.
	request(moduleId, body, { timeout = 15000 } = {}) {
		if (this.closed) {
			return Promise.reject(new Error('admin client: closed'));
		}
		const id = this.reqId++;
		const msg = { ...body, clientId: this.id, username: 'admin' };
		const req = JSON.stringify({ reqId: id, moduleId, body: msg });
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new Error(`admin client: no answer to ${moduleId} ${JSON.stringify(body)} in ${timeout} ms`));
			}, timeout);
			this.pending.set(id, { resolve, reject, timer });
			this.socket.write(mqtt.publish('client', JSON.stringify(req)));
		});
	}

	// {serverId: record} of every server the master has registered (the master's own too).
	async list(opts) {
		const r = await this.request('__console__', { signal: 'list' }, opts);
		if (r.error) {
			throw new Error(`admin list: ${JSON.stringify(r.error)}`);
		}
		return r.body?.msg ?? {};
	}

	close() {
		if (this.socket && !this.closed) {
			try {
				this.socket.write(mqtt.DISCONNECT);
			} catch {
				/* gone */
			}
			this.socket.destroy();
		}
		this.closed = true;
	}
}

// One `list` through a fresh connection.
export async function listServers(port, opts = {}) {
	const c = await AdminClient.open({ port, ...opts });
	try {
		return await c.list(opts);
	} finally {
		c.close();
	}
}
