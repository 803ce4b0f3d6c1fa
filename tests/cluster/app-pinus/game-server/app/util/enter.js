// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The game's entry: bind the session to `uid`, keep the room in the session's settings, join the
// room on the game server chosen for the uid (roomRemote.join) and answer its members. Written
// against the calls both session kinds have (bind, set, push), so the same code runs in a Node
// connector (FrontendSession: local calls) and, migrated, on a `game` backend behind shaddock
// (BackendSession: sessionRemote.bind / push over RPC to the session's frontend). Only a Node
// frontend registers the session-closed hook itself; shaddock calls roomRemote.leave through its
// `session_closed` setting.
'use strict';

const events = require('./events');

exports.enter = async function (app, msg, session) {
	const uid = msg && msg.uid;
	const room = (msg && msg.room) || 'lobby';
	if (!uid) {
		return { code: 500, error: 'uid missing' };
	}
	try {
		await events.call((cb) => session.bind(uid, cb));
		session.set('room', room);
		await events.call((cb) => session.push('room', cb));
	} catch (err) {
		return { code: 500, error: events.errorText(err) };
	}
	if (app.isFrontend()) {
		session.on('closed', onClosed.bind(null, app));
	}
	try {
		const res = await app.rpc.game.roomRemote.join.route(session)(uid, session.frontendId, room);
		return Object.assign({ code: 200, entered: app.getServerId() }, res);
	} catch (err) {
		return { code: 500, error: events.errorText(err) };
	}
};

// A bound session closed on a Node connector: tell the game server (as chatofpomelo's
// chatRemote.kick), with the exported session, as shaddock's session_closed does.
function onClosed(app, session) {
	if (!session || !session.uid) {
		return;
	}
	app.rpc.game.roomRemote.leave.route(session)(events.exportSession(session)).catch((err) => {
		console.error(`roomRemote.leave failed: ${events.errorText(err)}`);
	});
}
