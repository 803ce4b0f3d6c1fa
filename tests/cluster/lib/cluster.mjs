// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Starts and stops a test cluster of the test game (tests/cluster/app-<framework>/game-server) for
// one test file: a master started with mode=stand-alone (so it spawns nothing), then every server
// as its own Node process started here with the arguments Pomelo's starter would give it, and a
// connector tier that is either Node connectors (the baseline) or shaddockd (started with
// tests/integration/lib/daemon.mjs and issue 12's [cluster] / [route] config). Each cluster gets
// a fresh copy of the game in a temporary folder (the game's node_modules linked in) with its
// generated config/master.json and servers.json, free ports in 20000–32767 (below the ephemeral
// range), every listener on 127.0.0.1 (lib/listen-local.cjs), and each process's stdout and
// stderr in logs/<id>.log there. Every process is killed by pid in stop(), and on process exit
// whatever is left.
//
//   const c = await startCluster({ framework: 'pomelo', tier: 'node' });
//   const a = await c.enter('alice');          // gate -> connector -> enter, a 'ws' client
//   await a.client.request('game.gameHandler.echo', { x: 1 });
//   await c.stop();
//
// Environment: CLUSTER_FRAMEWORK (pomelo | pinus, default pomelo) and CLUSTER_TIER (node |
// shaddock, default node) pick the defaults; SHADDOCK_CLUSTER=0 skips the shaddock tier;
// SHADDOCK_TEST_KEEP=1 keeps the folder (config, logs) and prints its path.

import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { sleep, waitFor, withTimeout } from '../../integration/lib/util.mjs';
import { startDaemon } from '../../integration/lib/daemon.mjs';
import { openClient } from './clients.mjs';
import { listServers } from './admin.mjs';

export const CLUSTER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(CLUSTER_DIR, '../..');
export const FRAMEWORK = process.env.CLUSTER_FRAMEWORK || 'pomelo';
export const TIER = process.env.CLUSTER_TIER || 'node';
export const SHADDOCK_ENABLED = process.env.SHADDOCK_CLUSTER !== '0';
export const KEEP = process.env.SHADDOCK_TEST_KEEP === '1';

// The tests' RPC callback timeout (ms): Pomelo's and Pinus's default is 30 s; the game's app.js
// takes CLUSTER_RPC_TIMEOUT, shaddock's [cluster] rpc_timeout gets the same value.
export const RPC_TIMEOUT_MS = 4000;

export const GAME_ROUTES = {
	enter: 'connector.entryHandler.enter',
	queryEntry: 'gate.gateHandler.queryEntry',
	connectors: 'gate.gateHandler.connectors',
};

// Why the shaddock tier is skipped here, or null when it can run.
export function shaddockSkipReason(tier = TIER) {
	if (tier !== 'shaddock') {
		return null;
	}
	return SHADDOCK_ENABLED ? null
		: 'the shaddock tier is off (SHADDOCK_CLUSTER=0)';
}

export function appDir(framework) {
	return path.join(CLUSTER_DIR, `app-${framework}`, 'game-server');
}

// The CLI of the framework (pomelo list / pinus list).
export function cliPath(framework) {
	return framework === 'pinus'
		? path.join(appDir('pinus'), 'node_modules/pinus/dist/bin/pinus.js')
		: path.join(appDir('pomelo'), 'node_modules/pomelo/bin/pomelo');
}

export function tokens(framework) {
	const list = JSON.parse(fs.readFileSync(path.join(appDir(framework), 'config/adminServer.json'),
		'utf8'));
	return Object.fromEntries(list.map((e) => [e.type, e.token]));
}

const live = new Set(); // child processes not reaped yet
const given = new Set(); // ports handed out by this process

process.on('exit', () => {
	for (const child of live) {
		try {
			process.kill(child.pid, 'SIGKILL');
		} catch {
			/* gone */
		}
	}
});

function canBind(port) {
	return new Promise((resolve) => {
		const srv = net.createServer();
		srv.unref();
		srv.once('error', () => resolve(false));
		srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
	});
}

// `n` ports on 127.0.0.1 that were free a moment ago, picked at random in 20000–32767.
export async function pickPorts(n) {
	const out = [];
	for (let tries = 0; out.length < n; tries++) {
		if (tries > 2000) {
			throw new Error('no free ports in 20000-32767');
		}
		const p = 20000 + Math.floor(Math.random() * 12768);
		if (given.has(p) || !(await canBind(p))) {
			continue;
		}
		given.add(p);
		out.push(p);
	}
	return out;
}

function portOpen(port, host = '127.0.0.1') {
	return new Promise((resolve) => {
		const s = net.connect({ port, host });
		s.once('connect', () => {
			s.destroy();
			resolve(true);
		});
		s.once('error', () => resolve(false));
	});
}

function copyTree(src, dst, skip) {
	fs.mkdirSync(dst, { recursive: true });
	for (const e of fs.readdirSync(src, { withFileTypes: true })) {
		if (skip.includes(e.name)) {
			continue;
		}
		const s = path.join(src, e.name);
		const d = path.join(dst, e.name);
		if (e.isDirectory()) {
			copyTree(s, d, []);
		} else if (e.isFile()) {
			fs.copyFileSync(s, d);
		}
	}
}

// Parses the `@@event {json}` lines of a log text.
export function parseEvents(text) {
	const out = [];
	for (const line of text.split('\n')) {
		const i = line.indexOf('@@event ');
		if (i >= 0) {
			try {
				out.push(JSON.parse(line.slice(i + 8)));
			} catch {
				/* a torn line */
			}
		}
	}
	return out;
}

export class Cluster {
	// Options: framework, tier ('node' | 'shaddock' | 'none'), nodeConnectors (Node connectors
	// started; default 2 with tier 'node', else 0), listConnectors (put those in servers.json;
	// default true), games (game servers, default 1), workers (shaddock workers, default 2),
	// shaddock (more startDaemon options: cluster / routes / connector / server / app overrides),
	// rpcTimeout (ms).
	constructor(opts = {}) {
		this.framework = opts.framework ?? FRAMEWORK;
		this.tier = opts.tier ?? TIER;
		this.nodeConnectorCount = opts.nodeConnectors ?? (this.tier === 'node' ? 2 : 0);
		this.listConnectors = opts.listConnectors ?? true;
		this.gameCount = opts.games ?? 1;
		this.workers = opts.workers ?? 2;
		this.shaddockOpts = opts.shaddock ?? {};
		this.rpcTimeout = opts.rpcTimeout ?? RPC_TIMEOUT_MS;
		this.procs = new Map(); // id -> { info, child, pid, log, exit }
		this.daemon = null;
		this.stopped = false;
		this.tokens = tokens(this.framework);
	}

	get masterInfo() {
		return { id: 'master-server-1', host: '127.0.0.1', port: this.masterPort };
	}

	// The servers of a type that this harness started (and that are running).
	serversOf(type) {
		return [...this.procs.values()].filter((p) => p.info.serverType === type && !p.exit)
			.map((p) => p.info);
	}

	async prepare() {
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `shaddock-cluster-${this.framework}-`));
		this.base = path.join(this.dir, 'game-server');
		copyTree(appDir(this.framework), this.base, ['node_modules']);
		const modules = path.join(appDir(this.framework), 'node_modules');
		if (!fs.existsSync(path.join(modules, this.framework))) {
			throw new Error(`${modules} has no ${this.framework}: run scripts/setup`);
		}
		fs.symlinkSync(modules, path.join(this.base, 'node_modules'));
		fs.mkdirSync(path.join(this.dir, 'logs'));
		const n = 2 + this.gameCount + 2 * this.nodeConnectorCount + 2;
		const ports = await pickPorts(n);
		this.masterPort = ports.shift();
		this.gate = { id: 'gate-server-1', serverType: 'gate', host: '127.0.0.1',
			clientPort: ports.shift(), frontend: 'true' };
		this.games = [];
		for (let i = 1; i <= this.gameCount; i++) {
			this.games.push({ id: `game-server-${i}`, serverType: 'game', host: '127.0.0.1',
				port: ports.shift() });
		}
		this.nodeConnectors = [];
		for (let i = 1; i <= this.nodeConnectorCount; i++) {
			this.nodeConnectors.push({ id: `connector-server-${i}`, serverType: 'connector',
				host: '127.0.0.1', port: ports.shift(), clientHost: '127.0.0.1',
				clientPort: ports.shift(), frontend: 'true' });
		}
		this.shaddockPort = ports.shift();
		this.spare = ports;
		this.writeConfig();
	}

	writeConfig() {
		const cfg = path.join(this.base, 'config');
		const strip = ({ serverType, ...rest }) => ({ ...rest,
			...(rest.frontend ? { frontend: true } : {}) });
		const servers = { gate: [strip(this.gate)], game: this.games.map(strip) };
		if (this.listConnectors && this.nodeConnectors.length) {
			servers.connector = this.nodeConnectors.map(strip);
		}
		fs.writeFileSync(path.join(cfg, 'master.json'),
			JSON.stringify({ development: this.masterInfo }, null, 2));
		fs.writeFileSync(path.join(cfg, 'servers.json'),
			JSON.stringify({ development: servers }, null, 2));
		fs.rmSync(path.join(cfg, 'servers-shaddock.json'), { force: true });
	}

	logPath(id) {
		return path.join(this.dir, 'logs', `${id}.log`);
	}

	log(id) {
		try {
			return fs.readFileSync(this.logPath(id), 'utf8');
		} catch {
			return '';
		}
	}

	logTail(id, lines = 30) {
		return this.log(id).split('\n').slice(-lines).join('\n');
	}

	// Events of one server (or of every server), in file order.
	events(id) {
		if (id) {
			return parseEvents(this.log(id));
		}
		return [...this.procs.keys()].flatMap((k) => parseEvents(this.log(k)));
	}

	// Waits for an event that `pred` accepts (on server `id`, or any); resolves it.
	waitEvent(pred, { id, timeout = 5000, what = 'an event' } = {}) {
		return waitFor(() => this.events(id).find(pred), { timeout, interval: 25, what });
	}

	// Starts one server process as Pomelo's starter would: node app.js env=development key=value…
	spawnServer(info, { extraEnv = {} } = {}) {
		const args = [path.join(this.base, 'app.js'), 'env=development'];
		for (const [k, v] of Object.entries(info)) {
			args.push(`${k}=${v}`);
		}
		return this.spawnNode(info.id ?? 'master-server-1', info, args, extraEnv);
	}

	spawnNode(id, info, args, extraEnv = {}) {
		const fd = fs.openSync(this.logPath(id), 'a');
		const env = { ...process.env, CLUSTER_RPC_TIMEOUT: String(this.rpcTimeout), ...extraEnv };
		const preload = `--require ${path.join(CLUSTER_DIR, 'lib/listen-local.cjs')}`;
		env.NODE_OPTIONS = env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ${preload}` : preload;
		delete env.NODE_TEST_CONTEXT;
		const child = spawn(process.execPath, args, { cwd: this.base, env,
			stdio: ['ignore', fd, fd] });
		fs.closeSync(fd);
		live.add(child);
		const p = { info, child, pid: child.pid, exit: null, startedAt: this.log(id).length };
		p.exited = new Promise((resolve) => {
			child.on('exit', (code, signal) => {
				live.delete(child);
				p.exit = { code, signal };
				resolve(p.exit);
			});
		});
		child.on('error', (err) => {
			p.spawnError = err;
		});
		this.procs.set(id, p);
		return p;
	}

	// Waits for the `ready` event a server prints after its start (since its last spawn).
	async waitReady(id, { timeout = 20000 } = {}) {
		const p = this.procs.get(id);
		await waitFor(() => {
			if (p.exit) {
				throw Object.assign(new Error(`${id} exited (${JSON.stringify(p.exit)}):\n` +
					this.logTail(id)), { fatal: true });
			}
			return parseEvents(this.log(id).slice(p.startedAt)).find((e) => e.type === 'ready');
		}, { timeout, interval: 50, what: `${id} to start` }).catch((err) => {
			throw new Error(`${err.message}\n--- ${id} log:\n${this.logTail(id)}`);
		});
	}

	async startMaster() {
		const p = this.spawnNode('master-server-1', { serverType: 'master' },
			[path.join(this.base, 'app.js'), 'env=development', 'mode=stand-alone']);
		await this.waitReady('master-server-1');
		await waitFor(() => portOpen(this.masterPort), { timeout: 10000, interval: 50,
			what: 'the master port' });
		return p;
	}

	async start() {
		await this.prepare();
		await this.startMaster();
		for (const g of this.games) {
			this.spawnServer(g);
		}
		this.spawnServer(this.gate);
		for (const c of this.nodeConnectors) {
			this.spawnServer(c);
		}
		await Promise.all([...this.procs.keys()].filter((id) => id !== 'master-server-1')
			.map((id) => this.waitReady(id)));
		if (this.tier === 'shaddock') {
			await this.startShaddock();
		}
		await this.waitConnectors(this.expectedConnectors());
		return this;
	}

	expectedConnectors() {
		return this.nodeConnectorCount + (this.tier === 'shaddock' ? this.workers : 0);
	}

	// The [cluster] and [route game] sections shaddock runs with in this cluster (issue 12's
	// names, exactly).
	shaddockSections(extra = {}) {
		return {
			cluster: {
				type: this.framework,
				master: `127.0.0.1:${this.masterPort}`,
				token: this.tokens.connector,
				server_type: 'connector',
				server_id: 'connector-shaddock',
				host: '127.0.0.1',
				client_host: '127.0.0.1',
				own_routes: 'game',
				session_closed: 'game.roomRemote.leave',
				rpc_timeout: `${this.rpcTimeout / 1000}s`,
				// Pinus backends build app.sysrpc.connector from what the connector registers.
				remoter_paths: this.framework === 'pinus' ? `sys:${path.join(this.base,
					'node_modules/pinus/dist/lib/common/remote/frontend')}` : null,
				...extra.cluster,
			},
			'route game': { key: 'uid', ...extra.routes },
		};
	}

	// Starts shaddockd as the connector tier: `workers` workers on one client port, registered
	// with the master as server type `connector`.
	async startShaddock() {
		const o = this.shaddockOpts;
		const exported = path.join(this.dir, 'export');
		if (!fs.existsSync(exported)) {
			await exportGame(this.base, exported, { framework: this.framework });
		}
		this.daemon = await startDaemon({
			workers: this.workers,
			listeners: { main: { address: `127.0.0.1:${this.shaddockPort}` } },
			server: { log_level: 'info', shutdown_timeout: '5s', ...o.server },
			// The game's own files, unchanged, as a deployment would give them.
			connector: { heartbeat: '3s', handshake_timeout: '5s', idle_timeout: '60s',
				dictionary: path.join(exported, 'dictionary.json'),
				server_protos: path.join(this.base, 'config', 'serverProtos.json'),
				client_protos: path.join(this.base, 'config', 'clientProtos.json'),
				...o.connector },
			app: { hello: 'off', chat: 'off', ...o.app },
			sections: this.shaddockSections(o),
			readyTimeout: 15000,
		});
		// stop() stops it, after the Node servers are killed (see stopAll()).
		this.daemon.ownedElsewhere = true;
		return this.daemon;
	}

	// Waits until the gate lists `n` connectors (Node connectors and shaddock workers).
	async waitConnectors(n, { timeout = 20000 } = {}) {
		if (n === 0) {
			return [];
		}
		return waitFor(async () => {
			const list = await this.gateConnectors();
			return list.length === n ? list : false;
		}, { timeout, interval: 200, what: `the gate to list ${n} connector(s)` });
	}

	// The connectors the gate knows, in the master's order.
	async gateConnectors() {
		const c = await openClient('ws', { port: this.gate.clientPort });
		try {
			const res = await c.request(GAME_ROUTES.connectors, {});
			return res.connectors;
		} finally {
			c.close();
		}
	}

	// gate.gateHandler.queryEntry for `uid`: {code, host, port, id}.
	async queryEntry(uid, { kind = 'ws' } = {}) {
		const c = await openClient(kind, { port: this.gate.clientPort });
		try {
			return await c.request(GAME_ROUTES.queryEntry, { uid });
		} finally {
			c.close();
		}
	}

	// The client ports of the connector tier: one per Node connector, shaddock's listener.
	connectorPorts() {
		const ports = this.nodeConnectors.filter((c) => this.procs.get(c.id) && !this.procs.get(c.id).exit)
			.map((c) => c.clientPort);
		if (this.daemon) {
			ports.push(this.shaddockPort);
		}
		return ports;
	}

	// A client on the connector tier: on `port`, or on the connector the gate picks for `uid`.
	async connect({ kind = 'ws', uid, port } = {}) {
		let p = port;
		let entry = null;
		if (p === undefined) {
			entry = await this.queryEntry(uid ?? 'anonymous');
			if (entry.code !== 200) {
				throw new Error(`queryEntry(${uid}): ${JSON.stringify(entry)}`);
			}
			p = entry.port;
		}
		const client = await openClient(kind, { port: p });
		client.entry = entry;
		return client;
	}

	// gate -> connector -> connector.entryHandler.enter {uid, room}: resolves {client, entry,
	// reply, whoami} (whoami = the session as game.gameHandler.whoami sees it).
	async enter(uid, { kind = 'ws', room = 'lobby', port } = {}) {
		const client = await this.connect({ kind, uid, port });
		try {
			const reply = await client.request(GAME_ROUTES.enter, { uid, room });
			if (reply.code !== 200) {
				throw new Error(`enter(${uid}): ${JSON.stringify(reply)}`);
			}
			const who = await client.request('game.gameHandler.whoami', {});
			return { client, entry: client.entry, reply, session: who.session, server: who.server };
		} catch (err) {
			client.close();
			throw err;
		}
	}

	// Opens clients on `port` until `count` distinct frontends hold one (shaddock's workers share
	// one port: the kernel picks the worker). Resolves [{client, session}] one per frontend.
	async spreadOverFrontends(count, { kind = 'ws', port = this.shaddockPort, tries = 40,
		uidPrefix = 'spread' } = {}) {
		const byFrontend = new Map();
		const extra = [];
		for (let i = 0; i < tries && byFrontend.size < count; i++) {
			const client = await openClient(kind, { port });
			const who = await client.request('game.gameHandler.whoami', {});
			const fid = who.session.frontendId;
			if (byFrontend.has(fid)) {
				extra.push(client);
			} else {
				byFrontend.set(fid, { client, session: who.session, uidPrefix });
			}
		}
		for (const c of extra) {
			c.close();
		}
		if (byFrontend.size < count) {
			for (const v of byFrontend.values()) {
				v.client.close();
			}
			throw new Error(`only ${byFrontend.size} frontend(s) reached in ${tries} connections`);
		}
		return [...byFrontend.values()];
	}

	// `n` clients on one frontend (a Node connector's port, or shaddock's port until `n`
	// connections landed on the same worker). Resolves [{client, session}].
	async clientsOnOneFrontend(n, { kind = 'ws', tries = 40 } = {}) {
		const port = this.daemon ? this.shaddockPort : this.nodeConnectors[0].clientPort;
		const groups = new Map();
		const all = [];
		for (let i = 0; i < tries; i++) {
			const client = await openClient(kind, { port });
			all.push(client);
			const who = await client.request('game.gameHandler.whoami', {});
			const g = groups.get(who.session.frontendId) ?? [];
			g.push({ client, session: who.session });
			groups.set(who.session.frontendId, g);
			if (g.length === n) {
				for (const c of all) {
					if (!g.some((x) => x.client === c)) {
						c.close();
					}
				}
				return g;
			}
		}
		for (const c of all) {
			c.close();
		}
		throw new Error(`no frontend got ${n} of ${tries} connections`);
	}

	// `list` from the master (as `pomelo list`): {serverId: record}.
	list(opts) {
		return listServers(this.masterPort, opts);
	}

	// Kills a server (default SIGKILL) and waits for it to exit.
	async kill(id, signal = 'SIGKILL') {
		const p = this.procs.get(id);
		if (!p || p.exit) {
			return;
		}
		try {
			process.kill(p.pid, signal);
		} catch {
			/* gone */
		}
		await withTimeout(p.exited, 10000, `${id} to exit`);
	}

	// Starts a server again with the same arguments; waits for its start.
	async restart(id) {
		await this.kill(id);
		const p = this.procs.get(id);
		if (id === 'master-server-1') {
			await this.startMaster();
			return;
		}
		this.spawnServer(p.info);
		await this.waitReady(id);
	}

	// Starts an extra Node connector (not in servers.json) and waits for its start.
	async addNodeConnector(id = `connector-server-${this.nodeConnectors.length + 1}`) {
		const [port, clientPort] = this.spare.length >= 2 ? this.spare.splice(0, 2)
			: await pickPorts(2);
		const info = { id, serverType: 'connector', host: '127.0.0.1', port,
			clientHost: '127.0.0.1', clientPort, frontend: 'true' };
		this.nodeConnectors.push(info);
		this.spawnServer(info);
		await this.waitReady(id);
		return info;
	}

	// Kills every process by pid, stops shaddockd, removes the folder (kept with KEEP=1). Throws,
	// after all of that, what shaddockd's stop threw (a sanitizer report in its log).
	async stop() {
		if (this.stopped) {
			return;
		}
		this.stopped = true;
		let daemonError = null;
		if (this.daemon) {
			await this.daemon.stop().catch((err) => {
				daemonError = err;
			});
		}
		for (const p of this.procs.values()) {
			if (!p.exit) {
				try {
					process.kill(p.pid, 'SIGKILL');
				} catch {
					/* gone */
				}
			}
		}
		await Promise.all([...this.procs.values()].map((p) =>
			withTimeout(p.exited, 5000, 'a server to die').catch(() => {})));
		if (KEEP) {
			process.stderr.write(`cluster test folder kept: ${this.dir}\n`);
		} else if (this.dir) {
			fs.rmSync(this.dir, { recursive: true, force: true });
		}
		if (daemonError) {
			throw daemonError;
		}
	}
}

// Starts a cluster (see Cluster); stops everything it started when the start fails.
export async function startCluster(opts = {}) {
	const c = new Cluster(opts);
	try {
		await c.start();
	} catch (err) {
		const logs = c.dir ? [...c.procs.keys()].map((id) => `--- ${id}:\n${c.logTail(id, 15)}`)
			.join('\n') : '';
		await c.stop().catch((e) => {
			err.message += `\n${e.message}`;
		});
		err.message += logs ? `\n${logs}` : '';
		throw err;
	}
	return c;
}

// Runs scripts/pomelo-export on a game folder; resolves its result ({dict, protos, files}).
export async function exportGame(gameDir, outDir, { framework, env = 'development' } = {}) {
	const require = createRequire(import.meta.url);
	const { exportGame: run } = require(path.join(REPO_ROOT, 'scripts/pomelo-export'));
	return run({ gameDir, outDir, framework, env });
}

export { sleep };
