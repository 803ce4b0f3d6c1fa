/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The hub: channels across workers (Pomelo's channelService). The master
 * holds every channel's members: a join is checked here (one place, so
 * two workers cannot both admit the same uid), and a push is forwarded to
 * each worker that has a member, which delivers to its own sessions. A
 * member may carry a "leave push" that the master sends to the rest of
 * the channel when the member's session closes or its worker dies.
 * Per-sender order holds: one worker's messages travel one FIFO channel.
 * A worker speaks only for its own sessions (an id's high half is its
 * serial), so nothing it sends can leave members the master would never
 * clean up. `show channels` is here.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hmap.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"

struct mchannel;
struct msession;

struct mmember {
	TAILQ_ENTRY(mmember)	 in_channel;
	TAILQ_ENTRY(mmember)	 in_session;
	struct mchannel		*ch;
	struct msession		*s;
	char			*uid;
	char			*leave_route;	/* NULL: no leave push */
	char			*leave_body;
};

/* How many members of a channel a worker holds. */
struct mcount {
	uint32_t		 serial;
	uint32_t		 n;
};

struct mchannel {
	char			*name;
	size_t			 len;
	TAILQ_HEAD(, mmember)	 members;
	size_t			 n;
	struct mcount		*per;		/* workers with members */
	size_t			 n_per;
};

struct msession {
	uint64_t		 id;
	uint32_t		 serial;	/* of its worker */
	TAILQ_HEAD(, mmember)	 members;
};

/* Zero is an empty map (hmap_init), so they need no set-up. */
static struct hmap	 channels;	/* name -> mchannel */
static struct hmap	 sessions;	/* 8-byte id -> msession */

static struct msession *
hub_session(uint64_t id, bool create)
{
	struct msession	*s;

	s = hmap_get(&sessions, (const char *)&id, sizeof id);
	if (s == NULL && create) {
		s = xcalloc(1, sizeof *s);
		s->id = id;
		s->serial = (uint32_t)(id >> 32);
		TAILQ_INIT(&s->members);
		hmap_put(&sessions, (const char *)&id, sizeof id, s);
	}
	return s;
}

/* Counts a member of <ch> on worker <serial> in or out (<delta>). */
static void
hub_count(struct mchannel *ch, uint32_t serial, int delta)
{
	size_t	 i;

	for (i = 0; i < ch->n_per && ch->per[i].serial != serial; i++) {
		;
	}
	if (i == ch->n_per) {
		if (delta < 0) {
			return;
		}
		ch->per = xreallocarray(ch->per, ch->n_per + 1,
		    sizeof *ch->per);
		ch->per[ch->n_per].serial = serial;
		ch->per[ch->n_per].n = 0;
		ch->n_per++;
	}
	ch->per[i].n += (uint32_t)delta;
	if (ch->per[i].n == 0) {
		ch->per[i] = ch->per[--ch->n_per];
	}
}

static bool
hub_has_members(const struct mchannel *ch, uint32_t serial)
{
	size_t	 i;

	for (i = 0; i < ch->n_per; i++) {
		if (ch->per[i].serial == serial) {
			return true;
		}
	}
	return false;
}

/*
 * Sends a push payload to the workers that have members of <ch>, but
 * <from>; a worker filters by uid itself, so this is one look per worker.
 */
static void
hub_forward(struct mchannel *ch, uint32_t from, const void *payload,
    size_t len)
{
	struct child	*c;

	TAILQ_FOREACH(c, &master->children, entry) {
		if (c->serial != from && c->state != CHILD_EXITING &&
		    hub_has_members(ch, c->serial)) {
			ipc_chan_send(c->chan, IPC_CH_DELIVER, 0, payload, len,
			    -1);
		}
	}
}

/* A member's leave push, to the rest of the channel. */
static void
hub_leave_push(struct mchannel *ch, const struct mmember *m)
{
	struct ipc_push	 push;
	size_t		 len;
	void		*p;

	memset(&push, 0, sizeof push);
	push.channel = ch->name;
	push.channel_len = ch->len;
	push.route = m->leave_route;
	push.route_len = strlen(m->leave_route);
	push.body = m->leave_body;
	push.body_len = strlen(m->leave_body);
	if ((p = ipc_push_encode(&push, &len)) == NULL) {
		log_warn("channel %s: leave push too large to relay",
		    ch->name);
		return;
	}
	hub_forward(ch, 0, p, len);
	free(p);
}

/* <m> leaves its channel, with its leave push to the members left. */
static void
hub_member_free(struct mmember *m)
{
	struct mchannel	*ch = m->ch;

	TAILQ_REMOVE(&ch->members, m, in_channel);
	TAILQ_REMOVE(&m->s->members, m, in_session);
	ch->n--;
	hub_count(ch, m->s->serial, -1);
	if (m->leave_route != NULL && ch->n > 0) {
		hub_leave_push(ch, m);
	}
	if (TAILQ_EMPTY(&m->s->members)) {
		hmap_del(&sessions, (const char *)&m->s->id, sizeof m->s->id);
		free(m->s);
	}
	free(m->uid);
	free(m->leave_route);
	free(m->leave_body);
	free(m);
	/* An empty channel is forgotten; the next join creates it again. */
	if (ch->n == 0) {
		hmap_del(&channels, ch->name, ch->len);
		free(ch->per);
		free(ch->name);
		free(ch);
	}
}

/*
 * True when <c> may speak for session <id>: its serial is the id's high
 * half. A worker can only join or close its own sessions, so what
 * it sends cannot strand members the master would never clean up.
 */
static bool
hub_owns(const struct child *c, uint64_t id)
{
	return (uint32_t)(id >> 32) == c->serial;
}

static void
hub_joined(struct child *c, uint64_t tag, enum ipc_join_status status,
    const struct mchannel *ch)
{
	const struct mmember	*m;
	const char		**uids = NULL;
	size_t			 n = 0, len;
	void			*p;

	if (status == IPC_JOIN_OK) {
		uids = xcalloc(ch->n + 1, sizeof *uids);
		TAILQ_FOREACH(m, &ch->members, in_channel) {
			uids[n++] = m->uid;
		}
	}
	p = ipc_joined_encode(status, uids, n, &len);
	free(uids);
	if (p == NULL) {
		p = ipc_joined_encode(IPC_JOIN_TOO_LARGE, NULL, 0, &len);
	}
	ipc_chan_reply(c->chan, tag, p, len);
	free(p);
}

/* IPC_CH_JOIN: admits a session to a channel; the answer lists the uids. */
int
hub_msg_join(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct child		*c = arg;
	struct ipc_join		 j;
	struct mchannel		*ch;
	struct mmember		*m;
	struct msession		*s;

	if (ipc_join_decode(msg->payload, msg->len, &j) != 0 ||
	    !hub_owns(c, j.session)) {
		return -EBADMSG;
	}
	ch = hmap_get(&channels, j.channel, j.channel_len);
	if (ch != NULL && j.unique_uid) {
		TAILQ_FOREACH(m, &ch->members, in_channel) {
			if (strlen(m->uid) == j.uid_len &&
			    memcmp(m->uid, j.uid, j.uid_len) == 0) {
				hub_joined(c, msg->tag, IPC_JOIN_DUPLICATE,
				    NULL);
				return 0;
			}
		}
	}
	s = hub_session(j.session, true);
	if (ch == NULL) {
		ch = xcalloc(1, sizeof *ch);
		ch->name = xstrndup(j.channel, j.channel_len);
		ch->len = j.channel_len;
		TAILQ_INIT(&ch->members);
		hmap_put(&channels, ch->name, ch->len, ch);
	}
	TAILQ_FOREACH(m, &s->members, in_session) {
		if (m->ch == ch) {
			break;	/* already a member: answer as if joined */
		}
	}
	if (m == NULL) {
		m = xcalloc(1, sizeof *m);
		m->ch = ch;
		m->s = s;
		m->uid = xstrndup(j.uid, j.uid_len);
		if (j.leave_route_len > 0) {
			m->leave_route = xstrndup(j.leave_route,
			    j.leave_route_len);
			m->leave_body = xstrndup(j.leave_body,
			    j.leave_body_len);
		}
		TAILQ_INSERT_TAIL(&ch->members, m, in_channel);
		TAILQ_INSERT_TAIL(&s->members, m, in_session);
		ch->n++;
		hub_count(ch, s->serial, 1);
	}
	hub_joined(c, msg->tag, IPC_JOIN_OK, ch);
	return 0;
}

/* A session closed: it leaves every channel, with its leave pushes. */
static void
hub_session_closed(uint64_t id)
{
	struct msession	*s;
	struct mmember	*m;

	if ((s = hub_session(id, false)) == NULL) {
		return;
	}
	/* The last member frees the session. */
	while ((m = TAILQ_FIRST(&s->members)) != NULL) {
		if (TAILQ_NEXT(m, in_session) == NULL) {
			hub_member_free(m);
			return;
		}
		hub_member_free(m);
	}
}

int
hub_msg_session_closed(struct ipc_chan *chan, struct ipc_msg *msg,
    void *arg)
{
	struct ipc_session_closed	 sc;

	memcpy(&sc, msg->payload, sizeof sc);
	if (!hub_owns(arg, sc.session)) {
		return -EBADMSG;
	}
	hub_session_closed(sc.session);
	return 0;
}

/*
 * IPC_CH_PUSH: relayed as it came to the other workers with members; the
 * sender has delivered to its own.
 */
int
hub_msg_push(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct child		*c = arg;
	struct ipc_push		 push;
	struct mchannel		*ch;

	if (ipc_push_decode(msg->payload, msg->len, &push) != 0) {
		return -EBADMSG;
	}
	ch = hmap_get(&channels, push.channel, push.channel_len);
	if (ch != NULL) {
		hub_forward(ch, c->serial, msg->payload, msg->len);
	}
	return 0;
}

/* The child <serial> is gone: its sessions leave every channel. */
void
hub_child_gone(uint32_t serial)
{
	struct hmap_entry	*e, *next;
	struct msession		*s;
	size_t			 iter;
	uint64_t		*ids = NULL;
	size_t			 n = 0, i;

	/* Collect first: leaving changes the map. */
	for (e = hmap_first(&sessions, &iter); e != NULL; e = next) {
		next = hmap_next(&sessions, e, &iter);
		s = e->value;
		if (s->serial == serial) {
			ids = xreallocarray(ids, n + 1, sizeof *ids);
			ids[n++] = s->id;
		}
	}
	for (i = 0; i < n; i++) {
		hub_session_closed(ids[i]);
	}
	if (n > 0) {
		log_info("%zu sessions of the exited worker left their "
		    "channels", n);
	}
	free(ids);
}

static int
hub_name_cmp(const void *a, const void *b)
{
	const struct mchannel	*x = *(const struct mchannel *const *)a;
	const struct mchannel	*y = *(const struct mchannel *const *)b;

	return strcmp(x->name, y->name);
}

/* show channels: name, member count and the members' uids, by name. */
static void
hub_show_channels(struct admin_call *call)
{
	struct hmap_entry	*e;
	struct mchannel		**sorted;
	struct mmember		*m;
	json_t			*list, *uids;
	size_t			 iter, n = 0, i;

	sorted = xcalloc(channels.n + 1, sizeof *sorted);
	for (e = hmap_first(&channels, &iter); e != NULL;
	    e = hmap_next(&channels, e, &iter)) {
		sorted[n++] = e->value;
	}
	qsort(sorted, n, sizeof *sorted, hub_name_cmp);
	list = json_array();
	for (i = 0; i < n; i++) {
		uids = json_array();
		TAILQ_FOREACH(m, &sorted[i]->members, in_channel) {
			json_array_append_new(uids, admin_json_string(m->uid,
			    strlen(m->uid)));
		}
		json_array_append_new(list, json_pack("{s:o, s:I, s:o}", "name",
		    admin_json_string(sorted[i]->name, sorted[i]->len),
		    "members", (json_int_t)sorted[i]->n, "uids", uids));
	}
	free(sorted);
	admin_answer(call, json_pack("{s:o}", "channels", list));
}

static const struct admin_cmd hub_cmds[] = {
	{ "show channels", NULL, 0, "every channel with its members' uids",
	  hub_show_channels },
};
ADMIN_COMMANDS(hub_cmds)

/* Counts for show stat: channels and members, held by the master. */
void
hub_counts(uint64_t *ret_channels, uint64_t *ret_members)
{
	struct hmap_entry	*e;
	size_t			 iter;
	uint64_t		 members = 0;

	for (e = hmap_first(&channels, &iter); e != NULL;
	    e = hmap_next(&channels, e, &iter)) {
		members += ((struct mchannel *)e->value)->n;
	}
	*ret_channels = channels.n;
	*ret_members = members;
}
