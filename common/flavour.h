/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Which framework a Pomelo-style cluster runs: Pomelo 2.2.7 and Pinus
 * 1.7.4 share the wire protocol of CLUSTER.md but differ in a few reply
 * shapes and in the crc32 their default route hashes with (CLUSTER.md
 * §10). The codecs that care take one of these.
 */

#ifndef COMMON_FLAVOUR_H
#define COMMON_FLAVOUR_H

enum flavour {
	FLAVOUR_POMELO = 1,	/* pomelo 2.2.7, pomelo-rpc 1.0.7, crc@0.2.0 */
	FLAVOUR_PINUS = 2,	/* pinus 1.7.4, pinus-rpc 1.7.4, crc@4.3.2 */
};

#endif
