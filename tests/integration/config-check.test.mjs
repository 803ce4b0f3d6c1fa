// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// `shaddockd -t`: a good file passes and binds nothing; every kind of bad file fails with exit 1
// and names the file, the line and the problem; -V, a missing file and a bad option. -t binds
// nothing, so the fixed addresses in these files (127.0.0.1:3010, ...) are never listened on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkConfig, makeTempDir, SHADDOCKD } from './lib/daemon.mjs';
import { reservePort, run } from './lib/util.mjs';

function escape(s) {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Asserts stderr has a line `shaddockd: FILE:LINE: ...` mentioning every word of `mentions`.
function assertError(r, line, mentions) {
	assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
	const prefix = line === null
		? new RegExp(`^shaddockd: ${escape(r.file)}:? `)
		: new RegExp(`^shaddockd: ${escape(r.file)}:${line}: `);
	const lines = r.stderr.split('\n').filter((l) => prefix.test(l));
	assert.ok(lines.length > 0,
		`no "shaddockd: ${r.file}${line === null ? '' : `:${line}`}: ..." line in stderr:\n${r.stderr}`);
	for (const word of mentions) {
		assert.ok(lines.some((l) => l.includes(word)),
			`the error for line ${line} does not mention ${JSON.stringify(word)}:\n${r.stderr}`);
	}
}

const GOOD = (dir, port) => `# a complete configuration
[server]
workers = 2
accept = reuseport
runtime_dir = ${dir}
admin_socket = ${dir}/admin.sock
pid_file = ${dir}/shaddockd.pid
log_level = info
shutdown_timeout = 30s
worker_heartbeat_timeout = 5s
max_draining_generations = 3

[listener main]
address = 127.0.0.1:${port}
backlog = 511

[connector]
heartbeat = 3s
heartbeat_timeout = 0
handshake_timeout = 10s
idle_timeout = 90s
max_connections = 10000
max_package_size = 64k
max_send_buffer = 1m
no_delay = on
keepalive = off
use_dict = off

[app]
hello = on
`;

test('a good file: exit 0, "syntax is ok", nothing bound or created', async () => {
	const dir = makeTempDir('shaddock-check-good-');
	// Hold the listener's port (reserved, then listened on): -t must not try to bind it.
	const reservation = await reservePort();
	const port = reservation.port;
	const holder = net.createServer();
	await new Promise((resolve) => holder.listen(port, '127.0.0.1', resolve));
	try {
		const r = await checkConfig(GOOD(dir, port));
		assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
		assert.match(r.stderr,
			new RegExp(`^shaddockd: the configuration file ${escape(r.file)} syntax is ok$`, 'm'));
		assert.deepEqual(fs.readdirSync(dir), [], '-t created files in the runtime folder');
	} finally {
		await new Promise((resolve) => holder.close(resolve));
		reservation.release();
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('a minimal file (defaults for the rest) passes', async () => {
	const r = await checkConfig('[listener main]\naddress = 127.0.0.1:3010\n');
	assert.equal(r.code, 0, `stderr:\n${r.stderr}`);
	assert.match(r.stderr, /syntax is ok/);
});

test('comments with ; and # and all value forms are accepted', async () => {
	const r = await checkConfig(`; comment
# comment
[server]
workers = auto
accept = shared
log_level = debug
shutdown_timeout = 500ms

[listener main]
address = 127.0.0.1:3010

[listener six]
address = [::1]:3011

[listener local]
address = unix:/tmp/shaddock-check-test.sock

[connector]
heartbeat = 2
idle_timeout = 2m
handshake_timeout = 1h
max_package_size = 4096
max_send_buffer = 1m
no_delay = yes
keepalive = true
`);
	assert.equal(r.code, 0, `stderr:\n${r.stderr}`);
});

const BAD = [
	{
		name: 'an unknown key',
		text: '[server]\nworkers = 1\nwrkers = 2\n\n[listener main]\naddress = 127.0.0.1:3010\n',
		line: 3, mentions: ['wrkers'],
	},
	{
		name: 'a value that is not a number',
		text: '[server]\nworkers = abc\n\n[listener main]\naddress = 127.0.0.1:3010\n',
		line: 2, mentions: ['workers', 'abc'],
	},
	{
		name: 'workers out of range (0)',
		text: '[server]\nworkers = 0\n\n[listener main]\naddress = 127.0.0.1:3010\n',
		line: 2, mentions: ['workers'],
	},
	{
		name: 'workers out of range (257)',
		text: '[listener main]\naddress = 127.0.0.1:3010\n\n[server]\nworkers = 257\n',
		line: 5, mentions: ['workers'],
	},
	{
		name: 'a bad enum value',
		text: '[server]\naccept = sometimes\n\n[listener main]\naddress = 127.0.0.1:3010\n',
		line: 2, mentions: ['accept'],
	},
	{
		name: 'a bad duration',
		text: '[listener main]\naddress = 127.0.0.1:3010\n\n[connector]\n' +
			'heartbeat = 3 parsecs\n',
		line: 5, mentions: ['heartbeat'],
	},
	{
		name: 'a bad size',
		text: '[listener main]\naddress = 127.0.0.1:3010\n[connector]\nmax_package_size = 12q\n',
		line: 4, mentions: ['max_package_size'],
	},
	{
		name: 'a bad boolean',
		text: '[listener main]\naddress = 127.0.0.1:3010\n[connector]\nno_delay = maybe\n',
		line: 4, mentions: ['no_delay'],
	},
	{
		name: 'an unknown section',
		text: '[server]\nworkers = 1\n\n[listener main]\naddress = 127.0.0.1:3010\n\n' +
			'[foo]\nbar = 1\n',
		line: 7, mentions: ['foo'],
	},
	{
		name: 'a listener with a port out of range',
		text: '[server]\nworkers = 1\n\n[listener main]\naddress = 127.0.0.1:99999\n',
		line: 5, mentions: ['address'],
	},
	{
		name: 'a listener address without a port',
		text: '[listener main]\naddress = 127.0.0.1\n',
		line: 2, mentions: ['address'],
	},
	{
		name: 'a listener address with a port that is not a number',
		text: '[listener main]\nbacklog = 16\naddress = 127.0.0.1:abc\n',
		line: 3, mentions: ['address'],
	},
	{
		name: 'a key of one section in another',
		text: '[listener main]\naddress = 127.0.0.1:3010\nheartbeat = 3s\n',
		line: 3, mentions: ['heartbeat'],
	},
];

for (const c of BAD) {
	test(`-t rejects ${c.name} with file:line`, async () => {
		const r = await checkConfig(c.text);
		assertError(r, c.line, c.mentions);
	});
}

test('-t rejects a file without a [listener] section, naming the file', async () => {
	const r = await checkConfig('[server]\nworkers = 2\n');
	assertError(r, null, ['listener']);
});

test('-t reports every error of a file, each with its line', async () => {
	const r = await checkConfig('[server]\nworkers = abc\nwrkers = 2\n\n' +
		'[listener main]\naddress = 127.0.0.1:3010\n\n[connector]\nheartbeat = soon\n');
	assertError(r, 2, ['workers']);
	assertError(r, 3, ['wrkers']);
	assertError(r, 9, ['heartbeat']);
});

test('-t on a file that does not exist: exit 1 and the file named', async () => {
	const dir = makeTempDir('shaddock-check-missing-');
	const file = path.join(dir, 'nope.conf');
	try {
		const r = await run(SHADDOCKD, ['-t', '-c', file]);
		assert.equal(r.code, 1, `stderr:\n${r.stderr}`);
		assert.ok(r.stderr.includes(file), `stderr does not name ${file}:\n${r.stderr}`);
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
});

test('-V prints the version', async () => {
	const r = await run(SHADDOCKD, ['-V']);
	assert.equal(r.code, 0);
	assert.match(r.stdout + r.stderr, /^shaddockd 0\.1\.0$/m);
});

test('an unknown option is a usage error (exit 2)', async () => {
	const r = await run(SHADDOCKD, ['-Z']);
	assert.equal(r.code, 2, `stdout: ${r.stdout} stderr: ${r.stderr}`);
});

test('-t: a user or group that does not exist is an error', async () => {
	for (const [key, value] of [['user', 'no-such-user-x'], ['group', 'no-such-group-x'],
		['admin_group', 'no-such-group-y']]) {
		const r = await checkConfig(`[server]\n${key} = ${value}\n\n` +
			'[listener main]\naddress = 127.0.0.1:3010\n');
		assert.equal(r.code, 1, `${key}: ${JSON.stringify(r)}`);
		assert.ok(r.stderr.includes(`${key}: no `) && r.stderr.includes(`"${value}"`),
			r.stderr);
	}
});
