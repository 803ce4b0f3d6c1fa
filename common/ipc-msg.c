/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Control-channel payloads (see ipc.h): encoders that lay out a fixed
 * struct and its variable tails, and decoders that check the lengths add
 * up to the message before they hand out views into it. A decoder never
 * reads past <len>, whatever the peer sent; that is what fuzz-ctrl
 * checks.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/xmalloc.h"

void
ipc_buf_add(struct ipc_buf *b, const void *p, size_t len)
{
	if (len == 0) {
		return;
	}
	if (b->len + len > b->cap) {
		b->cap = b->cap * 2 > b->len + len ? b->cap * 2 :
		    b->len + len + 256;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

void
ipc_buf_free(struct ipc_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Copies <len> bytes of <src> to <*q> and moves it on. */
static void
ipc_put(char **q, const void *src, size_t len)
{
	if (len > 0) {
		memcpy(*q, src, len);
		*q += len;
	}
}

void *
ipc_push_encode(const struct ipc_push *m, size_t *ret_len)
{
	struct ipc_ch_push	*p;
	size_t			 len;
	char			*q;

	len = sizeof *p + m->channel_len + m->route_len + m->uid_len +
	    m->body_len;
	if (len > IPC_MAX_MESSAGE || m->channel_len > UINT16_MAX ||
	    m->route_len > UINT16_MAX || m->uid_len > UINT16_MAX) {
		return NULL;
	}
	p = xcalloc(1, len);
	p->exclude = m->exclude;
	p->from = m->from;
	p->channel_len = (uint16_t)m->channel_len;
	p->route_len = (uint16_t)m->route_len;
	p->uid_len = (uint16_t)m->uid_len;
	p->body_len = (uint32_t)m->body_len;
	q = (char *)(p + 1);
	ipc_put(&q, m->channel, m->channel_len);
	ipc_put(&q, m->route, m->route_len);
	ipc_put(&q, m->uid, m->uid_len);
	ipc_put(&q, m->body, m->body_len);
	*ret_len = len;
	return p;
}

int
ipc_push_decode(const void *payload, size_t len, struct ipc_push *ret)
{
	struct ipc_ch_push	 p;
	const char		*q;

	if (len < sizeof p) {
		return -EBADMSG;
	}
	memcpy(&p, payload, sizeof p);
	if (len != sizeof p + p.channel_len + p.route_len + p.uid_len +
	    (size_t)p.body_len || p.channel_len == 0) {
		return -EBADMSG;
	}
	q = (const char *)payload + sizeof p;
	ret->exclude = p.exclude;
	ret->from = p.from;
	ret->channel = q;
	ret->channel_len = p.channel_len;
	ret->route = q += p.channel_len;
	ret->route_len = p.route_len;
	ret->uid = q += p.route_len;
	ret->uid_len = p.uid_len;
	ret->body = q + p.uid_len;
	ret->body_len = p.body_len;
	return 0;
}

void *
ipc_join_encode(const struct ipc_join *m, size_t *ret_len)
{
	struct ipc_ch_join	*p;
	size_t			 len;
	char			*q;

	len = sizeof *p + m->channel_len + m->uid_len + m->leave_route_len +
	    m->leave_body_len;
	if (len > IPC_MAX_MESSAGE || m->channel_len == 0 ||
	    m->channel_len > IPC_NAME_MAX || m->uid_len > UINT16_MAX ||
	    m->leave_route_len > IPC_ROUTE_MAX) {
		return NULL;
	}
	p = xcalloc(1, len);
	p->session = m->session;
	p->unique_uid = m->unique_uid;
	p->channel_len = (uint16_t)m->channel_len;
	p->uid_len = (uint16_t)m->uid_len;
	p->leave_route_len = (uint16_t)m->leave_route_len;
	p->leave_body_len = (uint32_t)m->leave_body_len;
	q = (char *)(p + 1);
	ipc_put(&q, m->channel, m->channel_len);
	ipc_put(&q, m->uid, m->uid_len);
	ipc_put(&q, m->leave_route, m->leave_route_len);
	ipc_put(&q, m->leave_body, m->leave_body_len);
	*ret_len = len;
	return p;
}

int
ipc_join_decode(const void *payload, size_t len, struct ipc_join *ret)
{
	struct ipc_ch_join	 p;
	const char		*q;

	if (len < sizeof p) {
		return -EBADMSG;
	}
	memcpy(&p, payload, sizeof p);
	if (len != sizeof p + p.channel_len + p.uid_len + p.leave_route_len +
	    (size_t)p.leave_body_len || p.channel_len == 0 ||
	    p.channel_len > IPC_NAME_MAX ||
	    p.leave_route_len > IPC_ROUTE_MAX) {
		return -EBADMSG;
	}
	q = (const char *)payload + sizeof p;
	/* The four are C strings on both sides: a NUL would cut them. */
	if (memchr(q, '\0', len - sizeof p) != NULL) {
		return -EBADMSG;
	}
	ret->session = p.session;
	ret->unique_uid = p.unique_uid != 0;
	ret->channel = q;
	ret->channel_len = p.channel_len;
	ret->uid = q += p.channel_len;
	ret->uid_len = p.uid_len;
	ret->leave_route = q += p.uid_len;
	ret->leave_route_len = p.leave_route_len;
	ret->leave_body = q + p.leave_route_len;
	ret->leave_body_len = p.leave_body_len;
	return 0;
}

void *
ipc_joined_encode(enum ipc_join_status status, const char *const *uids,
    size_t n, size_t *ret_len)
{
	struct ipc_ch_joined	 h;
	struct ipc_buf		 b;
	uint32_t		 l;
	size_t			 i, len = sizeof h;

	for (i = 0; i < n; i++) {
		len += sizeof l + strlen(uids[i]);
		if (len > IPC_MAX_MESSAGE) {
			return NULL;
		}
	}
	memset(&h, 0, sizeof h);
	h.status = status;
	h.n_uids = (uint32_t)n;
	memset(&b, 0, sizeof b);
	ipc_buf_add(&b, &h, sizeof h);
	for (i = 0; i < n; i++) {
		l = (uint32_t)strlen(uids[i]);
		ipc_buf_add(&b, &l, sizeof l);
		ipc_buf_add(&b, uids[i], l);
	}
	*ret_len = b.len;
	return b.data;
}

int
ipc_joined_decode(const void *payload, size_t len, struct ipc_joined *ret)
{
	struct ipc_ch_joined	 h;
	const uint8_t		*p = payload, *end = p + len;
	uint32_t		 l, i;

	if (len < sizeof h) {
		return -EBADMSG;
	}
	memcpy(&h, p, sizeof h);
	if (h.status > IPC_JOIN_TOO_LARGE) {
		return -EBADMSG;
	}
	p += sizeof h;
	ret->status = (enum ipc_join_status)h.status;
	ret->n_uids = h.n_uids;
	ret->next = p;
	ret->end = end;
	for (i = 0; i < h.n_uids; i++) {
		if ((size_t)(end - p) < sizeof l) {
			return -EBADMSG;
		}
		memcpy(&l, p, sizeof l);
		p += sizeof l;
		if ((size_t)(end - p) < l) {
			return -EBADMSG;
		}
		p += l;
	}
	return p == end ? 0 : -EBADMSG;
}

bool
ipc_joined_next(struct ipc_joined *j, const char **ret_uid, size_t *ret_len)
{
	uint32_t	 l;

	/* ipc_joined_decode() checked every entry. */
	if ((size_t)(j->end - j->next) < sizeof l) {
		return false;
	}
	memcpy(&l, j->next, sizeof l);
	*ret_uid = (const char *)j->next + sizeof l;
	*ret_len = l;
	j->next += sizeof l + l;
	return true;
}

void *
ipc_kick_encode(uint64_t session, const char *reason, const char *uid,
    size_t uid_len, size_t *ret_len)
{
	struct ipc_kick	*k;

	if (strlen(reason) >= sizeof k->reason ||
	    sizeof *k + uid_len > IPC_MAX_MESSAGE) {
		return NULL;
	}
	k = xcalloc(1, sizeof *k + uid_len);
	k->session = session;
	memcpy(k->reason, reason, strlen(reason));
	if (uid_len > 0) {
		memcpy(k + 1, uid, uid_len);
	}
	*ret_len = sizeof *k + uid_len;
	return k;
}

int
ipc_kick_decode(const void *payload, size_t len, struct ipc_kick_msg *ret)
{
	struct ipc_kick	 k;

	if (len < sizeof k) {
		return -EBADMSG;
	}
	memcpy(&k, payload, sizeof k);
	ret->session = k.session;
	memcpy(ret->reason, k.reason, sizeof ret->reason);
	ret->reason[sizeof ret->reason - 1] = '\0';
	ret->uid = (const char *)payload + sizeof k;
	ret->uid_len = len - sizeof k;
	if ((ret->session == 0) == (ret->uid_len == 0)) {
		return -EBADMSG;
	}
	return 0;
}

void *
ipc_broadcast_encode(const char *route, size_t route_len, const char *body,
    size_t body_len, size_t *ret_len)
{
	struct ipc_broadcast	*p;
	char			*q;

	if (route_len == 0 || route_len > IPC_ROUTE_MAX ||
	    sizeof *p + route_len + body_len > IPC_MAX_MESSAGE) {
		return NULL;
	}
	p = xcalloc(1, sizeof *p + route_len + body_len);
	p->route_len = (uint32_t)route_len;
	p->body_len = (uint32_t)body_len;
	q = (char *)(p + 1);
	ipc_put(&q, route, route_len);
	ipc_put(&q, body, body_len);
	*ret_len = sizeof *p + route_len + body_len;
	return p;
}

int
ipc_broadcast_decode(const void *payload, size_t len, const char **ret_route,
    size_t *ret_route_len, const char **ret_body, size_t *ret_body_len)
{
	struct ipc_broadcast	 p;

	if (len < sizeof p) {
		return -EBADMSG;
	}
	memcpy(&p, payload, sizeof p);
	if (p.route_len == 0 || p.route_len > IPC_ROUTE_MAX ||
	    len != sizeof p + (size_t)p.route_len + p.body_len) {
		return -EBADMSG;
	}
	*ret_route = (const char *)payload + sizeof p;
	*ret_route_len = p.route_len;
	*ret_body = *ret_route + p.route_len;
	*ret_body_len = p.body_len;
	return 0;
}

void
ipc_session_add(struct ipc_buf *b, const struct ipc_session_view *s)
{
	struct ipc_session	 r;

	memset(&r, 0, sizeof r);
	r.id = s->id;
	r.age_ms = s->age_ms;
	r.bytes_in = s->bytes_in;
	r.bytes_out = s->bytes_out;
	r.worker = s->worker;
	r.has_uid = s->uid != NULL;
	r.uid_len = s->uid != NULL ? (uint32_t)s->uid_len : 0;
	r.transport_len = (uint8_t)(s->transport_len > 255 ? 255 :
	    s->transport_len);
	r.state_len = (uint8_t)(s->state_len > 255 ? 255 : s->state_len);
	r.peer_len = (uint8_t)(s->peer_len > 255 ? 255 : s->peer_len);
	r.xprt_len = (uint8_t)(s->xprt_len > 255 ? 255 : s->xprt_len);
	ipc_buf_add(b, &r, sizeof r);
	ipc_buf_add(b, s->uid, r.uid_len);
	ipc_buf_add(b, s->transport, r.transport_len);
	ipc_buf_add(b, s->state, r.state_len);
	ipc_buf_add(b, s->peer, r.peer_len);
	ipc_buf_add(b, s->xprt, r.xprt_len);
}

int
ipc_session_next(const void *payload, size_t len, size_t *off,
    struct ipc_session_view *ret)
{
	struct ipc_session	 r;
	const char		*q;
	size_t			 left;

	if (*off > len) {
		return -EBADMSG;
	}
	left = len - *off;
	if (left == 0) {
		return 0;
	}
	if (left < sizeof r) {
		return -EBADMSG;
	}
	memcpy(&r, (const char *)payload + *off, sizeof r);
	if (left - sizeof r < (size_t)r.uid_len + r.transport_len +
	    r.state_len + r.peer_len + r.xprt_len || (!r.has_uid && r.uid_len != 0)) {
		return -EBADMSG;
	}
	q = (const char *)payload + *off + sizeof r;
	ret->id = r.id;
	ret->age_ms = r.age_ms;
	ret->bytes_in = r.bytes_in;
	ret->bytes_out = r.bytes_out;
	ret->worker = r.worker;
	ret->uid = r.has_uid ? q : NULL;
	ret->uid_len = r.uid_len;
	ret->transport = q += r.uid_len;
	ret->transport_len = r.transport_len;
	ret->state = q += r.transport_len;
	ret->state_len = r.state_len;
	ret->peer = q += r.state_len;
	ret->peer_len = r.peer_len;
	ret->xprt = q += r.peer_len;
	ret->xprt_len = r.xprt_len;
	*off += sizeof r + r.uid_len + r.transport_len + r.state_len +
	    r.peer_len + r.xprt_len;
	return 1;
}
