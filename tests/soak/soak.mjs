// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The soak run of scripts/soak (tests/soak/README.md has the method): a real shaddockd with 4
// workers on 127.0.0.1, 10,000 long-lived sessions spread over client processes (client.mjs), a
// connect loop, a HUP reload every 5 s, a kill -9 of a random current worker every 7 s, and
// admin commands in a loop, for MINUTES; then a summary, and exit status 1 on any unexpected
// loss, failed handshake, wrong answer, admin failure, master pid change or master death.
//
// Who lost what: before each kill the victim is stopped (SIGSTOP), the sockets in its descriptor
// table are read from /proc/PID/fd and looked up with ss (their peer address and port are the
// client's), then it gets SIGKILL. A session the server closes is an expected loss when its
// client address and port were in that set, and an unexpected loss otherwise; `show sessions
// json` snapshots say on which worker slot (and worker serial) an unexpected loss lived.
//
// Every process it starts is killed by pid at the end, on error, and on SIGINT/SIGTERM; every
// wait is bounded, and a watchdog ends the whole run if it overstays.

import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { fork, spawn, execFile, execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

// ---- options ----

const USAGE = `usage: scripts/soak [options] [MINUTES]
  MINUTES              time under load after the sessions are open (default 10)
  --sessions N         long-lived sessions (10000)
  --procs N            client processes holding them (4; at most 20000 descriptors each)
  --ws-every N         every Nth session is WebSocket, the others raw TCP (5)
  --heartbeat S        heartbeat interval given to clients (5)
  --lifetime A-B       a session lives A to B seconds, then its client closes it and
                       opens a new one (60-240)
  --request-every A-B  seconds between a session's requests (5-30)
  --loops N            parallel connect+handshake+request loops (4)
  --loop-delay MS      pause of each loop between connections (10)
  --reload-every S     HUP reload period (5)
  --kill-every S       kill -9 period (7)
  --port N             client port (default: a free one in 20000-32000)
  --keep               keep the run folder (config, log) even when the run passes
Binaries: SHADDOCK_SOAK_BINARY and SHADDOCK_SOAK_CTL (default build/master/shaddockd and
build/ctl/shaddockctl).`;

function range(s, name) {
	const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(s ?? '');
	if (!m || Number(m[1]) > Number(m[2])) {
		die(2, `${name} wants A-B, not ${s}`);
	}
	return [Number(m[1]) * 1000, Number(m[2]) * 1000];
}

function die(code, msg) {
	process.stderr.write(`soak: ${msg}\n`);
	process.exit(code);
}

const opt = {
	minutes: 10,
	sessions: 10000,
	procs: 4,
	wsEvery: 5,
	heartbeat: 5,
	lifetime: [60000, 240000],
	requestEvery: [5000, 30000],
	loops: 4,
	loopDelay: 10,
	reloadEvery: 5,
	killEvery: 7,
	port: 0,
	keep: false,
	workers: 4,
};
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		const v = () => {
			if (i + 1 >= a.length) {
				die(2, `${a[i]} needs a value`);
			}
			return a[++i];
		};
		const num = (x, name) => {
			const n = Number(x);
			if (!Number.isFinite(n) || n < 0) {
				die(2, `${name}: not a number: ${x}`);
			}
			return n;
		};
		switch (a[i]) {
		case '--sessions': opt.sessions = num(v(), 'sessions'); break;
		case '--procs': opt.procs = Math.max(1, num(v(), 'procs')); break;
		case '--ws-every': opt.wsEvery = num(v(), 'ws-every'); break;
		case '--heartbeat': opt.heartbeat = num(v(), 'heartbeat'); break;
		case '--lifetime': opt.lifetime = range(v(), 'lifetime'); break;
		case '--request-every': opt.requestEvery = range(v(), 'request-every'); break;
		case '--loops': opt.loops = num(v(), 'loops'); break;
		case '--loop-delay': opt.loopDelay = num(v(), 'loop-delay'); break;
		case '--reload-every': opt.reloadEvery = num(v(), 'reload-every'); break;
		case '--kill-every': opt.killEvery = num(v(), 'kill-every'); break;
		case '--port': opt.port = num(v(), 'port'); break;
		case '--keep': opt.keep = true; break;
		case '-h': case '--help': console.log(USAGE); process.exit(0); break;
		default:
			if (/^\d+(\.\d+)?$/.test(a[i])) {
				opt.minutes = Number(a[i]);
			} else {
				die(2, `unknown option ${a[i]}\n${USAGE}`);
			}
		}
	}
}
if (opt.heartbeat <= 0 || opt.minutes <= 0) {
	die(2, 'MINUTES and --heartbeat must be more than 0');
}
const perProc = Math.ceil(opt.sessions / opt.procs);
if (perProc > 15000) {
	die(2, `${perProc} sessions per process is too close to the 20000 open-file limit; ` +
		'use more --procs');
}

const bin = (env, def) => path.resolve(ROOT, process.env[env] || def);
const SHADDOCKD = bin('SHADDOCK_SOAK_BINARY', 'build/master/shaddockd');
const SHADDOCKCTL = bin('SHADDOCK_SOAK_CTL', 'build/ctl/shaddockctl');
for (const b of [SHADDOCKD, SHADDOCKCTL]) {
	if (!fs.existsSync(b)) {
		die(2, `${b} does not exist (build first)`);
	}
}

// ---- small helpers ----

const t0 = performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const since = () => ((performance.now() - t0) / 1000).toFixed(1);
function say(msg) {
	process.stdout.write(`soak [${since()}s] ${msg}\n`);
}
function pct(arr, q) {
	if (!arr.length) {
		return undefined;
	}
	const s = [...arr].sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const ms = (v) => (v === undefined ? '-' : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`);
const mib = (kb) => (kb === undefined ? '?' : `${(kb / 1024).toFixed(1)} MiB`);

function rssKb(pid) {
	try {
		const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : undefined;
	} catch {
		return undefined;
	}
}

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

function canBind(port) {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.once('error', () => resolve(false));
		s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
	});
}

// A port below the ephemeral range (32768-60999) that is free now.
async function pickPort(avoid = []) {
	for (let i = 0; i < 200; i++) {
		const p = 20000 + Math.floor(Math.random() * 12000);
		if (!avoid.includes(p) && await canBind(p)) {
			return p;
		}
	}
	die(1, 'no free port in 20000-32000');
}

// A persistent admin connection: commands answered in order, each answer ends with "\n\n".
class Admin {
	constructor(sock) {
		this.sock = sock;
		this.queue = [];
		this.buf = '';
		this.s = null;
	}

	connect() {
		this.s = net.connect(this.sock);
		this.s.setEncoding('utf8');
		this.s.on('data', (d) => {
			this.buf += d;
			let i;
			while ((i = this.buf.indexOf('\n\n')) >= 0 && this.queue.length) {
				const ans = this.buf.slice(0, i);
				this.buf = this.buf.slice(i + 2);
				const q = this.queue.shift();
				clearTimeout(q.timer);
				q.resolve(ans);
			}
		});
		const fail = (err) => {
			for (const q of this.queue.splice(0)) {
				clearTimeout(q.timer);
				q.reject(err);
			}
			this.s = null;
			this.buf = '';
		};
		this.s.on('error', (err) => fail(err));
		this.s.on('close', () => fail(new Error('the admin socket closed')));
	}

	cmd(line, timeout = 10000) {
		if (this.s === null) {
			this.connect();
		}
		return new Promise((resolve, reject) => {
			const q = { resolve, reject };
			q.timer = setTimeout(() => {
				reject(new Error(`no answer to "${line}" in ${timeout} ms`));
				this.s?.destroy();
			}, timeout);
			this.queue.push(q);
			this.s.write(`${line}\n`);
		});
	}

	async json(line, timeout) {
		const ans = await this.cmd(line, timeout);
		const first = ans.split('\n')[0];
		let o;
		try {
			o = JSON.parse(first);
		} catch {
			throw new Error(`"${line}" answered no JSON: ${ans.slice(0, 200)}`);
		}
		if (o && typeof o === 'object' && 'error' in o && Object.keys(o).length === 1) {
			throw new Error(`"${line}" answered ${first}`);
		}
		return o;
	}

	close() {
		this.s?.destroy();
		this.s = null;
	}
}

// ---- state ----

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shaddock-soak-'));
const confPath = path.join(dir, 'shaddock.conf');
const sockPath = path.join(dir, 'admin.sock');
const logPath = path.join(dir, 'shaddockd.log');
let master = null;		// the ChildProcess
let masterPid = 0;
let masterExit = null;
let phase = 'start';		// start, ramp, load, stop, done
const workerPids = new Set();	// every worker pid seen, for the clean-up
const clients = [];		// { child, role, id, stats, final, exited }
const timers = [];
const failures = [];		// lines for the summary, each a reason to exit 1
const notes = [];

const acct = {
	killed: new Map(),	// "ip:port" -> kill number, from the victim's descriptor table
	lastSeen: new Map(),	// "ip:port" -> { slot, serial, state } from show sessions json
	expected: {},		// "src/stage" -> sessions closed on a killed worker
	unexpected: [],		// close records: server closed, not on a killed worker
	clientErrors: [],	// close records: the client closed after a wrong answer, a timeout
};
const kills = [];		// { n, pid, slot, generation, sockets, stopMs, respawnMs, during }
const reloads = { sent: 0, completed: 0, timedOut: 0, skipped: 0, ms: [] };
const admin = { ok: 0, failed: 0, ctl: 0, errors: [], pidChanged: null };
const kicksState = { started: 0, verified: 0, killed: 0, failed: [], pending: new Map() };
const bcast = { sent: 0, pushedTo: {}, failed: 0 };
const metrics = { ok: 0, failed: 0 };
const snaps = { n: 0, ms: [], maxListed: 0 };
let rss = {};
let busy = { kill: false, reload: false };
let lastHup = -1e9;		// performance.now() of the last SIGHUP

// How long after the last SIGHUP, for errors that may come from a reload.
function afterHup() {
	const d = performance.now() - lastHup;
	return d < 2000 ? ` (${d.toFixed(0)} ms after a SIGHUP)` : '';
}

// ---- clean-up: everything by pid ----

function isShaddockd(pid) {
	try {
		return fs.readlinkSync(`/proc/${pid}/exe`) === fs.realpathSync(SHADDOCKD);
	} catch {
		return false;
	}
}

function childrenOf(pid) {
	try {
		const t = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
		return t.split(/\s+/).filter(Boolean).map(Number);
	} catch {
		return [];
	}
}

function killEverything() {
	for (const c of clients) {
		if (!c.exited) {
			try {
				c.child.kill('SIGKILL');
			} catch {
				/* gone */
			}
		}
	}
	const pids = new Set(workerPids);
	if (masterPid) {
		for (const p of childrenOf(masterPid)) {
			pids.add(p);
		}
	}
	if (master && masterExit === null) {
		try {
			process.kill(masterPid, 'SIGKILL');
		} catch {
			/* gone */
		}
	}
	for (const p of pids) {
		if (p !== masterPid && isShaddockd(p)) {
			try {
				process.kill(p, 'SIGKILL');
			} catch {
				/* gone */
			}
		}
	}
}

process.on('exit', killEverything);
for (const sig of ['SIGINT', 'SIGTERM']) {
	process.on(sig, () => {
		say(`${sig}: stopping, killing every process started`);
		killEverything();
		process.exit(130);
	});
}

// ---- the daemon ----

function writeConfig(port, mport) {
	const shutdown = Math.ceil(opt.minutes * 60 + 600);
	fs.writeFileSync(confPath, `# generated by tests/soak/soak.mjs
[server]
workers = ${opt.workers}
accept = reuseport
runtime_dir = ${dir}
admin_socket = ${sockPath}
pid_file = ${path.join(dir, 'shaddockd.pid')}
log_level = info
# sessions on old workers stay for the whole run: draining is not a loss
shutdown_timeout = ${shutdown}s
max_draining_generations = 64
worker_heartbeat_timeout = 5s
metrics_listen = 127.0.0.1:${mport}

[listener main]
address = 127.0.0.1:${port}
backlog = 4096

[connector]
heartbeat = ${opt.heartbeat}s
handshake_timeout = 10s
idle_timeout = 90s
max_connections = ${Math.max(10000, opt.sessions + 2000)}
`);
}

function masterDied() {
	const how = masterExit.signal ? `killed by ${masterExit.signal}`
		: `exited with status ${masterExit.code}`;
	process.stdout.write(`\nsoak: FATAL: the master (pid ${masterPid}) ${how} at ${since()} s, ` +
		`during ${phase}.\nThe last lines of its log (${logPath}):\n`);
	const log = readLog().split('\n').slice(-30).join('\n');
	process.stdout.write(`${log}\n`);
	killEverything();
	process.stdout.write(`soak: FAIL (master died); run folder kept: ${dir}\n`);
	process.exit(1);
}

function readLog() {
	try {
		return fs.readFileSync(logPath, 'utf8');
	} catch {
		return '';
	}
}

async function startDaemon(port, mport) {
	writeConfig(port, mport);
	const fd = fs.openSync(logPath, 'a');
	master = spawn(SHADDOCKD, ['-f', '-c', confPath], { cwd: dir, stdio: ['ignore', fd, fd] });
	fs.closeSync(fd);
	masterPid = master.pid;
	master.on('exit', (code, signal) => {
		masterExit = { code, signal };
		if (phase !== 'done') {
			masterDied();
		}
	});
	const a = new Admin(sockPath);
	const deadline = Date.now() + 15000;
	for (;;) {
		try {
			const w = (await a.json('show workers json', 2000)).workers;
			w.forEach((x) => workerPids.add(x.pid));
			if (w.filter((x) => x.state === 'ready').length >= opt.workers) {
				break;
			}
		} catch {
			a.close();
		}
		if (Date.now() > deadline) {
			killEverything();
			die(1, `shaddockd did not get ${opt.workers} ready workers in 15 s; log:\n` +
				readLog().split('\n').slice(-20).join('\n'));
		}
		await sleep(50);
	}
	a.close();
}

// ---- clients ----

function startClient(role, id, cfg) {
	const child = fork(path.join(HERE, 'client.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
	const c = { child, role, id, stats: null, exited: false };
	child.on('exit', (code, signal) => {
		c.exited = true;
		if (phase !== 'stop' && phase !== 'done') {
			failures.push(`client process ${role} ${id} exited (${signal ?? code}) during ${phase}`);
		}
	});
	child.on('message', (m) => onClientMessage(c, m));
	child.send({ cmd: 'start', cfg: { mode: role, id, ...cfg } });
	clients.push(c);
	return c;
}

function onClientMessage(c, m) {
	switch (m.ev) {
	case 'stats':
	case 'final':
		c.stats = m.stats;
		break;
	case 'closed':
		for (const rec of m.list) {
			classify(rec);
		}
		break;
	case 'normal':
		// Closed by their clients as planned; some were on a worker killed meanwhile.
		for (const [key, t] of m.list) {
			if (onKilled({ key, t })) {
				kills[acct.killed.get(key)].clientClosed++;
				acct.killed.delete(key);
			}
		}
		break;
	case 'kick-ready':
		kickReady(m.n, m.key);
		break;
	case 'kick-closed':
		kickClosed(m.n, m.rec);
		break;
	default:
		break;
	}
}

// One session that ended other than by its client's plan.
function classify(rec) {
	if (!rec.byServer) {
		if (rec.reason === 'stop' || rec.reason === 'abort') {
			return;
		}
		acct.clientErrors.push(rec);
		return;
	}
	if (onKilled(rec)) {
		const stage = rec.stage === 'working' ? 'working' : 'opening';
		const k = `${rec.src}/${stage}`;
		acct.expected[k] = (acct.expected[k] ?? 0) + 1;
		kills[acct.killed.get(rec.key)].closed++;
		acct.killed.delete(rec.key);
		return;
	}
	const seen = rec.key ? acct.lastSeen.get(rec.key) : undefined;
	acct.unexpected.push({ ...rec, seen });
}

// True when <rec>'s connection was in a killed worker's descriptor table: its address and
// port were listed at the kill, and it closed after the kill (a port is reused later).
function onKilled(rec) {
	const n = rec.key ? acct.killed.get(rec.key) : undefined;
	return n !== undefined && rec.t >= kills[n].at && rec.t - kills[n].at < 60000;
}

function sum(field, role) {
	let n = 0;
	for (const c of clients) {
		if ((!role || c.role === role) && c.stats) {
			n += c.stats[field] ?? 0;
		}
	}
	return n;
}

// ---- chaos: kill -9 ----

// The client address:port of every TCP socket in <pid>'s descriptor table (<port> is the
// server's): the table's socket inodes, looked up with ss (netlink, filtered on the port in the
// kernel), or in /proc/net/tcp when ss is missing.
function peersOf(pid, port) {
	const inodes = new Set();
	for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
		try {
			const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
			if (m) {
				inodes.add(m[1]);
			}
		} catch {
			/* closed meanwhile */
		}
	}
	const peers = [];
	let out = null;
	try {
		out = execFileSync('ss', ['-tanHe', `( sport = :${port} )`],
			{ encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 20 });
	} catch {
		out = null;
	}
	if (out !== null) {
		for (const l of out.split('\n')) {
			const f = l.trim().split(/\s+/);
			const m = /\bino:(\d+)/.exec(l);
			if (f.length >= 5 && m && inodes.has(m[1]) && f[0] !== 'LISTEN') {
				peers.push(f[4]);
			}
		}
		return peers;
	}
	const lines = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n');
	for (let i = 1; i < lines.length; i++) {
		const f = lines[i].trim().split(/\s+/);
		if (f.length < 10 || !inodes.has(f[9])) {
			continue;
		}
		const [hex, port] = f[2].split(':');
		const p = parseInt(port, 16);
		if (p === 0) {
			continue;	/* a listening socket */
		}
		const ip = [6, 4, 2, 0].map((j) => parseInt(hex.slice(j, j + 2), 16)).join('.');
		peers.push(`${ip}:${p}`);
	}
	return peers;
}

async function killOne(ka, ra, port) {
	if (busy.kill) {
		return;
	}
	busy.kill = true;
	try {
		const info = await ka.json('show info json');
		const before = (await ka.json('show workers json')).workers;
		before.forEach((w) => workerPids.add(w.pid));
		const cands = before.filter((w) => w.state === 'ready' && w.generation === info.generation);
		if (!cands.length) {
			notes.push(`kill at ${since()} s skipped: no ready worker of generation ${info.generation}`);
			return;
		}
		const v = cands[Math.floor(Math.random() * cands.length)];
		if (!isShaddockd(v.pid)) {
			failures.push(`show workers listed pid ${v.pid} (slot ${v.slot}), which is not a shaddockd`);
			return;
		}
		const k = { n: kills.length, pid: v.pid, slot: v.slot, generation: v.generation,
			sockets: 0, closed: 0, clientClosed: 0, stopMs: 0, respawnMs: undefined,
			reloadDuring: false,
			at: Date.now() };
		const reloadsBefore = reloads.sent;
		const ts = performance.now();
		process.kill(v.pid, 'SIGSTOP');
		try {
			const peers = peersOf(v.pid, port);
			k.sockets = peers.length;
			for (const p of peers) {
				acct.killed.set(p, k.n);
			}
		} finally {
			process.kill(v.pid, 'SIGKILL');
		}
		const tk = performance.now();
		k.stopMs = tk - ts;
		kills.push(k);
		const old = new Set(before.map((w) => w.pid));
		while (performance.now() - tk < 20000) {
			const ws = (await ra.json('show workers json')).workers;
			ws.forEach((w) => workerPids.add(w.pid));
			if (ws.some((w) => w.slot === v.slot && w.state === 'ready' && !old.has(w.pid))) {
				k.respawnMs = performance.now() - tk;
				break;
			}
			await sleep(2);
		}
		k.reloadDuring = reloads.sent !== reloadsBefore;
		if (k.respawnMs === undefined) {
			failures.push(`slot ${v.slot} was not ready again 20 s after kill -9 of pid ${v.pid}`);
		}
	} catch (err) {
		admin.failed++;
		admin.errors.push(`kill: ${err.message}`);
	} finally {
		busy.kill = false;
	}
}

// ---- chaos: reload ----

async function reloadOne(a) {
	if (busy.reload) {
		reloads.skipped++;
		return;
	}
	busy.reload = true;
	try {
		const r0 = (await a.json('show info json')).reloads;
		const ts = performance.now();
		process.kill(masterPid, 'SIGHUP');
		lastHup = performance.now();
		reloads.sent++;
		while (performance.now() - ts < 15000) {
			const info = await a.json('show info json');
			if (info.reloads > r0) {
				const ws = (await a.json('show workers json')).workers;
				ws.forEach((w) => workerPids.add(w.pid));
				const ready = ws.filter((w) => w.state === 'ready');
				if (ready.length === opt.workers &&
				    ready.every((w) => w.generation === info.generation)) {
					reloads.completed++;
					reloads.ms.push(performance.now() - ts);
					return;
				}
			}
			await sleep(10);
		}
		reloads.timedOut++;
		failures.push(`reload ${reloads.sent} (HUP at ${since()} s) did not complete in 15 s`);
	} catch (err) {
		admin.failed++;
		admin.errors.push(`reload: ${err.message}`);
	} finally {
		busy.reload = false;
	}
}

// ---- admin loop ----

const ADMIN_CYCLE = [
	'show info json', 'show workers json', 'show stat json', 'show channels json',
	'show listeners json', 'show info', 'show workers', 'show stat', 'show channels', 'help',
];
let adminIdx = 0;

function runCtl(args) {
	return new Promise((resolve) => {
		execFile(SHADDOCKCTL, ['-s', sockPath, ...args], { timeout: 15000, killSignal: 'SIGKILL',
			maxBuffer: 64 << 20 }, (err, stdout, stderr) => resolve({
			code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
	});
}

async function adminStep(a) {
	const line = ADMIN_CYCLE[adminIdx++ % ADMIN_CYCLE.length];
	try {
		if (adminIdx % 5 === 0) {
			admin.ctl++;
			const r = await runCtl(line.split(' '));
			if (r.code !== 0 || /^error:/m.test(r.stdout)) {
				throw new Error(`shaddockctl ${line}: exit ${r.code}: ${(r.stderr || r.stdout).slice(0, 200)}`);
			}
		} else if (line.endsWith('json')) {
			const o = await a.json(line);
			if (line === 'show info json' && o.pid !== masterPid) {
				admin.pidChanged = `show info says pid ${o.pid}, the master started as ${masterPid}`;
			}
			if (line === 'show workers json') {
				o.workers.forEach((w) => workerPids.add(w.pid));
			}
		} else {
			const t = await a.cmd(line);
			if (/^error:/.test(t) || (t.length === 0 && line !== 'show channels')) {
				throw new Error(`${line}: ${t.slice(0, 200)}`);
			}
		}
		admin.ok++;
	} catch (err) {
		admin.failed++;
		admin.errors.push(`${err.message}${afterHup()}`);
	}
}

async function snapshot(a) {
	try {
		const ts = performance.now();
		const list = (await a.json('show sessions json', 20000)).sessions;
		snaps.ms.push(performance.now() - ts);
		snaps.n++;
		snaps.maxListed = Math.max(snaps.maxListed, list.length);
		const m = new Map();
		for (const s of list) {
			m.set(s.peer, { slot: s.worker, serial: Number(BigInt(s.id) >> 32n), state: s.state,
				id: s.id });
		}
		// Keep what an earlier snapshot saw of sessions that are gone now.
		for (const [k, v] of m) {
			acct.lastSeen.set(k, v);
		}
		if (acct.lastSeen.size > 200000) {
			acct.lastSeen = m;
		}
		admin.ok++;
		return m;
	} catch (err) {
		admin.failed++;
		admin.errors.push(`show sessions json: ${err.message}`);
		return null;
	}
}

// ---- kicks and broadcasts ----

let kicker = null;
let kickAdmin = null;

function kickStart() {
	const n = ++kicksState.started;
	const byUid = n % 2 === 0;
	kicksState.pending.set(n, { byUid, t: Date.now(), stage: 'opening', key: null });
	kicker.child.send({ cmd: 'kick-open', n, uid: byUid });
}

async function kickReady(n, key) {
	const p = kicksState.pending.get(n);
	if (!p) {
		return;
	}
	p.key = key;
	p.stage = 'kicking';
	const reason = `soak-kick-${n}`;
	try {
		let ans;
		if (p.byUid) {
			ans = await kickAdmin.cmd(`kick uid k${n}*soak-k${n} ${reason}`);
		} else {
			const m = await snapshot(kickAdmin);
			const s = m?.get(key);
			if (!s) {
				if (p.stage === 'closed') {
					return;
				}
				throw new Error(`kick session: ${key} is not in show sessions`);
			}
			ans = await kickAdmin.cmd(`kick session ${s.id} ${reason}`);
		}
		if (!/^kicked 1 session$/.test(ans)) {
			if (p.stage === 'closed') {
				return;	/* it ended first (kickClosed judged how) */
			}
			throw new Error(`kick ${p.byUid ? 'uid' : 'session'} answered "${ans}"`);
		}
		p.stage = p.stage === 'closed' ? p.stage : 'kicked';
		p.kickedAt = Date.now();
	} catch (err) {
		kicksState.failed.push(`kick ${n}: ${err.message}`);
		kicksState.pending.delete(n);
		kicker.child.send({ cmd: 'kick-abort', n });
	}
}

function kickClosed(n, rec) {
	const p = kicksState.pending.get(n);
	if (!p) {
		return;
	}
	if (rec.byServer && rec.reason === 'kick' && rec.kick === `soak-kick-${n}`) {
		kicksState.verified++;
		kicksState.pending.delete(n);
		return;
	}
	p.stage = 'closed';
	kicksState.pending.delete(n);
	if (rec.reason === 'stop' || rec.reason === 'abort') {
		return;
	}
	if (rec.byServer && onKilled(rec)) {
		kicksState.killed++;
		classify(rec);
		return;
	}
	kicksState.failed.push(`kick ${n}: the session ended by ${rec.reason} (${rec.detail ?? ''}, ` +
		`by ${rec.byServer ? 'the server' : 'the client'}) in stage ${rec.stage}`);
}

function kickSweep() {
	const now = Date.now();
	for (const [n, p] of kicksState.pending) {
		if (now - p.t > 15000) {
			kicksState.failed.push(`kick ${n}: not done 15 s after it started (${p.stage})`);
			kicksState.pending.delete(n);
			kicker.child.send({ cmd: 'kick-abort', n });
		}
	}
}

async function broadcast(a) {
	const n = ++bcast.sent;
	try {
		const ans = await a.cmd(`broadcast onSoak {"soak":${n}}`);
		const m = /^pushed to (\d+) sessions?$/.exec(ans);
		if (!m) {
			throw new Error(`broadcast answered "${ans}"`);
		}
		bcast.pushedTo[n] = Number(m[1]);
		admin.ok++;
	} catch (err) {
		bcast.failed++;
		admin.failed++;
		admin.errors.push(err.message);
	}
}

function scrape(mport) {
	return new Promise((resolve) => {
		const req = http.get({ host: '127.0.0.1', port: mport, path: '/metrics', timeout: 5000 },
			(res) => {
				let body = '';
				res.setEncoding('utf8');
				res.on('data', (d) => { body += d; });
				res.on('end', () => {
					if (res.statusCode === 200 && /shaddock_/.test(body)) {
						metrics.ok++;
					} else {
						metrics.failed++;
						admin.errors.push(`GET /metrics: ${res.statusCode} ` +
							`${body.slice(0, 100)}${afterHup()}`);
					}
					resolve();
				});
			});
		req.on('timeout', () => req.destroy(new Error('timeout')));
		const t = performance.now();
		req.on('error', (err) => {
			metrics.failed++;
			const d = t - lastHup;
			admin.errors.push(`GET /metrics: ${err.message}` +
				(d < 2000 ? ` (sent ${d.toFixed(0)} ms after a SIGHUP)` : ''));
			resolve();
		});
	});
}

// ---- progress ----

function progress() {
	const exp = Object.values(acct.expected).reduce((x, y) => x + y, 0);
	say(`sessions ${sum('working', 'pool')} working (${sum('wsWorking', 'pool')} ws), ` +
		`${sum('opened', 'pool')} opened; loop ${sum('loopOk', 'loop')} ok / ` +
		`${sum('loopFailed', 'loop')} failed; kills ${kills.length} (${exp} expected losses), ` +
		`reloads ${reloads.completed}/${reloads.sent}; unexpected ${acct.unexpected.length}, ` +
		`client errors ${acct.clientErrors.length}; admin ${admin.ok} ok / ${admin.failed} failed; ` +
		`master RSS ${mib(rssKb(masterPid))}`);
}

function every(fn, sec) {
	const t = setInterval(fn, sec * 1000);
	timers.push(() => clearInterval(t));
}

// Every <sec> seconds on average, at random times (0.5 to 1.5 periods apart), so that what
// it does meets the reloads and kills at every phase.
function around(fn, sec) {
	let t;
	const next = () => {
		t = setTimeout(() => {
			fn();
			next();
		}, sec * 1000 * (0.5 + Math.random()));
	};
	next();
	timers.push(() => clearTimeout(t));
}

// ---- main ----

async function main() {
	const port = opt.port || await pickPort();
	const mport = await pickPort([port]);
	say(`shaddockd ${SHADDOCKD}, ${opt.workers} workers, 127.0.0.1:${port} (metrics ${mport}); ` +
		`run folder ${dir}`);
	await startDaemon(port, mport);
	say(`master pid ${masterPid} ready`);
	rss.start = rssKb(masterPid);

	// Session processes: each on its own source address, so client ports never run short.
	phase = 'ramp';
	const common = { port, timeout: Math.max(10000, 2 * opt.heartbeat * 1000) };
	for (let i = 0; i < opt.procs; i++) {
		const count = Math.min(perProc, opt.sessions - i * perProc);
		if (count <= 0) {
			break;
		}
		startClient('pool', i, { ...common, count, wsEvery: opt.wsEvery,
			srcAddrs: [`127.0.1.${i + 1}`, `127.0.3.${i + 1}`], lifetime: opt.lifetime,
			requestEvery: opt.requestEvery, maxOpening: 64 });
	}
	say(`opening ${opt.sessions} sessions from ${opt.procs} processes ` +
		`(every ${opt.wsEvery}th over WebSocket)`);
	const rampStart = performance.now();
	for (;;) {
		await sleep(500);
		const w = sum('working', 'pool');
		if (w >= opt.sessions) {
			break;
		}
		if (performance.now() - rampStart > 120000) {
			failures.push(`only ${w} of ${opt.sessions} sessions were working 120 s after the start`);
			break;
		}
	}
	const rampS = (performance.now() - rampStart) / 1000;
	say(`${sum('working', 'pool')} sessions working after ${rampS.toFixed(1)} s`);
	rss.ramp = rssKb(masterPid);

	// Load and chaos.
	phase = 'load';
	startClient('loop', 0, { ...common, loops: opt.loops, delayMs: opt.loopDelay,
		wsEvery: opt.wsEvery, srcAddrs: [1, 2, 3, 4, 5, 6, 7, 8].map((x) => `127.0.2.${x}`) });
	kicker = startClient('kick', 0, { ...common, srcAddrs: ['127.0.4.1'] });
	const ka = new Admin(sockPath);
	const ra = new Admin(sockPath);
	const rl = new Admin(sockPath);
	const aa = new Admin(sockPath);
	const sa = new Admin(sockPath);
	kickAdmin = new Admin(sockPath);
	const loadStart = performance.now();
	every(() => killOne(ka, ra, port), opt.killEvery);
	every(() => reloadOne(rl), opt.reloadEvery);
	every(() => adminStep(aa), 0.3);
	around(() => snapshot(sa), 5);
	around(() => scrape(mport), 5);
	around(() => kickStart(), 3);
	every(() => kickSweep(), 1);
	around(() => broadcast(aa), 5);
	every(progress, 10);
	const loadMs = opt.minutes * 60000;
	while (performance.now() - loadStart < loadMs) {
		await sleep(Math.min(1000, loadMs - (performance.now() - loadStart)));
	}

	// Stop the chaos, let the last kill and reload finish, measure, then close the clients.
	for (const stop of timers) {
		stop();
	}
	for (let i = 0; i < 300 && (busy.kill || busy.reload); i++) {
		await sleep(100);
	}
	await sleep(1500);	/* the last close reports */
	const loadS = (performance.now() - loadStart) / 1000;
	rss.end = rssKb(masterPid);
	let statEnd = null;
	try {
		statEnd = await aa.json('show stat json');
		const info = await aa.json('show info json');
		if (info.pid !== masterPid) {
			admin.pidChanged = `show info says pid ${info.pid}, the master started as ${masterPid}`;
		}
	} catch (err) {
		admin.failed++;
		admin.errors.push(`final show: ${err.message}`);
	}
	const workingEnd = sum('working', 'pool');
	phase = 'stop';
	say('stopping the clients');
	for (const c of clients) {
		if (!c.exited) {
			c.child.send({ cmd: 'stop' });
		}
	}
	for (let i = 0; i < 250 && clients.some((c) => !c.exited); i++) {
		await sleep(100);
	}
	for (const c of clients) {
		if (!c.exited) {
			failures.push(`client process ${c.role} ${c.id} did not stop in 25 s`);
			c.child.kill('SIGKILL');
		}
	}
	// Every client closed: the server must let go of every connection.
	let leftover = null;
	for (let i = 0; i < 100; i++) {
		try {
			const st = await aa.json('show stat json', 5000);
			leftover = st.connections;
			if (leftover === 0) {
				break;
			}
		} catch {
			/* counted below if it stays */
		}
		await sleep(100);
	}
	if (leftover !== 0) {
		failures.push(`the server still had ${leftover} connections 10 s after every client closed`);
	}
	rss.idle = rssKb(masterPid);
	for (const x of [ka, ra, rl, aa, sa, kickAdmin]) {
		x.close();
	}

	// Stop the daemon gracefully (its workers are empty), then make sure by pid.
	phase = 'done';
	try {
		process.kill(masterPid, 'SIGTERM');
	} catch {
		/* reported below */
	}
	for (let i = 0; i < 150 && masterExit === null; i++) {
		await sleep(100);
	}
	if (masterExit === null) {
		failures.push('the master did not exit within 15 s of SIGTERM');
	} else if (masterExit.code !== 0) {
		failures.push(`the master exited with ${masterExit.signal ?? `status ${masterExit.code}`} ` +
			'after SIGTERM');
	}
	killEverything();
	report({ port, rampS, loadS, workingEnd, statEnd });
	process.exit(process.exitCode);
}

function report({ port, rampS, loadS, workingEnd, statEnd }) {
	const log = readLog().split('\n');
	const errs = [];
	const warns = new Map();
	let warnN = 0;
	for (const l of log) {
		const m = /^\S+ \d+ [MW] (error|warn) (.*)$/.exec(l);
		if (!m) {
			continue;
		}
		if (m[1] === 'error') {
			errs.push(l);
		} else {
			warnN++;
			const k = m[2].replace(/\d+/g, 'N');
			warns.set(k, (warns.get(k) ?? 0) + 1);
		}
	}
	const pool = clients.filter((c) => c.role === 'pool');
	const f = (field, role) => sum(field, role);
	const exp = Object.values(acct.expected).reduce((x, y) => x + y, 0);
	const respawn = kills.map((k) => k.respawnMs).filter((x) => x !== undefined);
	const lat = new Array(1002).fill(0);
	for (const c of pool) {
		c.stats?.latency.forEach((v, i) => { lat[i] += v; });
	}
	const latQ = (q) => {
		const n = lat.reduce((x, y) => x + y, 0);
		let acc = 0;
		for (let i = 0; i < lat.length; i++) {
			acc += lat[i];
			if (acc >= q * n && n > 0) {
				return i >= 1001 ? '>= 1000 ms' : `${i} ms`;
			}
		}
		return '-';
	};
	let pushed = 0;
	let received = 0;
	for (const [n, k] of Object.entries(bcast.pushedTo)) {
		pushed += k;
		for (const c of clients) {
			received += c.stats?.pushes?.[n] ?? 0;
		}
	}
	const loopOk = f('loopOk', 'loop');
	const loopLost = Object.entries(acct.expected).filter(([k]) => k.startsWith('loop/'))
		.reduce((x, [, v]) => x + v, 0);
	const loopUnexpected = acct.unexpected.filter((r) => r.src === 'loop');
	const loopClientErr = acct.clientErrors.filter((r) => r.src === 'loop');
	const sessUnexpected = acct.unexpected.filter((r) => r.src !== 'loop');
	const sessClientErr = acct.clientErrors.filter((r) => r.src !== 'loop');

	const out = [];
	const line = (s = '') => out.push(s);
	line();
	line(`== soak summary: ${loadS.toFixed(0)} s of load after a ${rampS.toFixed(1)} s ramp; ` +
		`shaddockd with ${opt.workers} workers on 127.0.0.1:${port}`);
	line(`long-lived sessions: ${opt.sessions} wanted over ${pool.length} processes, ` +
		`${workingEnd} working at the end; ${f('opened', 'pool')} opened in all ` +
		`(${Math.max(0, f('opened', 'pool') - opt.sessions)} reconnects); ` +
		`${f('closedNormal', 'pool')} closed by their clients at the end of their lifetime`);
	line(`  requests ${f('responses', 'pool')} answered right of ${f('requests', 'pool')} sent ` +
		`(p50 ${latQ(0.5)}, p99 ${latQ(0.99)}); heartbeats ${f('hbSent', 'pool')} sent, ` +
		`${f('hbRecv', 'pool') - f('opened', 'pool')} answered (and ${f('opened', 'pool')} ` +
		'sent by the server after the ack)');
	line(`connect loop: ${loopOk} connect+handshake+request ok; failed handshakes ` +
		`${loopUnexpected.length + loopClientErr.length} (target 0); ${loopLost} on killed ` +
		'workers (expected)');
	const lostOpening = sessUnexpected.filter((r) => r.stage !== 'working').length;
	line(`sessions lost that were not on a killed worker: ${sessUnexpected.length} (target 0)` +
		(lostOpening ? ` (${lostOpening} of them before they worked)` : '') + '; ' +
		`sessions closed by the client after a wrong answer or a timeout: ${sessClientErr.length}`);
	line(`sessions on killed workers (expected loss): ${exp}` +
		(exp ? ` (${Object.entries(acct.expected).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''));
	const socks = kills.reduce((x, k) => x + k.sockets, 0);
	const matched = kills.reduce((x, k) => x + k.closed, 0);
	const byClient = kills.reduce((x, k) => x + k.clientClosed, 0);
	const quiet = kills.filter((k) => !k.reloadDuring).map((k) => k.respawnMs)
		.filter((x) => x !== undefined);
	line(`kill -9: ${kills.length} workers holding ${socks} client sockets (${matched} reported ` +
		`closed by the server, ${byClient} closed by their clients meanwhile, ` +
		`${socks - matched - byClient} not reported); ` +
		`stopped for p50 ${ms(pct(kills.map((k) => k.stopMs), 0.5))} to list them; ` +
		`respawn until ready p50 ${ms(pct(respawn, 0.5))}, p99 ${ms(pct(respawn, 0.99))}, ` +
		`max ${ms(pct(respawn, 1))}` +
		(kills.some((k) => k.reloadDuring) ? `; ${kills.length - quiet.length} had a reload in ` +
			`between, without them p50 ${ms(pct(quiet, 0.5))}, p99 ${ms(pct(quiet, 0.99))}` : ''));
	line(`reloads: ${reloads.completed} completed of ${reloads.sent} HUPs ` +
		`(p50 ${ms(pct(reloads.ms, 0.5))}, p99 ${ms(pct(reloads.ms, 0.99))})` +
		(reloads.timedOut ? `, ${reloads.timedOut} not completed` : ''));
	line(`admin: ${admin.ok} commands ok (${admin.ctl} through shaddockctl), ${admin.failed} failed; ` +
		`kicks ${kicksState.verified} verified of ${kicksState.started} ` +
		`(${kicksState.killed} on killed workers, ${kicksState.failed.length} failed); ` +
		`broadcasts ${Object.keys(bcast.pushedTo).length} (pushed to ${pushed}, received ${received}); ` +
		`show sessions json ${snaps.n}x (p50 ${ms(pct(snaps.ms, 0.5))}, up to ${snaps.maxListed} ` +
		`sessions); metrics ${metrics.ok} ok, ${metrics.failed} failed`);
	line(`master: pid ${masterPid} ${admin.pidChanged ? `CHANGED: ${admin.pidChanged}` : 'unchanged'}; ` +
		`RSS ${mib(rss.start)} at start, ${mib(rss.ramp)} with the sessions open, ` +
		`${mib(rss.end)} at the end of the load, ${mib(rss.idle)} after the clients closed`);
	if (statEnd) {
		const keys = ['handshake_errors', 'protocol_errors', 'heartbeat_timeouts',
			'handshake_timeouts', 'idle_timeouts', 'send_buffer_overflows',
			'rejected_max_connections'];
		line(`server counters (live workers at the end): ${keys.map((k) => `${k} ${statEnd[k]}`).join(', ')}`);
	}
	line(`log: ${errs.length} lines at error, ${warnN} at warn`);
	for (const [k, v] of [...warns].sort((x, y) => y[1] - x[1]).slice(0, 12)) {
		line(`  warn x${v}: ${k}`);
	}
	for (const e of errs.slice(0, 50)) {
		line(`  ${e}`);
	}
	if (errs.length > 50) {
		line(`  ... and ${errs.length - 50} more error lines`);
	}
	const show = (title, list) => {
		if (!list.length) {
			return;
		}
		line(`${title} (${list.length}; the first 20):`);
		for (const r of list.slice(0, 20)) {
			line(`  ${r.src} ${r.transport} ${r.key ?? '(no address)'} ${r.stage}, ` +
				`${r.byServer ? 'server' : 'client'} closed: ${r.reason}` +
				`${r.detail ? ` (${r.detail})` : ''}, age ${(r.ageMs / 1000).toFixed(1)} s, ` +
				`at ${new Date(r.t).toISOString().slice(11, 23)}` +
				(r.seen ? `, last seen on worker slot ${r.seen.slot} serial ${r.seen.serial} ` +
					`(${r.seen.state})` : ', not in any show sessions snapshot'));
		}
	};
	if (acct.unexpected.length) {
		// Where they lived, by the last show sessions snapshot that listed them.
		const by = new Map();
		for (const r of acct.unexpected) {
			const w = r.seen ? `slot ${r.seen.slot} serial ${r.seen.serial}` : 'never listed';
			const k = `${w}, ${r.reason}`;
			by.set(k, (by.get(k) ?? 0) + 1);
		}
		line(`unexpected losses by worker and reason: ${[...by].map(([k, v]) => `${k}: ${v}`).join('; ')}`);
	}
	show('unexpected losses', acct.unexpected);
	show('client-side errors', acct.clientErrors);
	for (const e of [...kicksState.failed, ...admin.errors].slice(0, 20)) {
		line(`  admin/kick: ${e}`);
	}
	for (const n of notes.slice(0, 10)) {
		line(`  note: ${n}`);
	}

	if (acct.unexpected.length) {
		failures.push(`${acct.unexpected.length} sessions lost that were not on a killed worker`);
	}
	if (acct.clientErrors.length) {
		failures.push(`${acct.clientErrors.length} sessions ended by a wrong answer or a timeout`);
	}
	if (admin.failed || kicksState.failed.length || metrics.failed) {
		failures.push(`${admin.failed} admin commands, ${kicksState.failed.length} kicks and ` +
			`${metrics.failed} metrics scrapes failed`);
	}
	if (admin.pidChanged) {
		failures.push(admin.pidChanged);
	}
	if (workingEnd < opt.sessions * 0.95) {
		failures.push(`only ${workingEnd} of ${opt.sessions} sessions were working at the end`);
	}
	if (!kills.length || !reloads.completed) {
		failures.push('no kill or no reload happened (run longer)');
	}
	line();
	if (failures.length) {
		for (const x of failures) {
			line(`FAIL: ${x}`);
		}
		line(`soak: FAIL; run folder kept: ${dir}`);
	} else {
		line('soak: PASS');
	}
	process.stdout.write(`${out.join('\n')}\n`);
	if (!failures.length && !opt.keep) {
		fs.rmSync(dir, { recursive: true, force: true });
	}
	process.exitCode = failures.length ? 1 : 0;
}

// The whole run is bounded: ramp, load, the stop, and some slack.
const watchdog = setTimeout(() => {
	process.stdout.write(`soak: FAIL: the run overstayed its bound (${since()} s); killing everything; ` +
		`run folder kept: ${dir}\n`);
	killEverything();
	process.exit(1);
}, (opt.minutes * 60 + 300) * 1000);
watchdog.unref();

main().catch((err) => {
	process.stdout.write(`soak: FAIL: ${err.stack ?? err}\nrun folder kept: ${dir}\n`);
	killEverything();
	process.exit(1);
});
