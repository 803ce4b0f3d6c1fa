/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The remotes a frontend serves to its backends (CLUSTER.md §6, checklist
 * §11.4-6): sys.sessionRemote (bind, unbind, push, pushAll, the session
 * lookups, the kicks) and sys.channelRemote (pushMessage, broadcast), with
 * the answers and error shapes of the cluster's framework. A call reaches
 * the worker that holds the session, since each worker is its own
 * frontend server. Anything else gets the dispatcher's "no such ..."
 * error, as a Node acceptor answers it.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsval.h"
#include "common/log.h"
#include "common/rpc-msg.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

typedef json_t *(*remote_fn)(const struct rpc_request *req, json_t *args);

struct remote_entry {
	const char	*service;
	const char	*method;
	remote_fn	 fn;
};

static enum flavour
remote_flavour(void)
{
	return (enum flavour)cluster_flavour();
}

/* The session of sid <v> (a number, or a string of one), or NULL. */
static struct session *
remote_session(const json_t *v)
{
	uint64_t	 sid;

	if (!jsval_key_uint(v, &sid)) {
		return NULL;
	}
	return session_find(sid);
}

/* String(<v>) of a uid argument; the caller frees it; NULL for none. */
static char *
remote_uid(const json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		return NULL;
	}
	return jsval_to_string(v, NULL);
}

static json_t *
remote_not_found(const json_t *sid)
{
	return rpc_msg_resp_session_error(remote_flavour(),
	    RPC_SESSION_NOT_FOUND, sid);
}

static json_t *
session_bind_remote(const struct rpc_request *req, json_t *args)
{
	json_t		*sid = json_array_get(args, 0), *cur, *resp;
	struct session	*s = remote_session(sid);
	char		*uid;

	if (s == NULL || s->state == SESSION_CLOSED) {
		return remote_not_found(sid);
	}
	if ((uid = remote_uid(json_array_get(args, 1))) == NULL) {
		return rpc_msg_resp_error("uid must not be empty");
	}
	if (s->uid != NULL && strcmp(s->uid, uid) != 0) {
		cur = json_string(s->uid);
		resp = rpc_msg_resp_session_error(remote_flavour(),
		    RPC_SESSION_BOUND_OTHER, cur);
		json_decref(cur);
		free(uid);
		return resp;
	}
	if (s->uid == NULL) {
		session_bind(s, uid);
	}
	free(uid);
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

static json_t *
session_unbind_remote(const struct rpc_request *req, json_t *args)
{
	json_t		*sid = json_array_get(args, 0), *cur, *resp;
	struct session	*s = remote_session(sid);
	char		*uid;

	if (s == NULL || s->state == SESSION_CLOSED) {
		return remote_not_found(sid);
	}
	uid = remote_uid(json_array_get(args, 1));
	if (s->uid == NULL || uid == NULL || strcmp(s->uid, uid) != 0) {
		cur = s->uid != NULL ? json_string(s->uid) : json_null();
		resp = rpc_msg_resp_session_error(remote_flavour(),
		    RPC_SESSION_NOT_BOUND, cur);
		json_decref(cur);
		free(uid);
		return resp;
	}
	free(uid);
	session_unbind(s);
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

static json_t *
session_push_remote(const struct rpc_request *req, json_t *args)
{
	json_t		*sid = json_array_get(args, 0), *value;
	struct session	*s = remote_session(sid);
	const char	*key;
	char		*text = NULL;

	if (s == NULL || s->state == SESSION_CLOSED) {
		return remote_not_found(sid);
	}
	if (!jsval_cstr(json_array_get(args, 1), &key)) {
		/* settings[key] with a non-string key: String(key). */
		text = jsval_to_string(json_array_get(args, 1), NULL);
		key = text;
	}
	value = json_array_get(args, 2);
	if (value == NULL) {
		/* undefined: the setting is removed from the JSON export. */
		session_del(s, key);
	} else {
		session_set(s, key, json_incref(value));
	}
	free(text);
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

static json_t *
session_push_all_remote(const struct rpc_request *req, json_t *args)
{
	json_t		*sid = json_array_get(args, 0), *settings, *v;
	struct session	*s = remote_session(sid);
	const char	*key;

	if (s == NULL || s->state == SESSION_CLOSED) {
		return remote_not_found(sid);
	}
	/* Merged: keys not sent are kept (§6.1). */
	settings = json_array_get(args, 1);
	json_object_foreach(settings, key, v) {
		session_set(s, key, json_incref(v));
	}
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

static json_t *
session_by_sid_remote(const struct rpc_request *req, json_t *args)
{
	struct session	*s = remote_session(json_array_get(args, 0));

	if (s == NULL || s->state == SESSION_CLOSED) {
		return rpc_msg_resp_ok(remote_flavour(), NULL);
	}
	return rpc_msg_resp_ok(remote_flavour(), forward_export(s));
}

static json_t *
session_by_uid_remote(const struct rpc_request *req, json_t *args)
{
	struct session	*s;
	json_t		*list;
	char		*uid;

	if ((uid = remote_uid(json_array_get(args, 0))) == NULL) {
		return rpc_msg_resp_ok(remote_flavour(), NULL);
	}
	list = json_array();
	for (s = session_by_uid(uid); s != NULL; s = s->uid_next) {
		if (s->state != SESSION_CLOSED) {
			json_array_append_new(list, forward_export(s));
		}
	}
	free(uid);
	if (json_array_size(list) == 0) {
		json_decref(list);
		return rpc_msg_resp_ok(remote_flavour(), NULL);
	}
	return rpc_msg_resp_ok(remote_flavour(), list);
}

/* The kick reason: the argument's text, or Pomelo's default "kick". */
static char *
remote_reason(const json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		return xstrdup("kick");
	}
	return jsval_to_string(v, NULL);
}

static json_t *
session_kick_sid_remote(const struct rpc_request *req, json_t *args)
{
	struct session	*s = remote_session(json_array_get(args, 0));
	char		*reason;

	if (s != NULL) {
		reason = remote_reason(json_array_get(args, 1));
		session_kick(s, reason);
		free(reason);
	}
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

static json_t *
session_kick_uid_remote(const struct rpc_request *req, json_t *args)
{
	char	*uid, *reason;

	if ((uid = remote_uid(json_array_get(args, 0))) != NULL) {
		reason = remote_reason(json_array_get(args, 1));
		session_kick_uid(uid, reason);
		free(reason);
		free(uid);
	}
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

/* The route argument of a push, as a C string; NULL when unusable. */
static const char *
remote_route(json_t *args)
{
	const char	*route;

	if (!jsval_cstr(json_array_get(args, 0), &route) ||
	    strlen(route) > MSG_ROUTE_MAX) {
		return NULL;
	}
	return route;
}

static json_t *
channel_push_remote(const struct rpc_request *req, json_t *args)
{
	json_t		*msg = json_array_get(args, 1), *uids, *v, *fails;
	struct session	*s;
	const char	*route;
	char		*body, *uid;
	size_t		 len, i;
	bool		 found;

	if (!jsval_truthy(msg)) {
		return rpc_msg_resp_error("can not send empty message.");
	}
	if ((route = remote_route(args)) == NULL) {
		return rpc_msg_resp_error("bad route");
	}
	body = jsval_dump(msg, &len);
	uids = json_array_get(args, 2);
	fails = json_array();
	json_array_foreach(uids, i, v) {
		uid = jsval_to_string(v, NULL);
		found = false;
		for (s = session_by_uid(uid); s != NULL; s = s->uid_next) {
			if (s->state == SESSION_WORKING) {
				session_push(s, route, body, len);
				found = true;
			}
		}
		if (!found) {
			json_array_append(fails, v);
		}
		free(uid);
	}
	free(body);
	return rpc_msg_resp_ok(remote_flavour(), fails);
}

static json_t *
channel_broadcast_remote(const struct rpc_request *req, json_t *args)
{
	json_t		*msg = json_array_get(args, 1), *opts;
	struct conn	*c;
	const char	*route;
	char		*body;
	size_t		 len;
	bool		 binded;

	if (!jsval_truthy(msg)) {
		return rpc_msg_resp_error("can not send empty message.");
	}
	if ((route = remote_route(args)) == NULL) {
		return rpc_msg_resp_error("bad route");
	}
	opts = json_array_get(args, 2);
	binded = jsval_truthy(json_object_get(opts, "binded")) ||
	    jsval_truthy(json_object_get(json_object_get(opts,
	    "userOptions"), "binded"));
	body = jsval_dump(msg, &len);
	/* Once per session, not once per session per uid as Pomelo does. */
	TAILQ_FOREACH(c, &worker->conns, entry) {
		if (c->session.state == SESSION_WORKING &&
		    (!binded || c->session.uid != NULL)) {
			session_push(&c->session, route, body, len);
		}
	}
	free(body);
	return rpc_msg_resp_ok(remote_flavour(), NULL);
}

static const struct remote_entry remote_sys[] = {
	{ "sessionRemote", "bind", session_bind_remote },
	{ "sessionRemote", "unbind", session_unbind_remote },
	{ "sessionRemote", "push", session_push_remote },
	{ "sessionRemote", "pushAll", session_push_all_remote },
	{ "sessionRemote", "getBackendSessionBySid", session_by_sid_remote },
	{ "sessionRemote", "getBackendSessionsByUid", session_by_uid_remote },
	{ "sessionRemote", "kickBySid", session_kick_sid_remote },
	{ "sessionRemote", "kickByUid", session_kick_uid_remote },
	{ "channelRemote", "pushMessage", channel_push_remote },
	{ "channelRemote", "broadcast", channel_broadcast_remote },
};

/* Serves one request; returns its resp array (a new reference). */
json_t *
remote_dispatch(const struct rpc_request *req)
{
	json_t	*args = req->args != NULL ? req->args : json_array(), *resp;
	size_t	 i;
	bool	 service = false;

	if (req->ns == NULL || strcmp(req->ns, "sys") != 0) {
		/* No user remotes run here; say so as Node's acceptor does. */
		if (req->ns != NULL && strcmp(req->ns, "user") == 0) {
			resp = rpc_msg_resp_no_such(req, RPC_NO_SUCH_SERVICE);
		} else {
			resp = rpc_msg_resp_no_such(req, RPC_NO_SUCH_NAMESPACE);
		}
		goto out;
	}
	for (i = 0; i < nitems(remote_sys); i++) {
		if (req->service == NULL ||
		    strcmp(remote_sys[i].service, req->service) != 0) {
			continue;
		}
		service = true;
		if (req->method != NULL &&
		    strcmp(remote_sys[i].method, req->method) == 0) {
			resp = remote_sys[i].fn(req, args);
			goto out;
		}
	}
	resp = rpc_msg_resp_no_such(req, service ? RPC_NO_SUCH_METHOD :
	    RPC_NO_SUCH_SERVICE);
out:
	if (args != req->args) {
		json_decref(args);
	}
	return resp;
}
