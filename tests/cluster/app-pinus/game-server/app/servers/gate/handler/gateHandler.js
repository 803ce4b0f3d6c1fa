// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// gate.gateHandler.queryEntry {uid} -> {code: 200, host, port, id}: the connector for this uid,
// picked from the connectors the master announced (Node connectors from servers.json and
// shaddock's workers that registered themselves alike). No uid or no connector -> {code: 500}.
'use strict';

const pick = require('../../../util/pick');

class GateHandler {
	constructor(app) {
		this.app = app;
	}

	async queryEntry(msg) {
		const uid = msg && msg.uid;
		if (!uid) {
			return { code: 500, error: 'uid missing' };
		}
		const c = pick.byUid(this.app.getServersByType('connector'), uid);
		if (!c) {
			return { code: 500, error: 'no connector' };
		}
		return { code: 200, host: c.clientHost || c.host, port: c.clientPort, id: c.id };
	}

	// Every connector as the gate sees it, in the master's order (for the tests).
	async connectors() {
		const list = this.app.getServersByType('connector') || [];
		return { code: 200, connectors: list.map((s) => ({ id: s.id, host: s.host, port: s.port,
			clientHost: s.clientHost, clientPort: s.clientPort, frontend: s.frontend })) };
	}
}

exports.default = function (app) {
	return new GateHandler(app);
};
