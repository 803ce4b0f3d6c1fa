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

exports.enter = function (app, msg, session, next) {
	const uid = msg && msg.uid;
	const room = (msg && msg.room) || 'lobby';
	if (!uid) {
		next(null, { code: 500, error: 'uid missing' });
		return;
	}
	session.bind(uid, (err) => {
		if (err) {
			next(null, { code: 500, error: events.errorText(err) });
			return;
		}
		session.set('room', room);
		session.push('room', (err2) => {
			if (err2) {
				next(null, { code: 500, error: events.errorText(err2) });
				return;
			}
			if (app.isFrontend()) {
				session.on('closed', onClosed.bind(null, app));
			}
			app.rpc.game.roomRemote.join(session, uid, session.frontendId, room, (err3, res) => {
				if (err3) {
					next(null, { code: 500, error: events.errorText(err3) });
					return;
				}
				next(null, Object.assign({ code: 200, entered: app.getServerId() }, res));
			});
		});
	});
};

// A bound session closed on a Node connector: tell the game server (as chatofpomelo's
// chatRemote.kick), with the exported session, as shaddock's session_closed does.
function onClosed(app, session) {
	if (!session || !session.uid) {
		return;
	}
	app.rpc.game.roomRemote.leave(session, events.exportSession(session), null);
}
