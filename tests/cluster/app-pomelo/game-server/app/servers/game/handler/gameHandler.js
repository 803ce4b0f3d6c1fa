// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// game.gameHandler: the requests the cluster tests forward through the connector tier. Each one
// exercises one thing a connector must carry: the reply mapping (echo, empty, fail, failCode,
// never, slow, and a notify), the session a forwarded message brings (whoami), every
// sys.sessionRemote method (bind, unbind, set -> push, setAll -> pushAll, getSession ->
// getBackendSessionBySid, getSessions -> getBackendSessionsByUid, kickSid, kickUid) and every
// sys.channelRemote method (roomPush / pushTo -> pushMessage with its failure list, broadcast
// with and without `binded`). Application errors come back as {code: 500, error: text}.
'use strict';

const events = require('../../../util/events');

module.exports = function (app) {
	return new GameHandler(app);
};

function GameHandler(app) {
	this.app = app;
}

// An inherited method: Pomelo's dictionary takes every function for…in finds, inherited ones
// included, so `game.gameHandler.ping` has a dictionary code here (not in the Pinus game).
const Base = { ping(msg, session, next) {
	next(null, { code: 200, pong: true });
} };
GameHandler.prototype = Object.create(Base);
Object.defineProperty(GameHandler.prototype, 'constructor', { value: GameHandler });

const H = GameHandler.prototype;

function body(msg) {
	const out = {};
	for (const k of Object.keys(msg || {})) {
		if (k !== '__route__') {
			out[k] = msg[k];
		}
	}
	return out;
}

function answer(next, extra) {
	return (err, value) => {
		if (err) {
			next(null, { code: 500, error: events.errorText(err) });
			return;
		}
		next(null, Object.assign({ code: 200 }, extra ? extra(value) : {}));
	};
}

// {…} -> {code: 200, server, echo: {…}}
H.echo = function (msg, session, next) {
	next(null, { code: 200, server: this.app.getServerId(), echo: body(msg) });
};

// The session as forwarded: -> {code: 200, server, session: {id, frontendId, uid, settings}}
H.whoami = function (msg, session, next) {
	next(null, { code: 200, server: this.app.getServerId(), session: events.exportSession(session) });
};

// A notify target: records the call; its answer must never reach the client.
H.note = function (msg, session, next) {
	events.record(this.app, 'note', { body: body(msg), session: events.exportSession(session) });
	next(null, { code: 200, ignored: true });
};

H.empty = function (msg, session, next) {
	next(null);
};

H.fail = function (msg, session, next) {
	next(new Error('boom'));
};

H.failCode = function (msg, session, next) {
	next(new Error('boom2'), { code: 601, why: 'custom' });
};

// Never answers (the connector's RPC timeout answers the client).
H.never = function (msg, session, next) {
	events.record(this.app, 'never', { session: events.exportSession(session) });
};

// {ms} -> {code: 200, slept: ms} after ms milliseconds.
H.slow = function (msg, session, next) {
	const ms = Math.min(Number(msg.ms) || 0, 60000);
	events.record(this.app, 'slow', { ms: ms, session: events.exportSession(session) });
	setTimeout(() => next(null, { code: 200, slept: ms, server: this.app.getServerId() }), ms);
};

// {uid} -> sessionRemote.bind
H.bind = function (msg, session, next) {
	session.bind(msg.uid, answer(next, () => ({ uid: session.uid })));
};

// {uid} -> sessionRemote.unbind
H.unbind = function (msg, session, next) {
	session.unbind(msg.uid, answer(next, () => ({ uid: session.uid === undefined ? null : session.uid })));
};

// {key, value} -> sessionRemote.push
H.set = function (msg, session, next) {
	session.set(msg.key, msg.value);
	session.push(msg.key, answer(next));
};

// {settings} -> sessionRemote.pushAll (the whole local copy, merged on the frontend)
H.setAll = function (msg, session, next) {
	const s = msg.settings || {};
	for (const k of Object.keys(s)) {
		session.set(k, s[k]);
	}
	session.pushAll(answer(next));
};

// {frontendId, sid} -> sessionRemote.getBackendSessionBySid -> {code: 200, session|null}
H.getSession = function (msg, session, next) {
	this.app.get('backendSessionService').get(msg.frontendId, msg.sid,
		answer(next, (bs) => ({ session: events.exportSession(bs) })));
};

// {frontendId, uid} -> sessionRemote.getBackendSessionsByUid -> {code: 200, sessions|null}
H.getSessions = function (msg, session, next) {
	this.app.get('backendSessionService').getByUid(msg.frontendId, msg.uid,
		answer(next, (list) => ({ sessions: list ? list.map(events.exportSession) : null })));
};

// {frontendId, sid, reason?} -> sessionRemote.kickBySid
H.kickSid = function (msg, session, next) {
	const bss = this.app.get('backendSessionService');
	if (msg.reason === undefined) {
		bss.kickBySid(msg.frontendId, msg.sid, answer(next));
	} else {
		bss.kickBySid(msg.frontendId, msg.sid, msg.reason, answer(next));
	}
};

// {frontendId, uid, reason?} -> sessionRemote.kickByUid
H.kickUid = function (msg, session, next) {
	const bss = this.app.get('backendSessionService');
	if (msg.reason === undefined) {
		bss.kickByUid(msg.frontendId, msg.uid, answer(next));
	} else {
		bss.kickByUid(msg.frontendId, msg.uid, msg.reason, answer(next));
	}
};

// {room, route, msg} -> channel.pushMessage to the room's members on every frontend
// -> {code: 200, fails, members}
H.roomPush = function (msg, session, next) {
	const channel = this.app.get('channelService').getChannel(msg.room, false);
	if (!channel) {
		next(null, { code: 404, error: `no room ${msg.room}` });
		return;
	}
	channel.pushMessage(msg.route, msg.msg, answer(next, (fails) => ({ fails: fails || [],
		members: channel.getMembers() })));
};

// {route, msg, uids: [{uid, sid}]} -> channelService.pushMessageByUids -> {code: 200, fails}
H.pushTo = function (msg, session, next) {
	this.app.get('channelService').pushMessageByUids(msg.route, msg.msg, msg.uids,
		answer(next, (fails) => ({ fails: fails || [] })));
};

// {frontendId, uid} -> app.sysrpc.connector.sessionRemote.kickByUid through the proxy Pomelo
// builds from its own installation
H.sysrpcKick = function (msg, session, next) {
	const proxy = this.app.sysrpc.connector;
	if (!proxy || !proxy.sessionRemote) {
		next(null, { code: 500, error: 'no sysrpc proxy for connector' });
		return;
	}
	proxy.sessionRemote.kickByUid.toServer(msg.frontendId, msg.uid, 'via sysrpc', (err) =>
		next(null, err ? { code: 500, error: events.errorText(err) } : { code: 200 }));
};

// Protobuf (config/clientProtos.json, serverProtos.json): {room, limit} -> {code, who, top}, and
// an `onScore` push to the caller with a global message inside.
H.score = function (msg, session, next) {
	const top = [];
	for (let i = 0; i < (msg.limit || 2); i++) {
		top.push({ uid: `${msg.room}-${i}`, points: -10 * i });
	}
	const uids = session.uid ? [{ uid: session.uid, sid: session.frontendId }] : [];
	this.app.get('channelService').pushMessageByUids('onScore', { uid: session.uid || '',
		at: 1.5, prize: { name: msg.room, ids: [1, 300] } }, uids, () => {
		next(null, { code: 200, who: session.uid || '', top });
	});
};

// {route, msg, binded, frontendType?} -> channelService.broadcast to every frontend of the type
H.broadcast = function (msg, session, next) {
	const opts = msg.binded === undefined ? {} : { binded: msg.binded };
	this.app.get('channelService').broadcast(msg.frontendType || 'connector', msg.route, msg.msg,
		opts, answer(next));
};

// Benchmark (tests/bench/cluster): {uid, room} -> bind the session and add it to the room
// without telling the members (sessionRemote.bind, then a local channel add).
H.benchJoin = function (msg, session, next) {
	session.bind(msg.uid, (err) => {
		if (err) {
			next(null, { code: 500, error: events.errorText(err) });
			return;
		}
		this.app.get('channelService').getChannel(msg.room, true).add(msg.uid, session.frontendId);
		next(null, { code: 200 });
	});
};

// Benchmark: {room, ts} -> `onBench` {ts} to every member of the room (channelRemote.pushMessage
// to each frontend); answered at once.
H.benchPublish = function (msg, session, next) {
	const channel = this.app.get('channelService').getChannel(msg.room, false);
	if (channel) {
		channel.pushMessage('onBench', { ts: msg.ts }, () => {});
	}
	next(null, { code: 200 });
};

// {room} -> {code: 200, members: [{uid, sid}]} of the room on this game server
H.members = function (msg, session, next) {
	const channel = this.app.get('channelService').getChannel(msg.room, false);
	const list = channel ? channel.getMembers().map((uid) => ({ uid: uid,
		sid: channel.getMember(uid).sid })) : [];
	next(null, { code: 200, server: this.app.getServerId(), members: list });
};
