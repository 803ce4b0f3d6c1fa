/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * pomelo-rpc envelopes. Requests and responses are read with jansson and
 * viewed in place; they are written with the JSON.stringify-style writer
 * of jsval.c, so the member order and spelling are those of the Node
 * peers (the forwardMessage envelope of CLUSTER.md §5.1 comes out byte
 * for byte), and a client body that is already JSON text is copied into
 * a forward without being parsed and printed again.
 */

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsval.h"
#include "common/rpc-msg.h"
#include "common/xmalloc.h"

#define RPC_MSG_ERROR_TEXT_MAX	200

static void	rpc_msg_seterr(char *, size_t, const char *);
static const char *rpc_msg_str_member(json_t *, const char *);
static json_t	*rpc_msg_error_resp(const char *);

static void
rpc_msg_seterr(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s", what);
	}
}

int
rpc_msg_parse(const void *payload, size_t len, json_t **ret_root,
    char *err, size_t errlen)
{
	json_t	*root;
	int	 rc;

	rc = jsval_parse(payload, len, &root, err, errlen);
	if (rc != 0) {
		return rc;
	}
	if (json_is_object(root)) {
		*ret_root = root;
		return 1;
	}
	if (json_is_array(root)) {
		*ret_root = root;
		return (int)json_array_size(root);
	}
	json_decref(root);
	rpc_msg_seterr(err, errlen, "payload is neither an object nor an array");
	return -EBADMSG;
}

json_t *
rpc_msg_item(json_t *root, size_t i)
{
	if (json_is_array(root)) {
		return json_array_get(root, i);
	}
	return i == 0 ? root : NULL;
}

json_t *
rpc_msg_id(json_t *item)
{
	return json_object_get(item, "id");
}

/* The member <key> of <o> when it is a string without NULs, else NULL. */
static const char *
rpc_msg_str_member(json_t *o, const char *key)
{
	const char	*s;

	return jsval_cstr(json_object_get(o, key), &s) ? s : NULL;
}

int
rpc_msg_request_view(json_t *item, struct rpc_request *ret, char *err,
    size_t errlen)
{
	struct rpc_request	 r;
	json_t			*args;

	if (!json_is_object(item)) {
		rpc_msg_seterr(err, errlen, "request is not an object");
		return -EBADMSG;
	}
	r.id = json_object_get(item, "id");
	r.msg = json_object_get(item, "msg");
	if (!json_is_object(r.msg)) {
		rpc_msg_seterr(err, errlen, "request has no msg object");
		return -EBADMSG;
	}
	args = json_object_get(r.msg, "args");
	if (json_is_null(args)) {
		args = NULL;
	}
	if (args != NULL && !json_is_array(args)) {
		rpc_msg_seterr(err, errlen, "msg.args is not an array");
		return -EBADMSG;
	}
	r.args = args;
	r.ns = rpc_msg_str_member(r.msg, "namespace");
	r.server_type = rpc_msg_str_member(r.msg, "serverType");
	r.service = rpc_msg_str_member(r.msg, "service");
	r.method = rpc_msg_str_member(r.msg, "method");
	*ret = r;
	return 0;
}

int
rpc_msg_response_view(json_t *item, struct rpc_response *ret, char *err,
    size_t errlen)
{
	json_t		*resp;
	uint64_t	 id;

	if (!json_is_object(item)) {
		rpc_msg_seterr(err, errlen, "response is not an object");
		return -EBADMSG;
	}
	if (!jsval_key_uint(json_object_get(item, "id"), &id)) {
		rpc_msg_seterr(err, errlen, "response has no usable id");
		return -EBADMSG;
	}
	resp = json_object_get(item, "resp");
	if (json_is_null(resp)) {
		resp = NULL;
	}
	if (resp != NULL && !json_is_array(resp)) {
		rpc_msg_seterr(err, errlen, "resp is not an array");
		return -EBADMSG;
	}
	ret->id = id;
	ret->resp = resp;
	return 0;
}

char *
rpc_msg_encode_request(uint64_t id, const char *ns, const char *server_type,
    const char *service, const char *method, const json_t *args,
    size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	assert(ns != NULL && service != NULL && method != NULL);
	jsval_buf_add_str(&b, "{\"id\":");
	jsval_buf_add_uint(&b, id);
	jsval_buf_add_str(&b, ",\"msg\":{\"namespace\":");
	jsval_buf_add_quoted(&b, ns, strlen(ns));
	if (server_type != NULL) {
		jsval_buf_add_str(&b, ",\"serverType\":");
		jsval_buf_add_quoted(&b, server_type, strlen(server_type));
	}
	jsval_buf_add_str(&b, ",\"service\":");
	jsval_buf_add_quoted(&b, service, strlen(service));
	jsval_buf_add_str(&b, ",\"method\":");
	jsval_buf_add_quoted(&b, method, strlen(method));
	jsval_buf_add_str(&b, ",\"args\":");
	if (args != NULL) {
		jsval_buf_add_json(&b, args);
	} else {
		jsval_buf_add_str(&b, "[]");
	}
	jsval_buf_add_str(&b, "}}");
	return jsval_buf_steal(&b, ret_len);
}

char *
rpc_msg_encode_forward(uint64_t id, const char *server_type,
    const struct rpc_forward *f, size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	assert(server_type != NULL && f->route != NULL &&
	    f->frontend_id != NULL);
	jsval_buf_add_str(&b, "{\"id\":");
	jsval_buf_add_uint(&b, id);
	jsval_buf_add_str(&b, ",\"msg\":{\"namespace\":\"sys\",\"serverType\":");
	jsval_buf_add_quoted(&b, server_type, strlen(server_type));
	jsval_buf_add_str(&b, ",\"service\":\"msgRemote\","
	    "\"method\":\"forwardMessage\",\"args\":[{\"id\":");
	jsval_buf_add_uint(&b, f->msg_id);
	jsval_buf_add_str(&b, f->notify ? ",\"type\":1" : ",\"type\":0");
	jsval_buf_add_str(&b, f->compress_route ? ",\"compressRoute\":1" :
	    ",\"compressRoute\":0");
	jsval_buf_add_str(&b, ",\"route\":");
	jsval_buf_add_quoted(&b, f->route, f->route_len);
	jsval_buf_add_str(&b, ",\"body\":");
	if (f->body_json != NULL) {
		jsval_buf_add_json(&b, f->body_json);
	} else if (f->body != NULL && f->body_len > 0) {
		jsval_buf_add(&b, f->body, f->body_len);
	} else {
		jsval_buf_add_str(&b, "{}");
	}
	jsval_buf_add_str(&b, ",\"compressGzip\":0},{\"id\":");
	jsval_buf_add_uint(&b, f->sid);
	jsval_buf_add_str(&b, ",\"frontendId\":");
	jsval_buf_add_quoted(&b, f->frontend_id, strlen(f->frontend_id));
	jsval_buf_add_str(&b, ",\"uid\":");
	if (f->uid != NULL) {
		jsval_buf_add_json(&b, f->uid);
	} else {
		jsval_buf_add_str(&b, "null");
	}
	jsval_buf_add_str(&b, ",\"settings\":");
	if (f->settings != NULL) {
		jsval_buf_add_json(&b, f->settings);
	} else {
		jsval_buf_add_str(&b, "{}");
	}
	jsval_buf_add_str(&b, "}]}}");
	return jsval_buf_steal(&b, ret_len);
}

char *
rpc_msg_encode_response(const json_t *id, const json_t *resp,
    size_t *ret_len)
{
	struct jsval_buf	 b = { 0 };

	jsval_buf_add_str(&b, "{");
	if (id != NULL) {
		jsval_buf_add_str(&b, "\"id\":");
		jsval_buf_add_json(&b, id);
		jsval_buf_add_str(&b, ",");
	}
	jsval_buf_add_str(&b, "\"resp\":");
	if (resp != NULL) {
		jsval_buf_add_json(&b, resp);
	} else {
		jsval_buf_add_str(&b, "[]");
	}
	jsval_buf_add_str(&b, "}");
	return jsval_buf_steal(&b, ret_len);
}

json_t *
rpc_msg_resp_ok(enum flavour f, json_t *value)
{
	if (value != NULL) {
		return json_pack("[n o]", value);
	}
	if (f == FLAVOUR_PINUS) {
		return json_pack("[n n]");
	}
	return json_array();
}

/* [{"stack":"Error: <message>"}] */
static json_t *
rpc_msg_error_resp(const char *message)
{
	json_t	*resp;
	char	*stack;

	xasprintf(&stack, "Error: %s", message);
	resp = json_pack("[{s:s}]", "stack", stack);
	free(stack);
	if (resp == NULL) {
		/* The text was not UTF-8: say so rather than lose the reply. */
		resp = json_pack("[{s:s}]", "stack", "Error: (unprintable)");
	}
	return resp;
}

json_t *
rpc_msg_resp_error(const char *fmt, ...)
{
	va_list	 ap;
	json_t	*resp;
	char	*message;

	va_start(ap, fmt);
	xvasprintf(&message, fmt, ap);
	va_end(ap);
	resp = rpc_msg_error_resp(message);
	free(message);
	return resp;
}

json_t *
rpc_msg_resp_no_such(const struct rpc_request *req, enum rpc_no_such what)
{
	static const char *const names[] = {
		[RPC_NO_SUCH_NAMESPACE] = "namespace",
		[RPC_NO_SUCH_SERVICE] = "service",
		[RPC_NO_SUCH_METHOD] = "method",
	};
	json_t		*resp;
	char		*v, *message;

	v = jsval_to_string(json_object_get(req->msg, names[what]), NULL);
	xasprintf(&message, "no such %s:%s", names[what], v);
	resp = rpc_msg_error_resp(message);
	free(message);
	free(v);
	return resp;
}

json_t *
rpc_msg_resp_session_error(enum flavour f, enum rpc_session_error e,
    const json_t *v)
{
	const char	*bound = f == FLAVOUR_PINUS ? "bound" : "bind";
	json_t		*resp;
	char		*s, *message;

	s = jsval_to_string(v, NULL);
	switch (e) {
	case RPC_SESSION_NOT_FOUND:
		xasprintf(&message, "session does not exist, sid: %s", s);
		break;
	case RPC_SESSION_BOUND_OTHER:
		xasprintf(&message, "session has already %s with %s", bound, s);
		break;
	case RPC_SESSION_SINGLE:
		xasprintf(&message, "singleSession is enabled, and session has "
		    "already %s with uid: %s", bound, s);
		break;
	default:
		xasprintf(&message, "session has not bind with %s", s);
		break;
	}
	resp = rpc_msg_error_resp(message);
	free(message);
	free(s);
	return resp;
}

json_t *
rpc_msg_session_export(uint64_t sid, const char *frontend_id,
    const json_t *uid, const json_t *settings)
{
	json_t	*o = json_object();

	json_object_set_new(o, "id", json_integer((json_int_t)sid));
	json_object_set_new(o, "frontendId", json_string(frontend_id));
	json_object_set_new(o, "uid",
	    uid != NULL ? json_incref((json_t *)uid) : json_null());
	json_object_set_new(o, "settings", settings != NULL ?
	    json_incref((json_t *)settings) : json_object());
	return o;
}

json_t *
rpc_msg_forward_result(const json_t *resp, bool *ret_failed)
{
	json_t	*err = json_array_get(resp, 0);
	json_t	*body = json_array_get(resp, 1);
	json_t	*out;
	bool	 failed = jsval_truthy(err);

	*ret_failed = failed;
	if (!jsval_truthy(body)) {
		out = json_object();
	} else {
		out = json_incref(body);
	}
	if (failed && json_is_object(out) &&
	    !jsval_truthy(json_object_get(out, "code"))) {
		body = json_copy(out);
		json_decref(out);
		out = body;
		json_object_set_new(out, "code", json_integer(500));
	}
	return out;
}

bool
rpc_msg_scan_start(struct rpc_msg_scan *sc, const void *payload, size_t len)
{
	struct jscan_iter	 obj;

	if (!jscan_plain(payload, len)) {
		return false;
	}
	sc->batch = jscan_enter(&sc->it, payload, len, '[');
	sc->single = NULL;
	sc->single_len = 0;
	if (!sc->batch) {
		if (!jscan_enter(&obj, payload, len, '{')) {
			return false;
		}
		sc->single = obj.p;
		sc->single_len = obj.len;
	}
	return true;
}

int
rpc_msg_scan_next(struct rpc_msg_scan *sc, struct rpc_response_text *ret,
    const char **ret_item, size_t *ret_item_len)
{
	struct jscan_iter	 obj;
	struct rpc_response_text r = { 0 };
	const char		*item, *key, *v, *id = NULL;
	size_t			 len, key_len, v_len, id_len = 0;

	if (sc->batch) {
		if (!jscan_element(&sc->it, &item, &len)) {
			return 0;
		}
	} else {
		if (sc->single == NULL) {
			return 0;
		}
		item = sc->single;
		len = sc->single_len;
		sc->single = NULL;
	}
	*ret_item = item;
	*ret_item_len = len;
	if (!jscan_enter(&obj, item, len, '{')) {
		return 2;
	}
	/* The last of a repeated key counts, as in JSON.parse. */
	while (jscan_member(&obj, &key, &key_len, &v, &v_len)) {
		if (memchr(key, '\\', key_len) != NULL) {
			return 2;
		}
		if (key_len == 2 && memcmp(key, "id", 2) == 0) {
			id = v;
			id_len = v_len;
		} else if (key_len == 4 && memcmp(key, "resp", 4) == 0) {
			r.resp = v;
			r.resp_len = v_len;
		}
	}
	if (id == NULL || !jsval_decimal(id, id_len, JSVAL_SAFE_MAX, &r.id)) {
		return 2;
	}
	if (r.resp != NULL && jscan_is(r.resp, r.resp_len, "null")) {
		r.resp = NULL;
		r.resp_len = 0;
	}
	if (r.resp != NULL && r.resp[0] != '[') {
		return 2;
	}
	*ret = r;
	return 1;
}

bool
rpc_msg_forward_text(const char *resp, size_t len, const char **ret_body,
    size_t *ret_len)
{
	struct jscan_iter	 it;
	const char		*err = NULL, *body = NULL, *v;
	size_t			 err_len = 0, body_len = 0, v_len, n;

	if (resp != NULL) {
		if (!jscan_enter(&it, resp, len, '[')) {
			return false;
		}
		for (n = 0; n < 2 && jscan_element(&it, &v, &v_len); n++) {
			if (n == 0) {
				err = v;
				err_len = v_len;
			} else {
				body = v;
				body_len = v_len;
			}
		}
	}
	if (err != NULL && !jscan_is(err, err_len, "null")) {
		return false;
	}
	if (body != NULL && jscan_is(body, body_len, "null")) {
		body = NULL;
	}
	if (body != NULL && body[0] != '{') {
		return false;
	}
	*ret_body = body;
	*ret_len = body != NULL ? body_len : 0;
	return true;
}

char *
rpc_msg_error_text(const json_t *err)
{
	const char	*s = NULL;
	char		*text;
	size_t		 len, n;

	if (json_is_object(err)) {
		if (!jsval_cstr(json_object_get(err, "message"), &s) &&
		    !jsval_cstr(json_object_get(err, "stack"), &s)) {
			s = NULL;
		}
	}
	if (s != NULL) {
		text = xstrdup(s);
	} else if (json_is_string(err)) {
		text = jsval_to_string(err, NULL);
	} else if (err != NULL) {
		text = jsval_dump(err, NULL);
	} else {
		text = xstrdup("undefined");
	}
	len = strcspn(text, "\r\n");
	if (len > RPC_MSG_ERROR_TEXT_MAX) {
		/* Cut at a character boundary. */
		n = RPC_MSG_ERROR_TEXT_MAX;
		while (n > 0 && (text[n] & 0xc0) == 0x80) {
			n--;
		}
		len = n;
	}
	text[len] = '\0';
	return text;
}
