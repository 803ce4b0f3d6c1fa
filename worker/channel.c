/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The worker's side of channels: which of its own sessions belong to
 * which channel, so a push is delivered locally at once and relayed by
 * the master to the other workers with members (master/hub.c). A join is
 * a request to the master, which checks it against every worker's
 * members; the session is added here when the master has said yes.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define CHANNEL_JOIN_TIMEOUT_MS	10000
#define CHANNEL_UID_MAX		1024

struct wchannel {
	char			*name;
	size_t			 len;
	TAILQ_HEAD(, wmember)	 members;
	size_t			 n;
};

struct wmember {
	TAILQ_ENTRY(wmember)	 in_channel;
	TAILQ_ENTRY(wmember)	 in_session;
	struct wchannel		*ch;
	struct session		*s;
};

/* A join the master has not answered yet. */
struct channel_joining {
	uint64_t		 session;
	char			*channel;
	channel_join_cb		 cb;
	void			*arg;
};

static struct hmap	 wchannels;

void
channel_init(void)
{
	hmap_init(&wchannels);
}

static struct wchannel *
channel_get(const char *name, size_t len, bool create)
{
	struct wchannel	*ch;

	ch = hmap_get(&wchannels, name, len);
	if (ch == NULL && create) {
		ch = xcalloc(1, sizeof *ch);
		ch->name = xstrndup(name, len);
		ch->len = len;
		TAILQ_INIT(&ch->members);
		hmap_put(&wchannels, name, len, ch);
		worker->stats.channels++;
	}
	return ch;
}

static void
channel_drop_if_empty(struct wchannel *ch)
{
	if (ch->n > 0) {
		return;
	}
	hmap_del(&wchannels, ch->name, ch->len);
	worker->stats.channels--;
	free(ch->name);
	free(ch);
}

static void
channel_add_local(struct session *s, struct wchannel *ch)
{
	struct wmember	*m;

	TAILQ_FOREACH(m, &s->memberships, in_session) {
		if (m->ch == ch) {
			return;
		}
	}
	m = xcalloc(1, sizeof *m);
	m->ch = ch;
	m->s = s;
	TAILQ_INSERT_TAIL(&ch->members, m, in_channel);
	TAILQ_INSERT_TAIL(&s->memberships, m, in_session);
	ch->n++;
	worker->stats.channel_members++;
}

static void
channel_member_free(struct wmember *m)
{
	struct wchannel	*ch = m->ch;

	TAILQ_REMOVE(&ch->members, m, in_channel);
	TAILQ_REMOVE(&m->s->memberships, m, in_session);
	ch->n--;
	worker->stats.channel_members--;
	free(m);
	channel_drop_if_empty(ch);
}

/* Tells the master that session <id> is gone from every channel. */
static void
channel_send_closed(uint64_t id)
{
	struct ipc_session_closed	 sc;

	sc.session = id;
	ipc_chan_send(worker->chan, IPC_SESSION_CLOSED, 0, &sc, sizeof sc,
	    -1);
}

/*
 * The master's answer to a join (or its absence: a timeout, the master
 * gone). The callback gets {"ok": true|false, "uids": [...]}, and the
 * session when it is still working.
 */
static void
channel_joined(const struct ipc_answer *answers, size_t n, void *arg)
{
	struct channel_joining	*p = arg;
	struct ipc_joined	 joined;
	struct session		*s;
	const char		*uid;
	size_t			 len;
	json_t			*j, *uids;
	bool			 ok;

	ok = n == 1 && answers[0].status == 0 &&
	    ipc_joined_decode(answers[0].data, answers[0].len, &joined) == 0 &&
	    joined.status == IPC_JOIN_OK;
	if (n == 1 && answers[0].status != 0) {
		log_warn("channel %s: the master did not answer a join: %s",
		    p->channel, strerror(-answers[0].status));
	}
	uids = json_array();
	while (ok && ipc_joined_next(&joined, &uid, &len)) {
		json_array_append_new(uids, json_stringn(uid, len));
	}
	j = json_pack("{s:b, s:o}", "ok", ok, "uids", uids);
	s = session_find(p->session);
	if (s != NULL && s->state != SESSION_WORKING) {
		s = NULL;
	}
	if (ok && s == NULL) {
		/* Gone while the master answered: take it out again. */
		channel_send_closed(p->session);
	} else if (ok) {
		channel_add_local(s, channel_get(p->channel,
		    strlen(p->channel), true));
	}
	p->cb(s, ok, j, p->arg);
	json_decref(j);
	free(p->channel);
	free(p);
}

/*
 * Asks the master to add <s> (with its uid <uid>) to channel <name>.
 * With <unique>, a uid already in the channel is refused. <leave_route>
 * and <leave_body>, when not NULL, are pushed to the rest of the channel
 * when the session leaves. <cb> runs from the loop when the master
 * answers, or after CHANNEL_JOIN_TIMEOUT_MS. Returns 0, or -EINVAL when
 * a name is empty or too long.
 */
int
channel_join(struct session *s, const char *name, const char *uid,
    bool unique, const char *leave_route, const char *leave_body,
    channel_join_cb cb, void *arg)
{
	struct channel_joining	*p;
	struct ipc_join		 j;
	size_t			 len;
	void			*payload;

	memset(&j, 0, sizeof j);
	j.session = s->id;
	j.unique_uid = unique;
	j.channel = name;
	j.channel_len = strlen(name);
	j.uid = uid;
	j.uid_len = strlen(uid);
	j.leave_route = leave_route;
	j.leave_route_len = leave_route != NULL ? strlen(leave_route) : 0;
	j.leave_body = leave_body;
	j.leave_body_len = leave_body != NULL ? strlen(leave_body) : 0;
	if (j.uid_len > CHANNEL_UID_MAX ||
	    (payload = ipc_join_encode(&j, &len)) == NULL) {
		return -EINVAL;
	}
	p = xcalloc(1, sizeof *p);
	p->session = s->id;
	p->channel = xstrdup(name);
	p->cb = cb;
	p->arg = arg;
	ipc_request(worker->base, &worker->chan, 1, IPC_CH_JOIN, payload, len,
	    CHANNEL_JOIN_TIMEOUT_MS, channel_joined, p);
	free(payload);
	return 0;
}

/* Delivers <m> to the local members of <ch> that match. */
static void
channel_deliver_local(struct wchannel *ch, const struct ipc_push *m)
{
	struct wmember	*w, *tw;
	char		 route[MSG_ROUTE_MAX + 1];

	if (m->route_len > MSG_ROUTE_MAX) {
		return;
	}
	memcpy(route, m->route, m->route_len);
	route[m->route_len] = '\0';
	TAILQ_FOREACH_SAFE(w, &ch->members, in_channel, tw) {
		if (w->s->id == m->exclude) {
			continue;
		}
		if (m->uid_len > 0 && (w->s->uid == NULL ||
		    strlen(w->s->uid) != m->uid_len ||
		    memcmp(w->s->uid, m->uid, m->uid_len) != 0)) {
			continue;
		}
		/* A full send buffer closes that member (and frees w). */
		session_push(w->s, route, m->body, m->body_len);
	}
}

/*
 * Pushes <body> on <route> to every member of channel <name> on every
 * worker, or only to those whose uid is <uid> (when not NULL), never to
 * session <exclude>: here at once, elsewhere through the master. Returns
 * 0, or -EMSGSIZE when the push is too large to relay.
 */
int
channel_push(const char *name, const char *route, const char *uid,
    uint64_t exclude, const char *body, size_t body_len)
{
	struct ipc_push	 m;
	struct wchannel	*ch;
	size_t		 len;
	void		*p;

	m.exclude = exclude;
	m.from = worker->serial;
	m.channel = name;
	m.channel_len = strlen(name);
	m.route = route;
	m.route_len = strlen(route);
	m.uid = uid;
	m.uid_len = uid != NULL ? strlen(uid) : 0;
	m.body = body;
	m.body_len = body_len;
	if (m.route_len > MSG_ROUTE_MAX ||
	    (p = ipc_push_encode(&m, &len)) == NULL) {
		return -EMSGSIZE;
	}
	if ((ch = channel_get(name, m.channel_len, false)) != NULL) {
		channel_deliver_local(ch, &m);
	}
	ipc_chan_send(worker->chan, IPC_CH_PUSH, 0, p, len, -1);
	free(p);
	return 0;
}

/* IPC_CH_DELIVER: a push the master relays from another worker. */
int
channel_msg_deliver(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct ipc_push	 m;
	struct wchannel	*ch;

	if (ipc_push_decode(msg->payload, msg->len, &m) != 0) {
		return -EBADMSG;
	}
	if ((ch = channel_get(m.channel, m.channel_len, false)) != NULL) {
		channel_deliver_local(ch, &m);
	}
	return 0;
}

/* A session closes: it leaves its channels (the master pushes leaves). */
void
channel_session_closed(struct session *s)
{
	struct wmember	*m;

	if (TAILQ_EMPTY(&s->memberships)) {
		return;
	}
	while ((m = TAILQ_FIRST(&s->memberships)) != NULL) {
		channel_member_free(m);
	}
	channel_send_closed(s->id);
}

void
channel_finish(void)
{
	hmap_finish(&wchannels);
}
