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

#include <sys/un.h>
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
#include "common/protobuf.h"
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
	SEC_CLUSTER,
	SEC_ROUTE,
};

static const char *const conf_section_names[] = {
	[SEC_SERVER] = "server",
	[SEC_LISTENER] = "listener",
	[SEC_CONNECTOR] = "connector",
	[SEC_APP] = "app",
	[SEC_CLUSTER] = "cluster",
	[SEC_ROUTE] = "route",
};

static const char *const conf_cluster_names[] = {
	"none", "pomelo", "pinus", NULL,
};

static const char *const conf_flavour_names[] = {
	"auto", "pomelo", "pinus", NULL,
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

/*
 * One directive. <help> is one plain-text sentence (no markup); <doc>, in
 * scdoc, continues it in shaddock.conf(5); <value> describes what a string
 * directive holds, in scdoc, for the man page's "Value:" line (the other
 * types describe themselves from their type and range).
 */
struct conf_directive {
	enum conf_section	 section;
	const char		*name;
	enum conf_type		 type;
	size_t			 offset;	/* in struct conf or listener_conf */
	uint64_t		 min;
	uint64_t		 max;
	const char		*def;		/* NULL: required */
	const char *const	*choices;
	const char		*value;
	const char		*help;
	const char		*doc;
};

#define C(f)	offsetof(struct conf, f)
#define L(f)	offsetof(struct listener_conf, f)
#define R(f)	offsetof(struct route_conf, f)
#define DAY	(86400ULL * 1000)

static const struct conf_directive conf_directives[] = {
	{ .section = SEC_SERVER, .name = "workers", .type = CONF_WORKERS,
	  .offset = C(workers), .min = 1, .max = CONF_MAX_WORKERS,
	  .def = "auto",
	  .help = "The number of worker processes (worker slots), or auto "
	  "for the number of online CPUs (at most 256).",
	  .doc = "A reload applies a new count." },
	{ .section = SEC_SERVER, .name = "accept", .type = CONF_ENUM,
	  .offset = C(accept), .def = "reuseport",
	  .choices = conf_accept_names,
	  .help = "How the workers share a listener.",
	  .doc = "\n*reuseport*: one *SO_REUSEPORT* socket per listener and "
	  "worker slot, kept by the master for the life of the slot, so a "
	  "respawned or reloaded worker gets the same socket and no queued "
	  "connection is reset. The kernel spreads connections over the "
	  "workers.\n\n"
	  "*shared*: one socket per listener for all workers; each worker "
	  "accepts at most 16 connections per wake-up.\n\n"
	  "Unix-socket listeners and sockets passed by systemd are always "
	  "shared. Changing *accept* needs a restart." },
	{ .section = SEC_SERVER, .name = "runtime_dir", .type = CONF_STRING,
	  .offset = C(runtime_dir), .def = "auto",
	  .value = "an absolute path, or *auto*",
	  .help = "The directory of the admin socket and of the pid file, "
	  "created (mode 0755, with its parents) at start.",
	  .doc = "*auto* is *$RUNTIME_DIRECTORY* when set (systemd's "
	  "*RuntimeDirectory=*; the first one when several are listed), else "
	  "/run/shaddock when running as root, else "
	  "*$XDG_RUNTIME_DIR*/shaddock, else /tmp/shaddock-_UID_. Needs a "
	  "restart." },
	{ .section = SEC_SERVER, .name = "admin_socket", .type = CONF_STRING,
	  .offset = C(admin_socket), .def = "admin.sock",
	  .value = "a path, not empty, at most 107 bytes long once inside "
	  "*runtime_dir*",
	  .help = "The path of the admin Unix socket; a relative path is "
	  "inside runtime_dir.",
	  .doc = "See *shaddockctl*(8). It is created with mode 0660; at "
	  "start *shaddockd* refuses to run when another server answers on "
	  "it, and replaces a stale socket file. Needs a restart (a reload "
	  "keeps the old one)." },
	{ .section = SEC_SERVER, .name = "admin_group", .type = CONF_STRING,
	  .offset = C(admin_group), .def = "",
	  .value = "a group name, or empty for none",
	  .help = "A group whose members (by primary or supplementary group) "
	  "may use the admin socket, besides root and the user the master "
	  "runs as.",
	  .doc = "The socket file gets this group. The group must exist when "
	  "*shaddockd* starts. Needs a restart." },
	{ .section = SEC_SERVER, .name = "pid_file", .type = CONF_STRING,
	  .offset = C(pid_file), .def = "",
	  .value = "a path, or empty for no pid file",
	  .help = "A file to write the master's pid to; a relative path is "
	  "inside runtime_dir.",
	  .doc = "*shaddockd* refuses to start when the file names a running "
	  "process, and removes the file when it stops. Needs a restart." },
	{ .section = SEC_SERVER, .name = "user", .type = CONF_STRING,
	  .offset = C(user), .def = "",
	  .value = "a user name, or empty: the workers keep the master's user",
	  .help = "When shaddockd is started as root, the user the workers "
	  "run as.",
	  .doc = "Each worker takes the user's groups and ids at start, after "
	  "raising its open-file limit. The master stays root and binds the "
	  "listening sockets, so ports below 1024 work. An unknown user makes "
	  "every worker exit at start, and then *shaddockd* exits with status "
	  "3 (*-t* does not check it). New workers use a new value after a "
	  "reload." },
	{ .section = SEC_SERVER, .name = "group", .type = CONF_STRING,
	  .offset = C(group), .def = "",
	  .value = "a group name, or empty: the primary group of *user*",
	  .help = "When started as root, the group the workers run as.",
	  .doc = "With *group* and no *user*, the workers keep uid 0, take "
	  "this group and drop the supplementary groups." },
	{ .section = SEC_SERVER, .name = "log_level", .type = CONF_LOGLEVEL,
	  .offset = C(log_level), .def = "info", .choices = conf_level_names,
	  .help = "The least severe level logged.",
	  .doc = "At *debug* each line also names its source file and line. "
	  "A reload applies it." },
	{ .section = SEC_SERVER, .name = "log_file", .type = CONF_STRING,
	  .offset = C(log_file), .def = "",
	  .value = "a path, or empty for standard error",
	  .help = "A file to append the log lines to (created with mode "
	  "0640).",
	  .doc = "A daemon started without *-f* and without *log_file* loses "
	  "its log lines. SIGUSR1 reopens the file (log rotation); a reload "
	  "that changes it opens the new file." },
	{ .section = SEC_SERVER, .name = "shutdown_timeout",
	  .type = CONF_DURATION, .offset = C(shutdown_timeout), .min = 0,
	  .max = DAY, .def = "30s",
	  .help = "How long the workers of an older generation (after a "
	  "reload) or all workers (after SIGTERM or SIGINT) keep serving "
	  "their sessions while draining.",
	  .doc = "When it ends, the sessions left get a Pomelo kick with "
	  "reason \"reload\" or \"shutdown\" and are closed; a worker still "
	  "there 5 s later is killed. 0 kicks at once." },
	{ .section = SEC_SERVER, .name = "worker_heartbeat_timeout",
	  .type = CONF_DURATION, .offset = C(worker_heartbeat_timeout),
	  .min = 1000, .max = DAY, .def = "5s",
	  .help = "A worker that has sent the master no heartbeat (it sends "
	  "one every second) for this long is killed with SIGKILL and "
	  "respawned.",
	  .doc = "It is checked once a second." },
	{ .section = SEC_SERVER, .name = "max_draining_generations",
	  .type = CONF_UINT, .offset = C(max_draining_generations), .min = 1,
	  .max = 64, .def = "3",
	  .help = "The most generations of old workers draining at the same "
	  "time.",
	  .doc = "A reload beyond it stops the oldest draining generation at "
	  "once: its sessions are kicked (reason \"shutdown\")." },
	{ .section = SEC_SERVER, .name = "metrics_listen", .type = CONF_STRING,
	  .offset = C(metrics_listen), .def = "",
	  .value = "an address (see VALUES), or empty for no metrics",
	  .help = "An address on which the master serves its counters in the "
	  "Prometheus text format, for any path.",
	  .doc = "Normally _host_:_port_, e.g. 127.0.0.1:9464; see "
	  "*shaddockd*(8). When it cannot be bound at start, *shaddockd* "
	  "exits 1; a reload closes and opens it again." },
	{ .section = SEC_SERVER, .name = "tls_ticket_rotation",
	  .type = CONF_DURATION, .offset = C(tls_ticket_rotation),
	  .min = 1000, .max = 7 * DAY, .def = "1h",
	  .help = "How often the master makes a new TLS session-ticket key "
	  "and sends it to every worker.",
	  .doc = "New tickets are encrypted with the newest key; tickets "
	  "under it or the one before are accepted, so a returning client "
	  "resumes its TLS session (no certificate check, no key exchange) "
	  "on any worker and across reloads. Tickets are advertised, and "
	  "honoured, for this long. The keys are kept in memory only: a "
	  "restart starts a new ring and clients do one full handshake." },

	{ .section = SEC_LISTENER, .name = "address", .type = CONF_ADDRESS,
	  .offset = L(address), .def = NULL,
	  .value = "_host_:_port_, \\[_IPv6_\\]:_port_ or *unix:*_/path_ "
	  "(see VALUES); required",
	  .help = "Where to listen.",
	  .doc = "Two listeners may not have the same "
	  "address. A stale Unix socket file is removed before binding, and "
	  "the file is removed when *shaddockd* stops. The socket file gets "
	  "the permissions of *shaddockd*'s umask: with the usual 022 only "
	  "its own user can connect. When systemd passes a socket bound to "
	  "this address (socket activation), it is used instead of binding." },
	{ .section = SEC_LISTENER, .name = "backlog", .type = CONF_UINT,
	  .offset = L(backlog), .min = 1, .max = 65535, .def = "511",
	  .help = "The length of the accept queue of each listening socket "
	  "(the kernel caps it at net.core.somaxconn).",
	  .doc = "A reload applies it to the sockets it keeps." },
	{ .section = SEC_LISTENER, .name = "tls", .type = CONF_ENUM,
	  .offset = L(tls), .def = "off", .choices = conf_tls_names,
	  .help = "TLS on this listener.",
	  .doc = "\n*off*: plain raw TCP and ws:// only.\n\n"
	  "*on*: every connection starts with a TLS handshake, and inside "
	  "TLS the same switcher picks raw Pomelo TCP or WebSocket, so TLS "
	  "raw-TCP clients and wss:// share the port.\n\n"
	  "*optional*: the first byte decides: 0x16 (a TLS ClientHello) "
	  "starts TLS, anything else is served plain, so plain TCP, ws://, "
	  "TLS TCP and wss:// all share the port.\n\n"
	  "*handshake_timeout* covers the TLS handshake. *on* and "
	  "*optional* need *tls_certificate*." },
	{ .section = SEC_LISTENER, .name = "tls_certificate",
	  .type = CONF_STRING, .offset = L(tls_certificate), .def = "",
	  .value = "a path to a PEM file; empty for none",
	  .help = "The server certificate followed by its intermediate "
	  "certificates (the full chain).",
	  .doc = "The master reads it at start and at each reload, before "
	  "workers drop privileges, so it may be readable by root only. A "
	  "missing, unreadable or expired certificate fails the start, the "
	  "reload and *shaddockd -t*; one that expires within 14 days is "
	  "warned about. A reload gives new connections the new certificate "
	  "while existing sessions keep theirs; a reload that fails keeps "
	  "the old one serving." },
	{ .section = SEC_LISTENER, .name = "tls_key", .type = CONF_STRING,
	  .offset = L(tls_key), .def = "",
	  .value = "a path to a PEM file; empty: in *tls_certificate*",
	  .help = "The unencrypted private key of tls_certificate, read by "
	  "the master like it.",
	  .doc = "Empty: the key is in the *tls_certificate* file. A key "
	  "that does not match the certificate is an error, and so is an "
	  "encrypted key." },
	{ .section = SEC_LISTENER, .name = "tls_protocols",
	  .type = CONF_STRING, .offset = L(tls_protocols),
	  .def = "TLSv1.2 TLSv1.3",
	  .value = "*TLSv1.2*, *TLSv1.3* or both, separated by a space",
	  .help = "The TLS versions offered.",
	  .doc = "Older versions are always refused (the handshake fails and "
	  "is counted in *tls_errors*). An idle TLS 1.3 session costs about "
	  "a tenth of a TLS 1.2 one: after the handshake it moves from "
	  "OpenSSL to shaddock's own TLS 1.3 record layer." },
	{ .section = SEC_LISTENER, .name = "tls_ciphers", .type = CONF_STRING,
	  .offset = L(tls_ciphers), .def = "",
	  .value = "an OpenSSL cipher list (see *ciphers*(1ssl)); empty for "
	  "OpenSSL's default",
	  .help = "The cipher list for TLS 1.2, e.g. "
	  "ECDHE+AESGCM:ECDHE+CHACHA20.",
	  .doc = "The server's order wins, with ChaCha20 first for clients "
	  "that prefer it. TLS 1.3 uses OpenSSL's default suites. A list "
	  "that matches no cipher is an error." },

	{ .section = SEC_CONNECTOR, .name = "heartbeat", .type = CONF_DURATION,
	  .offset = C(heartbeat), .min = 0, .max = DAY, .def = "3s",
	  .help = "The heartbeat interval given to clients in the handshake "
	  "reply (sys.heartbeat, in seconds, with a fraction when it is not a "
	  "whole number of seconds).",
	  .doc = "The server sends a heartbeat right after the handshake ack "
	  "and answers every heartbeat from the client at once. 0 turns "
	  "heartbeats off, as in Pomelo: the reply has no *heartbeat*, the "
	  "server sends none after the ack, a client's heartbeats are "
	  "ignored, and no heartbeat timeout applies." },
	{ .section = SEC_CONNECTOR, .name = "heartbeat_timeout",
	  .type = CONF_DURATION, .offset = C(heartbeat_timeout), .min = 0,
	  .max = 2 * DAY, .def = "0",
	  .help = "A working session that has sent no heartbeat package for "
	  "this long is closed (counted in heartbeat_timeouts).",
	  .doc = "0 means twice *heartbeat*. Unused when *heartbeat* is 0." },
	{ .section = SEC_CONNECTOR, .name = "handshake_timeout",
	  .type = CONF_DURATION, .offset = C(handshake_timeout), .min = 100,
	  .max = DAY, .def = "10s",
	  .help = "The time a new connection has, from its accept, to send "
	  "its first bytes, finish the WebSocket upgrade if it is one, and "
	  "send the Pomelo handshake and its ack.",
	  .doc = "A connection that has not is closed (counted in "
	  "*handshake_timeouts*)." },
	{ .section = SEC_CONNECTOR, .name = "idle_timeout",
	  .type = CONF_DURATION, .offset = C(idle_timeout), .min = 0,
	  .max = DAY, .def = "90s",
	  .help = "A working session with no byte in either direction for "
	  "this long is closed (counted in idle_timeouts).",
	  .doc = "Heartbeats are bytes. 0 for never." },
	{ .section = SEC_CONNECTOR, .name = "max_connections",
	  .type = CONF_UINT, .offset = C(max_connections), .min = 1,
	  .max = 10000000, .def = "10000",
	  .help = "The most connections per worker.",
	  .doc = "Beyond it a new connection is closed at once, counted in "
	  "*rejected_max_connections* and logged (at most once a second). A "
	  "worker warns at start when its open-file limit is below "
	  "*max_connections* + 64." },
	{ .section = SEC_CONNECTOR, .name = "max_package_size",
	  .type = CONF_SIZE, .offset = C(max_package_size), .min = 16,
	  .max = 0xffffff, .def = "64k",
	  .help = "The largest package body a client may send.",
	  .doc = "A raw TCP package header that announces more closes the "
	  "connection before its body is read; a WebSocket message longer "
	  "than this plus the 4-byte package header is refused and closes "
	  "the connection (counted in *oversize_packages*). The maximum is "
	  "the largest length a package header holds." },
	{ .section = SEC_CONNECTOR, .name = "max_send_buffer",
	  .type = CONF_SIZE, .offset = C(max_send_buffer), .min = 4096,
	  .max = 1ULL << 30, .def = "1m",
	  .help = "The most bytes queued for one client that does not read.",
	  .doc = "Beyond it the client is disconnected (counted in "
	  "*send_buffer_overflows*), so memory never grows without bound." },
	{ .section = SEC_CONNECTOR, .name = "no_delay", .type = CONF_BOOL,
	  .offset = C(no_delay), .def = "on",
	  .help = "Set TCP_NODELAY on client connections (not on Unix "
	  "sockets)." },
	{ .section = SEC_CONNECTOR, .name = "keepalive", .type = CONF_BOOL,
	  .offset = C(keepalive), .def = "off",
	  .help = "Set SO_KEEPALIVE on client connections (with the system's "
	  "keepalive timings)." },
	{ .section = SEC_CONNECTOR, .name = "use_dict", .type = CONF_BOOL,
	  .offset = C(use_dict), .def = "off",
	  .help = "Route dictionary compression (Pomelo's dictionary.json).",
	  .doc = "The handshake reply then carries *dict*, *routeToCode*, "
	  "*codeToRoute*, *dictVersion* and *useDict: true*, and only "
	  "*useDict* when the client's *sys.dictVersion* is the current one; "
	  "requests may carry 2-byte route codes, and pushes on dictionary "
	  "routes are sent with their codes. The codes are given as Pomelo "
	  "gives them: the built-in routes in sorted order from 1, then the "
	  "routes of *dictionary*." },
	{ .section = SEC_CONNECTOR, .name = "dictionary", .type = CONF_STRING,
	  .offset = C(dictionary), .def = "",
	  .value = "a path, or empty for the built-in routes only",
	  .help = "A JSON file holding an array of extra routes, as Pomelo's "
	  "config/dictionary.json.",
	  .doc = "Setting it turns *use_dict* on. The file is read by "
	  "*shaddockd -t*, at start and at every reload; an error in it is a "
	  "configuration error." },
	{ .section = SEC_CONNECTOR, .name = "use_protobuf", .type = CONF_BOOL,
	  .offset = C(use_protobuf), .def = "off",
	  .help = "pomelo-protobuf compression of message bodies (Pomelo's "
	  "useProtobuf).",
	  .doc = "The handshake reply then carries *protos* (the parsed "
	  "*server* and *client* schemas and their *version*) and "
	  "*useProto: true*, and only *useProto* when the client's "
	  "*sys.protoVersion* is the current version. A request or notify "
	  "whose route has a client schema is decoded by it; a response (by "
	  "the route of its request) or a push whose route has a server "
	  "schema is encoded by it. Setting *server_protos* or "
	  "*client_protos* turns it on." },
	{ .section = SEC_CONNECTOR, .name = "server_protos", .type = CONF_STRING,
	  .offset = C(server_protos), .def = "",
	  .value = "a path, or empty for none",
	  .help = "The game's config/serverProtos.json: schemas of the bodies "
	  "the server sends, by route.",
	  .doc = "Read unchanged, in the source form Pomelo reads. The file "
	  "is read by *shaddockd -t*, at start and at every reload; an error "
	  "in it names the file, the route and the field, and fails the "
	  "check or the reload (nothing changes). A file that does not exist "
	  "counts as no schema, as in Pomelo." },
	{ .section = SEC_CONNECTOR, .name = "client_protos", .type = CONF_STRING,
	  .offset = C(client_protos), .def = "",
	  .value = "a path, or empty for none",
	  .help = "The game's config/clientProtos.json: schemas of the bodies "
	  "clients send, by route.",
	  .doc = "Read as *server_protos* is." },
	{ .section = SEC_CONNECTOR, .name = "protobuf_flavour", .type = CONF_ENUM,
	  .offset = C(protobuf_flavour), .def = "auto",
	  .choices = conf_flavour_names,
	  .help = "Which library's schemas to accept: pomelo or pinus.",
	  .doc = "*pinus* adds the types *bool*, *uInt64* and *sInt64* and "
	  "the rules *map* and *obj* of pinus-protobuf, and the parsed form "
	  "Pinus sends. *auto* is *pinus* when [cluster] *type* is *pinus*, "
	  "else *pomelo*." },

	{ .section = SEC_APP, .name = "hello", .type = CONF_BOOL,
	  .offset = C(app_hello), .def = "on",
	  .help = "Pomelo's HelloWorld routes.",
	  .doc = "*connector.entryHandler.entry* answers "
	  "{\"code\":200,\"msg\":\"game server is ok.\"}; "
	  "*connector.entryHandler.publish* and "
	  "*connector.entryHandler.subscribe* answer as the HelloWorld "
	  "template does." },
	{ .section = SEC_APP, .name = "chat", .type = CONF_BOOL,
	  .offset = C(app_chat), .def = "on",
	  .help = "The routes of the chatofpomelo-websocket demo, served by "
	  "this one process.",
	  .doc = "*gate.gateHandler.queryEntry* (answers this server's host "
	  "and port), *connector.entryHandler.enter* (binds the uid "
	  "username\\*rid and joins channel rid; pushes *onAdd*), "
	  "*chat.chatHandler.send* (pushes *onChat* to the channel or to one "
	  "user); a session that leaves pushes *onLeave*." },

	{ .section = SEC_CLUSTER, .name = "type", .type = CONF_ENUM,
	  .offset = C(cluster_type), .def = "none",
	  .choices = conf_cluster_names,
	  .help = "Join a Pomelo or Pinus cluster as its connector servers.",
	  .doc = "*none*: a standalone server (the built-in routes only). "
	  "*pomelo* or *pinus*: every worker registers with the cluster's "
	  "master as one frontend server, forwards requests for other server "
	  "types to the backends over pomelo-rpc and serves the backends' "
	  "session and channel calls. The two differ on the wire (reply "
	  "shapes, the route hash of *uid* keys), so it must name the "
	  "cluster's framework." },
	{ .section = SEC_CLUSTER, .name = "master", .type = CONF_STRING,
	  .offset = C(cluster_master), .def = "127.0.0.1:3005",
	  .value = "host:port",
	  .help = "The cluster master's address (its config/master.json "
	  "host and port).",
	  .doc = "Workers keep one admin connection to it; when it is "
	  "unreachable or restarts they keep serving and reconnect with "
	  "back-off (1 s doubling to 60 s)." },
	{ .section = SEC_CLUSTER, .name = "token", .type = CONF_STRING,
	  .offset = C(cluster_token), .def = "",
	  .value = "the token, or empty for none",
	  .help = "The token of config/adminServer.json for server_type.",
	  .doc = "Needed when the cluster has an adminServer.json; the master "
	  "refuses a registration without the right one, which is logged and "
	  "retried." },
	{ .section = SEC_CLUSTER, .name = "server_type", .type = CONF_STRING,
	  .offset = C(cluster_server_type), .def = "connector",
	  .value = "a server type",
	  .help = "The server type the workers register as.",
	  .doc = "Requests whose route starts with this type are ours: the "
	  "built-in routes, or *own_routes*." },
	{ .section = SEC_CLUSTER, .name = "server_id", .type = CONF_STRING,
	  .offset = C(cluster_server_id), .def = "connector-shaddock",
	  .value = "a prefix",
	  .help = "The prefix of the ids the workers register under.",
	  .doc = "Each worker process registers as "
	  "_prefix_-_slot_-_generation_-_serial_, so a respawned or reloaded "
	  "worker is a new server and ids never repeat while the master "
	  "runs." },
	{ .section = SEC_CLUSTER, .name = "host", .type = CONF_STRING,
	  .offset = C(cluster_host), .def = "127.0.0.1",
	  .value = "an IP address",
	  .help = "The address the workers' RPC ports listen on, announced to "
	  "the backends.",
	  .doc = "Each worker listens on a port of its own on this address "
	  "for pomelo-rpc calls from the backends. pomelo-rpc has no "
	  "authentication: never expose these ports beyond the cluster's "
	  "network." },
	{ .section = SEC_CLUSTER, .name = "client_host", .type = CONF_STRING,
	  .offset = C(cluster_client_host), .def = "127.0.0.1",
	  .value = "a host name or address",
	  .help = "The clientHost announced to the gates (the clientPort is "
	  "the first listener's port)." },
	{ .section = SEC_CLUSTER, .name = "own_routes", .type = CONF_STRING,
	  .offset = C(cluster_own_routes), .def = "",
	  .value = "a server type, or empty",
	  .help = "The backend server type that handles routes of server_type "
	  "that no built-in app has.",
	  .doc = "Game code that ran inside the Node connector (for example "
	  "*connector.entryHandler.enter*) moves to a backend of this type; "
	  "the request is forwarded there with the route's server type "
	  "replaced by this one, which is where Pomelo and Pinus look for the "
	  "handler. Empty: such routes answer {\"code\":500}." },
	{ .section = SEC_CLUSTER, .name = "session_closed", .type = CONF_STRING,
	  .offset = C(cluster_session_closed), .def = "",
	  .value = "TYPE.REMOTE.METHOD, or empty",
	  .help = "A backend remote called with the exported session when a "
	  "bound session closes.",
	  .doc = "Called for every close of a bound session (the client gone, "
	  "a kick, a drain, a stop), on the server of TYPE chosen by its "
	  "[route] section. When a worker dies, the master has another "
	  "worker call it for the bound sessions the dead one held, so "
	  "backends never keep ghost channel members." },
	{ .section = SEC_CLUSTER, .name = "remoter_paths", .type = CONF_STRING,
	  .offset = C(cluster_remoter_paths), .def = "",
	  .value = "NAMESPACE:PATH ... (space-separated), or empty",
	  .help = "Pinus: the remoterPaths the workers register, so that "
	  "backends build app.rpc and app.sysrpc proxies for server_type.",
	  .doc = "Each entry is *sys* or *user*, a colon and a path that "
	  "exists on the backends' disks, such as "
	  "user:/srv/game/dist/app/servers/connector/remote. Pomelo backends "
	  "build their proxies from their own files and need none." },
	{ .section = SEC_CLUSTER, .name = "rpc_timeout", .type = CONF_DURATION,
	  .offset = C(cluster_rpc_timeout), .min = 100, .max = DAY,
	  .def = "30s",
	  .help = "How long a forwarded request or a remote call waits for "
	  "its answer.",
	  .doc = "Then the client gets {\"code\":500}; a backend known to be "
	  "gone fails its calls at once." },
	{ .section = SEC_CLUSTER, .name = "rpc_max_payload",
	  .type = CONF_SIZE, .offset = C(cluster_rpc_max_payload),
	  .min = 1024, .max = 256ULL << 20, .def = "16m",
	  .help = "The largest MQTT packet read from the master or a "
	  "backend.",
	  .doc = "A larger one closes that connection, which is counted and "
	  "logged; no client session notices." },

	{ .section = SEC_ROUTE, .name = "key", .type = CONF_STRING,
	  .offset = R(key), .def = "uid",
	  .value = "*uid*, *session* or *settings.*_NAME_",
	  .help = "What picks the server of this type for a session.",
	  .doc = "The index in the type's server list (in the order the "
	  "cluster master announced them) is the crc32 of the key modulo the "
	  "list's length, with the arithmetic of the cluster's framework, so "
	  "a Node connector and shaddock pick the same server. *uid*: the "
	  "bound uid, or \"\" (Pomelo's default route). *settings.*_NAME_: "
	  "the session setting _NAME_ (chatofpomelo routes chat by "
	  "*settings.rid*). *session*: the session id." },
};

#define N_DIRECTIVES	(sizeof conf_directives / sizeof conf_directives[0])

struct conf_parse {
	struct conf	*conf;
	const char	*path;
	FILE		*f;		/* or, when NULL, data and len */
	const char	*data;
	size_t		 len;
	size_t		 off;
	int		 line;
	bool		 long_line;
	int		 section_line;	/* of the last [section] header */
	int		 bad_section_line; /* reported unknown section */
	int		 set_line[N_DIRECTIVES];	/* non-listener keys */
	int		*lset_line;	/* per listener, N_DIRECTIVES each */
	int		*rset_line;	/* per [route], N_DIRECTIVES each */
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

static int
conf_getc(struct conf_parse *p)
{
	if (p->f != NULL) {
		return getc(p->f);
	}
	if (p->off == p->len) {
		return EOF;
	}
	return (unsigned char)p->data[p->off++];
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
		c = conf_getc(p);
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

static struct route_conf *
conf_route(struct conf_parse *p, const char *name)
{
	struct conf		*c = p->conf;
	struct route_conf	*r;
	size_t			 i;

	for (i = 0; i < c->n_routes; i++) {
		if (strcmp(c->routes[i].server_type, name) == 0) {
			return &c->routes[i];
		}
	}
	if (c->n_routes == CONF_MAX_ROUTES) {
		conf_error(p, p->line, "more than %d [route] sections",
		    CONF_MAX_ROUTES);
		return NULL;
	}
	c->routes = xreallocarray(c->routes, c->n_routes + 1,
	    sizeof *c->routes);
	p->rset_line = xreallocarray(p->rset_line, c->n_routes + 1,
	    sizeof *p->rset_line * N_DIRECTIVES);
	memset(p->rset_line + c->n_routes * N_DIRECTIVES, 0,
	    sizeof *p->rset_line * N_DIRECTIVES);
	r = &c->routes[c->n_routes++];
	memset(r, 0, sizeof *r);
	r->server_type = xstrdup(name);
	r->line = p->section_line;
	return r;
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
	struct route_conf		*r = NULL;
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
	if (sec == SEC_LISTENER || sec == SEC_ROUTE) {
		if (arg == NULL || *arg == '\0') {
			if (p->bad_section_line != p->section_line) {
				p->bad_section_line = p->section_line;
				conf_error(p, p->section_line, "[%s] needs a "
				    "name, as in %s", conf_section_names[sec],
				    sec == SEC_LISTENER ? "[listener main]" :
				    "[route chat]");
			}
			return 1;
		}
		if (sec == SEC_ROUTE) {
			if ((r = conf_route(p, arg)) == NULL) {
				return 1;
			}
			base = r;
			set = p->rset_line + (size_t)(r - p->conf->routes) *
			    N_DIRECTIVES;
		} else {
			if ((l = conf_listener(p, arg)) == NULL) {
				return 1;
			}
			base = l;
			set = p->lset_line + (size_t)(l -
			    p->conf->listeners) * N_DIRECTIVES;
		}
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

/*
 * The line that set directive <name> of the unnamed section <sec>, or 0
 * when it has its default (the error then names only the file).
 */
static int
conf_line_of(const struct conf_parse *p, enum conf_section sec,
    const char *name)
{
	size_t	 i;

	for (i = 0; i < N_DIRECTIVES; i++) {
		if (conf_directives[i].section == sec &&
		    strcmp(conf_directives[i].name, name) == 0) {
			return p->set_line[i];
		}
	}
	return 0;
}

/* True when <s> is a non-empty run of [A-Za-z0-9_-]. */
static bool
conf_is_name(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0) {
		return false;
	}
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-')) {
			return false;
		}
	}
	return true;
}

/* [cluster] and [route] checks; routes get their key kind. */
static void
conf_finish_cluster(struct conf_parse *p)
{
	struct conf		*c = p->conf;
	struct route_conf	*r;
	const char		*a, *b, *w;
	char			 err[128];
	size_t			 i;

	for (i = 0; i < c->n_routes; i++) {
		r = &c->routes[i];
		if (strcmp(r->key, "uid") == 0) {
			r->key_kind = CONF_ROUTE_UID;
		} else if (strcmp(r->key, "session") == 0) {
			r->key_kind = CONF_ROUTE_SESSION;
		} else if (strncmp(r->key, "settings.", 9) == 0 &&
		    r->key[9] != '\0') {
			r->key_kind = CONF_ROUTE_SETTING;
			r->key_setting = r->key + 9;
		} else {
			conf_error(p, r->line, "[route %s]: key \"%s\" is not "
			    "uid, session or settings.NAME", r->server_type,
			    r->key);
		}
	}
	if (c->cluster_type == CONF_CLUSTER_NONE) {
		return;
	}
	if (addr_parse(c->cluster_master, &c->cluster_master_addr, err,
	    sizeof err) != 0 || c->cluster_master_addr.ss.ss_family ==
	    AF_UNIX) {
		conf_error(p, conf_line_of(p, SEC_CLUSTER, "master"), "[cluster] master: \"%s\": %s",
		    c->cluster_master, c->cluster_master_addr.ss.ss_family ==
		    AF_UNIX ? "not a TCP address" : err);
	}
	if (!conf_is_name(c->cluster_server_type,
	    strlen(c->cluster_server_type))) {
		conf_error(p, conf_line_of(p, SEC_CLUSTER, "server_type"), "[cluster] server_type: \"%s\" is not a "
		    "server type name", c->cluster_server_type);
	}
	if (!conf_is_name(c->cluster_server_id,
	    strlen(c->cluster_server_id))) {
		conf_error(p, conf_line_of(p, SEC_CLUSTER, "server_id"), "[cluster] server_id: \"%s\" is not a name "
		    "of letters, digits, - and _", c->cluster_server_id);
	}
	if (*c->cluster_host == '\0') {
		conf_error(p, conf_line_of(p, SEC_CLUSTER, "host"), "[cluster] host must not be empty");
	}
	if (*c->cluster_own_routes != '\0' && !conf_is_name(
	    c->cluster_own_routes, strlen(c->cluster_own_routes))) {
		conf_error(p, conf_line_of(p, SEC_CLUSTER, "own_routes"), "[cluster] own_routes: \"%s\" is not a "
		    "server type name", c->cluster_own_routes);
	}
	w = c->cluster_session_closed;
	if (*w != '\0') {
		a = strchr(w, '.');
		b = a != NULL ? strchr(a + 1, '.') : NULL;
		if (a == NULL || b == NULL || strchr(b + 1, '.') != NULL ||
		    !conf_is_name(w, (size_t)(a - w)) ||
		    !conf_is_name(a + 1, (size_t)(b - a - 1)) ||
		    !conf_is_name(b + 1, strlen(b + 1))) {
			conf_error(p, conf_line_of(p, SEC_CLUSTER, "session_closed"), "[cluster] session_closed: \"%s\" is "
			    "not TYPE.REMOTE.METHOD", w);
		}
	}
	for (w = c->cluster_remoter_paths; *w != '\0';) {
		w += strspn(w, " \t");
		if (*w == '\0') {
			break;
		}
		a = w + strcspn(w, " \t");
		if ((strncmp(w, "sys:/", 5) != 0 &&
		    strncmp(w, "user:/", 6) != 0)) {
			conf_error(p, conf_line_of(p, SEC_CLUSTER, "remoter_paths"), "[cluster] remoter_paths: \"%.*s\" is "
			    "not sys:/PATH or user:/PATH", (int)(a - w), w);
		}
		w = a;
	}
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
	struct sockaddr_un	 sun;
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
	} else if (*c->runtime_dir != '/') {
		/* The paths inside it would depend on the working directory. */
		conf_error(p, conf_line_of(p, SEC_SERVER, "runtime_dir"),
		    "runtime_dir: \"%s\" is not an absolute path "
		    "nor auto", c->runtime_dir);
	}
	conf_in_runtime_dir(c, &c->admin_socket);
	conf_in_runtime_dir(c, &c->pid_file);
	if (*c->admin_socket == '\0') {
		conf_error(p, 0, "admin_socket must not be empty");
	} else if (strlen(c->admin_socket) >= sizeof sun.sun_path) {
		conf_error(p, 0, "admin_socket: \"%s\" is longer than %zu "
		    "bytes", c->admin_socket, sizeof sun.sun_path - 1);
	}
	if (c->heartbeat_timeout == 0) {
		c->heartbeat_timeout = 2 * c->heartbeat;
	}
	if (*c->dictionary != '\0') {
		c->use_dict = true;
	}
	if (*c->metrics_listen != '\0' && addr_parse(c->metrics_listen,
	    &c->metrics_addr, err, sizeof err) != 0) {
		conf_error(p, conf_line_of(p, SEC_SERVER, "metrics_listen"),
		    "metrics_listen: \"%s\": %s",
		    c->metrics_listen, err);
	}
	if (*c->server_protos != '\0' || *c->client_protos != '\0') {
		c->use_protobuf = true;
	}
	if (c->protobuf_flavour == CONF_FLAVOUR_AUTO) {
		c->protobuf_flavour = c->cluster_type == CONF_CLUSTER_PINUS ?
		    CONF_FLAVOUR_PINUS : CONF_FLAVOUR_POMELO;
	}
	conf_finish_cluster(p);
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

/* Parses what <p> reads; the rest of conf_load(). */
static int
conf_parse(struct conf_parse *p, struct conf **ret, char **ret_errors)
{
	struct conf	*c;
	size_t		 i;
	int		 r;

	c = p->conf = xcalloc(1, sizeof *c);
	c->path = xstrdup(p->path);
	r = ini_parse_stream(conf_reader, p, conf_handler, p);
	if (p->f != NULL && ferror(p->f)) {
		conf_error(p, p->line, "read error");
	}
	/* The handler never fails, so a line inih reports is a syntax error. */
	if (r > 0) {
		conf_error(p, r, "syntax error (expected [section] or "
		    "key = value)");
	} else if (r < 0) {
		conf_error(p, 0, "out of memory while parsing");
	}
	conf_defaults(p, SEC_SERVER, c, p->set_line);
	conf_defaults(p, SEC_CONNECTOR, c, p->set_line);
	conf_defaults(p, SEC_APP, c, p->set_line);
	conf_defaults(p, SEC_CLUSTER, c, p->set_line);
	for (i = 0; i < c->n_listeners; i++) {
		conf_defaults(p, SEC_LISTENER, &c->listeners[i],
		    p->lset_line + i * N_DIRECTIVES);
	}
	for (i = 0; i < c->n_routes; i++) {
		conf_defaults(p, SEC_ROUTE, &c->routes[i],
		    p->rset_line + i * N_DIRECTIVES);
	}
	/* Kept for conf_line(): checks after loading report lines too. */
	c->lines = p->lset_line;
	conf_finish(p);
	free(p->rset_line);
	if (p->n_errors > 0) {
		conf_free(c);
		*ret_errors = p->errors;
		return -EINVAL;
	}
	*ret = c;
	return 0;
}

int
conf_load(const char *path, struct conf **ret, char **ret_errors)
{
	struct conf_parse	 p;
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
	r = conf_parse(&p, ret, ret_errors);
	fclose(p.f);
	return r;
}

int
conf_load_buffer(const char *name, const char *data, size_t len,
    struct conf **ret, char **ret_errors)
{
	struct conf_parse	 p;

	*ret_errors = NULL;
	memset(&p, 0, sizeof p);
	p.path = name;
	p.data = data;
	p.len = len;
	return conf_parse(&p, ret, ret_errors);
}

void
conf_free(struct conf *c)
{
	const struct conf_directive	*d;
	size_t				 i, j;

	if (c == NULL) {
		return;
	}
	pb_protos_free(c->pb_server);
	pb_protos_free(c->pb_client);
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
		} else if (d->section == SEC_ROUTE) {
			for (j = 0; j < c->n_routes; j++) {
				free(*(char **)((char *)&c->routes[j] +
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
	for (j = 0; j < c->n_routes; j++) {
		free(c->routes[j].server_type);
	}
	free(c->routes);
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

/*
 * Writes "NAME = ". A string value that starts with ';' follows the '='
 * directly: after a blank, libinih would read it as a comment.
 */
static void
conf_dump_key(const struct conf_directive *d, const void *base, FILE *f)
{
	const char	*s;

	if (d->type == CONF_STRING || d->type == CONF_ADDRESS) {
		s = *(char *const *)((const char *)base + d->offset);
		if (s != NULL && *s == ';') {
			fprintf(f, "%s =", d->name);
			return;
		}
	}
	fprintf(f, "%s = ", d->name);
}

void
conf_dump(const struct conf *c, FILE *f)
{
	const struct conf_directive	*d;
	size_t				 s, i, j;

	fprintf(f, "# %s\n", c->path);
	for (s = 0; s < nitems(conf_section_names); s++) {
		if (s == SEC_LISTENER || s == SEC_ROUTE) {
			continue;
		}
		fprintf(f, "\n[%s]\n", conf_section_names[s]);
		for (i = 0; i < N_DIRECTIVES; i++) {
			d = &conf_directives[i];
			if (d->section != s) {
				continue;
			}
			conf_dump_key(d, c, f);
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
			conf_dump_key(d, &c->listeners[j], f);
			conf_dump_value(d, &c->listeners[j], f);
			fputc('\n', f);
		}
	}
	for (j = 0; j < c->n_routes; j++) {
		fprintf(f, "\n[route %s]\n", c->routes[j].server_type);
		for (i = 0; i < N_DIRECTIVES; i++) {
			d = &conf_directives[i];
			if (d->section != SEC_ROUTE) {
				continue;
			}
			conf_dump_key(d, &c->routes[j], f);
			conf_dump_value(d, &c->routes[j], f);
			fputc('\n', f);
		}
	}
}

/* Writes plain text <s> with what scdoc reads as markup escaped. */
static void
conf_doc_plain(const char *s, FILE *f)
{
	for (; *s != '\0'; s++) {
		if (strchr("\\*_[]", *s) != NULL) {
			fputc('\\', f);
		}
		fputc(*s, f);
	}
}

/* Writes scdoc text <s> indented, one tab per line (paragraphs kept). */
static void
conf_doc_indent(const char *s, FILE *f)
{
	bool	 bol = true;

	for (; *s != '\0'; s++) {
		if (bol && *s != '\n') {
			fputc('\t', f);
		}
		fputc(*s, f);
		bol = *s == '\n';
	}
	if (!bol) {
		fputc('\n', f);
	}
}

/* A duration in ms or a size in bytes, in the largest exact unit. */
static const char *
conf_doc_amount(uint64_t v, enum conf_type type, char *buf, size_t size)
{
	static const struct {
		uint64_t	 n;
		const char	*unit;
	} ms[] = {
		{ DAY, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
		{ 1, "ms" },
	}, bytes[] = {
		{ 1ULL << 30, "g" }, { 1ULL << 20, "m" }, { 1ULL << 10, "k" },
		{ 1, "" },
	};
	size_t	 i;

	if (v == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	if (type == CONF_DURATION) {
		for (i = 0; v % ms[i].n != 0; i++) {
			;
		}
		snprintf(buf, size, "%ju%s", (uintmax_t)(v / ms[i].n),
		    ms[i].unit);
	} else {
		for (i = 0; v % bytes[i].n != 0; i++) {
			;
		}
		snprintf(buf, size, "%ju%s", (uintmax_t)(v / bytes[i].n),
		    bytes[i].unit);
	}
	return buf;
}

/* The man page's "Value:" line of <d>: what it accepts (scdoc). */
static void
conf_doc_value(const struct conf_directive *d, FILE *f)
{
	char	 lo[32], hi[32];
	size_t	 i;

	fputs("\tValue: ", f);
	switch (d->type) {
	case CONF_STRING:
	case CONF_ADDRESS:
		fputs(d->value, f);
		break;
	case CONF_BOOL:
		fputs("*on* or *off*", f);
		break;
	case CONF_ENUM:
	case CONF_LOGLEVEL:
		for (i = 0; d->choices[i] != NULL; i++) {
			fprintf(f, "%s*%s*", i == 0 ? "" :
			    d->choices[i + 1] == NULL ? " or " : ", ",
			    d->choices[i]);
		}
		break;
	case CONF_WORKERS:
	case CONF_UINT:
		fprintf(f, "a number from %ju to %ju%s", (uintmax_t)d->min,
		    (uintmax_t)d->max,
		    d->type == CONF_WORKERS ? ", or *auto*" : "");
		break;
	case CONF_DURATION:
	case CONF_SIZE:
		conf_doc_amount(d->min, d->type, lo, sizeof lo);
		conf_doc_amount(d->max, d->type, hi, sizeof hi);
		fprintf(f, "a %s from %s to %s%s",
		    d->type == CONF_DURATION ? "duration" : "size", lo, hi,
		    d->type == CONF_SIZE && d->max % 1024 != 0 ? " bytes" : "");
		break;
	}
	fputs(".\n", f);
}

int
conf_dump_directives(FILE *f, const char *section)
{
	const struct conf_directive	*d;
	size_t				 i, s;
	bool				 first = true;

	for (s = 0; s < nitems(conf_section_names); s++) {
		if (strcmp(conf_section_names[s], section) == 0) {
			break;
		}
	}
	if (s == nitems(conf_section_names)) {
		return -ENOENT;
	}
	/* Undocumented directives fail the build of the man page. */
	for (i = 0; i < N_DIRECTIVES; i++) {
		d = &conf_directives[i];
		if (d->section == s && (d->help == NULL || *d->help == '\0' ||
		    ((d->type == CONF_STRING || d->type == CONF_ADDRESS) &&
		    d->value == NULL))) {
			return -EINVAL;
		}
	}
	for (i = 0; i < N_DIRECTIVES; i++) {
		d = &conf_directives[i];
		if (d->section != s) {
			continue;
		}
		if (!first) {
			fputc('\n', f);
		}
		first = false;
		fprintf(f, "*%s* =", d->name);
		if (d->def == NULL) {
			fputs(" (required)", f);
		} else if (*d->def != '\0') {
			fputc(' ', f);
			conf_doc_plain(d->def, f);
		}
		fputs("\n\t", f);
		conf_doc_plain(d->help, f);
		fputc('\n', f);
		if (d->doc != NULL) {
			conf_doc_indent(d->doc, f);
		}
		fputc('\n', f);
		conf_doc_value(d, f);
	}
	return 0;
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
conf_section_name(size_t i)
{
	return i < nitems(conf_section_names) ? conf_section_names[i] : NULL;
}

const char *
conf_directive_name(size_t i, const char **ret_section,
    const char **ret_default)
{
	if (i >= N_DIRECTIVES) {
		return NULL;
	}
	if (ret_section != NULL) {
		*ret_section = conf_section_names[conf_directives[i].section];
	}
	if (ret_default != NULL) {
		*ret_default = conf_directives[i].def;
	}
	return conf_directives[i].name;
}
