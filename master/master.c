/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The master's run time: signals, the once-a-second supervision tick,
 * reload and stop. A reload parses and checks the new file first and
 * changes nothing when it is bad; otherwise it reconciles the listeners,
 * forks a new generation into every slot and lets spawn.c hand each slot
 * over as its new worker reports ready.
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/sdnotify.h"
#include "common/xmalloc.h"
#include "master/master.h"

#define RELOAD_READY_TIMEOUT_MS	15000

struct master	*master;

const char *
worker_state_name(enum worker_state state)
{
	switch (state) {
	case WORKER_STARTING:
		return "starting";
	case WORKER_READY:
		return "ready";
	case WORKER_DRAINING:
		return "draining";
	case WORKER_EXITING:
		return "exiting";
	}
	return "unknown";
}

/* Sends READY=1 with a STATUS line to systemd. */
void
master_status(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	sdnotifyf("READY=1\nSTATUS=%s", s);
	free(s);
}

/* Logs each line of <errors> (as conf_load returns them). */
void
master_log_errors(const char *prefix, const char *errors)
{
	const char	*p = errors, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		log_error("%s%.*s", prefix, (int)(nl ? nl - p : (long)strlen(p)),
		    p);
		p = nl ? nl + 1 : NULL;
	}
}

/* Ends a reload that changed nothing; <why> is logged unless <logged>. */
static void
master_reload_failed(const char *why, bool logged)
{
	char	*text;

	xasprintf(&text, "reload failed: %s", why);
	if (!logged) {
		master_log_errors("", text);
	}
	sdnotifyf("READY=1\nSTATUS=%s", text);
	admin_reload_done(false, text);
	free(text);
}

/* A setting a reload cannot change: keep the running value, and say so. */
static void
master_keep(char **value, const char *running, const char *name)
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
 * bound leaves everything as it was. Admin clients waiting for the
 * result are answered when the new generation serves.
 */
void
master_reload(void)
{
	struct conf	*conf = NULL, *old;
	struct listener	*ls;
	char		*errors, err[512], *first;
	size_t		 n, i, nl;

	if (master->stopping) {
		admin_reload_done(false, "reload failed: the server is "
		    "stopping");
		return;
	}
	if (master->reloading) {
		/* Queued waiters get the result of the running reload. */
		log_info("reload already in progress");
		return;
	}
	sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%ju\nSTATUS=reloading",
	    (uintmax_t)now_us());
	log_info("reloading %s", master->conf_path);
	if (conf_load(master->conf_path, &conf, &errors) != 0 ||
	    main_check_files(conf, &errors) != 0) {
		if (errors == NULL) {
			errors = xstrdup("unknown error");
		}
		/* The first error is the answer; the log has them all. */
		master_log_errors("reload: ", errors);
		nl = strcspn(errors, "\n");
		first = xstrndup(errors, nl);
		master_reload_failed(first, true);
		free(first);
		free(errors);
		conf_free(conf);
		return;
	}
	if (conf->accept != master->conf->accept) {
		master_reload_failed("changing accept needs a restart", false);
		conf_free(conf);
		return;
	}
	if (listen_reconcile(conf, &ls, &n, err, sizeof err) != 0) {
		master_reload_failed(err, false);
		conf_free(conf);
		return;
	}
	master->listeners = ls;
	master->n_listeners = n;
	master_keep(&conf->admin_socket, master->conf->admin_socket,
	    "admin_socket");
	master_keep(&conf->runtime_dir, master->conf->runtime_dir,
	    "runtime_dir");
	master_keep(&conf->pid_file, master->conf->pid_file, "pid_file");
	if (strcmp(conf->admin_group, master->conf->admin_group) != 0) {
		admin_set_group(conf->admin_group);
	}
	old = master->conf;
	master->conf = conf;
	log_set_level((enum log_level)conf->log_level);
	if (strcmp(conf->log_file, old->log_file) != 0) {
		log_open('M', (enum log_level)conf->log_level, conf->log_file);
	}
	conf_free(old);
	metrics_close();
	metrics_open();
	tickets_reload();

	master->reloads++;
	master->generation++;
	master->reloading = true;
	master->reload_deadline_ms = now_ms() + RELOAD_READY_TIMEOUT_MS;
	spawn_resize_slots(conf->workers);
	for (i = 0; i < master->n_slots; i++) {
		master->slots[i].crashes = 0;
		spawn_worker((int)i);
	}
}

/*
 * Stops the server: every worker drains for shutdown_timeout (kicking
 * what remains) or, when <fast>, kicks everyone at once; the loop ends
 * when the last worker has exited.
 */
void
master_stop(bool fast)
{
	struct worker	*w, *tw;
	size_t		 i;

	if (master->stopping && (!fast || master->fast_stop)) {
		return;
	}
	master->stopping = true;
	master->fast_stop = fast;
	sdnotify("STOPPING=1\nSTATUS=stopping");
	log_info("%s stop: %zu workers", fast ? "fast" : "graceful",
	    spawn_live_workers());
	for (i = 0; i < master->n_slots; i++) {
		if (master->slots[i].respawn != NULL) {
			evtimer_del(master->slots[i].respawn);
		}
	}
	TAILQ_FOREACH_SAFE(w, &master->workers, entry, tw) {
		if (fast) {
			spawn_stop(w, "shutdown");
		} else {
			spawn_drain(w, master->conf->shutdown_timeout,
			    "shutdown");
		}
	}
	if (master->reloading) {
		master->reloading = false;
		admin_reload_done(false, "reload failed: the server is "
		    "stopping");
	}
	if (TAILQ_EMPTY(&master->workers)) {
		event_base_loopexit(master->base, NULL);
	}
}

static void
master_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w;
	int		 r;

	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: reload");
		master_reload();
		break;
	case SIGTERM:
	case SIGINT:
		log_info("%s: graceful stop", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		master_stop(false);
		break;
	case SIGQUIT:
		log_info("SIGQUIT: fast stop");
		master_stop(true);
		break;
	case SIGUSR1:
		if ((r = log_reopen()) != 0) {
			log_error("reopening the log file: %s", strerror(-r));
			break;
		}
		log_info("SIGUSR1: log file reopened");
		/* Workers may have dropped the rights to open it: pass it. */
		TAILQ_FOREACH(w, &master->workers, entry) {
			ipc_chan_send(w->chan, IPC_REOPEN_LOGS, 0, NULL, 0,
			    log_fd());
		}
		break;
	case SIGCHLD:
		spawn_reap();
		break;
	}
}

static void
master_tick(evutil_socket_t fd, short what, void *arg)
{
	spawn_supervise();
}

/* Twice per WATCHDOG_USEC: pets systemd's watchdog while all is well. */
static void
master_watchdog(evutil_socket_t fd, short what, void *arg)
{
	if (spawn_healthy()) {
		sdnotify("WATCHDOG=1");
	}
}

/*
 * Runs the master loop until the server has stopped. The listeners,
 * slots and admin socket are already set up by main().
 */
int
master_run(void)
{
	static const int	 sigs[] = {
		SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGCHLD,
	};
	struct timeval		 one = { 1, 0 };
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	for (i = 0; i < nitems(sigs); i++) {
		master->sig_ev[i] = evsignal_new(master->base, sigs[i],
		    master_signal, NULL);
		evsignal_add(master->sig_ev[i], NULL);
	}
	master->tick = event_new(master->base, -1, EV_PERSIST, master_tick,
	    NULL);
	evtimer_add(master->tick, &one);
	master->watchdog_usec = sdnotify_watchdog_usec();
	if (master->watchdog_usec != 0) {
		struct timeval	 half;

		half.tv_sec = (time_t)(master->watchdog_usec / 2 / 1000000);
		half.tv_usec = (suseconds_t)(master->watchdog_usec / 2 %
		    1000000);
		master->watchdog = event_new(master->base, -1, EV_PERSIST,
		    master_watchdog, NULL);
		evtimer_add(master->watchdog, &half);
	}

	master->generation = 1;
	tickets_start();
	spawn_resize_slots(master->conf->workers);
	for (i = 0; i < master->n_slots; i++) {
		spawn_worker((int)i);
	}
	event_base_dispatch(master->base);

	for (i = 0; i < nitems(sigs); i++) {
		event_free(master->sig_ev[i]);
	}
	event_free(master->tick);
	tickets_stop();
	if (master->watchdog != NULL) {
		event_free(master->watchdog);
	}
	return master->exit_code;
}
