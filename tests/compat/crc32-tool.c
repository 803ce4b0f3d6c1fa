/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The C side of the crc32 differential test (crc32.test.mjs). Reads
 * lines from stdin: "s HEX" (a key as raw bytes, possibly not UTF-8) or
 * "j JSON" (a uid value, turned into the route key first). Writes one
 * line per input: the Pomelo and Pinus crc32 of the key, the server index
 * each flavour picks among 3 and among 7 servers, and the key in hex.
 */

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32.h"
#include "common/jsval.h"
#include "common/xmalloc.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

static void
answer(const char *key, size_t len)
{
	size_t	 i;

	printf("%" PRId32 " %" PRIu32 " %zu %zu %zu %zu ",
	    crc32_pomelo(key, len), crc32_pinus(key, len),
	    crc32_route_index(FLAVOUR_POMELO, key, len, 3),
	    crc32_route_index(FLAVOUR_PINUS, key, len, 3),
	    crc32_route_index(FLAVOUR_POMELO, key, len, 7),
	    crc32_route_index(FLAVOUR_PINUS, key, len, 7));
	for (i = 0; i < len; i++) {
		printf("%02x", (unsigned char)key[i]);
	}
	printf("\n");
}

int
main(void)
{
	char	*line = NULL, *key;
	size_t	 cap = 0, n, i;
	ssize_t	 len;
	json_t	*uid;
	int	 hi, lo;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r')) {
			line[--len] = '\0';
		}
		if (len >= 2 && line[0] == 's' && line[1] == ' ') {
			n = ((size_t)len - 2) / 2;
			key = xmalloc(n + 1);
			for (i = 0; i < n; i++) {
				hi = hexval(line[2 + 2 * i]);
				lo = hexval(line[3 + 2 * i]);
				if (hi < 0 || lo < 0) {
					fprintf(stderr, "bad hex: %s\n", line);
					return 2;
				}
				key[i] = (char)(hi << 4 | lo);
			}
			answer(key, n);
			free(key);
		} else if (len >= 2 && line[0] == 'j' && line[1] == ' ') {
			if (jsval_parse(line + 2, (size_t)len - 2, &uid, NULL,
			    0) != 0) {
				fprintf(stderr, "bad JSON: %s\n", line);
				return 2;
			}
			key = crc32_route_key(uid, &n);
			json_decref(uid);
			answer(key, n);
			free(key);
		} else {
			fprintf(stderr, "bad line: %s\n", line);
			return 2;
		}
	}
	free(line);
	fflush(stdout);
	return ferror(stdout) ? 1 : 0;
}
