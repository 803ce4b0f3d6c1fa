/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The MQTT 3.1.1 framing that pomelo-admin and pomelo-rpc use as a plain
 * point-to-point message layer (CLUSTER.md §2): CONNECT, CONNACK, PUBLISH
 * at QoS 0, PINGREQ, PINGRESP and DISCONNECT. Every other packet type is
 * recognised and refused. mqtt_reader cuts a byte stream into packets
 * across any chunking, in the manner of pkg_reader (common/package.h): a
 * packet that arrives whole in one chunk is handed out in place, without a
 * copy, and only a packet that straddles chunks is collected in a buffer.
 * The encoders write the packets a peer of a Node cluster sends, byte for
 * byte as Node's mqtt-packet writes them, into a caller's buffer.
 */

#ifndef COMMON_MQTT_H
#define COMMON_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/body.h"

/* The largest remaining length a 4-byte varint holds. */
#define MQTT_REMAINING_MAX	268435455u
/* A fixed header: the type byte and a remaining length of 1-4 bytes. */
#define MQTT_HEAD_MAX		5
/* Bytes mqtt_encode_publish_head() may write for a topic of <n> bytes. */
#define MQTT_PUBLISH_HEAD_MAX(n) (MQTT_HEAD_MAX + 2 + (size_t)(n))
/* Bytes mqtt_encode_connect() may write for a client id of <n> bytes. */
#define MQTT_CONNECT_MAX(n)	(MQTT_HEAD_MAX + 12 + (size_t)(n))

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK = 2,
	MQTT_PUBLISH = 3,
	MQTT_PUBACK = 4,
	MQTT_PUBREC = 5,
	MQTT_PUBREL = 6,
	MQTT_PUBCOMP = 7,
	MQTT_SUBSCRIBE = 8,
	MQTT_SUBACK = 9,
	MQTT_UNSUBSCRIBE = 10,
	MQTT_UNSUBACK = 11,
	MQTT_PINGREQ = 12,
	MQTT_PINGRESP = 13,
	MQTT_DISCONNECT = 14,
};

/* CONNECT flags (the byte after the protocol level). */
#define MQTT_CONNECT_CLEAN	0x02
#define MQTT_CONNECT_WILL	0x04
#define MQTT_CONNECT_WILL_QOS	0x18
#define MQTT_CONNECT_WILL_RETAIN 0x20
#define MQTT_CONNECT_PASSWORD	0x40
#define MQTT_CONNECT_USERNAME	0x80

/*
 * A decoded packet. Every pointer points into the bytes the packet was
 * decoded from; strings are not NUL-terminated and are the bytes received
 * (MQTT's UTF-8 rule is not checked).
 */
struct mqtt_packet {
	enum mqtt_type	 type;
	uint8_t		 flags;		/* the low nibble of the first byte */
	const uint8_t	*body;		/* all that follows the fixed header */
	size_t		 body_len;	/* the remaining length */
	union {
		struct {
			const char	*protocol;	/* "MQTT" or "MQIsdp" */
			size_t		 protocol_len;
			uint8_t		 level;		/* 4, or 3 for MQIsdp */
			uint8_t		 flags;		/* MQTT_CONNECT_* */
			uint16_t	 keepalive;	/* seconds; Node: 0 */
			const char	*client_id;
			size_t		 client_id_len;
		} connect;
		struct {
			bool		 session_present;
			uint8_t		 return_code;	/* 0 = accepted */
		} connack;
		struct {
			const char	*topic;
			size_t		 topic_len;
			const uint8_t	*payload;
			size_t		 payload_len;
			bool		 dup;
			bool		 retain;
		} publish;
	};
};

/*
 * Called for each complete packet. <pkt> and everything it points to are
 * valid only during the call. A non-zero return stops mqtt_reader_feed(),
 * which returns it.
 */
typedef int (*mqtt_cb)(void *arg, const struct mqtt_packet *pkt);

struct mqtt_reader {
	size_t		 max_len;	/* larger remaining lengths: -EMSGSIZE */
	int		 error;		/* the error that stopped the reader */
	uint8_t		 head[MQTT_HEAD_MAX];
	uint8_t		 head_have;	/* fixed-header bytes read */
	bool		 in_body;	/* the fixed header is complete */
	uint32_t	 len;		/* remaining length, as it is read */
	struct body	 body;		/* the rest of the packet */
};

/*
 * Prepares <r> for a new stream whose packets may have remaining lengths
 * of up to <max_len> bytes (at most MQTT_REMAINING_MAX; a PUBLISH's
 * remaining length is 2 + topic length + payload length).
 * mqtt_reader_finish() frees a buffered partial packet; it accepts a
 * zeroed or already finished reader and NULL.
 */
void	 mqtt_reader_init(struct mqtt_reader *r, size_t max_len);
void	 mqtt_reader_finish(struct mqtt_reader *r);

/*
 * Feeds <len> bytes of the stream. Calls <cb> once per complete packet,
 * in order. Returns 0 when every byte was consumed, or the first non-zero
 * return of <cb> (the bytes after that packet in <data> are then left
 * unread and the reader stays usable), or an error:
 *  -EBADMSG  malformed: a reserved type (0, 15), fixed-header flags that
 *            MQTT 3.1.1 fixes set otherwise, PUBLISH QoS 3, a remaining
 *            length longer than 4 bytes, a body that does not match its
 *            type (strings running past the end, trailing bytes, CONNACK
 *            not 2 bytes, PINGREQ/PINGRESP/DISCONNECT not empty, an empty
 *            topic, reserved or inconsistent CONNECT/CONNACK flags);
 *  -EPROTO   well-formed MQTT outside the subset: PUBACK to UNSUBACK,
 *            PUBLISH with QoS 1 or 2, a CONNECT other than "MQTT" level 4
 *            or "MQIsdp" level 3;
 *  -EMSGSIZE a remaining length above max_len.
 * The type is checked on the first byte and the length as soon as the
 * fixed header is complete, before any of the body is read or buffered.
 * After an error the reader is dead: every later call returns the same
 * error. A body that lies whole inside <data> is passed in place; only a
 * body split across calls is copied, into a buffer that grows with the
 * bytes that actually arrive.
 */
int	 mqtt_reader_feed(struct mqtt_reader *r, const uint8_t *data,
	     size_t len, mqtt_cb cb, void *arg);

/* True while part of a packet has been read (the stream is mid-packet). */
bool	 mqtt_reader_pending(const struct mqtt_reader *r);

/*
 * Decodes the body of one packet whose first byte is <first> and whose
 * <len>-byte body is at <body> into <*ret>, which then points into
 * <body>. Returns 0, -EBADMSG or -EPROTO as mqtt_reader_feed() describes
 * (the size limit is the reader's business); <*ret> is untouched on
 * failure.
 */
int	 mqtt_decode(uint8_t first, const uint8_t *body, size_t len,
	     struct mqtt_packet *ret);

/*
 * Reads a remaining-length varint from the <len> bytes at <in>. Returns
 * the bytes it took (1-4) and stores the value in <*ret>; returns -EAGAIN
 * when <in> ends inside it, -EBADMSG when a 4th byte still has the
 * continuation bit. Over-long forms (80 00 for 0) are accepted, as Node's
 * mqtt-packet accepts them. <*ret> is untouched on failure.
 */
int	 mqtt_remaining_len_decode(const uint8_t *in, size_t len,
	     uint32_t *ret);

/*
 * Writes <v> (at most MQTT_REMAINING_MAX) in its shortest varint form to
 * <out>, which holds 4 bytes; returns the bytes written, 1-4.
 */
int	 mqtt_remaining_len_encode(uint8_t *out, uint32_t v);

/*
 * The encoders write one packet into the <size> bytes at <out> and return
 * its length, or -ENOBUFS when it does not fit (nothing useful is then in
 * <out>), or -EINVAL / -EMSGSIZE as stated.
 */

/*
 * CONNECT exactly as Node's mqtt-connection sends it: protocol "MQTT",
 * level 4, flags 02 (clean session), <keepalive> seconds (Node: 0), the
 * <id_len>-byte <client_id>, no will, user or password. -EINVAL when
 * <id_len> is above 65535. At most MQTT_CONNECT_MAX(id_len) bytes.
 */
int	 mqtt_encode_connect(uint8_t *out, size_t size, const char *client_id,
	     size_t id_len, uint16_t keepalive);

/* CONNACK: 20 02 then the session-present flag and <return_code>. */
int	 mqtt_encode_connack(uint8_t *out, size_t size, bool session_present,
	     uint8_t return_code);

/*
 * PUBLISH at QoS 0 (no packet id, dup and retain clear) of the
 * <payload_len> bytes at <payload> on the <topic_len>-byte <topic>.
 * -EINVAL when the topic is empty or longer than 65535 bytes, -EMSGSIZE
 * when 2 + topic_len + payload_len exceeds MQTT_REMAINING_MAX.
 */
int	 mqtt_encode_publish(uint8_t *out, size_t size, const char *topic,
	     size_t topic_len, const void *payload, size_t payload_len);

/*
 * The same PUBLISH without its payload: writes only the fixed header (for
 * a payload of <payload_len> bytes) and the topic, so that the payload can
 * follow from its own buffer (an iovec). Returns the head's length, at
 * most MQTT_PUBLISH_HEAD_MAX(topic_len); errors as mqtt_encode_publish().
 */
int	 mqtt_encode_publish_head(uint8_t *out, size_t size, const char *topic,
	     size_t topic_len, size_t payload_len);

/* PINGREQ (c0 00), PINGRESP (d0 00), DISCONNECT (e0 00): 2 bytes. */
int	 mqtt_encode_pingreq(uint8_t *out, size_t size);
int	 mqtt_encode_pingresp(uint8_t *out, size_t size);
int	 mqtt_encode_disconnect(uint8_t *out, size_t size);

/* True when <pkt> is a PUBLISH on the topic <topic> (a C string). */
bool	 mqtt_topic_is(const struct mqtt_packet *pkt, const char *topic);

/* "CONNECT", "PUBLISH", ... for logs; "RESERVED" outside 1-14 (static). */
const char *mqtt_type_name(unsigned type);

#endif
