/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * TLS contexts and session-ticket keys (OpenSSL 3). The master builds one
 * context per TLS listener when it loads the configuration, so a key
 * readable only by root is read before any worker drops privileges, and
 * workers inherit the contexts when they are forked. Every context
 * encrypts session tickets with the process's ring of ticket keys (the
 * current key and the previous one), which the master makes, rotates and
 * sends to its workers, so a ticket from any worker or generation resumes
 * on any other. Nothing here logs: errors come back as strings.
 */

#ifndef COMMON_TLS_H
#define COMMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_TICKET_NAME_LEN	16
#define TLS_TICKET_RING		2	/* the current key and the previous */

struct ssl_ctx_st;

struct tls_ticket_key {
	uint8_t		 name[TLS_TICKET_NAME_LEN];
	uint8_t		 aes_key[32];	/* AES-256-CBC */
	uint8_t		 hmac_key[32];	/* HMAC-SHA256 */
};

/*
 * The ring: key[0] encrypts new tickets; every key in the ring decrypts.
 * This is also the payload of IPC_TLS_TICKET_KEYS.
 */
struct tls_ticket_keys {
	uint32_t		 n;		/* keys in use, 0..TLS_TICKET_RING */
	uint32_t		 pad;
	struct tls_ticket_key	 key[TLS_TICKET_RING];
};

/* What a listener's context is built from (its tls_* directives). */
struct tls_ctx_conf {
	const char	*certificate;	/* PEM: the certificate, then its chain */
	const char	*key;		/* PEM; NULL or "": in <certificate> */
	const char	*protocols;	/* "TLSv1.2 TLSv1.3" */
	const char	*ciphers;	/* TLS 1.2 cipher string; "": default */
	uint64_t	 ticket_lifetime_s;
};

/* One listener's context and what admin commands say about it. */
struct tls_ctx {
	struct ssl_ctx_st	*ssl;
	char			*subject;	/* RFC 2253, of the leaf */
	int64_t			 not_after;	/* Unix time */
};

/*
 * Builds a server context from <o>: loads the certificate chain and the
 * key, checks that they match and that the certificate has not expired,
 * and sets the protocols, ciphers, lean buffers and ticket keys. Returns
 * 0 and a context (freed with tls_ctx_destroy()) in <ret>, or -errno with
 * a reason in <err> and, in <ret_field>, the directive it is about
 * ("tls_certificate", "tls_key", "tls_protocols" or "tls_ciphers").
 */
int	 tls_ctx_create(const struct tls_ctx_conf *o, struct tls_ctx **ret,
	     const char **ret_field, char *err, size_t errlen);
void	 tls_ctx_destroy(struct tls_ctx *t);

/*
 * Parses a tls_protocols value: "TLSv1.2", "TLSv1.3" or both, separated
 * by spaces. Returns 0 with the lowest and highest version (OpenSSL's
 * TLS1_2_VERSION, TLS1_3_VERSION), or -EINVAL with a reason in <err>.
 */
int	 tls_protocols_parse(const char *s, int *ret_min, int *ret_max,
	     char *err, size_t errlen);

/*
 * Adds what `show listeners` says about a listener in TLS <mode> ("off",
 * "on", "optional") with context <t> (NULL when off) to its object <o>:
 * "tls" (the mode), "subject", "expires" and "days_left" (null when off).
 */
struct json_t;
void		 tls_ctx_show(const struct tls_ctx *t, const char *mode,
		     struct json_t *o);

/* Writes <t> as "2026-01-31T12:00:00Z" into <buf>; returns <buf>. */
const char *tls_time_format(int64_t t, char *buf, size_t size);

/*
 * Turns the ring: the current key becomes the previous one and a new
 * current key is made with libsodium's randombytes_buf(). On an empty
 * ring it makes the first key.
 */
void	 tls_ticket_keys_rotate(struct tls_ticket_keys *keys);

/*
 * Makes <len> bytes at <keys> (a struct tls_ticket_keys) this process's
 * ring, used by every context from now on. Returns 0, or -EINVAL when it
 * is not a ring (left unchanged).
 */
int	 tls_ticket_keys_use(const void *keys, size_t len);

/* Forgets this process's ring (zeroed); no ticket is issued after it. */
void	 tls_ticket_keys_clear(void);

#endif
