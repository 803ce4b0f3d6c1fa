// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// What the game saw, for the tests: one line `@@event {json}` on stdout per event (a remote call,
// a notify), with the server id and the time. The test harness reads each server's stdout.
'use strict';

exports.record = function (app, type, data) {
	const line = JSON.stringify(Object.assign({ type, server: app.getServerId(),
		time: Date.now() }, data));
	process.stdout.write(`@@event ${line}\n`);
};

// The four members a frontend session exports, {id, frontendId, uid, settings}.
exports.exportSession = function (session) {
	if (!session) {
		return null;
	}
	return {
		id: session.id,
		frontendId: session.frontendId,
		uid: session.uid === undefined ? null : session.uid,
		settings: session.settings || {},
	};
};

// Error text as the client should see it: a remote error arrives as an Error or as {stack}.
exports.errorText = function (err) {
	if (!err) {
		return null;
	}
	if (typeof err === 'string') {
		return err;
	}
	const text = err.message || err.stack || JSON.stringify(err);
	return String(text).replace(/^Error: /, '').split('\n')[0];
};

// A callback API as a promise: resolves the callback's second argument.
exports.call = function (fn) {
	return new Promise((resolve, reject) => {
		fn((err, value) => (err ? reject(err) : resolve(value)));
	});
};
