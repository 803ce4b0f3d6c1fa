/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The counters, as `show stat` sums them and as the Prometheus page lists
 * them, both read from the tables of common/counters.h; and the small
 * HTTP server on metrics_listen: GET /metrics (the text exposition
 * format), GET /healthz (200 while every slot serves, 503 while the
 * server starts, reloads or stops: a load balancer's check), 404 for
 * any other path. One request per connection (Connection: close); at
 * most METRICS_MAX_CLIENTS at once, each closed after METRICS_TIMEOUT_S.
 */

#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"

#define METRICS_MAX_CLIENTS	64
#define METRICS_TIMEOUT_S	10
#define METRICS_MAX_REQUEST	8192	/* request line and headers */

static int	 metrics_clients;

/* The master's own counters, now. */
void
metrics_master_stats(struct master_stats *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->up = 1;
	ret->uptime = (now_ms() - master->started_ms) / 1000;
	ret->generation = master->generation;
	ret->reloads = master->reloads;
	ret->workers = child_count();
	ret->master_control_errors = master->control_errors;
}

/*
 * The counters of every live child summed into <ret>. The totals of a
 * child leave with it. Channels are counted by the master, which holds
 * them all (a channel with members on two workers is one channel).
 */
void
metrics_sum(struct worker_stats *ret)
{
	const struct counter_def	*d;
	struct child			*c;
	uint64_t			*v;
	size_t				 i;

	memset(ret, 0, sizeof *ret);
	TAILQ_FOREACH(c, &master->children, entry) {
		for (i = 0; i < worker_counters_n; i++) {
			d = &worker_counters[i];
			v = (uint64_t *)((char *)ret + d->offset);
			*v += counter_get(d, &c->stats);
		}
	}
	hub_counts(&ret->channels, &ret->channel_members);
}

/* show stat: the workers' counters summed, then the master's. */
static void
metrics_show_stat(struct admin_call *call)
{
	const struct counter_def	*d;
	struct worker_stats		 sum;
	struct master_stats		 ms;
	json_t				*j;
	size_t				 i;

	metrics_sum(&sum);
	metrics_master_stats(&ms);
	j = json_object();
	for (i = 0; i < worker_counters_n; i++) {
		d = &worker_counters[i];
		json_object_set_new(j, d->name,
		    json_integer((json_int_t)counter_get(d, &sum)));
	}
	for (i = 0; i < master_counters_n; i++) {
		d = &master_counters[i];
		json_object_set_new(j, d->name,
		    json_integer((json_int_t)counter_get(d, &ms)));
	}
	membership_stat(j);
	admin_answer(call, j);
}

static const struct admin_cmd metrics_cmds[] = {
	{ "show stat", NULL, 0, "counters summed over the workers, then the "
	  "master's", metrics_show_stat },
};
ADMIN_COMMANDS(metrics_cmds)

static void
metrics_head(struct evbuffer *b, const struct counter_def *d)
{
	evbuffer_add_printf(b, "# HELP shaddock_%s %s\n# TYPE shaddock_%s %s\n",
	    d->metric, d->help, d->metric, counter_type(d));
}

/* The Prometheus text exposition format (version 0.0.4). */
static void
metrics_page(struct evbuffer *b)
{
	const struct counter_def	*d;
	struct master_stats		 ms;
	struct child			*c;
	size_t				 i;

	metrics_master_stats(&ms);
	for (i = 0; i < master_counters_n; i++) {
		d = &master_counters[i];
		metrics_head(b, d);
		evbuffer_add_printf(b, "shaddock_%s %" PRIu64 "\n", d->metric,
		    counter_get(d, &ms));
	}
	/*
	 * Per process, labelled by what stays the same across a respawn:
	 * a pid label would start a new series at every one.
	 */
	for (i = 0; i < worker_counters_n; i++) {
		d = &worker_counters[i];
		metrics_head(b, d);
		TAILQ_FOREACH(c, &master->children, entry) {
			evbuffer_add_printf(b, "shaddock_%s{slot=\"%d\","
			    "generation=\"%u\"} %" PRIu64 "\n", d->metric,
			    c->slot, c->generation, counter_get(d, &c->stats));
		}
	}
	membership_metrics(b);
}

/*
 * The state /healthz reports: NULL while every slot serves, else why not
 * (starting, reloading, stopping, or a slot without a ready worker).
 */
static const char *
metrics_unhealthy(void)
{
	if (master->stopping) {
		return "stopping";
	}
	if (!master->announced) {
		return "starting";
	}
	if (reload_running()) {
		return "reloading";
	}
	if (!slot_all_ready()) {
		return "not ready";
	}
	return NULL;
}

static void
metrics_done(struct bufferevent *bev)
{
	metrics_clients--;
	bufferevent_free(bev);
}

static void
metrics_written(struct bufferevent *bev, void *arg)
{
	metrics_done(bev);
}

static void
metrics_event(struct bufferevent *bev, short what, void *arg)
{
	metrics_done(bev);
}

/* Queues the answer and closes once it is written. */
static void
metrics_respond(struct bufferevent *bev, int code, const char *reason,
    const char *type, struct evbuffer *body, bool head)
{
	struct evbuffer	*out = bufferevent_get_output(bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", code,
	    reason, type, evbuffer_get_length(body), code == 405 ?
	    "Allow: GET, HEAD\r\n" : "");
	if (!head) {
		evbuffer_add_buffer(out, body);
	}
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, metrics_written, metrics_event, NULL);
}

/*
 * Splits the request line "METHOD SP TARGET SP HTTP/x.y" of <req> (NUL
 * terminated, the line ended by CR or LF). Returns 0 with the method and
 * the path (the target without its query) as views, or -EINVAL.
 */
static int
metrics_request_line(const char *req, const char **ret_method,
    size_t *ret_method_len, const char **ret_path, size_t *ret_path_len)
{
	size_t	 m, t, v;

	m = strcspn(req, " \r\n");
	if (m == 0 || req[m] != ' ') {
		return -EINVAL;
	}
	t = strcspn(req + m + 1, " \r\n");
	if (t == 0 || req[m + 1 + t] != ' ') {
		return -EINVAL;
	}
	v = strcspn(req + m + 2 + t, " \r\n");
	if (v < 6 || strncmp(req + m + 2 + t, "HTTP/", 5) != 0) {
		return -EINVAL;
	}
	*ret_method = req;
	*ret_method_len = m;
	*ret_path = req + m + 1;
	*ret_path_len = strcspn(req + m + 1, "? \r\n");
	return 0;
}

static bool
metrics_is(const char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

static void
metrics_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev), *body;
	const char	*method, *path, *why;
	size_t		 mlen, plen;
	char		*req;
	bool		 head;

	/* Wait for the end of the request's headers, then answer. */
	if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos == -1 &&
	    evbuffer_search(in, "\n\n", 2, NULL).pos == -1) {
		if (evbuffer_get_length(in) > METRICS_MAX_REQUEST) {
			body = evbuffer_new();
			evbuffer_add_printf(body, "request too large\n");
			metrics_respond(bev, 431, "Request Header Fields Too "
			    "Large", "text/plain", body, false);
			evbuffer_free(body);
		}
		return;
	}
	evbuffer_add(in, "", 1);
	req = (char *)evbuffer_pullup(in, -1);
	body = evbuffer_new();
	if (metrics_request_line(req, &method, &mlen, &path, &plen) != 0) {
		evbuffer_add_printf(body, "bad request\n");
		metrics_respond(bev, 400, "Bad Request", "text/plain", body,
		    false);
		goto out;
	}
	head = metrics_is(method, mlen, "HEAD");
	if (!head && !metrics_is(method, mlen, "GET")) {
		evbuffer_add_printf(body, "method not allowed\n");
		metrics_respond(bev, 405, "Method Not Allowed", "text/plain",
		    body, false);
		goto out;
	}
	if (metrics_is(path, plen, "/metrics")) {
		metrics_page(body);
		metrics_respond(bev, 200, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", body, head);
	} else if (metrics_is(path, plen, "/healthz")) {
		why = metrics_unhealthy();
		evbuffer_add_printf(body, "%s\n", why != NULL ? why : "ready");
		metrics_respond(bev, why != NULL ? 503 : 200, why != NULL ?
		    "Service Unavailable" : "OK", "text/plain", body, head);
	} else {
		evbuffer_add_printf(body, "not found: /metrics and /healthz "
		    "are served here\n");
		metrics_respond(bev, 404, "Not Found", "text/plain", body,
		    head);
	}
out:
	evbuffer_free(body);
	evbuffer_drain(in, (size_t)-1);
}

static void
metrics_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct bufferevent	*bev;
	struct timeval		 tv = { METRICS_TIMEOUT_S, 0 };
	int			 fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		return;
	}
	/* Scrapers are few; a flood of idle connections must not pile up. */
	if (metrics_clients >= METRICS_MAX_CLIENTS) {
		close(fd);
		return;
	}
	metrics_clients++;
	bev = bufferevent_socket_new(master->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, metrics_read, NULL, metrics_event, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	/* More than one request's worth waits in the kernel. */
	bufferevent_setwatermark(bev, EV_READ, 0, METRICS_MAX_REQUEST + 2);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Opens metrics_listen when set. Returns 0 or -errno (logged). */
int
metrics_open(void)
{
	const struct addr	*a = &master->conf->metrics_addr;
	int			 fd, on = 1, r;

	if (*master->conf->metrics_listen == '\0') {
		return 0;
	}
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		r = -errno;
		log_error("metrics_listen %s: %s",
		    master->conf->metrics_listen, strerror(-r));
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, 16) == -1) {
		r = -errno;
		log_error("metrics_listen %s: %s",
		    master->conf->metrics_listen, strerror(-r));
		close(fd);
		return r;
	}
	master->metrics_fd = fd;
	master->metrics_ev = event_new(master->base, fd, EV_READ | EV_PERSIST,
	    metrics_accept, NULL);
	event_add(master->metrics_ev, NULL);
	return 0;
}

/* Stops listening; requests being answered finish. */
void
metrics_close(void)
{
	if (master->metrics_ev == NULL) {
		return;
	}
	event_free(master->metrics_ev);
	master->metrics_ev = NULL;
	close(master->metrics_fd);
	master->metrics_fd = -1;
}
