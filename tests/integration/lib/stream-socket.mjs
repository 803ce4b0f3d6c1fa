// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Socket look-alikes for PomeloRawClient (lib/pomelo-raw.mjs), so the same Pomelo client runs
// over carriers that are not a net.Socket:
//
//   - wsSocket(ws): a `ws` WebSocket (ws:// or wss://): each package written is one binary
//     message, each message received is handed on as bytes;
//   - sClientSocket(child): an `openssl s_client -quiet` process: bytes go to its stdin and
//     come from its stdout; the process ending is the connection closing.
//
//   const c = new PomeloRawClient(await wsSocket(new WebSocket(url, { ca })));

import { EventEmitter } from 'node:events';

class StreamSocket extends EventEmitter {
	constructor({ write, destroy, pause = () => {}, localPort = null }) {
		super();
		this.writeFn = write;
		this.destroyFn = destroy;
		this.pauseFn = pause;
		this.localPort = localPort;
		this.closed = false;
	}

	setNoDelay() {}

	write(bytes, cb) {
		if (this.closed) {
			cb?.(new Error('closed'));
			return false;
		}
		return this.writeFn(Buffer.from(bytes), cb);
	}

	pause() {
		this.pauseFn();
	}

	destroy() {
		this.destroyFn();
	}

	closedBy(hadError = false) {
		if (!this.closed) {
			this.closed = true;
			this.emit('close', hadError);
		}
	}
}

// Resolves a socket look-alike once `ws` is open; rejects if it fails to open.
export function wsSocket(ws) {
	return new Promise((resolve, reject) => {
		const s = new StreamSocket({
			write: (bytes, cb) => {
				ws.send(bytes, { binary: true }, cb);
				return true;
			},
			destroy: () => ws.terminate(),
			pause: () => ws.pause(),
		});
		ws.on('message', (data) => s.emit('data', Buffer.from(data)));
		ws.on('close', () => s.closedBy(false));
		ws.on('error', (err) => {
			s.emit('error', err);
			reject(err);
		});
		ws.once('open', () => {
			s.localPort = ws._socket?.localPort ?? null;
			resolve(s);
		});
	});
}

// A socket look-alike over a spawned `openssl s_client -quiet` (its stdout is the TLS stream).
export function sClientSocket(child) {
	const s = new StreamSocket({
		write: (bytes, cb) => child.stdin.write(bytes, cb),
		destroy: () => child.kill('SIGKILL'),
		pause: () => child.stdout.pause(),
	});
	child.stdout.on('data', (chunk) => s.emit('data', chunk));
	child.stdin.on('error', () => {});
	child.on('close', (code) => s.closedBy(code !== 0));
	return s;
}
