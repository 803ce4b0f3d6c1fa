/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Reload (SIGHUP or the admin command): parse and check the new file and
 * change nothing when it is bad; otherwise reconcile the listeners, fork
 * a new generation into every slot, and hand each slot over when its new
 * child reports ready: the older children of the slot drain, on the same
 * sockets. The reload ends when every slot of the new generation is
 * ready, or fails after RELOAD_READY_TIMEOUT_MS; the admin clients that
 * wait for it then get the result. The first start ends the same way.
 */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/sdnotify.h"
#include "common/xmalloc.h"
#include "master/master.h"

#define RELOAD_READY_TIMEOUT_MS	15000
#define RELOAD_MAX_WAITERS	16

static bool			 reload_busy;
static uint64_t			 reload_deadline_ms;
static struct admin_call	*reload_waiters[RELOAD_MAX_WAITERS];
static int			 reload_n_waiters;

/* True from a reload's start until its result. */
bool
reload_running(void)
{
	return reload_busy;
}

/* Answers every client waiting for the reload that just ended. */
static void
reload_finish(bool ok, const char *text)
{
	struct admin_call	*call;
	int			 i, n = reload_n_waiters;

	reload_busy = false;
	reload_n_waiters = 0;
	for (i = 0; i < n; i++) {
		if ((call = reload_waiters[i]) == NULL) {
			continue;
		}
		if (ok) {
			admin_answer(call, json_string(text));
		} else {
			admin_fail(call, "%s", text);
		}
	}
}

/* Ends a reload that changed nothing; <why> is logged unless <logged>. */
static void
reload_failed(const char *why, bool logged)
{
	char	*text;

	xasprintf(&text, "reload failed: %s", why);
	if (!logged) {
		master_log_errors("", text);
	}
	sdnotifyf("READY=1\nSTATUS=%s", text);
	reload_finish(false, text);
	free(text);
}

/* A setting a reload cannot change: keep the running value, and say so. */
static void
reload_keep(char **value, const char *running, const char *name)
{
	if (strcmp(*value, running) == 0) {
		return;
	}
	log_warn("reload: changing %s needs a restart; keeping %s", name,
	    running);
	free(*value);
	*value = xstrdup(running);
}

/*
 * Reloads the configuration. A bad file or a listener that cannot be
 * bound leaves everything as it was. A reload asked for while one runs
 * is that one: its waiters get its result.
 */
void
reload_start(void)
{
	struct conf	*conf = NULL, *old;
	struct listener	*ls;
	char		*errors, err[512], *first;
	size_t		 n, i, nl;

	if (master->stopping) {
		reload_finish(false, "reload failed: the server is stopping");
		return;
	}
	if (reload_busy) {
		log_info("reload already in progress");
		return;
	}
	sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%ju\nSTATUS=reloading",
	    (uintmax_t)now_us());
	log_info("reloading %s", master->conf_path);
	if (conf_load(master->conf_path, &conf, &errors) != 0 ||
	    master_check_files(conf, &errors) != 0) {
		if (errors == NULL) {
			errors = xstrdup("unknown error");
		}
		/* The first error is the answer; the log has them all. */
		master_log_errors("reload: ", errors);
		nl = strcspn(errors, "\n");
		first = xstrndup(errors, nl);
		reload_failed(first, true);
		free(first);
		free(errors);
		conf_free(conf);
		return;
	}
	if (conf->accept != master->conf->accept) {
		reload_failed("changing accept needs a restart", false);
		conf_free(conf);
		return;
	}
	if (listen_reconcile(conf, &ls, &n, err, sizeof err) != 0) {
		reload_failed(err, false);
		conf_free(conf);
		return;
	}
	master->listeners = ls;
	master->n_listeners = n;
	reload_keep(&conf->admin_socket, master->conf->admin_socket,
	    "admin_socket");
	reload_keep(&conf->runtime_dir, master->conf->runtime_dir,
	    "runtime_dir");
	reload_keep(&conf->pid_file, master->conf->pid_file, "pid_file");
	if (strcmp(conf->admin_group, master->conf->admin_group) != 0) {
		admin_set_group(conf->admin_group);
	}
	old = master->conf;
	master->conf = conf;
	log_set_level((enum log_level)conf->log_level);
	if (strcmp(conf->log_file, old->log_file) != 0) {
		log_open('M', (enum log_level)conf->log_level, conf->log_file);
	}
	/*
	 * The metrics socket stays as long as its address does: closing it
	 * would reset the scrapes queued in it, and a worker forked a moment
	 * ago may still hold it, so binding it again could fail.
	 */
	if (strcmp(conf->metrics_listen, old->metrics_listen) != 0) {
		metrics_close();
		metrics_open();
	}
	conf_free(old);
	tickets_reload();

	master->reloads++;
	master->generation++;
	reload_busy = true;
	reload_deadline_ms = now_ms() + RELOAD_READY_TIMEOUT_MS;
	slot_resize(conf->workers);
	for (i = 0; i < master->n_slots; i++) {
		master->slots[i].crashes = 0;
		child_spawn((int)i);
	}
}

/* Limits how many generations drain at once: the oldest stop now. */
static void
reload_cap_draining(void)
{
	struct child	*c;
	uint32_t	 oldest;
	unsigned	 gens;
	uint32_t	 seen[64];
	size_t		 i;

	for (;;) {
		gens = 0;
		oldest = UINT32_MAX;
		TAILQ_FOREACH(c, &master->children, entry) {
			if (c->state != CHILD_DRAINING) {
				continue;
			}
			for (i = 0; i < gens && seen[i] != c->generation; i++) {
				;
			}
			if (i == gens && gens < 64) {
				seen[gens++] = c->generation;
			}
			if (c->generation < oldest) {
				oldest = c->generation;
			}
		}
		if (gens <= master->conf->max_draining_generations) {
			return;
		}
		log_warn("more than %ju generations draining: stopping "
		    "generation %u now",
		    (uintmax_t)master->conf->max_draining_generations, oldest);
		TAILQ_FOREACH(c, &master->children, entry) {
			if (c->state == CHILD_DRAINING &&
			    c->generation == oldest) {
				child_stop(c, "reload");
			}
		}
	}
}

static bool
reload_generation_ready(void)
{
	struct child	*c;
	size_t		 i;

	for (i = 0; i < master->n_slots; i++) {
		c = master->slots[i].current;
		if (c == NULL || c->state != CHILD_READY ||
		    c->generation != master->generation) {
			return false;
		}
	}
	return true;
}

/* Every slot of the newest generation serves: finish a start or reload. */
static void
reload_generation_done(void)
{
	struct child	*c;
	char		 text[128];

	/* The children of removed slots, and any older one left. */
	TAILQ_FOREACH(c, &master->children, entry) {
		if (c->generation < master->generation &&
		    (c->state == CHILD_STARTING || c->state == CHILD_READY)) {
			child_drain(c, master->conf->shutdown_timeout,
			    "reload");
		}
	}
	reload_cap_draining();
	if (!master->announced) {
		master->announced = true;
		master_status("ready: %zu workers", master->n_slots);
		log_info("ready: %zu workers serving", master->n_slots);
		return;
	}
	if (reload_busy) {
		snprintf(text, sizeof text, "reload: ok, generation %u",
		    master->generation);
		log_info("%s", text);
		master_status("reloaded: generation %u, %zu workers",
		    master->generation, master->n_slots);
		reload_finish(true, text);
	}
}

/*
 * Child <c> reports that it serves (IPC_READY): the older children of its
 * slot drain now, and when every slot is ready the start or reload ends.
 */
void
reload_child_ready(struct child *c)
{
	struct child	*o;

	if (c->state != CHILD_STARTING) {
		return;
	}
	c->state = CHILD_READY;
	c->heartbeat_ms = now_ms();
	log_debug("worker %d (pid %d) ready", c->slot, (int)c->pid);
	TAILQ_FOREACH(o, &master->children, entry) {
		if (o != c && o->slot == c->slot &&
		    o->generation < c->generation &&
		    (o->state == CHILD_READY || o->state == CHILD_STARTING)) {
			child_drain(o, master->conf->shutdown_timeout,
			    "reload");
		}
	}
	if (reload_generation_ready()) {
		reload_generation_done();
	}
}

/* Once a second: a reload whose new children are late has failed. */
void
reload_tick(void)
{
	char	 text[128];

	if (!reload_busy || now_ms() <= reload_deadline_ms) {
		return;
	}
	log_error("reload: the new workers were not ready in time");
	snprintf(text, sizeof text, "reload failed: the workers of "
	    "generation %u were not ready in time (see the log)",
	    master->generation);
	reload_finish(false, text);
	sdnotify("READY=1\nSTATUS=reload incomplete: new workers not ready "
	    "in time");
}

/* Ends a reload in progress as failed, with <why> (the server stops). */
void
reload_abort(const char *why)
{
	char	*text;

	if (!reload_busy) {
		return;
	}
	xasprintf(&text, "reload failed: %s", why);
	reload_finish(false, text);
	free(text);
}

/* A waiting client is gone. */
static void
reload_forget(void *arg)
{
	int	 i;

	for (i = 0; i < reload_n_waiters; i++) {
		if (reload_waiters[i] == arg) {
			reload_waiters[i] = NULL;
		}
	}
}

/*
 * reload: answered with the result of the reload in progress, or of one
 * it starts now.
 */
static void
reload_cmd(struct admin_call *call)
{
	if (reload_n_waiters == RELOAD_MAX_WAITERS) {
		admin_fail(call, "too many reloads waiting");
		return;
	}
	reload_waiters[reload_n_waiters++] = call;
	admin_wait(call, reload_forget, call);
	if (!reload_busy) {
		reload_start();
	}
}

static const struct admin_cmd reload_cmds[] = {
	{ "reload", NULL, 0, "reload the configuration; answers when the new "
	  "workers serve", reload_cmd },
};
ADMIN_COMMANDS(reload_cmds)
