/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Pomelo's HelloWorld connector (template/game-server, PROTOCOL.md §10.1):
 * connector.entryHandler.entry answers "game server is ok.", and publish
 * and subscribe answer as the template's MQTT helpers do. With the three
 * routes the dictionary numbers them 1, 2, 3, as Pomelo does, so a client
 * with Pomelo's cached dictVersion keeps it.
 */

#include "config.h"

#include "worker/worker-int.h"

#define HELLO_ENTRY	"{\"code\":200,\"msg\":\"game server is ok.\"}"
#define HELLO_PUBLISH	"{\"topic\":\"publish\",\"payload\":" \
	"\"{\\\"code\\\":200,\\\"msg\\\":\\\"publish message is ok.\\\"}\"}"
#define HELLO_SUBSCRIBE	"{\"topic\":\"subscribe\",\"payload\":" \
	"\"{\\\"code\\\":200,\\\"msg\\\":\\\"subscribe message is ok.\\\"}\"}"

static void
hello_reply(struct session *s, struct request *r, const char *body,
    size_t len)
{
	if (r->type == MSG_REQUEST) {
		session_respond(s, r->id, body, len);
	}
}

static void
hello_entry(struct session *s, struct request *r)
{
	hello_reply(s, r, HELLO_ENTRY, sizeof HELLO_ENTRY - 1);
}

static void
hello_publish(struct session *s, struct request *r)
{
	hello_reply(s, r, HELLO_PUBLISH, sizeof HELLO_PUBLISH - 1);
}

static void
hello_subscribe(struct session *s, struct request *r)
{
	hello_reply(s, r, HELLO_SUBSCRIBE, sizeof HELLO_SUBSCRIBE - 1);
}

static const struct route_entry hello_routes[] = {
	{ "connector.entryHandler.entry", hello_entry },
	{ "connector.entryHandler.publish", hello_publish },
	{ "connector.entryHandler.subscribe", hello_subscribe },
};

void
app_hello_init(void)
{
	if (worker->conf->app_hello) {
		router_add(hello_routes, nitems(hello_routes));
	}
}
