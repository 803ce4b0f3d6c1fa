/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the pomelo-protobuf codec. The first byte picks
 * what the rest is:
 *
 *   0..N-1  a message body for route N of the fixed schemas below (all
 *           types, nesting, recursion, repeated, pinus maps): it is
 *           decoded; what decodes is encoded again (into a buffer of the
 *           exact size, and into a short one that must say -ENOBUFS with
 *           the same size) and must decode to the same value, except for
 *           empty arrays and pinus objs (count 0 on the wire), which
 *           encoding leaves out as pomelo does; that value must encode to
 *           the same bytes again. Encoding may only refuse a value with a
 *           missing required field (decoding checks none) or a null (a
 *           NaN float).
 *   N..     a schema file's text, compiled in both flavours; what
 *           compiles must print a parsed form that is valid JSON.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/protobuf.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char pomelo_schema[] =
    "{\"demo\":{\"required uInt32 id\":1,\"optional int32 delta\":2,"
    "\"repeated uInt32 list\":3,\"optional float f\":4,"
    "\"optional double d\":5,\"repeated Point pts\":6,"
    "\"optional Inner inner\":7,\"repeated string names\":8,"
    "\"repeated float fs\":9,\"repeated double ds\":10,"
    "\"repeated sInt32 zs\":11,\"optional string 2\":300,"
    "\"message Point\":{\"required sInt32 x\":1,\"required sInt32 y\":2},"
    "\"message Inner\":{\"optional string s\":1,\"optional Node n\":2}},"
    "\"message Node\":{\"optional Node next\":1,\"repeated Node kids\":2,"
    "\"optional uInt32 v\":3},"
    "\"onChat\":{\"required string msg\":1,\"required string from\":2,"
    "\"required string target\":3}}";

static const char pinus_schema[] =
    "{\"p\":{\"optional bool b\":1,\"optional uInt64 u\":2,"
    "\"optional sInt64 s\":3,\"repeated bool bs\":4,\"map KV m\":5,"
    "\"obj KS o\":6,\"repeated sInt64 ss\":7,\"map KI mi\":8,"
    "\"message KV\":{\"required sInt32 key\":1,\"required Item value\":2},"
    "\"message KS\":{\"required string key\":1,\"optional double value\":2},"
    "\"message KI\":{\"required uInt64 key\":1,\"optional string value\":2}},"
    "\"message Item\":{\"optional bool ok\":1,\"obj KS o\":2,"
    "\"optional float f\":3,\"required uInt32 r\":4,"
    "\"message KS\":{\"required string key\":1,\"required Item value\":2}}}";

struct route {
	const struct pb_protos	**protos;
	const char		*name;
};

static const struct pb_protos	*pomelo_p, *pinus_p;
static const struct route	 routes[] = {
	{ &pomelo_p, "demo" },
	{ &pomelo_p, "message Node" },
	{ &pomelo_p, "onChat" },
	{ &pinus_p, "p" },
};
#define N_ROUTES	(sizeof(routes) / sizeof(routes[0]))

static const struct pb_protos *
load(const char *text, enum pb_flavour fl)
{
	struct pb_protos	*p;
	json_t			*src;
	char			 err[PB_ERR_SIZE];

	src = json_loads(text, 0, NULL);
	CHECK(src != NULL);
	if (pb_protos_compile(src, fl, "fuzz", &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	json_decref(src);
	return p;
}

/* True when <v> holds a null anywhere (what a NaN float decodes to). */
static bool
has_null(const json_t *v)
{
	const char	*k;
	json_t		*x;
	size_t		 i;

	if (json_is_null(v)) {
		return true;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			if (has_null(x)) {
				return true;
			}
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (has_null(x)) {
				return true;
			}
		}
	}
	return false;
}

/*
 * True when <b> equals <a> but for members of <a> that are empty arrays
 * or objects and absent from <b>.
 */
static bool
equal_but_empties(const json_t *a, const json_t *b)
{
	const char	*k;
	json_t		*x, *y;
	size_t		 i, klen;

	if (json_is_object(a) && json_is_object(b)) {
		/* Keys may hold NUL bytes (map keys): look up with lengths. */
		json_object_foreach((json_t *)a, k, x) {
			klen = json_object_iter_key_len(json_object_key_to_iter(k));
			y = json_object_getn(b, k, klen);
			if (y == NULL) {
				if ((json_is_array(x) && json_array_size(x) == 0) ||
				    (json_is_object(x) && json_object_size(x) ==
				    0)) {
					continue;
				}
				return false;
			}
			if (!equal_but_empties(x, y)) {
				return false;
			}
		}
		json_object_foreach((json_t *)b, k, y) {
			klen = json_object_iter_key_len(json_object_key_to_iter(k));
			if (json_object_getn(a, k, klen) == NULL) {
				return false;
			}
		}
		return true;
	}
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b)) {
			return false;
		}
		json_array_foreach(a, i, x) {
			if (!equal_but_empties(x, json_array_get(b, i))) {
				return false;
			}
		}
		return true;
	}
	return json_equal(a, b);
}

static void
round_trip(const struct pb_msg *m, const uint8_t *data, size_t size)
{
	json_t		*v1, *v2;
	uint8_t		*b1, *b2, small[8];
	char		 err[PB_ERR_SIZE];
	size_t		 need = 0, len = 0, len2 = 0;
	int		 rc;

	if (pb_decode(m, data, size, &v1, err, sizeof(err)) != 0) {
		CHECK(err[0] != '\0');
		return;
	}
	rc = pb_encode(m, v1, NULL, 0, &need, err, sizeof(err));
	if (rc == -EINVAL) {
		CHECK(strstr(err, "missing required field") != NULL ||
		    (strstr(err, "got null") != NULL && has_null(v1)));
		json_decref(v1);
		return;
	}
	CHECK(rc == -ENOBUFS || (rc == 0 && need == 0));
	b1 = malloc(need > 0 ? need : 1);
	CHECK(b1 != NULL);
	CHECK(pb_encode(m, v1, b1, need, &len, err, sizeof(err)) == 0);
	CHECK(len == need);
	if (need > 0) {
		len2 = 0;
		CHECK(pb_encode(m, v1, small, need - 1 < sizeof(small) ?
		    need - 1 : sizeof(small), &len2, err, sizeof(err)) ==
		    -ENOBUFS);
		CHECK(len2 == need);
	}
	CHECK(pb_decode(m, b1, len, &v2, err, sizeof(err)) == 0);
	CHECK(equal_but_empties(v1, v2));
	b2 = malloc(need > 0 ? need : 1);
	CHECK(b2 != NULL);
	CHECK(pb_encode(m, v2, b2, need, &len2, err, sizeof(err)) == 0);
	CHECK(len2 == len && memcmp(b1, b2, len) == 0);
	free(b1);
	free(b2);
	json_decref(v1);
	json_decref(v2);
}

static void
schema(const uint8_t *data, size_t size)
{
	struct pb_protos	*p;
	json_t			*src, *parsed;
	char			 err[PB_ERR_SIZE], ver[PB_VERSION_SIZE];
	const char		*text;
	size_t			 len;
	int			 fl;

	src = json_loadb((const char *)data, size, 0, NULL);
	if (src == NULL) {
		return;
	}
	for (fl = PB_POMELO; fl <= PB_PINUS; fl++) {
		err[0] = '\0';
		if (pb_protos_compile(src, (enum pb_flavour)fl, "fuzz", &p, err,
		    sizeof(err)) != 0) {
			CHECK(err[0] != '\0');
			continue;
		}
		text = pb_protos_json(p, &len);
		CHECK(strlen(text) == len);
		parsed = json_loadb(text, len, 0, NULL);
		CHECK(parsed != NULL);
		CHECK(json_object_size(parsed) == json_object_size(src));
		json_decref(parsed);
		CHECK(pb_protos_version(p, NULL, ver) == 0);
		CHECK(strlen(ver) == 24);
		pb_protos_free(p);
	}
	json_decref(src);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route	*r;
	const struct pb_msg	*m;

	if (pomelo_p == NULL) {
		pomelo_p = load(pomelo_schema, PB_POMELO);
		pinus_p = load(pinus_schema, PB_PINUS);
	}
	if (size == 0) {
		return 0;
	}
	if (data[0] >= N_ROUTES) {
		schema(data + 1, size - 1);
		return 0;
	}
	r = &routes[data[0]];
	m = pb_protos_find(*r->protos, r->name, strlen(r->name));
	CHECK(m != NULL);
	round_trip(m, data + 1, size - 1);
	return 0;
}
