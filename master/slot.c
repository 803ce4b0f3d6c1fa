/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Worker slots: the table of places a worker fills in every generation,
 * and what happens when the current child of a slot exits unexpectedly:
 * a respawn at once, then with a doubling back-off while it crash-loops;
 * the master gives up when every slot crash-loops. A reload resizes the
 * table.
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"

#define SLOT_BACKOFF_FIRST_MS	100
#define SLOT_BACKOFF_MAX_MS	10000
#define SLOT_HEALTHY_MS		30000
#define SLOT_CRASH_LOOP		6	/* short-lived exits in a row */

static void	slot_respawn_cb(evutil_socket_t, short, void *);

static void
slot_schedule(struct slot *s)
{
	struct timeval	 tv;

	if (s->respawn == NULL) {
		/* By index: the slot table moves when a reload resizes it. */
		s->respawn = evtimer_new(master->base, slot_respawn_cb,
		    (void *)(intptr_t)s->index);
	}
	tv.tv_sec = (time_t)(s->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(s->backoff_ms % 1000) * 1000;
	evtimer_add(s->respawn, &tv);
}

static void
slot_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t		 i = (size_t)(intptr_t)arg;
	struct slot	*s;

	if (master->stopping || i >= master->n_slots) {
		return;
	}
	s = &master->slots[i];
	if (s->current != NULL) {
		return;
	}
	if (child_spawn(s->index) != 0) {
		s->backoff_ms = SLOT_BACKOFF_MAX_MS;
		slot_schedule(s);
	}
}

static bool
slot_all_crash_looping(void)
{
	size_t	 i;

	for (i = 0; i < master->n_slots; i++) {
		if (master->slots[i].crashes < SLOT_CRASH_LOOP) {
			return false;
		}
	}
	return master->n_slots > 0;
}

/*
 * The current child <c> of <s> exited unexpectedly: respawn, later when
 * the slot crash-loops; stop the server when every slot does.
 */
void
slot_crashed(struct slot *s, const struct child *c)
{
	uint64_t	 lived = now_ms() - c->spawned_ms;

	if (lived >= SLOT_HEALTHY_MS) {
		s->crashes = 0;
	}
	s->crashes++;
	if (s->crashes <= 1) {
		s->backoff_ms = 0;
	} else {
		s->backoff_ms = (uint64_t)SLOT_BACKOFF_FIRST_MS <<
		    (s->crashes - 2 < 7 ? s->crashes - 2 : 7);
		if (s->backoff_ms > SLOT_BACKOFF_MAX_MS) {
			s->backoff_ms = SLOT_BACKOFF_MAX_MS;
		}
	}
	if (slot_all_crash_looping()) {
		log_error("every worker slot is crash-looping (%d exits in a "
		    "row): giving up", SLOT_CRASH_LOOP);
		master->exit_code = 3;
		master_stop(true);
		return;
	}
	if (s->backoff_ms > 0) {
		log_warn("worker %d is crash-looping: respawning in %ju ms",
		    s->index, (uintmax_t)s->backoff_ms);
	}
	slot_schedule(s);
}

/* No slot respawns any more (the server stops). */
void
slot_cancel_respawns(void)
{
	size_t	 i;

	for (i = 0; i < master->n_slots; i++) {
		if (master->slots[i].respawn != NULL) {
			evtimer_del(master->slots[i].respawn);
		}
	}
}

/*
 * Makes the slot table <n> long. New slots start empty (the caller
 * spawns into them); removed slots forget their children, which the
 * caller drains.
 */
void
slot_resize(size_t n)
{
	size_t	 i;

	for (i = n; i < master->n_slots; i++) {
		if (master->slots[i].respawn != NULL) {
			event_free(master->slots[i].respawn);
		}
	}
	master->slots = xreallocarray(master->slots, n, sizeof *master->slots);
	for (i = master->n_slots; i < n; i++) {
		memset(&master->slots[i], 0, sizeof master->slots[i]);
		master->slots[i].index = (int)i;
	}
	master->n_slots = n;
}

/*
 * True while every slot has a ready child and the server is not stopping:
 * the watchdog's test and /healthz's.
 */
bool
slot_all_ready(void)
{
	struct child	*c;
	size_t		 i;

	for (i = 0; i < master->n_slots; i++) {
		c = master->slots[i].current;
		if (c == NULL || c->state != CHILD_READY) {
			return false;
		}
	}
	return !master->stopping;
}
