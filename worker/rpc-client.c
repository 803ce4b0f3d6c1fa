/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Calls from this worker to backend servers over pomelo-rpc (CLUSTER.md
 * §4, checklist §11.2): one "mailbox" per server, its TCP connection
 * opened with the first call, request ids from 0 per connection, a
 * PINGREQ every 10 s and the connection dropped after 30 s without
 * PINGRESP.
 *
 * The acceptor never answers CONNECT, and must not get anything in the
 * same read as it: Pinus's (mqtt-connection 4) starts a new MQTT parser
 * when it has read the CONNECT, and a packet the old parser had begun is
 * lost, so the next one fails to parse and the acceptor drops the link
 * with every call on it. Node's RPC client mostly escapes this because
 * its CONNECT and first call leave in two writes. Here CONNECT goes out
 * with a PINGREQ (two whole packets), and calls are held until the
 * PINGRESP, which the acceptor sends once it has taken the CONNECT.
 *
 * Every call gets exactly one answer through its callback: the reply, or
 * a failure at rpc_timeout, or at once when the connection to its server
 * closes or the server leaves the cluster (where Pomelo would wait for
 * the timeout although it knows the server is gone).
 */

#include "config.h"

#include <sys/socket.h>
#include <netdb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/hmap.h"
#include "common/jsval.h"
#include "common/log.h"
#include "common/mqtt.h"
#include "common/rpc-msg.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define RPC_PING_MS		10000
#define RPC_PONG_TIMEOUT_MS	30000
/* A backend that does not read what we send: calls fail past this. */
#define RPC_MAX_QUEUED		(64u << 20)

struct rpc_call {
	TAILQ_ENTRY(rpc_call)	 entry;		/* in deadline order */
	uint64_t		 id;
	uint64_t		 sent_us;
	uint64_t		 deadline_ms;
	rpc_reply_cb		 cb;
	void			*arg;
	char			*held;		/* the request, until ready */
	size_t			 held_len;
};

struct rpc_mailbox {
	TAILQ_ENTRY(rpc_mailbox) entry;
	struct cluster_server	*srv;
	struct mconn		*conn;
	uint64_t		 next_id;
	uint64_t		 pong_ms;
	struct hmap		 by_id;		/* 8-byte id -> call */
	TAILQ_HEAD(, rpc_call)	 calls;
	size_t			 n_calls;
	struct event		*timer;		/* the first deadline */
	struct event		*ping;
	bool			 ready;		/* the first PINGRESP came */
	size_t			 held_bytes;
};

static TAILQ_HEAD(, rpc_mailbox) mailboxes =
    TAILQ_HEAD_INITIALIZER(mailboxes);
static size_t	 n_pending;

static void	rpc_mailbox_fail(struct rpc_mailbox *, const char *);

/* Takes <call> out of its mailbox; the caller answers and frees it. */
static void
rpc_call_unlink(struct rpc_mailbox *mb, struct rpc_call *call)
{
	hmap_del(&mb->by_id, (const char *)&call->id, sizeof call->id);
	TAILQ_REMOVE(&mb->calls, call, entry);
	mb->n_calls--;
	n_pending--;
	if (call->held != NULL) {
		mb->held_bytes -= call->held_len;
		free(call->held);
		call->held = NULL;
	}
}

/* The acceptor has taken the CONNECT: the held calls go, in order. */
static void
rpc_mailbox_ready(struct rpc_mailbox *mb)
{
	struct rpc_call	*call;

	mb->ready = true;
	TAILQ_FOREACH(call, &mb->calls, entry) {
		if (call->held == NULL) {
			continue;
		}
		if (mconn_publish(mb->conn, RPC_MSG_TOPIC, call->held,
		    call->held_len) != 0) {
			rpc_mailbox_fail(mb, "its connection closed");
			return;
		}
		mb->held_bytes -= call->held_len;
		free(call->held);
		call->held = NULL;
	}
}

static void
rpc_arm_timer(struct rpc_mailbox *mb)
{
	struct rpc_call	*first = TAILQ_FIRST(&mb->calls);
	uint64_t	 now = now_coarse_ms(), ms;
	struct timeval	 tv;

	if (first == NULL) {
		evtimer_del(mb->timer);
		return;
	}
	ms = first->deadline_ms > now ? first->deadline_ms - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(mb->timer, &tv);
}

static void
rpc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_mailbox	*mb = arg;
	struct rpc_call		*call;
	uint64_t		 now = now_coarse_ms();
	char			 why[96];

	while ((call = TAILQ_FIRST(&mb->calls)) != NULL &&
	    call->deadline_ms <= now) {
		rpc_call_unlink(mb, call);
		mb->srv->timeouts++;
		worker->stats.cluster_timeouts++;
		snprintf(why, sizeof why, "no answer from %s within %ju ms",
		    mb->srv->id, (uintmax_t)worker->conf->cluster_rpc_timeout);
		call->cb(call->arg, NULL, why);
		free(call);
	}
	rpc_arm_timer(mb);
}

static void
rpc_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_mailbox	*mb = arg;

	if (now_ms() - mb->pong_ms > RPC_PONG_TIMEOUT_MS) {
		log_info("cluster: %s (%s) sent no PINGRESP for %d s: "
		    "reconnecting", mb->srv->id, mconn_peer(mb->conn),
		    RPC_PONG_TIMEOUT_MS / 1000);
		rpc_mailbox_fail(mb, "no PINGRESP");
		return;
	}
	mconn_send_short(mb->conn, mqtt_encode_pingreq);
}

/*
 * The callback arguments of an answer as a value (borrowed from <a>):
 * read from its text the first time, json_null() for none.
 */
json_t *
rpc_answer_resp(struct rpc_answer *a)
{
	if (a->resp == NULL && a->text != NULL) {
		/* Plain text (jscan.h): jansson reads it. */
		(void)jsval_parse(a->text, a->len, &a->resp, NULL, 0);
	}
	return a->resp != NULL ? a->resp : json_null();
}

/* Call <id> of <mb> is answered with <a>. */
static void
rpc_mailbox_answer(struct rpc_mailbox *mb, uint64_t id, struct rpc_answer *a)
{
	struct rpc_call	*call;

	call = hmap_get(&mb->by_id, (const char *)&id, sizeof id);
	if (call == NULL) {
		/* Answered late, after its timeout: ignored. */
		return;
	}
	rpc_call_unlink(mb, call);
	cluster_latency(mb->srv, now_us() - call->sent_us);
	call->cb(call->arg, a, NULL);
	free(call);
}

/* One response envelope as a value: its call is answered. */
static void
rpc_mailbox_response(struct rpc_mailbox *mb, json_t *item)
{
	struct rpc_response	 r;
	struct rpc_answer	 a = { 0 };
	char			 err[128];

	if (rpc_msg_response_view(item, &r, err, sizeof err) != 0) {
		worker->stats.cluster_bad_messages++;
		log_info("cluster: a bad RPC response from %s: %s", mb->srv->id,
		    err);
		return;
	}
	a.resp = r.resp;
	rpc_mailbox_answer(mb, r.id, &a);
}

/*
 * The responses of a plain payload, read in place: an answer is handed
 * on as the text the backend wrote, read into values only if its
 * callback asks. Envelopes of another shape go through jansson.
 */
static void
rpc_mailbox_scan(struct rpc_mailbox *mb, struct rpc_msg_scan *sc)
{
	struct rpc_response_text r;
	struct rpc_answer	 a;
	const char		*item;
	size_t			 len;
	json_t			*v;
	int			 k;

	while ((k = rpc_msg_scan_next(sc, &r, &item, &len)) != 0) {
		if (k == 2) {
			if (jsval_parse(item, len, &v, NULL, 0) == 0) {
				rpc_mailbox_response(mb, v);
				json_decref(v);
			}
			continue;
		}
		memset(&a, 0, sizeof a);
		a.text = r.resp;
		a.len = r.resp_len;
		rpc_mailbox_answer(mb, r.id, &a);
		/* What rpc_answer_resp() read from the text. */
		json_decref(a.resp);
	}
}

static void
rpc_mailbox_packet(struct mconn *m, const struct mqtt_packet *p, void *arg)
{
	struct rpc_mailbox	*mb = arg;
	struct rpc_msg_scan	 sc;
	json_t			*root;
	char			 err[128];
	int			 n, i;

	switch (p->type) {
	case MQTT_PINGRESP:
		mb->pong_ms = now_ms();
		if (!mb->ready) {
			rpc_mailbox_ready(mb);
		}
		return;
	case MQTT_PINGREQ:
		mconn_send_short(m, mqtt_encode_pingresp);
		return;
	case MQTT_DISCONNECT:
		rpc_mailbox_fail(mb, "the server sent DISCONNECT");
		return;
	case MQTT_PUBLISH:
		break;
	default:
		return;
	}
	if (!mqtt_topic_is(p, RPC_MSG_TOPIC)) {
		return;
	}
	if (rpc_msg_scan_start(&sc, p->publish.payload,
	    p->publish.payload_len)) {
		mb->pong_ms = now_ms();
		rpc_mailbox_scan(mb, &sc);
	} else {
		n = rpc_msg_parse(p->publish.payload, p->publish.payload_len,
		    &root, err, sizeof err);
		if (n < 0) {
			worker->stats.cluster_bad_messages++;
			log_info("cluster: a bad RPC payload from %s: %s",
			    mb->srv->id, err);
			return;
		}
		mb->pong_ms = now_ms();
		for (i = 0; i < n; i++) {
			rpc_mailbox_response(mb, rpc_msg_item(root, (size_t)i));
		}
		json_decref(root);
	}
	rpc_arm_timer(mb);
}

static void
rpc_mailbox_closed(struct mconn *m, const char *why, void *arg)
{
	struct rpc_mailbox	*mb = arg;

	mb->conn = NULL;
	rpc_mailbox_fail(mb, why);
}

static void
rpc_mailbox_connected(struct mconn *m, void *arg)
{
	struct rpc_mailbox	*mb = arg;

	mb->pong_ms = now_ms();
	log_debug("cluster: connected to %s (%s)", mb->srv->id,
	    mconn_peer(m));
}

static const struct mconn_callbacks rpc_mailbox_cb = {
	.connected = rpc_mailbox_connected,
	.packet = rpc_mailbox_packet,
	.closed = rpc_mailbox_closed,
};

/*
 * Ends the mailbox: every call waiting in it fails now with <why>, the
 * connection closes, and the next call to its server opens a new one.
 */
static void
rpc_mailbox_fail(struct rpc_mailbox *mb, const char *why)
{
	struct rpc_call	*call;
	char		 text[160];

	if (mb->conn != NULL) {
		mconn_close(mb->conn, false);
		mb->conn = NULL;
	}
	if (mb->n_calls > 0) {
		log_info("cluster: %zu call%s to %s failed: %s", mb->n_calls,
		    mb->n_calls == 1 ? "" : "s", mb->srv->id, why);
	}
	snprintf(text, sizeof text, "%s: %s", mb->srv->id, why);
	/* Detached first: a callback may call the same server again. */
	mb->srv->mailbox = NULL;
	TAILQ_REMOVE(&mailboxes, mb, entry);
	while ((call = TAILQ_FIRST(&mb->calls)) != NULL) {
		rpc_call_unlink(mb, call);
		mb->srv->errors++;
		call->cb(call->arg, NULL, text);
		free(call);
	}
	event_free(mb->timer);
	event_free(mb->ping);
	hmap_finish(&mb->by_id);
	free(mb);
}

/* The server left, or its entry is rebuilt: its calls fail now. */
void
rpc_mailbox_close(struct rpc_mailbox *mb, const char *why)
{
	rpc_mailbox_fail(mb, why);
}

/* The server's entry was replaced by <srv> (same id and address). */
void
rpc_mailbox_retarget(struct cluster_server *srv)
{
	if (srv->mailbox != NULL) {
		srv->mailbox->srv = srv;
	}
}

/* The address of <srv>: a literal at once, a name by the resolver. */
static int
rpc_resolve(const struct cluster_server *srv, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo	 hints, *res;
	char		 port[8];
	int		 r;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", srv->port);
	r = getaddrinfo(srv->host, port, &hints, &res);
	if (r == EAI_NONAME) {
		/* A host name: rare in a cluster; resolved once per mailbox. */
		hints.ai_flags = AI_NUMERICSERV;
		r = getaddrinfo(srv->host, port, &hints, &res);
	}
	if (r != 0) {
		return -EHOSTUNREACH;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static struct rpc_mailbox *
rpc_mailbox_open(struct cluster_server *srv)
{
	struct rpc_mailbox	*mb;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	uint8_t			 buf[MQTT_CONNECT_MAX(64)];
	char			 client_id[64];
	struct timeval		 tv;
	int			 n;

	if (rpc_resolve(srv, &ss, &len) != 0) {
		log_warn("cluster: cannot resolve %s's host %s", srv->id,
		    srv->host);
		return NULL;
	}
	mb = xcalloc(1, sizeof *mb);
	mb->srv = srv;
	TAILQ_INIT(&mb->calls);
	mb->timer = evtimer_new(worker->base, rpc_timer_cb, mb);
	mb->ping = event_new(worker->base, -1, EV_PERSIST, rpc_ping_cb, mb);
	mb->conn = mconn_connect((struct sockaddr *)&ss, len,
	    worker->conf->cluster_rpc_max_payload, &rpc_mailbox_cb, mb);
	if (mb->conn == NULL) {
		event_free(mb->timer);
		event_free(mb->ping);
		free(mb);
		return NULL;
	}
	/* CONNECT and PINGREQ; calls wait for the PINGRESP (above). */
	n = snprintf(client_id, sizeof client_id, "SHADDOCK_RPC_%ju_%d",
	    (uintmax_t)now_ms(), (int)getpid());
	n = mqtt_encode_connect(buf, sizeof buf, client_id, (size_t)n, 0);
	mconn_send(mb->conn, buf, (size_t)n);
	mconn_send_short(mb->conn, mqtt_encode_pingreq);
	mb->pong_ms = now_ms();
	tv.tv_sec = RPC_PING_MS / 1000;
	tv.tv_usec = 0;
	evtimer_add(mb->ping, &tv);
	TAILQ_INSERT_TAIL(&mailboxes, mb, entry);
	srv->mailbox = mb;
	return mb;
}

/* Sends the request text <payload> as call <id> of <mb>. */
static int
rpc_send(struct rpc_mailbox *mb, uint64_t id, char *payload, size_t len,
    rpc_reply_cb cb, void *arg)
{
	struct rpc_call	*call;
	int		 r;

	if (mconn_queued(mb->conn) + mb->held_bytes + len > RPC_MAX_QUEUED) {
		free(payload);
		log_warn("cluster: %s does not read its calls (%zu bytes "
		    "queued): failing this one", mb->srv->id,
		    mconn_queued(mb->conn) + mb->held_bytes);
		return -ENOBUFS;
	}
	call = xcalloc(1, sizeof *call);
	if (!mb->ready) {
		call->held = payload;
		call->held_len = len;
		mb->held_bytes += len;
	} else {
		r = mconn_publish(mb->conn, RPC_MSG_TOPIC, payload, len);
		free(payload);
		if (r != 0) {
			free(call);
			return r;
		}
	}
	call->id = id;
	call->cb = cb;
	call->arg = arg;
	call->sent_us = now_us();
	call->deadline_ms = now_coarse_ms() + worker->conf->cluster_rpc_timeout;
	hmap_put(&mb->by_id, (const char *)&call->id, sizeof call->id, call);
	TAILQ_INSERT_TAIL(&mb->calls, call, entry);
	mb->n_calls++;
	n_pending++;
	mb->srv->forwarded++;
	if (TAILQ_FIRST(&mb->calls) == call) {
		rpc_arm_timer(mb);
	}
	return 0;
}

static struct rpc_mailbox *
rpc_mailbox_of(struct cluster_server *srv)
{
	if (srv->mailbox != NULL) {
		return srv->mailbox;
	}
	return rpc_mailbox_open(srv);
}

/*
 * Calls <ns>.<service>.<method> (<args>, an array, not consumed) on <srv>.
 * Returns 0, and <cb> runs later exactly once; or -errno when the call
 * could not be sent (<cb> never runs).
 */
int
rpc_call(struct cluster_server *srv, const char *ns, const char *service,
    const char *method, json_t *args, rpc_reply_cb cb, void *arg)
{
	struct rpc_mailbox	*mb;
	size_t			 len;
	char			*payload;

	if ((mb = rpc_mailbox_of(srv)) == NULL) {
		return -EHOSTUNREACH;
	}
	payload = rpc_msg_encode_request(mb->next_id, ns, srv->type, service,
	    method, args, &len);
	return rpc_send(mb, mb->next_id++, payload, len, cb, arg);
}

/* Forwards a client message to <srv> (sys.msgRemote.forwardMessage). */
int
rpc_call_forward(struct cluster_server *srv, const struct rpc_forward *f,
    rpc_reply_cb cb, void *arg)
{
	struct rpc_mailbox	*mb;
	size_t			 len;
	char			*payload;

	if ((mb = rpc_mailbox_of(srv)) == NULL) {
		return -EHOSTUNREACH;
	}
	payload = rpc_msg_encode_forward(mb->next_id, srv->type, f, &len);
	return rpc_send(mb, mb->next_id++, payload, len, cb, arg);
}

/* Calls in flight, in every mailbox. */
size_t
rpc_pending(void)
{
	return n_pending;
}

/* Fails what is left (the worker is exiting). */
void
rpc_client_finish(void)
{
	struct rpc_mailbox	*mb;

	while ((mb = TAILQ_FIRST(&mailboxes)) != NULL) {
		rpc_mailbox_fail(mb, "the worker is exiting");
	}
}
