/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The worker's side of channels: which of its own sessions belong to
 * which channel, so a push is delivered locally at once and relayed by
 * the master to the other workers with members (master/hub.c). A
 * join goes to the master first, which checks it against every worker's
 * members; the session is added here when the master has said yes.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

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

struct pending_join {
	TAILQ_ENTRY(pending_join) entry;
	uint64_t		 tag;
	uint64_t		 session;
	char			*channel;
	channel_join_cb		 cb;
	void			*arg;
};

static struct hmap			 wchannels;
static TAILQ_HEAD(, pending_join)	 pending = TAILQ_HEAD_INITIALIZER(
    pending);
static uint64_t				 next_tag;

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

/*
 * Asks the master to add <s> (with its uid <uid>) to channel <name>.
 * With <unique>, a uid already in the channel is refused. <leave_route>
 * and <leave_body>, when not NULL, are pushed to the rest of the channel
 * when the session leaves. <cb> runs when the master answers.
 */
int
channel_join(struct session *s, const char *name, const char *uid,
    bool unique, const char *leave_route, const char *leave_body,
    channel_join_cb cb, void *arg)
{
	struct ipc_ch_join	*j;
	struct pending_join	*p;
	size_t			 nl = strlen(name), ul = strlen(uid);
	size_t			 rl = leave_route ? strlen(leave_route) : 0;
	size_t			 bl = leave_body ? strlen(leave_body) : 0;
	size_t			 len = sizeof *j + nl + ul + rl + bl;
	char			*q;
	int			 r;

	if (nl == 0 || nl > 1024 || ul > 1024 || rl > 255 ||
	    len > IPC_MAX_MESSAGE) {
		return -EINVAL;
	}
	j = xcalloc(1, len);
	j->session = s->id;
	j->unique_uid = unique;
	j->channel_len = (uint16_t)nl;
	j->uid_len = (uint16_t)ul;
	j->leave_route_len = (uint16_t)rl;
	j->leave_body_len = (uint32_t)bl;
	q = (char *)(j + 1);
	memcpy(q, name, nl);
	memcpy(q += nl, uid, ul);
	memcpy(q += ul, leave_route, rl);
	memcpy(q + rl, leave_body, bl);
	p = xcalloc(1, sizeof *p);
	p->tag = ++next_tag;
	p->session = s->id;
	p->channel = xstrdup(name);
	p->cb = cb;
	p->arg = arg;
	r = ipc_chan_send(worker->chan, IPC_CH_JOIN, p->tag, j, len, -1);
	free(j);
	if (r != 0) {
		free(p->channel);
		free(p);
		return r;
	}
	TAILQ_INSERT_TAIL(&pending, p, entry);
	return 0;
}

/* The master's answer to a join. */
static void
channel_joined(uint64_t tag, const char *payload, size_t len)
{
	struct pending_join	*p;
	struct session		*s;
	json_t			*j;
	bool			 ok;
	uint64_t		 id;

	TAILQ_FOREACH(p, &pending, entry) {
		if (p->tag == tag) {
			break;
		}
	}
	if (p == NULL) {
		return;
	}
	TAILQ_REMOVE(&pending, p, entry);
	j = json_loadb(payload, len, 0, NULL);
	ok = json_is_true(json_object_get(j, "ok"));
	s = session_find(p->session);
	if (s != NULL && s->state != SESSION_WORKING) {
		s = NULL;
	}
	if (ok && s == NULL) {
		/* Gone while the master answered: take it out again. */
		id = p->session;
		ipc_chan_send(worker->chan, IPC_SESSION_CLOSED, 0, &id,
		    sizeof id, -1);
	} else if (ok) {
		channel_add_local(s, channel_get(p->channel,
		    strlen(p->channel), true));
	}
	p->cb(s, ok, j, p->arg);
	json_decref(j);
	free(p->channel);
	free(p);
}

/* Removes <s> from channel <name> (here and at the master). */
void
channel_leave(struct session *s, const char *name)
{
	struct ipc_ch_leave	*l;
	struct wmember		*m;
	size_t			 nl = strlen(name);

	TAILQ_FOREACH(m, &s->memberships, in_session) {
		if (m->ch->len == nl && memcmp(m->ch->name, name, nl) == 0) {
			break;
		}
	}
	if (m == NULL) {
		return;
	}
	channel_member_free(m);
	l = xcalloc(1, sizeof *l + nl);
	l->session = s->id;
	l->channel_len = (uint16_t)nl;
	memcpy(l + 1, name, nl);
	ipc_chan_send(worker->chan, IPC_CH_LEAVE, 0, l, sizeof *l + nl, -1);
	free(l);
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

/* A push the master relays from another worker. */
static void
channel_deliver(const char *payload, size_t len)
{
	struct ipc_push	 m;
	struct wchannel	*ch;

	if (ipc_push_decode(payload, len, &m) != 0) {
		log_warn("bad channel push from the master");
		return;
	}
	if ((ch = channel_get(m.channel, m.channel_len, false)) != NULL) {
		channel_deliver_local(ch, &m);
	}
}

/* Destroys channel <name> everywhere. */
void
channel_destroy(const char *name)
{
	ipc_chan_send(worker->chan, IPC_CH_DESTROY, 0, name, strlen(name),
	    -1);
}

static void
channel_drop(const char *name, size_t len)
{
	struct wchannel	*ch;

	if ((ch = channel_get(name, len, false)) == NULL) {
		return;
	}
	while (ch->n > 1) {
		channel_member_free(TAILQ_FIRST(&ch->members));
	}
	/* The last one frees the channel. */
	channel_member_free(TAILQ_FIRST(&ch->members));
}

/* A session closes: it leaves its channels (the master pushes leaves). */
void
channel_session_closed(struct session *s)
{
	struct wmember	*m;
	uint64_t	 id = s->id;

	if (TAILQ_EMPTY(&s->memberships)) {
		return;
	}
	while ((m = TAILQ_FIRST(&s->memberships)) != NULL) {
		channel_member_free(m);
	}
	ipc_chan_send(worker->chan, IPC_SESSION_CLOSED, 0, &id, sizeof id,
	    -1);
}

/* Handles a channel message from the master; false if not one. */
bool
channel_message(const struct ipc_hdr *hdr, const void *payload)
{
	switch (hdr->type) {
	case IPC_CH_JOINED:
		channel_joined(hdr->tag, payload, hdr->len);
		return true;
	case IPC_CH_DELIVER:
		channel_deliver(payload, hdr->len);
		return true;
	case IPC_CH_DROP:
		channel_drop(payload, hdr->len);
		return true;
	}
	return false;
}

void
channel_finish(void)
{
	struct pending_join	*p;

	while ((p = TAILQ_FIRST(&pending)) != NULL) {
		TAILQ_REMOVE(&pending, p, entry);
		free(p->channel);
		free(p);
	}
	hmap_finish(&wchannels);
}
