/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The pomelo-admin / pinus-admin messages a frontend exchanges with the
 * master of its cluster (CLUSTER.md §3), as PUBLISH payloads:
 *
 *  - topic "register": our registration (single-encoded JSON object) and
 *    the master's reply {"code":1|-1,"msg":...};
 *  - topic "reconnect" / "reconnect_ok": the same after a lost link;
 *  - topic "monitor": requests, responses, notifies and commands. Node
 *    writes requests, responses and commands *double-encoded* (the
 *    payload is a JSON string holding the object's JSON text) and
 *    notifies single-encoded, and reads with "parse; if the result is a
 *    string, parse again". reqId 0 is impossible (a falsy reqId means
 *    notify), and a response echoes reqId with its JSON type: the master
 *    re-sends pending requests with string ids after a reconnect.
 *
 * The parsers return views that borrow from a jansson tree the caller
 * owns; the encoders return payload text the caller frees. The
 * __masterwatcher__ / __monitorwatcher__ bodies (discovery) and the
 * __console__ signals (pomelo list/stop/kill) have helpers of their own.
 */

#ifndef COMMON_ADMIN_MSG_H
#define COMMON_ADMIN_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#define ADMIN_TOPIC_REGISTER		"register"
#define ADMIN_TOPIC_RECONNECT		"reconnect"
#define ADMIN_TOPIC_RECONNECT_OK	"reconnect_ok"
#define ADMIN_TOPIC_MONITOR		"monitor"

#define ADMIN_MODULE_MASTERWATCHER	"__masterwatcher__"
#define ADMIN_MODULE_MONITORWATCHER	"__monitorwatcher__"
#define ADMIN_MODULE_CONSOLE		"__console__"

/* The two pomelo-admin status codes: register replies, watcher acks. */
#define ADMIN_OK	1
#define ADMIN_FAIL	-1

/* What a server announces about itself (the "info" object, §3.2). */
struct admin_info {
	const char	*id;		/* required */
	const char	*server_type;	/* required: else never announced */
	const char	*host;		/* required: where backends call us */
	unsigned	 port;		/* RPC port; 0: left out */
	const char	*client_host;	/* NULL: left out */
	unsigned	 client_port;	/* 0: left out */
	bool		 frontend;	/* "frontend":"true" (the string) */
	const char	*env;		/* NULL: left out */
	const json_t	*remoter_paths;	/* Pinus: array; NULL: left out */
	const json_t	*handler_paths;	/* Pinus: array; NULL: left out */
	const json_t	*extra;		/* object merged in last; NULL: none */
};

/* Why the master refused a register or reconnect. */
enum admin_refusal {
	ADMIN_REFUSED_NONE,		/* not refused: code 1 */
	ADMIN_REFUSED_AUTH,		/* "server auth failed..." (token) */
	ADMIN_REFUSED_ID_TAKEN,		/* "id has been registered. id:..." */
	ADMIN_REFUSED_OTHER,		/* any other code or text */
};

enum admin_kind {
	ADMIN_REQUEST,		/* truthy reqId: answer it */
	ADMIN_NOTIFY,		/* no reqId: never answered */
	ADMIN_RESPONSE,		/* truthy respId: answers one of ours */
	ADMIN_COMMAND,		/* truthy "command" (enable/disable/list) */
};

/* A monitor-topic message; pointers borrow the tree. */
struct admin_msg {
	enum admin_kind	 kind;
	json_t		*id;		/* reqId (request, command) or respId
					   (response) as received; NULL for
					   notifies and plain commands */
	const char	*module_id;	/* NULL when absent or not a string */
	const char	*command;	/* commands only */
	json_t		*body;		/* NULL when absent */
	json_t		*error;		/* responses: the error slot */
};

/* The __monitorwatcher__ actions the master sends (§3.4). */
enum admin_action {
	ADMIN_ACTION_ADD_SERVER,	/* server: one info */
	ADMIN_ACTION_REMOVE_SERVER,	/* id */
	ADMIN_ACTION_REPLACE_SERVER,	/* servers: map id -> info */
	ADMIN_ACTION_START_OVER,
};

struct admin_watch {
	enum admin_action	 action;
	json_t			*server;	/* addServer (borrowed) */
	const char		*id;		/* removeServer */
	json_t			*servers;	/* replaceServer (borrowed) */
};

/* The fields of a server info that routing needs; pointers borrow. */
struct admin_server {
	const char	*id;
	const char	*server_type;
	const char	*host;		/* NULL when absent */
	uint16_t	 port;		/* 0 when absent or unusable */
	bool		 frontend;	/* "frontend" is the string "true" */
	json_t		*info;		/* the whole info object */
};

/* The __console__ signals (§3.5). */
enum admin_signal {
	ADMIN_SIGNAL_UNKNOWN,
	ADMIN_SIGNAL_LIST,
	ADMIN_SIGNAL_STOP,
	ADMIN_SIGNAL_KILL,
	ADMIN_SIGNAL_RESTART,
	ADMIN_SIGNAL_BLACKLIST,
	ADMIN_SIGNAL_ADD_CRON,
	ADMIN_SIGNAL_REMOVE_CRON,
};

/*
 * Builds the "info" object of <info>: id, serverType, host, then port,
 * clientHost, clientPort, frontend ("true"), env, remoterPaths and
 * handlerPaths when set, then the members of <extra> (which may override
 * any of them). Returns 0 and a new reference in <*ret>, or -EINVAL when
 * id, server_type or host is NULL, a string is not UTF-8 or <extra> is
 * not an object; <*ret> is then untouched.
 */
int	 admin_msg_info(const struct admin_info *info, json_t **ret);

/*
 * Appends the Pinus remoterPaths record {namespace, serverType, path} to
 * the array <paths>. Returns 0, or -EINVAL when <paths> is not an array
 * or a string is NULL or not UTF-8.
 */
int	 admin_msg_remoter_path_add(json_t *paths, const char *ns,
	     const char *server_type, const char *path);

/*
 * The "register" payload {"id","type":"monitor","serverType","pid","info",
 * "token"} (token null when <token> is NULL, as Node sends it for a
 * server type without an adminServer.json entry). <info> is not consumed.
 * Returns the text (the caller frees it), its length in <*ret_len>.
 */
char	*admin_msg_encode_register(const char *id, const char *server_type,
	     pid_t pid, const json_t *info, const char *token, size_t *ret_len);

/*
 * The "reconnect" payload {"id","type":"monitor","info","pid",
 * "serverType"} (no token: the master does not check one there).
 */
char	*admin_msg_encode_reconnect(const char *id, const char *server_type,
	     pid_t pid, const json_t *info, size_t *ret_len);

/*
 * Reads the master's reply on "register" or "reconnect_ok". Returns 0 and
 * sets <*ret_ok> (code === 1, as Node tests it), <*ret_why> and the
 * reply's "msg" text into <text> (truncated to <textlen>, "" when there is
 * none; <text> may be NULL). Returns -EBADMSG with a reason in <err> when
 * the payload is not a JSON object; the outputs are then untouched.
 */
int	 admin_msg_parse_reply(const void *payload, size_t len, bool *ret_ok,
	     enum admin_refusal *ret_why, char *text, size_t textlen,
	     char *err, size_t errlen);

/*
 * Reads a "monitor" payload: parses it, and parses again when the result
 * is a JSON string; then classifies it as Node's monitor agent does:
 * a truthy "command" makes a command, else a truthy "respId" a response,
 * else a truthy "reqId" a request, else a notify. Returns 0 with the tree
 * in <*ret_root> (the caller json_decref()s it) and the view in <*ret>;
 * returns -EBADMSG with a reason in <err> when the payload is not JSON or
 * not an object after the second parse; outputs untouched then.
 */
int	 admin_msg_parse(const void *payload, size_t len, json_t **ret_root,
	     struct admin_msg *ret, char *err, size_t errlen);

/*
 * A request on "monitor": {"reqId":<req_id>,"moduleId":..,"body":..},
 * double-encoded. <req_id> must not be 0; <body> NULL leaves it out.
 * Returns the text (the caller frees it), its length in <*ret_len>.
 */
char	*admin_msg_encode_request(uint64_t req_id, const char *module_id,
	     const json_t *body, size_t *ret_len);

/*
 * The subscribe request {"action":"subscribe","id":<id>} to
 * __masterwatcher__ (double-encoded); its reply's body is the server map
 * (see admin_msg_server_list()).
 */
char	*admin_msg_encode_subscribe(uint64_t req_id, const char *id,
	     size_t *ret_len);

/*
 * A notify on "monitor": {"moduleId":..,"body":..}, single-encoded as
 * Node sends notifies. <body> NULL leaves it out.
 */
char	*admin_msg_encode_notify(const char *module_id, const json_t *body,
	     size_t *ret_len);

/* The __masterwatcher__ notify {"action":"record","id":<id>}. */
char	*admin_msg_encode_record(const char *id, size_t *ret_len);

/*
 * A response on "monitor": {"respId":<resp_id>,"error":..,"body":..},
 * double-encoded. <resp_id> is the request's reqId as received and is
 * echoed with its JSON type; <error> and <body> NULL are left out (Node's
 * undefined), a json null is written as null. Nothing is consumed.
 */
char	*admin_msg_encode_response(const json_t *resp_id, const json_t *error,
	     const json_t *body, size_t *ret_len);

/*
 * The acknowledgement of a __monitorwatcher__ request: the OK signal
 * travels in the error slot, {"respId":<resp_id>,"error":1}, or 0 when
 * <ok> is false (Node's answer to a request missing its data).
 */
char	*admin_msg_encode_ack(const json_t *resp_id, bool ok,
	     size_t *ret_len);

/*
 * Reads the body of a __monitorwatcher__ request into <*ret>. Returns 0;
 * -EBADMSG when the action is known but its data (server, id, servers) is
 * missing or falsy: answer admin_msg_encode_ack(id, false); -ENOENT when
 * the body has no action or an unknown one, which Node leaves unanswered.
 * <*ret> is untouched on failure.
 */
int	 admin_msg_watcher(json_t *body, struct admin_watch *ret);

/*
 * Views the server info <info>. Returns 0, or -EBADMSG when it is not an
 * object or its id or serverType is not a non-empty string; <*ret> is then
 * untouched. port is taken from a number or a decimal string in 1-65535.
 */
int	 admin_msg_server(json_t *info, struct admin_server *ret);

/*
 * The infos of the server map <map> (a subscribe reply body or a
 * replaceServer "servers"), in the order JavaScript iterates the map's
 * keys: integer-like keys ascending first, then the others as received.
 * Returns a new array (borrowed elements, incref'd) the caller
 * json_decref()s; an empty array when <map> is not an object.
 */
json_t	*admin_msg_server_list(json_t *map);

/* The signal of a __console__ body {"signal":...}. */
enum admin_signal admin_msg_console_signal(const json_t *body);

/*
 * The __console__ "list" record a server puts in the error slot:
 * {"serverId","body":{"serverId","serverType","pid","rss","heapTotal",
 * "heapUsed","uptime"}}, sizes in bytes written as MiB and <uptime_s>
 * written as minutes, each with two decimals as Number#toFixed(2) writes
 * them. Returns a new reference.
 */
json_t	*admin_msg_console_list(const char *server_id, const char *server_type,
	     pid_t pid, uint64_t rss, uint64_t heap_total, uint64_t heap_used,
	     double uptime_s);

/*
 * The error slot Node answers a request for an unknown module with:
 * "unknown moduleId:<module_id>" ("undefined" when NULL). A new reference.
 */
json_t	*admin_msg_unknown_module(const char *module_id);

/* Number#toFixed(2) of <v> into <out> (32 bytes); returns the length. */
size_t	 admin_msg_fixed2(double v, char *out);

#endif
