/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Client messages for the backends of the cluster (CLUSTER.md §5, §7):
 * a request or notify whose route's server type is not ours goes to a
 * server of that type, chosen as the cluster's own framework chooses it,
 * as sys.msgRemote.forwardMessage with the exported session; the answer
 * goes back under the request's id, mapped as a Node connector maps it.
 * Routes of our own type that no built-in app has go to the [cluster]
 * own_routes type. And when a bound session closes, the session_closed
 * remote hears of it.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include "common/jsval.h"
#include "common/log.h"
#include "common/rpc-msg.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

static const char	 forward_error[] = "{\"code\":500}";

/* A forwarded request waiting for its answer. */
struct forward_ctx {
	uint64_t	 sid;
	uint32_t	 id;		/* the client's request id */
	bool		 notify;
};

/* The session export {id, frontendId, uid, settings} (a new reference). */
json_t *
forward_export(const struct session *s)
{
	json_t	*uid, *o;

	uid = s->uid != NULL ? json_string(s->uid) : json_null();
	o = rpc_msg_session_export(s->id, cluster_self_id(), uid,
	    s->settings);
	json_decref(uid);
	return o;
}

static void
forward_reply(void *arg, struct rpc_answer *a, const char *why)
{
	struct forward_ctx	*ctx = arg;
	struct session		*s;
	const char		*text;
	json_t			*body;
	size_t			 len;
	bool			 failed;

	if (ctx->notify) {
		goto out;
	}
	s = session_find(ctx->sid);
	if (s == NULL || s->state != SESSION_WORKING) {
		/* The client left: the answer is dropped (§5.3). */
		goto out;
	}
	if (a == NULL) {
		worker->stats.cluster_forward_errors++;
		session_log(s, LOG_LEVEL_INFO, "forwarded request %u failed: "
		    "%s", ctx->id, why);
		session_respond(s, ctx->id, forward_error,
		    sizeof forward_error - 1);
		goto out;
	}
	if (a->resp == NULL &&
	    rpc_msg_forward_text(a->text, a->len, &text, &len)) {
		/*
		 * The backend's own text of the body: what a Node connector
		 * sends, JSON.stringify of what it read.
		 */
		session_respond(s, ctx->id, text, len);
		goto out;
	}
	body = rpc_msg_forward_result(rpc_answer_resp(a), &failed);
	if (failed) {
		worker->stats.cluster_forward_errors++;
	}
	session_respond_json(s, ctx->id, body);
	json_decref(body);
out:
	free(ctx);
}

/*
 * Forwards <r> of <s> when its route belongs to a backend: returns true
 * when it was taken care of (sent, or answered {"code":500} because no
 * server of the type can take it), false when it is not a backend's
 * route (the router then answers as for an unknown route).
 */
bool
forward_request(struct session *s, struct request *r)
{
	const struct conf	*conf = worker->conf;
	struct rpc_forward	 f;
	struct forward_ctx	*ctx;
	struct cluster_server	*srv;
	const char		*dot, *type = r->route;
	char			*route = NULL;
	size_t			 type_len;

	if (!cluster_enabled() ||
	    (dot = memchr(r->route, '.', r->route_len)) == NULL) {
		return false;
	}
	type_len = (size_t)(dot - r->route);
	if (type_len == strlen(conf->cluster_server_type) &&
	    memcmp(r->route, conf->cluster_server_type, type_len) == 0) {
		if (*conf->cluster_own_routes == '\0') {
			return false;
		}
		/*
		 * Our own type's game code now runs on the own_routes type,
		 * whose servers look handlers up by their own type.
		 */
		xasprintf(&route, "%s%.*s", conf->cluster_own_routes,
		    (int)(r->route_len - type_len), dot);
		type = conf->cluster_own_routes;
		type_len = strlen(type);
	}
	srv = cluster_pick(type, type_len, s);
	if (srv == NULL) {
		worker->stats.cluster_forward_errors++;
		session_log(s, LOG_LEVEL_INFO, "no server of type %.*s for "
		    "route %.*s", (int)type_len, type, (int)r->route_len,
		    r->route);
		if (r->type == MSG_REQUEST) {
			session_respond(s, r->id, forward_error,
			    sizeof forward_error - 1);
		}
		free(route);
		return true;
	}
	memset(&f, 0, sizeof f);
	f.msg_id = r->type == MSG_REQUEST ? r->id : 0;
	f.notify = r->type == MSG_NOTIFY;
	f.compress_route = r->compressed;
	f.route = route != NULL ? route : r->route;
	f.route_len = route != NULL ? strlen(route) : r->route_len;
	if (r->body == NULL && jscan_plain((const char *)r->raw, r->raw_len)) {
		/* The body goes as the client wrote it, read as it reads. */
		f.body = (const char *)r->raw;
		f.body_len = r->raw_len;
	} else {
		f.body_json = request_body(r);
	}
	f.sid = s->id;
	f.frontend_id = cluster_self_id();
	f.uid = s->uid != NULL ? json_string(s->uid) : NULL;
	f.settings = s->settings;
	ctx = xcalloc(1, sizeof *ctx);
	ctx->sid = s->id;
	ctx->id = r->id;
	ctx->notify = r->type == MSG_NOTIFY;
	worker->stats.cluster_forwarded++;
	if (rpc_call_forward(srv, &f, forward_reply, ctx) != 0) {
		forward_reply(ctx, NULL, "cannot reach the server");
	}
	json_decref((json_t *)f.uid);
	free(route);
	return true;
}

static void
forward_hook_reply(void *arg, struct rpc_answer *a, const char *why)
{
	json_t	*resp;
	char	*err;

	if (a == NULL) {
		log_info("cluster: the session_closed remote failed: %s", why);
		return;
	}
	resp = rpc_answer_resp(a);
	if (json_array_size(resp) > 0 &&
	    jsval_truthy(json_array_get(resp, 0))) {
		err = rpc_msg_error_text(json_array_get(resp, 0));
		log_info("cluster: the session_closed remote answered an "
		    "error: %s", err);
		free(err);
	}
}

/*
 * Calls the [cluster] session_closed remote (TYPE.REMOTE.METHOD) with
 * <export> on the server of TYPE that the [route] of <s> picks; the answer
 * is only logged when it is an error.
 */
static void
forward_hook(const struct session *s, json_t *export)
{
	const char		*hook = worker->conf->cluster_session_closed;
	const char		*a, *b;
	struct cluster_server	*srv;
	char			*service;
	json_t			*args;

	a = strchr(hook, '.');
	b = strchr(a + 1, '.');
	if ((srv = cluster_pick(hook, (size_t)(a - hook), s)) == NULL) {
		log_info("cluster: no server of type %.*s for the "
		    "session_closed remote of uid %s", (int)(a - hook), hook,
		    s->uid);
		return;
	}
	service = xstrndup(a + 1, (size_t)(b - a - 1));
	args = json_pack("[O]", export);
	worker->stats.cluster_hooks++;
	if (rpc_call(srv, "user", service, b + 1, args, forward_hook_reply,
	    NULL) != 0) {
		log_info("cluster: cannot reach %s for the session_closed "
		    "remote", srv->id);
	}
	json_decref(args);
	free(service);
}

static bool
forward_hooks_on(void)
{
	return cluster_enabled() &&
	    *worker->conf->cluster_session_closed != '\0';
}

/* A bound session closes: the session_closed remote hears of it. */
void
forward_session_closed(struct session *s)
{
	json_t	*export;
	uint64_t id = s->id;

	if (!forward_hooks_on() || s->uid == NULL) {
		return;
	}
	export = forward_export(s);
	forward_hook(s, export);
	json_decref(export);
	if (s->reported) {
		/* The hook ran here: the master need not run it again. */
		s->reported = false;
		ipc_chan_send(worker->chan, IPC_CLUSTER_UNBOUND, 0, &id,
		    sizeof id, -1);
	}
}

/*
 * Keeps the master's copy of <s>'s export up to date while it is bound,
 * so that if this worker dies, another one runs the session_closed hook
 * for it (CLUSTER.md §9: a Node frontend that dies leaves ghosts).
 */
void
forward_report(struct session *s)
{
	json_t	*export;
	char	*text;
	uint64_t id = s->id;

	if (!forward_hooks_on() || worker->chan == NULL) {
		return;
	}
	if (s->uid != NULL) {
		export = forward_export(s);
		text = json_dumps(export, JSON_COMPACT);
		json_decref(export);
		ipc_chan_send(worker->chan, IPC_CLUSTER_BOUND, 0, text,
		    strlen(text), -1);
		free(text);
		s->reported = true;
	} else if (s->reported) {
		ipc_chan_send(worker->chan, IPC_CLUSTER_UNBOUND, 0, &id,
		    sizeof id, -1);
		s->reported = false;
	}
}

/*
 * Runs the session_closed hook for each export of <exports>: the bound
 * sessions of a worker that died, handed to us by the master.
 */
void
forward_orphans(json_t *exports)
{
	struct session	 s;
	json_t		*e;
	size_t		 i;
	uint64_t	 id;

	if (!forward_hooks_on()) {
		return;
	}
	json_array_foreach(exports, i, e) {
		memset(&s, 0, sizeof s);
		if (!jsval_key_uint(json_object_get(e, "id"), &id) ||
		    !jsval_cstr(json_object_get(e, "uid"),
		    (const char **)&s.uid)) {
			continue;
		}
		s.id = id;
		s.settings = json_object_get(e, "settings");
		if (!json_is_object(s.settings)) {
			s.settings = NULL;
		}
		forward_hook(&s, e);
	}
	log_info("cluster: ran the session_closed remote for %zu session%s "
	    "of a worker that died", json_array_size(exports),
	    json_array_size(exports) == 1 ? "" : "s");
}
