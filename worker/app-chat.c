/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The chat demo of chatofpomelo-websocket (PROTOCOL.md §10.2), served by
 * one process instead of gate, connector and chat servers:
 *
 *   gate.gateHandler.queryEntry  {"uid"}        -> this server's host, port
 *   connector.entryHandler.enter {"username","rid"} -> {"users":[...]}
 *   chat.chatHandler.send        {"content","target"} -> pushes onChat
 *
 * A user is the uid "username*rid" in channel rid. Entering pushes onAdd
 * to the others first; leaving (the session closing, anywhere) pushes
 * onLeave, which the master sends when the member goes (channel.c).
 */

#include "config.h"

#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define CHAT_ERROR	"{\"code\":500}"
#define CHAT_DUPLICATE	"{\"code\":500,\"error\":true}"

struct chat_enter {
	uint32_t	 id;		/* the request id */
	char		*username;
	char		*rid;
};

static void
chat_respond_json(struct session *s, uint32_t id, json_t *j)
{
	char	*text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	session_respond(s, id, text, strlen(text));
	free(text);
}

/* The request body as a JSON object (a new reference); else {}. */
static json_t *
chat_body(struct request *r)
{
	json_t	*j = request_body(r);

	return json_is_object(j) ? json_incref(j) : json_object();
}

static const char *
chat_str(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) && json_string_length(v) > 0 ?
	    json_string_value(v) : NULL;
}

static void
chat_query_entry(struct session *s, struct request *r)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	json_t			*body;
	char			 addr[128], *colon;

	if (r->type != MSG_REQUEST) {
		return;
	}
	body = chat_body(r);
	if (chat_str(body, "uid") == NULL ||
	    session_io->sockname(s, &ss, &sl) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		json_decref(body);
		session_respond(s, r->id, CHAT_ERROR, sizeof CHAT_ERROR - 1);
		return;
	}
	json_decref(body);
	/* The address the client reached, so it connects back the same way. */
	addr_format((struct sockaddr *)&ss, sl, addr, sizeof addr);
	colon = strrchr(addr, ':');
	*colon = '\0';
	if (addr[0] == '[') {
		memmove(addr, addr + 1, strlen(addr));
		addr[strlen(addr) - 1] = '\0';
	}
	chat_respond_json(s, r->id, json_pack("{s:i, s:s, s:i}", "code", 200,
	    "host", addr, "port", atoi(colon + 1)));
}

static char *
chat_user_json(const char *route, const char *username)
{
	json_t	*j;
	char	*s;

	j = json_pack("{s:s, s:s}", "route", route, "user", username);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void
chat_entered(struct session *s, bool ok, json_t *reply, void *arg)
{
	struct chat_enter	*e = arg;
	json_t			*users, *uid;
	const char		*name, *star;
	char			*onadd;
	size_t			 i;

	if (s == NULL) {
		goto out;
	}
	if (!ok) {
		/* Not entered: the session is nobody again. */
		session_unbind(s);
		session_del(s, "rid");
		session_respond(s, e->id, CHAT_DUPLICATE,
		    sizeof CHAT_DUPLICATE - 1);
		goto out;
	}
	/* The others hear of the newcomer, who is not told of itself. */
	onadd = chat_user_json("onAdd", e->username);
	channel_push(e->rid, "onAdd", NULL, s->id, onadd, strlen(onadd));
	free(onadd);
	users = json_array();
	json_array_foreach(json_object_get(reply, "uids"), i, uid) {
		name = json_string_value(uid);
		if (name == NULL) {
			continue;
		}
		star = strrchr(name, '*');
		json_array_append_new(users, star != NULL ?
		    json_stringn(name, (size_t)(star - name)) :
		    json_string(name));
	}
	chat_respond_json(s, e->id, json_pack("{s:o}", "users", users));
out:
	free(e->username);
	free(e->rid);
	free(e);
}

static void
chat_enter(struct session *s, struct request *r)
{
	struct chat_enter	*e;
	const char		*username, *rid;
	json_t			*body;
	char			*uid, *onleave;
	int			 err;

	if (r->type != MSG_REQUEST) {
		return;
	}
	body = chat_body(r);
	username = chat_str(body, "username");
	rid = chat_str(body, "rid");
	if (username == NULL || rid == NULL || strchr(username, '*') !=
	    NULL || s->uid != NULL) {
		json_decref(body);
		session_respond(s, r->id, CHAT_DUPLICATE,
		    sizeof CHAT_DUPLICATE - 1);
		return;
	}
	e = xcalloc(1, sizeof *e);
	e->id = r->id;
	e->username = xstrdup(username);
	e->rid = xstrdup(rid);
	json_decref(body);
	xasprintf(&uid, "%s*%s", e->username, e->rid);
	onleave = chat_user_json("onLeave", e->username);
	/* Bound now: a second enter on this session is refused at once. */
	session_bind(s, uid);
	session_set(s, "rid", json_string(e->rid));
	err = channel_join(s, e->rid, uid, true, "onLeave", onleave,
	    chat_entered, e);
	free(onleave);
	free(uid);
	if (err != 0) {
		session_unbind(s);
		session_del(s, "rid");
		session_respond(s, r->id, CHAT_ERROR, sizeof CHAT_ERROR - 1);
		free(e->username);
		free(e->rid);
		free(e);
	}
}

static void
chat_send(struct session *s, struct request *r)
{
	const char	*rid, *content, *target, *star;
	json_t		*body, *param;
	char		*text, *username, *tuid = NULL;

	rid = json_string_value(session_get(s, "rid"));
	if (s->uid == NULL || rid == NULL) {
		if (r->type == MSG_REQUEST) {
			session_respond(s, r->id, CHAT_ERROR,
			    sizeof CHAT_ERROR - 1);
		}
		return;
	}
	body = chat_body(r);
	content = json_string_value(json_object_get(body, "content"));
	target = json_string_value(json_object_get(body, "target"));
	star = strrchr(s->uid, '*');
	username = xstrndup(s->uid, star != NULL ? (size_t)(star - s->uid) :
	    strlen(s->uid));
	param = json_pack("{s:s, s:s, s:s}", "msg", content ? content : "",
	    "from", username, "target", target ? target : "*");
	text = json_dumps(param, JSON_COMPACT);
	json_decref(param);
	if (target != NULL && strcmp(target, "*") != 0) {
		xasprintf(&tuid, "%s*%s", target, rid);
	}
	channel_push(rid, "onChat", tuid, 0, text, strlen(text));
	free(tuid);
	free(text);
	free(username);
	json_decref(body);
	if (r->type == MSG_REQUEST) {
		/* Pomelo answers {route: msg.route}, which is undefined: {}. */
		session_respond(s, r->id, "{}", 2);
	}
}

static const struct route_entry chat_routes[] = {
	{ "gate.gateHandler.queryEntry", chat_query_entry },
	{ "connector.entryHandler.enter", chat_enter },
	{ "chat.chatHandler.send", chat_send },
};

void
app_chat_init(void)
{
	if (worker->conf->app_chat) {
		router_add(chat_routes, nitems(chat_routes));
	}
}
