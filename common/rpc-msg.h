/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The pomelo-rpc / pinus-rpc envelopes (CLUSTER.md §4-6), the JSON
 * payloads of the PUBLISH packets on topic "rpc". A caller (a "mailbox")
 * sends requests {"id":N,"msg":{namespace, serverType, service, method,
 * args}}; the callee (the "acceptor") answers {"id":N,"resp":[...]} with
 * the arguments its remote passed to its callback. Either side may batch
 * (bufferMsg): the payload is then a JSON array of such objects.
 *
 * Parsing: rpc_msg_parse() turns a payload into a jansson tree the caller
 * owns and counts its envelopes; rpc_msg_item() picks one, and the _view
 * functions fill structs whose pointers borrow from that tree. A mailbox
 * reads the responses of a plain payload (jscan.h) in place instead,
 * with rpc_msg_scan_*(), and hands a forwarded request's answer to the
 * client as the text the backend wrote (rpc_msg_forward_text()).
 * Encoding:
 * the rpc_msg_encode_* functions return the payload text (the caller
 * frees it) to be sent with mqtt_encode_publish_head() on RPC_MSG_TOPIC.
 * The rpc_msg_resp_* functions build the `resp` arrays of the replies a
 * frontend owes its backends, in the flavour of the cluster.
 */

#ifndef COMMON_RPC_MSG_H
#define COMMON_RPC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/flavour.h"
#include "common/jscan.h"

#define RPC_MSG_TOPIC		"rpc"

/* One request, as an acceptor receives it; pointers borrow the tree. */
struct rpc_request {
	json_t		*id;		/* "id" as received; NULL when absent */
	json_t		*msg;		/* the "msg" object */
	const char	*ns;		/* msg.namespace: "sys" or "user" */
	const char	*server_type;	/* msg.serverType; absent for rpcInvoke */
	const char	*service;
	const char	*method;
	json_t		*args;		/* msg.args, an array; NULL: none */
};

/* One response, as a mailbox receives it; pointers borrow the tree. */
struct rpc_response {
	uint64_t	 id;		/* the request id it answers */
	json_t		*resp;		/* the callback arguments; NULL: none */
};

/* One response read in place; pointers borrow the payload. */
struct rpc_response_text {
	uint64_t	 id;
	const char	*resp;		/* the resp array's text; NULL: none */
	size_t		 resp_len;
};

/* A walk through the responses of one payload, in place. */
struct rpc_msg_scan {
	struct jscan_iter it;
	const char	*single;	/* the payload when it is one object */
	size_t		 single_len;
	bool		 batch;
};

/* A client message to forward as sys.msgRemote.forwardMessage (§5.1). */
struct rpc_forward {
	uint32_t	 msg_id;	/* the client's request id; 0: notify */
	bool		 notify;	/* "type" 1 instead of 0 */
	bool		 compress_route; /* the client sent a dictionary code */
	const char	*route;		/* the full route */
	size_t		 route_len;
	const json_t	*body_json;	/* the decoded body; or else: */
	const char	*body;		/* the body as JSON text (trusted) */
	size_t		 body_len;
	uint64_t	 sid;		/* session id, at most 2^53 */
	const char	*frontend_id;	/* our registered server id */
	const json_t	*uid;		/* NULL or null: not bound */
	const json_t	*settings;	/* an object; NULL: {} */
};

/* The sessionRemote failures of §6.1, worded per flavour. */
enum rpc_session_error {
	RPC_SESSION_NOT_FOUND,		/* bind/unbind/push/pushAll: no sid */
	RPC_SESSION_BOUND_OTHER,	/* bind: bound to another uid */
	RPC_SESSION_SINGLE,		/* bind: singleSession, uid has one */
	RPC_SESSION_NOT_BOUND,		/* unbind: not bound to that uid */
};

/* Which lookup of the acceptor's dispatcher failed. */
enum rpc_no_such {
	RPC_NO_SUCH_NAMESPACE,
	RPC_NO_SUCH_SERVICE,
	RPC_NO_SUCH_METHOD,
};

/*
 * Parses the <len>-byte payload <payload> (JSON.parse rules, see
 * jsval_parse()). On success stores the tree in <*ret_root> (the caller
 * json_decref()s it; the views borrow from it) and returns the number of
 * envelopes it holds: 1 for an object, the element count for a batch
 * array (possibly 0). Returns -EBADMSG with a reason in <err> when the
 * payload is not JSON or is neither an object nor an array; <*ret_root>
 * is then untouched. Node answers such a payload with an error reply that
 * has no id: rpc_msg_encode_response(NULL, rpc_msg_resp_error(...)).
 */
int	 rpc_msg_parse(const void *payload, size_t len, json_t **ret_root,
	     char *err, size_t errlen);

/*
 * Envelope <i> (0 to count - 1) of a tree from rpc_msg_parse(): the root
 * itself when it is an object, else element <i>. Borrowed.
 */
json_t	*rpc_msg_item(json_t *root, size_t i);

/*
 * The "id" member of an envelope as received (borrowed; NULL when absent
 * or when <item> is not an object). An acceptor echoes it unchanged, also
 * when the rest of the request is unusable.
 */
json_t	*rpc_msg_id(json_t *item);

/*
 * Fills <*ret> from a request envelope. Returns 0, or -EBADMSG with a
 * reason in <err> when <item> is not an object, "msg" is not an object, or
 * "args" is present, not null and not an array; <*ret> is then untouched
 * (answer the id from rpc_msg_id() with an error). namespace, serverType,
 * service and method are NULL when absent or not strings: dispatch on them
 * and answer rpc_msg_resp_no_such() when a lookup fails, as Node does.
 */
int	 rpc_msg_request_view(json_t *item, struct rpc_request *ret,
	     char *err, size_t errlen);

/*
 * Fills <*ret> from a response envelope. Returns 0, or -EBADMSG with a
 * reason when <item> is not an object, its id does not name a request id
 * (a number or canonical decimal string up to 2^53, compared as the
 * JavaScript object key Node looks it up by), or "resp" is present and
 * neither an array nor null; <*ret> is then untouched. A missing or null
 * "resp" means a callback called with no arguments (resp NULL).
 */
int	 rpc_msg_response_view(json_t *item, struct rpc_response *ret,
	     char *err, size_t errlen);

/*
 * Starts reading the responses of <payload> in place. Returns false when
 * the payload is not plain JSON (jscan.h) or neither an object nor an
 * array: read it with rpc_msg_parse() then, which decides what it is.
 */
bool	 rpc_msg_scan_start(struct rpc_msg_scan *sc, const void *payload,
	     size_t len);

/*
 * The next response envelope of the payload: 1 with it in <*ret>, as
 * rpc_msg_response_view() would read it; 2 when this envelope is one the
 * view must read (not an object, an escaped key, an id that is not a
 * plain integer up to 2^53, a resp neither an array nor null; <*ret_item>
 * and <*ret_item_len> give its text, a plain JSON value); 0 after the last.
 */
int	 rpc_msg_scan_next(struct rpc_msg_scan *sc,
	     struct rpc_response_text *ret, const char **ret_item,
	     size_t *ret_item_len);

/*
 * A request payload {"id":<id>,"msg":{"namespace":<ns>,["serverType":
 * <server_type>,]"service":..,"method":..,"args":<args>}}, serverType
 * left out when <server_type> is NULL (as rpcInvoke sends it) and args
 * [] when <args> is NULL. <ns>, <service> and <method> must not be NULL.
 * Returns the text (the caller frees it), its length in <*ret_len>.
 */
char	*rpc_msg_encode_request(uint64_t id, const char *ns,
	     const char *server_type, const char *service, const char *method,
	     const json_t *args, size_t *ret_len);

/*
 * The sys.msgRemote.forwardMessage request for <f> to a server of
 * <server_type>, as a Node frontend sends it (CLUSTER.md §5.1):
 * args [{id, type, compressRoute, route, body, compressGzip:0},
 * {id, frontendId, uid, settings}]. The body is <f->body_json> when set,
 * else the <body_len> bytes of JSON text at <f->body>, which the caller
 * vouches is one valid JSON value (they are copied as they are), else {}.
 * Returns the text (the caller frees it), its length in <*ret_len>.
 */
char	*rpc_msg_encode_forward(uint64_t id, const char *server_type,
	     const struct rpc_forward *f, size_t *ret_len);

/*
 * A response payload {"id":<id>,"resp":<resp>}; "id" is left out when
 * <id> is NULL, as Node does for a request it could not read. <resp> is
 * not consumed. Returns the text (the caller frees it).
 */
char	*rpc_msg_encode_response(const json_t *id, const json_t *resp,
	     size_t *ret_len);

/*
 * The resp of a remote that succeeded, in the shape of flavour <f>
 * (CLUSTER.md §6.1, §10): with a <value>, [null, value] in both; without
 * (NULL), [] for Pomelo (cb() with no arguments) and [null,null] for Pinus
 * (a promise resolved with undefined). Steals the reference to <value>.
 * Returns a new reference.
 */
json_t	*rpc_msg_resp_ok(enum flavour f, json_t *value);

/*
 * The resp of a remote that failed with new Error(message), in both
 * flavours: [{"stack":"Error: <message>"}] (Node sends the stack only,
 * never `message`; there are no frames to show here). printf-style.
 * Returns a new reference.
 */
json_t	*rpc_msg_resp_error(const char *fmt, ...)
	     __attribute__((format(printf, 1, 2)));

/*
 * The error of the acceptor's dispatcher for a lookup that failed on
 * <req>: "no such namespace:<v>", "no such service:<v>" or "no such
 * method:<v>", <v> being String() of the member as received ("undefined"
 * when absent). Returns a new reference to the resp array.
 */
json_t	*rpc_msg_resp_no_such(const struct rpc_request *req,
	     enum rpc_no_such what);

/*
 * The resp of a sessionRemote call that failed as Pomelo's or Pinus's
 * sessionService fails it (CLUSTER.md §6.1), [{"stack":"Error: <text>"}]
 * with <text>, <v> written as String(v) (NULL: "undefined"):
 *   RPC_SESSION_NOT_FOUND    "session does not exist, sid: <v = sid>"
 *   RPC_SESSION_BOUND_OTHER  "session has already bind with <v>" (Pinus:
 *                            "bound with"), <v> the uid the session has
 *   RPC_SESSION_SINGLE       "singleSession is enabled, and session has
 *                            already bind with uid: <v>" (Pinus: "bound"),
 *                            <v> the uid asked for
 *   RPC_SESSION_NOT_BOUND    "session has not bind with <v>", <v> the uid
 *                            the session has (null when none), as Node
 *                            words it in both
 * Returns a new reference.
 */
json_t	*rpc_msg_resp_session_error(enum flavour f, enum rpc_session_error e,
	     const json_t *v);

/*
 * The session export {"id","frontendId","uid","settings"} that
 * getBackendSessionBySid and getBackendSessionsByUid answer with: <uid>
 * NULL gives null, <settings> NULL gives {}; both are copied by reference
 * (incref). Returns a new reference.
 */
json_t	*rpc_msg_session_export(uint64_t sid, const char *frontend_id,
	     const json_t *uid, const json_t *settings);

/*
 * What a Node frontend sends its client for the <resp> of a forwarded
 * request (CLUSTER.md §5.3): body = resp[1]; a falsy body becomes {}; when
 * resp[0] (the error) is truthy and the body is an object without a
 * truthy "code", the body gets "code":500 (on a shallow copy: <resp> is
 * not changed). <resp> NULL is taken as []. Sets <*ret_failed> to whether
 * the error was truthy. Returns a new reference to the body. The caller
 * sends nothing for a notify, whatever came back.
 */
json_t	*rpc_msg_forward_result(const json_t *resp, bool *ret_failed);

/*
 * rpc_msg_forward_result() on the text of a resp array read in place
 * (NULL: none), when its answer is the backend's own text: resp[0] absent
 * or null, and resp[1] an object (sent as it is: <*ret_body>, <*ret_len>
 * point into <resp>), absent or null (sent as {}: <*ret_body> NULL).
 * Returns false for anything else: rpc_msg_forward_result() on the parsed
 * resp answers it then.
 */
bool	 rpc_msg_forward_text(const char *resp, size_t len,
	     const char **ret_body, size_t *ret_len);

/*
 * A one-line description of the error value <err> (resp[0]) for a log:
 * its "message", else the first line of its "stack", else String(err) for
 * a string, else its JSON text; at most 200 bytes. The caller frees it.
 */
char	*rpc_msg_error_text(const json_t *err);

#endif
