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

function push(channel, route, msg) {
	return new Promise((resolve) => channel.pushMessage(route, msg, () => resolve()));
}

class RoomRemote {
	constructor(app) {
		this.app = app;
	}

	async join(uid, frontendId, room) {
		const channel = this.app.get('channelService').getChannel(room, true);
		events.record(this.app, 'join', { uid, frontendId, room });
		if (channel.getMembers().length > 0) {
			await push(channel, 'onJoin', { uid, room });
		}
		channel.add(uid, frontendId);
		return { room, members: channel.getMembers() };
	}

	async leave(session) {
		const s = session || {};
		const room = (s.settings && s.settings.room) || 'lobby';
		events.record(this.app, 'leave', { session: s });
		const channel = this.app.get('channelService').getChannel(room, false);
		if (!channel || !s.uid) {
			return null;
		}
		channel.leave(s.uid, s.frontendId);
		if (channel.getMembers().length > 0) {
			await push(channel, 'onLeave', { uid: s.uid, room });
		}
		return null;
	}
}

exports.default = function (app) {
	return new RoomRemote(app);
};
