/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Throw-away certificates for tests, made with OpenSSL at run time (no
 * private key is ever committed): a P-256 key and a self-signed
 * certificate for a common name, valid over a window relative to now.
 */

#ifndef TESTS_UNIT_CERTGEN_H
#define TESTS_UNIT_CERTGEN_H

/*
 * Writes a PEM certificate for "CN=<cn>" valid from now + <from_days> to
 * now + <to_days> (either may be negative) into <cert_path> and its key
 * into <key_path> (the same path gives one file holding both). Returns 0
 * or -1.
 */
int	 certgen_write(const char *cert_path, const char *key_path,
	     const char *cn, long from_days, long to_days);

#endif
