/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * This worker as one frontend server of a Pomelo or Pinus cluster
 * (CLUSTER.md §3, checklist §11.1-2): its admin link to the cluster's
 * master, and the server list the master announces.
 *
 *   OFF -> CONNECTING -CONNACK-> REGISTERING -ok-> SUBSCRIBING -list-> READY
 *               ^                                                     |
 *               +-------------- BACKOFF (1 s doubling to 60 s) <------+ lost
 *
 * The RPC acceptor listens before we register; the first registration
 * uses topic register (with the token), later ones reconnect, as a Node
 * monitor does. While the master is away everything keeps serving with
 * the last server list. The master's console signals stop, kill and
 * restart are refused: systemd owns shaddock's life.
 */

#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/admin-msg.h"
#include "common/crc32.h"
#include "common/flavour.h"
#include "common/hmap.h"
#include "common/jsval.h"
#include "common/log.h"
#include "common/mqtt.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define CLUSTER_CONNACK_TIMEOUT_MS	5000
#define CLUSTER_REPLY_TIMEOUT_MS	10000
#define CLUSTER_PING_MS			60000
#define CLUSTER_PONG_TIMEOUT_MS		120000
#define CLUSTER_BACKOFF_MIN_MS		1000
#define CLUSTER_BACKOFF_MAX_MS		60000
#define CLUSTER_LEAVE_MS		2000

enum cluster_state {
	CLUSTER_OFF,
	CLUSTER_CONNECTING,	/* TCP, then CONNECT until CONNACK */
	CLUSTER_REGISTERING,	/* register or reconnect sent */
	CLUSTER_SUBSCRIBING,	/* subscribe sent */
	CLUSTER_READY,
	CLUSTER_BACKOFF,	/* waiting to try again */
	CLUSTER_LEFT,
};

static const char *const cluster_state_names[] = {
	[CLUSTER_OFF] = "off",
	[CLUSTER_CONNECTING] = "connecting",
	[CLUSTER_REGISTERING] = "registering",
	[CLUSTER_SUBSCRIBING] = "subscribing",
	[CLUSTER_READY] = "registered",
	[CLUSTER_BACKOFF] = "waiting to reconnect",
	[CLUSTER_LEFT] = "left",
};

/* The servers of one type, in the order the master announced them. */
struct cluster_type {
	char			 *name;
	struct cluster_server	**list;
	size_t			  n;
	size_t			  cap;
};

static struct {
	enum cluster_state	 state;
	enum flavour		 flavour;
	char			 id[128];
	uint16_t		 rpc_port;
	uint16_t		 client_port;
	json_t			*info;		/* what we register */
	struct mconn		*link;
	struct event		*timer;		/* deadlines and back-off */
	struct event		*ping;
	uint64_t		 backoff_ms;
	uint64_t		 pong_ms;	/* last PINGRESP or CONNACK */
	uint64_t		 next_req;	/* our reqIds, from 1 */
	uint64_t		 subscribe_req;
	bool			 registered_once;
	bool			 refused_logged;
	uint64_t		 registrations;
	uint64_t		 losses;
	char			 last_error[192];
	struct hmap		 by_id;		/* id -> cluster_server */
	struct hmap		 by_type;	/* type -> cluster_type */
	void			(*left)(void);
} cl;

const uint64_t cluster_latency_bounds[CLUSTER_LATENCY_BUCKETS - 1] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
	5000000,
};

static void	cluster_connect(void);
static void	cluster_lost(const char *why);
static void	cluster_timer_cb(evutil_socket_t, short, void *);

bool
cluster_enabled(void)
{
	return worker->conf->cluster_type != CONF_CLUSTER_NONE;
}

int
cluster_flavour(void)
{
	return cl.flavour;
}

const char *
cluster_self_id(void)
{
	return cl.id;
}

static void
cluster_set_state(enum cluster_state state)
{
	if (cl.state != state) {
		log_debug("cluster: %s -> %s", cluster_state_names[cl.state],
		    cluster_state_names[state]);
		cl.state = state;
	}
}

static void
cluster_timer_in(uint64_t ms)
{
	struct timeval	 tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(cl.timer, &tv);
}

/* Server list. */

static struct cluster_type *
cluster_type_get(const char *name, bool create)
{
	struct cluster_type	*t;

	t = hmap_get(&cl.by_type, name, strlen(name));
	if (t == NULL && create) {
		t = xcalloc(1, sizeof *t);
		t->name = xstrdup(name);
		hmap_put(&cl.by_type, t->name, strlen(t->name), t);
	}
	return t;
}

static void
cluster_server_free(struct cluster_server *srv)
{
	if (srv->mailbox != NULL) {
		rpc_mailbox_close(srv->mailbox, "the server left the cluster");
	}
	json_decref(srv->info);
	free(srv->id);
	free(srv->type);
	free(srv->host);
	free(srv);
}

/* Takes <srv> out of its type's list and frees it. */
static void
cluster_server_remove(struct cluster_server *srv)
{
	struct cluster_type	*t = cluster_type_get(srv->type, false);
	size_t			 i;

	hmap_del(&cl.by_id, srv->id, strlen(srv->id));
	if (t != NULL) {
		for (i = 0; i < t->n; i++) {
			if (t->list[i] == srv) {
				memmove(&t->list[i], &t->list[i + 1],
				    (t->n - i - 1) * sizeof *t->list);
				t->n--;
				break;
			}
		}
	}
	cluster_server_free(srv);
}

/*
 * Adds the server of <info>, or replaces the one with its id in place
 * (Node keeps the position of a known id; a new one goes to the end).
 */
static void
cluster_server_add(json_t *info)
{
	struct admin_server	 v;
	struct cluster_server	*srv, *old;
	struct cluster_type	*t;
	size_t			 i;

	if (admin_msg_server(info, &v) != 0) {
		log_info("cluster: ignoring a server entry without id or "
		    "serverType");
		return;
	}
	srv = xcalloc(1, sizeof *srv);
	srv->id = xstrdup(v.id);
	srv->type = xstrdup(v.server_type);
	srv->host = v.host != NULL ? xstrdup(v.host) : NULL;
	srv->port = v.port;
	srv->frontend = v.frontend;
	srv->info = json_incref(info);
	old = hmap_get(&cl.by_id, srv->id, strlen(srv->id));
	if (old != NULL && strcmp(old->type, srv->type) == 0) {
		t = cluster_type_get(old->type, false);
		for (i = 0; i < t->n; i++) {
			if (t->list[i] == old) {
				t->list[i] = srv;
			}
		}
		/* Same address: keep the connection and its counters. */
		if (old->port == srv->port && old->host != NULL &&
		    srv->host != NULL && strcmp(old->host, srv->host) == 0) {
			srv->mailbox = old->mailbox;
			old->mailbox = NULL;
			srv->forwarded = old->forwarded;
			srv->errors = old->errors;
			srv->timeouts = old->timeouts;
			srv->latency_us = old->latency_us;
			srv->answered = old->answered;
			memcpy(srv->latency_hist, old->latency_hist,
			    sizeof srv->latency_hist);
		}
		hmap_put(&cl.by_id, srv->id, strlen(srv->id), srv);
		cluster_server_free(old);
		rpc_mailbox_retarget(srv);
		return;
	}
	if (old != NULL) {
		cluster_server_remove(old);
	}
	t = cluster_type_get(srv->type, true);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4;
		t->list = xreallocarray(t->list, t->cap, sizeof *t->list);
	}
	t->list[t->n++] = srv;
	hmap_put(&cl.by_id, srv->id, strlen(srv->id), srv);
}

static void
cluster_servers_clear(void)
{
	struct hmap_entry	*e;
	struct cluster_type	*t;
	size_t			 it, i;

	for (e = hmap_first(&cl.by_type, &it); e != NULL;
	    e = hmap_next(&cl.by_type, e, &it)) {
		t = e->value;
		for (i = 0; i < t->n; i++) {
			cluster_server_free(t->list[i]);
		}
		free(t->list);
		free(t->name);
		free(t);
	}
	hmap_finish(&cl.by_type);
	hmap_finish(&cl.by_id);
}

/* The whole list from a map id -> info (subscribe, replaceServer). */
static void
cluster_servers_load(json_t *map)
{
	json_t	*list, *info;
	size_t	 i;

	list = admin_msg_server_list(map);
	cluster_servers_clear();
	json_array_foreach(list, i, info) {
		cluster_server_add(info);
	}
	json_decref(list);
}

/*
 * The server of <type> for session <s>, by the [route TYPE] rule: the
 * crc32 of the key, modulo the number of servers of the type that can be
 * called, in the master's order and the framework's arithmetic
 * (CLUSTER.md §5.2). NULL when there is none.
 */
struct cluster_server *
cluster_pick(const char *type, size_t type_len, const struct session *s)
{
	const struct conf	*conf = worker->conf;
	const struct route_conf	*rc = NULL;
	struct cluster_type	*t;
	struct cluster_server	*callable[64], **list = callable;
	json_t			*key = NULL;
	char			*name, *text, num[32];
	size_t			 i, n = 0, len;
	struct cluster_server	*srv;

	name = xstrndup(type, type_len);
	t = cluster_type_get(name, false);
	for (i = 0; i < conf->n_routes; i++) {
		if (strcmp(conf->routes[i].server_type, name) == 0) {
			rc = &conf->routes[i];
		}
	}
	free(name);
	if (t == NULL || t->n == 0) {
		return NULL;
	}
	if (t->n > nitems(callable)) {
		list = xreallocarray(NULL, t->n, sizeof *list);
	}
	for (i = 0; i < t->n; i++) {
		if (t->list[i]->port != 0 && t->list[i]->host != NULL &&
		    strcmp(t->list[i]->id, cl.id) != 0) {
			list[n++] = t->list[i];
		}
	}
	srv = NULL;
	if (n > 0) {
		switch (rc != NULL ? rc->key_kind : CONF_ROUTE_UID) {
		case CONF_ROUTE_SETTING:
			key = json_incref(session_get(s, rc->key_setting));
			break;
		case CONF_ROUTE_SESSION:
			snprintf(num, sizeof num, "%ju", (uintmax_t)s->id);
			key = json_string(num);
			break;
		default:
			key = s->uid != NULL ? json_string(s->uid) : NULL;
			break;
		}
		/* (key || '').toString(), as the frameworks' routes do. */
		text = crc32_route_key(key, &len);
		srv = list[crc32_route_index(cl.flavour, text, len, n)];
		free(text);
		json_decref(key);
	}
	if (list != callable) {
		free(list);
	}
	return srv;
}

/* The admin link. */

static void
cluster_publish(const char *topic, char *payload, size_t len)
{
	if (cl.link != NULL) {
		mconn_publish(cl.link, topic, payload, len);
	}
	free(payload);
}

static void
cluster_respond(json_t *id, const json_t *error, const json_t *body)
{
	size_t	 len;
	char	*s;

	s = admin_msg_encode_response(id, error, body, &len);
	cluster_publish(ADMIN_TOPIC_MONITOR, s, len);
}

/* __monitorwatcher__: the master announces servers. */
static void
cluster_watcher(const struct admin_msg *m)
{
	struct admin_watch	 w;
	struct cluster_server	*srv;
	char			*s;
	size_t			 len;
	int			 r;

	r = admin_msg_watcher(m->body, &w);
	if (r == -ENOENT) {
		return;		/* Node leaves these unanswered */
	}
	if (r == 0) {
		switch (w.action) {
		case ADMIN_ACTION_ADD_SERVER:
			cluster_server_add(w.server);
			break;
		case ADMIN_ACTION_REMOVE_SERVER:
			srv = hmap_get(&cl.by_id, w.id, strlen(w.id));
			if (srv != NULL) {
				log_info("cluster: server %s (%s) left", srv->id,
				    srv->type);
				cluster_server_remove(srv);
			}
			break;
		case ADMIN_ACTION_REPLACE_SERVER:
			cluster_servers_load(w.servers);
			break;
		case ADMIN_ACTION_START_OVER:
			break;
		}
	}
	if (m->kind == ADMIN_REQUEST) {
		s = admin_msg_encode_ack(m->id, r == 0, &len);
		cluster_publish(ADMIN_TOPIC_MONITOR, s, len);
	}
}

/* __console__: pomelo list, stop, kill, restart. */
static void
cluster_console(const struct admin_msg *m)
{
	json_t	*rec, *err;

	switch (admin_msg_console_signal(m->body)) {
	case ADMIN_SIGNAL_LIST:
		if (m->kind != ADMIN_REQUEST) {
			return;
		}
		rec = admin_msg_console_list(cl.id,
		    worker->conf->cluster_server_type, getpid(),
		    proc_rss(getpid()), 0, 0,
		    (double)(now_ms() - worker->started_ms) / 1000.0);
		cluster_respond(m->id, rec, NULL);
		json_decref(rec);
		return;
	case ADMIN_SIGNAL_STOP:
	case ADMIN_SIGNAL_KILL:
	case ADMIN_SIGNAL_RESTART:
		log_warn("cluster: the master asked this worker to %s: "
		    "refused; shaddock is stopped and reloaded through "
		    "systemd or shaddockctl", json_string_value(
		    json_object_get(m->body, "signal")));
		if (m->kind == ADMIN_REQUEST) {
			/* No error slot: the master does nothing more. */
			cluster_respond(m->id, NULL, NULL);
		}
		return;
	default:
		/* blacklist, cron: not ours. */
		if (m->kind == ADMIN_REQUEST) {
			err = json_string("not supported by shaddock");
			cluster_respond(m->id, err, NULL);
			json_decref(err);
		}
		return;
	}
}

/* The answer to our subscribe: the server list; then we record. */
static void
cluster_subscribed(const struct admin_msg *m)
{
	size_t	 len, n;
	char	*s;

	cluster_servers_load(m->body);
	s = admin_msg_encode_record(cl.id, &len);
	cluster_publish(ADMIN_TOPIC_MONITOR, s, len);
	cluster_set_state(CLUSTER_READY);
	cl.backoff_ms = 0;
	cl.refused_logged = false;
	cl.registrations++;
	evtimer_del(cl.timer);
	n = cl.by_id.n;
	log_info("cluster: registered with the master at %s as %s (RPC port "
	    "%s:%u); %zu server%s known", worker->conf->cluster_master, cl.id,
	    worker->conf->cluster_host, cl.rpc_port, n, n == 1 ? "" : "s");
}

static void
cluster_monitor(const struct mqtt_packet *p)
{
	struct admin_msg	 m;
	json_t			*root, *err;
	char			 why[128];
	uint64_t		 id;

	if (admin_msg_parse(p->publish.payload, p->publish.payload_len,
	    &root, &m, why, sizeof why) != 0) {
		worker->stats.cluster_bad_messages++;
		log_info("cluster: a bad monitor message from the master: %s",
		    why);
		return;
	}
	switch (m.kind) {
	case ADMIN_RESPONSE:
		if (cl.state == CLUSTER_SUBSCRIBING &&
		    jsval_key_uint(m.id, &id) && id == cl.subscribe_req) {
			cluster_subscribed(&m);
		}
		break;
	case ADMIN_REQUEST:
	case ADMIN_NOTIFY:
		if (m.module_id != NULL &&
		    strcmp(m.module_id, ADMIN_MODULE_MONITORWATCHER) == 0) {
			cluster_watcher(&m);
		} else if (m.module_id != NULL &&
		    strcmp(m.module_id, ADMIN_MODULE_CONSOLE) == 0) {
			cluster_console(&m);
		} else if (m.kind == ADMIN_REQUEST) {
			err = admin_msg_unknown_module(m.module_id);
			cluster_respond(m.id, err, NULL);
			json_decref(err);
		}
		break;
	case ADMIN_COMMAND:
		break;
	}
	json_decref(root);
}

static void
cluster_reply(const struct mqtt_packet *p)
{
	enum admin_refusal	 why;
	char			 text[160], err[128];
	size_t			 len;
	bool			 ok;
	char			*s;

	if (cl.state != CLUSTER_REGISTERING) {
		return;
	}
	if (admin_msg_parse_reply(p->publish.payload, p->publish.payload_len,
	    &ok, &why, text, sizeof text, err, sizeof err) != 0) {
		cluster_lost("a bad registration reply");
		return;
	}
	if (!ok) {
		snprintf(cl.last_error, sizeof cl.last_error, "refused: %s",
		    text);
		if (!cl.refused_logged) {
			cl.refused_logged = true;
			log_error("cluster: the master at %s refused %s: %s%s",
			    worker->conf->cluster_master, cl.id, text,
			    why == ADMIN_REFUSED_AUTH ? " (check [cluster] "
			    "token against the cluster's adminServer.json)" :
			    "");
		}
		cluster_lost("registration refused");
		return;
	}
	cl.registered_once = true;
	cl.subscribe_req = ++cl.next_req;
	s = admin_msg_encode_subscribe(cl.subscribe_req, cl.id, &len);
	cluster_publish(ADMIN_TOPIC_MONITOR, s, len);
	cluster_set_state(CLUSTER_SUBSCRIBING);
	cluster_timer_in(CLUSTER_REPLY_TIMEOUT_MS);
}

static void
cluster_register(void)
{
	size_t	 len;
	char	*s;

	if (cl.registered_once) {
		s = admin_msg_encode_reconnect(cl.id,
		    worker->conf->cluster_server_type, getpid(), cl.info, &len);
		cluster_publish(ADMIN_TOPIC_RECONNECT, s, len);
	} else {
		s = admin_msg_encode_register(cl.id,
		    worker->conf->cluster_server_type, getpid(), cl.info,
		    *worker->conf->cluster_token != '\0' ?
		    worker->conf->cluster_token : NULL, &len);
		cluster_publish(ADMIN_TOPIC_REGISTER, s, len);
	}
	cluster_set_state(CLUSTER_REGISTERING);
	cluster_timer_in(CLUSTER_REPLY_TIMEOUT_MS);
}

static void
cluster_link_packet(struct mconn *link, const struct mqtt_packet *p,
    void *arg)
{
	switch (p->type) {
	case MQTT_CONNACK:
		if (cl.state == CLUSTER_CONNECTING) {
			cl.pong_ms = now_ms();
			if (p->connack.return_code != 0) {
				cluster_lost("CONNACK refused the connection");
				return;
			}
			cluster_register();
		}
		return;
	case MQTT_PINGRESP:
		cl.pong_ms = now_ms();
		return;
	case MQTT_PINGREQ:
		mconn_send_short(link, mqtt_encode_pingresp);
		return;
	case MQTT_DISCONNECT:
		cluster_lost("the master sent DISCONNECT");
		return;
	case MQTT_PUBLISH:
		break;
	default:
		return;
	}
	if (mqtt_topic_is(p, ADMIN_TOPIC_MONITOR)) {
		if (cl.state == CLUSTER_SUBSCRIBING ||
		    cl.state == CLUSTER_READY) {
			cluster_monitor(p);
		}
	} else if (mqtt_topic_is(p, ADMIN_TOPIC_REGISTER) ||
	    mqtt_topic_is(p, ADMIN_TOPIC_RECONNECT_OK)) {
		cluster_reply(p);
	}
}

static void
cluster_link_connected(struct mconn *link, void *arg)
{
	uint8_t	 buf[MQTT_CONNECT_MAX(64)];
	char	 client_id[64];
	int	 n;

	n = snprintf(client_id, sizeof client_id, "SHADDOCK_ADMIN_%ju_%d",
	    (uintmax_t)now_ms(), (int)getpid());
	n = mqtt_encode_connect(buf, sizeof buf, client_id, (size_t)n, 0);
	mconn_send(link, buf, (size_t)n);
}

static void
cluster_link_closed(struct mconn *link, const char *why, void *arg)
{
	cl.link = NULL;
	cluster_lost(why);
}

static const struct mconn_callbacks cluster_link_cb = {
	.connected = cluster_link_connected,
	.packet = cluster_link_packet,
	.closed = cluster_link_closed,
};

/* The link is gone or unusable: back off, then connect again. */
static void
cluster_lost(const char *why)
{
	if (cl.state == CLUSTER_LEFT || cl.state == CLUSTER_OFF) {
		return;
	}
	if (cl.link != NULL) {
		mconn_close(cl.link, false);
		cl.link = NULL;
	}
	evtimer_del(cl.ping);
	if (cl.state == CLUSTER_READY) {
		cl.losses++;
		log_warn("cluster: lost the master at %s (%s); serving with "
		    "the last server list and reconnecting",
		    worker->conf->cluster_master, why);
	} else if (cl.backoff_ms >= CLUSTER_BACKOFF_MAX_MS / 2) {
		log_info("cluster: master %s: %s", worker->conf->cluster_master,
		    why);
	}
	if (strncmp(cl.last_error, "refused", 7) != 0 ||
	    strcmp(why, "registration refused") != 0) {
		snprintf(cl.last_error, sizeof cl.last_error, "%s", why);
	}
	cl.backoff_ms = cl.backoff_ms == 0 ? CLUSTER_BACKOFF_MIN_MS :
	    cl.backoff_ms * 2;
	if (cl.backoff_ms > CLUSTER_BACKOFF_MAX_MS) {
		cl.backoff_ms = CLUSTER_BACKOFF_MAX_MS;
	}
	cluster_set_state(CLUSTER_BACKOFF);
	cluster_timer_in(cl.backoff_ms);
}

static void
cluster_ping_arm(void)
{
	struct timeval	 tv = { CLUSTER_PING_MS / 1000, 0 };

	evtimer_add(cl.ping, &tv);
}

static void
cluster_connect(void)
{
	const struct addr	*a = &worker->conf->cluster_master_addr;

	cl.link = mconn_connect((const struct sockaddr *)&a->ss, a->len,
	    worker->conf->cluster_rpc_max_payload, &cluster_link_cb, NULL);
	if (cl.link == NULL) {
		cluster_lost(strerror(errno));
		return;
	}
	cluster_set_state(CLUSTER_CONNECTING);
	cluster_timer_in(CLUSTER_CONNACK_TIMEOUT_MS);
	cluster_ping_arm();
}

static void
cluster_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	switch (cl.state) {
	case CLUSTER_BACKOFF:
		cluster_connect();
		break;
	case CLUSTER_CONNECTING:
		cluster_lost("no CONNACK in time");
		break;
	case CLUSTER_REGISTERING:
	case CLUSTER_SUBSCRIBING:
		cluster_lost("no answer to the registration in time");
		break;
	case CLUSTER_LEFT:
		if (cl.left != NULL) {
			cl.left();
			cl.left = NULL;
		}
		break;
	default:
		break;
	}
}

/* Every 60 s: PINGREQ; a master silent for 120 s is lost. */
static void
cluster_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	if (cl.link == NULL) {
		return;
	}
	if (now_ms() - cl.pong_ms > CLUSTER_PONG_TIMEOUT_MS) {
		cluster_lost("no PINGRESP for 120 s");
		return;
	}
	mconn_send_short(cl.link, mqtt_encode_pingreq);
}

/* Builds the info we register: CLUSTER.md §3.2, §11.1. */
static int
cluster_build_info(char *err, size_t errlen)
{
	const struct conf	*conf = worker->conf;
	struct admin_info	 info;
	json_t			*paths = NULL, *extra;
	const char		*w, *e, *colon;
	char			*ns, *path;
	int			 r;

	memset(&info, 0, sizeof info);
	info.id = cl.id;
	info.server_type = conf->cluster_server_type;
	info.host = conf->cluster_host;
	info.port = cl.rpc_port;
	info.client_host = conf->cluster_client_host;
	info.client_port = cl.client_port;
	info.frontend = true;
	if (*conf->cluster_remoter_paths != '\0') {
		paths = json_array();
		for (w = conf->cluster_remoter_paths; *w != '\0'; w = e) {
			w += strspn(w, " \t");
			if (*w == '\0') {
				break;
			}
			e = w + strcspn(w, " \t");
			colon = memchr(w, ':', (size_t)(e - w));
			ns = xstrndup(w, (size_t)(colon - w));
			path = xstrndup(colon + 1, (size_t)(e - colon - 1));
			admin_msg_remoter_path_add(paths, ns,
			    conf->cluster_server_type, path);
			free(ns);
			free(path);
		}
		info.remoter_paths = paths;
	}
	extra = json_pack("{s:s, s:i, s:i}", "shaddock", SHADDOCK_VERSION,
	    "slot", worker->slot, "generation", (int)worker->generation);
	info.extra = extra;
	r = admin_msg_info(&info, &cl.info);
	json_decref(paths);
	json_decref(extra);
	if (r != 0) {
		snprintf(err, errlen, "cannot build the registration info");
	}
	return r;
}

/*
 * Prepares the cluster membership (nothing when [cluster] type is none):
 * our id and the RPC acceptor, which must listen before we register.
 * Returns 0, or -errno with the reason in <err>.
 */
int
cluster_init(char *err, size_t errlen)
{
	const struct conf	*conf = worker->conf;
	const struct addr	*a;
	int			 r;

	if (!cluster_enabled()) {
		return 0;
	}
	cl.flavour = conf->cluster_type == CONF_CLUSTER_PINUS ?
	    FLAVOUR_PINUS : FLAVOUR_POMELO;
	snprintf(cl.id, sizeof cl.id, "%s-%d-%u-%u", conf->cluster_server_id,
	    worker->slot, worker->generation, worker->serial);
	a = &conf->listeners[0].addr;
	if (a->ss.ss_family == AF_INET) {
		cl.client_port = ntohs(((const struct sockaddr_in *)
		    &a->ss)->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		cl.client_port = ntohs(((const struct sockaddr_in6 *)
		    &a->ss)->sin6_port);
	}
	if ((r = rpc_server_open(conf->cluster_host, &cl.rpc_port, err,
	    errlen)) != 0) {
		return r;
	}
	if ((r = cluster_build_info(err, errlen)) != 0) {
		return r;
	}
	cl.timer = evtimer_new(worker->base, cluster_timer_cb, NULL);
	cl.ping = event_new(worker->base, -1, EV_PERSIST, cluster_ping_cb,
	    NULL);
	cl.state = CLUSTER_OFF;
	return 0;
}

/* The worker serves: register with the master. */
void
cluster_start(void)
{
	if (!cluster_enabled() || cl.state != CLUSTER_OFF) {
		return;
	}
	cluster_set_state(CLUSTER_BACKOFF);
	cluster_connect();
}

/*
 * The worker is done (drained, or stopping): DISCONNECT so the master
 * removes us from every server list at once, let the calls still in
 * flight (session-closed hooks) finish for a bounded time, then <done>.
 */
void
cluster_leave(void (*done)(void))
{
	if (!cluster_enabled() || cl.state == CLUSTER_LEFT) {
		done();
		return;
	}
	if (cl.link != NULL) {
		mconn_send_short(cl.link, mqtt_encode_disconnect);
		mconn_close(cl.link, true);
		cl.link = NULL;
	}
	evtimer_del(cl.ping);
	cluster_set_state(CLUSTER_LEFT);
	log_info("cluster: %s left the cluster", cl.id);
	cl.left = done;
	cluster_timer_in(rpc_pending() > 0 ? CLUSTER_LEAVE_MS : 0);
}

void
cluster_finish(void)
{
	if (!cluster_enabled()) {
		return;
	}
	if (cl.link != NULL) {
		mconn_close(cl.link, false);
	}
	rpc_server_close();
	cluster_servers_clear();
	rpc_client_finish();
	if (cl.timer != NULL) {
		event_free(cl.timer);
	}
	if (cl.ping != NULL) {
		event_free(cl.ping);
	}
	json_decref(cl.info);
	memset(&cl, 0, sizeof cl);
}

/* An answer from <srv> came <us> after its call. */
void
cluster_latency(struct cluster_server *srv, uint64_t us)
{
	size_t	 i;

	srv->answered++;
	srv->latency_us += us;
	for (i = 0; i < CLUSTER_LATENCY_BUCKETS - 1; i++) {
		if (us <= cluster_latency_bounds[i]) {
			break;
		}
	}
	srv->latency_hist[i]++;
}

/*
 * Sends the master the counters of the calls to each backend server
 * (for show stat and /metrics), with the heartbeat: JSON text
 * [{"id","type","forwarded","errors","timeouts","answered",
 * "latency_us","hist":[...]}].
 */
void
cluster_send_stats(struct ipc_chan *chan)
{
	struct hmap_entry	*e;
	struct cluster_server	*srv;
	json_t			*list, *hist;
	char			*text;
	size_t			 it, i;

	if (!cluster_enabled()) {
		return;
	}
	list = json_array();
	for (e = hmap_first(&cl.by_id, &it); e != NULL;
	    e = hmap_next(&cl.by_id, e, &it)) {
		srv = e->value;
		if (srv->forwarded == 0) {
			continue;
		}
		hist = json_array();
		for (i = 0; i < CLUSTER_LATENCY_BUCKETS; i++) {
			json_array_append_new(hist,
			    json_integer((json_int_t)srv->latency_hist[i]));
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:I, s:I, s:I, s:o}", "id", srv->id, "type", srv->type,
		    "forwarded", (json_int_t)srv->forwarded,
		    "errors", (json_int_t)srv->errors,
		    "timeouts", (json_int_t)srv->timeouts,
		    "answered", (json_int_t)srv->answered,
		    "latency_us", (json_int_t)srv->latency_us,
		    "hist", hist));
	}
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	ipc_chan_send(chan, IPC_CLUSTER_STATS, 0, text, strlen(text), -1);
	free(text);
}

/* What `show cluster` says of this worker. */
json_t *
cluster_show(void)
{
	struct hmap_entry	*e;
	struct cluster_type	*t;
	struct cluster_server	*srv;
	json_t			*types, *list, *o;
	size_t			 it, i;

	types = json_object();
	for (e = hmap_first(&cl.by_type, &it); e != NULL;
	    e = hmap_next(&cl.by_type, e, &it)) {
		t = e->value;
		list = json_array();
		for (i = 0; i < t->n; i++) {
			srv = t->list[i];
			o = json_pack("{s:s, s:s?, s:i, s:b, s:I, s:I, s:I, "
			    "s:f}", "id", srv->id, "host", srv->host,
			    "port", srv->port, "frontend", srv->frontend,
			    "forwarded", (json_int_t)srv->forwarded,
			    "errors", (json_int_t)srv->errors,
			    "timeouts", (json_int_t)srv->timeouts,
			    "latency_ms", srv->answered > 0 ?
			    (double)srv->latency_us / (double)srv->answered /
			    1000.0 : 0.0);
			json_array_append_new(list, o);
		}
		json_object_set_new(types, t->name, list);
	}
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:s, s:I, "
	    "s:I, s:o}", "id", cl.id, "slot", worker->slot,
	    "generation", (int)worker->generation,
	    "master", worker->conf->cluster_master,
	    "type", cl.flavour == FLAVOUR_PINUS ? "pinus" : "pomelo",
	    "state", cluster_state_names[cl.state],
	    "rpc_port", cl.rpc_port,
	    "last_error", cl.last_error,
	    "registrations", (json_int_t)cl.registrations,
	    "losses", (json_int_t)cl.losses,
	    "servers", types);
}
