// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// game.entryHandler: connector.entryHandler migrated to the backend, for a connector tier that
// runs no game code (shaddock with `own_routes = game` forwards `connector.entryHandler.enter`
// here). The same logic (app/util/enter.js); the session is a BackendSession, so bind and push
// travel to the session's frontend as sessionRemote calls.
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
