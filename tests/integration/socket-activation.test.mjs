// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// systemd socket activation: a launcher binds the listener's address, puts the socket at fd 3
// and sets LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES as systemd does, then execs shaddockd (same
// pid). The master adopts that socket for the listener with the same address instead of
// binding, shares it among the workers, and keeps it across reloads.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, stopAll } from './lib/daemon.mjs';
import { PomeloRawClient, ENTRY_ROUTE, ENTRY_OK } from './lib/pomelo-raw.mjs';

const LAUNCHER = `
import os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(128)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ['LISTEN_FDS'] = '1'
os.environ['LISTEN_PID'] = str(os.getpid())
os.environ['LISTEN_FDNAMES'] = 'main'
os.execv(sys.argv[3], sys.argv[3:])
`;

const daemons = [];
after(async () => {
	await stopAll(daemons);
});

async function entry(port) {
	const c = await PomeloRawClient.open({ port });
	try {
		assert.deepEqual((await c.request(ENTRY_ROUTE, {})).body, ENTRY_OK);
	} finally {
		c.close();
	}
}

test('LISTEN_FDS: the passed socket is adopted, shared by the workers, kept on reload',
	async () => {
		const d = await startDaemon({ workers: 2,
			wrap: (x) => ['python3', '-c', LAUNCHER, '127.0.0.1', String(x.port)] });
		daemons.push(d);
		const ls = (await d.adminJson('show listeners')).listeners;
		assert.equal(ls.length, 1);
		assert.equal(ls[0].systemd, true, JSON.stringify(ls));
		assert.equal(ls[0].sockets, 1, 'an adopted socket is shared, not one per slot');
		assert.match(d.log(), /systemd passed 1 listening socket/);
		for (let i = 0; i < 10; i++) {
			await entry(d.port);
		}
		const r = await d.ctl(['reload']);
		assert.equal(r.code, 0, r.stderr);
		const after = (await d.adminJson('show listeners')).listeners;
		assert.equal(after[0].systemd, true);
		for (let i = 0; i < 10; i++) {
			await entry(d.port);
		}
		// Both workers accept from it.
		const accepted = (await d.workers()).filter((w) => w.state === 'ready');
		assert.equal(accepted.length, 2);
	});
