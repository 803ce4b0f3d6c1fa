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

function body(msg) {
	const out = {};
	for (const k of Object.keys(msg || {})) {
		if (k !== '__route__') {
			out[k] = msg[k];
		}
	}
	return out;
}

// Runs a callback API; {code: 200, ...extra(value)} or {code: 500, error}.
async function answer(fn, extra) {
	try {
		const value = await events.call(fn);
		return Object.assign({ code: 200 }, extra ? extra(value) : {});
	} catch (err) {
		return { code: 500, error: events.errorText(err) };
	}
}

// An inherited method is a working route, but Pinus's dictionary lists only the handler class's
// own methods (listEs6ClassMethods), so `game.gameHandler.ping` has no dictionary code here.
class BaseHandler {
	async ping() {
		return { code: 200, pong: true };
	}
}

class GameHandler extends BaseHandler {
	constructor(app) {
		super();
		this.app = app;
	}

	// {…} -> {code: 200, server, echo: {…}}
	async echo(msg) {
		return { code: 200, server: this.app.getServerId(), echo: body(msg) };
	}

	// The session as forwarded: -> {code: 200, server, session: {id, frontendId, uid, settings}}
	async whoami(msg, session) {
		return { code: 200, server: this.app.getServerId(), session: events.exportSession(session) };
	}

	// A notify target: records the call; its answer must never reach the client.
	async note(msg, session) {
		events.record(this.app, 'note', { body: body(msg), session: events.exportSession(session) });
		return { code: 200, ignored: true };
	}

	async empty() {
		return null;
	}

	async fail() {
		throw new Error('boom');
	}

	async failCode() {
		const err = new Error('boom2');
		err.response = { code: 601, why: 'custom' };
		throw err;
	}

	// Never answers (the connector's RPC timeout answers the client).
	never(msg, session) {
		events.record(this.app, 'never', { session: events.exportSession(session) });
		return new Promise(() => {});
	}

	// {ms} -> {code: 200, slept: ms} after ms milliseconds.
	async slow(msg, session) {
		const ms = Math.min(Number(msg.ms) || 0, 60000);
		events.record(this.app, 'slow', { ms, session: events.exportSession(session) });
		await new Promise((resolve) => setTimeout(resolve, ms));
		return { code: 200, slept: ms, server: this.app.getServerId() };
	}

	// {uid} -> sessionRemote.bind
	async bind(msg, session) {
		return answer((cb) => session.bind(msg.uid, cb), () => ({ uid: session.uid }));
	}

	// {uid} -> sessionRemote.unbind
	async unbind(msg, session) {
		return answer((cb) => session.unbind(msg.uid, cb),
			() => ({ uid: session.uid === undefined ? null : session.uid }));
	}

	// {key, value} -> sessionRemote.push
	async set(msg, session) {
		session.set(msg.key, msg.value);
		return answer((cb) => session.push(msg.key, cb));
	}

	// {settings} -> sessionRemote.pushAll (the whole local copy, merged on the frontend)
	async setAll(msg, session) {
		const s = msg.settings || {};
		for (const k of Object.keys(s)) {
			session.set(k, s[k]);
		}
		return answer((cb) => session.pushAll(cb));
	}

	// {frontendId, sid} -> sessionRemote.getBackendSessionBySid -> {code: 200, session|null}
	async getSession(msg) {
		const bss = this.app.get('backendSessionService');
		return answer((cb) => bss.get(msg.frontendId, msg.sid, cb),
			(bs) => ({ session: events.exportSession(bs) }));
	}

	// {frontendId, uid} -> sessionRemote.getBackendSessionsByUid -> {code: 200, sessions|null}
	async getSessions(msg) {
		const bss = this.app.get('backendSessionService');
		return answer((cb) => bss.getByUid(msg.frontendId, msg.uid, cb),
			(list) => ({ sessions: list ? list.map(events.exportSession) : null }));
	}

	// {frontendId, sid, reason?} -> sessionRemote.kickBySid
	async kickSid(msg) {
		const bss = this.app.get('backendSessionService');
		return answer((cb) => (msg.reason === undefined ? bss.kickBySid(msg.frontendId, msg.sid, cb)
			: bss.kickBySid(msg.frontendId, msg.sid, msg.reason, cb)));
	}

	// {frontendId, uid} -> app.sysrpc.connector.sessionRemote.kickByUid through the proxy Pinus
	// builds from the remoterPaths the connector registered (CLUSTER.md §3.2)
	async sysrpcKick(msg) {
		const proxy = this.app.sysrpc.connector;
		if (!proxy || !proxy.sessionRemote) {
			return { code: 500, error: 'no sysrpc proxy for connector' };
		}
		await proxy.sessionRemote.kickByUid.toServer(msg.frontendId, msg.uid, 'via sysrpc');
		return { code: 200 };
	}

	// {frontendId, uid, reason?} -> sessionRemote.kickByUid
	async kickUid(msg) {
		const bss = this.app.get('backendSessionService');
		return answer((cb) => (msg.reason === undefined ? bss.kickByUid(msg.frontendId, msg.uid, cb)
			: bss.kickByUid(msg.frontendId, msg.uid, msg.reason, cb)));
	}

	// {room, route, msg} -> channel.pushMessage to the room's members on every frontend
	// -> {code: 200, fails, members}
	async roomPush(msg) {
		const channel = this.app.get('channelService').getChannel(msg.room, false);
		if (!channel) {
			return { code: 404, error: `no room ${msg.room}` };
		}
		return answer((cb) => channel.pushMessage(msg.route, msg.msg, cb),
			(fails) => ({ fails: fails || [], members: channel.getMembers() }));
	}

	// {route, msg, uids: [{uid, sid}]} -> channelService.pushMessageByUids -> {code: 200, fails}
	async pushTo(msg) {
		const cs = this.app.get('channelService');
		return answer((cb) => cs.pushMessageByUids(msg.route, msg.msg, msg.uids, cb),
			(fails) => ({ fails: fails || [] }));
	}

	// Protobuf (config/clientProtos.json, serverProtos.json): {room, limit} -> {code, who, top},
	// and an `onScore` push to the caller with a global message inside.
	async score(msg, session) {
		const top = [];
		for (let i = 0; i < (msg.limit || 2); i++) {
			top.push({ uid: `${msg.room}-${i}`, points: -10 * i });
		}
		const uids = session.uid ? [{ uid: session.uid, sid: session.frontendId }] : [];
		const cs = this.app.get('channelService');
		await new Promise((resolve) => cs.pushMessageByUids('onScore', { uid: session.uid || '',
			at: 1.5, prize: { name: msg.room, ids: [1, 300] } }, uids, () => resolve()));
		return { code: 200, who: session.uid || '', top };
	}

	// {route, msg, binded, frontendType?} -> channelService.broadcast to every frontend of the type
	async broadcast(msg) {
		const cs = this.app.get('channelService');
		const opts = msg.binded === undefined ? {} : { binded: msg.binded };
		return answer((cb) => cs.broadcast(msg.frontendType || 'connector', msg.route, msg.msg,
			opts, cb));
	}

	// Benchmark (tests/bench/cluster): {uid, room} -> bind the session and add it to the room
	// without telling the members (sessionRemote.bind, then a local channel add).
	async benchJoin(msg, session) {
		try {
			await events.call((cb) => session.bind(msg.uid, cb));
		} catch (err) {
			return { code: 500, error: events.errorText(err) };
		}
		this.app.get('channelService').getChannel(msg.room, true).add(msg.uid, session.frontendId);
		return { code: 200 };
	}

	// Benchmark: {room, ts} -> `onBench` {ts} to every member of the room
	// (channelRemote.pushMessage to each frontend); answered at once.
	async benchPublish(msg) {
		const channel = this.app.get('channelService').getChannel(msg.room, false);
		if (channel) {
			channel.pushMessage('onBench', { ts: msg.ts }, () => {});
		}
		return { code: 200 };
	}

	// {room} -> {code: 200, members: [{uid, sid}]} of the room on this game server
	async members(msg) {
		const channel = this.app.get('channelService').getChannel(msg.room, false);
		const list = channel ? channel.getMembers().map((uid) => ({ uid,
			sid: channel.getMember(uid).sid })) : [];
		return { code: 200, server: this.app.getServerId(), members: list };
	}
}

exports.default = function (app) {
	return new GameHandler(app);
};
