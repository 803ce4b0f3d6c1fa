/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the pomelo-rpc envelopes with the payloads captured between
 * real Pomelo and Pinus processes (CLUSTER.md §4-6): requests read from
 * backends, replies built byte for byte as Node's acceptor writes them in
 * each flavour, the forwardMessage request, reply mapping for clients
 * (§5.3), ids of every JSON type, batches and unusable payloads.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsval.h"
#include "common/rpc-msg.h"
#include "tests/unit/test.h"

/* Parses a payload holding exactly one envelope; NULL on failure. */
static json_t *
parse_one(const char *payload)
{
	json_t	*root = NULL;

	if (rpc_msg_parse(payload, strlen(payload), &root, NULL, 0) != 1) {
		return NULL;
	}
	return root;
}

/* Encodes {"id":<id of item>,"resp":<resp>}, consuming <resp>. */
static char *
reply(json_t *item, json_t *resp)
{
	char	*s;

	s = rpc_msg_encode_response(rpc_msg_id(item), resp, NULL);
	json_decref(resp);
	return s;
}

#define ASSERT_JSON_TEXT(j, text) do {					\
	char *_s = jsval_dump((j), NULL);				\
	int _ok = strcmp(_s, (text)) == 0;				\
	if (!_ok) {							\
		TEST_FAIL_AT("%s is %s, want %s", #j, _s, (text));	\
	}								\
	free(_s);							\
	if (!_ok) {							\
		return;							\
	}								\
} while (0)

TEST(session_remote_requests_and_pomelo_replies)
{
	struct rpc_request	 req;
	json_t			*root, *settings, *exp, *uid;
	char			*s;

	/* unbind: [sid, uid], answered [] by Pomelo. */
	root = parse_one("{\"id\":3,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"sessionRemote\",\"method\":\"unbind\",\"args\":[1,\"alice*r1\"]}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_EQ(rpc_msg_request_view(rpc_msg_item(root, 0), &req, NULL, 0),
	    0);
	ASSERT_STR_EQ(req.ns, "sys");
	ASSERT_TRUE(req.server_type == NULL);	/* rpcInvoke: absent */
	ASSERT_STR_EQ(req.service, "sessionRemote");
	ASSERT_STR_EQ(req.method, "unbind");
	ASSERT_EQ(json_array_size(req.args), 2);
	ASSERT_EQ(json_integer_value(json_array_get(req.args, 0)), 1);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, NULL));
	ASSERT_STR_EQ(s, "{\"id\":3,\"resp\":[]}");
	free(s);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_PINUS, NULL));
	ASSERT_STR_EQ(s, "{\"id\":3,\"resp\":[null,null]}");
	free(s);
	json_decref(root);

	/* bind to another uid: the error shape, the same in both. */
	root = parse_one("{\"id\":5,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"sessionRemote\",\"method\":\"bind\",\"args\":[1,\"someone-else\"]}}");
	ASSERT_TRUE(root != NULL);
	s = reply(root, rpc_msg_resp_error("session has already bind with %s",
	    "alice*r1"));
	ASSERT_STR_EQ(s, "{\"id\":5,\"resp\":[{\"stack\":\"Error: session has"
	    " already bind with alice*r1\"}]}");
	free(s);
	json_decref(root);

	/* pushAll, then getBackendSessionBySid of the same session. */
	root = parse_one("{\"id\":7,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"sessionRemote\",\"method\":\"pushAll\",\"args\":[1,{\"rid\":\"r1\","
	    "\"k1\":\"v1\",\"n\":42,\"obj\":{\"a\":[1,2]}}]}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_EQ(rpc_msg_request_view(root, &req, NULL, 0), 0);
	settings = json_incref(json_array_get(req.args, 1));
	json_decref(root);
	root = parse_one("{\"id\":8,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"sessionRemote\",\"method\":\"getBackendSessionBySid\","
	    "\"args\":[1]}}");
	ASSERT_TRUE(root != NULL);
	uid = json_string("alice*r1");
	exp = rpc_msg_session_export(1, "connector-server-1", uid, settings);
	json_decref(uid);
	json_decref(settings);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, exp));
	ASSERT_STR_EQ(s, "{\"id\":8,\"resp\":[null,{\"id\":1,\"frontendId\":"
	    "\"connector-server-1\",\"uid\":\"alice*r1\",\"settings\":{\"rid\":"
	    "\"r1\",\"k1\":\"v1\",\"n\":42,\"obj\":{\"a\":[1,2]}}}]}");
	free(s);
	/* A missing session: [] / [null,null]. */
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, NULL));
	ASSERT_STR_EQ(s, "{\"id\":8,\"resp\":[]}");
	free(s);
	json_decref(root);

	/* An unbound session exports uid null and empty settings. */
	exp = rpc_msg_session_export(9007199254740992ull, "f", NULL, NULL);
	ASSERT_JSON_TEXT(exp, "{\"id\":9007199254740992,\"frontendId\":\"f\","
	    "\"uid\":null,\"settings\":{}}");
	json_decref(exp);
}

TEST(session_errors_per_flavour)
{
	json_t	*v, *resp;
	size_t	 i;
	static const struct {
		enum flavour		 f;
		enum rpc_session_error	 e;
		const char		*v;	/* JSON; NULL: undefined */
		const char		*stack;
	} cases[] = {
		{ FLAVOUR_POMELO, RPC_SESSION_NOT_FOUND, "99999",
		    "Error: session does not exist, sid: 99999" },
		{ FLAVOUR_PINUS, RPC_SESSION_NOT_FOUND, "\"7\"",
		    "Error: session does not exist, sid: 7" },
		{ FLAVOUR_POMELO, RPC_SESSION_BOUND_OTHER, "\"alice*r1\"",
		    "Error: session has already bind with alice*r1" },
		{ FLAVOUR_PINUS, RPC_SESSION_BOUND_OTHER, "\"alice*r1\"",
		    "Error: session has already bound with alice*r1" },
		{ FLAVOUR_POMELO, RPC_SESSION_SINGLE, "42",
		    "Error: singleSession is enabled, and session has already "
		    "bind with uid: 42" },
		{ FLAVOUR_PINUS, RPC_SESSION_SINGLE, "\"u\"",
		    "Error: singleSession is enabled, and session has already "
		    "bound with uid: u" },
		{ FLAVOUR_POMELO, RPC_SESSION_NOT_BOUND, "null",
		    "Error: session has not bind with null" },
		{ FLAVOUR_PINUS, RPC_SESSION_NOT_BOUND, NULL,
		    "Error: session has not bind with undefined" },
	};

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = NULL;
		if (cases[i].v != NULL) {
			ASSERT_EQ(jsval_parse(cases[i].v, strlen(cases[i].v), &v,
			    NULL, 0), 0);
		}
		resp = rpc_msg_resp_session_error(cases[i].f, cases[i].e, v);
		json_decref(v);
		ASSERT_EQ(json_array_size(resp), 1);
		ASSERT_EQ(json_object_size(json_array_get(resp, 0)), 1);
		ASSERT_STR_EQ(json_string_value(json_object_get(
		    json_array_get(resp, 0), "stack")), cases[i].stack);
		json_decref(resp);
	}
}

TEST(channel_remote_requests_and_replies)
{
	struct rpc_request	 req;
	json_t			*root, *fails;
	char			*s;

	root = parse_one("{\"id\":1,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"channelRemote\",\"method\":\"pushMessage\",\"args\":[\"onChat\","
	    "{\"msg\":\"hi all\",\"from\":\"alice\",\"target\":\"*\"},"
	    "[\"alice*r1\",\"bob*r1\"],{\"type\":\"push\",\"userOptions\":{},"
	    "\"isPush\":true}]}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_EQ(rpc_msg_request_view(root, &req, NULL, 0), 0);
	ASSERT_STR_EQ(req.method, "pushMessage");
	ASSERT_EQ(json_array_size(req.args), 4);
	ASSERT_STR_EQ(json_string_value(json_array_get(req.args, 0)),
	    "onChat");
	ASSERT_EQ(json_array_size(json_array_get(req.args, 2)), 2);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, json_array()));
	ASSERT_STR_EQ(s, "{\"id\":1,\"resp\":[null,[]]}");
	free(s);
	fails = json_pack("[s]", "alice*r1");
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_PINUS, fails));
	ASSERT_STR_EQ(s, "{\"id\":1,\"resp\":[null,[\"alice*r1\"]]}");
	free(s);
	s = reply(root, rpc_msg_resp_error("can not send empty message."));
	ASSERT_STR_EQ(s, "{\"id\":1,\"resp\":[{\"stack\":\"Error: can not send"
	    " empty message.\"}]}");
	free(s);
	json_decref(root);

	/* broadcast: [] from Pomelo, [null,null] from Pinus. */
	root = parse_one("{\"id\":16,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"channelRemote\",\"method\":\"broadcast\",\"args\":[\"onBcast\","
	    "{\"text\":\"to all\"},{\"type\":\"broadcast\",\"userOptions\":"
	    "{\"binded\":true},\"isBroadcast\":true,\"binded\":true}]}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_EQ(rpc_msg_request_view(root, &req, NULL, 0), 0);
	ASSERT_TRUE(json_is_true(json_object_get(json_array_get(req.args, 2),
	    "binded")));
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, NULL));
	ASSERT_STR_EQ(s, "{\"id\":16,\"resp\":[]}");
	free(s);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_PINUS, NULL));
	ASSERT_STR_EQ(s, "{\"id\":16,\"resp\":[null,null]}");
	free(s);
	json_decref(root);
}

TEST(user_remote_and_dispatch_errors)
{
	struct rpc_request	 req;
	json_t			*root, *v;
	char			*s;

	root = parse_one("{\"id\":13,\"msg\":{\"namespace\":\"user\","
	    "\"serverType\":\"connector\",\"service\":\"probeRemote\","
	    "\"method\":\"echo\",\"args\":[\"hello\",7]}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_EQ(rpc_msg_request_view(root, &req, NULL, 0), 0);
	ASSERT_STR_EQ(req.ns, "user");
	ASSERT_STR_EQ(req.server_type, "connector");
	v = json_pack("{s:s,s:i,s:s}", "echo", "hello", "n", 7, "server",
	    "connector-server-1");
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, v));
	ASSERT_STR_EQ(s, "{\"id\":13,\"resp\":[null,{\"echo\":\"hello\",\"n\":7,"
	    "\"server\":\"connector-server-1\"}]}");
	free(s);
	s = reply(root, rpc_msg_resp_no_such(&req, RPC_NO_SUCH_SERVICE));
	ASSERT_STR_EQ(s, "{\"id\":13,\"resp\":[{\"stack\":\"Error: no such "
	    "service:probeRemote\"}]}");
	free(s);
	json_decref(root);

	/* Members that are absent or not strings, spelt as String() does. */
	root = parse_one("{\"id\":3,\"msg\":{\"namespace\":5,\"method\":null,"
	    "\"args\":null}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_EQ(rpc_msg_request_view(root, &req, NULL, 0), 0);
	ASSERT_TRUE(req.ns == NULL && req.service == NULL &&
	    req.method == NULL && req.args == NULL);
	s = reply(root, rpc_msg_resp_no_such(&req, RPC_NO_SUCH_NAMESPACE));
	ASSERT_STR_EQ(s, "{\"id\":3,\"resp\":[{\"stack\":\"Error: no such "
	    "namespace:5\"}]}");
	free(s);
	s = reply(root, rpc_msg_resp_no_such(&req, RPC_NO_SUCH_SERVICE));
	ASSERT_STR_EQ(s, "{\"id\":3,\"resp\":[{\"stack\":\"Error: no such "
	    "service:undefined\"}]}");
	free(s);
	s = reply(root, rpc_msg_resp_no_such(&req, RPC_NO_SUCH_METHOD));
	ASSERT_STR_EQ(s, "{\"id\":3,\"resp\":[{\"stack\":\"Error: no such "
	    "method:null\"}]}");
	free(s);
	json_decref(root);
}

TEST(ids_echoed_with_their_type)
{
	json_t	*root;
	char	*s;

	/* A string id, as Node would echo it. */
	root = parse_one("{\"id\":\"7\",\"msg\":{\"namespace\":\"sys\","
	    "\"service\":\"s\",\"method\":\"m\",\"args\":[]}}");
	ASSERT_TRUE(root != NULL);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, NULL));
	ASSERT_STR_EQ(s, "{\"id\":\"7\",\"resp\":[]}");
	free(s);
	json_decref(root);

	/* No id at all: the reply has none either. */
	root = parse_one("{\"msg\":{\"namespace\":\"sys\",\"service\":\"s\","
	    "\"method\":\"m\"}}");
	ASSERT_TRUE(root != NULL);
	ASSERT_TRUE(rpc_msg_id(root) == NULL);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_PINUS, NULL));
	ASSERT_STR_EQ(s, "{\"resp\":[null,null]}");
	free(s);
	json_decref(root);

	/* rpcDebugLog members beside the id are ignored. */
	root = parse_one("{\"traceId\":\"t\",\"seqId\":1,\"source\":\"chat-1\","
	    "\"remote\":\"c\",\"id\":0,\"msg\":{\"namespace\":\"sys\","
	    "\"service\":\"s\",\"method\":\"m\",\"args\":[1]}}");
	ASSERT_TRUE(root != NULL);
	s = reply(root, rpc_msg_resp_ok(FLAVOUR_POMELO, NULL));
	ASSERT_STR_EQ(s, "{\"id\":0,\"resp\":[]}");
	free(s);
	json_decref(root);
}

TEST(unusable_requests)
{
	static const char *const bad[] = {
		"{\"id\":4}",					/* no msg */
		"{\"id\":4,\"msg\":5}",
		"{\"id\":4,\"msg\":null}",
		"{\"id\":4,\"msg\":{\"args\":\"x\"}}",
		"{\"id\":4,\"msg\":{\"args\":{}}}",
	};
	struct rpc_request	 req, untouched;
	json_t			*root, *resp;
	char			 err[64], *s;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		root = parse_one(bad[i]);
		ASSERT_TRUE(root != NULL);
		memset(&req, 0x5a, sizeof(req));
		memset(&untouched, 0x5a, sizeof(untouched));
		ASSERT_EQ(rpc_msg_request_view(root, &req, err, sizeof(err)),
		    -EBADMSG);
		ASSERT_MEM_EQ(&req, sizeof(req), &untouched, sizeof(untouched));
		/* The id is still there to answer. */
		resp = rpc_msg_resp_error("%s", err);
		s = rpc_msg_encode_response(rpc_msg_id(root), resp, NULL);
		ASSERT_STR_CONTAINS(s, "{\"id\":4,\"resp\":[{\"stack\":\"Error: ");
		free(s);
		json_decref(resp);
		json_decref(root);
	}

	/* Payloads that are not envelopes at all. */
	ASSERT_EQ(rpc_msg_parse("nope", 4, &root, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_CONTAINS(err, "not JSON");
	ASSERT_EQ(rpc_msg_parse("5", 1, &root, err, sizeof(err)), -EBADMSG);
	ASSERT_EQ(rpc_msg_parse("\"{}\"", 4, &root, NULL, 0), -EBADMSG);
	resp = rpc_msg_resp_error("SyntaxError: Unexpected token");
	s = rpc_msg_encode_response(NULL, resp, NULL);
	json_decref(resp);
	ASSERT_STR_EQ(s, "{\"resp\":[{\"stack\":\"Error: SyntaxError: "
	    "Unexpected token\"}]}");
	free(s);

	/* An element of a batch that is not an object. */
	ASSERT_EQ(rpc_msg_parse("[1]", 3, &root, NULL, 0), 1);
	ASSERT_EQ(rpc_msg_request_view(rpc_msg_item(root, 0), &req, NULL, 0),
	    -EBADMSG);
	ASSERT_TRUE(rpc_msg_id(rpc_msg_item(root, 0)) == NULL);
	ASSERT_TRUE(rpc_msg_item(root, 1) == NULL);
	json_decref(root);
}

TEST(batches)
{
	struct rpc_request	 req;
	struct rpc_response	 rsp;
	const char		*p;
	json_t			*root;
	int			 n, i;

	/* Batched pushMessage requests towards a frontend. */
	p = "[{\"id\":0,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"channelRemote\",\"method\":\"pushMessage\",\"args\":[\"onAdd\","
	    "{\"route\":\"onAdd\",\"user\":\"bob\"},[\"alice*r1\",\"bob*r1\"],{}]}},"
	    "{\"id\":1,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"channelRemote\",\"method\":\"pushMessage\",\"args\":[\"onLeave\","
	    "{\"route\":\"onLeave\",\"user\":\"bob\"},[\"alice*r1\"],{}]}}]";
	n = rpc_msg_parse(p, strlen(p), &root, NULL, 0);
	ASSERT_EQ(n, 2);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(rpc_msg_request_view(rpc_msg_item(root, (size_t)i),
		    &req, NULL, 0), 0);
		ASSERT_EQ(json_integer_value(req.id), i);
		ASSERT_STR_EQ(req.method, "pushMessage");
	}
	json_decref(root);

	/* A batched reply, as a mailbox receives it. */
	p = "[{\"id\":0,\"resp\":[[\"zed\"]]}]";
	ASSERT_EQ(rpc_msg_parse(p, strlen(p), &root, NULL, 0), 1);
	ASSERT_EQ(rpc_msg_response_view(rpc_msg_item(root, 0), &rsp, NULL, 0),
	    0);
	ASSERT_UEQ(rsp.id, 0);
	ASSERT_JSON_TEXT(rsp.resp, "[[\"zed\"]]");
	json_decref(root);

	ASSERT_EQ(rpc_msg_parse("[]", 2, &root, NULL, 0), 0);
	json_decref(root);
}

TEST(responses_as_a_mailbox_reads_them)
{
	static const struct {
		const char	*p;
		int		 rc;
		uint64_t	 id;
		const char	*resp;	/* NULL: none */
	} cases[] = {
		{ "{\"id\":2,\"resp\":[null,{},null]}", 0, 2, "[null,{},null]" },
		{ "{\"id\":0,\"resp\":[[\"alice\"]]}", 0, 0, "[[\"alice\"]]" },
		{ "{\"id\":\"3\",\"resp\":[]}", 0, 3, "[]" },
		{ "{\"id\":3.0,\"resp\":[]}", 0, 3, "[]" },
		{ "{\"id\":4}", 0, 4, NULL },
		{ "{\"id\":4,\"resp\":null}", 0, 4, NULL },
		{ "{\"resp\":[{\"stack\":\"SyntaxError\"}]}", -EBADMSG, 0, NULL },
		{ "{\"id\":-1,\"resp\":[]}", -EBADMSG, 0, NULL },
		{ "{\"id\":\"03\",\"resp\":[]}", -EBADMSG, 0, NULL },
		{ "{\"id\":1,\"resp\":\"x\"}", -EBADMSG, 0, NULL },
		{ "{\"id\":1,\"resp\":{}}", -EBADMSG, 0, NULL },
	};
	static const char	 batch[] = " [ {\"id\":1,\"resp\":[null,{}]} ,"
	    "{\"resp\":[1],\"id\":9,\"id\":2}, {\"i\\u0064\":5}, 7,"
	    "{\"id\":3,\"resp\":[null, {\"a\":\"]}\"} ]} ]\n";
	struct rpc_response	 rsp;
	struct rpc_response_text rt;
	struct rpc_msg_scan	 sc;
	const char		*item;
	json_t			*root;
	size_t			 i, len;
	int			 k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* In place: what the view reads, or handed to it. */
		ASSERT_TRUE(rpc_msg_scan_start(&sc, cases[i].p,
		    strlen(cases[i].p)));
		k = rpc_msg_scan_next(&sc, &rt, &item, &len);
		if (k == 1) {
			ASSERT_EQ(cases[i].rc, 0);
			ASSERT_UEQ(rt.id, cases[i].id);
			if (cases[i].resp == NULL) {
				ASSERT_TRUE(rt.resp == NULL);
			} else {
				ASSERT_MEM_EQ(rt.resp, rt.resp_len,
				    cases[i].resp, strlen(cases[i].resp));
			}
		} else {
			ASSERT_EQ(k, 2);
			ASSERT_MEM_EQ(item, len, cases[i].p,
			    strlen(cases[i].p));
		}
		ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 0);
		/* Plain integers are read in place; other ids by the view. */
		ASSERT_EQ(k, i < 2 || (i >= 4 && i <= 5) ? 1 : 2);
		root = parse_one(cases[i].p);
		ASSERT_TRUE(root != NULL);
		rsp.id = 77;
		if (rpc_msg_response_view(root, &rsp, NULL, 0) != cases[i].rc) {
			TEST_FAIL_AT("%s: wrong result", cases[i].p);
			json_decref(root);
			return;
		}
		if (cases[i].rc == 0) {
			ASSERT_UEQ(rsp.id, cases[i].id);
			if (cases[i].resp == NULL) {
				ASSERT_TRUE(rsp.resp == NULL);
			} else {
				ASSERT_JSON_TEXT(rsp.resp, cases[i].resp);
			}
		} else {
			ASSERT_UEQ(rsp.id, 77);
		}
		json_decref(root);
	}
	/*
	 * A batch, spaced: the last of a repeated key counts; an escaped
	 * key and a scalar go to the view.
	 */
	ASSERT_TRUE(rpc_msg_scan_start(&sc, batch, sizeof batch - 1));
	ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 1);
	ASSERT_UEQ(rt.id, 1);
	ASSERT_MEM_EQ(rt.resp, rt.resp_len, "[null,{}]", 9);
	ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 1);
	ASSERT_UEQ(rt.id, 2);
	ASSERT_MEM_EQ(rt.resp, rt.resp_len, "[1]", 3);
	ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 2);
	ASSERT_MEM_EQ(item, len, "{\"i\\u0064\":5}", 13);
	ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 2);
	ASSERT_MEM_EQ(item, len, "7", 1);
	ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 1);
	ASSERT_UEQ(rt.id, 3);
	ASSERT_MEM_EQ(rt.resp, rt.resp_len, "[null, {\"a\":\"]}\"} ]", 19);
	ASSERT_EQ(rpc_msg_scan_next(&sc, &rt, &item, &len), 0);
	/* Not plain, or not a payload: for rpc_msg_parse(). */
	ASSERT_TRUE(!rpc_msg_scan_start(&sc, "{\"id\":1e0}", 10));
	ASSERT_TRUE(!rpc_msg_scan_start(&sc, "{\"id\":1", 7));
	ASSERT_TRUE(!rpc_msg_scan_start(&sc, "\"x\"", 3));
	ASSERT_TRUE(!rpc_msg_scan_start(&sc, "", 0));
}

TEST(forward_request_as_node_sends_it)
{
	/* CLUSTER.md §5.1, the 347-byte payload (30 e0 02 00 03 "rpc"). */
	static const char	 want[] =
	    "{\"id\":2,\"msg\":{\"namespace\":\"sys\",\"serverType\":\"chat\","
	    "\"service\":\"msgRemote\",\"method\":\"forwardMessage\",\"args\":[{"
	    "\"id\":2,\"type\":0,\"compressRoute\":1,\"route\":"
	    "\"chat.chatHandler.send\",\"body\":{\"rid\":\"r1\",\"content\":"
	    "\"hi all\",\"from\":\"alice\",\"target\":\"*\"},\"compressGzip\":0},"
	    "{\"id\":1,\"frontendId\":\"connector-server-1\",\"uid\":\"alice*r1\","
	    "\"settings\":{\"rid\":\"r1\"}}]}}";
	static const char	 body[] =
	    "{\"rid\":\"r1\",\"content\":\"hi all\",\"from\":\"alice\","
	    "\"target\":\"*\"}";
	struct rpc_forward	 f;
	json_t			*uid, *settings, *bj;
	char			*s;
	size_t			 len;

	ASSERT_EQ(strlen(want), 352 - 5);
	uid = json_string("alice*r1");
	settings = json_pack("{s:s}", "rid", "r1");
	memset(&f, 0, sizeof(f));
	f.msg_id = 2;
	f.compress_route = true;
	f.route = "chat.chatHandler.send";
	f.route_len = strlen(f.route);
	f.body = body;
	f.body_len = strlen(body);
	f.sid = 1;
	f.frontend_id = "connector-server-1";
	f.uid = uid;
	f.settings = settings;
	s = rpc_msg_encode_forward(2, "chat", &f, &len);
	ASSERT_STR_EQ(s, want);
	ASSERT_EQ(len, strlen(want));
	free(s);

	/* The same with the body as a decoded value (protobuf). */
	ASSERT_EQ(jsval_parse(body, strlen(body), &bj, NULL, 0), 0);
	f.body_json = bj;
	f.body = "ignored";
	s = rpc_msg_encode_forward(2, "chat", &f, NULL);
	ASSERT_STR_EQ(s, want);
	free(s);
	json_decref(bj);

	/* A notify from an unbound session without settings or body. */
	memset(&f, 0, sizeof(f));
	f.notify = true;
	f.route = "chat.chatHandler.ping";
	f.route_len = strlen(f.route);
	f.sid = 4;
	f.frontend_id = "connector-shaddock-0-1";
	s = rpc_msg_encode_forward(17, "chat", &f, NULL);
	ASSERT_STR_EQ(s, "{\"id\":17,\"msg\":{\"namespace\":\"sys\",\"serverType\":"
	    "\"chat\",\"service\":\"msgRemote\",\"method\":\"forwardMessage\","
	    "\"args\":[{\"id\":0,\"type\":1,\"compressRoute\":0,\"route\":"
	    "\"chat.chatHandler.ping\",\"body\":{},\"compressGzip\":0},{\"id\":4,"
	    "\"frontendId\":\"connector-shaddock-0-1\",\"uid\":null,"
	    "\"settings\":{}}]}}");
	free(s);
	json_decref(uid);
	json_decref(settings);
}

TEST(user_request_as_node_sends_it)
{
	json_t	*args;
	char	*s;
	size_t	 len;

	/* chatofpomelo's enter: chatRemote.add [uid, frontendId, rid, true]. */
	args = json_pack("[s,s,s,b]", "alice*r1", "connector-server-1", "r1",
	    1);
	s = rpc_msg_encode_request(0, "user", "chat", "chatRemote", "add", args,
	    &len);
	ASSERT_STR_EQ(s, "{\"id\":0,\"msg\":{\"namespace\":\"user\",\"serverType\":"
	    "\"chat\",\"service\":\"chatRemote\",\"method\":\"add\",\"args\":["
	    "\"alice*r1\",\"connector-server-1\",\"r1\",true]}}");
	ASSERT_EQ(len, strlen(s));
	free(s);
	json_decref(args);

	/* rpcInvoke style: no serverType; no args. */
	s = rpc_msg_encode_request(1, "sys", NULL, "sessionRemote", "kickBySid",
	    NULL, NULL);
	ASSERT_STR_EQ(s, "{\"id\":1,\"msg\":{\"namespace\":\"sys\",\"service\":"
	    "\"sessionRemote\",\"method\":\"kickBySid\",\"args\":[]}}");
	free(s);
}

TEST(forward_result_as_node_maps_it)
{
	/* CLUSTER.md §5.3: resp on the wire -> what the client gets. */
	static const struct {
		const char	*resp;
		const char	*body;
		bool		 failed;
	} cases[] = {
		{ "[null,{\"code\":200,\"x\":1},null]", "{\"code\":200,\"x\":1}",
		    false },
		{ "[null,{},null]", "{}", false },
		{ "[null,null,null]", "{}", false },
		{ "[{\"stack\":\"Error: boom\"},null,null]", "{\"code\":500}",
		    true },
		{ "[{\"stack\":\"Error: boom2\"},{\"code\":601,\"why\":\"custom\"},"
		    "null]", "{\"code\":601,\"why\":\"custom\"}", true },
		{ "[{\"stack\":\"x\"},{\"code\":0,\"a\":1}]",
		    "{\"code\":500,\"a\":1}", true },
		{ "[null,{}]", "{}", false },			/* pinus */
		{ "[{\"stack\":\"Error: fail\"}]", "{\"code\":500}", true },
		{ "[]", "{}", false },
		{ "[\"plain error\",\"text\"]", "\"text\"", true },
		{ "[null,0]", "{}", false },
		{ "[0,{\"a\":1}]", "{\"a\":1}", false },
	};
	const char	*text;
	json_t		*resp, *body;
	bool		 failed, in_place;
	size_t		 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/*
		 * In place when the error is null or absent and the body an
		 * object, null or absent: the backend's text, or {}.
		 */
		in_place = rpc_msg_forward_text(cases[i].resp,
		    strlen(cases[i].resp), &text, &len);
		ASSERT_EQ(in_place, i <= 2 || i == 6 || i == 8);
		if (in_place && text == NULL) {
			ASSERT_STR_EQ(cases[i].body, "{}");
		} else if (in_place) {
			ASSERT_MEM_EQ(text, len, cases[i].body,
			    strlen(cases[i].body));
		}
		ASSERT_EQ(jsval_parse(cases[i].resp, strlen(cases[i].resp),
		    &resp, NULL, 0), 0);
		body = rpc_msg_forward_result(resp, &failed);
		ASSERT_EQ(failed, cases[i].failed);
		ASSERT_JSON_TEXT(body, cases[i].body);
		json_decref(body);
		json_decref(resp);
	}
	/* The reply tree is not changed by adding the code. */
	ASSERT_EQ(jsval_parse("[1,{\"a\":1}]", 11, &resp, NULL, 0), 0);
	body = rpc_msg_forward_result(resp, &failed);
	ASSERT_JSON_TEXT(body, "{\"a\":1,\"code\":500}");
	ASSERT_JSON_TEXT(resp, "[1,{\"a\":1}]");
	json_decref(body);
	json_decref(resp);
	body = rpc_msg_forward_result(NULL, &failed);
	ASSERT_JSON_TEXT(body, "{}");
	ASSERT_TRUE(!failed);
	json_decref(body);
	ASSERT_TRUE(rpc_msg_forward_text(NULL, 0, &text, &len));
	ASSERT_TRUE(text == NULL && len == 0);
}

TEST(error_text_for_logs)
{
	static const struct {
		const char	*err;
		const char	*text;
	} cases[] = {
		{ "{\"stack\":\"Error: boom\\n    at handler.fail (x.js:1)\"}",
		    "Error: boom" },
		{ "{\"message\":\"m\",\"stack\":\"Error: m\\n at\"}", "m" },
		{ "\"plain\"", "plain" }, { "5", "5" },
		{ "{\"code\":1}", "{\"code\":1}" }, { "null", "null" },
	};
	json_t	*j;
	char	*s, big[600];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(jsval_parse(cases[i].err, strlen(cases[i].err), &j,
		    NULL, 0), 0);
		s = rpc_msg_error_text(j);
		json_decref(j);
		if (strcmp(s, cases[i].text) != 0) {
			TEST_FAIL_AT("%s: \"%s\"", cases[i].err, s);
			free(s);
			return;
		}
		free(s);
	}
	s = rpc_msg_error_text(NULL);
	ASSERT_STR_EQ(s, "undefined");
	free(s);

	/* Long texts are cut, on a character boundary. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "\"", 1);
	memcpy(big + 200, "\xc3\xa9", 2);
	memcpy(big + sizeof(big) - 2, "\"", 2);
	ASSERT_EQ(jsval_parse(big, strlen(big), &j, NULL, 0), 0);
	s = rpc_msg_error_text(j);
	json_decref(j);
	ASSERT_EQ(strlen(s), 199);
	free(s);
}

int
main(void)
{
	RUN(session_remote_requests_and_pomelo_replies);
	RUN(session_errors_per_flavour);
	RUN(channel_remote_requests_and_replies);
	RUN(user_remote_and_dispatch_errors);
	RUN(ids_echoed_with_their_type);
	RUN(unusable_requests);
	RUN(batches);
	RUN(responses_as_a_mailbox_reads_them);
	RUN(forward_request_as_node_sends_it);
	RUN(user_request_as_node_sends_it);
	RUN(forward_result_as_node_maps_it);
	RUN(error_text_for_logs);
	TEST_DONE();
}
