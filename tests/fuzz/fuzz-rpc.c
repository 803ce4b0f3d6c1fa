/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the cluster envelope parsers: the input is one
 * PUBLISH payload, read as a pomelo-rpc payload (requests and responses,
 * single or batched) and as a pomelo-admin payload (register replies and
 * monitor messages, single- or double-encoded). Whatever is read is used
 * the way the networking code will use it (views, replies, errors, the
 * route key, server lists), and every reply written is read back: the
 * JSON writer must reproduce the values it was given, as JavaScript
 * compares them (numbers by value). A plain payload is also read in
 * place (jscan.h, rpc_msg_scan_*), which must agree with jansson on
 * every envelope, id, resp and forwarded body.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/admin-msg.h"
#include "common/crc32.h"
#include "common/jscan.h"
#include "common/jsval.h"
#include "common/rpc-msg.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Equality as a JSON round trip through JavaScript sees it. */
static bool
js_equal(const json_t *a, const json_t *b)
{
	const char	*key;
	json_t		*v;
	double		 x, y;
	size_t		 i;

	if (a == NULL || b == NULL) {
		return a == b;
	}
	if (jsval_number(a, &x) && jsval_number(b, &y)) {
		return x == y;
	}
	if (json_typeof(a) != json_typeof(b)) {
		return false;
	}
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b)) {
			return false;
		}
		for (i = 0; i < json_array_size(a); i++) {
			if (!js_equal(json_array_get(a, i),
			    json_array_get(b, i))) {
				return false;
			}
		}
		return true;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b)) {
			return false;
		}
		json_object_foreach((json_t *)a, key, v) {
			if (!js_equal(v, json_object_get(b, key))) {
				return false;
			}
		}
		return true;
	default:
		return true;
	}
}

/* Reads a reply back and checks its id and resp. */
static void
check_rpc_reply(const char *text, size_t len, json_t *id, json_t *resp)
{
	json_t	*root, *item;

	CHECK(strlen(text) == len);
	CHECK(rpc_msg_parse(text, len, &root, NULL, 0) == 1);
	item = rpc_msg_item(root, 0);
	CHECK(js_equal(rpc_msg_id(item), id));
	CHECK(js_equal(json_object_get(item, "resp"), resp));
	json_decref(root);
}

static void
fuzz_rpc_item(json_t *item)
{
	struct rpc_request	 req, again;
	struct rpc_response	 rsp;
	json_t			*resp, *body, *args;
	char			*s, *key, err[128];
	size_t			 len;
	bool			 failed;
	int			 what;

	if (rpc_msg_request_view(item, &req, err, sizeof(err)) == 0) {
		CHECK(req.args == NULL || json_is_array(req.args));
		CHECK(json_is_object(req.msg));
		for (what = RPC_NO_SUCH_NAMESPACE; what <= RPC_NO_SUCH_METHOD;
		    what++) {
			resp = rpc_msg_resp_no_such(&req,
			    (enum rpc_no_such)what);
			s = rpc_msg_encode_response(req.id, resp, &len);
			check_rpc_reply(s, len, req.id, resp);
			free(s);
			json_decref(resp);
		}
		/* Echo the args back as a value: any JSON round-trips. */
		resp = rpc_msg_resp_ok(FLAVOUR_PINUS,
		    req.args != NULL ? json_incref(req.args) : NULL);
		s = rpc_msg_encode_response(req.id, resp, &len);
		check_rpc_reply(s, len, req.id, resp);
		free(s);
		json_decref(resp);

		/* A uid in the first argument, as sessionRemote.bind has. */
		key = crc32_route_key(json_array_get(req.args, 0), &len);
		CHECK(crc32_route_index(FLAVOUR_POMELO, key, len, 3) < 3);
		CHECK(crc32_route_index(FLAVOUR_PINUS, key, len, 5) < 5);
		free(key);

		if (req.ns != NULL && req.service != NULL &&
		    req.method != NULL) {
			args = req.args;
			s = rpc_msg_encode_request(1, req.ns, req.server_type,
			    req.service, req.method, args, &len);
			CHECK(rpc_msg_parse(s, len, &body, NULL, 0) == 1);
			CHECK(rpc_msg_request_view(body, &again, NULL, 0) == 0);
			CHECK(strcmp(again.method, req.method) == 0);
			CHECK(js_equal(again.args, args) ||
			    (args == NULL && json_array_size(again.args) == 0));
			json_decref(body);
			free(s);
		}
	} else {
		CHECK(err[0] != '\0');
		resp = rpc_msg_resp_error("%s", err);
		s = rpc_msg_encode_response(rpc_msg_id(item), resp, &len);
		check_rpc_reply(s, len, rpc_msg_id(item), resp);
		free(s);
		json_decref(resp);
	}

	if (rpc_msg_response_view(item, &rsp, NULL, 0) == 0) {
		CHECK(rsp.id <= JSVAL_SAFE_MAX);
		CHECK(rsp.resp == NULL || json_is_array(rsp.resp));
		body = rpc_msg_forward_result(rsp.resp, &failed);
		CHECK(body != NULL);
		CHECK(failed == jsval_truthy(json_array_get(rsp.resp, 0)));
		json_decref(body);
		s = rpc_msg_error_text(json_array_get(rsp.resp, 0));
		CHECK(strlen(s) <= 200);
		free(s);
	}
}

/*
 * A forwarded request's answer read in place says what the parsed one
 * says: the body sent as the backend wrote it is the body the jansson
 * path sends, and no error.
 */
static void
check_forward_text(const char *text, size_t len, const json_t *resp)
{
	const char	*body;
	size_t		 body_len;
	json_t		*want, *got;
	bool		 failed;

	if (!rpc_msg_forward_text(text, len, &body, &body_len)) {
		return;
	}
	want = rpc_msg_forward_result(resp, &failed);
	CHECK(!failed);
	if (body == NULL) {
		CHECK(json_is_object(want) && json_object_size(want) == 0);
	} else {
		CHECK(jsval_parse(body, body_len, &got, NULL, 0) == 0);
		CHECK(js_equal(got, want));
		json_decref(got);
	}
	json_decref(want);
}

/*
 * The in-place reading of a plain payload (jscan.h) finds the envelopes
 * jansson finds, with the same ids and resp values, or hands them over.
 */
static void
fuzz_rpc_scan(const uint8_t *data, size_t size, json_t *root, int n)
{
	struct rpc_msg_scan	 sc;
	struct rpc_response_text r;
	struct rpc_response	 view;
	const char		*item;
	size_t			 len;
	json_t			*resp, *whole;
	int			 k, i = 0;

	if (!rpc_msg_scan_start(&sc, data, size)) {
		if (jscan_plain((const char *)data, size)) {
			/* Plain, but a scalar: not a payload. */
			CHECK(n < 0);
		}
		return;
	}
	/* Plain text is text jansson reads, and reads the same way. */
	CHECK(n >= 0);
	whole = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	CHECK(whole != NULL);
	json_decref(whole);
	while ((k = rpc_msg_scan_next(&sc, &r, &item, &len)) != 0) {
		CHECK(i < n);
		if (k == 1) {
			CHECK(rpc_msg_response_view(rpc_msg_item(root,
			    (size_t)i), &view, NULL, 0) == 0);
			CHECK(view.id == r.id);
			if (r.resp == NULL) {
				CHECK(view.resp == NULL);
			} else {
				CHECK(jsval_parse(r.resp, r.resp_len, &resp,
				    NULL, 0) == 0);
				CHECK(js_equal(resp, view.resp));
				json_decref(resp);
			}
			check_forward_text(r.resp, r.resp_len, view.resp);
		} else {
			CHECK(k == 2);
			CHECK(jsval_parse(item, len, &resp, NULL, 0) == 0);
			CHECK(js_equal(resp, rpc_msg_item(root, (size_t)i)));
			json_decref(resp);
		}
		i++;
	}
	CHECK(i == n);
}

static void
fuzz_rpc(const uint8_t *data, size_t size)
{
	json_t	*root = NULL;
	char	 err[128];
	int	 n, i;

	n = rpc_msg_parse(data, size, &root, err, sizeof(err));
	fuzz_rpc_scan(data, size, root, n);
	if (n < 0) {
		CHECK(n == -EBADMSG);
		return;
	}
	for (i = 0; i < n; i++) {
		fuzz_rpc_item(rpc_msg_item(root, (size_t)i));
	}
	CHECK(rpc_msg_item(root, (size_t)n) == NULL);
	json_decref(root);
}

static void
fuzz_admin_servers(json_t *map)
{
	struct admin_server	 s;
	json_t			*list;
	size_t			 i;

	list = admin_msg_server_list(map);
	CHECK(json_is_array(list));
	CHECK(json_array_size(list) ==
	    (json_is_object(map) ? json_object_size(map) : 0));
	for (i = 0; i < json_array_size(list); i++) {
		if (admin_msg_server(json_array_get(list, i), &s) == 0) {
			CHECK(s.id[0] != '\0' && s.server_type[0] != '\0');
		}
	}
	json_decref(list);
}

static void
fuzz_admin(const uint8_t *data, size_t size)
{
	struct admin_msg	 m, m2;
	struct admin_watch	 w;
	struct admin_server	 s;
	enum admin_refusal	 why;
	json_t			*root, *root2;
	char			 text[64], *out;
	size_t			 len;
	bool			 ok;
	int			 rc;

	rc = admin_msg_parse_reply(data, size, &ok, &why, text, sizeof(text),
	    NULL, 0);
	CHECK(rc == 0 || rc == -EBADMSG);
	CHECK(rc != 0 || ok == (why == ADMIN_REFUSED_NONE));

	if (admin_msg_parse(data, size, &root, &m, NULL, 0) != 0) {
		return;
	}
	CHECK(json_is_object(root));
	CHECK((m.id == NULL) == (m.kind == ADMIN_NOTIFY ||
	    (m.kind == ADMIN_COMMAND && m.id == NULL)));
	CHECK(m.id == NULL || jsval_truthy(m.id));

	if (m.kind == ADMIN_REQUEST) {
		rc = admin_msg_watcher(m.body, &w);
		CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
		if (rc == 0 && w.action == ADMIN_ACTION_ADD_SERVER) {
			(void)admin_msg_server(w.server, &s);
		} else if (rc == 0 &&
		    w.action == ADMIN_ACTION_REPLACE_SERVER) {
			fuzz_admin_servers(w.servers);
		}
		(void)admin_msg_console_signal(m.body);

		/* Answer with the body itself: it reads back unchanged. */
		out = admin_msg_encode_response(m.id, m.body, m.body, &len);
		CHECK(strlen(out) == len);
		CHECK(admin_msg_parse(out, len, &root2, &m2, NULL, 0) == 0);
		CHECK(m2.kind == ADMIN_RESPONSE);
		CHECK(js_equal(m2.id, m.id));
		CHECK(js_equal(m2.error, m.body));
		CHECK(js_equal(m2.body, m.body));
		json_decref(root2);
		free(out);
		out = admin_msg_encode_ack(m.id, rc == 0, &len);
		CHECK(admin_msg_parse(out, len, &root2, &m2, NULL, 0) == 0);
		CHECK(m2.kind == ADMIN_RESPONSE);
		json_decref(root2);
		free(out);
	} else if (m.kind == ADMIN_RESPONSE) {
		fuzz_admin_servers(m.body);
	} else if (m.kind == ADMIN_NOTIFY && m.module_id != NULL) {
		out = admin_msg_encode_notify(m.module_id, m.body, &len);
		CHECK(admin_msg_parse(out, len, &root2, &m2, NULL, 0) == 0);
		CHECK(m2.kind == ADMIN_NOTIFY);
		CHECK(strcmp(m2.module_id, m.module_id) == 0);
		CHECK(js_equal(m2.body, m.body));
		json_decref(root2);
		free(out);
	}
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rpc(data, size);
	fuzz_admin(data, size);
	return 0;
}
