/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * TLS 1.3 record protection (RFC 8446 §5, §7.1-7.3) for a connection
 * whose handshake OpenSSL has done: traffic keys derived from the
 * application traffic secrets with HKDF-Expand-Label, records sealed and
 * opened with the negotiated AEAD (AES-128-GCM, AES-256-GCM,
 * ChaCha20-Poly1305) and a per-record nonce made from the sequence
 * number, and key updates. An OpenSSL connection holds about 14 KB while
 * idle; this holds the keys, IVs, secrets and sequence numbers, a few
 * hundred bytes, so the worker hands an established TLS 1.3 connection
 * over to it (worker/xprt-tls.c). The crypto is OpenSSL's EVP.
 */

#ifndef COMMON_TLS13_H
#define COMMON_TLS13_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS13_HEADER_LEN	5
#define TLS13_TAG_LEN		16
#define TLS13_IV_LEN		12
#define TLS13_MAX_SECRET	48
#define TLS13_MAX_KEY		32
#define TLS13_MAX_PLAIN		16384		/* content of one record */
#define TLS13_MAX_BODY		(16384 + 256)	/* TLSCiphertext.length */
#define TLS13_MAX_RECORD	(TLS13_HEADER_LEN + TLS13_MAX_BODY)
/* The most a record of <n> content bytes takes on the wire. */
#define TLS13_SEALED_LEN(n)	(TLS13_HEADER_LEN + (n) + 1 + TLS13_TAG_LEN)

/* Content types (RFC 8446 §5.1). */
#define TLS13_ALERT		21
#define TLS13_HANDSHAKE		22
#define TLS13_APPLICATION	23

/* One direction's protection. */
struct tls13_dir {
	uint64_t	 seq;
	uint8_t		 secret[TLS13_MAX_SECRET];
	uint8_t		 key[TLS13_MAX_KEY];
	uint8_t		 iv[TLS13_IV_LEN];
};

struct tls13 {
	uint16_t		 suite;		/* 0x1301, 0x1302 or 0x1303 */
	uint8_t			 hash_len;	/* 32 (SHA-256) or 48 (SHA-384) */
	uint8_t			 key_len;	/* 16 or 32 */
	struct tls13_dir	 rd;		/* the peer's records */
	struct tls13_dir	 wr;		/* ours */
};

/* True when <suite> (a TLS 1.3 cipher suite number) is supported here. */
bool	 tls13_suite_supported(uint16_t suite);

/*
 * Sets <t> up for <suite> from the application traffic secrets the peer
 * writes with (<rd_secret>) and we write with (<wr_secret>), each
 * <len> bytes (the suite's hash length). Sequence numbers start at 0.
 * Returns 0, or -EINVAL (unsupported suite, wrong length) or -EIO.
 */
int	 tls13_init(struct tls13 *t, uint16_t suite, const uint8_t *rd_secret,
	     const uint8_t *wr_secret, size_t len);

/* Makes <secret> the traffic secret of <d> (a direction of <t>). */
int	 tls13_rekey(const struct tls13 *t, struct tls13_dir *d,
	     const uint8_t *secret);

/* Wipes the keys and secrets of <t>. */
void	 tls13_finish(struct tls13 *t);

/* Moves <d> to its next traffic secret (a KeyUpdate); 0 or -EIO. */
int	 tls13_update(const struct tls13 *t, struct tls13_dir *d);

/*
 * Seals <len> bytes (at most TLS13_MAX_PLAIN) of content <type> as one
 * record at <out> (room for TLS13_SEALED_LEN(len) bytes), with our next
 * sequence number. Returns the record's length, or -EIO.
 */
int	 tls13_seal(struct tls13 *t, uint8_t type, const uint8_t *in,
	     size_t len, uint8_t *out);

/*
 * Opens the record of <len> bytes at <rec> (its header first), with the
 * peer's next sequence number, in place. Returns 0 with its content type
 * in <*ret_type> and its content at <*ret_content> (within <rec>) and
 * <*ret_len>; -EBADMSG when it is not a protected record or does not
 * authenticate (the sequence number is not used up then, and the record
 * is left garbled: the connection is over), -EIO.
 */
int	 tls13_open(struct tls13 *t, uint8_t *rec, size_t len,
	     uint8_t *ret_type, uint8_t **ret_content, size_t *ret_len);

/*
 * Opens the record at <rec> with <d> of <t> as a trial: its content is
 * not kept (<rec> is left as it was) and <d> does not move. True when it
 * authenticates under <d>'s next sequence number.
 */
bool	 tls13_check(const struct tls13 *t, const struct tls13_dir *d,
	     const uint8_t *rec, size_t len);

/* HKDF-Expand-Label(<secret>, <label>, "", <out_len>) with <hash_len>. */
int	 tls13_expand_label(size_t hash_len, const uint8_t *secret,
	     const char *label, uint8_t *out, size_t out_len);

#endif
