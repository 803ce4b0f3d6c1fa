/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The configuration: an INI file read with libinih and checked against one
 * table of directives (section, name, type, range, default, help). The
 * parser, `shaddockd -T` and the man page's list all come from the table.
 */

#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/util.h"

#define CONF_DEFAULT_PATH	SHADDOCK_SYSCONFDIR "/shaddock.conf"
#define CONF_MAX_WORKERS	256
#define CONF_MAX_LISTENERS	64

enum conf_accept {
	CONF_ACCEPT_REUSEPORT = 0,
	CONF_ACCEPT_SHARED,
};

enum conf_tls {
	CONF_TLS_OFF = 0,
	CONF_TLS_ON,		/* every connection starts a TLS handshake */
	CONF_TLS_OPTIONAL,	/* a first byte of 0x16 does; others are plain */
};

struct tls_ctx;

struct listener_conf {
	char		*name;
	char		*address;	/* as written */
	struct addr	 addr;
	uint64_t	 backlog;
	int		 line;		/* of the section's first key */
	int		 tls;		/* enum conf_tls */
	char		*tls_certificate;
	char		*tls_key;
	char		*tls_protocols;
	char		*tls_ciphers;
	/* Built by the master (main_check_files()), inherited by workers. */
	struct tls_ctx	*tls_ctx;
};

struct conf {
	char			*path;

	/* [server] */
	uint64_t		 workers;	/* 0 in the file means auto */
	int			 accept;	/* enum conf_accept */
	char			*runtime_dir;
	char			*admin_socket;
	char			*admin_group;
	char			*pid_file;
	char			*user;
	char			*group;
	int			 log_level;	/* enum log_level */
	char			*log_file;
	uint64_t		 shutdown_timeout;	/* ms */
	uint64_t		 worker_heartbeat_timeout; /* ms */
	uint64_t		 max_draining_generations;
	char			*metrics_listen;
	uint64_t		 tls_ticket_rotation;	/* ms */

	/* [connector] */
	uint64_t		 heartbeat;		/* ms, 0 = off */
	uint64_t		 heartbeat_timeout;	/* ms */
	uint64_t		 handshake_timeout;	/* ms */
	uint64_t		 idle_timeout;		/* ms */
	uint64_t		 max_connections;
	uint64_t		 max_package_size;
	uint64_t		 max_send_buffer;
	bool			 no_delay;
	bool			 keepalive;
	bool			 use_dict;
	char			*dictionary;

	/* [app] */
	bool			 app_hello;
	bool			 app_chat;

	struct listener_conf	*listeners;
	size_t			 n_listeners;

	/* Derived by conf_load(). */
	struct addr		 metrics_addr;
	int			*lines;		/* see conf_line() */
};

/*
 * Reads and checks <path>. On success returns 0 and a conf the caller frees
 * with conf_free(). On failure returns -errno and sets <*ret_errors> to
 * the error lines ("FILE:LINE: message", one per line, the caller's to
 * free).
 */
int	 conf_load(const char *path, struct conf **ret, char **ret_errors);
void	 conf_free(struct conf *c);

/* Writes the effective configuration, every directive, as INI. */
void	 conf_dump(const struct conf *c, FILE *f);

/* Writes the directive reference (scdoc) used to check the man page. */
void	 conf_dump_directives(FILE *f);

/* The name of each directive in turn, for tests; NULL past the end. */
const char *conf_directive_name(size_t i, const char **ret_section);

/*
 * The line of <c>'s file where <name> is set in [listener] <l> (an index
 * in c->listeners), or the line of the section when it is not set there.
 */
int	 conf_line(const struct conf *c, size_t l, const char *name);

/* "off", "on" or "optional". */
const char *conf_tls_name(int mode);

/* The runtime directory "auto" resolves to for this process. */
char	*conf_default_runtime_dir(void);

#endif
