/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * TLS 1.3 record protection (common/tls13.c): HKDF-Expand-Label against
 * OpenSSL's own TLS13-KDF, records sealed by one end and opened by the
 * other for each suite, key updates, and every record that must not open:
 * a flipped bit, a replay, a record out of order, a wrong header, an
 * inner plaintext of padding only, an over-long one. (The interplay with a
 * real TLS client is in test-xprt-tls.c.)
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "common/tls13.h"
#include "tests/unit/test.h"

static const uint16_t	 suites[] = { 0x1301, 0x1302, 0x1303 };

/* HKDF-Expand-Label as OpenSSL's TLS 1.3 KDF computes it. */
static int
openssl_label(size_t hash_len, const uint8_t *secret, const char *label,
    uint8_t *out, size_t out_len)
{
	EVP_KDF		*kdf = EVP_KDF_fetch(NULL, "TLS13-KDF", NULL);
	EVP_KDF_CTX	*ctx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM	 p[7];
	int		 mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, r;

	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    hash_len == 48 ? "SHA384" : "SHA256", 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, hash_len);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX,
	    (void *)"tls13 ", 6);
	p[4] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL,
	    (void *)label, strlen(label));
	p[5] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_DATA,
	    (void *)"", 0);
	p[6] = OSSL_PARAM_construct_end();
	r = EVP_KDF_derive(ctx, out, out_len, p);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return r == 1 ? 0 : -1;
}

TEST(expand_label_matches_openssl)
{
	static const char *const labels[] = { "key", "iv", "traffic upd" };
	static const size_t lens[] = { 12, 16, 32, 48, 100 };
	uint8_t	 secret[48], a[100], b[100];
	size_t	 h, l, n;

	RAND_bytes(secret, sizeof secret);
	for (h = 32; h <= 48; h += 16) {
		for (l = 0; l < 3; l++) {
			for (n = 0; n < 5; n++) {
				ASSERT_EQ(tls13_expand_label(h, secret,
				    labels[l], a, lens[n]), 0);
				ASSERT_EQ(openssl_label(h, secret, labels[l],
				    b, lens[n]), 0);
				ASSERT_MEM_EQ(a, lens[n], b, lens[n]);
			}
		}
	}
	ASSERT_EQ(tls13_expand_label(20, secret, "key", a, 16), -EINVAL);
}

/* A client and a server end of one connection. */
static int
pair(uint16_t suite, struct tls13 *server, struct tls13 *client)
{
	uint8_t	 cs[48], ss[48];
	size_t	 len = suite == 0x1302 ? 48 : 32;

	RAND_bytes(cs, sizeof cs);
	RAND_bytes(ss, sizeof ss);
	if (tls13_init(server, suite, cs, ss, len) != 0 ||
	    tls13_init(client, suite, ss, cs, len) != 0) {
		return -1;
	}
	return 0;
}

TEST(seal_and_open)
{
	struct tls13	 s, c;
	uint8_t		 rec[TLS13_MAX_RECORD], msg[TLS13_MAX_PLAIN], type;
	uint8_t		*content;
	size_t		 i, len, n;
	int		 r;

	RAND_bytes(msg, sizeof msg);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(pair(suites[i], &s, &c), 0);
		for (len = 0; len <= TLS13_MAX_PLAIN; len += 4093) {
			r = tls13_seal(&s, TLS13_APPLICATION, msg, len, rec);
			ASSERT_EQ(r, (int)TLS13_SEALED_LEN(len));
			ASSERT_EQ(rec[0], TLS13_APPLICATION);
			ASSERT_EQ(rec[1], 3);
			ASSERT_EQ(rec[2], 3);
			ASSERT_EQ(tls13_open(&c, rec, (size_t)r, &type,
			    &content, &n), 0);
			ASSERT_EQ(type, TLS13_APPLICATION);
			ASSERT_MEM_EQ(content, n, msg, len);
		}
		/* The other direction, with another content type. */
		r = tls13_seal(&c, TLS13_ALERT, (const uint8_t *)"\1\0", 2,
		    rec);
		ASSERT_EQ(tls13_open(&s, rec, (size_t)r, &type, &content,
		    &n), 0);
		ASSERT_EQ(type, TLS13_ALERT);
		ASSERT_EQ(n, 2);
		ASSERT_EQ(s.rd.seq, 1);
		ASSERT_EQ(c.rd.seq, 5);
		tls13_finish(&s);
		tls13_finish(&c);
	}
	ASSERT_EQ(tls13_init(&s, 0x1304, msg, msg, 32), -EINVAL);
	ASSERT_EQ(tls13_init(&s, 0x1301, msg, msg, 48), -EINVAL);
	ASSERT_TRUE(!tls13_suite_supported(0xc02f));
}

TEST(what_must_not_open)
{
	struct tls13	 s, c;
	uint8_t		 rec[256], copy[256], two[256], type, *content;
	size_t		 n;
	int		 r;

	ASSERT_EQ(pair(0x1301, &s, &c), 0);
	r = tls13_seal(&s, TLS13_APPLICATION, (const uint8_t *)"hello", 5,
	    rec);
	memcpy(copy, rec, (size_t)r);

	/* A flipped bit in the body, the tag, the header (it is the AAD). */
	copy[7] ^= 1;
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	memcpy(copy, rec, (size_t)r);
	copy[r - 1] ^= 0x80;
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	memcpy(copy, rec, (size_t)r);
	copy[2] = 1;
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	/* Not a protected record; a length that lies. */
	memcpy(copy, rec, (size_t)r);
	copy[0] = TLS13_HANDSHAKE;
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	memcpy(copy, rec, (size_t)r);
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r - 1, &type, &content, &n),
	    -EBADMSG);
	ASSERT_EQ(c.rd.seq, 0);

	/* The record itself opens once: a replay or a reordering does not. */
	memcpy(copy, rec, (size_t)r);
	ASSERT_TRUE(tls13_check(&c, &c.rd, copy, (size_t)r));
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n), 0);
	memcpy(copy, rec, (size_t)r);
	ASSERT_TRUE(!tls13_check(&c, &c.rd, copy, (size_t)r));
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	r = tls13_seal(&s, TLS13_APPLICATION, (const uint8_t *)"one", 3, rec);
	r = tls13_seal(&s, TLS13_APPLICATION, (const uint8_t *)"two", 3,
	    two);
	/* (A record that fails to open is left garbled: copy it first.) */
	memcpy(copy, two, (size_t)r);
	ASSERT_EQ(tls13_open(&c, copy, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	ASSERT_EQ(tls13_open(&c, rec, (size_t)r, &type, &content, &n), 0);
	ASSERT_EQ(tls13_open(&c, two, (size_t)r, &type, &content, &n), 0);
	ASSERT_MEM_EQ(content, n, "two", 3);

	/* Padding only: no content type. */
	r = tls13_seal(&s, 0, (const uint8_t *)"\0\0\0", 3, rec);
	ASSERT_EQ(tls13_open(&c, rec, (size_t)r, &type, &content, &n),
	    -EBADMSG);
	tls13_finish(&s);
	tls13_finish(&c);
}

TEST(key_update)
{
	struct tls13	 s, c;
	uint8_t		 rec[64], type, *content, old[TLS13_MAX_KEY];
	size_t		 n;
	int		 r;

	ASSERT_EQ(pair(0x1302, &s, &c), 0);
	memcpy(old, s.wr.key, sizeof old);
	ASSERT_EQ(tls13_update(&s, &s.wr), 0);
	ASSERT_TRUE(memcmp(old, s.wr.key, sizeof old) != 0);
	ASSERT_EQ(s.wr.seq, 0);
	r = tls13_seal(&s, TLS13_APPLICATION, (const uint8_t *)"x", 1, rec);
	/* Not until the reader updates too. */
	ASSERT_TRUE(!tls13_check(&c, &c.rd, rec, (size_t)r));
	ASSERT_EQ(tls13_update(&c, &c.rd), 0);
	ASSERT_EQ(tls13_open(&c, rec, (size_t)r, &type, &content, &n), 0);
	ASSERT_MEM_EQ(content, n, "x", 1);
	tls13_finish(&s);
	tls13_finish(&c);
}

int
main(void)
{
	RUN(expand_label_matches_openssl);
	RUN(seal_and_open);
	RUN(what_must_not_open);
	RUN(key_update);
	TEST_DONE();
}
