/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the admin command line, apart from the socket:
 *  - the framing: the input's bytes arrive in chunks whose sizes the
 *    input picks, and admin_line_find() must cut exactly the lines a
 *    naive search cuts (the line limit, a last line without its newline
 *    at EOF, a line over the limit refused), with every chunk in a buffer
 *    of its exact size so ASan sees a read past it;
 *  - each line through admin_parse(), admin_find() against the real
 *    registry, admin_rest_of() and admin_usage_of();
 *  - a line that is JSON through admin_render() in both forms: the text
 *    answer has exactly one empty line, at its end; the JSON answer is
 *    one line that parses back.
 *
 * Input: [max lo][max hi][chunk sizes count n][n chunk sizes] stream.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "master/master.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static bool
is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The text answer ends with its only empty line; JSON is one line. */
static void
check_render(const json_t *value, const char *error)
{
	const json_t	*v;
	json_t		*back, *u;
	char		*s;
	size_t		 len;

	s = admin_render(value, error, false, &len);
	CHECK(len >= 2 && s[len - 1] == '\n' && s[len - 2] == '\n');
	CHECK(strstr(s, "\n\n") == s + len - 2);
	CHECK(strlen(s) == len);
	free(s);
	s = admin_render(value, error, true, &len);
	CHECK(len >= 2 && s[len - 1] == '\n' && s[len - 2] == '\n');
	CHECK(memchr(s, '\n', len) == s + len - 2);
	back = json_loadb(s, len - 2, JSON_DECODE_ANY, NULL);
	CHECK(back != NULL);
	if (error != NULL) {
		/* As is when it is UTF-8 (else with '?' for what is not). */
		v = json_object_get(back, "error");
		CHECK(json_is_string(v));
		u = json_string(error);
		CHECK(u == NULL || strcmp(json_string_value(v), error) == 0);
		json_decref(u);
	}
	json_decref(back);
	free(s);
}

static void
check_line(const char *line, size_t len)
{
	const struct admin_cmd	*cmd;
	struct admin_words	 w;
	json_t			*v;
	char			*copy, *rest, *usage;
	int			 i, words;

	copy = malloc(len + 1);
	memcpy(copy, line, len);
	copy[len] = '\0';
	admin_parse(copy, &w);
	CHECK(w.argc >= 0 && w.argc <= ADMIN_MAX_WORDS);
	for (i = 0; i < w.argc; i++) {
		CHECK(*w.argv[i] != '\0');
		CHECK(strpbrk(w.argv[i], " \t\r") == NULL);
	}
	if (w.argc > 0) {
		cmd = admin_find(w.argv, w.argc, &words);
		if (cmd != NULL) {
			CHECK(words >= 1 && words <= w.argc);
			CHECK(strncmp(cmd->words, w.argv[0],
			    strlen(w.argv[0])) == 0);
		}
		usage = admin_usage_of(w.argv[0]);
		CHECK(usage == NULL || strncmp(usage, "usage: ", 7) == 0);
		free(usage);
	}
	/* The raw rest, as a command reads it, from the original line. */
	memcpy(copy, line, len);
	for (i = 0; i <= 3; i++) {
		rest = admin_rest_of(copy, i, w.json);
		CHECK(strlen(rest) <= strlen(copy));
		CHECK(*rest == '\0' || (!is_sep(rest[0]) &&
		    !is_sep(rest[strlen(rest) - 1])));
		free(rest);
	}
	v = json_loadb(line, len, JSON_DECODE_ANY, NULL);
	if (v != NULL) {
		check_render(v, NULL);
		json_decref(v);
	}
	if (len < 512 && strlen(copy) == len) {
		/* The line as an error message, and as a sentence. */
		check_render(NULL, copy);
		v = json_string(copy);
		if (v != NULL) {
			check_render(v, NULL);
			json_decref(v);
		}
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool	 quiet;
	const uint8_t	*sizes, *stream;
	size_t		 max, nsizes, slen, fed = 0, k = 0, chunk;
	size_t		 scanned = 0, have = 0, line_len, skip, i;
	char		*buf = NULL, *next;
	const char	*nl;
	bool		 eof;
	int		 r;

	if (!quiet) {
		log_open('F', LOG_LEVEL_ERROR, NULL);
		quiet = true;
	}
	if (size < 3) {
		return 0;
	}
	max = ((size_t)data[0] | (size_t)data[1] << 8) % 4096;
	nsizes = data[2];
	if (size - 3 < nsizes) {
		return 0;
	}
	sizes = data + 3;
	stream = sizes + nsizes;
	slen = size - 3 - nsizes;
	for (;;) {
		/* The next chunk arrives: the buffer grows to exactly it. */
		chunk = nsizes > 0 ? sizes[k++ % nsizes] : slen;
		if (chunk > slen - fed) {
			chunk = slen - fed;
		}
		next = malloc(have + chunk + 1);
		if (have > 0) {
			memcpy(next, buf, have);
		}
		memcpy(next + have, stream + fed, chunk);
		free(buf);
		buf = next;
		have += chunk;
		fed += chunk;
		eof = fed == slen;
		while ((r = admin_line_find(buf, have, eof, max, &scanned,
		    &line_len, &skip)) == 1) {
			/* What a naive search finds. */
			nl = memchr(buf, '\n', have);
			if (nl != NULL) {
				CHECK(line_len == (size_t)(nl - buf));
				CHECK(skip == line_len + 1);
			} else {
				CHECK(eof && line_len == have && skip == have);
			}
			CHECK(line_len <= max);
			check_line(buf, line_len);
			have -= skip;
			memmove(buf, buf + skip, have);
		}
		if (r == -EMSGSIZE) {
			/* Refused only when the line really is too long. */
			nl = memchr(buf, '\n', have);
			CHECK(nl != NULL ? (size_t)(nl - buf) > max : have > max);
			break;
		}
		CHECK(r == 0);
		/* Nothing left over a complete line at EOF. */
		if (eof) {
			CHECK(have == 0);
			break;
		}
		if (chunk == 0 && nsizes > 0) {
			/* A zero-size chunk: the next size is used. */
			for (i = 0; i < nsizes && sizes[(k + i) % nsizes] == 0;
			    i++) {
				;
			}
			if (i == nsizes) {
				chunk = slen - fed;
				k = 0;
				nsizes = 0;
			}
		}
	}
	free(buf);
	return 0;
}
