/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * TLS 1.3 record protection (see tls13.h), from RFC 8446:
 *
 *   key   = HKDF-Expand-Label(secret, "key", "", key_length)      §7.3
 *   iv    = HKDF-Expand-Label(secret, "iv", "", 12)
 *   next  = HKDF-Expand-Label(secret, "traffic upd", "", Hash.length)  §7.2
 *   nonce = iv XOR the 64-bit sequence number, left-padded       §5.3
 *   record = 23 03 03 length || AEAD(nonce, aad = those 5 bytes,
 *            content || type || zero padding)                    §5.2
 *
 * Every record uses a new nonce because the sequence number moves once
 * per record sealed or opened and never goes back: a record that fails to
 * open leaves it as it was, and the connection is closed. The AEAD is
 * OpenSSL's, through one cipher context per suite and process (a worker
 * has one thread), re-keyed for each record.
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/tls13.h"

#define TLS13_SUITES	3

struct tls13_suite {
	uint16_t	 id;
	uint8_t		 hash_len;
	uint8_t		 key_len;
	const char	*cipher;
	const char	*digest;
};

static const struct tls13_suite tls13_suites[TLS13_SUITES] = {
	{ 0x1301, 32, 16, "AES-128-GCM", "SHA256" },
	{ 0x1302, 48, 32, "AES-256-GCM", "SHA384" },
	{ 0x1303, 32, 32, "ChaCha20-Poly1305", "SHA256" },
};

static EVP_CIPHER	*tls13_cipher[TLS13_SUITES];
static EVP_CIPHER_CTX	*tls13_ctx[TLS13_SUITES];
static EVP_MD		*tls13_md[2];		/* SHA-256, SHA-384 */
static EVP_MD_CTX	*tls13_mdctx;
static uint8_t		 tls13_trial[TLS13_MAX_BODY];

static int
tls13_suite_index(uint16_t suite)
{
	int	 i;

	for (i = 0; i < TLS13_SUITES; i++) {
		if (tls13_suites[i].id == suite) {
			return i;
		}
	}
	return -1;
}

bool
tls13_suite_supported(uint16_t suite)
{
	return tls13_suite_index(suite) != -1;
}

/* The cipher context of <t>'s suite, made on first use. */
static EVP_CIPHER_CTX *
tls13_cctx(const struct tls13 *t)
{
	int	 i = tls13_suite_index(t->suite);

	if (i == -1) {
		return NULL;
	}
	if (tls13_ctx[i] != NULL) {
		return tls13_ctx[i];
	}
	if ((tls13_cipher[i] = EVP_CIPHER_fetch(NULL, tls13_suites[i].cipher,
	    NULL)) == NULL) {
		return NULL;
	}
	if ((tls13_ctx[i] = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(tls13_ctx[i], tls13_cipher[i], NULL, NULL, NULL,
	    1) != 1) {
		EVP_CIPHER_CTX_free(tls13_ctx[i]);
		tls13_ctx[i] = NULL;
		return NULL;
	}
	return tls13_ctx[i];
}

/*
 * HMAC(<key>, <a> || <b>) with SHA-256 (<hash_len> 32) or SHA-384 (48),
 * written out (RFC 2104) on a digest fetched once: OpenSSL's one-shot
 * HMAC() looks the algorithm up by name on every call, which cost 6 % of
 * a handshake here. <key> is at most one block long.
 */
static int
tls13_hmac(size_t hash_len, const uint8_t *key, size_t key_len,
    const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t *out)
{
	uint8_t		 pad[128], inner[TLS13_MAX_SECRET];
	size_t		 block = hash_len == 48 ? 128 : 64, i;
	int		 k = hash_len == 48, r = -EIO;

	if (tls13_md[k] == NULL && (tls13_md[k] = EVP_MD_fetch(NULL,
	    k ? "SHA384" : "SHA256", NULL)) == NULL) {
		return -EIO;
	}
	if (tls13_mdctx == NULL && (tls13_mdctx = EVP_MD_CTX_new()) == NULL) {
		return -EIO;
	}
	if (key_len > block) {
		return -EINVAL;
	}
	memset(pad, 0x36, block);
	for (i = 0; i < key_len; i++) {
		pad[i] ^= key[i];
	}
	if (EVP_DigestInit_ex2(tls13_mdctx, tls13_md[k], NULL) != 1 ||
	    EVP_DigestUpdate(tls13_mdctx, pad, block) != 1 ||
	    EVP_DigestUpdate(tls13_mdctx, a, alen) != 1 ||
	    EVP_DigestUpdate(tls13_mdctx, b, blen) != 1 ||
	    EVP_DigestFinal_ex(tls13_mdctx, inner, NULL) != 1) {
		goto out;
	}
	memset(pad, 0x5c, block);
	for (i = 0; i < key_len; i++) {
		pad[i] ^= key[i];
	}
	if (EVP_DigestInit_ex2(tls13_mdctx, tls13_md[k], NULL) != 1 ||
	    EVP_DigestUpdate(tls13_mdctx, pad, block) != 1 ||
	    EVP_DigestUpdate(tls13_mdctx, inner, hash_len) != 1 ||
	    EVP_DigestFinal_ex(tls13_mdctx, out, NULL) != 1) {
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(inner, sizeof inner);
	return r;
}

int
tls13_expand_label(size_t hash_len, const uint8_t *secret,
    const char *label, uint8_t *out, size_t out_len)
{
	uint8_t		 data[TLS13_MAX_SECRET + 2 + 1 + 255 + 1 + 1];
	uint8_t		 t[TLS13_MAX_SECRET];
	size_t		 info_len, llen = strlen(label), n, done = 0;
	size_t		 tlen = 0;
	uint8_t		 i;

	if ((hash_len != 32 && hash_len != 48) || llen > 255 - 6 ||
	    out_len > 255 * hash_len) {
		return -EINVAL;
	}
	/* HkdfLabel: length, "tls13 " + label, an empty context. */
	for (i = 1; done < out_len; i++) {
		n = 0;
		if (i > 1) {
			memcpy(data, t, tlen);
			n = tlen;
		}
		data[n++] = (uint8_t)(out_len >> 8);
		data[n++] = (uint8_t)out_len;
		data[n++] = (uint8_t)(6 + llen);
		memcpy(data + n, "tls13 ", 6);
		memcpy(data + n + 6, label, llen);
		n += 6 + llen;
		data[n++] = 0;
		info_len = n;
		data[info_len] = i;
		if (tls13_hmac(hash_len, secret, hash_len, data, info_len + 1,
		    NULL, 0, t) != 0) {
			OPENSSL_cleanse(t, sizeof t);
			return -EIO;
		}
		tlen = hash_len;
		n = out_len - done < tlen ? out_len - done : tlen;
		memcpy(out + done, t, n);
		done += n;
	}
	OPENSSL_cleanse(t, sizeof t);
	OPENSSL_cleanse(data, sizeof data);
	return 0;
}

/* The key and IV of <d> from its secret. */
static int
tls13_keys(const struct tls13 *t, struct tls13_dir *d)
{
	if (tls13_expand_label(t->hash_len, d->secret, "key", d->key,
	    t->key_len) != 0 || tls13_expand_label(t->hash_len, d->secret,
	    "iv", d->iv, TLS13_IV_LEN) != 0) {
		return -EIO;
	}
	d->seq = 0;
	return 0;
}

int
tls13_init(struct tls13 *t, uint16_t suite, const uint8_t *rd_secret,
    const uint8_t *wr_secret, size_t len)
{
	int	 i = tls13_suite_index(suite);

	memset(t, 0, sizeof *t);
	if (i == -1 || len != tls13_suites[i].hash_len) {
		return -EINVAL;
	}
	t->suite = suite;
	t->hash_len = tls13_suites[i].hash_len;
	t->key_len = tls13_suites[i].key_len;
	memcpy(t->rd.secret, rd_secret, len);
	memcpy(t->wr.secret, wr_secret, len);
	if (tls13_keys(t, &t->rd) != 0 || tls13_keys(t, &t->wr) != 0 ||
	    tls13_cctx(t) == NULL) {
		tls13_finish(t);
		return -EIO;
	}
	return 0;
}

int
tls13_rekey(const struct tls13 *t, struct tls13_dir *d, const uint8_t *secret)
{
	memcpy(d->secret, secret, t->hash_len);
	return tls13_keys(t, d);
}

void
tls13_finish(struct tls13 *t)
{
	OPENSSL_cleanse(t, sizeof *t);
}

int
tls13_update(const struct tls13 *t, struct tls13_dir *d)
{
	uint8_t	 next[TLS13_MAX_SECRET];

	if (tls13_expand_label(t->hash_len, d->secret, "traffic upd", next,
	    t->hash_len) != 0) {
		return -EIO;
	}
	memcpy(d->secret, next, t->hash_len);
	OPENSSL_cleanse(next, sizeof next);
	return tls13_keys(t, d);
}

static void
tls13_nonce(const struct tls13_dir *d, uint8_t *nonce)
{
	int	 i;

	memcpy(nonce, d->iv, TLS13_IV_LEN);
	for (i = 0; i < 8; i++) {
		nonce[TLS13_IV_LEN - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
	}
}

int
tls13_seal(struct tls13 *t, uint8_t type, const uint8_t *in, size_t len,
    uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx = tls13_cctx(t);
	uint8_t		 nonce[TLS13_IV_LEN];
	size_t		 body = len + 1 + TLS13_TAG_LEN;
	int		 n;

	if (ctx == NULL || len > TLS13_MAX_PLAIN) {
		return -EIO;
	}
	out[0] = TLS13_APPLICATION;
	out[1] = 0x03;
	out[2] = 0x03;
	out[3] = (uint8_t)(body >> 8);
	out[4] = (uint8_t)body;
	tls13_nonce(&t->wr, nonce);
	if (EVP_CipherInit_ex(ctx, NULL, NULL, t->wr.key, nonce, 1) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, out, TLS13_HEADER_LEN) != 1 ||
	    (len > 0 && EVP_CipherUpdate(ctx, out + TLS13_HEADER_LEN, &n, in,
	    (int)len) != 1) ||
	    EVP_CipherUpdate(ctx, out + TLS13_HEADER_LEN + len, &n, &type,
	    1) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + TLS13_HEADER_LEN + len + 1, &n) !=
	    1 || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
	    TLS13_TAG_LEN, out + TLS13_HEADER_LEN + len + 1) != 1) {
		return -EIO;
	}
	t->wr.seq++;
	return (int)(TLS13_HEADER_LEN + body);
}

/*
 * Decrypts the record <rec> of <len> bytes with <d> into <out> (room for
 * its body). Returns the length of the inner plaintext, or -EBADMSG.
 */
static int
tls13_decrypt(const struct tls13 *t, const struct tls13_dir *d,
    const uint8_t *rec, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx = tls13_cctx(t);
	uint8_t		 nonce[TLS13_IV_LEN], tag[TLS13_TAG_LEN];
	size_t		 body, ct;
	int		 n;

	if (ctx == NULL || len < TLS13_HEADER_LEN ||
	    rec[0] != TLS13_APPLICATION) {
		return -EBADMSG;
	}
	body = ((size_t)rec[3] << 8) | rec[4];
	if (body + TLS13_HEADER_LEN != len || body < 1 + TLS13_TAG_LEN ||
	    body > TLS13_MAX_BODY) {
		return -EBADMSG;
	}
	ct = body - TLS13_TAG_LEN;
	memcpy(tag, rec + TLS13_HEADER_LEN + ct, TLS13_TAG_LEN);
	tls13_nonce(d, nonce);
	if (EVP_CipherInit_ex(ctx, NULL, NULL, d->key, nonce, 0) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, rec, TLS13_HEADER_LEN) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, rec + TLS13_HEADER_LEN,
	    (int)ct) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TLS13_TAG_LEN,
	    tag) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + ct, &n) != 1) {
		return -EBADMSG;
	}
	return (int)ct;
}

int
tls13_open(struct tls13 *t, uint8_t *rec, size_t len, uint8_t *ret_type,
    uint8_t **ret_content, size_t *ret_len)
{
	uint8_t	*p = rec + TLS13_HEADER_LEN;
	int	 n;

	if ((n = tls13_decrypt(t, &t->rd, rec, len, p)) < 0) {
		return n;
	}
	/* The content type is the last byte that is not padding. */
	while (n > 0 && p[n - 1] == 0) {
		n--;
	}
	if (n == 0 || n - 1 > TLS13_MAX_PLAIN) {
		return -EBADMSG;
	}
	t->rd.seq++;
	*ret_type = p[n - 1];
	*ret_content = p;
	*ret_len = (size_t)(n - 1);
	return 0;
}

bool
tls13_check(const struct tls13 *t, const struct tls13_dir *d,
    const uint8_t *rec, size_t len)
{
	int	 n;

	n = tls13_decrypt(t, d, rec, len, tls13_trial);
	OPENSSL_cleanse(tls13_trial, n > 0 ? (size_t)n : 0);
	return n > 0;
}
