/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The Pomelo session (PROTOCOL.md §3): the state machine that turns the
 * packages a framing hands up into handshakes, acks, heartbeats and
 * messages for the router, and what handlers do with a session: answer,
 * push, kick, bind a uid, keep settings.
 *
 *   INITED -handshake-> WAIT_ACK -ack-> WORKING -> CLOSED
 *
 * A session knows nothing of sockets or framings: it sends packages and
 * asks to end through session_io (conn.c in the worker; a unit test's
 * own functions in tests/unit/test-session.c).
 *
 * Sessions are also found here by id (for the admin socket and channel
 * deliveries) and by uid (kicks). A session id is the worker's serial
 * (unique per master) in the high 32 bits and a counter in the low ones,
 * so the master routes "kick session ID" to the one worker that has it.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dict.h"
#include "common/hmap.h"
#include "common/jsval.h"
#include "common/log.h"
#include "common/protobuf.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

/* A prebuilt package: header and body, ready to send. */
struct prebuilt {
	uint8_t		*data;
	size_t		 len;
};

/* The handshake replies: [dictionary][protos], each none, full, cached. */
enum {
	HS_NONE,		/* the feature is off */
	HS_FULL,		/* sent whole */
	HS_CACHED,		/* the client has our version: only useX */
	HS_KINDS,
};

/* The requests of a session whose responses have a server schema. */
struct session_pb {
	size_t			 n;
	size_t			 cap;
	struct {
		uint32_t		 id;
		const struct pb_msg	*msg;
	}			*req;
};

/* What every session of this worker shares; built by session_init(). */
static struct {
	struct dict		 dict;
	bool			 use_dict;
	bool			 use_proto;
	const struct pb_protos	*pb_server;
	const struct pb_protos	*pb_client;
	struct prebuilt		 hs[HS_KINDS][HS_KINDS];
	struct prebuilt		 hs_error;	/* code 500 */
	/* The last push encoded by schema, for channel fan-outs. */
	char			*push_route;
	uint8_t			*push_body;
	size_t			 push_body_len;
	uint8_t			*push_pb;
	size_t			 push_pb_len;
	struct hmap		 by_id;		/* 8-byte id -> session */
	struct hmap		 by_uid;	/* uid -> first session */
} sessions;

static void	session_unbind_quiet(struct session *);
static int	session_data_pb(struct session *, struct request *);

static const char *const session_state_names[] = {
	[SESSION_INITED] = "inited",
	[SESSION_WAIT_ACK] = "wait_ack",
	[SESSION_WORKING] = "working",
	[SESSION_CLOSED] = "closed",
};

const char *
session_state_name(enum session_state state)
{
	return session_state_names[state];
}

/*
 * Logs with the client's address and the session id appended, for the
 * session and its connection alike (conn_log()).
 */
void
session_log(const struct session *s, int level, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512], peer[64];

	if (level > (int)log_level) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_write((enum log_level)level, __FILE__, __LINE__,
	    "%s, client %s, session %ju", msg,
	    session_io->peer(s, peer, sizeof peer), (uintmax_t)s->id);
}

/* Keeps the per-state gauges of show stat. */
static void
session_gauge(const struct session *s, int delta)
{
	struct worker_stats	*st = &worker->stats;

	switch (s->state) {
	case SESSION_INITED:
		st->sessions_inited += (uint64_t)delta;
		break;
	case SESSION_WAIT_ACK:
		st->sessions_wait_ack += (uint64_t)delta;
		st->sessions += (uint64_t)delta;
		break;
	case SESSION_WORKING:
		st->sessions_working += (uint64_t)delta;
		st->sessions += (uint64_t)delta;
		break;
	case SESSION_CLOSED:
		break;
	}
}

static void
session_set_state(struct session *s, enum session_state state)
{
	if (s->state == state) {
		return;
	}
	session_gauge(s, -1);
	if (log_level >= LOG_LEVEL_DEBUG) {
		session_log(s, LOG_LEVEL_DEBUG, "session %s -> %s",
		    session_state_names[s->state],
		    session_state_names[state]);
	}
	s->state = state;
	session_gauge(s, 1);
}

/* A new session, INITED, findable by <id>. */
void
session_start(struct session *s, uint64_t id)
{
	memset(s, 0, sizeof *s);
	s->id = id;
	s->state = SESSION_INITED;
	TAILQ_INIT(&s->memberships);
	session_gauge(s, 1);
	hmap_put(&sessions.by_id, (const char *)&s->id, sizeof s->id, s);
}

/*
 * The connection is gone: the session leaves its channels and the table,
 * and frees what it holds.
 */
void
session_stop(struct session *s)
{
	session_set_state(s, SESSION_CLOSED);
	hmap_del(&sessions.by_id, (const char *)&s->id, sizeof s->id);
	channel_session_closed(s);
	if (s->uid != NULL && cluster_enabled()) {
		forward_session_closed(s);
	}
	session_unbind_quiet(s);
	if (s->pb != NULL) {
		free(s->pb->req);
		FREE_AND_NULL(s->pb);
	}
	json_decref(s->settings);
	s->settings = NULL;
}

bool
session_working(const struct session *s)
{
	return s->state == SESSION_WORKING;
}

/* Asks the connection to end, once. */
static void
session_end(struct session *s, enum session_end how, const char *why)
{
	if (s->state == SESSION_CLOSED) {
		return;
	}
	session_set_state(s, SESSION_CLOSED);
	session_io->end(s, how, why);
}

static int
session_send(struct session *s, enum pkg_type type, const void *a,
    size_t alen, const void *b, size_t blen)
{
	return session_io->send(s, type, a, alen, b, blen);
}

static int
session_send_prebuilt(struct session *s, const struct prebuilt *p)
{
	return session_send(s, p->data[0], p->data + PKG_HEAD_LEN,
	    p->len - PKG_HEAD_LEN, NULL, 0);
}

/* A protocol error: counted, logged once per connection, ended. */
void
session_protocol_error(struct session *s, const char *what)
{
	if (s->state == SESSION_CLOSED) {
		return;
	}
	worker->stats.protocol_errors++;
	session_log(s, LOG_LEVEL_INFO, "protocol error: %s", what);
	session_end(s, SESSION_END_PROTOCOL, what);
}

/* A DATA body is never empty (libpomelo2 treats that as an error). */
static void
session_body(const void **body, size_t *len)
{
	if (*len == 0) {
		*body = "{}";
		*len = 2;
	}
}

/* Sends the response head for <id> and <body> as it is. */
static int
session_send_response(struct session *s, uint32_t id, const void *body,
    size_t len)
{
	uint8_t	 head[MSG_HEAD_MAX];
	size_t	 hlen;

	hlen = msg_encode_head(head, MSG_RESPONSE, id, NULL, 0, 0);
	worker->stats.responses++;
	return session_send(s, PKG_DATA, head, hlen, body, len);
}

/*
 * The server schema the response to request <id> is encoded with, taken
 * out of the session's list; NULL when its route has none.
 */
static const struct pb_msg *
session_pb_take(struct session *s, uint32_t id)
{
	struct session_pb	*pb = s->pb;
	const struct pb_msg	*msg;
	size_t			 i;

	if (pb == NULL) {
		return NULL;
	}
	for (i = 0; i < pb->n; i++) {
		if (pb->req[i].id == id) {
			msg = pb->req[i].msg;
			pb->req[i] = pb->req[--pb->n];
			return msg;
		}
	}
	return NULL;
}

static void
session_pb_put(struct session *s, uint32_t id, const struct pb_msg *msg)
{
	struct session_pb	*pb;

	if (s->pb == NULL) {
		s->pb = xcalloc(1, sizeof *s->pb);
	}
	pb = s->pb;
	if (pb->n == pb->cap) {
		pb->cap = pb->cap ? pb->cap * 2 : 4;
		pb->req = xreallocarray(pb->req, pb->cap, sizeof *pb->req);
	}
	pb->req[pb->n].id = id;
	pb->req[pb->n].msg = msg;
	pb->n++;
}

/*
 * Encodes <value> by <msg> into a new buffer (the caller's to free).
 * Returns NULL and logs why when it does not fit the schema.
 */
static uint8_t *
session_pb_encode(struct session *s, const struct pb_msg *msg,
    const json_t *value, const char *what, size_t *ret_len)
{
	char	 err[PB_ERR_SIZE];
	uint8_t	*out;
	size_t	 len = 0;
	int	 r;

	r = pb_encode(msg, value, NULL, 0, &len, err, sizeof err);
	if (r == -ENOBUFS) {
		out = xmalloc(len > 0 ? len : 1);
		r = pb_encode(msg, value, out, len, &len, err, sizeof err);
		if (r == 0) {
			*ret_len = len;
			return out;
		}
		free(out);
	} else if (r == 0) {
		*ret_len = 0;
		return xmalloc(1);
	}
	worker->stats.protobuf_errors++;
	session_log(s, LOG_LEVEL_WARN, "%s does not fit its protobuf schema: "
	    "%s", what, err);
	return NULL;
}

/*
 * Answers with <value> encoded by <msg>; when it cannot be encoded the
 * answer is {"code":500} (by the schema if it has room for it, else as
 * JSON), never a malformed body.
 */
static int
session_respond_pb(struct session *s, uint32_t id, const struct pb_msg *msg,
    const json_t *value)
{
	json_t	*fail;
	uint8_t	*out;
	size_t	 len;
	char	 what[48];
	int	 r;

	snprintf(what, sizeof what, "the response to request %u", id);
	if ((out = session_pb_encode(s, msg, value, what, &len)) == NULL) {
		fail = json_pack("{s:i}", "code", 500);
		out = session_pb_encode(s, msg, fail, what, &len);
		json_decref(fail);
		if (out == NULL) {
			return session_send_response(s, id, "{\"code\":500}", 12);
		}
	}
	r = session_send_response(s, id, out, len);
	free(out);
	return r;
}

int
session_respond(struct session *s, uint32_t id, const void *body,
    size_t len)
{
	const struct pb_msg	*msg;
	json_t			*value;
	int			 r;

	if (s->state != SESSION_WORKING) {
		return -ENOTCONN;
	}
	if ((msg = session_pb_take(s, id)) != NULL) {
		value = json_loadb(body, len, JSON_DECODE_ANY, NULL);
		if (value == NULL) {
			value = json_object();
		}
		r = session_respond_pb(s, id, msg, value);
		json_decref(value);
		return r;
	}
	session_body(&body, &len);
	return session_send_response(s, id, body, len);
}

/* Answers request <id> with the JSON value <body>, as JSON.stringify. */
int
session_respond_json(struct session *s, uint32_t id, const json_t *body)
{
	const struct pb_msg	*msg;
	char			*text;
	size_t			 len;
	int			 r;

	if (s->state != SESSION_WORKING) {
		return -ENOTCONN;
	}
	if ((msg = session_pb_take(s, id)) != NULL) {
		return session_respond_pb(s, id, msg, body);
	}
	text = jsval_dump(body, &len);
	r = session_respond(s, id, text, len);
	free(text);
	return r;
}

/*
 * The body of a push on <route> encoded by its server schema: from the
 * one-entry cache when it is the last push's (a channel push reaches
 * every member with the same body), else encoded now. Returns the bytes
 * (borrowed until the next push), or NULL when the body does not fit.
 */
static const uint8_t *
session_push_pb(struct session *s, const struct pb_msg *msg,
    const char *route, const void *body, size_t len, size_t *ret_len)
{
	json_t	*value;
	uint8_t	*out;
	size_t	 olen;
	char	 what[300];

	if (sessions.push_route != NULL &&
	    strcmp(sessions.push_route, route) == 0 &&
	    sessions.push_body_len == len &&
	    memcmp(sessions.push_body, body, len) == 0) {
		*ret_len = sessions.push_pb_len;
		return sessions.push_pb;
	}
	value = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	snprintf(what, sizeof what, "a push on %s", route);
	out = value != NULL ? session_pb_encode(s, msg, value, what, &olen) :
	    NULL;
	json_decref(value);
	if (out == NULL) {
		return NULL;
	}
	free(sessions.push_route);
	free(sessions.push_body);
	free(sessions.push_pb);
	sessions.push_route = xstrdup(route);
	sessions.push_body = xmalloc(len > 0 ? len : 1);
	memcpy(sessions.push_body, body, len);
	sessions.push_body_len = len;
	sessions.push_pb = out;
	sessions.push_pb_len = olen;
	*ret_len = olen;
	return out;
}

int
session_push(struct session *s, const char *route, const void *body,
    size_t len)
{
	uint8_t			 head[MSG_HEAD_MAX];
	const struct pb_msg	*msg;
	size_t			 hlen, rlen = strlen(route);
	uint16_t		 code = 0;

	if (s->state != SESSION_WORKING) {
		return -ENOTCONN;
	}
	if (rlen > MSG_ROUTE_MAX) {
		return -ENAMETOOLONG;
	}
	if (sessions.use_dict) {
		code = dict_code(&sessions.dict, route, rlen);
	}
	if (sessions.use_proto && (msg = pb_protos_find(sessions.pb_server,
	    route, rlen)) != NULL) {
		if ((body = session_push_pb(s, msg, route, body, len,
		    &len)) == NULL) {
			return -EINVAL;
		}
	} else {
		session_body(&body, &len);
	}
	hlen = msg_encode_head(head, MSG_PUSH, 0, route, rlen, code);
	worker->stats.pushes++;
	return session_send(s, PKG_DATA, head, hlen, body, len);
}

/*
 * Kicks the session: a KICK package {"reason": <reason>} (only a working
 * session gets one, as in Pomelo), then the connection ends after it.
 */
void
session_kick(struct session *s, const char *reason)
{
	json_t	*j;
	char	*text;

	if (s->state == SESSION_CLOSED) {
		return;
	}
	if (s->state == SESSION_WORKING) {
		j = json_pack("{s:s}", "reason", reason);
		text = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		session_send(s, PKG_KICK, text, strlen(text), NULL, 0);
		free(text);
		worker->stats.kicks++;
		session_log(s, LOG_LEVEL_DEBUG, "kicked: %s", reason);
	}
	session_end(s, SESSION_END_NORMAL, "kicked");
}

/* True when <v> is the string <want> (Pomelo compares with !==). */
static bool
session_same_version(const json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) > 0 &&
	    strcmp(json_string_value(v), want) == 0;
}

static void
session_handshake(struct session *s, const uint8_t *body, size_t len)
{
	json_t	*j, *sys;
	int	 d = HS_NONE, p = HS_NONE;

	j = json_loadb((const char *)body, len, 0, NULL);
	sys = json_is_object(j) ? json_object_get(j, "sys") : NULL;
	if (!json_is_object(sys)) {
		worker->stats.handshake_errors++;
		session_log(s, LOG_LEVEL_INFO, "bad handshake: %s",
		    j == NULL ? "not JSON" : "no \"sys\" object");
		json_decref(j);
		/* Sent even before the handshake completes (a forced send). */
		session_send_prebuilt(s, &sessions.hs_error);
		session_end(s, SESSION_END_NORMAL, "bad handshake");
		return;
	}
	if (sessions.use_dict) {
		d = session_same_version(json_object_get(sys, "dictVersion"),
		    sessions.dict.version) ? HS_CACHED : HS_FULL;
	}
	if (sessions.use_proto) {
		p = session_same_version(json_object_get(sys, "protoVersion"),
		    worker->conf->pb_version) ? HS_CACHED : HS_FULL;
	}
	json_decref(j);
	worker->stats.handshakes++;
	session_set_state(s, SESSION_WAIT_ACK);
	session_send_prebuilt(s, &sessions.hs[d][p]);
}

static void
session_ack(struct session *s)
{
	session_set_state(s, SESSION_WORKING);
	s->last_hb_ms = now_coarse_ms();
	/* Clients heartbeat only in answer to this one. */
	if (worker->conf->heartbeat > 0) {
		session_send(s, PKG_HEARTBEAT, NULL, 0, NULL, 0);
	}
	session_io->rearm(s);
}

static void
session_data(struct session *s, const uint8_t *body, size_t len)
{
	struct msg	 m;
	struct request	 r;
	const char	*route;

	if (msg_decode(body, len, &m) != 0) {
		session_protocol_error(s, "malformed message");
		return;
	}
	if (m.type != MSG_REQUEST && m.type != MSG_NOTIFY) {
		session_protocol_error(s, "a client sent a response or push");
		return;
	}
	if (m.compressed) {
		route = sessions.use_dict ? dict_route(&sessions.dict,
		    m.code) : NULL;
		if (route == NULL) {
			/* Pomelo drops it and keeps the connection. */
			worker->stats.protocol_errors++;
			session_log(s, LOG_LEVEL_INFO, "unknown route code %u: "
			    "message dropped", m.code);
			return;
		}
		m.route = route;
		m.route_len = strlen(route);
	}
	if (m.type == MSG_REQUEST) {
		worker->stats.requests++;
	} else {
		worker->stats.notifies++;
	}
	r.type = m.type;
	r.id = m.id;
	r.route = m.route;
	r.route_len = m.route_len;
	r.raw = m.body;
	r.raw_len = m.body_len;
	r.compressed = m.compressed;
	r.body = NULL;
	if (sessions.use_proto && session_data_pb(s, &r) != 0) {
		return;
	}
	router_dispatch(s, &r);
	json_decref(r.body);
}

/*
 * Protobuf for request <r>: its body decoded by the route's client
 * schema, and its response's server schema remembered. A body that does
 * not fit its schema drops the message (counted, logged with the route);
 * the connection stays, as Pomelo keeps it. Returns 0, or -EBADMSG.
 */
static int
session_data_pb(struct session *s, struct request *r)
{
	const struct pb_msg	*msg;
	char			 err[PB_ERR_SIZE];

	msg = pb_protos_find(sessions.pb_client, r->route, r->route_len);
	if (msg != NULL && pb_decode(msg, r->raw, r->raw_len, &r->body, err,
	    sizeof err) != 0) {
		worker->stats.protobuf_errors++;
		session_log(s, LOG_LEVEL_INFO, "a %s on %.*s does not fit its "
		    "protobuf schema: %s: dropped", r->type == MSG_REQUEST ?
		    "request" : "notify", (int)r->route_len, r->route, err);
		return -EBADMSG;
	}
	if (r->type == MSG_REQUEST && (msg = pb_protos_find(
	    sessions.pb_server, r->route, r->route_len)) != NULL) {
		session_pb_put(s, r->id, msg);
	}
	return 0;
}

/*
 * The body of <r> as a JSON value, borrowed until the handler returns.
 * A body that is not JSON is {}, as in Pomelo.
 */
json_t *
request_body(struct request *r)
{
	char	*fixed;
	size_t	 len;

	if (r->body != NULL) {
		return r->body;
	}
	r->body = json_loadb((const char *)r->raw, r->raw_len,
	    JSON_DECODE_ANY, NULL);
	if (r->body == NULL && !utf8_valid(r->raw, r->raw_len)) {
		/*
		 * Node reads bytes that are not UTF-8 (the JS clients write
		 * astral characters as CESU-8) as U+FFFD: so does this, or a
		 * uid in such a body would not be the same string here.
		 */
		fixed = utf8_repair(r->raw, r->raw_len, &len);
		r->body = json_loadb(fixed, len, JSON_DECODE_ANY, NULL);
		free(fixed);
	}
	if (r->body == NULL) {
		r->body = json_object();
	}
	return r->body;
}

/*
 * Handles one package from the framing; the state decides (PROTOCOL.md
 * §3.1). Returns non-zero once the session has ended, so the framing
 * stops handing up what follows.
 */
int
session_package(struct session *s, int type, const uint8_t *body,
    size_t len)
{
	switch (type) {
	case PKG_HANDSHAKE:
		if (s->state == SESSION_INITED) {
			session_handshake(s, body, len);
		}
		break;
	case PKG_HANDSHAKE_ACK:
		if (s->state == SESSION_WAIT_ACK) {
			session_ack(s);
		}
		break;
	case PKG_HEARTBEAT:
		/* Without a heartbeat setting, Pomelo ignores them. */
		if (s->state == SESSION_WORKING &&
		    worker->conf->heartbeat > 0) {
			s->last_hb_ms = now_coarse_ms();
			session_send(s, PKG_HEARTBEAT, NULL, 0, NULL, 0);
		}
		break;
	case PKG_DATA:
		if (s->state == SESSION_WORKING) {
			session_data(s, body, len);
		}
		break;
	default:
		session_protocol_error(s, "package type not allowed from a "
		    "client");
		break;
	}
	return s->state == SESSION_CLOSED ? 1 : 0;
}

/*
 * The connection's timer fired while the session works: ends a session
 * whose client stopped heartbeating. Returns the ms until the heartbeat
 * deadline, or 0 when there is none (or the session ended).
 */
uint64_t
session_timer(struct session *s, uint64_t now)
{
	const struct conf	*conf = worker->conf;
	uint64_t		 due;

	if (s->state != SESSION_WORKING || conf->heartbeat == 0) {
		return 0;
	}
	due = s->last_hb_ms + conf->heartbeat_timeout;
	if (now >= due) {
		worker->stats.heartbeat_timeouts++;
		session_log(s, LOG_LEVEL_INFO, "no heartbeat for %ju ms",
		    (uintmax_t)(now - s->last_hb_ms));
		session_end(s, SESSION_END_NOW, "heartbeat timeout");
		return 0;
	}
	return due - now;
}

/* The handshake replies, built once: they depend only on the config. */

static void
prebuilt_set(struct prebuilt *p, const char *json)
{
	size_t	 len = strlen(json);

	p->len = PKG_HEAD_LEN + len;
	p->data = xmalloc(p->len);
	pkg_head_encode(p->data, PKG_HANDSHAKE, len);
	memcpy(p->data + PKG_HEAD_LEN, json, len);
}

/*
 * The handshake reply for dictionary kind <d> and protos kind <p>, with
 * the members in Pomelo's order: heartbeat, dict, routeToCode,
 * codeToRoute, dictVersion, useDict, protos, useProto.
 */
static char *
session_handshake_json(int d, int p, const char *hb)
{
	const struct conf	*conf = worker->conf;
	char			*dict = NULL, *protos = NULL, *s;

	if (d == HS_FULL) {
		xasprintf(&dict, "\"dict\":%s,\"routeToCode\":%s,"
		    "\"codeToRoute\":%s,\"dictVersion\":\"%s\",\"useDict\":true",
		    sessions.dict.json_dict, sessions.dict.json_dict,
		    sessions.dict.json_code_to_route, sessions.dict.version);
	} else if (d == HS_CACHED) {
		dict = xstrdup("\"useDict\":true");
	}
	if (p == HS_FULL) {
		xasprintf(&protos, "\"protos\":{\"server\":%s,\"client\":%s,"
		    "\"version\":\"%s\"},\"useProto\":true",
		    pb_protos_json(conf->pb_server, NULL),
		    pb_protos_json(conf->pb_client, NULL), conf->pb_version);
	} else if (p == HS_CACHED) {
		protos = xstrdup("\"useProto\":true");
	}
	xasprintf(&s, "{\"code\":200,\"sys\":{%s%s%s%s%s}}", hb,
	    *hb != '\0' && dict != NULL ? "," : "", dict != NULL ? dict : "",
	    (*hb != '\0' || dict != NULL) && protos != NULL ? "," : "",
	    protos != NULL ? protos : "");
	free(dict);
	free(protos);
	return s;
}

static void
session_prebuild_handshakes(void)
{
	const struct conf	*conf = worker->conf;
	char			 hb[64], *s;
	int			 d, p;

	hb[0] = '\0';
	if (conf->heartbeat > 0) {
		if (conf->heartbeat % 1000 == 0) {
			snprintf(hb, sizeof hb, "\"heartbeat\":%ju",
			    (uintmax_t)(conf->heartbeat / 1000));
		} else {
			snprintf(hb, sizeof hb, "\"heartbeat\":%.3f",
			    (double)conf->heartbeat / 1000.0);
		}
	}
	for (d = 0; d < HS_KINDS; d++) {
		for (p = 0; p < HS_KINDS; p++) {
			if ((d != HS_NONE) != sessions.use_dict ||
			    (p != HS_NONE) != sessions.use_proto) {
				continue;
			}
			s = session_handshake_json(d, p, hb);
			prebuilt_set(&sessions.hs[d][p], s);
			free(s);
		}
	}
	prebuilt_set(&sessions.hs_error, "{\"code\":500}");
}

/*
 * Builds what every session shares from the config and the routes the
 * apps added: the dictionary and the handshake replies. Returns 0, or
 * -EINVAL with the reason in <err>.
 */
int
session_init(char *err, size_t errlen)
{
	const struct conf	*conf = worker->conf;
	const char *const	*routes;
	size_t			 n;

	sessions.use_dict = conf->use_dict;
	sessions.use_proto = conf->use_protobuf;
	sessions.pb_server = conf->pb_server;
	sessions.pb_client = conf->pb_client;
	if (sessions.use_dict) {
		routes = router_routes(&n);
		if (dict_init(&sessions.dict, routes, n, conf->dictionary, err,
		    errlen) != 0) {
			return -EINVAL;
		}
	}
	session_prebuild_handshakes();
	return 0;
}

void
session_finish(void)
{
	int	 d, p;

	if (sessions.use_dict) {
		dict_finish(&sessions.dict);
	}
	for (d = 0; d < HS_KINDS; d++) {
		for (p = 0; p < HS_KINDS; p++) {
			free(sessions.hs[d][p].data);
		}
	}
	free(sessions.hs_error.data);
	free(sessions.push_route);
	free(sessions.push_body);
	free(sessions.push_pb);
	hmap_finish(&sessions.by_id);
	hmap_finish(&sessions.by_uid);
	memset(&sessions, 0, sizeof sessions);
}

/* Sessions by id and by uid; uid and settings. */

struct session *
session_find(uint64_t id)
{
	return hmap_get(&sessions.by_id, (const char *)&id, sizeof id);
}

/* Sets setting <key> of <s> to <value>, whose reference it takes over. */
void
session_set(struct session *s, const char *key, json_t *value)
{
	if (s->settings == NULL) {
		s->settings = json_object();
	}
	json_object_set_new(s->settings, key, value);
	if (s->reported) {
		forward_report(s);
	}
}

void
session_del(struct session *s, const char *key)
{
	if (s->settings != NULL && json_object_del(s->settings, key) == 0 &&
	    s->reported) {
		forward_report(s);
	}
}

/* Setting <key> of <s> (borrowed), or NULL. */
json_t *
session_get(const struct session *s, const char *key)
{
	return s->settings != NULL ? json_object_get(s->settings, key) : NULL;
}

/* The first session bound to <uid> here (then follow uid_next), or NULL. */
struct session *
session_by_uid(const char *uid)
{
	return hmap_get(&sessions.by_uid, uid, strlen(uid));
}

/* Binds <uid> to <s> (several sessions may share a uid). */
int
session_bind(struct session *s, const char *uid)
{
	session_unbind_quiet(s);
	s->uid = xstrdup(uid);
	s->uid_next = hmap_put(&sessions.by_uid, s->uid, strlen(s->uid), s);
	forward_report(s);
	return 0;
}

void
session_unbind(struct session *s)
{
	if (s->uid != NULL) {
		session_unbind_quiet(s);
		forward_report(s);
	}
}

/* Takes <s> out of the uid index, without telling anyone. */
static void
session_unbind_quiet(struct session *s)
{
	struct session	*head, **pp;

	if (s->uid == NULL) {
		return;
	}
	head = hmap_get(&sessions.by_uid, s->uid, strlen(s->uid));
	if (head == s) {
		if (s->uid_next != NULL) {
			hmap_put(&sessions.by_uid, s->uid, strlen(s->uid),
			    s->uid_next);
		} else {
			hmap_del(&sessions.by_uid, s->uid, strlen(s->uid));
		}
	} else {
		for (pp = &head; *pp != NULL; pp = &(*pp)->uid_next) {
			if (*pp == s) {
				*pp = s->uid_next;
				break;
			}
		}
	}
	s->uid_next = NULL;
	FREE_AND_NULL(s->uid);
}

/* Kicks every session of <uid> on this worker; returns how many. */
unsigned
session_kick_uid(const char *uid, const char *reason)
{
	struct session	*s, **list;
	unsigned	 n = 0, i;

	for (s = session_by_uid(uid); s != NULL; s = s->uid_next) {
		n++;
	}
	if (n == 0) {
		return 0;
	}
	/* Kicking may unbind: take the list first. */
	list = xreallocarray(NULL, n, sizeof *list);
	n = 0;
	for (s = session_by_uid(uid); s != NULL; s = s->uid_next) {
		list[n++] = s;
	}
	for (i = 0; i < n; i++) {
		session_kick(list[i], reason);
	}
	free(list);
	return n;
}

/*
 * Answers the master's request <tag> with one struct ipc_session record
 * per connection; an answer over IPC_MAX_MESSAGE goes in parts.
 */
void
session_list(struct ipc_chan *chan, uint64_t tag)
{
	struct ipc_session_view	 v;
	struct ipc_buf		 b;
	struct conn		*c;
	char			 peer[64];
	uint64_t		 now = now_coarse_ms();

	memset(&b, 0, sizeof b);
	TAILQ_FOREACH(c, &worker->conns, entry) {
		memset(&v, 0, sizeof v);
		v.id = c->session.id;
		v.age_ms = now - c->created_ms;
		v.bytes_in = c->bytes_in;
		v.bytes_out = c->bytes_out;
		v.worker = worker->slot;
		v.uid = c->session.uid;
		v.uid_len = v.uid != NULL ? strlen(v.uid) : 0;
		v.transport = c->framing != NULL ? c->framing->name :
		    "unknown";
		v.transport_len = strlen(v.transport);
		v.state = c->state == CONN_SWITCHING ? "switching" :
		    c->state == CONN_CLOSING ? "closing" :
		    session_state_name(c->session.state);
		v.state_len = strlen(v.state);
		v.peer = conn_peer(c, peer, sizeof peer);
		v.peer_len = strlen(v.peer);
		v.xprt = c->xprt->name;
		v.xprt_len = strlen(v.xprt);
		if (b.len + sizeof(struct ipc_session) + v.uid_len + 300 >
		    IPC_MAX_MESSAGE) {
			ipc_chan_reply_part(chan, tag, b.data, b.len);
			b.len = 0;
		}
		ipc_session_add(&b, &v);
	}
	ipc_chan_reply(chan, tag, b.data, b.len);
	ipc_buf_free(&b);
}
