// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// gate.gateHandler.queryEntry {uid} -> {code: 200, host, port, id}: the connector for this uid,
// picked from the connectors the master announced (Node connectors from servers.json and
// shaddock's workers that registered themselves alike). No uid or no connector -> {code: 500}.
'use strict';

const pick = require('../../../util/pick');

module.exports = function (app) {
	return new GateHandler(app);
};

function GateHandler(app) {
	this.app = app;
}

GateHandler.prototype.queryEntry = function (msg, session, next) {
	const uid = msg && msg.uid;
	if (!uid) {
		next(null, { code: 500, error: 'uid missing' });
		return;
	}
	const c = pick.byUid(this.app.getServersByType('connector'), uid);
	if (!c) {
		next(null, { code: 500, error: 'no connector' });
		return;
	}
	next(null, { code: 200, host: c.clientHost || c.host, port: c.clientPort, id: c.id });
};

// Every connector as the gate sees it, in the master's order (for the tests).
GateHandler.prototype.connectors = function (msg, session, next) {
	const list = this.app.getServersByType('connector') || [];
	next(null, { code: 200, connectors: list.map((s) => ({ id: s.id, host: s.host, port: s.port,
		clientHost: s.clientHost, clientPort: s.clientPort, frontend: s.frontend })) });
};
