/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The workers' membership of a Pomelo/Pinus cluster, as the master sees
 * it. Each worker registers with the cluster itself (worker/cluster.c);
 * the master keeps what must outlive a worker and what an operator asks:
 *
 *  - the exports of the bound sessions of every worker, so that when one
 *    dies another runs the session_closed hook for them and backends keep
 *    no ghost channel members (where a dead Node frontend leaves them,
 *    CLUSTER.md §9);
 *  - each worker's counters of the calls to each backend server, for
 *    show stat and /metrics;
 *  - `show cluster`, gathered from the workers.
 */

#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "common/hmap.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"

/* A bound session's export, as its worker last reported it. */
struct bound {
	uint64_t	 id;
	json_t		*export;
};

static struct hmap	 bounds;	/* 8-byte session id -> bound */
static json_t		*orphans;	/* exports waiting for a worker */

static bool
membership_on(void)
{
	return master->conf->cluster_type != CONF_CLUSTER_NONE;
}

static void
bound_free(struct bound *b)
{
	json_decref(b->export);
	free(b);
}

/* IPC_CLUSTER_BOUND: a session of <arg> is bound; its export is kept. */
int
membership_msg_bound(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct child	*c = arg;
	struct bound	*b, *old;
	json_t		*e;
	uint64_t	 id;

	e = json_loadb((const char *)m->payload, m->len, 0, NULL);
	if (!json_is_object(e) || !json_is_integer(json_object_get(e, "id"))) {
		json_decref(e);
		return -EBADMSG;
	}
	id = (uint64_t)json_integer_value(json_object_get(e, "id"));
	if ((uint32_t)(id >> 32) != c->serial) {
		/* Only a session's own worker speaks for it. */
		json_decref(e);
		return -EBADMSG;
	}
	b = xcalloc(1, sizeof *b);
	b->id = id;
	b->export = e;
	old = hmap_put(&bounds, (const char *)&b->id, sizeof b->id, b);
	if (old != NULL) {
		bound_free(old);
	}
	return 0;
}

/* IPC_CLUSTER_UNBOUND: unbound, or its hook ran: forgotten. */
int
membership_msg_unbound(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct ipc_session_closed	 sc;
	struct child			*c = arg;
	struct bound			*b;

	memcpy(&sc, m->payload, sizeof sc);
	if ((uint32_t)(sc.session >> 32) != c->serial) {
		return -EBADMSG;
	}
	b = hmap_del(&bounds, (const char *)&sc.session, sizeof sc.session);
	if (b != NULL) {
		bound_free(b);
	}
	return 0;
}

/* IPC_CLUSTER_STATS: <arg>'s counters of the calls to each backend. */
int
membership_msg_stats(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct child	*c = arg;
	json_t		*j;

	j = json_loadb((const char *)m->payload, m->len, 0, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		return -EBADMSG;
	}
	json_decref(c->cluster_stats);
	c->cluster_stats = j;
	return 0;
}

/* Hands the orphans to a ready worker, if there is one. */
static void
membership_deliver(void)
{
	struct child	*c;
	char		*text;

	if (orphans == NULL || json_array_size(orphans) == 0) {
		return;
	}
	TAILQ_FOREACH(c, &master->children, entry) {
		if (c->state == CHILD_READY) {
			break;
		}
	}
	if (c == NULL) {
		return;		/* the next worker that is ready gets them */
	}
	text = json_dumps(orphans, JSON_COMPACT);
	if (ipc_chan_send(c->chan, IPC_CLUSTER_ORPHANS, 0, text,
	    strlen(text), -1) == 0) {
		log_info("cluster: worker %d (pid %d) runs the session_closed "
		    "remote for %zu bound session%s of a dead worker", c->slot,
		    (int)c->pid, json_array_size(orphans),
		    json_array_size(orphans) == 1 ? "" : "s");
		json_array_clear(orphans);
	}
	free(text);
}

/*
 * The worker of <serial> is gone: the bound sessions it still reported
 * are orphans, whose hooks another worker runs.
 */
void
membership_child_gone(uint32_t serial)
{
	struct hmap_entry	*e, *next;
	struct bound		*b;
	size_t			 it;

	if (!membership_on() || bounds.n == 0) {
		return;
	}
	if (orphans == NULL) {
		orphans = json_array();
	}
	for (e = hmap_first(&bounds, &it); e != NULL; e = next) {
		next = hmap_next(&bounds, e, &it);
		b = e->value;
		if ((uint32_t)(b->id >> 32) != serial) {
			continue;
		}
		json_array_append(orphans, b->export);
		hmap_del(&bounds, (const char *)&b->id, sizeof b->id);
		bound_free(b);
	}
	membership_deliver();
}

/* A worker is ready: it may take orphans that waited for one. */
void
membership_child_ready(struct child *c)
{
	if (membership_on()) {
		membership_deliver();
	}
}

void
membership_free_all(void)
{
	struct hmap_entry	*e;
	size_t			 it;

	for (e = hmap_first(&bounds, &it); e != NULL;
	    e = hmap_next(&bounds, e, &it)) {
		bound_free(e->value);
	}
	hmap_finish(&bounds);
	json_decref(orphans);
	orphans = NULL;
}

/*
 * The backend servers' counters summed over the workers: an object by
 * server id of {type, forwarded, errors, timeouts, answered, latency_us,
 * hist}. A new reference.
 */
static json_t *
membership_backends(void)
{
	struct child	*c;
	json_t		*all = json_object(), *s, *sum, *h, *sh;
	const char	*id;
	const char	*keys[] = { "forwarded", "errors", "timeouts",
	    "answered", "latency_us" };
	size_t		 i, k;

	TAILQ_FOREACH(c, &master->children, entry) {
		json_array_foreach(c->cluster_stats, i, s) {
			id = json_string_value(json_object_get(s, "id"));
			if (id == NULL) {
				continue;
			}
			if ((sum = json_object_get(all, id)) == NULL) {
				json_object_set_new(all, id, json_deep_copy(s));
				json_object_del(json_object_get(all, id), "id");
				continue;
			}
			for (k = 0; k < nitems(keys); k++) {
				json_object_set_new(sum, keys[k], json_integer(
				    json_integer_value(json_object_get(sum,
				    keys[k])) + json_integer_value(
				    json_object_get(s, keys[k]))));
			}
			sh = json_object_get(sum, "hist");
			json_array_foreach(json_object_get(s, "hist"), k, h) {
				json_array_set_new(sh, k, json_integer(
				    json_integer_value(json_array_get(sh, k)) +
				    json_integer_value(h)));
			}
		}
	}
	return all;
}

/* show stat's "backends" member: calls to each backend server. */
void
membership_stat(json_t *stat)
{
	json_t		*all, *b;
	const char	*id;
	json_int_t	 n;

	if (!membership_on()) {
		return;
	}
	all = membership_backends();
	json_object_foreach(all, id, b) {
		n = json_integer_value(json_object_get(b, "answered"));
		json_object_set_new(b, "latency_ms_mean", json_real(n > 0 ?
		    (double)json_integer_value(json_object_get(b,
		    "latency_us")) / (double)n / 1000.0 : 0.0));
		json_object_del(b, "hist");
		json_object_del(b, "latency_us");
	}
	json_object_set_new(stat, "backends", all);
}

/* The bucket bounds of the latency histogram, in seconds, as "le". */
static const char *const membership_le[] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "1", "5", "+Inf",
};

/*
 * The per-backend series of /metrics, per worker (slot, generation) and
 * backend server (server, type): calls, errors, timeouts, and the latency
 * of the answers as a histogram.
 */
void
membership_metrics(struct evbuffer *b)
{
	static const struct {
		const char	*key, *metric, *help;
	} counters[] = {
		{ "forwarded", "backend_calls_total",
		  "Calls (forwarded requests and remotes) to a backend "
		  "server." },
		{ "errors", "backend_errors_total",
		  "Calls to a backend server failed by a lost connection." },
		{ "timeouts", "backend_timeouts_total",
		  "Calls to a backend server unanswered within rpc_timeout." },
	};
	struct child	*c;
	json_t		*s, *hist;
	const char	*id, *type;
	size_t		 i, k;
	uint64_t	 cum;

	if (!membership_on()) {
		return;
	}
	for (k = 0; k < nitems(counters); k++) {
		evbuffer_add_printf(b, "# HELP shaddock_%s %s\n# TYPE "
		    "shaddock_%s counter\n", counters[k].metric,
		    counters[k].help, counters[k].metric);
		TAILQ_FOREACH(c, &master->children, entry) {
			json_array_foreach(c->cluster_stats, i, s) {
				id = json_string_value(json_object_get(s, "id"));
				type = json_string_value(json_object_get(s,
				    "type"));
				evbuffer_add_printf(b, "shaddock_%s{slot=\"%d\","
				    "generation=\"%u\",server=\"%s\",type=\"%s\"}"
				    " %" JSON_INTEGER_FORMAT "\n",
				    counters[k].metric, c->slot, c->generation,
				    id, type, json_integer_value(
				    json_object_get(s, counters[k].key)));
			}
		}
	}
	evbuffer_add_printf(b, "# HELP shaddock_backend_latency_seconds The "
	    "time from a call to a backend server to its answer.\n# TYPE "
	    "shaddock_backend_latency_seconds histogram\n");
	TAILQ_FOREACH(c, &master->children, entry) {
		json_array_foreach(c->cluster_stats, i, s) {
			id = json_string_value(json_object_get(s, "id"));
			type = json_string_value(json_object_get(s, "type"));
			hist = json_object_get(s, "hist");
			cum = 0;
			for (k = 0; k < nitems(membership_le); k++) {
				cum += (uint64_t)json_integer_value(
				    json_array_get(hist, k));
				evbuffer_add_printf(b, "shaddock_backend_latency_"
				    "seconds_bucket{slot=\"%d\",generation="
				    "\"%u\",server=\"%s\",type=\"%s\",le=\"%s\"} "
				    "%" PRIu64 "\n", c->slot, c->generation, id,
				    type, membership_le[k], cum);
			}
			evbuffer_add_printf(b, "shaddock_backend_latency_"
			    "seconds_sum{slot=\"%d\",generation=\"%u\","
			    "server=\"%s\",type=\"%s\"} %.6f\n", c->slot,
			    c->generation, id, type, (double)json_integer_value(
			    json_object_get(s, "latency_us")) / 1e6);
			evbuffer_add_printf(b, "shaddock_backend_latency_"
			    "seconds_count{slot=\"%d\",generation=\"%u\","
			    "server=\"%s\",type=\"%s\"} %" JSON_INTEGER_FORMAT
			    "\n", c->slot, c->generation, id, type,
			    json_integer_value(json_object_get(s, "answered")));
		}
	}
}

static void
membership_cancel(void *arg)
{
	ipc_request_cancel(arg);
}

/* The workers answered show cluster: one view of the cluster. */
static void
membership_shown(const struct ipc_answer *answers, size_t n, void *arg)
{
	json_t		*workers = json_array(), *servers = json_array(), *w;
	json_t		*backends = membership_backends(), *list = NULL, *srv;
	json_t		*st, *byType = NULL;
	const char	*type;
	size_t		 i, k;

	for (i = 0; i < n; i++) {
		if (answers[i].status != 0) {
			continue;
		}
		w = json_loadb((const char *)answers[i].data, answers[i].len,
		    0, NULL);
		if (!json_is_object(w)) {
			json_decref(w);
			continue;
		}
		if (byType == NULL) {
			byType = json_incref(json_object_get(w, "servers"));
		}
		json_object_del(w, "servers");
		json_object_del(w, "master");
		json_object_del(w, "type");
		json_array_append_new(workers, w);
	}
	/*
	 * Every worker sees the same list: one row per server, by type in
	 * the master's order, with the calls of every worker summed.
	 */
	json_object_foreach(byType, type, list) {
		json_array_foreach(list, k, srv) {
			st = json_object_get(backends, json_string_value(
			    json_object_get(srv, "id")));
			json_array_append_new(servers, json_pack("{s:s, s:O, "
			    "s:O, s:O, s:O, s:I, s:I, s:I}", "type", type,
			    "id", json_object_get(srv, "id"),
			    "host", json_object_get(srv, "host") != NULL ?
			    json_object_get(srv, "host") : json_null(),
			    "port", json_object_get(srv, "port"),
			    "frontend", json_object_get(srv, "frontend"),
			    "forwarded", json_integer_value(json_object_get(st,
			    "forwarded")), "errors", json_integer_value(
			    json_object_get(st, "errors")), "timeouts",
			    json_integer_value(json_object_get(st, "timeouts"))));
		}
	}
	json_decref(byType);
	json_decref(backends);
	admin_answer(arg, json_pack("{s:s, s:s, s:o, s:o}",
	    "type", master->conf->cluster_type == CONF_CLUSTER_PINUS ?
	    "pinus" : "pomelo", "master", master->conf->cluster_master,
	    "workers", workers, "servers", servers));
}

/* show cluster: the master, each worker's registration, known servers. */
static void
membership_show(struct admin_call *call)
{
	struct ipc_request	*req;

	if (!membership_on()) {
		/* A standalone server: said plainly, not as an error. */
		admin_answer(call, json_pack("{s:s}", "type", "none"));
		return;
	}
	req = child_request(NULL, IPC_CLUSTER_SHOW, NULL, 0, membership_shown,
	    call);
	admin_wait(call, membership_cancel, req);
}

static const struct admin_cmd membership_cmds[] = {
	{ "show cluster", NULL, 0, "the cluster master, each worker's "
	  "registration, the servers known by type with the calls to each",
	  membership_show },
};
ADMIN_COMMANDS(membership_cmds)
