/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Reads the INI configuration. libinih splits the file into keys; this
 * file checks each key against conf_directives[] and stores it. libinih
 * does not tell a handler its line, so the file is fed through a reader
 * that counts lines: when the handler runs, the count is the line of the
 * key. Every problem is collected with its line, so one run of `-t` shows
 * them all.
 */

#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/xmalloc.h"

enum conf_type {
	CONF_UINT,
	CONF_DURATION,
	CONF_SIZE,
	CONF_BOOL,
	CONF_STRING,
	CONF_ENUM,
	CONF_WORKERS,
	CONF_LOGLEVEL,
	CONF_ADDRESS,
};

enum conf_section {
	SEC_SERVER,
	SEC_LISTENER,
	SEC_CONNECTOR,
	SEC_APP,
};

static const char *const conf_section_names[] = {
	[SEC_SERVER] = "server",
	[SEC_LISTENER] = "listener",
	[SEC_CONNECTOR] = "connector",
	[SEC_APP] = "app",
};

static const char *const conf_accept_names[] = {
	"reuseport", "shared", NULL,
};

static const char *const conf_tls_names[] = {
	"off", "on", "optional", NULL,
};

static const char *const conf_level_names[] = {
	"error", "warn", "info", "debug", NULL,
};

struct conf_directive {
	enum conf_section	 section;
	const char		*name;
	enum conf_type		 type;
	size_t			 offset;	/* in struct conf or listener_conf */
	uint64_t		 min;
	uint64_t		 max;
	const char		*def;
	const char *const	*choices;
	const char		*help;
};

#define C(f)	offsetof(struct conf, f)
#define L(f)	offsetof(struct listener_conf, f)
#define DAY	(86400ULL * 1000)

static const struct conf_directive conf_directives[] = {
	{ SEC_SERVER, "workers", CONF_WORKERS, C(workers), 1,
	  CONF_MAX_WORKERS, "auto", NULL,
	  "Worker processes: a number, or auto for one per CPU." },
	{ SEC_SERVER, "accept", CONF_ENUM, C(accept), 0, 0, "reuseport",
	  conf_accept_names,
	  "reuseport: one SO_REUSEPORT socket per listener and worker slot, "
	  "kept across respawns and reloads. shared: one socket per listener "
	  "for all workers." },
	{ SEC_SERVER, "runtime_dir", CONF_STRING, C(runtime_dir), 0, 0,
	  "auto", NULL,
	  "Directory for the admin socket and pid file. auto: "
	  "$RUNTIME_DIRECTORY, else /run/shaddock for root, else "
	  "$XDG_RUNTIME_DIR/shaddock, else /tmp/shaddock-UID." },
	{ SEC_SERVER, "admin_socket", CONF_STRING, C(admin_socket), 0, 0,
	  "admin.sock", NULL,
	  "Path of the admin Unix socket; a relative path is inside "
	  "runtime_dir." },
	{ SEC_SERVER, "admin_group", CONF_STRING, C(admin_group), 0, 0, "",
	  NULL,
	  "Group whose members may use the admin socket, besides root and "
	  "the socket's owner." },
	{ SEC_SERVER, "pid_file", CONF_STRING, C(pid_file), 0, 0, "", NULL,
	  "File to write the master's pid to; empty for none; a relative "
	  "path is inside runtime_dir." },
	{ SEC_SERVER, "user", CONF_STRING, C(user), 0, 0, "", NULL,
	  "User to run the workers as when started as root." },
	{ SEC_SERVER, "group", CONF_STRING, C(group), 0, 0, "", NULL,
	  "Group to run the workers as when started as root." },
	{ SEC_SERVER, "log_level", CONF_LOGLEVEL, C(log_level), 0, 0, "info",
	  conf_level_names, "error, warn, info or debug." },
	{ SEC_SERVER, "log_file", CONF_STRING, C(log_file), 0, 0, "", NULL,
	  "File to append log lines to; empty for stderr." },
	{ SEC_SERVER, "shutdown_timeout", CONF_DURATION, C(shutdown_timeout),
	  0, DAY, "30s", NULL,
	  "How long draining workers keep their sessions after a reload or "
	  "a graceful stop before kicking them." },
	{ SEC_SERVER, "worker_heartbeat_timeout", CONF_DURATION,
	  C(worker_heartbeat_timeout), 1000, DAY, "5s", NULL,
	  "A worker that sends no heartbeat for this long is killed and "
	  "respawned." },
	{ SEC_SERVER, "max_draining_generations", CONF_UINT,
	  C(max_draining_generations), 1, 64, "3", NULL,
	  "Most generations of old workers draining at once; a reload "
	  "beyond it ends the oldest at once." },
	{ SEC_SERVER, "metrics_listen", CONF_STRING, C(metrics_listen), 0, 0,
	  "", NULL,
	  "host:port on which the master serves Prometheus metrics; empty "
	  "for none." },
	{ SEC_SERVER, "tls_ticket_rotation", CONF_DURATION,
	  C(tls_ticket_rotation), 1000, 7 * DAY, "1h", NULL,
	  "How often the master makes a new TLS session-ticket key and sends "
	  "it to every worker. New tickets are encrypted with the newest key; "
	  "tickets under it or the one before are accepted, so a returning "
	  "client resumes its TLS session (no certificate check, no key "
	  "exchange) on any worker and across reloads. Tickets are "
	  "advertised, and honoured, for this long. The keys are kept in "
	  "memory only: a restart starts a new ring and clients do one full "
	  "handshake." },

	{ SEC_LISTENER, "address", CONF_ADDRESS, L(address), 0, 0, NULL, NULL,
	  "host:port, [ipv6]:port or unix:/path (required)." },
	{ SEC_LISTENER, "backlog", CONF_UINT, L(backlog), 1, 65535, "511",
	  NULL, "Length of the accept queue of each socket." },
	{ SEC_LISTENER, "tls", CONF_ENUM, L(tls), 0, 0, "off", conf_tls_names,
	  "TLS on this listener. off: plain raw TCP and ws:// only. on: "
	  "every connection starts with a TLS handshake, and inside TLS the "
	  "same switcher picks raw Pomelo TCP or WebSocket, so TLS raw-TCP "
	  "clients and wss:// share the port. optional: the first byte "
	  "decides: 0x16 (a TLS ClientHello) starts TLS, anything else is "
	  "served plain, so plain TCP, ws://, TLS TCP and wss:// all share "
	  "the port. handshake_timeout covers the TLS handshake. on and "
	  "optional need tls_certificate." },
	{ SEC_LISTENER, "tls_certificate", CONF_STRING, L(tls_certificate), 0,
	  0, "", NULL,
	  "PEM file holding the server certificate followed by its "
	  "intermediate certificates (the full chain). The master reads it "
	  "at start and at each reload, before workers drop privileges, so "
	  "it may be readable by root only. A missing, unreadable or expired "
	  "certificate fails the start, the reload and shaddockd -t; one "
	  "that expires within 14 days is warned about. A reload gives new "
	  "connections the new certificate while existing sessions keep "
	  "theirs; a reload that fails keeps the old one serving." },
	{ SEC_LISTENER, "tls_key", CONF_STRING, L(tls_key), 0, 0, "", NULL,
	  "PEM file holding the unencrypted private key of tls_certificate, "
	  "read by the master like it; empty: the key is in the "
	  "tls_certificate file. A key that does not match the certificate "
	  "is an error." },
	{ SEC_LISTENER, "tls_protocols", CONF_STRING, L(tls_protocols), 0, 0,
	  "TLSv1.2 TLSv1.3", NULL,
	  "TLS versions offered, separated by spaces: TLSv1.2, TLSv1.3 or "
	  "both. Older versions are always refused (the handshake fails and "
	  "is counted in tls_errors). An idle TLS 1.3 session costs about a "
	  "tenth of a TLS 1.2 one: after the handshake it moves from OpenSSL "
	  "to shaddock's own TLS 1.3 record layer." },
	{ SEC_LISTENER, "tls_ciphers", CONF_STRING, L(tls_ciphers), 0, 0, "",
	  NULL,
	  "OpenSSL cipher list for TLS 1.2 (see ciphers(1ssl)), e.g. "
	  "ECDHE+AESGCM:ECDHE+CHACHA20; empty for OpenSSL's default. The "
	  "server's order wins, with ChaCha20 first for clients that prefer "
	  "it. TLS 1.3 uses OpenSSL's default suites." },

	{ SEC_CONNECTOR, "heartbeat", CONF_DURATION, C(heartbeat), 0, DAY,
	  "3s", NULL,
	  "Heartbeat interval sent to clients in the handshake; 0 turns "
	  "heartbeats off." },
	{ SEC_CONNECTOR, "heartbeat_timeout", CONF_DURATION,
	  C(heartbeat_timeout), 0, DAY, "0", NULL,
	  "A session without a client heartbeat for this long is closed; 0 "
	  "means twice the heartbeat." },
	{ SEC_CONNECTOR, "handshake_timeout", CONF_DURATION,
	  C(handshake_timeout), 100, DAY, "10s", NULL,
	  "Time a connection has to send its first bytes and finish the "
	  "handshake and its ack." },
	{ SEC_CONNECTOR, "idle_timeout", CONF_DURATION, C(idle_timeout), 0,
	  DAY, "90s", NULL,
	  "A connection with no byte in either direction for this long is "
	  "closed; 0 for never." },
	{ SEC_CONNECTOR, "max_connections", CONF_UINT, C(max_connections), 1,
	  10000000, "10000", NULL,
	  "Connections per worker; beyond it new ones are closed at once." },
	{ SEC_CONNECTOR, "max_package_size", CONF_SIZE, C(max_package_size),
	  16, 0xffffff, "64k", NULL,
	  "Largest package body a client may send; a header announcing more "
	  "closes the connection." },
	{ SEC_CONNECTOR, "max_send_buffer", CONF_SIZE, C(max_send_buffer),
	  4096, 1ULL << 30, "1m", NULL,
	  "Most bytes queued for a client that does not read; beyond it the "
	  "client is disconnected." },
	{ SEC_CONNECTOR, "no_delay", CONF_BOOL, C(no_delay), 0, 0, "on", NULL,
	  "TCP_NODELAY on client connections." },
	{ SEC_CONNECTOR, "keepalive", CONF_BOOL, C(keepalive), 0, 0, "off",
	  NULL, "SO_KEEPALIVE on client connections." },
	{ SEC_CONNECTOR, "use_dict", CONF_BOOL, C(use_dict), 0, 0, "off",
	  NULL,
	  "Route dictionary compression: the handshake carries the "
	  "dictionary and routes may travel as 2-byte codes." },
	{ SEC_CONNECTOR, "dictionary", CONF_STRING, C(dictionary), 0, 0, "",
	  NULL,
	  "JSON array of extra routes (Pomelo's dictionary.json), numbered "
	  "after the built-in ones; setting it turns use_dict on." },

	{ SEC_APP, "hello", CONF_BOOL, C(app_hello), 0, 0, "on", NULL,
	  "Pomelo's HelloWorld route connector.entryHandler.entry." },
	{ SEC_APP, "chat", CONF_BOOL, C(app_chat), 0, 0, "on", NULL,
	  "The routes of the chatofpomelo-websocket demo." },
};

#define N_DIRECTIVES	(sizeof conf_directives / sizeof conf_directives[0])

struct conf_parse {
	struct conf	*conf;
	const char	*path;
	FILE		*f;
	int		 line;
	bool		 long_line;
	int		 section_line;	/* of the last [section] header */
	int		 bad_section_line; /* reported unknown section */
	int		 set_line[N_DIRECTIVES];	/* non-listener keys */
	int		*lset_line;	/* per listener, N_DIRECTIVES each */
	char		*errors;
	size_t		 errors_len;
	int		 n_errors;
};

static void conf_error(struct conf_parse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_parse *p, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *head;
	size_t	 len;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (line > 0) {
		xasprintf(&head, "%s:%d: %s\n", p->path, line, msg);
	} else {
		xasprintf(&head, "%s: %s\n", p->path, msg);
	}
	len = strlen(head);
	p->errors = xrealloc(p->errors, p->errors_len + len + 1);
	memcpy(p->errors + p->errors_len, head, len + 1);
	p->errors_len += len;
	p->n_errors++;
	free(head);
	free(msg);
}

/* An fgets() that counts lines and reads long lines whole. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse	*p = stream;
	int			 c;
	int			 n = 0;

	p->long_line = false;
	for (;;) {
		c = getc(p->f);
		if (c == EOF) {
			break;
		}
		if (n < num - 2) {
			str[n++] = (char)c;
		} else if (c != '\n') {
			p->long_line = true;
		}
		if (c == '\n') {
			if (n == num - 2 && str[n - 1] != '\n') {
				str[n++] = '\n';
			}
			break;
		}
	}
	if (n == 0 && c == EOF) {
		return NULL;
	}
	str[n] = '\0';
	p->line++;
	/* inih does not say where a section starts: remember it here. */
	for (c = 0; str[c] == ' ' || str[c] == '\t'; c++) {
		;
	}
	if (str[c] == '[') {
		p->section_line = p->line;
	}
	if (p->long_line) {
		conf_error(p, p->line, "line longer than %d bytes", num - 2);
	}
	return str;
}

static const char *
conf_choice_list(const char *const *choices, char *buf, size_t size)
{
	size_t	 off = 0;
	int	 n;

	buf[0] = '\0';
	for (; *choices != NULL; choices++) {
		n = snprintf(buf + off, size - off, "%s%s",
		    off == 0 ? "" : " | ", *choices);
		if (n < 0 || (size_t)n >= size - off) {
			break;
		}
		off += (size_t)n;
	}
	return buf;
}

static int
conf_choice(const char *const *choices, const char *value)
{
	int	 i;

	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(choices[i], value) == 0) {
			return i;
		}
	}
	return -1;
}

/*
 * Parses <value> for <d> into <base> + d->offset. Returns 0, or -EINVAL
 * after recording the error.
 */
static int
conf_set(struct conf_parse *p, const struct conf_directive *d, void *base,
    const char *value)
{
	char		 buf[128], err[128];
	void		*field = (char *)base + d->offset;
	uint64_t	 v = 0;
	bool		 b;
	int		 i, r = 0;
	struct addr	 a;

	switch (d->type) {
	case CONF_STRING:
	case CONF_ADDRESS:
		if (d->type == CONF_ADDRESS &&
		    addr_parse(value, &a, err, sizeof err) != 0) {
			conf_error(p, p->line, "%s: \"%s\": %s", d->name,
			    value, err);
			r = -EINVAL;
		}
		/* Kept even when bad, so nothing reports it missing. */
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return r;
	case CONF_BOOL:
		if (parse_bool(value, &b) != 0) {
			conf_error(p, p->line, "%s: \"%s\" is not on or off",
			    d->name, value);
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case CONF_ENUM:
	case CONF_LOGLEVEL:
		if ((i = conf_choice(d->choices, value)) == -1) {
			conf_error(p, p->line, "%s: \"%s\" is not one of %s",
			    d->name, value,
			    conf_choice_list(d->choices, buf, sizeof buf));
			return -EINVAL;
		}
		*(int *)field = i;
		return 0;
	case CONF_WORKERS:
		if (strcmp(value, "auto") == 0) {
			*(uint64_t *)field = 0;
			return 0;
		}
		if (parse_uint(value, &v) != 0) {
			conf_error(p, p->line, "%s: \"%s\" is not a number or "
			    "auto", d->name, value);
			return -EINVAL;
		}
		break;
	case CONF_UINT:
		r = parse_uint(value, &v);
		if (r != 0) {
			conf_error(p, p->line, "%s: \"%s\" is not a whole "
			    "number", d->name, value);
			return -EINVAL;
		}
		break;
	case CONF_DURATION:
		if (parse_duration(value, &v) != 0) {
			conf_error(p, p->line, "%s: \"%s\" is not a duration "
			    "(e.g. 500ms, 30s, 5m, 1h)", d->name, value);
			return -EINVAL;
		}
		break;
	case CONF_SIZE:
		if (parse_size(value, &v) != 0) {
			conf_error(p, p->line, "%s: \"%s\" is not a size "
			    "(e.g. 4096, 64k, 1m)", d->name, value);
			return -EINVAL;
		}
		break;
	}
	if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
		conf_error(p, p->line, "%s: \"%s\" is out of range (%ju to "
		    "%ju%s)", d->name, value, (uintmax_t)d->min,
		    (uintmax_t)d->max, d->type == CONF_DURATION ? " ms" :
		    d->type == CONF_SIZE ? " bytes" : "");
		return -EINVAL;
	}
	*(uint64_t *)field = v;
	return 0;
}

static struct listener_conf *
conf_listener(struct conf_parse *p, const char *name)
{
	struct conf		*c = p->conf;
	struct listener_conf	*l;
	size_t			 i;

	for (i = 0; i < c->n_listeners; i++) {
		if (strcmp(c->listeners[i].name, name) == 0) {
			return &c->listeners[i];
		}
	}
	if (c->n_listeners == CONF_MAX_LISTENERS) {
		conf_error(p, p->line, "more than %d listeners",
		    CONF_MAX_LISTENERS);
		return NULL;
	}
	c->listeners = xreallocarray(c->listeners, c->n_listeners + 1,
	    sizeof *c->listeners);
	p->lset_line = xreallocarray(p->lset_line, c->n_listeners + 1,
	    sizeof *p->lset_line * N_DIRECTIVES);
	memset(p->lset_line + c->n_listeners * N_DIRECTIVES, 0,
	    sizeof *p->lset_line * N_DIRECTIVES);
	l = &c->listeners[c->n_listeners++];
	memset(l, 0, sizeof *l);
	l->name = xstrdup(name);
	l->line = p->section_line;
	return l;
}

/* Splits "listener NAME"; returns the section or -1. */
static int
conf_section(const char *section, const char **ret_arg)
{
	size_t	 i, len;

	*ret_arg = NULL;
	for (i = 0; i < nitems(conf_section_names); i++) {
		len = strlen(conf_section_names[i]);
		if (strncmp(section, conf_section_names[i], len) != 0) {
			continue;
		}
		if (section[len] == '\0') {
			return (int)i;
		}
		if (section[len] == ' ' || section[len] == '\t') {
			*ret_arg = section + len;
			while (**ret_arg == ' ' || **ret_arg == '\t') {
				(*ret_arg)++;
			}
			return (int)i;
		}
	}
	return -1;
}

static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse		*p = user;
	const struct conf_directive	*d;
	struct listener_conf		*l = NULL;
	const char			*arg;
	void				*base;
	int				 sec, *set;
	size_t				 i;

	if (p->long_line) {
		return 1;
	}
	if (*section == '\0') {
		conf_error(p, p->line, "key \"%s\" outside of any section",
		    name);
		return 1;
	}
	sec = conf_section(section, &arg);
	if (sec == -1) {
		/* Once per section, at its header, not at every key. */
		if (p->bad_section_line != p->section_line) {
			p->bad_section_line = p->section_line;
			conf_error(p, p->section_line, "unknown section [%s]",
			    section);
		}
		return 1;
	}
	if (sec == SEC_LISTENER) {
		if (arg == NULL || *arg == '\0') {
			if (p->bad_section_line != p->section_line) {
				p->bad_section_line = p->section_line;
				conf_error(p, p->section_line, "[listener] "
				    "needs a name, as in [listener main]");
			}
			return 1;
		}
		if ((l = conf_listener(p, arg)) == NULL) {
			return 1;
		}
		base = l;
		set = p->lset_line + (size_t)(l - p->conf->listeners) *
		    N_DIRECTIVES;
	} else {
		if (arg != NULL) {
			if (p->bad_section_line != p->section_line) {
				p->bad_section_line = p->section_line;
				conf_error(p, p->section_line, "section [%s] "
				    "takes no name", conf_section_names[sec]);
			}
			return 1;
		}
		base = p->conf;
		set = p->set_line;
	}
	for (i = 0; i < N_DIRECTIVES; i++) {
		d = &conf_directives[i];
		if (d->section == (enum conf_section)sec &&
		    strcmp(d->name, name) == 0) {
			break;
		}
	}
	if (i == N_DIRECTIVES) {
		conf_error(p, p->line, "unknown key \"%s\" in [%s]", name,
		    section);
		return 1;
	}
	if (set[i] != 0) {
		conf_error(p, p->line, "%s is already set on line %d", name,
		    set[i]);
		return 1;
	}
	set[i] = p->line;
	conf_set(p, d, base, value);
	return 1;
}

static void
conf_defaults(struct conf_parse *p, enum conf_section sec, void *base,
    const int *set)
{
	const struct conf_directive	*d;
	size_t				 i;
	int				 saved = p->line;

	p->line = 0;
	for (i = 0; i < N_DIRECTIVES; i++) {
		d = &conf_directives[i];
		if (d->section != sec || set[i] != 0 || d->def == NULL) {
			continue;
		}
		if (conf_set(p, d, base, d->def) != 0) {
			fatalx("bad built-in default for %s", d->name);
		}
	}
	p->line = saved;
}

char *
conf_default_runtime_dir(void)
{
	const char	*env;
	char		*dir;

	if ((env = getenv("RUNTIME_DIRECTORY")) != NULL && *env != '\0') {
		/* systemd may list several, separated by colons. */
		return xstrndup(env, strcspn(env, ":"));
	}
	if (geteuid() == 0) {
		return xstrdup("/run/shaddock");
	}
	if ((env = getenv("XDG_RUNTIME_DIR")) != NULL && *env == '/') {
		xasprintf(&dir, "%s/shaddock", env);
		return dir;
	}
	xasprintf(&dir, "/tmp/shaddock-%u", (unsigned)geteuid());
	return dir;
}

static void
conf_in_runtime_dir(const struct conf *c, char **path)
{
	char	*full;

	if (**path == '\0' || **path == '/') {
		return;
	}
	xasprintf(&full, "%s/%s", c->runtime_dir, *path);
	free(*path);
	*path = full;
}

/* The TLS keys of listener <i> that only make sense together. */
static void
conf_finish_tls(struct conf_parse *p, size_t i)
{
	struct listener_conf	*l = &p->conf->listeners[i];
	char			 err[128];
	int			 min, max;

	if (tls_protocols_parse(l->tls_protocols, &min, &max, err,
	    sizeof err) != 0) {
		conf_error(p, conf_line(p->conf, i, "tls_protocols"),
		    "tls_protocols: \"%s\" %s", l->tls_protocols, err);
	}
	if (l->tls != CONF_TLS_OFF && *l->tls_certificate == '\0') {
		conf_error(p, conf_line(p->conf, i, "tls"), "[listener %s] "
		    "tls = %s needs tls_certificate", l->name,
		    conf_tls_names[l->tls]);
	}
}

/* Checks what no single key shows and derives the rest. */
static void
conf_finish(struct conf_parse *p)
{
	struct conf		*c = p->conf;
	struct listener_conf	*l, *m;
	char			 err[128];
	size_t			 i, j;

	if (c->workers == 0) {
		c->workers = (uint64_t)cpu_count();
		if (c->workers > CONF_MAX_WORKERS) {
			c->workers = CONF_MAX_WORKERS;
		}
	}
	if (strcmp(c->runtime_dir, "auto") == 0) {
		free(c->runtime_dir);
		c->runtime_dir = conf_default_runtime_dir();
	}
	conf_in_runtime_dir(c, &c->admin_socket);
	conf_in_runtime_dir(c, &c->pid_file);
	if (*c->admin_socket == '\0') {
		conf_error(p, 0, "admin_socket must not be empty");
	}
	if (c->heartbeat_timeout == 0) {
		c->heartbeat_timeout = 2 * c->heartbeat;
	}
	if (*c->dictionary != '\0') {
		c->use_dict = true;
	}
	if (*c->metrics_listen != '\0' && addr_parse(c->metrics_listen,
	    &c->metrics_addr, err, sizeof err) != 0) {
		conf_error(p, 0, "metrics_listen: \"%s\": %s",
		    c->metrics_listen, err);
	}
	if (c->n_listeners == 0) {
		conf_error(p, 0, "no [listener] section: at least one is "
		    "needed");
	}
	for (i = 0; i < c->n_listeners; i++) {
		l = &c->listeners[i];
		if (l->address == NULL) {
			conf_error(p, l->line, "[listener %s] has no address",
			    l->name);
			continue;
		}
		conf_finish_tls(p, i);
		if (addr_parse(l->address, &l->addr, err, sizeof err) != 0) {
			continue;	/* reported where it was set */
		}
		for (j = 0; j < i; j++) {
			m = &c->listeners[j];
			if (m->addr.len != 0 &&
			    addr_equal(&l->addr, &m->addr)) {
				conf_error(p, l->line, "[listener %s] has the "
				    "address of [listener %s]", l->name,
				    m->name);
			}
		}
	}
}

int
conf_load(const char *path, struct conf **ret, char **ret_errors)
{
	struct conf_parse	 p;
	struct conf		*c;
	size_t			 i;
	int			 r;

	*ret_errors = NULL;
	memset(&p, 0, sizeof p);
	p.path = path;
	if ((p.f = fopen(path, "re")) == NULL) {
		r = -errno;
		xasprintf(ret_errors, "%s: cannot open: %s\n", path,
		    strerror(-r));
		return r;
	}
	c = p.conf = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	r = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	if (ferror(p.f)) {
		conf_error(&p, p.line, "read error");
	}
	fclose(p.f);
	/* The handler never fails, so a line inih reports is a syntax error. */
	if (r > 0) {
		conf_error(&p, r, "syntax error (expected [section] or "
		    "key = value)");
	} else if (r < 0) {
		conf_error(&p, 0, "out of memory while parsing");
	}
	conf_defaults(&p, SEC_SERVER, c, p.set_line);
	conf_defaults(&p, SEC_CONNECTOR, c, p.set_line);
	conf_defaults(&p, SEC_APP, c, p.set_line);
	for (i = 0; i < c->n_listeners; i++) {
		conf_defaults(&p, SEC_LISTENER, &c->listeners[i],
		    p.lset_line + i * N_DIRECTIVES);
	}
	/* Kept for conf_line(): checks after loading report lines too. */
	c->lines = p.lset_line;
	conf_finish(&p);
	if (p.n_errors > 0) {
		conf_free(c);
		*ret_errors = p.errors;
		return -EINVAL;
	}
	*ret = c;
	return 0;
}

void
conf_free(struct conf *c)
{
	const struct conf_directive	*d;
	size_t				 i, j;

	if (c == NULL) {
		return;
	}
	for (i = 0; i < N_DIRECTIVES; i++) {
		d = &conf_directives[i];
		if (d->type != CONF_STRING && d->type != CONF_ADDRESS) {
			continue;
		}
		if (d->section == SEC_LISTENER) {
			for (j = 0; j < c->n_listeners; j++) {
				free(*(char **)((char *)&c->listeners[j] +
				    d->offset));
			}
		} else {
			free(*(char **)((char *)c + d->offset));
		}
	}
	for (j = 0; j < c->n_listeners; j++) {
		free(c->listeners[j].name);
		tls_ctx_destroy(c->listeners[j].tls_ctx);
	}
	free(c->listeners);
	free(c->lines);
	free(c->path);
	free(c);
}

static void
conf_dump_value(const struct conf_directive *d, const void *base, FILE *f)
{
	const void	*field = (const char *)base + d->offset;
	uint64_t	 v;

	switch (d->type) {
	case CONF_STRING:
	case CONF_ADDRESS:
		fprintf(f, "%s", *(char *const *)field);
		break;
	case CONF_BOOL:
		fprintf(f, "%s", *(const bool *)field ? "on" : "off");
		break;
	case CONF_ENUM:
	case CONF_LOGLEVEL:
		fprintf(f, "%s", d->choices[*(const int *)field]);
		break;
	case CONF_DURATION:
		v = *(const uint64_t *)field;
		if (v % 1000 == 0) {
			fprintf(f, "%jus", (uintmax_t)(v / 1000));
		} else {
			fprintf(f, "%jums", (uintmax_t)v);
		}
		break;
	case CONF_UINT:
	case CONF_SIZE:
	case CONF_WORKERS:
		fprintf(f, "%ju", (uintmax_t)*(const uint64_t *)field);
		break;
	}
}

void
conf_dump(const struct conf *c, FILE *f)
{
	const struct conf_directive	*d;
	size_t				 s, i, j;

	fprintf(f, "# %s\n", c->path);
	for (s = 0; s < nitems(conf_section_names); s++) {
		if (s == SEC_LISTENER) {
			continue;
		}
		fprintf(f, "\n[%s]\n", conf_section_names[s]);
		for (i = 0; i < N_DIRECTIVES; i++) {
			d = &conf_directives[i];
			if (d->section != s) {
				continue;
			}
			fprintf(f, "%s = ", d->name);
			conf_dump_value(d, c, f);
			fputc('\n', f);
		}
	}
	for (j = 0; j < c->n_listeners; j++) {
		fprintf(f, "\n[listener %s]\n", c->listeners[j].name);
		for (i = 0; i < N_DIRECTIVES; i++) {
			d = &conf_directives[i];
			if (d->section != SEC_LISTENER) {
				continue;
			}
			fprintf(f, "%s = ", d->name);
			conf_dump_value(d, &c->listeners[j], f);
			fputc('\n', f);
		}
	}
}

void
conf_dump_directives(FILE *f)
{
	const struct conf_directive	*d;
	size_t				 i;

	for (i = 0; i < N_DIRECTIVES; i++) {
		d = &conf_directives[i];
		fprintf(f, "[%s] *%s* = %s\n\t%s\n", conf_section_names[d->section],
		    d->name, d->def != NULL ? d->def : "(required)", d->help);
	}
}

int
conf_line(const struct conf *c, size_t l, const char *name)
{
	size_t	 i;

	for (i = 0; i < N_DIRECTIVES; i++) {
		if (conf_directives[i].section == SEC_LISTENER &&
		    strcmp(conf_directives[i].name, name) == 0) {
			break;
		}
	}
	if (i < N_DIRECTIVES && c->lines != NULL &&
	    c->lines[l * N_DIRECTIVES + i] != 0) {
		return c->lines[l * N_DIRECTIVES + i];
	}
	return c->listeners[l].line;
}

const char *
conf_tls_name(int mode)
{
	if (mode < 0 || mode >= (int)nitems(conf_tls_names) - 1) {
		return "unknown";
	}
	return conf_tls_names[mode];
}

const char *
conf_directive_name(size_t i, const char **ret_section)
{
	if (i >= N_DIRECTIVES) {
		return NULL;
	}
	if (ret_section != NULL) {
		*ret_section = conf_section_names[conf_directives[i].section];
	}
	return conf_directives[i].name;
}
