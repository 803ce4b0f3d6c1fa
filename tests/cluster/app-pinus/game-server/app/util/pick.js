// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The shaddock authors
//
// The gate's choice of a connector: crc32(uid) mod n over the connectors in the order the master
// announced them, with Pinus's crc@4 (unsigned, over UTF-8: the arithmetic of Pinus's default
// route, CLUSTER.md §5.2).
'use strict';

const { crc32 } = require('crc');

exports.byUid = function (list, uid) {
	if (!list || list.length === 0) {
		return null;
	}
	return list[Math.abs(crc32(String(uid))) % list.length];
};
