// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// connector.entryHandler: the game code that runs inside a Node connector (the baseline).
// enter {uid, room} -> {code: 200, members, room, server}.
'use strict';

const enter = require('../../../util/enter');

module.exports = function (app) {
	return new EntryHandler(app);
};

function EntryHandler(app) {
	this.app = app;
}

EntryHandler.prototype.enter = function (msg, session, next) {
	enter.enter(this.app, msg, session, next);
};
