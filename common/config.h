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
#define CONF_MAX_ROUTES		256

enum conf_accept {
	CONF_ACCEPT_REUSEPORT = 0,
	CONF_ACCEPT_SHARED,
};

enum conf_flavour {
	CONF_FLAVOUR_AUTO = 0,		/* pinus when the cluster is Pinus */
	CONF_FLAVOUR_POMELO,
	CONF_FLAVOUR_PINUS,
};

enum conf_cluster {
	CONF_CLUSTER_NONE = 0,
	CONF_CLUSTER_POMELO,
	CONF_CLUSTER_PINUS,
};

/* How requests for one server type pick a server of it ([route TYPE]). */
enum conf_route_key {
	CONF_ROUTE_UID = 0,	/* crc32(uid or "") as Pomelo's default */
	CONF_ROUTE_SETTING,	/* crc32(String(settings[key_setting])) */
	CONF_ROUTE_SESSION,	/* crc32(the session id) */
};

struct route_conf {
	char		*server_type;
	char		*key;		/* as written */
	int		 key_kind;	/* enum conf_route_key */
	char		*key_setting;	/* CONF_ROUTE_SETTING: the name */
	int		 line;
};

struct pb_protos;

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
	/* Built by the master (master_check_files()), inherited by workers. */
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
	bool			 use_protobuf;
	char			*server_protos;
	char			*client_protos;
	int			 protobuf_flavour;	/* CONF_FLAVOUR_* */

	/* [app] */
	bool			 app_hello;
	bool			 app_chat;

	/* [cluster] */
	int			 cluster_type;	/* enum conf_cluster */
	char			*cluster_master;
	char			*cluster_token;
	char			*cluster_server_type;
	char			*cluster_server_id;
	char			*cluster_host;
	char			*cluster_client_host;
	char			*cluster_own_routes;
	char			*cluster_session_closed;
	char			*cluster_remoter_paths;
	uint64_t		 cluster_rpc_timeout;		/* ms */
	uint64_t		 cluster_rpc_max_payload;

	struct listener_conf	*listeners;
	size_t			 n_listeners;
	struct route_conf	*routes;
	size_t			 n_routes;

	/* Derived by conf_load(). */
	struct addr		 metrics_addr;
	struct addr		 cluster_master_addr;

	/* Loaded by the master (master_check_files()), freed with the conf. */
	struct pb_protos	*pb_server;	/* NULL: no serverProtos */
	struct pb_protos	*pb_client;
	char			 pb_version[32]; /* of both, as Pomelo's */
	int			*lines;		/* see conf_line() */
};

/*
 * Reads and checks <path>. On success returns 0 and a conf the caller frees
 * with conf_free(). On failure returns -errno and sets <*ret_errors> to
 * the error lines ("FILE:LINE: message", one per line, the caller's to
 * free).
 */
int	 conf_load(const char *path, struct conf **ret, char **ret_errors);

/*
 * As conf_load(), on the <len> bytes at <data>, named <name> in the errors
 * and in the conf's path.
 */
int	 conf_load_buffer(const char *name, const char *data, size_t len,
    struct conf **ret, char **ret_errors);
void	 conf_free(struct conf *c);

/* Writes the effective configuration, every directive, as INI. */
void	 conf_dump(const struct conf *c, FILE *f);

/*
 * Writes the entries of the directives of <section> ("server", "listener",
 * ...) in scdoc, as the DIRECTIVES section of shaddock.conf(5) shows them:
 * name, default, help, type and range. Returns 0, -ENOENT for an unknown
 * section, or -EINVAL when one of its directives has no help text.
 */
int	 conf_dump_directives(FILE *f, const char *section);

/* The name of each section in turn ("server", ...); NULL past the end. */
const char *conf_section_name(size_t i);

/*
 * The name of each directive in turn, with its section and its default
 * as written in the table (NULL when the directive is required); NULL
 * past the end.
 */
const char *conf_directive_name(size_t i, const char **ret_section,
    const char **ret_default);

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
