// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The admin socket and shaddockctl: the line protocol (answer ended by an empty line, `json` as
// the last word, `error: ` answers), the commands' shapes, shaddockctl's exit codes and socket
// lookup, and the peer check (root, the socket's owner or admin_group; anyone else refused).
// The peer-check tests need root (to connect as `nobody`) and are skipped otherwise.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startDaemon, stopAll, SHADDOCKCTL } from './lib/daemon.mjs';
import { isRoot, run, withTimeout } from './lib/util.mjs';

let d;
const daemons = [];

after(async () => {
	await stopAll(daemons);
});

// The raw bytes of one exchange: everything the server sent until it closed or ended the
// answer with an empty line.
function rawExchange(sock, line) {
	return withTimeout(new Promise((resolve, reject) => {
		const s = net.connect(sock);
		let data = '';
		s.setEncoding('utf8');
		s.on('connect', () => s.write(line));
		s.on('data', (chunk) => {
			data += chunk;
			if (data.endsWith('\n\n')) {
				s.end();
				resolve(data);
			}
		});
		s.on('error', reject);
		s.on('close', () => resolve(data));
	}), 5000, `admin exchange "${line.trim()}"`);
}

test('start', async () => {
	d = await startDaemon({ workers: 2 });
	daemons.push(d);
});

test('every answer ends with an empty line; `json` gives one line of JSON', async () => {
	assert.ok(d, 'the daemon did not start');
	const text = await rawExchange(d.sock, 'show info\n');
	assert.ok(text.endsWith('\n\n'), JSON.stringify(text));
	assert.ok(!text.startsWith('error'), text);
	const json = await rawExchange(d.sock, 'show info json\n');
	assert.ok(json.endsWith('\n\n'), JSON.stringify(json));
	const lines = json.slice(0, -2).split('\n');
	assert.equal(lines.length, 1, `JSON answer on ${lines.length} lines`);
	const info = JSON.parse(lines[0]);
	assert.equal(info.pid, d.pid);
	assert.equal(info.version, '0.1.0');
	assert.equal(info.workers, 2);
	assert.equal(info.generation, 1);
	assert.equal(info.reloads, 0);
	assert.equal(info.config, d.confPath);
	assert.ok(info.uptime >= 0);
});

test('help lists the commands', async () => {
	assert.ok(d, 'the daemon did not start');
	const text = await d.admin('help');
	for (const cmd of ['show info', 'show workers', 'show listeners', 'show sessions',
		'show stat', 'reload', 'kick session', 'kick uid']) {
		assert.ok(text.includes(cmd), `help does not mention "${cmd}":\n${text}`);
	}
});

test('show stat json has every counter', async () => {
	assert.ok(d, 'the daemon did not start');
	const stat = await d.stat();
	for (const k of ['sessions', 'connections', 'accepted', 'rejected_max_connections',
		'handshakes', 'handshake_errors', 'requests', 'notifies', 'responses', 'pushes',
		'kicks', 'heartbeat_timeouts', 'handshake_timeouts', 'idle_timeouts', 'protocol_errors',
		'oversize_packages', 'send_buffer_overflows', 'bytes_in', 'bytes_out',
		'ws_connections', 'tcp_connections', 'sessions_inited', 'sessions_wait_ack',
		'sessions_working']) {
		assert.equal(typeof stat[k], 'number', `show stat: ${k} missing in ${JSON.stringify(stat)}`);
	}
});

test('show sessions json is a list; show listeners json names the listener', async () => {
	assert.ok(d, 'the daemon did not start');
	const s = await d.adminJson('show sessions');
	assert.ok(Array.isArray(s.sessions), JSON.stringify(s));
	const l = await d.adminJson('show listeners');
	assert.deepEqual(l.listeners.map((x) => [x.name, x.address]), [['main', d.address]]);
});

test('an unknown command is an error, in text and in JSON', async () => {
	assert.ok(d, 'the daemon did not start');
	assert.match(await d.admin('frobnicate now'), /^error: /);
	const j = await d.adminJson('frobnicate now');
	assert.equal(typeof j.error, 'string', JSON.stringify(j));
	assert.match(await d.admin('show nothing'), /^error: /);
});

test('kick of a session that does not exist: "error: no such session"', async () => {
	assert.ok(d, 'the daemon did not start');
	assert.equal(await d.admin('kick session 987654321 bye'), 'error: no such session');
	assert.equal(await d.admin('kick uid nobody-here bye'), 'error: no such session');
});

test('shaddockctl: the answer without the final empty line; exit 0, 1 on error, 2 when it ' +
	'cannot connect', async () => {
	assert.ok(d, 'the daemon did not start');
	const ok = await d.ctl(['show', 'info', 'json']);
	assert.equal(ok.code, 0, JSON.stringify(ok));
	assert.equal(JSON.parse(ok.stdout).pid, d.pid);
	assert.ok(!ok.stdout.endsWith('\n\n'), JSON.stringify(ok.stdout));
	const bad = await d.ctl(['kick', 'session', '987654321']);
	assert.equal(bad.code, 1, JSON.stringify(bad));
	assert.match(bad.stdout + bad.stderr, /error: no such session/);
	const none = await run(SHADDOCKCTL, ['-s', path.join(d.dir, 'no-such.sock'), 'show', 'info']);
	assert.equal(none.code, 2, JSON.stringify(none));
});

test('shaddockctl -c CONFIG finds the admin socket in the config', async () => {
	assert.ok(d, 'the daemon did not start');
	const r = await run(SHADDOCKCTL, ['-c', d.confPath, 'show', 'info', 'json']);
	assert.equal(r.code, 0, JSON.stringify(r));
	assert.equal(JSON.parse(r.stdout).pid, d.pid);
});

// Runs one admin exchange as user nobody (group nogroup, no supplementary groups).
async function asNobody(sock, line) {
	// The command is written once the connection is up and nothing came for 100 ms (a server
	// that refuses at accept time has answered by then); write errors are ignored so that what
	// the server sent is still read.
	const script = `
		const s = require('net').connect(process.argv[1]);
		let data = '';
		let error = null;
		s.setEncoding('utf8');
		s.on('connect', () => setTimeout(() => {
			if (!data) s.write(process.argv[2], () => {});
		}, 100));
		s.on('data', (c) => {
			data += c;
			if (data.endsWith('\\n\\n') && !data.startsWith('error: permission denied')) {
				console.log(JSON.stringify({ data, closed: false, error }));
				process.exit(0);
			}
		});
		s.on('error', (e) => { error = e.code; });
		s.on('close', () => {
			console.log(JSON.stringify({ data, closed: true, error }));
			process.exit(0);
		});
		setTimeout(() => {
			console.log(JSON.stringify({ data, closed: false, error }));
			process.exit(0);
		}, 3000);
	`;
	const r = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups',
		process.execPath, '-e', script, sock, line], { timeout: 10000 });
	assert.equal(r.code, 0, `setpriv: ${JSON.stringify(r)}`);
	return JSON.parse(r.stdout.trim().split('\n').pop());
}

// The socket must be reachable by nobody so that the daemon's own check is what refuses.
function openUp(daemon) {
	fs.chmodSync(daemon.dir, 0o755);
	fs.chmodSync(daemon.sock, 0o666);
}

test('a peer that is neither root, owner nor in admin_group gets "error: permission denied"',
	{ skip: isRoot() ? false : 'needs root (to connect as nobody)' }, async () => {
		assert.ok(d, 'the daemon did not start');
		const st = fs.statSync(d.sock);
		assert.equal(st.uid, 0, 'the socket is not owned by root');
		openUp(d);
		const r = await asNobody(d.sock, 'show info json\n');
		assert.notEqual(r.error, 'EACCES', 'nobody could not even connect');
		assert.match(r.data, /^error: permission denied\n/, JSON.stringify(r));
		assert.ok(!r.data.includes(`"pid":${d.pid}`), 'the command ran anyway');
		assert.equal(r.closed, true, 'the connection was not closed');
		// root still may.
		assert.equal((await d.adminJson('show info')).pid, d.pid);
	});

test('a member of admin_group may use the admin socket',
	{ skip: isRoot() ? false : 'needs root (to connect as nobody)' }, async () => {
		const g = await startDaemon({ workers: 1, server: { admin_group: 'nogroup' } });
		daemons.push(g);
		openUp(g);
		const r = await asNobody(g.sock, 'show info json\n');
		assert.equal(r.error, null, `nobody could not connect: ${r.error}`);
		assert.equal(JSON.parse(r.data.split('\n')[0]).pid, g.pid, JSON.stringify(r));
		// And with admin_group set, a user outside it is still refused.
		const h = await startDaemon({ workers: 1, server: { admin_group: 'root' } });
		daemons.push(h);
		openUp(h);
		const r2 = await asNobody(h.sock, 'show info json\n');
		assert.match(r2.data, /^error: permission denied\n/, JSON.stringify(r2));
	});

test('shaddockctl refused: prints the refusal and exits 1 (no SIGPIPE)',
	{ skip: isRoot() ? false : 'needs root (to run shaddockctl as nobody)' }, async () => {
		assert.ok(d, 'the daemon did not start');
		openUp(d);
		for (let i = 0; i < 5; i++) {
			const r = await run('setpriv', ['--reuid=nobody', '--regid=nogroup',
				'--clear-groups', SHADDOCKCTL, '-s', d.sock, 'show', 'info'],
			{ timeout: 10000 });
			assert.equal(r.signal, null, `killed by ${r.signal}`);
			assert.equal(r.code, 1, JSON.stringify(r));
			assert.match(r.stderr, /^error: permission denied/);
		}
	});

test('sentences answer as {"result": ...} in JSON; arguments keep their spacing', async () => {
	assert.ok(d, 'the daemon did not start');
	const reload = JSON.parse(await rawExchange(d.sock, 'reload json\n'));
	assert.match(reload.result, /^reload: ok, generation \d+$/);
	const b = JSON.parse(await rawExchange(d.sock, 'broadcast onNews {"a": "b  c"} json\n'));
	assert.match(b.result, /^pushed to \d+ sessions?$/);
	const long = 'x'.repeat(128);
	const k = await rawExchange(d.sock, `kick uid someone ${long}\n`);
	assert.equal(k, 'error: the reason is longer than 127 bytes\n\n');
	const st = JSON.parse((await run(SHADDOCKCTL, ['-s', d.sock, 'status', 'json'])).stdout);
	assert.equal(st.pid, d.pid);
});

test('help comes from the server\'s table: every command, usage and description; shaddockctl ' +
	'help prints it', async () => {
	assert.ok(d, 'the daemon did not start');
	const { commands } = await d.adminJson('help');
	const usages = commands.map((c) => c.usage);
	for (const u of ['broadcast ROUTE JSON', 'help', 'kick session ID [REASON]',
		'kick uid UID [REASON]', 'reload', 'show channels', 'show info', 'show listeners',
		'show sessions', 'show stat', 'show workers']) {
		assert.ok(usages.includes(u), `help json lacks "${u}": ${JSON.stringify(usages)}`);
	}
	assert.deepEqual([...usages].sort(), usages, 'help is not sorted');
	for (const c of commands) {
		assert.ok(c.description.length > 5, JSON.stringify(c));
	}
	// Each command without arguments (but reload) answers without an error, in both forms.
	for (const u of usages.filter((x) => !/[A-Z]/.test(x) && x !== 'reload')) {
		assert.doesNotMatch(await d.admin(u), /^error: /, u);
		assert.equal((await d.adminJson(u)).error, undefined, u);
		// The only empty line is the one that ends the answer (a table
		// after "name: value" lines too), else a reader stops early.
		const raw = await rawExchange(d.sock, `${u}\n`);
		assert.equal(raw.indexOf('\n\n'), raw.length - 2, `${u}: ${JSON.stringify(raw)}`);
	}
	// The text form: a header, then one row per command, aligned.
	const text = await d.admin('help');
	const lines = text.split('\n');
	assert.match(lines[0], /^usage +description$/);
	assert.equal(lines.length, commands.length + 1);
	const ctl = await d.ctl(['help']);
	assert.equal(ctl.code, 0, JSON.stringify(ctl));
	assert.equal(ctl.stdout.trimEnd(), text);
});

test('too few arguments: the usage; a first word that starts commands: their usages', async () => {
	assert.ok(d, 'the daemon did not start');
	assert.equal(await d.admin('broadcast onX'), 'error: usage: broadcast ROUTE JSON');
	assert.equal(await d.admin('kick uid'), 'error: usage: kick uid UID [REASON]');
	assert.equal(await d.admin('kick'),
		'error: usage: kick session ID [REASON] | kick uid UID [REASON]');
	assert.deepEqual(await d.adminJson('kick'),
		{ error: 'usage: kick session ID [REASON] | kick uid UID [REASON]' });
	const r = await d.ctl(['kick', 'nobody']);
	assert.equal(r.code, 1);
});

test('tables: a header and aligned rows; show stat and show info: one "name: value" per line',
	async () => {
		assert.ok(d, 'the daemon did not start');
		const w = (await d.admin('show workers')).split('\n');
		assert.match(w[0], /^slot +pid +generation +state +sessions +connections +accepted +rss$/);
		assert.equal(w.length, 3);
		const col = w[0].indexOf('state');
		for (const row of w.slice(1)) {
			assert.match(row.slice(col), /^ready /, row);
		}
		const stat = (await d.admin('show stat')).split('\n');
		assert.ok(stat.every((l) => /^[a-z_]+: \d+$/.test(l)), stat.join('\n'));
		assert.ok(stat.includes('control_errors: 0'), 'control_errors missing or not 0');
		assert.ok(stat.includes('master_control_errors: 0'));
		const info = await d.admin('show info');
		assert.match(info, /^pid: \d+\nversion: 0\.1\.0\nuptime: [\d.]+\ngeneration: \d+\n/);
	});

test('a uid with control characters cannot end a text answer early', async () => {
	const c = await startDaemon({ workers: 1, app: { chat: 'on' } });
	daemons.push(c);
	const { PomeloRawClient } = await import('./lib/pomelo-raw.mjs');
	const cl = await PomeloRawClient.open({ port: c.port, autoHeartbeat: true });
	try {
		const r = await cl.request('connector.entryHandler.enter',
			{ username: 'x\n\nerror: y', rid: 'r1' });
		assert.ok(Array.isArray(r.body.users), JSON.stringify(r.body));
		const text = await rawExchange(c.sock, 'show sessions\n');
		assert.ok(text.endsWith('\n\n'));
		assert.equal(text.indexOf('\n\n'), text.length - 2, JSON.stringify(text));
		assert.match(text, /x\\x0a\\x0aerror: y\*r1/);
		const ch = await rawExchange(c.sock, 'show channels\n');
		assert.equal(ch.indexOf('\n\n'), ch.length - 2, JSON.stringify(ch));
		// JSON keeps the uid as it is.
		const s = await c.adminJson('show sessions');
		assert.equal(s.sessions[0].uid, 'x\n\nerror: y*r1');
	} finally {
		cl.close();
	}
});
