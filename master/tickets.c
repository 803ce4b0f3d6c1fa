/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The master's ring of TLS session-ticket keys (common/tls.h). It is made
 * before the first worker is forked, so every worker inherits it; every
 * tls_ticket_rotation a new key becomes current, the current one becomes
 * the previous one (still accepted), and the ring goes to every worker
 * over its control channel. Reloads keep the ring, so a client resumes
 * its TLS session on a worker of any generation. It lives in memory only.
 */

#include "config.h"

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <sodium.h>

#include "common/log.h"
#include "common/tls.h"
#include "master/master.h"

static struct tls_ticket_keys	 tickets_ring;
static struct event		*tickets_timer;
static uint64_t			 tickets_period_ms;

static bool
tickets_wanted(const struct conf *conf)
{
	size_t	 i;

	for (i = 0; i < conf->n_listeners; i++) {
		if (conf->listeners[i].tls != CONF_TLS_OFF) {
			return true;
		}
	}
	return false;
}

static void
tickets_rotate_cb(evutil_socket_t fd, short what, void *arg)
{
	tls_ticket_keys_rotate(&tickets_ring);
	tls_ticket_keys_use(&tickets_ring, sizeof tickets_ring);
	child_send_all(IPC_TLS_TICKET_KEYS, &tickets_ring,
	    sizeof tickets_ring);
	log_info("TLS session-ticket keys rotated (next in %ju s)",
	    (uintmax_t)(tickets_period_ms / 1000));
}

/* Rotates every tls_ticket_rotation while a listener has TLS. */
static void
tickets_arm(void)
{
	const struct conf	*conf = master->conf;
	struct timeval		 tv;

	if (!tickets_wanted(conf)) {
		evtimer_del(tickets_timer);
		tickets_period_ms = 0;
		return;
	}
	if (tickets_period_ms == conf->tls_ticket_rotation &&
	    evtimer_pending(tickets_timer, NULL)) {
		return;
	}
	tickets_period_ms = conf->tls_ticket_rotation;
	tv.tv_sec = (time_t)(tickets_period_ms / 1000);
	tv.tv_usec = (suseconds_t)(tickets_period_ms % 1000) * 1000;
	evtimer_add(tickets_timer, &tv);
}

/* Makes the first key; call before the first worker is forked. */
void
tickets_start(void)
{
	tls_ticket_keys_rotate(&tickets_ring);
	tls_ticket_keys_use(&tickets_ring, sizeof tickets_ring);
	tickets_timer = event_new(master->base, -1, EV_PERSIST,
	    tickets_rotate_cb, NULL);
	tickets_arm();
}

/* After a reload: the same ring, on the new period if it changed. */
void
tickets_reload(void)
{
	tickets_arm();
}

void
tickets_stop(void)
{
	if (tickets_timer != NULL) {
		event_free(tickets_timer);
		tickets_timer = NULL;
	}
	tls_ticket_keys_clear();
	sodium_memzero(&tickets_ring, sizeof tickets_ring);
}
