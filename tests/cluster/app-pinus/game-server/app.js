// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The Pinus 1.7.4 flavour of shaddock's cluster test game (tests/cluster/README.md), written as
// plain JavaScript modules (Pinus loads any .js file that exports a factory as `default`; no
// TypeScript build). One file starts every process of the cluster: with no server arguments it
// is the master, with `id=… serverType=…` it is that server. Server types: `gate` (frontend),
// `connector` (frontend: the Node connectors of the baseline, replaced by shaddock in the other
// runs) and `game` (backend).
'use strict';

require('reflect-metadata'); // the decorators Pinus's loaders look for
const { pinus } = require('pinus');

const app = pinus.createApp();
app.set('name', 'shaddock-cluster-test');

app.configure('all', 'gate|connector', () => {
	app.set('connectorConfig', {
		connector: pinus.connectors.hybridconnector,
		heartbeat: 3,
		useDict: true,
		useProtobuf: true,
	});
});

// A Pinus handler can only fail or answer (a promise); an error that carries `response` is
// answered with that response, as Pomelo's next(err, response) is (CLUSTER.md §5.3).
app.configure('all', 'game', () => {
	app.set('errorHandler', (err, msg, resp, session, cb) => {
		cb(err, (err && err.response) || resp);
	});
});

// The tests shorten the RPC callback timeout (30 s by default) with CLUSTER_RPC_TIMEOUT (ms).
if (process.env.CLUSTER_RPC_TIMEOUT) {
	app.set('proxyConfig', { timeout: Number(process.env.CLUSTER_RPC_TIMEOUT) });
}

// One line on stdout when this server has started (the tests wait for it).
app.start((err) => {
	const line = JSON.stringify({ type: 'ready', server: app.getServerId(), time: Date.now(),
		error: err ? String(err.stack || err) : undefined });
	process.stdout.write(`@@event ${line}\n`);
});

process.on('uncaughtException', (err) => {
	console.error(`uncaught exception: ${err && err.stack}`);
});
process.on('unhandledRejection', (err) => {
	console.error(`unhandled rejection: ${err && err.stack ? err.stack : JSON.stringify(err)}`);
});
