// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The Pomelo 2.2.7 flavour of shaddock's cluster test game (tests/cluster/README.md). One file
// starts every process of the cluster, as in any Pomelo game: with no server arguments it is
// the master, with `id=… serverType=…` it is that server. Server types: `gate` (frontend: hands
// out a connector), `connector` (frontend: the Node connectors of the baseline, replaced by
// shaddock in the other runs) and `game` (backend: the game logic every test drives).
'use strict';

const pomelo = require('pomelo');

const app = pomelo.createApp();
app.set('name', 'shaddock-cluster-test');

app.configure('all', 'gate|connector', () => {
	app.set('connectorConfig', {
		connector: pomelo.connectors.hybridconnector,
		heartbeat: 3,
		useDict: true,
		useProtobuf: true,
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
