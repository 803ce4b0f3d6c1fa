// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Loopback ports for the tests, never shared by accident. Test files run in parallel, each in
// its own Node process, and a daemon listens with SO_REUSEPORT (accept = reuseport): two
// daemons given the same port would both bind it and the kernel would split the connections
// between them, silently. A port from the ephemeral range can also be taken at any moment as
// the local end of an outgoing connection. So a port here:
//
// - comes from 10000-19999 (SHADDOCK_TEST_PORTS=LO-HI to change it), never from the system's
//   ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), nor from
//   20000-31999, which scripts/bench and tests/bench/bench-smoke.sh pick from;
// - is reserved across processes by binding the abstract Unix socket name
//   "shaddock-test-port-PORT": the kernel lets one socket at a time hold a name, and frees it
//   when its process exits however it exits, so there is no lock file to go stale, and the
//   names live in the network namespace, as the ports do;
// - is free now: a bind to 127.0.0.1:PORT without SO_REUSEPORT (Node never sets it) fails
//   while any socket listens there, including a daemon left behind by a killed test.
//
// reservePort() resolves { port, release() }; a Daemon holds its listener's reservation until
// stop() has killed it. freePort() keeps the reservation until the test process exits.

import fs from 'node:fs';
import net from 'node:net';

const DEFAULT_RANGE = [10000, 19999];
const MAX_TRIES = 500;

function parseRange(text) {
	const m = /^\s*(\d+)\s*[-\s]\s*(\d+)\s*$/.exec(text ?? '');
	if (!m) {
		return null;
	}
	const lo = Number(m[1]);
	const hi = Number(m[2]);
	return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : null;
}

// The kernel's range for the local ports of outgoing connections.
export function ephemeralRange() {
	try {
		return parseRange(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')) ??
			[32768, 60999];
	} catch {
		return [32768, 60999];
	}
}

// The range reservePort() draws from.
export function testPortRange() {
	const env = process.env.SHADDOCK_TEST_PORTS;
	if (env) {
		const r = parseRange(env);
		if (!r) {
			throw new Error(`SHADDOCK_TEST_PORTS="${env}" is not LO-HI`);
		}
		return r;
	}
	return DEFAULT_RANGE;
}

// Resolves true once `server` listens on `where`, false when the address is taken.
function tryListen(server, where) {
	return new Promise((resolve) => {
		const onError = () => resolve(false);
		server.once('error', onError);
		server.listen(where, () => {
			server.removeListener('error', onError);
			resolve(true);
		});
	});
}

// Holds the name of `port` (an abstract Unix socket), or resolves null when another process
// (or this one) holds it.
async function holdName(port) {
	// Nothing talks to it; a stray connection is closed at once.
	const server = net.createServer((s) => s.destroy());
	if (!(await tryListen(server, `\0shaddock-test-port-${port}`))) {
		return null;
	}
	server.unref();
	return server;
}

// True when 127.0.0.1:`port` can be bound now, without SO_REUSEPORT.
async function bindable(port) {
	const server = net.createServer();
	if (!(await tryListen(server, { port, host: '127.0.0.1', exclusive: true }))) {
		return false;
	}
	await new Promise((resolve) => server.close(resolve));
	return true;
}

// Reserves a free 127.0.0.1 port; resolves { port, release() }. release() may be called more
// than once.
export async function reservePort() {
	const [lo, hi] = testPortRange();
	const [elo, ehi] = ephemeralRange();
	const n = hi - lo + 1;
	const start = Math.floor(Math.random() * n);
	for (let i = 0; i < Math.min(n, MAX_TRIES); i++) {
		const port = lo + ((start + i) % n);
		if (port >= elo && port <= ehi) {
			continue;
		}
		const holder = await holdName(port);
		if (!holder) {
			continue;
		}
		if (!(await bindable(port))) {
			holder.close();
			continue;
		}
		let held = true;
		return {
			port,
			release() {
				if (held) {
					held = false;
					holder.close();
				}
			},
		};
	}
	throw new Error(`no free port in ${lo}-${hi} outside the ephemeral range ${elo}-${ehi} ` +
		`after ${Math.min(n, MAX_TRIES)} tries`);
}

// A reserved port kept until this process exits (for ports a test puts in a config itself).
export async function freePort() {
	return (await reservePort()).port;
}
