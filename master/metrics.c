/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Prometheus metrics in the text exposition format, served by the master
 * on metrics_listen from the counters the workers report every second.
 * Any request on the socket gets the page; the connection closes after
 * it (HTTP/1.0), which is all a scraper needs.
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

static int	 metrics_clients;

static void
metrics_done(struct bufferevent *bev)
{
	metrics_clients--;
	bufferevent_free(bev);
}

static void
metrics_page(struct evbuffer *b)
{
	struct child	*w;
	const uint64_t	*v;
	size_t		 i;
	bool		 gauge;

	evbuffer_add_printf(b, "# TYPE shaddock_up gauge\nshaddock_up 1\n");
	evbuffer_add_printf(b, "# TYPE shaddock_generation gauge\n"
	    "shaddock_generation %u\n", master->generation);
	evbuffer_add_printf(b, "# TYPE shaddock_reloads_total counter\n"
	    "shaddock_reloads_total %u\n", master->reloads);
	evbuffer_add_printf(b, "# TYPE shaddock_workers gauge\n"
	    "shaddock_workers %zu\n", child_count());
	for (i = 0; i < WORKER_STATS_N; i++) {
		gauge = i < 8 || strcmp(worker_stats_names[i], "channels") ==
		    0 || strcmp(worker_stats_names[i], "channel_members") == 0;
		evbuffer_add_printf(b, "# TYPE shaddock_%s%s %s\n",
		    worker_stats_names[i], gauge ? "" : "_total",
		    gauge ? "gauge" : "counter");
		TAILQ_FOREACH(w, &master->children, entry) {
			v = (const uint64_t *)&w->stats;
			evbuffer_add_printf(b, "shaddock_%s%s{slot=\"%d\","
			    "pid=\"%d\",generation=\"%u\"} %" PRIu64 "\n",
			    worker_stats_names[i], gauge ? "" : "_total",
			    w->slot, (int)w->pid, w->generation, v[i]);
		}
	}
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

static void
metrics_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev), *body;

	/* Wait for the end of the request's headers, then answer. */
	if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos == -1 &&
	    evbuffer_search(in, "\n\n", 2, NULL).pos == -1) {
		if (evbuffer_get_length(in) > 8192) {
			metrics_done(bev);
		}
		return;
	}
	body = evbuffer_new();
	metrics_page(body);
	evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.0 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    evbuffer_get_length(body));
	evbuffer_add_buffer(bufferevent_get_output(bev), body);
	evbuffer_free(body);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, metrics_written, metrics_event, NULL);
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
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Opens metrics_listen when set. Returns 0 or -errno (logged). */
int
metrics_open(void)
{
	const struct addr	*a = &master->conf->metrics_addr;
	int			 fd, on = 1;

	if (*master->conf->metrics_listen == '\0') {
		return 0;
	}
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, 16) == -1) {
		log_error("metrics_listen %s: %s",
		    master->conf->metrics_listen, strerror(errno));
		close(fd);
		return -errno;
	}
	master->metrics_fd = fd;
	master->metrics_ev = event_new(master->base, fd, EV_READ | EV_PERSIST,
	    metrics_accept, NULL);
	event_add(master->metrics_ev, NULL);
	return 0;
}

void
metrics_close(void)
{
	if (master->metrics_ev == NULL) {
		return;
	}
	event_free(master->metrics_ev);
	master->metrics_ev = NULL;
	close(master->metrics_fd);
}
