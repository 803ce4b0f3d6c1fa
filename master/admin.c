/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The admin socket: a Unix stream socket taking one command per line and
 * answering with text ended by an empty line, or with one line of JSON
 * when the command's last word is "json" (HAProxy's runtime API). The
 * peer's uid is checked with SO_PEERCRED before anything is read. The
 * master answers show commands from the counters the workers send every
 * second; session commands go to the workers, and the answer waits for
 * their replies (a "gather").
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <stddef.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/message.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "master/master.h"

/*
 * A command line may hold a broadcast of a whole package body: the limit
 * is max_package_size plus room for the words around it.
 */
#define ADMIN_LINE_SLACK	1024
#define ADMIN_MAX_WORDS		16	/* more are read raw */
#define ADMIN_MAX_CLIENTS	64
#define ADMIN_IDLE_TIMEOUT_S	60
#define GATHER_TIMEOUT_MS	3000

struct admin_client {
	TAILQ_ENTRY(admin_client) entry;
	struct bufferevent	*bev;
	uid_t			 uid;
	pid_t			 pid;
	bool			 json;
	bool			 busy;		/* waiting for workers */
	bool			 closing;	/* close once written */
	bool			 gone;		/* the peer left while busy */
	bool			 eof;		/* the peer sent its FIN */
	const char		*raw;		/* the command line, while run */
	struct gather		*gather;
	struct event		*resume;	/* reads on after a late answer */
};

struct admin_cmd {
	const char	*name;		/* one or two words */
	void		(*fn)(struct admin_client *, char **, int);
	const char	*usage;
	const char	*help;
};

static void	admin_help(struct admin_client *, char **, int);
static void	admin_show_info(struct admin_client *, char **, int);
static void	admin_show_workers(struct admin_client *, char **, int);
static void	admin_show_listeners(struct admin_client *, char **, int);
static void	admin_show_stat(struct admin_client *, char **, int);
static void	admin_show_sessions(struct admin_client *, char **, int);
static void	admin_show_channels(struct admin_client *, char **, int);
static void	admin_reload(struct admin_client *, char **, int);
static void	admin_kick(struct admin_client *, char **, int);
static void	admin_broadcast(struct admin_client *, char **, int);
static void	admin_client_free(struct admin_client *);
static void	admin_read(struct admin_client *);
static void	admin_linger(struct admin_client *);
static void	admin_resume_cb(evutil_socket_t, short, void *);
static void	admin_event_cb(struct bufferevent *, short, void *);

static const struct admin_cmd admin_cmds[] = {
	{ "help", admin_help, "help", "list the commands" },
	{ "show info", admin_show_info, "show info [json]",
	  "pid, version, uptime, generation, workers, config, reloads" },
	{ "show workers", admin_show_workers, "show workers [json]",
	  "every worker process: slot, pid, generation, state, sessions, "
	  "connections, accepted, rss" },
	{ "show listeners", admin_show_listeners, "show listeners [json]",
	  "the listeners and their sockets" },
	{ "show stat", admin_show_stat, "show stat [json]",
	  "counters summed over the workers" },
	{ "show sessions", admin_show_sessions, "show sessions [json]",
	  "every client session on every worker" },
	{ "show channels", admin_show_channels, "show channels [json]",
	  "every channel with its members' uids" },
	{ "reload", admin_reload, "reload",
	  "reload the configuration; answers when the new workers serve" },
	{ "kick", admin_kick, "kick session ID [REASON] | kick uid UID "
	  "[REASON]", "kick sessions with a Pomelo kick and reason" },
	{ "broadcast", admin_broadcast, "broadcast ROUTE JSON",
	  "push JSON on ROUTE to every session" },
};

/*
 * Answers <c>: text ends with an empty line; a failed command's answer
 * starts with "error: " (in JSON: {"error": ...}).
 */
void
admin_reply(struct admin_client *c, bool ok, const char *text)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	json_t		*j;
	char		*s;
	size_t		 len = strlen(text);

	if (c->gone) {
		c->busy = false;
		c->gather = NULL;
		admin_client_free(c);
		return;
	}
	if (!ok && c->json) {
		j = json_pack("{s:s}", "error", text);
		s = json_dumps(j, JSON_COMPACT);
		evbuffer_add_printf(out, "%s\n\n", s);
		free(s);
		json_decref(j);
	} else if (ok && c->json && text[0] != '{') {
		/* A command whose answer is a sentence: {"result": ...}. */
		j = json_pack("{s:s}", "result", text);
		s = json_dumps(j, JSON_COMPACT);
		evbuffer_add_printf(out, "%s\n\n", s);
		free(s);
		json_decref(j);
	} else {
		evbuffer_add_printf(out, "%s%s%s\n", ok ? "" : "error: ",
		    text, len > 0 && text[len - 1] == '\n' ? "" : "\n");
	}
	c->gather = NULL;
	if (c->busy) {
		/*
		 * A late answer (workers, a reload): the next command is
		 * read from the loop, never from inside this call, so an
		 * answer can never recurse into the reader.
		 */
		c->busy = false;
		event_active(c->resume, EV_TIMEOUT, 0);
	}
}

/* Answers <c> with the text in <b>, which is freed. */
static void
admin_reply_buffer(struct admin_client *c, struct evbuffer *b)
{
	evbuffer_add(b, "", 1);
	admin_reply(c, true, (const char *)evbuffer_pullup(b, -1));
	evbuffer_free(b);
}

static void
admin_reply_json(struct admin_client *c, json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(j);
	admin_reply(c, true, s);
	free(s);
}

static void
admin_help(struct admin_client *c, char **argv, int argc)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 i;

	for (i = 0; i < nitems(admin_cmds); i++) {
		evbuffer_add_printf(b, "%-50s %s\n", admin_cmds[i].usage,
		    admin_cmds[i].help);
	}
	admin_reply_buffer(c, b);
}

static void
admin_show_info(struct admin_client *c, char **argv, int argc)
{
	json_t	*j;
	char	*s;
	double	 uptime = (double)(now_ms() - master->started_ms) / 1000.0;

	if (c->json) {
		j = json_pack("{s:I, s:s, s:f, s:I, s:I, s:s, s:I, s:s, s:b}",
		    "pid", (json_int_t)master->pid,
		    "version", SHADDOCK_VERSION,
		    "uptime", uptime,
		    "generation", (json_int_t)master->generation,
		    "workers", (json_int_t)master->n_slots,
		    "config", master->conf_path,
		    "reloads", (json_int_t)master->reloads,
		    "accept", master->conf->accept == CONF_ACCEPT_REUSEPORT ?
		    "reuseport" : "shared",
		    "stopping", master->stopping);
		admin_reply_json(c, j);
		return;
	}
	xasprintf(&s, "pid: %d\nversion: %s\nuptime: %.1fs\ngeneration: %u\n"
	    "workers: %zu\nconfig: %s\nreloads: %u\naccept: %s\n%s",
	    (int)master->pid, SHADDOCK_VERSION, uptime, master->generation,
	    master->n_slots, master->conf_path, master->reloads,
	    master->conf->accept == CONF_ACCEPT_REUSEPORT ? "reuseport" :
	    "shared", master->stopping ? "stopping: yes\n" : "");
	admin_reply(c, true, s);
	free(s);
}

static void
admin_show_workers(struct admin_client *c, char **argv, int argc)
{
	struct worker	*w;
	struct evbuffer	*b;
	json_t		*list, *o;

	if (c->json) {
		list = json_array();
		TAILQ_FOREACH(w, &master->workers, entry) {
			o = json_pack("{s:i, s:I, s:I, s:s, s:I, s:I, s:I, "
			    "s:I}",
			    "slot", w->slot,
			    "pid", (json_int_t)w->pid,
			    "generation", (json_int_t)w->generation,
			    "state", worker_state_name(w->state),
			    "sessions", (json_int_t)w->stats.sessions,
			    "connections", (json_int_t)w->stats.connections,
			    "accepted", (json_int_t)w->stats.accepted,
			    "rss", (json_int_t)w->stats.rss);
			json_array_append_new(list, o);
		}
		admin_reply_json(c, json_pack("{s:o}", "workers", list));
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "%-4s %-8s %-10s %-9s %-9s %-11s %-10s %s\n",
	    "slot", "pid", "generation", "state", "sessions", "connections",
	    "accepted", "rss");
	TAILQ_FOREACH(w, &master->workers, entry) {
		evbuffer_add_printf(b, "%-4d %-8d %-10u %-9s %-9" PRIu64
		    " %-11" PRIu64 " %-10" PRIu64 " %" PRIu64 "\n",
		    w->slot, (int)w->pid, w->generation,
		    worker_state_name(w->state), w->stats.sessions,
		    w->stats.connections, w->stats.accepted, w->stats.rss);
	}
	admin_reply_buffer(c, b);
}

static void
admin_show_listeners(struct admin_client *c, char **argv, int argc)
{
	struct listener	*l;
	struct evbuffer	*b;
	json_t		*list;
	char		 tls[512];
	size_t		 i;

	if (c->json) {
		list = json_array();
		for (i = 0; i < master->n_listeners; i++) {
			l = &master->listeners[i];
			json_array_append_new(list, json_pack("{s:s, s:s, "
			    "s:I, s:b, s:b, s:o}", "name", l->name, "address",
			    l->address, "sockets", (json_int_t)l->n_fds,
			    "shared", l->shared, "systemd", l->adopted,
			    "tls", tls_ctx_json(master->conf->listeners[i].
			    tls_ctx, conf_tls_name(master->conf->listeners[i].
			    tls))));
		}
		admin_reply_json(c, json_pack("{s:o}", "listeners", list));
		return;
	}
	b = evbuffer_new();
	for (i = 0; i < master->n_listeners; i++) {
		l = &master->listeners[i];
		evbuffer_add_printf(b, "%s %s sockets=%zu%s%s%s\n", l->name,
		    l->address, l->n_fds, l->shared ? " shared" : "",
		    l->adopted ? " systemd" : "", tls_ctx_text(
		    master->conf->listeners[i].tls_ctx, conf_tls_name(
		    master->conf->listeners[i].tls), tls, sizeof tls));
	}
	admin_reply_buffer(c, b);
}

/* Sums the counters of every live worker into <sum>. */
static void
admin_sum_stats(uint64_t *sum)
{
	struct worker	*w;
	const uint64_t	*v;
	size_t		 i;

	memset(sum, 0, sizeof(uint64_t) * WORKER_STATS_N);
	TAILQ_FOREACH(w, &master->workers, entry) {
		v = (const uint64_t *)&w->stats;
		for (i = 0; i < WORKER_STATS_N; i++) {
			sum[i] += v[i];
		}
	}
	/* The master holds the channels: its counts are the true ones. */
	hub_counts(&sum[offsetof(struct worker_stats, channels) /
	    sizeof(uint64_t)], &sum[offsetof(struct worker_stats,
	    channel_members) / sizeof(uint64_t)]);
}

static void
admin_show_stat(struct admin_client *c, char **argv, int argc)
{
	uint64_t	 sum[WORKER_STATS_N];
	struct evbuffer	*b;
	json_t		*j;
	size_t		 i;

	admin_sum_stats(sum);
	if (c->json) {
		j = json_object();
		for (i = 0; i < WORKER_STATS_N; i++) {
			json_object_set_new(j, worker_stats_names[i],
			    json_integer((json_int_t)sum[i]));
		}
		json_object_set_new(j, "workers",
		    json_integer((json_int_t)spawn_live_workers()));
		admin_reply_json(c, j);
		return;
	}
	b = evbuffer_new();
	for (i = 0; i < WORKER_STATS_N; i++) {
		evbuffer_add_printf(b, "%s: %" PRIu64 "\n",
		    worker_stats_names[i], sum[i]);
	}
	admin_reply_buffer(c, b);
}

/* A session's framing, with "+tls" when its byte layer is TLS. */
static const char *
admin_transport(json_t *o, char *buf, size_t size)
{
	const char	*xprt = json_string_value(json_object_get(o, "xprt"));

	snprintf(buf, size, "%s%s", json_string_value(json_object_get(o,
	    "transport")), xprt != NULL && strcmp(xprt, "tls") == 0 ?
	    "+tls" : "");
	return buf;
}

/* Session lists: each worker sends one JSON object per line. */
static void
admin_sessions_done(struct gather *g, void *arg)
{
	struct admin_client	*c = arg;
	struct evbuffer		*b;
	json_t			*o;
	char			*line, *save, transport[32];
	bool			 first = true;

	b = evbuffer_new();
	if (c->json) {
		evbuffer_add_printf(b, "{\"sessions\":[");
	} else {
		evbuffer_add_printf(b, "%-20s %-16s %-6s %-9s %-22s %-9s "
		    "%-8s %-10s %s\n", "id", "uid", "worker", "transport",
		    "peer", "state", "age", "bytes_in", "bytes_out");
	}
	for (line = strtok_r(g->text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (c->json) {
			evbuffer_add_printf(b, "%s%s", first ? "" : ",",
			    line);
			first = false;
			continue;
		}
		o = json_loads(line, 0, NULL);
		if (o == NULL) {
			continue;
		}
		evbuffer_add_printf(b, "%-20s %-16s %-6d %-9s %-22s %-9s "
		    "%-8.1f %-10" PRId64 " %" PRId64 "\n",
		    json_string_value(json_object_get(o, "id")),
		    json_is_string(json_object_get(o, "uid")) ?
		    json_string_value(json_object_get(o, "uid")) : "-",
		    (int)json_integer_value(json_object_get(o, "worker")),
		    admin_transport(o, transport, sizeof transport),
		    json_string_value(json_object_get(o, "peer")),
		    json_string_value(json_object_get(o, "state")),
		    json_number_value(json_object_get(o, "age")),
		    (int64_t)json_integer_value(json_object_get(o,
		    "bytes_in")),
		    (int64_t)json_integer_value(json_object_get(o,
		    "bytes_out")));
		json_decref(o);
	}
	if (c->json) {
		evbuffer_add_printf(b, "]}");
	}
	admin_reply_buffer(c, b);
}

static void
admin_show_sessions(struct admin_client *c, char **argv, int argc)
{
	c->busy = true;
	c->gather = gather_start(NULL, IPC_SESSIONS, NULL, 0,
	    admin_sessions_done, c);
}

static int
channel_name_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
	    "name")), json_string_value(json_object_get(*(json_t *const *)b,
	    "name")));
}

static void
admin_show_channels(struct admin_client *c, char **argv, int argc)
{
	json_t		*list = hub_list(), *ch, *uid, **sorted;
	struct evbuffer	*b;
	size_t		 i, j, n = json_array_size(list);

	sorted = xcalloc(n + 1, sizeof *sorted);
	for (i = 0; i < n; i++) {
		sorted[i] = json_array_get(list, i);
	}
	qsort(sorted, n, sizeof *sorted, channel_name_cmp);
	if (c->json) {
		json_t *out = json_array();

		for (i = 0; i < n; i++) {
			json_array_append(out, sorted[i]);
		}
		free(sorted);
		json_decref(list);
		admin_reply_json(c, json_pack("{s:o}", "channels", out));
		return;
	}
	b = evbuffer_new();
	for (i = 0; i < n; i++) {
		ch = sorted[i];
		evbuffer_add_printf(b, "%s members=%jd", json_string_value(
		    json_object_get(ch, "name")), (intmax_t)json_integer_value(
		    json_object_get(ch, "members")));
		json_array_foreach(json_object_get(ch, "uids"), j, uid) {
			evbuffer_add_printf(b, "%s%s", j == 0 ? " " : ",",
			    json_string_value(uid));
		}
		evbuffer_add_printf(b, "\n");
	}
	free(sorted);
	json_decref(list);
	admin_reply_buffer(c, b);
}

static void
admin_reload(struct admin_client *c, char **argv, int argc)
{
	if (master->n_reload_waiters == (int)nitems(master->reload_waiters)) {
		admin_reply(c, false, "too many reloads waiting");
		return;
	}
	c->busy = true;
	master->reload_waiters[master->n_reload_waiters++] = c;
	if (!master->reloading) {
		master_reload();
	}
}

/* Answers every client waiting for the reload that just ended. */
void
admin_reload_done(bool ok, const char *text)
{
	struct admin_client	*c;
	int			 i, n = master->n_reload_waiters;

	master->n_reload_waiters = 0;
	for (i = 0; i < n; i++) {
		c = master->reload_waiters[i];
		if (c != NULL) {
			admin_reply(c, ok, text);
		}
	}
}

/* Sums the counts the workers answered, one number per line. */
static uint64_t
gather_sum(struct gather *g)
{
	char		*line, *save;
	uint64_t	 n = 0, v;

	for (line = strtok_r(g->text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (parse_uint(line, &v) == 0) {
			n += v;
		}
	}
	return n;
}

static void
admin_broadcast_done(struct gather *g, void *arg)
{
	char		*s;
	uint64_t	 n = gather_sum(g);

	xasprintf(&s, "pushed to %ju session%s", (uintmax_t)n, n == 1 ? "" :
	    "s");
	admin_reply(arg, true, s);
	free(s);
}

static void
admin_kick_done(struct gather *g, void *arg)
{
	struct admin_client	*c = arg;
	char			*s;
	uint64_t		 n = gather_sum(g);

	if (n == 0) {
		admin_reply(c, false, "no such session");
		return;
	}
	xasprintf(&s, "kicked %ju session%s", (uintmax_t)n, n == 1 ? "" :
	    "s");
	admin_reply(c, true, s);
	free(s);
}

/*
 * The command line after its first <words> words, as typed (spaces kept),
 * without a final "json". The caller frees it.
 */
static char *
admin_rest(const struct admin_client *c, int words)
{
	const char	*p = c->raw;
	char		*buf;
	size_t		 len;
	int		 i;

	for (i = 0; i < words; i++) {
		p += strspn(p, " \t");
		p += strcspn(p, " \t");
	}
	p += strspn(p, " \t");
	buf = xstrdup(p);
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
	    buf[len - 1] == '\r')) {
		buf[--len] = '\0';
	}
	if (c->json && len >= 4 && strcmp(buf + len - 4, "json") == 0 &&
	    (len == 4 || buf[len - 5] == ' ' || buf[len - 5] == '\t')) {
		buf[len - 4] = '\0';
		len -= 4;
		while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t')) {
			buf[--len] = '\0';
		}
	}
	return buf;
}

static void
admin_kick(struct admin_client *c, char **argv, int argc)
{
	struct ipc_kick	*k;
	struct worker	*w = NULL;
	uint64_t	 id = 0;
	size_t		 uidlen = 0;
	char		*reason;

	if (argc < 3 || (strcmp(argv[1], "session") != 0 &&
	    strcmp(argv[1], "uid") != 0)) {
		admin_reply(c, false, "usage: kick session ID [REASON] | "
		    "kick uid UID [REASON]");
		return;
	}
	reason = admin_rest(c, 3);
	if (strlen(reason) >= sizeof k->reason) {
		free(reason);
		admin_reply(c, false, "the reason is longer than 127 bytes");
		return;
	}
	if (strcmp(argv[1], "session") == 0) {
		if (parse_uint(argv[2], &id) != 0 || id == 0) {
			free(reason);
			admin_reply(c, false, "a session id is a number");
			return;
		}
		if ((w = spawn_find_serial((uint32_t)(id >> 32))) == NULL) {
			free(reason);
			admin_reply(c, false, "no such session");
			return;
		}
	} else {
		uidlen = strlen(argv[2]);
	}
	k = xcalloc(1, sizeof *k + uidlen);
	k->session = id;
	snprintf(k->reason, sizeof k->reason, "%s", *reason != '\0' ?
	    reason : "kick");
	memcpy(k + 1, argv[2], uidlen);
	free(reason);
	c->busy = true;
	c->gather = gather_start(w, IPC_KICK, k, sizeof *k + uidlen,
	    admin_kick_done, c);
	free(k);
}

static void
admin_broadcast(struct admin_client *c, char **argv, int argc)
{
	json_error_t	 jerr;
	json_t		*j;
	char		*body, *payload, *s;
	size_t		 rlen, blen;

	if (argc < 3) {
		admin_reply(c, false, "usage: broadcast ROUTE JSON");
		return;
	}
	rlen = strlen(argv[1]);
	if (rlen > MSG_ROUTE_MAX) {
		admin_reply(c, false, "the route is longer than 255 bytes");
		return;
	}
	body = admin_rest(c, 2);
	blen = strlen(body);
	if (blen > master->conf->max_package_size) {
		xasprintf(&s, "the body is longer than max_package_size (%ju "
		    "bytes)", (uintmax_t)master->conf->max_package_size);
		admin_reply(c, false, s);
		free(s);
		free(body);
		return;
	}
	j = json_loadb(body, blen, JSON_DECODE_ANY, &jerr);
	if (j == NULL) {
		xasprintf(&s, "bad JSON: %s", jerr.text);
		admin_reply(c, false, s);
		free(s);
		free(body);
		return;
	}
	json_decref(j);
	payload = xmalloc(rlen + 1 + blen);
	memcpy(payload, argv[1], rlen + 1);
	memcpy(payload + rlen + 1, body, blen);
	free(body);
	c->busy = true;
	c->gather = gather_start(NULL, IPC_BROADCAST, payload,
	    rlen + 1 + blen, admin_broadcast_done, c);
	free(payload);
}

static void
admin_dispatch(struct admin_client *c, char *line)
{
	const struct admin_cmd	*cmd;
	char			*argv[ADMIN_MAX_WORDS], *p, *save, *raw;
	int			 argc = 0;
	size_t			 i, len;

	/* The words a command needs; what follows is read raw. */
	raw = xstrdup(line);
	for (p = strtok_r(line, " \t\r", &save); p != NULL &&
	    argc < (int)nitems(argv); p = strtok_r(NULL, " \t\r", &save)) {
		argv[argc++] = p;
	}
	if (p != NULL) {
		/* More words than kept: the last one kept is not the last. */
		argv[argc - 1] = p;
	}
	c->json = argc > 1 && strcmp(argv[argc - 1], "json") == 0;
	if (c->json) {
		argc--;
	}
	c->raw = raw;
	if (argc == 0) {
		admin_reply(c, false, "empty command; try help");
		goto out;
	}
	for (i = 0; i < nitems(admin_cmds); i++) {
		cmd = &admin_cmds[i];
		len = strcspn(cmd->name, " ");
		if (strncmp(cmd->name, argv[0], len) != 0 ||
		    argv[0][len] != '\0') {
			continue;
		}
		if (cmd->name[len] == ' ' && (argc < 2 ||
		    strcmp(cmd->name + len + 1, argv[1]) != 0)) {
			continue;
		}
		log_debug("admin (uid %u): %s", (unsigned)c->uid, cmd->name);
		cmd->fn(c, argv, argc);
		goto out;
	}
	admin_reply(c, false, "unknown command; try help");
out:
	c->raw = NULL;
	free(raw);
}

/*
 * A client that says nothing for ADMIN_IDLE_TIMEOUT_S is closed; one that
 * waits for an answer (a reload, the workers) is never timed out.
 */
static void
admin_idle_timer(struct admin_client *c)
{
	struct timeval	 tv = { ADMIN_IDLE_TIMEOUT_S, 0 };

	bufferevent_set_timeouts(c->bev, c->busy ? NULL : &tv, NULL);
}

/* The longest command line this server reads. */
static size_t
admin_line_max(void)
{
	return master->conf->max_package_size + ADMIN_LINE_SLACK;
}

/*
 * Refuses a line over the limit and closes: the rest of what the peer
 * sends is read and dropped until its EOF.
 */
static void
admin_too_long(struct admin_client *c)
{
	char	 text[64];

	snprintf(text, sizeof text, "line too long (limit %zu bytes)",
	    admin_line_max());
	log_warn("admin socket: uid %u (pid %d): %s", (unsigned)c->uid,
	    (int)c->pid, text);
	evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	admin_reply(c, false, text);
	c->closing = true;
}

/*
 * Runs the complete command lines that wait, in order, until one has to
 * wait for workers. This is the only caller of the dispatcher, and no
 * answer calls it back: a command answered at once returns here and the
 * loop goes on; a late answer wakes <c->resume>, which calls this again
 * from the event loop.
 */
static void
admin_read(struct admin_client *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, len, max = admin_line_max();
	char			*line;

	while (!c->busy && !c->closing) {
		len = evbuffer_get_length(in);
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (len > max) {
				admin_too_long(c);
				break;
			}
			if (!c->eof || len == 0) {
				break;
			}
			/* The last line came without its newline. */
			eol.pos = (ev_ssize_t)len;
			eol_len = 0;
		}
		if ((size_t)eol.pos > max) {
			admin_too_long(c);
			break;
		}
		line = xmalloc((size_t)eol.pos + 1);
		evbuffer_remove(in, line, (size_t)eol.pos);
		line[eol.pos] = '\0';
		evbuffer_drain(in, eol_len);
		admin_dispatch(c, line);
		free(line);
	}
	if (c->eof && !c->busy && !c->closing) {
		/* Everything the peer sent is answered: close once written. */
		c->closing = true;
	}
	if (!c->closing) {
		admin_idle_timer(c);
	}
	if (c->closing) {
		/* Nothing more is read; what is left is dropped. */
		evbuffer_drain(in, (size_t)-1);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) ==
		    0) {
			admin_linger(c);
		}
	}
}

static void
admin_read_cb(struct bufferevent *bev, void *arg)
{
	admin_read(arg);
}

static void
admin_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	admin_read(arg);
}

/* Drops what a closing client still sends, until its EOF. */
static void
admin_discard_cb(struct bufferevent *bev, void *arg)
{
	evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
}

/*
 * Ends a client whose answers are all written. Closing with unread input
 * would reset the connection and could destroy the answer in flight, so
 * unless the peer has already sent its FIN: send ours, read and drop
 * until its EOF (or 2 s), then free.
 */
static void
admin_linger(struct admin_client *c)
{
	struct timeval	 tv = { 2, 0 };

	if (c->eof) {
		admin_client_free(c);
		return;
	}
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_setcb(c->bev, admin_discard_cb, NULL, admin_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

static void
admin_write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_client	*c = arg;

	if (c->closing) {
		admin_linger(c);
	}
}

static void
admin_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_client	*c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    !c->closing && !c->eof) {
		/*
		 * A half-close: what was sent is still answered (a last line
		 * without its newline included), then the client is closed.
		 */
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		if (!c->busy) {
			admin_read(c);
		}
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (c->busy) {
			/* Freed when the answer it waits for comes. */
			c->gone = true;
			bufferevent_disable(bev, EV_READ | EV_WRITE);
			return;
		}
		admin_client_free(c);
	}
}

static void
admin_client_free(struct admin_client *c)
{
	int	 i;

	for (i = 0; i < master->n_reload_waiters; i++) {
		if (master->reload_waiters[i] == c) {
			master->reload_waiters[i] = NULL;
		}
	}
	if (c->gather != NULL) {
		c->gather->done = NULL;
	}
	TAILQ_REMOVE(&master->admin_clients, c, entry);
	master->n_admin_clients--;
	event_free(c->resume);
	bufferevent_free(c->bev);
	free(c);
}

/* True when <uid> may use the admin socket. */
static bool
admin_allowed(uid_t uid, gid_t gid)
{
	struct group	*gr;
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 n = (int)nitems(groups), i;

	if (uid == 0 || uid == geteuid()) {
		return true;
	}
	if (*master->conf->admin_group == '\0' ||
	    (gr = getgrnam(master->conf->admin_group)) == NULL) {
		return false;
	}
	if (gid == gr->gr_gid) {
		return true;
	}
	if ((pw = getpwuid(uid)) == NULL) {
		return false;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1) {
		return false;
	}
	for (i = 0; i < n; i++) {
		if (groups[i] == gr->gr_gid) {
			return true;
		}
	}
	return false;
}

/* Answers <c> with one error and closes it, reading nothing. */
static void
admin_refuse(struct admin_client *c, const char *why)
{
	c->closing = true;
	evbuffer_add_printf(bufferevent_get_output(c->bev), "error: %s\n\n",
	    why);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
admin_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct admin_client	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	int			 fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			log_warn("admin socket: accept: %s", strerror(errno));
		}
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->bev = bufferevent_socket_new(master->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	c->resume = event_new(master->base, -1, 0, admin_resume_cb, c);
	TAILQ_INSERT_TAIL(&master->admin_clients, c, entry);
	master->n_admin_clients++;
	bufferevent_setcb(c->bev, admin_read_cb, admin_write_cb,
	    admin_event_cb, c);
	/* Input beyond one line's limit waits in the kernel, not here. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, admin_line_max() + 2);
	if (!admin_allowed(cred.uid, cred.gid)) {
		log_warn("admin socket: refused uid %u (pid %d): not root, "
		    "the owner or in admin_group", (unsigned)cred.uid,
		    (int)cred.pid);
		admin_refuse(c, "permission denied");
		return;
	}
	if (master->n_admin_clients > ADMIN_MAX_CLIENTS) {
		log_warn("admin socket: refused uid %u (pid %d): already %d "
		    "admin connections", (unsigned)cred.uid, (int)cred.pid,
		    ADMIN_MAX_CLIENTS);
		admin_refuse(c, "too many admin connections");
		return;
	}
	admin_idle_timer(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/*
 * Creates the admin socket (mode 0660, group admin_group when set). An
 * existing socket that still answers belongs to a running server: that is
 * an error; a stale one is replaced. Returns 0 or -errno (logged).
 */
int
admin_open(void)
{
	struct sockaddr_un	 sun;
	struct group		*gr = NULL;
	const char		*path = master->conf->admin_socket;
	int			 fd, probe;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_error("admin_socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	if (*master->conf->admin_group != '\0' &&
	    (gr = getgrnam(master->conf->admin_group)) == NULL) {
		log_error("admin_group %s: no such group",
		    master->conf->admin_group);
		return -ENOENT;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
	    sizeof sun) == 0) {
		close(probe);
		log_error("admin socket %s is in use: is another shaddockd "
		    "running?", path);
		return -EADDRINUSE;
	}
	if (probe != -1) {
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 64) == -1) {
		log_error("admin socket %s: %s", path, strerror(errno));
		if (fd != -1) {
			close(fd);
		}
		return -errno;
	}
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) == -1) {
		log_warn("admin socket %s: chown to group %s: %s", path,
		    gr->gr_name, strerror(errno));
	}
	master->admin_fd = fd;
	master->admin_ev = event_new(master->base, fd, EV_READ | EV_PERSIST,
	    admin_accept_cb, NULL);
	event_add(master->admin_ev, NULL);
	return 0;
}

/* Gives the admin socket file to <group> (empty: the master's group). */
void
admin_set_group(const char *group)
{
	struct group	*gr;
	gid_t		 gid = getegid();

	if (*group != '\0') {
		if ((gr = getgrnam(group)) == NULL) {
			log_error("admin_group %s: no such group", group);
			return;
		}
		gid = gr->gr_gid;
	}
	if (chown(master->conf->admin_socket, (uid_t)-1, gid) == -1) {
		log_warn("admin socket %s: chown to group %s: %s",
		    master->conf->admin_socket, group, strerror(errno));
	}
}

void
admin_close(void)
{
	struct admin_client	*c;

	while ((c = TAILQ_FIRST(&master->admin_clients)) != NULL) {
		admin_client_free(c);
	}
	if (master->admin_ev != NULL) {
		event_free(master->admin_ev);
		master->admin_ev = NULL;
		close(master->admin_fd);
		unlink(master->conf->admin_socket);
	}
}

static void
gather_finish(struct gather *g)
{
	TAILQ_REMOVE(&master->gathers, g, entry);
	if (g->done != NULL) {
		g->done(g, g->arg);
	}
	event_free(g->timeout);
	free(g->text);
	free(g);
}

static void
gather_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gather	*g = arg;

	if (g->waiting > 0) {
		log_warn("admin: %d worker%s did not answer in time",
		    g->waiting, g->waiting == 1 ? "" : "s");
	}
	gather_finish(g);
}

/*
 * Sends a tagged request to <only> or, when NULL, to every worker that is
 * not exiting, and calls <done> with their concatenated replies once all
 * have answered or after GATHER_TIMEOUT_MS.
 */
struct gather *
gather_start(struct worker *only, uint16_t type, const void *payload,
    size_t len, gather_done_cb done, void *arg)
{
	struct gather	*g;
	struct worker	*w;
	struct timeval	 tv = { GATHER_TIMEOUT_MS / 1000,
	    (GATHER_TIMEOUT_MS % 1000) * 1000 };

	g = xcalloc(1, sizeof *g);
	g->tag = ++master->next_tag;
	g->done = done;
	g->arg = arg;
	g->text = xstrdup("");
	g->timeout = evtimer_new(master->base, gather_timeout_cb, g);
	TAILQ_INSERT_TAIL(&master->gathers, g, entry);
	TAILQ_FOREACH(w, &master->workers, entry) {
		if ((only != NULL && w != only) || w->state == WORKER_EXITING) {
			continue;
		}
		if (ipc_chan_send(w->chan, type, g->tag, payload, len, -1) ==
		    0) {
			g->waiting++;
		}
	}
	if (g->waiting == 0) {
		/* Nobody to ask: answer from the loop, not from here. */
		tv.tv_sec = 0;
		tv.tv_usec = 0;
	}
	evtimer_add(g->timeout, &tv);
	return g;
}

void
gather_reply(uint64_t tag, const void *payload, size_t len, bool end)
{
	struct gather	*g;

	TAILQ_FOREACH(g, &master->gathers, entry) {
		if (g->tag == tag) {
			break;
		}
	}
	if (g == NULL) {
		return;
	}
	g->text = xrealloc(g->text, g->len + len + 2);
	memcpy(g->text + g->len, payload, len);
	g->len += len;
	g->text[g->len] = '\0';
	if (end) {
		/* Replies are line-based: keep workers' lines apart. */
		if (g->len > 0 && g->text[g->len - 1] != '\n') {
			g->text[g->len++] = '\n';
			g->text[g->len] = '\0';
		}
		if (--g->waiting == 0) {
			gather_finish(g);
		}
	}
}
