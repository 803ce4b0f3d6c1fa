// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// Preloaded into every Node server of a test cluster (NODE_OPTIONS=--require): a listen() given a
// port and no address listens on 127.0.0.1 instead of every interface, so the masters', RPC and
// client ports of Pomelo and Pinus stay on loopback during the tests.
'use strict';

const net = require('net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
	const a0 = args[0];
	const isPort = typeof a0 === 'number' || (typeof a0 === 'string' && /^\d+$/.test(a0));
	if (isPort) {
		if (args.length >= 2 && (args[1] === undefined || args[1] === null)) {
			args[1] = '127.0.0.1';
		} else if (args.length < 2 || typeof args[1] === 'function' || typeof args[1] === 'number') {
			args.splice(1, 0, '127.0.0.1');
		}
	} else if (a0 !== null && typeof a0 === 'object' && a0.port !== undefined &&
	    a0.host === undefined && a0.path === undefined) {
		args[0] = Object.assign({}, a0, { host: '127.0.0.1' });
	}
	return listen.apply(this, args);
};
