/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the Pomelo session state machine (worker/session.c) without a
 * socket: packages go in through session_package(), and what the session
 * sends or how it asks to end is recorded by a session_io of this file.
 * Every transition of PROTOCOL.md §3.1, heartbeats, kicks, the handshake
 * replies with and without the dictionary, and bad messages.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/message.h"
#include "common/package.h"
#include "worker/worker-int.h"
#include "tests/unit/test.h"

/* What the session did, in order. */
struct sent {
	int		 type;
	size_t		 len;
	uint8_t		 body[512];
};

static struct {
	struct sent	 sent[64];
	int		 n_sent;
	int		 ended;
	enum session_end how;
	char		 why[64];
	int		 rearmed;
} rec;

static int
t_send(struct session *s, enum pkg_type type, const void *a, size_t alen,
    const void *b, size_t blen)
{
	struct sent	*p = &rec.sent[rec.n_sent++];

	p->type = type;
	p->len = alen + blen;
	if (alen > 0) {
		memcpy(p->body, a, alen);
	}
	if (blen > 0) {
		memcpy(p->body + alen, b, blen);
	}
	return 0;
}

static void
t_end(struct session *s, enum session_end how, const char *why)
{
	rec.ended++;
	rec.how = how;
	snprintf(rec.why, sizeof rec.why, "%s", why);
}

static void
t_rearm(struct session *s)
{
	rec.rearmed++;
}

static const char *
t_peer(const struct session *s, char *buf, size_t size)
{
	snprintf(buf, size, "test");
	return buf;
}

static int
t_sockname(const struct session *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	return -ENOTSUP;
}

static const struct session_io test_io = {
	t_send, t_end, t_rearm, t_peer, t_sockname,
};

static int	 handled;

static void
echo(struct session *s, struct request *r)
{
	handled++;
	if (r->type == MSG_REQUEST) {
		session_respond(s, r->id, r->raw, r->raw_len);
	}
}

static void
kick_me(struct session *s, struct request *r)
{
	handled++;
	session_kick(s, "bye-bye");
}

static const struct route_entry test_routes[] = {
	{ "test.h.echo", echo },
	{ "test.h.kick", kick_me },
};

/* A worker with the config <text> (a [connector] section body). */
static void
setup(const char *connector)
{
	char	 path[] = "/tmp/shaddock-test-session-XXXXXX", *errors = NULL;
	char	 err[256];
	FILE	*f;
	int	 fd;

	memset(&rec, 0, sizeof rec);
	handled = 0;
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fprintf(f, "[listener main]\naddress = 127.0.0.1:1\n[connector]\n%s\n"
	    "[app]\nhello = off\nchat = off\n", connector);
	fclose(f);
	worker = calloc(1, sizeof *worker);
	if (conf_load(path, &worker->conf, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		abort();
	}
	unlink(path);
	TAILQ_INIT(&worker->conns);
	worker->serial = 1;
	session_io = &test_io;
	router_add(test_routes, nitems(test_routes));
	if (session_init(err, sizeof err) != 0) {
		fprintf(stderr, "session_init: %s\n", err);
		abort();
	}
}

static void
teardown(void)
{
	session_finish();
	router_finish();
	conf_free(worker->conf);
	free(worker);
	worker = NULL;
}

static int
feed(struct session *s, int type, const char *body)
{
	return session_package(s, type, (const uint8_t *)body,
	    body != NULL ? strlen(body) : 0);
}

/* A DATA package body: flag, id, route string, JSON body. */
static size_t
data_body(uint8_t *out, enum msg_type type, uint32_t id, const char *route,
    const char *json)
{
	size_t	 n;

	n = msg_encode_head(out, type, id, route, strlen(route), 0);
	memcpy(out + n, json, strlen(json));
	return n + strlen(json);
}

static int
feed_data(struct session *s, enum msg_type type, uint32_t id,
    const char *route, const char *json)
{
	uint8_t	 buf[512];
	size_t	 n = data_body(buf, type, id, route, json);

	return session_package(s, PKG_DATA, buf, n);
}

static const char *
sent_text(int i)
{
	static char	 buf[513];

	memcpy(buf, rec.sent[i].body, rec.sent[i].len);
	buf[rec.sent[i].len] = '\0';
	return buf;
}

/* Brings a new session to WORKING; the replies are then forgotten. */
static void
working(struct session *s)
{
	session_start(s, 42);
	feed(s, PKG_HANDSHAKE, "{\"sys\":{\"type\":\"test\"}}");
	feed(s, PKG_HANDSHAKE_ACK, NULL);
	memset(&rec, 0, sizeof rec);
}

TEST(inited_ignores_all_but_the_handshake)
{
	struct session	 s;

	setup("heartbeat = 3s");
	session_start(&s, 7);
	ASSERT_EQ(s.state, SESSION_INITED);
	ASSERT_TRUE(session_find(7) == &s);
	ASSERT_EQ(feed(&s, PKG_HANDSHAKE_ACK, NULL), 0);
	ASSERT_EQ(feed(&s, PKG_HEARTBEAT, NULL), 0);
	ASSERT_EQ(feed_data(&s, MSG_REQUEST, 1, "test.h.echo", "{}"), 0);
	ASSERT_EQ(rec.n_sent, 0);
	ASSERT_EQ(handled, 0);
	ASSERT_EQ(s.state, SESSION_INITED);
	/* Nothing goes out before the handshake. */
	ASSERT_EQ(session_push(&s, "onX", "{}", 2), -ENOTCONN);
	ASSERT_EQ(session_respond(&s, 1, "{}", 2), -ENOTCONN);
	ASSERT_EQ(rec.n_sent, 0);
	ASSERT_UEQ(worker->stats.sessions_inited, 1);
	session_stop(&s);
	ASSERT_TRUE(session_find(7) == NULL);
	ASSERT_UEQ(worker->stats.sessions_inited, 0);
	teardown();
}

TEST(handshake_then_ack)
{
	struct session	 s;

	setup("heartbeat = 3s");
	session_start(&s, 8);
	ASSERT_EQ(feed(&s, PKG_HANDSHAKE, "{\"sys\":{\"type\":\"x\"},"
	    "\"user\":{}}"), 0);
	ASSERT_EQ(s.state, SESSION_WAIT_ACK);
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(rec.sent[0].type, PKG_HANDSHAKE);
	ASSERT_STR_EQ(sent_text(0), "{\"code\":200,\"sys\":{\"heartbeat\":3}}");
	ASSERT_UEQ(worker->stats.handshakes, 1);
	ASSERT_UEQ(worker->stats.sessions_wait_ack, 1);
	/* WAIT_ACK: a second handshake, heartbeats and data are ignored. */
	feed(&s, PKG_HANDSHAKE, "{\"sys\":{}}");
	feed(&s, PKG_HEARTBEAT, NULL);
	feed_data(&s, MSG_REQUEST, 1, "test.h.echo", "{}");
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(handled, 0);
	/* The ack: WORKING, and a heartbeat at once. */
	ASSERT_EQ(feed(&s, PKG_HANDSHAKE_ACK, NULL), 0);
	ASSERT_EQ(s.state, SESSION_WORKING);
	ASSERT_EQ(rec.n_sent, 2);
	ASSERT_EQ(rec.sent[1].type, PKG_HEARTBEAT);
	ASSERT_UEQ(rec.sent[1].len, 0);
	ASSERT_EQ(rec.rearmed, 1);
	ASSERT_UEQ(worker->stats.sessions_working, 1);
	ASSERT_UEQ(worker->stats.sessions, 1);
	/* WORKING: handshakes and acks are ignored. */
	feed(&s, PKG_HANDSHAKE, "{\"sys\":{}}");
	feed(&s, PKG_HANDSHAKE_ACK, NULL);
	ASSERT_EQ(rec.n_sent, 2);
	session_stop(&s);
	ASSERT_UEQ(worker->stats.sessions, 0);
	teardown();
}

TEST(no_heartbeat_setting)
{
	struct session	 s;

	setup("heartbeat = 0");
	session_start(&s, 9);
	feed(&s, PKG_HANDSHAKE, "{\"sys\":{}}");
	ASSERT_STR_EQ(sent_text(0), "{\"code\":200,\"sys\":{}}");
	feed(&s, PKG_HANDSHAKE_ACK, NULL);
	/* No heartbeat after the ack, none answered, no deadline. */
	ASSERT_EQ(rec.n_sent, 1);
	feed(&s, PKG_HEARTBEAT, NULL);
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_UEQ(session_timer(&s, now_coarse_ms() + 1000000), 0);
	ASSERT_EQ(s.state, SESSION_WORKING);
	session_stop(&s);
	teardown();
}

TEST(bad_handshakes)
{
	struct session	 s;
	static const char *const bad[] = {
		"not json", "{\"nosys\":1}", "{\"sys\":3}", "[1,2]", "",
	};
	size_t		 i;

	setup("");
	for (i = 0; i < nitems(bad); i++) {
		memset(&rec, 0, sizeof rec);
		session_start(&s, 10 + i);
		ASSERT_EQ(feed(&s, PKG_HANDSHAKE, bad[i]), 1);
		ASSERT_EQ(rec.n_sent, 1);
		ASSERT_EQ(rec.sent[0].type, PKG_HANDSHAKE);
		ASSERT_STR_EQ(sent_text(0), "{\"code\":500}");
		ASSERT_EQ(rec.ended, 1);
		ASSERT_EQ(rec.how, SESSION_END_NORMAL);
		ASSERT_EQ(s.state, SESSION_CLOSED);
		session_stop(&s);
	}
	ASSERT_UEQ(worker->stats.handshake_errors, nitems(bad));
	ASSERT_UEQ(worker->stats.handshakes, 0);
	teardown();
}

TEST(requests_notifies_and_unknown_routes)
{
	struct session	 s;
	struct msg	 m;

	setup("");
	working(&s);
	ASSERT_EQ(feed_data(&s, MSG_REQUEST, 300, "test.h.echo",
	    "{\"a\":1}"), 0);
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(msg_decode(rec.sent[0].body, rec.sent[0].len, &m), 0);
	ASSERT_EQ(m.type, MSG_RESPONSE);
	ASSERT_UEQ(m.id, 300);
	ASSERT_MEM_EQ(m.body, m.body_len, "{\"a\":1}", 7);
	/* A notify runs the handler and is never answered. */
	ASSERT_EQ(feed_data(&s, MSG_NOTIFY, 0, "test.h.echo", "{}"), 0);
	ASSERT_EQ(handled, 2);
	ASSERT_EQ(rec.n_sent, 1);
	/* An empty response body goes out as {}. */
	feed_data(&s, MSG_REQUEST, 2, "test.h.echo", "");
	ASSERT_EQ(msg_decode(rec.sent[1].body, rec.sent[1].len, &m), 0);
	ASSERT_MEM_EQ(m.body, m.body_len, "{}", 2);
	/* Unknown route, or one without a dot: {"code":500}. */
	feed_data(&s, MSG_REQUEST, 3, "test.h.nope", "{}");
	ASSERT_EQ(msg_decode(rec.sent[2].body, rec.sent[2].len, &m), 0);
	ASSERT_UEQ(m.id, 3);
	ASSERT_MEM_EQ(m.body, m.body_len, "{\"code\":500}", 12);
	feed_data(&s, MSG_NOTIFY, 0, "nope", "{}");
	ASSERT_EQ(rec.n_sent, 3);
	ASSERT_UEQ(worker->stats.requests, 3);
	ASSERT_UEQ(worker->stats.notifies, 2);
	ASSERT_UEQ(worker->stats.responses, 3);
	ASSERT_EQ(rec.ended, 0);
	session_stop(&s);
	teardown();
}

TEST(heartbeats_and_timeout)
{
	struct session	 s;
	uint64_t	 now;

	setup("heartbeat = 2s\nheartbeat_timeout = 5s");
	working(&s);
	feed(&s, PKG_HEARTBEAT, NULL);
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(rec.sent[0].type, PKG_HEARTBEAT);
	now = s.last_hb_ms;
	ASSERT_UEQ(session_timer(&s, now + 1000), 4000);
	ASSERT_EQ(s.state, SESSION_WORKING);
	/* Data does not reset the deadline; a heartbeat does. */
	feed_data(&s, MSG_NOTIFY, 0, "test.h.echo", "{}");
	ASSERT_UEQ(s.last_hb_ms, now);
	ASSERT_UEQ(session_timer(&s, now + 5000), 0);
	ASSERT_EQ(s.state, SESSION_CLOSED);
	ASSERT_EQ(rec.ended, 1);
	ASSERT_EQ(rec.how, SESSION_END_NOW);
	ASSERT_STR_EQ(rec.why, "heartbeat timeout");
	ASSERT_UEQ(worker->stats.heartbeat_timeouts, 1);
	/* Closed: every package is refused, nothing is sent. */
	ASSERT_EQ(feed(&s, PKG_HEARTBEAT, NULL), 1);
	ASSERT_EQ(rec.n_sent, 1);
	session_stop(&s);
	teardown();
}

TEST(kicks)
{
	struct session	 s;

	setup("");
	working(&s);
	session_bind(&s, "alice");
	ASSERT_EQ(feed_data(&s, MSG_REQUEST, 1, "test.h.kick", "{}"), 1);
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(rec.sent[0].type, PKG_KICK);
	ASSERT_STR_EQ(sent_text(0), "{\"reason\":\"bye-bye\"}");
	ASSERT_EQ(rec.how, SESSION_END_NORMAL);
	ASSERT_UEQ(worker->stats.kicks, 1);
	/* Once ended, a second kick does nothing. */
	session_kick(&s, "again");
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(rec.ended, 1);
	session_stop(&s);
	/* Before the ack there is no kick package, only the end. */
	memset(&rec, 0, sizeof rec);
	session_start(&s, 50);
	feed(&s, PKG_HANDSHAKE, "{\"sys\":{}}");
	session_kick(&s, "early");
	ASSERT_EQ(rec.n_sent, 1);
	ASSERT_EQ(rec.ended, 1);
	ASSERT_UEQ(worker->stats.kicks, 1);
	session_stop(&s);
	teardown();
}

TEST(protocol_errors)
{
	struct session	 s;
	uint8_t		 buf[16];

	setup("");
	/* A KICK package (or any type outside 1-4) from a client. */
	working(&s);
	ASSERT_EQ(feed(&s, PKG_KICK, "{}"), 1);
	ASSERT_EQ(rec.how, SESSION_END_PROTOCOL);
	session_stop(&s);
	working(&s);
	ASSERT_EQ(feed(&s, 9, NULL), 1);
	ASSERT_EQ(rec.how, SESSION_END_PROTOCOL);
	session_stop(&s);
	/* A client may not send a response or a push. */
	working(&s);
	ASSERT_EQ(feed_data(&s, MSG_RESPONSE, 1, "", "{}"), 1);
	ASSERT_EQ(rec.how, SESSION_END_PROTOCOL);
	session_stop(&s);
	/* A truncated message: a request flag and nothing else. */
	working(&s);
	buf[0] = 0x00;
	ASSERT_EQ(session_package(&s, PKG_DATA, buf, 1), 1);
	ASSERT_EQ(rec.how, SESSION_END_PROTOCOL);
	session_stop(&s);
	/* A route code while there is no dictionary: dropped, kept. */
	working(&s);
	buf[0] = 0x01;
	buf[1] = 0x05;
	buf[2] = 0x00;
	buf[3] = 0x01;
	ASSERT_EQ(session_package(&s, PKG_DATA, buf, 4), 0);
	ASSERT_EQ(rec.ended, 0);
	ASSERT_EQ(rec.n_sent, 0);
	ASSERT_EQ(s.state, SESSION_WORKING);
	ASSERT_UEQ(worker->stats.protocol_errors, 5);
	session_stop(&s);
	teardown();
}

TEST(dictionary_handshakes)
{
	struct session	 s;
	struct msg	 m;
	uint8_t		 buf[16];
	const char	*reply;

	setup("use_dict = on");
	session_start(&s, 60);
	feed(&s, PKG_HANDSHAKE, "{\"sys\":{}}");
	reply = sent_text(0);
	ASSERT_STR_CONTAINS(reply, "\"dict\":{\"test.h.echo\":1,"
	    "\"test.h.kick\":2}");
	ASSERT_STR_CONTAINS(reply, "\"routeToCode\":{\"test.h.echo\":1,");
	ASSERT_STR_CONTAINS(reply, "\"codeToRoute\":{\"1\":\"test.h.echo\",");
	ASSERT_STR_CONTAINS(reply, "\"useDict\":true");
	session_stop(&s);
	/* A client that has our dictVersion gets only useDict. */
	memset(&rec, 0, sizeof rec);
	session_start(&s, 61);
	{
		char	 hs[256], *v = strstr(reply, "\"dictVersion\":\"");
		char	 version[64];

		ASSERT_TRUE(v != NULL);
		sscanf(v + 15, "%63[^\"]", version);
		snprintf(hs, sizeof hs, "{\"sys\":{\"dictVersion\":\"%s\"}}",
		    version);
		feed(&s, PKG_HANDSHAKE, hs);
	}
	ASSERT_STR_EQ(sent_text(0), "{\"code\":200,\"sys\":{\"heartbeat\":3,"
	    "\"useDict\":true}}");
	feed(&s, PKG_HANDSHAKE_ACK, NULL);
	/* Route code 1 is test.h.echo. */
	buf[0] = 0x01;
	buf[1] = 0x07;
	buf[2] = 0x00;
	buf[3] = 0x01;
	buf[4] = '{';
	buf[5] = '}';
	ASSERT_EQ(session_package(&s, PKG_DATA, buf, 6), 0);
	ASSERT_EQ(msg_decode(rec.sent[2].body, rec.sent[2].len, &m), 0);
	ASSERT_UEQ(m.id, 7);
	/* Pushes on a dictionary route go out compressed. */
	ASSERT_EQ(session_push(&s, "test.h.kick", "{}", 2), 0);
	ASSERT_EQ(msg_decode(rec.sent[3].body, rec.sent[3].len, &m), 0);
	ASSERT_EQ(m.type, MSG_PUSH);
	ASSERT_TRUE(m.compressed);
	ASSERT_UEQ(m.code, 2);
	session_stop(&s);
	teardown();
}

TEST(sessions_by_uid)
{
	struct session	 a, b;

	setup("");
	session_start(&a, 70);
	feed(&a, PKG_HANDSHAKE, "{\"sys\":{}}");
	feed(&a, PKG_HANDSHAKE_ACK, NULL);
	session_start(&b, 71);
	session_bind(&a, "bob");
	session_set(&a, "rid", json_string("room"));
	ASSERT_STR_EQ(json_string_value(session_get(&a, "rid")), "room");
	session_del(&a, "rid");
	ASSERT_TRUE(session_get(&a, "rid") == NULL);
	ASSERT_TRUE(session_find(70) == &a);
	ASSERT_TRUE(session_find(71) == &b);
	session_unbind(&a);
	ASSERT_TRUE(a.uid == NULL);
	session_stop(&a);
	session_stop(&b);
	teardown();
}

int
main(void)
{
	log_open('T', LOG_LEVEL_ERROR, NULL);
	RUN(inited_ignores_all_but_the_handshake);
	RUN(handshake_then_ack);
	RUN(no_heartbeat_setting);
	RUN(bad_handshakes);
	RUN(requests_notifies_and_unknown_routes);
	RUN(heartbeats_and_timeout);
	RUN(kicks);
	RUN(protocol_errors);
	RUN(dictionary_handshakes);
	RUN(sessions_by_uid);
	TEST_DONE();
}
