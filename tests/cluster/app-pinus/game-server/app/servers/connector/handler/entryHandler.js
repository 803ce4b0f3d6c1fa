// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// connector.entryHandler: the game code that runs inside a Node connector (the baseline).
// enter {uid, room} -> {code: 200, members, room, entered}.
'use strict';

const enter = require('../../../util/enter');

class EntryHandler {
	constructor(app) {
		this.app = app;
	}

	async enter(msg, session) {
		return enter.enter(this.app, msg, session);
	}
}

exports.default = function (app) {
	return new EntryHandler(app);
};
