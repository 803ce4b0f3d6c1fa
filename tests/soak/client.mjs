// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// One client process of the soak, forked by tests/soak/soak.mjs with an IPC channel. The first
// message says what it is:
//   pool: holds `count` long-lived sessions (raw TCP, and WebSocket for a share of them) that
//         heartbeat, send a HelloWorld request every few seconds and check every answer; each
//         lives a random lifetime, then is closed by the client; any closed session is replaced.
//   loop: `loops` parallel loops of connect, handshake, ack, first heartbeat, one request, close.
//   kick: opens one session per `kick-open` command (binding uid k<n>*soak-k<n> with the chat
//         demo's enter route when asked) and reports it ready, then how it ended.
// It reports every session that ends other than by its own normal close (and every kick session)
// to the parent, with the record of proto.mjs, in batches; counters once a second. It exits when
// told to stop (after closing its sessions) or when the parent goes away. The open-file limit
// (20,000) bounds one process: the parent spreads the sessions over several.

import { Session, ENTRY_ROUTE, ENTRY_OK } from './proto.mjs';

let cfg = null;
let stopping = false;
const sessions = new Set();
const events = [];
const stats = {
	opened: 0,		// sessions that reached WORKING
	working: 0,		// working now
	opening: 0,		// opening now
	wsWorking: 0,
	closedNormal: 0,	// closed by the client as planned
	requests: 0,
	responses: 0,
	loopOk: 0,
	loopFailed: 0,
	hbSent: 0,
	hbRecv: 0,
	pushes: {},		// broadcast number -> received
	otherPushes: 0,
	errors: {},		// kind -> count
	latency: new Array(1002).fill(0),	// ms buckets, the last one is >= 1000
};
let nth = 0;

process.on('disconnect', () => process.exit(0));

function rand(a, b) {
	return a + Math.random() * (b - a);
}

function srcAddr() {
	const a = cfg.srcAddrs;
	return a[nth % a.length];
}

function report(s, rec, extra) {
	events.push({ ...rec, src: cfg.mode, proc: cfg.id, ...extra });
}

// Sessions the client closed as planned: only their address and when, so the parent can tell
// a killed worker's socket whose client was closing it anyway from one nobody reported.
const normal = [];

function flush() {
	if (events.length && process.connected) {
		process.send({ ev: 'closed', list: events.splice(0) });
	}
	if (normal.length && process.connected) {
		process.send({ ev: 'normal', list: normal.splice(0) });
	}
}

function sendStats(final = false) {
	if (!process.connected) {
		return;
	}
	let hbSent = stats.hbSent;
	let hbRecv = stats.hbRecv;
	for (const s of sessions) {
		hbSent += s.hbSent;
		hbRecv += s.hbRecv;
	}
	process.send({ ev: final ? 'final' : 'stats', id: cfg.id, mode: cfg.mode,
		stats: { ...stats, hbSent, hbRecv, live: sessions.size } });
}

function recordLatency(ms) {
	stats.latency[Math.min(1001, Math.max(0, Math.round(ms)))]++;
}

const common = {
	onError(s, kind) {
		stats.errors[kind] = (stats.errors[kind] ?? 0) + 1;
	},
	onPush(s, route, body) {
		let n;
		try {
			n = JSON.parse(body).soak;
		} catch {
			n = undefined;
		}
		if (route === 'onSoak' && Number.isInteger(n)) {
			stats.pushes[n] = (stats.pushes[n] ?? 0) + 1;
		} else if (cfg.mode === 'kick' && /^on(Add|Leave|Chat)$/.test(route)) {
			stats.otherPushes++;
		} else {
			s.fail('push', `unexpected push ${route} ${body.slice(0, 80)}`);
		}
	},
};

// ---- pool ----

const pool = {
	...common,
	onWorking(s) {
		stats.opening--;
		stats.working++;
		stats.opened++;
		if (s.ws) {
			stats.wsWorking++;
		}
		s.tag.working = true;
		s.tag.life = setTimeout(() => s.close('lifetime'), rand(...cfg.lifetime));
		armRequest(s);
		pump();
	},
	onResponse(s, id, body, ms) {
		stats.responses++;
		recordLatency(ms);
	},
	onClosed(s, rec) {
		sessions.delete(s);
		clearTimeout(s.tag.life);
		clearTimeout(s.tag.req);
		stats.hbSent += s.hbSent;
		stats.hbRecv += s.hbRecv;
		if (s.tag.working) {
			stats.working--;
			if (s.ws) {
				stats.wsWorking--;
			}
		} else {
			stats.opening--;
		}
		if (!rec.byServer && (rec.reason === 'lifetime' || rec.reason === 'stop')) {
			stats.closedNormal++;
			normal.push([rec.key, rec.t]);
		} else {
			report(s, rec, { wasWorking: !!s.tag.working });
		}
		if (!stopping) {
			setTimeout(pump, rand(50, 500));
		}
	},
};

function armRequest(s) {
	s.tag.req = setTimeout(() => {
		if (s.closing) {
			return;
		}
		stats.requests++;
		s.request(ENTRY_ROUTE, '{}', ENTRY_OK);
		armRequest(s);
	}, rand(...cfg.requestEvery));
}

function pump() {
	while (!stopping && sessions.size < cfg.count && stats.opening < cfg.maxOpening) {
		nth++;
		stats.opening++;
		const ws = cfg.wsEvery > 0 && nth % cfg.wsEvery === 0;
		sessions.add(new Session({ port: cfg.port, ws, localAddress: srcAddr(),
			timeout: cfg.timeout, owner: pool, tag: {} }));
	}
}

// ---- loop ----

const loop = {
	...common,
	onWorking(s) {
		s.request(ENTRY_ROUTE, '{}', ENTRY_OK);
	},
	onResponse(s, id, body, ms) {
		s.tag.ok = true;
		recordLatency(Date.now() - s.started);
		s.close('done');
	},
	onClosed(s, rec) {
		sessions.delete(s);
		stats.hbSent += s.hbSent;
		stats.hbRecv += s.hbRecv;
		if (s.tag.ok && !rec.byServer) {
			stats.loopOk++;
			normal.push([rec.key, rec.t]);
		} else {
			stats.loopFailed++;
			report(s, rec, {});
		}
		if (!stopping) {
			setTimeout(() => loopOne(s.tag.loop), cfg.delayMs);
		}
	},
};

function loopOne(i) {
	if (stopping) {
		return;
	}
	nth++;
	const ws = cfg.wsEvery > 0 && nth % cfg.wsEvery === 0;
	sessions.add(new Session({ port: cfg.port, ws, localAddress: srcAddr(),
		timeout: cfg.timeout, owner: loop, tag: { loop: i } }));
}

// ---- kick ----

const kick = {
	...common,
	onWorking(s) {
		if (s.tag.uid) {
			s.request('connector.entryHandler.enter',
				JSON.stringify({ username: `k${s.tag.n}`, rid: `soak-k${s.tag.n}` }), null);
		} else {
			process.send({ ev: 'kick-ready', n: s.tag.n, key: s.key });
		}
	},
	onResponse(s, id, body) {
		let ok = false;
		try {
			const r = JSON.parse(body);
			ok = Array.isArray(r.users) && r.users.includes(`k${s.tag.n}`);
		} catch {
			ok = false;
		}
		if (!ok) {
			s.fail('body', `enter answered ${body.slice(0, 120)}`);
			return;
		}
		process.send({ ev: 'kick-ready', n: s.tag.n, key: s.key });
	},
	onClosed(s, rec) {
		sessions.delete(s);
		process.send({ ev: 'kick-closed', n: s.tag.n, rec: { ...rec, src: 'kick', proc: cfg.id } });
	},
};

// ---- commands ----

process.on('message', (m) => {
	switch (m.cmd) {
	case 'start':
		cfg = m.cfg;
		setInterval(flush, 200);
		setInterval(() => sendStats(), 1000);
		setInterval(() => {
			const now = Date.now();
			for (const s of sessions) {
				s.sweep(now);
			}
		}, 1000);
		if (cfg.mode === 'pool') {
			pump();
		} else if (cfg.mode === 'loop') {
			for (let i = 0; i < cfg.loops; i++) {
				setTimeout(() => loopOne(i), i * cfg.delayMs / cfg.loops);
			}
		}
		break;
	case 'kick-open':
		nth++;
		sessions.add(new Session({ port: cfg.port, ws: m.n % 4 === 1, localAddress: srcAddr(),
			timeout: cfg.timeout, owner: kick, tag: { n: m.n, uid: m.uid } }));
		break;
	case 'kick-abort':
		for (const s of sessions) {
			if (s.tag.n === m.n) {
				s.close('abort');
			}
		}
		break;
	case 'stop': {
		stopping = true;
		for (const s of sessions) {
			s.close('stop');
		}
		const t0 = Date.now();
		const done = setInterval(() => {
			if (sessions.size === 0 || Date.now() - t0 > 15000) {
				clearInterval(done);
				for (const s of sessions) {
					s.socket.destroy();
				}
				flush();
				sendStats(true);
				setTimeout(() => process.exit(0), 100);
			}
		}, 50);
		break;
	}
	default:
		break;
	}
});
