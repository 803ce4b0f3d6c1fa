// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The gate's choice of a connector: |crc32(uid)| mod n over the connectors in the order the master
// announced them, with Pomelo's crc@0.2.0 (the arithmetic of Pomelo's default route, CLUSTER.md
// §5.2), as chatofpomelo's gate does.
'use strict';

const crc = require('crc');

exports.byUid = function (list, uid) {
	if (!list || list.length === 0) {
		return null;
	}
	return list[Math.abs(crc.crc32(String(uid))) % list.length];
};
