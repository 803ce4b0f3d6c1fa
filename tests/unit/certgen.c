/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Test certificates (see certgen.h): EVP_EC_gen() for the key, an X509
 * built field by field and signed with its own key.
 */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/unit/certgen.h"

int
certgen_write(const char *cert_path, const char *key_path, const char *cn,
    long from_days, long to_days)
{
	EVP_PKEY	*pkey;
	X509		*x;
	X509_NAME	*name;
	FILE		*f;
	int		 r = -1;

	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		return -1;
	}
	if ((x = X509_new()) == NULL) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400L);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400L);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, pkey, EVP_sha256()) == 0) {
		goto out;
	}
	if ((f = fopen(cert_path, "w")) == NULL) {
		goto out;
	}
	PEM_write_X509(f, x);
	if (strcmp(cert_path, key_path) != 0) {
		fclose(f);
		if ((f = fopen(key_path, "w")) == NULL) {
			goto out;
		}
	}
	PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	r = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}
