/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The C side of the protobuf differential test (protobuf-diff.test.mjs):
 * loads one schema file with common/protobuf.c and answers requests read
 * from stdin, one per line, fields separated by tabs, with one line each:
 *
 *   E <route> <json>    encode  -> OK <hex>     or ERR <reason>
 *   D <route> <hex>     decode  -> OK <json>    or ERR <reason>
 *   P                   parsed  -> OK <json> <version(absent, this)>
 *                                     <version(this, absent)>
 *   B <route> <json> <n>  n encodes and decodes -> OK <encodes/s> <decodes/s>
 *
 * Encoding starts with a 16-byte buffer, so -ENOBUFS and the size it
 * reports are exercised on every longer message. A schema that does not
 * load prints "ERR <reason>" and exits 2.
 *
 * Usage: pb-tool [-p] SCHEMA.json     (-p: the pinus flavour)
 *        pb-tool [-p] -V CLIENT SERVER  (prints the version; "-" = absent)
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/protobuf.h"
#include "common/xmalloc.h"

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses JSON as JSON.parse would take it: big integers become doubles. */
static json_t *
parse_value(const char *s)
{
	json_error_t	 jerr;
	json_t		*v;

	v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v == NULL) {
		v = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL |
		    JSON_DECODE_INT_AS_REAL, &jerr);
	}
	return v;
}

/* Encodes with a small buffer first; returns the bytes (caller frees). */
static int
encode(const struct pb_msg *m, const json_t *v, uint8_t **ret, size_t *len,
    char *err, size_t errlen)
{
	uint8_t	*buf;
	size_t	 need = 0, got = 0;
	int	 rc;

	buf = xmalloc(16);
	rc = pb_encode(m, v, buf, 16, &need, err, errlen);
	if (rc == -ENOBUFS) {
		buf = xrealloc(buf, need);
		rc = pb_encode(m, v, buf, need, &got, err, errlen);
		if (rc == 0 && got != need) {
			snprintf(err, errlen, "-ENOBUFS said %zu bytes, then "
			    "%zu were written", need, got);
			rc = -EPROTO;
		}
		need = got;
	}
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*ret = buf;
	*len = need;
	return 0;
}

/* Prints ERR and <err> on one line (tabs and newlines made spaces). */
static void
put_err(char *err)
{
	char	*c;

	for (c = err; *c != '\0'; c++) {
		if (*c == '\n' || *c == '\t') {
			*c = ' ';
		}
	}
	printf("ERR\t%s\n", err);
}

static void
put_hex(const uint8_t *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		printf("%02x", p[i]);
	}
}

static uint8_t *
from_hex(const char *s, size_t *ret_len)
{
	uint8_t		*p;
	size_t		 n = strlen(s) / 2, i;
	unsigned	 b;

	p = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1) {
			free(p);
			return NULL;
		}
		p[i] = (uint8_t)b;
	}
	*ret_len = n;
	return p;
}

static void
request(const struct pb_protos *p, char *line)
{
	const struct pb_msg	*m;
	char			 err[PB_ERR_SIZE], ver1[PB_VERSION_SIZE];
	char			 ver2[PB_VERSION_SIZE];
	char			*route, *arg, *arg2, *text;
	uint8_t			*bytes;
	json_t			*v, *out;
	size_t			 len, i, n;
	double			 t0, t1, t2;

	route = strchr(line, '\t');
	if (line[0] == 'P') {
		pb_protos_version(NULL, p, ver1);
		pb_protos_version(p, NULL, ver2);
		printf("OK\t%s\t%s\t%s\n", pb_protos_json(p, NULL), ver1, ver2);
		return;
	}
	if (route == NULL || (arg = strchr(route + 1, '\t')) == NULL) {
		printf("ERR\tbad request\n");
		return;
	}
	*route++ = '\0';
	*arg++ = '\0';
	if ((m = pb_protos_find(p, route, strlen(route))) == NULL) {
		printf("ERR\tno route\n");
		return;
	}
	err[0] = '\0';
	switch (line[0]) {
	case 'E':
		if ((v = parse_value(arg)) == NULL) {
			printf("ERR\tbad JSON\n");
			return;
		}
		if (encode(m, v, &bytes, &len, err, sizeof(err)) != 0) {
			put_err(err);
		} else {
			printf("OK\t");
			put_hex(bytes, len);
			printf("\n");
			free(bytes);
		}
		json_decref(v);
		return;
	case 'D':
		if ((bytes = from_hex(arg, &len)) == NULL) {
			printf("ERR\tbad hex\n");
			return;
		}
		if (pb_decode(m, bytes, len, &out, err, sizeof(err)) != 0) {
			put_err(err);
		} else {
			text = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("OK\t%s\n", text);
			free(text);
			json_decref(out);
		}
		free(bytes);
		return;
	case 'B':
		if ((arg2 = strchr(arg, '\t')) == NULL) {
			printf("ERR\tbad request\n");
			return;
		}
		*arg2++ = '\0';
		n = strtoul(arg2, NULL, 10);
		if ((v = parse_value(arg)) == NULL || n == 0 ||
		    encode(m, v, &bytes, &len, err, sizeof(err)) != 0) {
			printf("ERR\tcannot encode: %s\n", err);
			json_decref(v);
			return;
		}
		t0 = now_s();
		for (i = 0; i < n; i++) {
			pb_encode(m, v, bytes, len, &len, err, sizeof(err));
		}
		t1 = now_s();
		for (i = 0; i < n; i++) {
			pb_decode(m, bytes, len, &out, err, sizeof(err));
			json_decref(out);
		}
		t2 = now_s();
		printf("OK\t%.0f\t%.0f\n", (double)n / (t1 - t0),
		    (double)n / (t2 - t1));
		free(bytes);
		json_decref(v);
		return;
	default:
		printf("ERR\tbad request\n");
		return;
	}
}

int
main(int argc, char **argv)
{
	struct pb_protos	*p = NULL, *c = NULL;
	enum pb_flavour		 fl = PB_POMELO;
	char			 err[PB_ERR_SIZE], ver[PB_VERSION_SIZE];
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	int			 i = 1;

	if (argc > i && strcmp(argv[i], "-p") == 0) {
		fl = PB_PINUS;
		i++;
	}
	if (argc == i + 3 && strcmp(argv[i], "-V") == 0) {
		if ((strcmp(argv[i + 1], "-") != 0 &&
		    pb_protos_load(argv[i + 1], fl, &c, err, sizeof(err)) != 0) ||
		    (strcmp(argv[i + 2], "-") != 0 &&
		    pb_protos_load(argv[i + 2], fl, &p, err, sizeof(err)) != 0)) {
			printf("ERR\t%s\n", err);
			pb_protos_free(c);
			return 2;
		}
		pb_protos_version(c, p, ver);
		printf("%s\n", ver);
		pb_protos_free(c);
		pb_protos_free(p);
		return 0;
	}
	if (argc != i + 1) {
		fprintf(stderr, "usage: pb-tool [-p] SCHEMA.json\n"
		    "       pb-tool [-p] -V CLIENT|- SERVER|-\n");
		return 64;
	}
	if (pb_protos_load(argv[i], fl, &p, err, sizeof(err)) != 0) {
		printf("ERR\t%s\n", err);
		return 2;
	}
	while ((n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n') {
			line[n - 1] = '\0';
		}
		request(p, line);
		fflush(stdout);
	}
	free(line);
	pb_protos_free(p);
	return 0;
}
