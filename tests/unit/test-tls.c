/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * TLS contexts and ticket keys (common/tls.c): every error a listener's
 * certificate and key can have, with the directive it is reported
 * against; and resumption, with handshakes over memory BIOs: a ticket one
 * context issued resumes on another (another worker, another generation)
 * that shares the ring, after one rotation still, after two no longer.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/tls.h"
#include "tests/unit/certgen.h"
#include "tests/unit/test.h"

static char	 dir[64];
static char	 cert[128], key[128], other_key[128], both[128];
static char	 expired[128], expired_key[128], garbage[128];
static char	 other_cert[128];

static void
paths(void)
{
	snprintf(dir, sizeof dir, "/tmp/test-tls-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		abort();
	}
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	snprintf(other_key, sizeof other_key, "%s/other.pem", dir);
	snprintf(both, sizeof both, "%s/both.pem", dir);
	snprintf(expired, sizeof expired, "%s/expired.pem", dir);
	snprintf(expired_key, sizeof expired_key, "%s/expired-key.pem", dir);
	snprintf(garbage, sizeof garbage, "%s/garbage.pem", dir);
	snprintf(other_cert, sizeof other_cert, "%s/other-cert.pem", dir);
	if (certgen_write(cert, key, "test.example", -1, 30) != 0 ||
	    certgen_write(other_cert, other_key, "other", -1, 30) != 0 ||
	    certgen_write(both, both, "both.example", -1, 30) != 0 ||
	    certgen_write(expired, expired_key, "expired.example", -10,
	    -1) != 0) {
		fprintf(stderr, "cannot make test certificates\n");
		abort();
	}
}

static void
cleanup(void)
{
	const char	*files[] = { cert, key, other_key, both, expired,
			    expired_key, garbage, other_cert };
	size_t		 i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		unlink(files[i]);
	}
	rmdir(dir);
}

static struct tls_ctx_conf
opts(const char *c, const char *k)
{
	struct tls_ctx_conf	 o;

	memset(&o, 0, sizeof o);
	o.certificate = c;
	o.key = k;
	o.protocols = "TLSv1.2 TLSv1.3";
	o.ciphers = "";
	o.ticket_lifetime_s = 3600;
	return o;
}

TEST(protocols)
{
	char	 err[128];
	int	 min = 0, max = 0;

	ASSERT_EQ(tls_protocols_parse("TLSv1.2 TLSv1.3", &min, &max, err,
	    sizeof err), 0);
	ASSERT_EQ(min, TLS1_2_VERSION);
	ASSERT_EQ(max, TLS1_3_VERSION);
	ASSERT_EQ(tls_protocols_parse("  tlsv1.3 ", &min, &max, err,
	    sizeof err), 0);
	ASSERT_EQ(min, TLS1_3_VERSION);
	ASSERT_EQ(max, TLS1_3_VERSION);
	ASSERT_EQ(tls_protocols_parse("TLSv1.3,TLSv1.2", &min, &max, err,
	    sizeof err), 0);
	ASSERT_EQ(min, TLS1_2_VERSION);
	ASSERT_EQ(tls_protocols_parse("TLSv1.1 TLSv1.2", &min, &max, err,
	    sizeof err), -EINVAL);
	ASSERT_STR_CONTAINS(err, "\"TLSv1.1\" is not a protocol");
	ASSERT_EQ(tls_protocols_parse(" ", &min, &max, err, sizeof err),
	    -EINVAL);
	ASSERT_STR_CONTAINS(err, "names no protocol");
}

TEST(good_context)
{
	struct tls_ctx_conf	 o = opts(cert, key);
	struct tls_ctx		*t = NULL;
	const char		*field = NULL;
	json_t			*show;
	char			 err[256];
	int64_t			 now = (int64_t)time(NULL);

	ASSERT_EQ(tls_ctx_create(&o, &t, &field, err, sizeof err), 0);
	ASSERT_STR_EQ(t->subject, "CN=test.example");
	ASSERT_GT(t->not_after, now + 29 * 86400);
	ASSERT_LT(t->not_after, now + 31 * 86400);
	ASSERT_EQ(SSL_CTX_get_session_cache_mode(t->ssl), SSL_SESS_CACHE_OFF);
	ASSERT_TRUE(SSL_CTX_get_mode(t->ssl) & SSL_MODE_RELEASE_BUFFERS);
	ASSERT_EQ(SSL_CTX_get_min_proto_version(t->ssl), TLS1_2_VERSION);
	show = json_object();
	tls_ctx_show(t, "on", show);
	ASSERT_STR_EQ(json_string_value(json_object_get(show, "tls")), "on");
	ASSERT_STR_EQ(json_string_value(json_object_get(show, "subject")),
	    "CN=test.example");
	ASSERT_STR_CONTAINS(json_string_value(json_object_get(show,
	    "expires")), "20");
	ASSERT_TRUE(json_integer_value(json_object_get(show, "days_left")) >= 29 &&
	    json_integer_value(json_object_get(show, "days_left")) <= 30);
	json_decref(show);
	tls_ctx_destroy(t);

	/* The key in the certificate's file. */
	o = opts(both, "");
	ASSERT_EQ(tls_ctx_create(&o, &t, &field, err, sizeof err), 0);
	ASSERT_STR_EQ(t->subject, "CN=both.example");
	tls_ctx_destroy(t);
	show = json_object();
	tls_ctx_show(NULL, "off", show);
	ASSERT_STR_EQ(json_string_value(json_object_get(show, "tls")), "off");
	ASSERT_TRUE(json_is_null(json_object_get(show, "subject")));
	json_decref(show);
}

/* <o> fails with -<e>, about <want_field>, saying <want>. */
static int
fails(struct tls_ctx_conf o, int e, const char *want_field,
    const char *want)
{
	struct tls_ctx	*t = NULL;
	const char	*field = NULL;
	char		 err[256];
	int		 r;

	r = tls_ctx_create(&o, &t, &field, err, sizeof err);
	if (r != -e || t != NULL || field == NULL ||
	    strcmp(field, want_field) != 0 || strstr(err, want) == NULL) {
		fprintf(stderr, "got %d, %s: %s (wanted %d, %s: %s)\n", r,
		    field ? field : "-", r != 0 ? err : "", -e, want_field,
		    want);
		tls_ctx_destroy(t);
		return 0;
	}
	return 1;
}

TEST(bad_contexts)
{
	struct tls_ctx_conf	 o;
	FILE			*f;

	ASSERT_TRUE(fails(opts("/nonexistent/cert.pem", key), ENOENT,
	    "tls_certificate", "cannot open /nonexistent/cert.pem: No such"));
	ASSERT_TRUE(fails(opts(cert, "/nonexistent/key.pem"), ENOENT,
	    "tls_key", "cannot open /nonexistent/key.pem"));
	ASSERT_TRUE(fails(opts(cert, other_key), EINVAL, "tls_key",
	    "does not match the certificate"));
	ASSERT_TRUE(fails(opts(expired, expired_key), EKEYEXPIRED,
	    "tls_certificate", "expired on 20"));
	/* A key file where the certificate should be, and the reverse. */
	ASSERT_TRUE(fails(opts(key, key), EINVAL, "tls_certificate",
	    "no PEM certificate"));
	ASSERT_TRUE(fails(opts(cert, ""), EINVAL, "tls_key",
	    "no unencrypted PEM private key"));
	f = fopen(garbage, "w");
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
	    "-----END CERTIFICATE-----\n", f);
	fclose(f);
	ASSERT_TRUE(fails(opts(garbage, key), EINVAL, "tls_certificate",
	    "no PEM certificate"));
	o = opts(cert, key);
	o.ciphers = "NOT-A-CIPHER";
	ASSERT_TRUE(fails(o, EINVAL, "tls_ciphers", "no usable cipher"));
	o = opts(cert, key);
	o.protocols = "SSLv3";
	ASSERT_TRUE(fails(o, EINVAL, "tls_protocols", "\"SSLv3\""));
	ASSERT_EQ(ERR_peek_error(), 0);
}

/* Moves what <from> wrote to <to>'s read side. */
static void
pump(SSL *from, SSL *to)
{
	char	 buf[16384];
	int	 n;

	while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof buf)) > 0) {
		BIO_write(SSL_get_rbio(to), buf, n);
	}
}

static SSL *
mem_ssl(SSL_CTX *ctx)
{
	SSL	*s = SSL_new(ctx);
	BIO	*r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());

	BIO_set_mem_eof_return(r, -1);
	BIO_set_mem_eof_return(w, -1);
	SSL_set_bio(s, r, w);
	return s;
}

/*
 * A handshake of a client of <cctx> (resuming <sess> if not NULL) with
 * <server>. Returns 1 resumed, 0 full, -1 failed; the client's session
 * (with the ticket it received) in <*ret_sess>.
 */
static int
handshake(SSL_CTX *cctx, SSL_CTX *server, SSL_SESSION *sess,
    SSL_SESSION **ret_sess)
{
	SSL	*c = mem_ssl(cctx), *s = mem_ssl(server);
	char	 buf[16];
	int	 i, cr = 0, sr = 0, reused = -1;

	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	if (sess != NULL) {
		SSL_set_session(c, sess);
	}
	for (i = 0; i < 10 && (cr != 1 || sr != 1); i++) {
		cr = SSL_do_handshake(c);
		pump(c, s);
		sr = SSL_do_handshake(s);
		pump(s, c);
	}
	if (cr == 1 && sr == 1) {
		/* TLS 1.3 tickets come after the handshake. */
		SSL_read(c, buf, sizeof buf);
		reused = SSL_session_reused(s) ? 1 : 0;
		if (SSL_session_reused(c) != SSL_session_reused(s)) {
			reused = -1;
		}
	}
	*ret_sess = SSL_get1_session(c);
	/* A session freed unclosed would be marked not resumable. */
	SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c);
	SSL_free(s);
	ERR_clear_error();
	return reused;
}

static void
resumption(int version)
{
	struct tls_ctx_conf	 o = opts(cert, key);
	struct tls_ctx		*a = NULL, *b = NULL;
	struct tls_ticket_keys	 ring, copy;
	SSL_CTX			*cctx;
	SSL_SESSION		*first, *next;
	const char		*field;
	char			 err[256];

	memset(&ring, 0, sizeof ring);
	tls_ticket_keys_rotate(&ring);
	ASSERT_EQ(ring.n, 1);
	ASSERT_EQ(tls_ticket_keys_use(&ring, sizeof ring), 0);
	/* Two workers (or generations): contexts built apart. */
	ASSERT_EQ(tls_ctx_create(&o, &a, &field, err, sizeof err), 0);
	ASSERT_EQ(tls_ctx_create(&o, &b, &field, err, sizeof err), 0);
	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(cctx, version);
	SSL_CTX_set_max_proto_version(cctx, version);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);

	ASSERT_EQ(handshake(cctx, a->ssl, NULL, &first), 0);
	ASSERT_TRUE(SSL_SESSION_is_resumable(first));
	/* On the other context, then after one rotation. */
	ASSERT_EQ(handshake(cctx, b->ssl, first, &next), 1);
	SSL_SESSION_free(next);
	copy = ring;
	tls_ticket_keys_rotate(&ring);
	ASSERT_EQ(ring.n, 2);
	ASSERT_TRUE(memcmp(ring.key[1].name, copy.key[0].name,
	    TLS_TICKET_NAME_LEN) == 0);
	ASSERT_EQ(tls_ticket_keys_use(&ring, sizeof ring), 0);
	ASSERT_EQ(handshake(cctx, b->ssl, first, &next), 1);
	/* The ticket issued now is under the new key. */
	SSL_SESSION_free(next);
	tls_ticket_keys_rotate(&ring);
	ASSERT_EQ(ring.n, 2);
	ASSERT_EQ(tls_ticket_keys_use(&ring, sizeof ring), 0);
	ASSERT_EQ(handshake(cctx, a->ssl, first, &next), 0);
	ASSERT_TRUE(SSL_SESSION_is_resumable(next));
	SSL_SESSION_free(first);
	ASSERT_EQ(handshake(cctx, b->ssl, next, &first), 1);
	SSL_SESSION_free(next);
	SSL_SESSION_free(first);

	/* No ring, no tickets: every handshake is full. */
	tls_ticket_keys_clear();
	ASSERT_EQ(handshake(cctx, a->ssl, NULL, &first), 0);
	ASSERT_EQ(handshake(cctx, b->ssl, first, &next), 0);
	SSL_SESSION_free(first);
	SSL_SESSION_free(next);

	SSL_CTX_free(cctx);
	tls_ctx_destroy(a);
	tls_ctx_destroy(b);
}

TEST(resumption_tls13)
{
	resumption(TLS1_3_VERSION);
}

TEST(resumption_tls12)
{
	resumption(TLS1_2_VERSION);
}

TEST(ring_messages)
{
	struct tls_ticket_keys	 ring;

	memset(&ring, 0, sizeof ring);
	ASSERT_EQ(tls_ticket_keys_use(&ring, sizeof ring - 1), -EINVAL);
	ring.n = TLS_TICKET_RING + 1;
	ASSERT_EQ(tls_ticket_keys_use(&ring, sizeof ring), -EINVAL);
	ring.n = 0;
	ASSERT_EQ(tls_ticket_keys_use(&ring, sizeof ring), 0);
	tls_ticket_keys_rotate(&ring);
	tls_ticket_keys_rotate(&ring);
	tls_ticket_keys_rotate(&ring);
	ASSERT_EQ(ring.n, TLS_TICKET_RING);
	ASSERT_TRUE(memcmp(ring.key[0].name, ring.key[1].name,
	    TLS_TICKET_NAME_LEN) != 0);
	tls_ticket_keys_clear();
}

int
main(void)
{
	paths();
	RUN(protocols);
	RUN(good_context);
	RUN(bad_contexts);
	RUN(resumption_tls13);
	RUN(resumption_tls12);
	RUN(ring_messages);
	cleanup();
	TEST_DONE();
}
