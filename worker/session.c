/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Sessions as the admin socket and the apps see them: lookup by id, uid
 * binding, kicks by uid, and the session list. A session id is the
 * worker's serial (unique per master) in the high 32 bits and a counter
 * in the low ones, so the master routes "kick session ID" to the one
 * worker that has it.
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

static struct hmap	 by_id;		/* 8-byte id -> conn */

void
session_added(struct conn *c)
{
	hmap_put(&by_id, (const char *)&c->id, sizeof c->id, c);
}

void
session_removed(struct conn *c)
{
	hmap_del(&by_id, (const char *)&c->id, sizeof c->id);
}

void
session_finish(void)
{
	hmap_finish(&by_id);
}

struct conn *
session_find(uint64_t id)
{
	return hmap_get(&by_id, (const char *)&id, sizeof id);
}

/* Sets setting <key> of <c> to <value> (a reference is taken). */
void
session_set(struct conn *c, const char *key, json_t *value)
{
	if (c->settings == NULL) {
		c->settings = json_object();
	}
	json_object_set(c->settings, key, value);
}

/* Setting <key> of <c> (borrowed), or NULL. */
json_t *
session_get(const struct conn *c, const char *key)
{
	return c->settings != NULL ? json_object_get(c->settings, key) : NULL;
}

/* Binds <uid> to <c> (several sessions may share a uid). */
int
session_bind(struct conn *c, const char *uid)
{
	free(c->uid);
	c->uid = xstrdup(uid);
	return 0;
}

unsigned
session_kick_uid(const char *uid, const char *reason)
{
	struct conn	*c, *tc;
	unsigned	 n = 0;

	TAILQ_FOREACH_SAFE(c, &worker->conns, entry, tc) {
		if (c->uid != NULL && strcmp(c->uid, uid) == 0 &&
		    c->state != CONN_CLOSING && c->state != CONN_DEAD) {
			conn_kick(c, reason);
			n++;
		}
	}
	return n;
}

/* Kicks <uid> on every worker: here at once, elsewhere via the master. */
void
session_kick_uid_all(const char *uid, const char *reason)
{
	size_t	 len;
	void	*k;

	session_kick_uid(uid, reason);
	if ((k = ipc_kick_encode(0, reason, uid, strlen(uid), &len)) ==
	    NULL) {
		return;
	}
	ipc_chan_send(worker->chan, IPC_KICK_ALL, 0, k, len, -1);
	free(k);
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
		v.id = c->id;
		v.age_ms = now - c->created_ms;
		v.bytes_in = c->bytes_in;
		v.bytes_out = c->bytes_out;
		v.worker = worker->slot;
		v.uid = c->uid;
		v.uid_len = c->uid != NULL ? strlen(c->uid) : 0;
		v.transport = c->transport == CONN_TRANSPORT_WS ? "ws" :
		    c->transport == CONN_TRANSPORT_TCP ? "tcp" : "unknown";
		v.transport_len = strlen(v.transport);
		v.state = conn_state_name(c->state);
		v.state_len = strlen(v.state);
		v.peer = conn_peer(c, peer, sizeof peer);
		v.peer_len = strlen(v.peer);
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
