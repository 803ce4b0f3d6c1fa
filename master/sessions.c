/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The admin commands on client sessions, which live in the workers: each
 * is a request to the workers (child_request()) and is answered from
 * their structured answers: the session records of `show sessions`, the
 * counts of `kick` and `broadcast`. A session id's high half names the
 * one worker that holds it.
 */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/message.h"
#include "common/xmalloc.h"
#include "master/master.h"

static void
sessions_cancel(void *arg)
{
	ipc_request_cancel(arg);
}

/* Sends a request for <call> and answers it from <cb> later. */
static void
sessions_ask(struct admin_call *call, struct child *only, uint16_t type,
    const void *payload, size_t len, ipc_request_cb cb)
{
	struct ipc_request	*req;

	req = child_request(only, type, payload, len, cb, call);
	/* The callback runs from the loop: waiting is set before it. */
	admin_wait(call, sessions_cancel, req);
}

static void
sessions_listed(const struct ipc_answer *answers, size_t n, void *arg)
{
	struct ipc_session_view	 v;
	json_t			*list = json_array();
	size_t			 i, off;
	char			 id[24];
	int			 r;

	for (i = 0; i < n; i++) {
		if (answers[i].status != 0) {
			continue;
		}
		off = 0;
		while ((r = ipc_session_next(answers[i].data, answers[i].len,
		    &off, &v)) == 1) {
			snprintf(id, sizeof id, "%ju", (uintmax_t)v.id);
			json_array_append_new(list, json_pack("{s:s, s:o, s:i, "
			    "s:o, s:o, s:o, s:o, s:f, s:I, s:I}",
			    "id", id,
			    "uid", v.uid != NULL ? admin_json_string(v.uid,
			    v.uid_len) : json_null(),
			    "worker", v.worker,
			    "transport", admin_json_string(v.transport,
			    v.transport_len),
			    "xprt", admin_json_string(v.xprt, v.xprt_len),
			    "peer", admin_json_string(v.peer, v.peer_len),
			    "state", admin_json_string(v.state, v.state_len),
			    "age", (double)v.age_ms / 1000.0,
			    "bytes_in", (json_int_t)v.bytes_in,
			    "bytes_out", (json_int_t)v.bytes_out));
		}
		if (r < 0) {
			log_warn("show sessions: an answer of a worker does "
			    "not decode");
		}
	}
	admin_answer(arg, json_pack("{s:o}", "sessions", list));
}

/* show sessions: every connection on every worker. */
static void
sessions_show(struct admin_call *call)
{
	sessions_ask(call, NULL, IPC_SESSIONS, NULL, 0, sessions_listed);
}

/* The sum of the struct ipc_count answers; another answer counts 0. */
static uint64_t
sessions_count(const struct ipc_answer *answers, size_t n)
{
	struct ipc_count	 k;
	uint64_t		 sum = 0;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (answers[i].status == 0 && answers[i].len == sizeof k) {
			memcpy(&k, answers[i].data, sizeof k);
			sum += k.n;
		}
	}
	return sum;
}

static void
sessions_kicked(const struct ipc_answer *answers, size_t n, void *arg)
{
	uint64_t	 sum = sessions_count(answers, n);

	if (sum == 0) {
		admin_fail(arg, "no such session");
		return;
	}
	admin_answer(arg, json_sprintf("kicked %ju session%s",
	    (uintmax_t)sum, sum == 1 ? "" : "s"));
}

/*
 * Kicks session <id> (not 0) or every session of <uid> with the rest of
 * the line from argument 1 as the reason.
 */
static void
sessions_kick(struct admin_call *call, uint64_t id, const char *uid)
{
	struct child	*only = NULL;
	size_t		 len;
	char		*reason;
	void		*k;

	reason = admin_rest(call, 1);
	if (strlen(reason) >= sizeof ((struct ipc_kick *)0)->reason) {
		free(reason);
		admin_fail(call, "the reason is longer than 127 bytes");
		return;
	}
	if (id != 0 && (only = child_find_serial((uint32_t)(id >> 32))) ==
	    NULL) {
		free(reason);
		admin_fail(call, "no such session");
		return;
	}
	k = ipc_kick_encode(id, *reason != '\0' ? reason : "kick", uid,
	    uid != NULL ? strlen(uid) : 0, &len);
	free(reason);
	if (k == NULL) {
		admin_fail(call, "the uid is too long");
		return;
	}
	sessions_ask(call, only, IPC_KICK, k, len, sessions_kicked);
	free(k);
}

static void
sessions_kick_session(struct admin_call *call)
{
	uint64_t	 id;

	if (parse_uint(admin_arg(call, 0), &id) != 0 || id == 0) {
		admin_fail(call, "a session id is a number");
		return;
	}
	sessions_kick(call, id, NULL);
}

static void
sessions_kick_uid(struct admin_call *call)
{
	sessions_kick(call, 0, admin_arg(call, 0));
}

static void
sessions_pushed(const struct ipc_answer *answers, size_t n, void *arg)
{
	uint64_t	 sum = sessions_count(answers, n);

	admin_answer(arg, json_sprintf("pushed to %ju session%s",
	    (uintmax_t)sum, sum == 1 ? "" : "s"));
}

/* broadcast ROUTE JSON: a push to every working session. */
static void
sessions_broadcast(struct admin_call *call)
{
	json_error_t	 jerr;
	json_t		*j;
	const char	*route = admin_arg(call, 0);
	char		*body;
	void		*payload;
	size_t		 rlen = strlen(route), blen, len;

	if (rlen > MSG_ROUTE_MAX) {
		admin_fail(call, "the route is longer than 255 bytes");
		return;
	}
	body = admin_rest(call, 1);
	blen = strlen(body);
	if (blen > master->conf->max_package_size) {
		free(body);
		admin_fail(call, "the body is longer than max_package_size "
		    "(%ju bytes)", (uintmax_t)master->conf->max_package_size);
		return;
	}
	if ((j = json_loadb(body, blen, JSON_DECODE_ANY, &jerr)) == NULL) {
		free(body);
		admin_fail(call, "bad JSON: %s", jerr.text);
		return;
	}
	json_decref(j);
	payload = ipc_broadcast_encode(route, rlen, body, blen, &len);
	free(body);
	if (payload == NULL) {
		admin_fail(call, "the body is too large to relay");
		return;
	}
	sessions_ask(call, NULL, IPC_BROADCAST, payload, len,
	    sessions_pushed);
	free(payload);
}

static const struct admin_cmd sessions_cmds[] = {
	{ "show sessions", NULL, 0, "every client session on every worker",
	  sessions_show },
	{ "kick session", "ID [REASON]", 1, "kick one session with a Pomelo "
	  "kick and reason", sessions_kick_session },
	{ "kick uid", "UID [REASON]", 1, "kick every session bound to UID",
	  sessions_kick_uid },
	{ "broadcast", "ROUTE JSON", 2, "push JSON on ROUTE to every session",
	  sessions_broadcast },
};
ADMIN_COMMANDS(sessions_cmds)
