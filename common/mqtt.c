/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * MQTT 3.1.1 framing for the cluster links. The reader collects the fixed
 * header a byte at a time: the first byte settles the packet type (a type
 * outside the subset is refused there), the remaining-length varint is
 * checked against the type and the size limit the moment its last byte
 * arrives, and only then is the body read, in place when the chunk holds
 * all of it and into a buffer that grows with the bytes received when it
 * does not. The body is decoded before the callback sees the packet, so a
 * malformed one stops the stream without being delivered.
 */

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/mqtt.h"

static int	mqtt_check_first(uint8_t);
static int	mqtt_check_len(uint8_t, uint32_t, size_t);
static int	mqtt_deliver(struct mqtt_reader *, const uint8_t *, uint8_t *,
		    mqtt_cb, void *);
static int	mqtt_fail(struct mqtt_reader *, int);
static int	mqtt_get_string(const uint8_t *, size_t, size_t *,
		    const char **, size_t *);
static int	mqtt_decode_connect(const uint8_t *, size_t,
		    struct mqtt_packet *);
static int	mqtt_put_head(uint8_t *, size_t, uint8_t, size_t);

/*
 * The first byte alone: reserved types and the flags 3.1.1 fixes are
 * malformed, the types this subset does not speak are refused.
 */
static int
mqtt_check_first(uint8_t b)
{
	unsigned	 type = b >> 4, flags = b & 0x0fu, qos;

	switch (type) {
	case MQTT_CONNECT:
	case MQTT_CONNACK:
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
	case MQTT_DISCONNECT:
		return flags == 0 ? 0 : -EBADMSG;
	case MQTT_PUBLISH:
		qos = (flags >> 1) & 3u;
		if (qos == 3) {
			return -EBADMSG;
		}
		return qos == 0 ? 0 : -EPROTO;
	case MQTT_PUBREL:
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		return flags == 0x02 ? -EPROTO : -EBADMSG;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		return flags == 0 ? -EPROTO : -EBADMSG;
	default:
		return -EBADMSG;	/* 0 and 15 are reserved */
	}
}

/* The remaining length, once known, against the type and the limit. */
static int
mqtt_check_len(uint8_t first, uint32_t len, size_t max_len)
{
	switch (first >> 4) {
	case MQTT_CONNACK:
		if (len != 2) {
			return -EBADMSG;
		}
		break;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
	case MQTT_DISCONNECT:
		if (len != 0) {
			return -EBADMSG;
		}
		break;
	case MQTT_PUBLISH:
		if (len < 3) {	/* a topic length and a 1-byte topic */
			return -EBADMSG;
		}
		break;
	case MQTT_CONNECT:
		if (len < 12) {	/* "MQTT", level, flags, keepalive, id */
			return -EBADMSG;
		}
		break;
	}
	return len > max_len ? -EMSGSIZE : 0;
}

static int
mqtt_fail(struct mqtt_reader *r, int err)
{
	r->error = err;
	body_finish(&r->body);
	return err;
}

void
mqtt_reader_init(struct mqtt_reader *r, size_t max_len)
{
	memset(r, 0, sizeof(*r));
	r->max_len = max_len < MQTT_REMAINING_MAX ? max_len :
	    MQTT_REMAINING_MAX;
}

void
mqtt_reader_finish(struct mqtt_reader *r)
{
	if (r == NULL) {
		return;
	}
	body_finish(&r->body);
	r->head_have = 0;
	r->in_body = false;
	r->len = 0;
}

bool
mqtt_reader_pending(const struct mqtt_reader *r)
{
	return r->head_have > 0;
}

/*
 * Decodes the finished packet <body> and, when it is well-formed, resets
 * <r> and passes it to <cb>. A collected buffer (<own>) is freed after the
 * call, so <r> is consistent whatever <cb> does.
 */
static int
mqtt_deliver(struct mqtt_reader *r, const uint8_t *body, uint8_t *own,
    mqtt_cb cb, void *arg)
{
	struct mqtt_packet	 pkt;
	int			 rc;

	rc = mqtt_decode(r->head[0], body, r->body.len, &pkt);
	if (rc != 0) {
		free(own);
		return mqtt_fail(r, rc);
	}
	r->head_have = 0;
	r->in_body = false;
	r->len = 0;
	rc = cb(arg, &pkt);
	free(own);
	return rc;
}

int
mqtt_reader_feed(struct mqtt_reader *r, const uint8_t *data, size_t len,
    mqtt_cb cb, void *arg)
{
	const uint8_t	*body;
	uint8_t		*own, b;
	int		 rc;

	if (r->error != 0) {
		return r->error;
	}
	while (len > 0) {
		if (!r->in_body) {
			b = *data++;
			len--;
			r->head[r->head_have++] = b;
			if (r->head_have == 1) {
				rc = mqtt_check_first(b);
				if (rc != 0) {
					return mqtt_fail(r, rc);
				}
				r->len = 0;
				continue;
			}
			r->len |= (uint32_t)(b & 0x7fu) <<
			    (7 * (r->head_have - 2));
			if (b & 0x80u) {
				if (r->head_have == MQTT_HEAD_MAX) {
					return mqtt_fail(r, -EBADMSG);
				}
				continue;
			}
			rc = mqtt_check_len(r->head[0], r->len, r->max_len);
			if (rc != 0) {
				return mqtt_fail(r, rc);
			}
			r->in_body = true;
			body_start(&r->body, r->len);
		}
		if ((body = body_take(&r->body, &data, &len, &own)) == NULL) {
			return 0;
		}
		if ((rc = mqtt_deliver(r, body, own, cb, arg)) != 0) {
			return rc;
		}
	}
	return 0;
}

/* A 2-byte length and that many bytes, at <*pos> in <buf>. */
static int
mqtt_get_string(const uint8_t *buf, size_t len, size_t *pos,
    const char **ret, size_t *ret_len)
{
	size_t	 n;

	if (len - *pos < 2) {
		return -EBADMSG;
	}
	n = (size_t)buf[*pos] << 8 | buf[*pos + 1];
	*pos += 2;
	if (len - *pos < n) {
		return -EBADMSG;
	}
	*ret = (const char *)buf + *pos;
	*ret_len = n;
	*pos += n;
	return 0;
}

static int
mqtt_decode_connect(const uint8_t *buf, size_t len, struct mqtt_packet *p)
{
	const char	*s;
	size_t		 pos = 0, n;
	uint8_t		 f;

	if (mqtt_get_string(buf, len, &pos, &p->connect.protocol,
	    &p->connect.protocol_len) != 0 || len - pos < 4) {
		return -EBADMSG;
	}
	p->connect.level = buf[pos];
	f = p->connect.flags = buf[pos + 1];
	p->connect.keepalive = (uint16_t)(buf[pos + 2] << 8 | buf[pos + 3]);
	pos += 4;

	if (!((p->connect.protocol_len == 4 &&
	    memcmp(p->connect.protocol, "MQTT", 4) == 0 &&
	    p->connect.level == 4) ||
	    (p->connect.protocol_len == 6 &&
	    memcmp(p->connect.protocol, "MQIsdp", 6) == 0 &&
	    p->connect.level == 3))) {
		return -EPROTO;
	}
	if ((f & 0x01) != 0 ||
	    (f & MQTT_CONNECT_WILL_QOS) == MQTT_CONNECT_WILL_QOS ||
	    ((f & MQTT_CONNECT_WILL) == 0 &&
	    (f & (MQTT_CONNECT_WILL_QOS | MQTT_CONNECT_WILL_RETAIN)) != 0) ||
	    ((f & MQTT_CONNECT_PASSWORD) != 0 &&
	    (f & MQTT_CONNECT_USERNAME) == 0)) {
		return -EBADMSG;
	}
	if (mqtt_get_string(buf, len, &pos, &p->connect.client_id,
	    &p->connect.client_id_len) != 0) {
		return -EBADMSG;
	}
	/* Will topic and message, user name, password: read past them. */
	if ((f & MQTT_CONNECT_WILL) != 0 &&
	    (mqtt_get_string(buf, len, &pos, &s, &n) != 0 ||
	    mqtt_get_string(buf, len, &pos, &s, &n) != 0)) {
		return -EBADMSG;
	}
	if ((f & MQTT_CONNECT_USERNAME) != 0 &&
	    mqtt_get_string(buf, len, &pos, &s, &n) != 0) {
		return -EBADMSG;
	}
	if ((f & MQTT_CONNECT_PASSWORD) != 0 &&
	    mqtt_get_string(buf, len, &pos, &s, &n) != 0) {
		return -EBADMSG;
	}
	return pos == len ? 0 : -EBADMSG;
}

int
mqtt_decode(uint8_t first, const uint8_t *body, size_t len,
    struct mqtt_packet *ret)
{
	struct mqtt_packet	 p;
	size_t			 pos = 0;
	int			 rc;

	rc = mqtt_check_first(first);
	if (rc == 0) {
		rc = mqtt_check_len(first, len > MQTT_REMAINING_MAX ?
		    MQTT_REMAINING_MAX + 1u : (uint32_t)len,
		    MQTT_REMAINING_MAX);
	}
	if (rc != 0) {
		return rc == -EMSGSIZE ? -EBADMSG : rc;
	}
	memset(&p, 0, sizeof(p));
	p.type = (enum mqtt_type)(first >> 4);
	p.flags = first & 0x0fu;
	p.body = body;
	p.body_len = len;

	switch (p.type) {
	case MQTT_CONNECT:
		rc = mqtt_decode_connect(body, len, &p);
		if (rc != 0) {
			return rc;
		}
		break;
	case MQTT_CONNACK:
		if ((body[0] & 0xfe) != 0) {
			return -EBADMSG;
		}
		p.connack.session_present = (body[0] & 0x01) != 0;
		p.connack.return_code = body[1];
		break;
	case MQTT_PUBLISH:
		if (mqtt_get_string(body, len, &pos, &p.publish.topic,
		    &p.publish.topic_len) != 0 || p.publish.topic_len == 0) {
			return -EBADMSG;
		}
		p.publish.payload = body + pos;
		p.publish.payload_len = len - pos;
		p.publish.dup = (p.flags & 0x08) != 0;
		p.publish.retain = (p.flags & 0x01) != 0;
		break;
	default:
		break;	/* the pings and DISCONNECT have no body */
	}
	*ret = p;
	return 0;
}

int
mqtt_remaining_len_decode(const uint8_t *in, size_t len, uint32_t *ret)
{
	uint32_t	 v = 0;
	size_t		 i;

	for (i = 0; i < 4; i++) {
		if (i == len) {
			return -EAGAIN;
		}
		v |= (uint32_t)(in[i] & 0x7fu) << (7 * i);
		if ((in[i] & 0x80u) == 0) {
			*ret = v;
			return (int)i + 1;
		}
	}
	return -EBADMSG;
}

int
mqtt_remaining_len_encode(uint8_t *out, uint32_t v)
{
	int	 n = 0;

	assert(v <= MQTT_REMAINING_MAX);
	do {
		out[n] = (uint8_t)(v & 0x7fu);
		v >>= 7;
		if (v != 0) {
			out[n] |= 0x80u;
		}
		n++;
	} while (v != 0);
	return n;
}

/* The fixed header for <len> body bytes; its length or -ENOBUFS. */
static int
mqtt_put_head(uint8_t *out, size_t size, uint8_t first, size_t len)
{
	uint8_t	 tmp[MQTT_HEAD_MAX];
	int	 n;

	tmp[0] = first;
	n = 1 + mqtt_remaining_len_encode(tmp + 1, (uint32_t)len);
	if (size < (size_t)n) {
		return -ENOBUFS;
	}
	memcpy(out, tmp, (size_t)n);
	return n;
}

int
mqtt_encode_connect(uint8_t *out, size_t size, const char *client_id,
    size_t id_len, uint16_t keepalive)
{
	static const uint8_t	 vh[] = {
		0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, MQTT_CONNECT_CLEAN,
	};
	size_t			 len = sizeof(vh) + 2 + 2 + id_len;
	int			 h;

	if (id_len > 0xffff) {
		return -EINVAL;
	}
	h = mqtt_put_head(out, size, MQTT_CONNECT << 4, len);
	if (h < 0 || size - (size_t)h < len) {
		return -ENOBUFS;
	}
	out += h;
	memcpy(out, vh, sizeof(vh));
	out += sizeof(vh);
	*out++ = (uint8_t)(keepalive >> 8);
	*out++ = (uint8_t)keepalive;
	*out++ = (uint8_t)(id_len >> 8);
	*out++ = (uint8_t)id_len;
	if (id_len > 0) {
		memcpy(out, client_id, id_len);
	}
	return h + (int)len;
}

int
mqtt_encode_connack(uint8_t *out, size_t size, bool session_present,
    uint8_t return_code)
{
	if (size < 4) {
		return -ENOBUFS;
	}
	out[0] = MQTT_CONNACK << 4;
	out[1] = 2;
	out[2] = session_present ? 1 : 0;
	out[3] = return_code;
	return 4;
}

int
mqtt_encode_publish_head(uint8_t *out, size_t size, const char *topic,
    size_t topic_len, size_t payload_len)
{
	int	 h;

	if (topic_len == 0 || topic_len > 0xffff) {
		return -EINVAL;
	}
	if (payload_len > MQTT_REMAINING_MAX - 2 - topic_len) {
		return -EMSGSIZE;
	}
	h = mqtt_put_head(out, size, MQTT_PUBLISH << 4,
	    2 + topic_len + payload_len);
	if (h < 0 || size - (size_t)h < 2 + topic_len) {
		return -ENOBUFS;
	}
	out[h] = (uint8_t)(topic_len >> 8);
	out[h + 1] = (uint8_t)topic_len;
	memcpy(out + h + 2, topic, topic_len);
	return h + 2 + (int)topic_len;
}

int
mqtt_encode_publish(uint8_t *out, size_t size, const char *topic,
    size_t topic_len, const void *payload, size_t payload_len)
{
	int	 h;

	h = mqtt_encode_publish_head(out, size, topic, topic_len,
	    payload_len);
	if (h < 0) {
		return h;
	}
	if (size - (size_t)h < payload_len) {
		return -ENOBUFS;
	}
	if (payload_len > 0) {
		memcpy(out + h, payload, payload_len);
	}
	return h + (int)payload_len;
}

int
mqtt_encode_pingreq(uint8_t *out, size_t size)
{
	return mqtt_put_head(out, size, MQTT_PINGREQ << 4, 0);
}

int
mqtt_encode_pingresp(uint8_t *out, size_t size)
{
	return mqtt_put_head(out, size, MQTT_PINGRESP << 4, 0);
}

int
mqtt_encode_disconnect(uint8_t *out, size_t size)
{
	return mqtt_put_head(out, size, MQTT_DISCONNECT << 4, 0);
}

bool
mqtt_topic_is(const struct mqtt_packet *pkt, const char *topic)
{
	size_t	 n = strlen(topic);

	return pkt->type == MQTT_PUBLISH && pkt->publish.topic_len == n &&
	    memcmp(pkt->publish.topic, topic, n) == 0;
}

const char *
mqtt_type_name(unsigned type)
{
	static const char *const names[] = {
		"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK",
		"PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK",
		"UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
		"DISCONNECT",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] :
	    "RESERVED";
}
