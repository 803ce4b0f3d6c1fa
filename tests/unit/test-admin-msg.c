/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Tests of the pomelo-admin messages with the payloads captured between
 * real Pomelo and Pinus masters and servers (CLUSTER.md §3): register and
 * reconnect built as Node builds them, the replies of both frameworks,
 * monitor messages single- and double-encoded, request ids kept as
 * numbers or strings, discovery bodies and server order, and the console
 * answers.
 */

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/admin-msg.h"
#include "common/jsval.h"
#include "tests/unit/test.h"

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

static json_t *
parse(const char *text)
{
	json_t	*j = NULL;

	if (jsval_parse(text, strlen(text), &j, NULL, 0) != 0) {
		return NULL;
	}
	return j;
}

/* The info a Node connector registered with in run 2 (paths shortened). */
static const char	 node_info[] =
    "{\"main\":\"<base>/app.js\",\"env\":\"development\",\"id\":"
    "\"connector-server-1\",\"host\":\"127.0.0.1\",\"port\":4050,"
    "\"clientPort\":3050,\"frontend\":\"true\",\"serverType\":\"connector\"}";

TEST(register_as_node_sends_it)
{
	json_t	*info;
	char	*s;
	size_t	 len;

	info = parse(node_info);
	ASSERT_TRUE(info != NULL);
	s = admin_msg_encode_register("connector-server-1", "connector", 17037,
	    info, "agarxhqb98rpajloaxn34ga8xrunpagkjwlaw3ruxnpaagl29w4rxn",
	    &len);
	ASSERT_STR_EQ(s, "{\"id\":\"connector-server-1\",\"type\":\"monitor\","
	    "\"serverType\":\"connector\",\"pid\":17037,\"info\":{\"main\":"
	    "\"<base>/app.js\",\"env\":\"development\",\"id\":"
	    "\"connector-server-1\",\"host\":\"127.0.0.1\",\"port\":4050,"
	    "\"clientPort\":3050,\"frontend\":\"true\",\"serverType\":"
	    "\"connector\"},\"token\":"
	    "\"agarxhqb98rpajloaxn34ga8xrunpagkjwlaw3ruxnpaagl29w4rxn\"}");
	ASSERT_EQ(len, strlen(s));
	free(s);

	/* No adminServer.json entry: token null. */
	s = admin_msg_encode_register("c", "connector", 1, info, NULL, NULL);
	ASSERT_STR_CONTAINS(s, ",\"token\":null}");
	free(s);

	/* reconnect: id, type, info, pid, serverType; no token. */
	s = admin_msg_encode_reconnect("connector-server-1", "connector", 23488,
	    info, &len);
	ASSERT_STR_EQ(s, "{\"id\":\"connector-server-1\",\"type\":\"monitor\","
	    "\"info\":{\"main\":\"<base>/app.js\",\"env\":\"development\",\"id\":"
	    "\"connector-server-1\",\"host\":\"127.0.0.1\",\"port\":4050,"
	    "\"clientPort\":3050,\"frontend\":\"true\",\"serverType\":"
	    "\"connector\"},\"pid\":23488,\"serverType\":\"connector\"}");
	free(s);
	json_decref(info);
}

TEST(info_of_a_c_frontend)
{
	struct admin_info	 in;
	json_t			*info, *paths, *extra;

	/* The minimal set §3.2 says both masters accept. */
	memset(&in, 0, sizeof(in));
	in.id = "connector-shaddock-0-1";
	in.server_type = "connector";
	in.host = "127.0.0.1";
	in.port = 4050;
	in.client_host = "10.0.0.5";
	in.client_port = 3050;
	in.frontend = true;
	ASSERT_EQ(admin_msg_info(&in, &info), 0);
	ASSERT_JSON_TEXT(info, "{\"id\":\"connector-shaddock-0-1\",\"serverType\":"
	    "\"connector\",\"host\":\"127.0.0.1\",\"port\":4050,\"clientHost\":"
	    "\"10.0.0.5\",\"clientPort\":3050,\"frontend\":\"true\"}");
	json_decref(info);

	/* Pinus: remoterPaths, handlerPaths, env, extra members last. */
	paths = json_array();
	ASSERT_EQ(admin_msg_remoter_path_add(paths, "sys", "connector",
	    "/srv/node_modules/pinus/dist/lib/common/remote/frontend"), 0);
	ASSERT_EQ(admin_msg_remoter_path_add(paths, "user", "connector",
	    "/srv/game/dist/app/servers/connector/remote"), 0);
	ASSERT_EQ(admin_msg_remoter_path_add(NULL, "a", "b", "c"), -EINVAL);
	ASSERT_EQ(admin_msg_remoter_path_add(paths, NULL, "b", "c"), -EINVAL);
	extra = json_pack("{s:s,s:i}", "max-connections", "1000", "port", 4051);
	in.frontend = false;
	in.client_host = NULL;
	in.client_port = 0;
	in.env = "production";
	in.remoter_paths = paths;
	in.handler_paths = json_array();
	in.extra = extra;
	ASSERT_EQ(admin_msg_info(&in, &info), 0);
	ASSERT_JSON_TEXT(info, "{\"id\":\"connector-shaddock-0-1\",\"serverType\":"
	    "\"connector\",\"host\":\"127.0.0.1\",\"port\":4051,\"env\":"
	    "\"production\",\"remoterPaths\":[{\"namespace\":\"sys\",\"serverType\":"
	    "\"connector\",\"path\":\"/srv/node_modules/pinus/dist/lib/common/"
	    "remote/frontend\"},{\"namespace\":\"user\",\"serverType\":"
	    "\"connector\",\"path\":\"/srv/game/dist/app/servers/connector/"
	    "remote\"}],\"handlerPaths\":[],\"max-connections\":\"1000\"}");
	json_decref(info);
	json_decref((json_t *)in.handler_paths);
	json_decref(paths);
	json_decref(extra);

	/* Required members; <ret> untouched on failure. */
	info = (json_t *)&in;
	in.extra = NULL;
	in.remoter_paths = NULL;
	in.handler_paths = NULL;
	in.host = NULL;
	ASSERT_EQ(admin_msg_info(&in, &info), -EINVAL);
	in.host = "\xff";
	ASSERT_EQ(admin_msg_info(&in, &info), -EINVAL);
	in.host = "h";
	in.extra = json_array();
	ASSERT_EQ(admin_msg_info(&in, &info), -EINVAL);
	json_decref((json_t *)in.extra);
	ASSERT_TRUE(info == (json_t *)&in);
}

TEST(register_replies_of_both_frameworks)
{
	static const struct {
		const char		*p;
		bool			 ok;
		enum admin_refusal	 why;
		const char		*text;
	} cases[] = {
		{ "{\"code\":1,\"msg\":\"ok\"}", true, ADMIN_REFUSED_NONE, "ok" },
		{ "{\"code\":1.0}", true, ADMIN_REFUSED_NONE, "" },
		{ "{\"code\":-1,\"msg\":\"server auth failed\"}", false,
		    ADMIN_REFUSED_AUTH, "server auth failed" },
		{ "{\"code\":-1,\"msg\":\"server auth failed,check config "
		    "`adminServer`.\"}", false, ADMIN_REFUSED_AUTH,
		    "server auth failed,check config `adminServer`." },
		{ "{\"code\":-1,\"msg\":\"id has been registered. "
		    "id:connector-server-1\"}", false, ADMIN_REFUSED_ID_TAKEN,
		    "id has been registered. id:connector-server-1" },
		{ "{\"code\":-1,\"msg\":\"unknown auth master type\"}", false,
		    ADMIN_REFUSED_OTHER, "unknown auth master type" },
		/* Node tests code === 1: a string "1" is a refusal. */
		{ "{\"code\":\"1\",\"msg\":\"ok\"}", false, ADMIN_REFUSED_OTHER,
		    "ok" },
		{ "{}", false, ADMIN_REFUSED_OTHER, "" },
	};
	enum admin_refusal	 why;
	char			 text[64], err[64];
	bool			 ok;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(admin_msg_parse_reply(cases[i].p, strlen(cases[i].p),
		    &ok, &why, text, sizeof(text), err, sizeof(err)), 0);
		ASSERT_EQ(ok, cases[i].ok);
		ASSERT_EQ(why, cases[i].why);
		ASSERT_STR_EQ(text, cases[i].text);
	}
	/* Truncated text; no text buffer. */
	ASSERT_EQ(admin_msg_parse_reply(cases[2].p, strlen(cases[2].p), &ok,
	    &why, text, 7, NULL, 0), 0);
	ASSERT_STR_EQ(text, "server");
	ASSERT_EQ(admin_msg_parse_reply(cases[0].p, strlen(cases[0].p), &ok,
	    &why, NULL, 0, NULL, 0), 0);
	ASSERT_TRUE(ok);
	/* Not an object. */
	ok = false;
	ASSERT_EQ(admin_msg_parse_reply("[1]", 3, &ok, &why, text,
	    sizeof(text), err, sizeof(err)), -EBADMSG);
	ASSERT_EQ(admin_msg_parse_reply("{", 1, &ok, &why, text, sizeof(text),
	    err, sizeof(err)), -EBADMSG);
	ASSERT_TRUE(!ok);
}

TEST(subscribe_and_record_as_node_sends_them)
{
	char	*s;
	size_t	 len;

	/* 30 7d 00 07 "monitor": a 116-byte double-encoded payload. */
	s = admin_msg_encode_subscribe(1, "connector-server-1", &len);
	ASSERT_STR_EQ(s, "\"{\\\"reqId\\\":1,\\\"moduleId\\\":"
	    "\\\"__masterwatcher__\\\",\\\"body\\\":{\\\"action\\\":"
	    "\\\"subscribe\\\",\\\"id\\\":\\\"connector-server-1\\\"}}\"");
	ASSERT_EQ(len, 0x7d - 9);
	free(s);

	/* 30 5e 00 07 "monitor": an 85-byte single-encoded notify. */
	s = admin_msg_encode_record("connector-server-1", &len);
	ASSERT_STR_EQ(s, "{\"moduleId\":\"__masterwatcher__\",\"body\":{"
	    "\"action\":\"record\",\"id\":\"connector-server-1\"}}");
	ASSERT_EQ(len, 0x5e - 9);
	free(s);

	/* Without a body, the member is left out (undefined). */
	s = admin_msg_encode_request(7, "m", NULL, NULL);
	ASSERT_STR_EQ(s, "\"{\\\"reqId\\\":7,\\\"moduleId\\\":\\\"m\\\"}\"");
	free(s);
	s = admin_msg_encode_notify("m", NULL, NULL);
	ASSERT_STR_EQ(s, "{\"moduleId\":\"m\"}");
	free(s);
}

TEST(acks_keep_the_id_type)
{
	struct admin_msg	 m;
	json_t			*root, *root2;
	const char		*p;
	char			*s;
	size_t			 len;

	/* The replaceServer re-push after a reconnect: 1, then "1". */
	p = "\"{\\\"reqId\\\":1,\\\"moduleId\\\":"
	    "\\\"__monitorwatcher__\\\",\\\"body\\\":{\\\"action\\\":"
	    "\\\"replaceServer\\\",\\\"servers\\\":{}}}\"";
	ASSERT_EQ(admin_msg_parse(p, strlen(p), &root, &m, NULL, 0), 0);
	ASSERT_EQ(m.kind, ADMIN_REQUEST);
	ASSERT_TRUE(json_is_integer(m.id));
	s = admin_msg_encode_ack(m.id, true, &len);
	/* 30 25 00 07 "monitor": 28 bytes. */
	ASSERT_STR_EQ(s, "\"{\\\"respId\\\":1,\\\"error\\\":1}\"");
	ASSERT_EQ(len, 0x25 - 9);
	free(s);

	p = "\"{\\\"reqId\\\":\\\"1\\\",\\\"moduleId\\\":"
	    "\\\"__monitorwatcher__\\\",\\\"body\\\":{\\\"action\\\":"
	    "\\\"replaceServer\\\",\\\"servers\\\":{}}}\"";
	ASSERT_EQ(admin_msg_parse(p, strlen(p), &root2, &m, NULL, 0), 0);
	ASSERT_EQ(m.kind, ADMIN_REQUEST);
	ASSERT_TRUE(json_is_string(m.id));
	s = admin_msg_encode_ack(m.id, true, NULL);
	ASSERT_STR_EQ(s, "\"{\\\"respId\\\":\\\"1\\\",\\\"error\\\":1}\"");
	free(s);
	s = admin_msg_encode_ack(m.id, false, NULL);
	ASSERT_STR_EQ(s, "\"{\\\"respId\\\":\\\"1\\\",\\\"error\\\":0}\"");
	free(s);
	json_decref(root);
	json_decref(root2);
}

TEST(classification_as_the_monitor_agent)
{
	static const struct {
		const char	*p;
		enum admin_kind	 kind;
		const char	*id;	/* JSON of the id; NULL: none */
		const char	*module;
	} cases[] = {
		/* The subscribe reply: double-encoded, error null. */
		{ "\"{\\\"respId\\\":1,\\\"error\\\":null,\\\"body\\\":{\\\"c-1\\\":"
		    "{\\\"id\\\":\\\"c-1\\\",\\\"pid\\\":17037}}}\"", ADMIN_RESPONSE,
		    "1", NULL },
		/* The same single-encoded: accepted as Node accepts it. */
		{ "{\"respId\":\"4\",\"error\":1}", ADMIN_RESPONSE, "\"4\"", NULL },
		/* systemMonitor notifies, body null. */
		{ "{\"moduleId\":\"onlineUser\",\"body\":null}", ADMIN_NOTIFY,
		    NULL, "onlineUser" },
		{ "\"{\\\"moduleId\\\":\\\"__console__\\\",\\\"body\\\":"
		    "{\\\"signal\\\":\\\"stop\\\"}}\"", ADMIN_NOTIFY, NULL,
		    "__console__" },
		/* Falsy ids mean notify. */
		{ "{\"reqId\":0,\"moduleId\":\"m\"}", ADMIN_NOTIFY, NULL, "m" },
		{ "{\"reqId\":\"\",\"moduleId\":\"m\"}", ADMIN_NOTIFY, NULL, "m" },
		{ "{\"respId\":0,\"reqId\":5,\"moduleId\":\"m\"}", ADMIN_REQUEST,
		    "5", "m" },
		{ "\"{\\\"reqId\\\":9,\\\"moduleId\\\":\\\"__console__\\\","
		    "\\\"body\\\":{\\\"signal\\\":\\\"list\\\"}}\"", ADMIN_REQUEST,
		    "9", "__console__" },
		/* A command wins over everything. */
		{ "\"{\\\"reqId\\\":2,\\\"command\\\":\\\"list\\\",\\\"moduleId\\\":"
		    "null}\"", ADMIN_COMMAND, "2", NULL },
		{ "{\"command\":\"enable\",\"respId\":3,\"moduleId\":\"x\"}",
		    ADMIN_COMMAND, NULL, "x" },
	};
	struct admin_msg	 m;
	json_t			*root;
	char			*id;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (admin_msg_parse(cases[i].p, strlen(cases[i].p), &root, &m,
		    NULL, 0) != 0) {
			TEST_FAIL_AT("case %zu does not parse", i);
			return;
		}
		ASSERT_EQ(m.kind, cases[i].kind);
		if (cases[i].id == NULL) {
			ASSERT_TRUE(m.id == NULL);
		} else {
			id = jsval_dump(m.id, NULL);
			ASSERT_STR_EQ(id, cases[i].id);
			free(id);
		}
		if (cases[i].module == NULL) {
			ASSERT_TRUE(m.module_id == NULL);
		} else {
			ASSERT_STR_EQ(m.module_id, cases[i].module);
		}
		json_decref(root);
	}

	/* The subscribe reply's parts. */
	ASSERT_EQ(admin_msg_parse(cases[0].p, strlen(cases[0].p), &root, &m,
	    NULL, 0), 0);
	ASSERT_TRUE(json_is_null(m.error));
	ASSERT_TRUE(json_is_object(m.body));
	json_decref(root);
	ASSERT_EQ(admin_msg_parse(cases[8].p, strlen(cases[8].p), &root, &m,
	    NULL, 0), 0);
	ASSERT_STR_EQ(m.command, "list");
	json_decref(root);
}

TEST(unusable_monitor_messages)
{
	static const char *const bad[] = {
		"", "{", "5", "null", "[]", "\"x\"", "\"5\"",
		/* Triple encoding is a string after two parses. */
		"\"\\\"{}\\\"\"",
	};
	struct admin_msg	 m;
	json_t			*root = NULL;
	char			 err[64];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (admin_msg_parse(bad[i], strlen(bad[i]), &root, &m, err,
		    sizeof(err)) != -EBADMSG) {
			TEST_FAIL_AT("\"%s\" was accepted", bad[i]);
			return;
		}
		ASSERT_TRUE(root == NULL);
		ASSERT_TRUE(err[0] != '\0');
	}
}

TEST(responses_double_encoded_round_trip)
{
	struct admin_msg	 m;
	json_t			*id, *err, *body, *root;
	char			*s;
	size_t			 len;

	/* kill: the server id in the error slot. */
	id = json_integer(3);
	err = json_string("connector-server-1");
	s = admin_msg_encode_response(id, err, NULL, NULL);
	ASSERT_STR_EQ(s, "\"{\\\"respId\\\":3,\\\"error\\\":"
	    "\\\"connector-server-1\\\"}\"");
	free(s);
	json_decref(err);

	/* A body with quotes, backslashes and a newline reads back. */
	body = json_pack("{s:s,s:[i,n]}", "t", "a\"b\\c\nd\xc3\xa9", "l", 1);
	err = json_null();
	s = admin_msg_encode_response(id, err, body, &len);
	ASSERT_STR_EQ(s, "\"{\\\"respId\\\":3,\\\"error\\\":null,\\\"body\\\":"
	    "{\\\"t\\\":\\\"a\\\\\\\"b\\\\\\\\c\\\\nd\xc3\xa9\\\",\\\"l\\\":"
	    "[1,null]}}\"");
	ASSERT_EQ(admin_msg_parse(s, len, &root, &m, NULL, 0), 0);
	ASSERT_EQ(m.kind, ADMIN_RESPONSE);
	ASSERT_TRUE(json_equal(m.body, body));
	ASSERT_TRUE(json_is_null(m.error));
	json_decref(root);
	free(s);
	json_decref(body);
	json_decref(err);
	json_decref(id);
}

TEST(watcher_bodies)
{
	struct admin_watch	 w;
	json_t			*b;

	b = parse("{\"action\":\"addServer\",\"server\":{\"id\":\"chat-2\","
	    "\"serverType\":\"chat\",\"host\":\"127.0.0.1\",\"port\":6051,"
	    "\"pid\":9}}");
	ASSERT_EQ(admin_msg_watcher(b, &w), 0);
	ASSERT_EQ(w.action, ADMIN_ACTION_ADD_SERVER);
	ASSERT_TRUE(json_is_object(w.server));
	json_decref(b);

	b = parse("{\"action\":\"removeServer\",\"id\":\"chat-2\"}");
	ASSERT_EQ(admin_msg_watcher(b, &w), 0);
	ASSERT_EQ(w.action, ADMIN_ACTION_REMOVE_SERVER);
	ASSERT_STR_EQ(w.id, "chat-2");
	json_decref(b);

	b = parse("{\"action\":\"replaceServer\",\"servers\":{\"c\":{}}}");
	ASSERT_EQ(admin_msg_watcher(b, &w), 0);
	ASSERT_EQ(w.action, ADMIN_ACTION_REPLACE_SERVER);
	ASSERT_EQ(json_object_size(w.servers), 1);
	json_decref(b);

	b = parse("{\"action\":\"startOver\"}");
	ASSERT_EQ(admin_msg_watcher(b, &w), 0);
	ASSERT_EQ(w.action, ADMIN_ACTION_START_OVER);
	json_decref(b);

	/* Missing data: answer FAIL. Unknown or no action: no answer. */
	memset(&w, 0x5a, sizeof(w));
	b = parse("[{\"action\":\"addServer\"},{\"action\":\"addServer\","
	    "\"server\":null},{\"action\":\"removeServer\",\"id\":\"\"},"
	    "{\"action\":\"replaceServer\",\"servers\":0},"
	    "{\"action\":\"removeServer\",\"id\":5},"
	    "{\"action\":\"query\"},{\"action\":\"\"},{},5]");
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 0), &w), -EBADMSG);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 1), &w), -EBADMSG);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 2), &w), -EBADMSG);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 3), &w), -EBADMSG);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 4), &w), -EBADMSG);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 5), &w), -ENOENT);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 6), &w), -ENOENT);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 7), &w), -ENOENT);
	ASSERT_EQ(admin_msg_watcher(json_array_get(b, 8), &w), -ENOENT);
	ASSERT_EQ(admin_msg_watcher(NULL, &w), -ENOENT);
	ASSERT_EQ((int)w.action, 0x5a5a5a5a);
	json_decref(b);
}

TEST(server_infos)
{
	struct admin_server	 s;
	json_t			*b;

	b = parse("[{\"id\":\"chat-1\",\"serverType\":\"chat\",\"host\":"
	    "\"127.0.0.1\",\"port\":6050},"
	    "{\"id\":\"c-1\",\"serverType\":\"connector\",\"port\":\"4050\","
	    "\"frontend\":\"true\"},"
	    "{\"id\":\"c-2\",\"serverType\":\"connector\",\"port\":70000,"
	    "\"frontend\":true},"
	    "{\"id\":\"gate\",\"serverType\":\"gate\",\"port\":\"x\"},"
	    "{\"id\":\"\",\"serverType\":\"chat\"},"
	    "{\"id\":\"a\"},{\"id\":5,\"serverType\":\"chat\"},[]]");
	ASSERT_EQ(admin_msg_server(json_array_get(b, 0), &s), 0);
	ASSERT_STR_EQ(s.id, "chat-1");
	ASSERT_STR_EQ(s.server_type, "chat");
	ASSERT_STR_EQ(s.host, "127.0.0.1");
	ASSERT_EQ(s.port, 6050);
	ASSERT_TRUE(!s.frontend);
	ASSERT_TRUE(s.info == json_array_get(b, 0));
	ASSERT_EQ(admin_msg_server(json_array_get(b, 1), &s), 0);
	ASSERT_EQ(s.port, 4050);
	ASSERT_TRUE(s.host == NULL);
	ASSERT_TRUE(s.frontend);
	ASSERT_EQ(admin_msg_server(json_array_get(b, 2), &s), 0);
	ASSERT_EQ(s.port, 0);
	ASSERT_TRUE(!s.frontend);	/* boolean true is not "true" */
	ASSERT_EQ(admin_msg_server(json_array_get(b, 3), &s), 0);
	ASSERT_EQ(s.port, 0);
	ASSERT_EQ(admin_msg_server(json_array_get(b, 4), &s), -EBADMSG);
	ASSERT_EQ(admin_msg_server(json_array_get(b, 5), &s), -EBADMSG);
	ASSERT_EQ(admin_msg_server(json_array_get(b, 6), &s), -EBADMSG);
	ASSERT_EQ(admin_msg_server(json_array_get(b, 7), &s), -EBADMSG);
	ASSERT_STR_EQ(s.id, "gate");	/* untouched */
	json_decref(b);
}

TEST(server_list_in_javascript_key_order)
{
	json_t	*map, *list;
	char	*ids[8];
	size_t	 i;

	map = parse("{\"chat-b\":{\"id\":\"chat-b\"},\"10\":{\"id\":\"10\"},"
	    "\"chat-a\":{\"id\":\"chat-a\"},\"2\":{\"id\":\"2\"},"
	    "\"02\":{\"id\":\"02\"},\"4294967295\":{\"id\":\"4294967295\"},"
	    "\"0\":{\"id\":\"0\"}}");
	list = admin_msg_server_list(map);
	ASSERT_EQ(json_array_size(list), 7);
	for (i = 0; i < 7; i++) {
		ids[i] = (char *)json_string_value(json_object_get(
		    json_array_get(list, i), "id"));
	}
	/* Object.keys() order in Node. */
	ASSERT_STR_EQ(ids[0], "0");
	ASSERT_STR_EQ(ids[1], "2");
	ASSERT_STR_EQ(ids[2], "10");
	ASSERT_STR_EQ(ids[3], "chat-b");
	ASSERT_STR_EQ(ids[4], "chat-a");
	ASSERT_STR_EQ(ids[5], "02");
	ASSERT_STR_EQ(ids[6], "4294967295");
	/* The elements are the map's own (borrowed and incref'd). */
	ASSERT_TRUE(json_array_get(list, 0) == json_object_get(map, "0"));
	json_decref(list);
	json_decref(map);

	list = admin_msg_server_list(NULL);
	ASSERT_EQ(json_array_size(list), 0);
	json_decref(list);
}

TEST(console)
{
	static const struct {
		const char		*body;
		enum admin_signal	 signal;
	} cases[] = {
		{ "{\"signal\":\"list\"}", ADMIN_SIGNAL_LIST },
		{ "{\"signal\":\"stop\"}", ADMIN_SIGNAL_STOP },
		{ "{\"signal\":\"kill\"}", ADMIN_SIGNAL_KILL },
		{ "{\"signal\":\"restart\"}", ADMIN_SIGNAL_RESTART },
		{ "{\"signal\":\"blacklist\",\"blacklist\":[\"^10\\\\.\"]}",
		    ADMIN_SIGNAL_BLACKLIST },
		{ "{\"signal\":\"addCron\",\"cron\":{}}", ADMIN_SIGNAL_ADD_CRON },
		{ "{\"signal\":\"removeCron\"}", ADMIN_SIGNAL_REMOVE_CRON },
		{ "{\"signal\":\"add\"}", ADMIN_SIGNAL_UNKNOWN },
		{ "{\"signal\":5}", ADMIN_SIGNAL_UNKNOWN },
		{ "{}", ADMIN_SIGNAL_UNKNOWN }, { "null", ADMIN_SIGNAL_UNKNOWN },
	};
	json_t	*b, *rec, *id, *e;
	char	*s;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = parse(cases[i].body);
		ASSERT_TRUE(b != NULL);
		ASSERT_EQ(admin_msg_console_signal(b), cases[i].signal);
		json_decref(b);
	}

	/* The list record: MiB and minutes, two decimals, toFixed ties. */
	rec = admin_msg_console_list("connector-shaddock-0-1", "connector",
	    4242, 131072, 47316992, 0, 90.3);
	ASSERT_JSON_TEXT(rec, "{\"serverId\":\"connector-shaddock-0-1\",\"body\":"
	    "{\"serverId\":\"connector-shaddock-0-1\",\"serverType\":"
	    "\"connector\",\"pid\":4242,\"rss\":\"0.13\",\"heapTotal\":"
	    "\"45.13\",\"heapUsed\":\"0.00\",\"uptime\":\"1.50\"}}");
	id = json_integer(6);
	s = admin_msg_encode_response(id, rec, NULL, NULL);
	ASSERT_STR_CONTAINS(s, "\"{\\\"respId\\\":6,\\\"error\\\":{\\\"serverId");
	free(s);
	json_decref(rec);

	e = admin_msg_unknown_module("systemInfo");
	ASSERT_STR_EQ(json_string_value(e), "unknown moduleId:systemInfo");
	json_decref(e);
	e = admin_msg_unknown_module(NULL);
	ASSERT_STR_EQ(json_string_value(e), "unknown moduleId:undefined");
	s = admin_msg_encode_response(id, e, NULL, NULL);
	ASSERT_STR_EQ(s, "\"{\\\"respId\\\":6,\\\"error\\\":"
	    "\\\"unknown moduleId:undefined\\\"}\"");
	free(s);
	json_decref(e);
	json_decref(id);
}

TEST(fixed2_as_node)
{
	/* (v).toFixed(2) in Node 20. */
	static const struct {
		double		 v;
		const char	*s;
	} cases[] = {
		{ 0.125, "0.13" }, { 0.375, "0.38" }, { 0.625, "0.63" },
		{ -0.125, "-0.13" }, { 1.005, "1.00" }, { 2.675, "2.67" },
		{ 0.005, "0.01" }, { 1.115, "1.11" }, { 12.345, "12.35" },
		{ 0, "0.00" }, { -0.0, "0.00" }, { 45.125, "45.13" },
		{ 1e21, "1e+21" }, { 123.456, "123.46" },
	};
	char	 out[32];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(admin_msg_fixed2(cases[i].v, out), strlen(out));
		if (strcmp(out, cases[i].s) != 0) {
			TEST_FAIL_AT("(%.17g).toFixed(2) = %s, want %s",
			    cases[i].v, out, cases[i].s);
			return;
		}
	}
}

int
main(void)
{
	RUN(register_as_node_sends_it);
	RUN(info_of_a_c_frontend);
	RUN(register_replies_of_both_frameworks);
	RUN(subscribe_and_record_as_node_sends_them);
	RUN(acks_keep_the_id_type);
	RUN(classification_as_the_monitor_agent);
	RUN(unusable_monitor_messages);
	RUN(responses_double_encoded_round_trip);
	RUN(watcher_bodies);
	RUN(server_infos);
	RUN(server_list_in_javascript_key_order);
	RUN(console);
	RUN(fixed2_as_node);
	TEST_DONE();
}
