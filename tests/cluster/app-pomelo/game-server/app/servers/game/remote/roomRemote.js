// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// game.roomRemote: rooms are channels on the game server chosen by the member's uid.
//   join(uid, frontendId, room) -> {room, members}: called by the entry logic (as chatofpomelo's
//       chatRemote.add); tells the members already there with an `onJoin` push.
//   leave(session) with the exported session {id, frontendId, uid, settings}: the session-closed
//       hook (a Node connector's `closed` listener, shaddock's `session_closed`); leaves
//       settings.room and tells the others with `onLeave`.
// Both record an event (app/util/events.js) so the tests see the calls.
'use strict';

const events = require('../../../util/events');

module.exports = function (app) {
	return new RoomRemote(app);
};

function RoomRemote(app) {
	this.app = app;
}

RoomRemote.prototype.join = function (uid, frontendId, room, cb) {
	const channel = this.app.get('channelService').getChannel(room, true);
	events.record(this.app, 'join', { uid: uid, frontendId: frontendId, room: room });
	const done = () => {
		channel.add(uid, frontendId);
		cb(null, { room: room, members: channel.getMembers() });
	};
	if (channel.getMembers().length === 0) {
		done();
		return;
	}
	channel.pushMessage('onJoin', { uid: uid, room: room }, done);
};

RoomRemote.prototype.leave = function (session, cb) {
	const s = session || {};
	const room = (s.settings && s.settings.room) || 'lobby';
	events.record(this.app, 'leave', { session: s });
	const channel = this.app.get('channelService').getChannel(room, false);
	if (!channel || !s.uid) {
		cb(null);
		return;
	}
	channel.leave(s.uid, s.frontendId);
	if (channel.getMembers().length === 0) {
		cb(null);
		return;
	}
	channel.pushMessage('onLeave', { uid: s.uid, room: room }, () => cb(null));
};
