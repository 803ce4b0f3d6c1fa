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
		snprintf(id, sizeof id, "%ju", (uintmax_t)c->id);
		j = json_pack("{s:s, s:o, s:i, s:s, s:s, s:s, s:f, s:I, s:I}",
		    "id", id,
		    "uid", c->uid != NULL ? json_string(c->uid) : json_null(),
		    "worker", worker->slot,
		    "transport", c->transport == CONN_TRANSPORT_WS ? "ws" :
		    c->transport == CONN_TRANSPORT_TCP ? "tcp" : "unknown",
		    "peer", conn_peer(c, peer, sizeof peer),
		    "state", conn_state_name(c->state),
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
