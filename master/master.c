/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The master's run time: signals, the once-a-second supervision tick, the
 * systemd watchdog, the first start and the stop, and `show info`. Reload
 * is reload.c's; the children and their slots are child.c's and slot.c's.
 */

#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/dict.h"
#include "common/log.h"
#include "common/protobuf.h"
#include "common/sdnotify.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "master/master.h"

struct master	*master;

/*
 * Loads one protos file into <*ret> (NULL when it is not set or does not
 * exist, which Pomelo takes as no schema). Returns 0, or -EINVAL with the
 * error in <ret_errors>.
 */
static int
master_load_protos(const struct conf *conf, const char *key,
    const char *path, struct pb_protos **ret, char **ret_errors)
{
	char	 err[PB_ERR_SIZE];
	int	 r;

	*ret = NULL;
	if (*path == '\0') {
		return 0;
	}
	r = pb_protos_load(path, conf->protobuf_flavour == CONF_FLAVOUR_PINUS ?
	    PB_PINUS : PB_POMELO, ret, err, sizeof err);
	if (r == -ENOENT) {
		log_warn("%s: %s: %s does not exist: no schema (as Pomelo "
		    "reads a missing file)", conf->path, key, path);
		return 0;
	}
	if (r != 0) {
		xasprintf(ret_errors, "%s: %s: %s\n", conf->path, key, err);
		return -EINVAL;
	}
	return 0;
}

#define MASTER_TLS_WARN_DAYS	14

/*
 * Builds the TLS context of each TLS listener of <conf> (kept in the
 * listener's tls_ctx): the certificates and keys are read here, by the
 * master, at start and at each reload. Returns 0, or -EINVAL with every
 * error ("FILE:LINE: directive: reason") in <ret_errors>.
 */
static int
master_load_tls(struct conf *conf, char **ret_errors)
{
	struct listener_conf	*l;
	struct tls_ctx_conf	 o;
	const char		*field;
	char			 err[512], date[32], *line, *all = NULL;
	int64_t			 left;
	size_t			 i, len = 0;

	for (i = 0; i < conf->n_listeners; i++) {
		l = &conf->listeners[i];
		if (l->tls == CONF_TLS_OFF) {
			continue;
		}
		memset(&o, 0, sizeof o);
		o.certificate = l->tls_certificate;
		o.key = l->tls_key;
		o.protocols = l->tls_protocols;
		o.ciphers = l->tls_ciphers;
		o.ticket_lifetime_s = conf->tls_ticket_rotation / 1000;
		if (tls_ctx_create(&o, &l->tls_ctx, &field, err,
		    sizeof err) != 0) {
			xasprintf(&line, "%s:%d: %s: %s\n", conf->path,
			    conf_line(conf, i, field), field, err);
			all = xrealloc(all, len + strlen(line) + 1);
			memcpy(all + len, line, strlen(line) + 1);
			len += strlen(line);
			free(line);
			continue;
		}
		left = (l->tls_ctx->not_after - (int64_t)time(NULL)) / 86400;
		if (left < MASTER_TLS_WARN_DAYS) {
			log_warn("%s:%d: tls_certificate: %s expires on %s, in "
			    "%jd day%s", conf->path,
			    conf_line(conf, i, "tls_certificate"),
			    l->tls_certificate, tls_time_format(
			    l->tls_ctx->not_after, date, sizeof date),
			    (intmax_t)left, left == 1 ? "" : "s");
		}
	}
	if (all != NULL) {
		*ret_errors = all;
		return -EINVAL;
	}
	return 0;
}

/*
 * Checks what the workers will load (users, groups, the dictionary), and
 * loads the TLS certificates and the protobuf schemas into <conf>, where the workers find them
 * once forked, so -t and a reload catch every error. Returns 0, or
 * -EINVAL with the errors in <ret_errors> (the caller's to free).
 */
int
master_check_files(struct conf *conf, char **ret_errors)
{
	struct dict	 d;
	char		 err[512];

	*ret_errors = NULL;
	if (master_load_tls(conf, ret_errors) != 0) {
		return -EINVAL;
	}
	if (*conf->user != '\0' && getpwnam(conf->user) == NULL) {
		xasprintf(ret_errors, "%s: user: no user named \"%s\"\n",
		    conf->path, conf->user);
		return -EINVAL;
	}
	if (*conf->group != '\0' && getgrnam(conf->group) == NULL) {
		xasprintf(ret_errors, "%s: group: no group named \"%s\"\n",
		    conf->path, conf->group);
		return -EINVAL;
	}
	if (*conf->admin_group != '\0' && getgrnam(conf->admin_group) ==
	    NULL) {
		xasprintf(ret_errors, "%s: admin_group: no group named "
		    "\"%s\"\n", conf->path, conf->admin_group);
		return -EINVAL;
	}
	if (conf->use_protobuf) {
		if (master_load_protos(conf, "server_protos",
		    conf->server_protos, &conf->pb_server, ret_errors) != 0 ||
		    master_load_protos(conf, "client_protos",
		    conf->client_protos, &conf->pb_client, ret_errors) != 0) {
			return -EINVAL;
		}
		if (pb_protos_version(conf->pb_client, conf->pb_server,
		    conf->pb_version) != 0) {
			xasprintf(ret_errors, "%s: use_protobuf: the protos "
			    "version needs MD5, which this OpenSSL refuses\n",
			    conf->path);
			return -EINVAL;
		}
	}
	if (!conf->use_dict || *conf->dictionary == '\0') {
		return 0;
	}
	memset(&d, 0, sizeof d);
	if (dict_init(&d, NULL, 0, conf->dictionary, err, sizeof err) != 0) {
		xasprintf(ret_errors, "%s: dictionary: %s\n", conf->path, err);
		dict_finish(&d);
		return -EINVAL;
	}
	dict_finish(&d);
	return 0;
}

/* show info: the master itself. */
static void
master_show_info(struct admin_call *call)
{
	admin_answer(call, json_pack("{s:I, s:s, s:f, s:I, s:I, s:s, s:I, "
	    "s:s, s:b}",
	    "pid", (json_int_t)master->pid,
	    "version", SHADDOCK_VERSION,
	    "uptime", (double)(now_ms() - master->started_ms) / 1000.0,
	    "generation", (json_int_t)master->generation,
	    "workers", (json_int_t)master->n_slots,
	    "config", master->conf_path,
	    "reloads", (json_int_t)master->reloads,
	    "accept", master->conf->accept == CONF_ACCEPT_REUSEPORT ?
	    "reuseport" : "shared",
	    "stopping", master->stopping));
}

static const struct admin_cmd master_cmds[] = {
	{ "show info", NULL, 0, "pid, version, uptime, generation, workers, "
	  "config, reloads, accept mode", master_show_info },
};
ADMIN_COMMANDS(master_cmds)

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

/*
 * Stops the server: every worker drains for shutdown_timeout (kicking
 * what remains) or, when <fast>, kicks everyone at once; the loop ends
 * when the last worker has exited.
 */
void
master_stop(bool fast)
{
	struct child	*c, *tc;

	if (master->stopping && (!fast || master->fast_stop)) {
		return;
	}
	master->stopping = true;
	master->fast_stop = fast;
	sdnotify("STOPPING=1\nSTATUS=stopping");
	log_info("%s stop: %zu workers", fast ? "fast" : "graceful",
	    child_count());
	slot_cancel_respawns();
	TAILQ_FOREACH_SAFE(c, &master->children, entry, tc) {
		if (fast) {
			child_stop(c, "shutdown");
		} else {
			child_drain(c, master->conf->shutdown_timeout,
			    "shutdown");
		}
	}
	reload_abort("the server is stopping");
	if (TAILQ_EMPTY(&master->children)) {
		event_base_loopexit(master->base, NULL);
	}
}

static void
master_signal(evutil_socket_t sig, short what, void *arg)
{
	struct child	*c;
	int		 r;

	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: reload");
		reload_start();
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
		TAILQ_FOREACH(c, &master->children, entry) {
			ipc_chan_send(c->chan, IPC_REOPEN_LOGS, 0, NULL, 0,
			    log_fd());
		}
		break;
	case SIGCHLD:
		child_reap();
		break;
	}
}

static void
master_tick(evutil_socket_t fd, short what, void *arg)
{
	child_supervise();
	reload_tick();
}

/* Twice per WATCHDOG_USEC: pets systemd's watchdog while all is well. */
static void
master_watchdog(evutil_socket_t fd, short what, void *arg)
{
	if (slot_all_ready()) {
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
	slot_resize(master->conf->workers);
	for (i = 0; i < master->n_slots; i++) {
		child_spawn((int)i);
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
