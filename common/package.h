/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The Pomelo package layer (PROTOCOL.md §2): a 4-byte header, the type and
 * a 24-bit big-endian body length, then the body. pkg_reader cuts a byte
 * stream into packages across any chunking; a package that arrives whole
 * in one chunk is handed out in place, without a copy, and only a package
 * that straddles chunks is collected in a buffer of its own.
 */

#ifndef COMMON_PACKAGE_H
#define COMMON_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/body.h"

#define PKG_HEAD_LEN	4
#define PKG_MAX_BODY	0xffffffu

enum pkg_type {
	PKG_HANDSHAKE = 1,
	PKG_HANDSHAKE_ACK = 2,
	PKG_HEARTBEAT = 3,
	PKG_DATA = 4,
	PKG_KICK = 5,
};

/*
 * Called for each complete package. <body> is valid only during the call.
 * A non-zero return stops pkg_reader_feed(), which returns it.
 */
typedef int (*pkg_cb)(void *arg, int type, const uint8_t *body, size_t len);

struct pkg_reader {
	size_t		 max_body;	/* larger announced bodies: -EMSGSIZE */
	uint8_t		 head[PKG_HEAD_LEN];
	uint8_t		 head_have;	/* header bytes collected */
	uint8_t		 type;		/* of the package being collected */
	struct body	 body;		/* its body */
};

/*
 * Writes the PKG_HEAD_LEN header bytes of a package of <type> with a body
 * of <len> bytes (at most PKG_MAX_BODY) to <out>.
 */
void	 pkg_head_encode(uint8_t *out, enum pkg_type type, size_t len);

/*
 * Decodes the header at <head> (PKG_HEAD_LEN bytes): the type into
 * <*ret_type> and the body length into <*ret_len>. Returns 0, -EPROTO for
 * a type outside 1-5, or -EMSGSIZE for a length over <max_body>. This is
 * the one place a package header is read; the outputs are untouched on
 * failure.
 */
int	 pkg_head_decode(const uint8_t *head, size_t max_body, int *ret_type,
	     size_t *ret_len);

/*
 * Decodes <data>, which must hold exactly one package (a WebSocket
 * message): sets the type, and the body as a pointer into <data> and its
 * length. Returns 0, the errors of pkg_head_decode(), or -EBADMSG when
 * <len> is not the header plus the announced body.
 */
int	 pkg_decode_one(const uint8_t *data, size_t len, size_t max_body,
	     int *ret_type, const uint8_t **ret_body, size_t *ret_len);

/*
 * Prepares <r> to read a new stream whose bodies may hold up to <max_body>
 * bytes. pkg_reader_finish() frees a buffered partial package; it accepts
 * a zeroed or already finished reader.
 */
void	 pkg_reader_init(struct pkg_reader *r, size_t max_body);
void	 pkg_reader_finish(struct pkg_reader *r);

/*
 * Feeds <len> bytes of the stream. Calls <cb> once per complete package,
 * in order. Returns 0 when all bytes were consumed, -EPROTO when a header
 * carries a type outside 1-5 (checked as soon as the header is complete),
 * -EMSGSIZE when a header announces more than max_body bytes (before any
 * of the body is read), or the first non-zero return of <cb>; the bytes
 * that follow that package in <data> are then left unread. After an
 * error the reader must not be fed again. A body that lies whole inside
 * <data> is passed to <cb> in place; only a body split across calls is
 * copied, into a buffer that grows with the bytes that actually arrive.
 */
int	 pkg_reader_feed(struct pkg_reader *r, const uint8_t *data, size_t len,
	     pkg_cb cb, void *arg);

/* True while part of a package has been read (the stream is mid-package). */
int	 pkg_reader_pending(const struct pkg_reader *r);

#endif
