/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The Pomelo message layer (PROTOCOL.md §4), the body of a DATA package:
 * a flag byte, a varint id for requests and responses, a route (a length
 * byte and a string, or a 2-byte dictionary code) for requests, notifies
 * and pushes, then the body.
 */

#ifndef COMMON_MESSAGE_H
#define COMMON_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum msg_type {
	MSG_REQUEST = 0,
	MSG_NOTIFY = 1,
	MSG_RESPONSE = 2,
	MSG_PUSH = 3,
};

#define MSG_FLAG_COMPRESS_ROUTE	0x01
#define MSG_FLAG_TYPE_MASK	0x0e
#define MSG_FLAG_COMPRESS_GZIP	0x10

#define VARINT_MAX		5
#define MSG_ROUTE_MAX		255
/* The longest head msg_encode_head() writes: flag, id, length byte, route. */
#define MSG_HEAD_MAX		(1 + VARINT_MAX + 1 + MSG_ROUTE_MAX)

/* A decoded message; every pointer points into the decoded buffer. */
struct msg {
	enum msg_type	 type;
	uint8_t		 flag;
	uint32_t	 id;		/* requests and responses, else 0 */
	bool		 compressed;	/* the route came as a code */
	uint16_t	 code;		/* the code when compressed */
	const char	*route;		/* not NUL-terminated; NULL if none */
	size_t		 route_len;
	const uint8_t	*body;
	size_t		 body_len;
};

/*
 * Writes <v> as a base-128 varint, low group first, to <out>, which holds
 * VARINT_MAX bytes; returns the bytes written, 1-5.
 */
int	 varint_encode(uint8_t *out, uint32_t v);

/*
 * Reads a varint from <in>. Returns the bytes consumed (1-5) and sets
 * <*ret>, -EAGAIN when <len> ends inside it, -EOVERFLOW when it is longer
 * than 5 bytes or exceeds 2^32-1 (a 5th byte above 0x0f). Over-long but
 * in-range forms such as 80 00 are accepted, as protobuf decoders do.
 * <*ret> is untouched on failure.
 */
int	 varint_decode(const uint8_t *in, size_t len, uint32_t *ret);

/*
 * Decodes the message in <buf> into <*ret>, which then points into <buf>.
 * Returns 0, or -EBADMSG when it is truncated, has a message type above 3,
 * a bad id varint, a route longer than what follows or a route code of 0;
 * <*ret> is untouched on failure. A compressed route leaves <route> NULL
 * and sets <code>. The compress bit of a response (which has no route) is
 * ignored, as pomelo does; <flag> keeps every bit as received.
 */
int	 msg_decode(const uint8_t *buf, size_t len, struct msg *ret);

/*
 * Writes the head of a message (flag, id when the type has one, route when
 * the type has one) to <out>, which holds MSG_HEAD_MAX bytes. A <code>
 * above 0 writes the route compressed; otherwise <route> (at most 255
 * bytes, NULL when <route_len> is 0) is written as a string. <id> is
 * ignored for notifies and pushes, the route for responses. Returns the
 * head's length.
 */
size_t	 msg_encode_head(uint8_t *out, enum msg_type type, uint32_t id,
	     const char *route, size_t route_len, uint16_t code);

#endif
