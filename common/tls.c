/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * TLS server contexts and the ring of session-ticket keys (see tls.h).
 *
 * A context is set up for many idle connections and for resumption on
 * any worker: buffers are released while a connection has nothing in
 * flight (SSL_MODE_RELEASE_BUFFERS), there is no session cache (it would
 * grow with every client and live in one process only), and sessions
 * resume from tickets alone, encrypted with the ring's keys under a fixed
 * session id context. Writes may be partial and the buffer may move
 * between retries, which is how conn.c writes: it retries from a buffer
 * that only grows and may have been copied to the heap.
 *
 * The ring is one per process: the master makes it (tls_ticket_keys_
 * rotate()), workers inherit it at fork and take each rotation from the
 * control channel (tls_ticket_keys_use()). The ticket callback reads it.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "common/tls.h"
#include "common/xmalloc.h"

#define TLS_SESSION_ID_CONTEXT	"shaddock"

static struct tls_ticket_keys	 tls_keys;

/* Ends <err> with the reason of OpenSSL's last error, and clears them. */
static void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s%s%s", what, reason != NULL ? ": " : "",
	    reason != NULL ? reason : "");
	ERR_clear_error();
}

/* Says why <path> cannot be read, as fopen() would. */
static int
tls_readable(const char *path, char *err, size_t errlen)
{
	FILE	*f;
	int	 r;

	if ((f = fopen(path, "re")) == NULL) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	fclose(f);
	return 0;
}

/* An encrypted key would make OpenSSL ask on the terminal: refuse it. */
static int
tls_no_password(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

int
tls_protocols_parse(const char *s, int *ret_min, int *ret_max, char *err,
    size_t errlen)
{
	static const struct {
		const char	*name;
		int		 version;
	} known[] = {
		{ "TLSv1.2", TLS1_2_VERSION },
		{ "TLSv1.3", TLS1_3_VERSION },
	};
	const char	*p = s;
	size_t		 len, i;
	int		 min = 0, max = 0;

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0') {
			break;
		}
		len = strcspn(p, " \t,");
		for (i = 0; i < sizeof known / sizeof known[0]; i++) {
			if (strlen(known[i].name) == len &&
			    strncasecmp(p, known[i].name, len) == 0) {
				break;
			}
		}
		if (i == sizeof known / sizeof known[0]) {
			snprintf(err, errlen, "\"%.*s\" is not a protocol "
			    "shaddock offers (TLSv1.2, TLSv1.3)", (int)len, p);
			return -EINVAL;
		}
		if (min == 0 || known[i].version < min) {
			min = known[i].version;
		}
		if (known[i].version > max) {
			max = known[i].version;
		}
		p += len;
	}
	if (min == 0) {
		snprintf(err, errlen, "names no protocol (TLSv1.2, TLSv1.3)");
		return -EINVAL;
	}
	*ret_min = min;
	*ret_max = max;
	return 0;
}

const char *
tls_time_format(int64_t t, char *buf, size_t size)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, size, "%jd", (intmax_t)t);
	}
	return buf;
}

void
tls_ctx_show(const struct tls_ctx *t, const char *mode, json_t *o)
{
	char	 date[32];

	json_object_set_new(o, "tls", json_string(mode));
	if (t == NULL) {
		json_object_set_new(o, "subject", json_null());
		json_object_set_new(o, "expires", json_null());
		json_object_set_new(o, "days_left", json_null());
		return;
	}
	json_object_set_new(o, "subject", json_string(t->subject));
	json_object_set_new(o, "expires", json_string(tls_time_format(
	    t->not_after, date, sizeof date)));
	json_object_set_new(o, "days_left", json_integer((json_int_t)
	    ((t->not_after - (int64_t)time(NULL)) / 86400)));
}

/*
 * Encrypts a new ticket with the current key, or finds the key a ticket
 * names. Returns 1 (use it), 2 (use it, and issue a ticket under the
 * current key: it was the previous one), 0 (no such key: full handshake)
 * or -1.
 */
static int
tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_key	*k;
	OSSL_PARAM			 params[3];
	const EVP_CIPHER		*cipher = EVP_aes_256_cbc();
	uint32_t			 i;

	if (enc) {
		if (tls_keys.n == 0) {
			return 0;
		}
		k = &tls_keys.key[0];
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1) {
			return -1;
		}
		memcpy(name, k->name, TLS_TICKET_NAME_LEN);
		i = 0;
	} else {
		for (i = 0; i < tls_keys.n; i++) {
			if (memcmp(name, tls_keys.key[i].name,
			    TLS_TICKET_NAME_LEN) == 0) {
				break;
			}
		}
		if (i == tls_keys.n) {
			return 0;
		}
		k = &tls_keys.key[i];
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac_key, sizeof k->hmac_key);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1) {
		return -1;
	}
	if (enc) {
		if (EVP_EncryptInit_ex(cctx, cipher, NULL, k->aes_key, iv) !=
		    1) {
			return -1;
		}
		return 1;
	}
	if (EVP_DecryptInit_ex(cctx, cipher, NULL, k->aes_key, iv) != 1) {
		return -1;
	}
	return i == 0 ? 1 : 2;
}

/* The subject and expiry of the leaf certificate of <t>. */
static int
tls_ctx_describe(struct tls_ctx *t, char *err, size_t errlen)
{
	X509		*x = SSL_CTX_get0_certificate(t->ssl);
	BIO		*b;
	BUF_MEM		*mem;
	struct tm	 tm;

	if (x == NULL) {
		snprintf(err, errlen, "no certificate loaded");
		return -EINVAL;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		return -ENOMEM;
	}
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	BIO_get_mem_ptr(b, &mem);
	t->subject = xstrndup(mem->data, mem->length);
	BIO_free(b);
	memset(&tm, 0, sizeof tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		snprintf(err, errlen, "the certificate has an unreadable "
		    "expiry date");
		return -EINVAL;
	}
	t->not_after = (int64_t)timegm(&tm);
	return 0;
}

int
tls_ctx_create(const struct tls_ctx_conf *o, struct tls_ctx **ret,
    const char **ret_field, char *err, size_t errlen)
{
	struct tls_ctx	*t;
	SSL_CTX		*ctx;
	const char	*key = o->key != NULL && *o->key != '\0' ? o->key :
			    o->certificate;
	const char	*field = "tls_protocols";
	char		 date[32];
	int		 min, max, r;

	ERR_clear_error();
	if ((r = tls_protocols_parse(o->protocols, &min, &max, err,
	    errlen)) != 0) {
		*ret_field = field;
		return r;
	}
	field = "tls_certificate";
	if ((r = tls_readable(o->certificate, err, errlen)) != 0) {
		*ret_field = field;
		return r;
	}
	if (key != o->certificate) {
		field = "tls_key";
		if ((r = tls_readable(key, err, errlen)) != 0) {
			*ret_field = field;
			return r;
		}
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		field = "tls_certificate";
		tls_error(err, errlen, "cannot make a TLS context");
		r = -ENOMEM;
		goto fail;
	}
	t = xcalloc(1, sizeof *t);
	t->ssl = ctx;
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_password);

	field = "tls_certificate";
	if (SSL_CTX_use_certificate_chain_file(ctx, o->certificate) != 1) {
		tls_error(err, errlen, "no PEM certificate could be read");
		r = -EINVAL;
		goto fail_ctx;
	}
	field = "tls_key";
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			snprintf(err, errlen, "%s does not match the "
			    "certificate in %s", key, o->certificate);
			ERR_clear_error();
		} else {
			tls_error(err, errlen, "no unencrypted PEM private "
			    "key could be read");
		}
		r = -EINVAL;
		goto fail_ctx;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s does not match the certificate in "
		    "%s", key, o->certificate);
		ERR_clear_error();
		r = -EINVAL;
		goto fail_ctx;
	}
	field = "tls_certificate";
	if ((r = tls_ctx_describe(t, err, errlen)) != 0) {
		goto fail_ctx;
	}
	if (t->not_after <= (int64_t)time(NULL)) {
		snprintf(err, errlen, "%s expired on %s", o->certificate,
		    tls_time_format(t->not_after, date, sizeof date));
		r = -EKEYEXPIRED;
		goto fail_ctx;
	}

	field = "tls_protocols";
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, max) != 1) {
		tls_error(err, errlen, "cannot set the protocol versions");
		r = -EINVAL;
		goto fail_ctx;
	}
	field = "tls_ciphers";
	if (o->ciphers != NULL && *o->ciphers != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) {
		tls_error(err, errlen, "no usable cipher in the list");
		r = -EINVAL;
		goto fail_ctx;
	}

	/*
	 * The server picks the cipher, ChaCha20 first for a client that
	 * prefers it (phones without AES instructions). No renegotiation (a
	 * client could make the server do handshakes at will). A peer that
	 * closes without close_notify is an ordinary end of stream: Pomelo
	 * packages carry their own length, so nothing can be truncated
	 * unseen.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	/*
	 * The chain is the file's, as written (tls_certificate is the full
	 * chain): without NO_AUTO_CHAIN OpenSSL tries to build one from its
	 * store on every full handshake, about an eighth of its cost.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
	/*
	 * No read-ahead: OpenSSL reads exactly the records it needs, so the
	 * worker knows which it has read when it takes a TLS 1.3 connection
	 * over after the handshake (worker/xprt-tls.c); a connection that
	 * stays on OpenSSL turns it on then.
	 */
	SSL_CTX_set_read_ahead(ctx, 0);

	/* Tickets only, under one id context: any worker resumes them. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SESSION_ID_CONTEXT,
	    sizeof TLS_SESSION_ID_CONTEXT - 1);
	SSL_CTX_set_timeout(ctx, (long)(o->ticket_lifetime_s > 0 ?
	    o->ticket_lifetime_s : 1));
	/* A game client reconnects one connection at a time. */
	SSL_CTX_set_num_tickets(ctx, 1);
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb) != 1) {
		field = "tls_certificate";
		tls_error(err, errlen, "cannot set the ticket key callback");
		r = -EINVAL;
		goto fail_ctx;
	}
	*ret = t;
	return 0;

fail_ctx:
	tls_ctx_destroy(t);
fail:
	*ret_field = field;
	return r;
}

void
tls_ctx_destroy(struct tls_ctx *t)
{
	if (t == NULL) {
		return;
	}
	SSL_CTX_free(t->ssl);
	free(t->subject);
	free(t);
}

void
tls_ticket_keys_rotate(struct tls_ticket_keys *keys)
{
	uint32_t	 i;

	if (sodium_init() == -1) {
		abort();
	}
	for (i = TLS_TICKET_RING - 1; i > 0; i--) {
		keys->key[i] = keys->key[i - 1];
	}
	randombytes_buf(&keys->key[0], sizeof keys->key[0]);
	if (keys->n < TLS_TICKET_RING) {
		keys->n++;
	}
	keys->pad = 0;
}

int
tls_ticket_keys_use(const void *keys, size_t len)
{
	struct tls_ticket_keys	 k;

	if (len != sizeof k) {
		return -EINVAL;
	}
	memcpy(&k, keys, sizeof k);
	if (k.n > TLS_TICKET_RING) {
		sodium_memzero(&k, sizeof k);
		return -EINVAL;
	}
	tls_keys = k;
	sodium_memzero(&k, sizeof k);
	return 0;
}

void
tls_ticket_keys_clear(void)
{
	sodium_memzero(&tls_keys, sizeof tls_keys);
}
