/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * pomelo-admin messages. The readers follow pomelo-admin's monitor agent
 * (util/protocol.js, monitor/monitorAgent.js) and pomelo's
 * monitorwatcher/console modules step by step, truthiness tests included,
 * so that a message is read as a Node server reads it. The writers emit
 * the member order and the single or double encoding Node uses; double
 * encoding is the object's JSON text written again as a JSON string.
 */

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/admin-msg.h"
#include "common/jsval.h"
#include "common/xmalloc.h"

static void	admin_msg_seterr(char *, size_t, const char *);
static int	admin_msg_set_str(json_t *, const char *, const char *);
static char	*admin_msg_double(struct jsval_buf *, size_t *);
static void	admin_msg_add_member(struct jsval_buf *, const char *,
		    const json_t *);
static bool	admin_msg_index_key(const char *, size_t, uint32_t *);
static int	admin_msg_key_cmp(const void *, const void *);

static void
admin_msg_seterr(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s", what);
	}
}

/* Sets the string member <key>; -EINVAL when <s> is not UTF-8. */
static int
admin_msg_set_str(json_t *o, const char *key, const char *s)
{
	json_t	*v = json_string(s);

	if (v == NULL) {
		return -EINVAL;
	}
	json_object_set_new(o, key, v);
	return 0;
}

int
admin_msg_info(const struct admin_info *info, json_t **ret)
{
	json_t	*o;
	int	 rc = 0;

	if (info->id == NULL || info->server_type == NULL ||
	    info->host == NULL ||
	    (info->extra != NULL && !json_is_object(info->extra))) {
		return -EINVAL;
	}
	o = json_object();
	rc |= admin_msg_set_str(o, "id", info->id);
	rc |= admin_msg_set_str(o, "serverType", info->server_type);
	rc |= admin_msg_set_str(o, "host", info->host);
	if (info->port != 0) {
		json_object_set_new(o, "port", json_integer(info->port));
	}
	if (info->client_host != NULL) {
		rc |= admin_msg_set_str(o, "clientHost", info->client_host);
	}
	if (info->client_port != 0) {
		json_object_set_new(o, "clientPort",
		    json_integer(info->client_port));
	}
	if (info->frontend) {
		json_object_set_new(o, "frontend", json_string("true"));
	}
	if (info->env != NULL) {
		rc |= admin_msg_set_str(o, "env", info->env);
	}
	if (info->remoter_paths != NULL) {
		json_object_set(o, "remoterPaths",
		    (json_t *)info->remoter_paths);
	}
	if (info->handler_paths != NULL) {
		json_object_set(o, "handlerPaths",
		    (json_t *)info->handler_paths);
	}
	if (info->extra != NULL) {
		json_object_update(o, (json_t *)info->extra);
	}
	if (rc != 0) {
		json_decref(o);
		return -EINVAL;
	}
	*ret = o;
	return 0;
}

int
admin_msg_remoter_path_add(json_t *paths, const char *ns,
    const char *server_type, const char *path)
{
	json_t	*rec;

	if (!json_is_array(paths) || ns == NULL || server_type == NULL ||
	    path == NULL) {
		return -EINVAL;
	}
	rec = json_pack("{s:s,s:s,s:s}", "namespace", ns, "serverType",
	    server_type, "path", path);
	if (rec == NULL) {
		return -EINVAL;
	}
	json_array_append_new(paths, rec);
	return 0;
}

/* ,"key":value -- or "key":value when <b> ends with '{'. */
static void
admin_msg_add_member(struct jsval_buf *b, const char *key, const json_t *v)
{
	if (b->len > 0 && b->data[b->len - 1] != '{') {
		jsval_buf_add(b, ",", 1);
	}
	jsval_buf_add_quoted(b, key, strlen(key));
	jsval_buf_add(b, ":", 1);
	if (v != NULL) {
		jsval_buf_add_json(b, v);
	} else {
		jsval_buf_add_str(b, "null");
	}
}

char *
admin_msg_encode_register(const char *id, const char *server_type,
    pid_t pid, const json_t *info, const char *token, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_str(&b, "{\"id\":");
	jsval_buf_add_quoted(&b, id, strlen(id));
	jsval_buf_add_str(&b, ",\"type\":\"monitor\",\"serverType\":");
	jsval_buf_add_quoted(&b, server_type, strlen(server_type));
	jsval_buf_add_str(&b, ",\"pid\":");
	jsval_buf_add_uint(&b, (uint64_t)pid);
	admin_msg_add_member(&b, "info", info);
	jsval_buf_add_str(&b, ",\"token\":");
	if (token != NULL) {
		jsval_buf_add_quoted(&b, token, strlen(token));
	} else {
		jsval_buf_add_str(&b, "null");
	}
	jsval_buf_add_str(&b, "}");
	return jsval_buf_steal(&b, ret_len);
}

char *
admin_msg_encode_reconnect(const char *id, const char *server_type,
    pid_t pid, const json_t *info, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_str(&b, "{\"id\":");
	jsval_buf_add_quoted(&b, id, strlen(id));
	jsval_buf_add_str(&b, ",\"type\":\"monitor\"");
	admin_msg_add_member(&b, "info", info);
	jsval_buf_add_str(&b, ",\"pid\":");
	jsval_buf_add_uint(&b, (uint64_t)pid);
	jsval_buf_add_str(&b, ",\"serverType\":");
	jsval_buf_add_quoted(&b, server_type, strlen(server_type));
	jsval_buf_add_str(&b, "}");
	return jsval_buf_steal(&b, ret_len);
}

int
admin_msg_parse_reply(const void *payload, size_t len, bool *ret_ok,
    enum admin_refusal *ret_why, char *text, size_t textlen, char *err,
    size_t errlen)
{
	json_t		*root;
	const char	*msg = "";
	double		 code;
	bool		 ok;
	int		 rc;

	rc = jsval_parse(payload, len, &root, err, errlen);
	if (rc != 0) {
		return rc;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		admin_msg_seterr(err, errlen, "reply is not an object");
		return -EBADMSG;
	}
	/* Node tests `msg.code === 1`: the number 1, not "1". */
	ok = jsval_number(json_object_get(root, "code"), &code) &&
	    code == ADMIN_OK;
	if (!jsval_cstr(json_object_get(root, "msg"), &msg)) {
		msg = "";
	}
	*ret_ok = ok;
	if (ok) {
		*ret_why = ADMIN_REFUSED_NONE;
	} else if (strncmp(msg, "server auth failed", 18) == 0) {
		/* pomelo: "server auth failed"; pinus adds ",check config". */
		*ret_why = ADMIN_REFUSED_AUTH;
	} else if (strncmp(msg, "id has been registered", 22) == 0) {
		*ret_why = ADMIN_REFUSED_ID_TAKEN;
	} else {
		*ret_why = ADMIN_REFUSED_OTHER;
	}
	if (text != NULL && textlen > 0) {
		snprintf(text, textlen, "%s", msg);
	}
	json_decref(root);
	return 0;
}

int
admin_msg_parse(const void *payload, size_t len, json_t **ret_root,
    struct admin_msg *ret, char *err, size_t errlen)
{
	struct admin_msg	 m;
	json_t			*root, *inner, *v;
	const char		*s;
	int			 rc;

	rc = jsval_parse(payload, len, &root, err, errlen);
	if (rc != 0) {
		return rc;
	}
	if (json_is_string(root)) {
		/* Double-encoded: the string holds the object's text. */
		rc = jsval_parse(json_string_value(root),
		    json_string_length(root), &inner, err, errlen);
		json_decref(root);
		if (rc != 0) {
			return rc;
		}
		root = inner;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		admin_msg_seterr(err, errlen, "message is not an object");
		return -EBADMSG;
	}

	memset(&m, 0, sizeof(m));
	m.module_id = jsval_cstr(json_object_get(root, "moduleId"), &s) ?
	    s : NULL;
	m.body = json_object_get(root, "body");
	v = json_object_get(root, "command");
	if (jsval_truthy(v)) {
		m.kind = ADMIN_COMMAND;
		m.command = jsval_cstr(v, &s) ? s : NULL;
		v = json_object_get(root, "reqId");
		m.id = jsval_truthy(v) ? v : NULL;
	} else if (jsval_truthy(v = json_object_get(root, "respId"))) {
		m.kind = ADMIN_RESPONSE;
		m.id = v;
		m.error = json_object_get(root, "error");
	} else if (jsval_truthy(v = json_object_get(root, "reqId"))) {
		m.kind = ADMIN_REQUEST;
		m.id = v;
	} else {
		m.kind = ADMIN_NOTIFY;
	}
	*ret_root = root;
	*ret = m;
	return 0;
}

/* The buffer's object text written again as a JSON string. */
static char *
admin_msg_double(struct jsval_buf *inner, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_quoted(&b, inner->data, inner->len);
	jsval_buf_finish(inner);
	return jsval_buf_steal(&b, ret_len);
}

char *
admin_msg_encode_request(uint64_t req_id, const char *module_id,
    const json_t *body, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_str(&b, "{\"reqId\":");
	jsval_buf_add_uint(&b, req_id);
	jsval_buf_add_str(&b, ",\"moduleId\":");
	jsval_buf_add_quoted(&b, module_id, strlen(module_id));
	if (body != NULL) {
		admin_msg_add_member(&b, "body", body);
	}
	jsval_buf_add_str(&b, "}");
	return admin_msg_double(&b, ret_len);
}

char *
admin_msg_encode_subscribe(uint64_t req_id, const char *id, size_t *ret_len)
{
	json_t	*body;
	char	*s;

	body = json_object();
	json_object_set_new(body, "action", json_string("subscribe"));
	json_object_set_new(body, "id", json_string(id));
	s = admin_msg_encode_request(req_id, ADMIN_MODULE_MASTERWATCHER, body,
	    ret_len);
	json_decref(body);
	return s;
}

char *
admin_msg_encode_notify(const char *module_id, const json_t *body,
    size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_str(&b, "{\"moduleId\":");
	jsval_buf_add_quoted(&b, module_id, strlen(module_id));
	if (body != NULL) {
		admin_msg_add_member(&b, "body", body);
	}
	jsval_buf_add_str(&b, "}");
	return jsval_buf_steal(&b, ret_len);
}

char *
admin_msg_encode_record(const char *id, size_t *ret_len)
{
	json_t	*body;
	char	*s;

	body = json_object();
	json_object_set_new(body, "action", json_string("record"));
	json_object_set_new(body, "id", json_string(id));
	s = admin_msg_encode_notify(ADMIN_MODULE_MASTERWATCHER, body, ret_len);
	json_decref(body);
	return s;
}

char *
admin_msg_encode_response(const json_t *resp_id, const json_t *error,
    const json_t *body, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_str(&b, "{");
	admin_msg_add_member(&b, "respId", resp_id);
	if (error != NULL) {
		admin_msg_add_member(&b, "error", error);
	}
	if (body != NULL) {
		admin_msg_add_member(&b, "body", body);
	}
	jsval_buf_add_str(&b, "}");
	return admin_msg_double(&b, ret_len);
}

char *
admin_msg_encode_ack(const json_t *resp_id, bool ok, size_t *ret_len)
{
	json_t	*e = json_integer(ok ? 1 : 0);
	char	*s;

	s = admin_msg_encode_response(resp_id, e, NULL, ret_len);
	json_decref(e);
	return s;
}

int
admin_msg_watcher(json_t *body, struct admin_watch *ret)
{
	struct admin_watch	 w;
	const char		*action;
	json_t			*v;

	if (!jsval_cstr(json_object_get(body, "action"), &action)) {
		return -ENOENT;
	}
	memset(&w, 0, sizeof(w));
	if (strcmp(action, "addServer") == 0) {
		w.action = ADMIN_ACTION_ADD_SERVER;
		w.server = json_object_get(body, "server");
		if (!jsval_truthy(w.server)) {
			return -EBADMSG;
		}
	} else if (strcmp(action, "removeServer") == 0) {
		w.action = ADMIN_ACTION_REMOVE_SERVER;
		v = json_object_get(body, "id");
		if (!jsval_truthy(v) || !jsval_cstr(v, &w.id)) {
			return -EBADMSG;
		}
	} else if (strcmp(action, "replaceServer") == 0) {
		w.action = ADMIN_ACTION_REPLACE_SERVER;
		w.servers = json_object_get(body, "servers");
		if (!jsval_truthy(w.servers)) {
			return -EBADMSG;
		}
	} else if (strcmp(action, "startOver") == 0) {
		w.action = ADMIN_ACTION_START_OVER;
	} else {
		return -ENOENT;
	}
	*ret = w;
	return 0;
}

int
admin_msg_server(json_t *info, struct admin_server *ret)
{
	struct admin_server	 s;
	const char		*fe;
	uint64_t		 port;

	if (!json_is_object(info)) {
		return -EBADMSG;
	}
	memset(&s, 0, sizeof(s));
	if (!jsval_cstr(json_object_get(info, "id"), &s.id) ||
	    s.id[0] == '\0' ||
	    !jsval_cstr(json_object_get(info, "serverType"), &s.server_type) ||
	    s.server_type[0] == '\0') {
		return -EBADMSG;
	}
	if (!jsval_cstr(json_object_get(info, "host"), &s.host)) {
		s.host = NULL;
	}
	if (jsval_key_uint(json_object_get(info, "port"), &port) &&
	    port >= 1 && port <= 65535) {
		s.port = (uint16_t)port;
	}
	s.frontend = jsval_cstr(json_object_get(info, "frontend"), &fe) &&
	    strcmp(fe, "true") == 0;
	s.info = info;
	*ret = s;
	return 0;
}

/* An array index key: "0" or [1-9][0-9]* below 2^32 - 1. */
static bool
admin_msg_index_key(const char *k, size_t len, uint32_t *ret)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 10 || (k[0] == '0' && len > 1)) {
		return false;
	}
	for (i = 0; i < len; i++) {
		if (k[i] < '0' || k[i] > '9') {
			return false;
		}
		v = v * 10 + (uint64_t)(k[i] - '0');
	}
	if (v >= 0xffffffffull) {
		return false;
	}
	*ret = (uint32_t)v;
	return true;
}

struct admin_msg_key {
	uint32_t	 index;
	json_t		*value;
};

static int
admin_msg_key_cmp(const void *a, const void *b)
{
	uint32_t	 x = ((const struct admin_msg_key *)a)->index;
	uint32_t	 y = ((const struct admin_msg_key *)b)->index;

	return x < y ? -1 : x > y;
}

json_t *
admin_msg_server_list(json_t *map)
{
	struct admin_msg_key	*ints;
	const char		*key;
	json_t			*list, *v;
	size_t			 n = 0, i, klen;
	uint32_t		 index;

	list = json_array();
	if (!json_is_object(map)) {
		return list;
	}
	ints = xcalloc(json_object_size(map) + 1, sizeof(*ints));
	json_object_keylen_foreach(map, key, klen, v) {
		if (admin_msg_index_key(key, klen, &index)) {
			ints[n].index = index;
			ints[n].value = v;
			n++;
		}
	}
	qsort(ints, n, sizeof(*ints), admin_msg_key_cmp);
	for (i = 0; i < n; i++) {
		json_array_append(list, ints[i].value);
	}
	json_object_keylen_foreach(map, key, klen, v) {
		if (!admin_msg_index_key(key, klen, &index)) {
			json_array_append(list, v);
		}
	}
	free(ints);
	return list;
}

enum admin_signal
admin_msg_console_signal(const json_t *body)
{
	static const struct {
		const char		*name;
		enum admin_signal	 signal;
	} signals[] = {
		{ "addCron", ADMIN_SIGNAL_ADD_CRON },
		{ "blacklist", ADMIN_SIGNAL_BLACKLIST },
		{ "kill", ADMIN_SIGNAL_KILL },
		{ "list", ADMIN_SIGNAL_LIST },
		{ "removeCron", ADMIN_SIGNAL_REMOVE_CRON },
		{ "restart", ADMIN_SIGNAL_RESTART },
		{ "stop", ADMIN_SIGNAL_STOP },
	};
	const char	*s;
	size_t		 i;

	if (!jsval_cstr(json_object_get(body, "signal"), &s)) {
		return ADMIN_SIGNAL_UNKNOWN;
	}
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(s, signals[i].name) == 0) {
			return signals[i].signal;
		}
	}
	return ADMIN_SIGNAL_UNKNOWN;
}

size_t
admin_msg_fixed2(double v, char *out)
{
	double	 e;

	if (!isfinite(v) || fabs(v) >= 1e21) {
		return jsval_number_format(v, out);
	}
	if (v == 0.0) {
		v = 0.0;	/* (-0).toFixed(2) is "0.00" */
	}
	/*
	 * A tie (the exact value ends in 5 at the third decimal) can only
	 * be a multiple of 1/8; toFixed then takes the larger magnitude
	 * where printf rounds to even, so nudge it outwards.
	 */
	e = v * 8.0;
	if (e == floor(e) && fmod(fabs(e), 2.0) == 1.0) {
		v = nextafter(v, v > 0 ? INFINITY : -INFINITY);
	}
	return (size_t)snprintf(out, 32, "%.2f", v);
}

json_t *
admin_msg_console_list(const char *server_id, const char *server_type,
    pid_t pid, uint64_t rss, uint64_t heap_total, uint64_t heap_used,
    double uptime_s)
{
	char	 r[32], ht[32], hu[32], up[32];

	admin_msg_fixed2((double)rss / (1024.0 * 1024.0), r);
	admin_msg_fixed2((double)heap_total / (1024.0 * 1024.0), ht);
	admin_msg_fixed2((double)heap_used / (1024.0 * 1024.0), hu);
	admin_msg_fixed2(uptime_s / 60.0, up);
	return json_pack("{s:s,s:{s:s,s:s,s:I,s:s,s:s,s:s,s:s}}",
	    "serverId", server_id,
	    "body",
	    "serverId", server_id,
	    "serverType", server_type,
	    "pid", (json_int_t)pid,
	    "rss", r,
	    "heapTotal", ht,
	    "heapUsed", hu,
	    "uptime", up);
}

json_t *
admin_msg_unknown_module(const char *module_id)
{
	json_t	*v;
	char	*s;

	xasprintf(&s, "unknown moduleId:%s",
	    module_id != NULL ? module_id : "undefined");
	v = json_string(s);
	free(s);
	return v;
}
