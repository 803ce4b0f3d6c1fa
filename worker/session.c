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
#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

/* A prebuilt package: header and body, ready to send. */
struct prebuilt {
	uint8_t		*data;
	size_t		 len;
};

/* What every session of this worker shares; built by session_init(). */
static struct {
	struct dict		 dict;
	bool			 use_dict;
	struct prebuilt		 hs_plain;	/* no dictionary */
	struct prebuilt		 hs_dict;	/* with the dictionary */
	struct prebuilt		 hs_cached;	/* client has our dictVersion */
	struct prebuilt		 hs_error;	/* code 500 */
	struct hmap		 by_id;		/* 8-byte id -> session */
} sessions;

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

/* Logs with the client's address and the session id appended. */
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
	FREE_AND_NULL(s->uid);
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

int
session_respond(struct session *s, uint32_t id, const void *body,
    size_t len)
{
	uint8_t	 head[MSG_HEAD_MAX];
	size_t	 hlen;

	if (s->state != SESSION_WORKING) {
		return -ENOTCONN;
	}
	session_body(&body, &len);
	hlen = msg_encode_head(head, MSG_RESPONSE, id, NULL, 0, 0);
	worker->stats.responses++;
	return session_send(s, PKG_DATA, head, hlen, body, len);
}

int
session_push(struct session *s, const char *route, const void *body,
    size_t len)
{
	uint8_t		 head[MSG_HEAD_MAX];
	size_t		 hlen, rlen = strlen(route);
	uint16_t	 code = 0;

	if (s->state != SESSION_WORKING) {
		return -ENOTCONN;
	}
	if (rlen > MSG_ROUTE_MAX) {
		return -ENAMETOOLONG;
	}
	if (sessions.use_dict) {
		code = dict_code(&sessions.dict, route, rlen);
	}
	session_body(&body, &len);
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

static void
session_handshake(struct session *s, const uint8_t *body, size_t len)
{
	const struct prebuilt	*reply = &sessions.hs_plain;
	json_t			*j, *sys, *dv;

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
		reply = &sessions.hs_dict;
		dv = json_object_get(sys, "dictVersion");
		if (json_is_string(dv) && strcmp(json_string_value(dv),
		    sessions.dict.version) == 0) {
			reply = &sessions.hs_cached;
		}
	}
	json_decref(j);
	worker->stats.handshakes++;
	session_set_state(s, SESSION_WAIT_ACK);
	session_send_prebuilt(s, reply);
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
	router_dispatch(s, &m);
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

static void
session_prebuild_handshakes(void)
{
	const struct conf	*conf = worker->conf;
	char			 hb[64], *s;

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
	xasprintf(&s, "{\"code\":200,\"sys\":{%s}}", hb);
	prebuilt_set(&sessions.hs_plain, s);
	free(s);
	prebuilt_set(&sessions.hs_error, "{\"code\":500}");
	if (!sessions.use_dict) {
		return;
	}
	xasprintf(&s, "{\"code\":200,\"sys\":{%s%s\"dict\":%s,"
	    "\"routeToCode\":%s,\"codeToRoute\":%s,\"dictVersion\":\"%s\","
	    "\"useDict\":true}}", hb, *hb ? "," : "", sessions.dict.json_dict,
	    sessions.dict.json_dict, sessions.dict.json_code_to_route,
	    sessions.dict.version);
	prebuilt_set(&sessions.hs_dict, s);
	free(s);
	xasprintf(&s, "{\"code\":200,\"sys\":{%s%s\"useDict\":true}}", hb,
	    *hb ? "," : "");
	prebuilt_set(&sessions.hs_cached, s);
	free(s);
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
	if (sessions.use_dict) {
		dict_finish(&sessions.dict);
	}
	free(sessions.hs_plain.data);
	free(sessions.hs_dict.data);
	free(sessions.hs_cached.data);
	free(sessions.hs_error.data);
	hmap_finish(&sessions.by_id);
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
}

void
session_del(struct session *s, const char *key)
{
	if (s->settings != NULL) {
		json_object_del(s->settings, key);
	}
}

/* Setting <key> of <s> (borrowed), or NULL. */
json_t *
session_get(const struct session *s, const char *key)
{
	return s->settings != NULL ? json_object_get(s->settings, key) : NULL;
}

/* Binds <uid> to <s> (several sessions may share a uid). */
int
session_bind(struct session *s, const char *uid)
{
	free(s->uid);
	s->uid = xstrdup(uid);
	return 0;
}

void
session_unbind(struct session *s)
{
	FREE_AND_NULL(s->uid);
}

unsigned
session_kick_uid(const char *uid, const char *reason)
{
	struct conn	*c, *tc;
	unsigned	 n = 0;

	TAILQ_FOREACH_SAFE(c, &worker->conns, entry, tc) {
		if (c->session.uid != NULL &&
		    strcmp(c->session.uid, uid) == 0 &&
		    c->session.state != SESSION_CLOSED) {
			session_kick(&c->session, reason);
			n++;
		}
	}
	return n;
}

/* Kicks <uid> on every worker: here at once, elsewhere via the master. */
void
session_kick_uid_all(const char *uid, const char *reason)
{
	struct ipc_kick	*k;
	size_t		 len = strlen(uid);

	session_kick_uid(uid, reason);
	if (len > IPC_MAX_PAYLOAD - sizeof *k) {
		return;
	}
	k = xcalloc(1, sizeof *k + len);
	snprintf(k->reason, sizeof k->reason, "%s", reason);
	memcpy(k + 1, uid, len);
	ipc_chan_send(worker->chan, IPC_KICK_ALL, 0, k, sizeof *k + len, -1);
	free(k);
}

/*
 * Sends one JSON object per session, one per line, in chunks of whole
 * lines (replies of several workers may interleave, but only by lines).
 */
void
session_list(struct ipc_chan *chan, uint64_t tag)
{
	static char	 buf[IPC_MAX_PAYLOAD];
	struct conn	*c;
	json_t		*j;
	char		*line, peer[64], id[24];
	size_t		 len = 0, n;
	uint64_t	 now = now_coarse_ms();

	TAILQ_FOREACH(c, &worker->conns, entry) {
		snprintf(id, sizeof id, "%ju", (uintmax_t)c->session.id);
		j = json_pack("{s:s, s:o, s:i, s:s, s:s, s:s, s:s, s:f, s:I, "
		    "s:I}",
		    "id", id,
		    "uid", c->session.uid != NULL ?
		    json_string(c->session.uid) : json_null(),
		    "worker", worker->slot,
		    "transport", c->framing != NULL ? c->framing->name :
		    "unknown",
		    "xprt", c->xprt->name,
		    "peer", conn_peer(c, peer, sizeof peer),
		    "state", c->state == CONN_SWITCHING ? "switching" :
		    c->state == CONN_CLOSING ? "closing" :
		    session_state_name(c->session.state),
		    "age", (double)(now - c->created_ms) / 1000.0,
		    "bytes_in", (json_int_t)c->bytes_in,
		    "bytes_out", (json_int_t)c->bytes_out);
		line = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
		json_decref(j);
		n = strlen(line);
		if (len + n + 1 > sizeof buf && len > 0) {
			ipc_chan_send(chan, IPC_REPLY, tag, buf, len, -1);
			len = 0;
		}
		if (n + 1 <= sizeof buf) {
			memcpy(buf + len, line, n);
			buf[len + n] = '\n';
			len += n + 1;
		}
		free(line);
	}
	ipc_chan_send(chan, IPC_REPLY_END, tag, buf, len, -1);
}
