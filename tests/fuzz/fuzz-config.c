/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the configuration parser: the input is a whole
 * configuration file, given to conf_load_buffer(). Besides memory errors it
 * checks that a refused file gets -EINVAL and error lines that each name
 * the file ("NAME:LINE: message" or "NAME: message"), and that an accepted
 * one dumps (conf_dump(), as `shaddockd -T` prints it) to a file that loads
 * again and dumps to the same text: `-T` output is a valid configuration
 * with the same meaning. The exception is a dump with a line longer than
 * the parser takes (FUZZ_MAX_LINE), which a long value can make: the dump
 * adds blanks around '=', and writes a relative pid_file inside runtime_dir.
 */

#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"

#define FUZZ_NAME	"fuzz.conf"
#define FUZZ_MAX_LINE	198	/* shaddock.conf(5): "at most 198 bytes" */

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_open('T', LOG_LEVEL_ERROR, NULL);
	/* runtime_dir = auto resolves the same way every time. */
	unsetenv("RUNTIME_DIRECTORY");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	return 0;
}

/* Every line of <errors> names the file. */
static void
fuzz_check_errors(const char *errors)
{
	const char	*p, *nl;

	CHECK(errors != NULL && *errors != '\0');
	for (p = errors; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		CHECK(nl != NULL);
		CHECK(strncmp(p, FUZZ_NAME ":", strlen(FUZZ_NAME ":")) == 0);
	}
}

/* True when no line of <text> is longer than the parser takes. */
static bool
fuzz_lines_fit(const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			nl = end;
		}
		if ((size_t)(nl - p) > FUZZ_MAX_LINE) {
			return false;
		}
	}
	return true;
}

/* conf_dump() of <c>, the caller's to free. */
static char *
fuzz_dump(const struct conf *c, size_t *ret_len)
{
	char	*text = NULL;
	FILE	*f;

	f = open_memstream(&text, ret_len);
	CHECK(f != NULL);
	conf_dump(c, f);
	CHECK(fclose(f) == 0);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c = NULL, *d = NULL;
	char		*errors = NULL, *dump, *again;
	size_t		 len, len2;
	int		 r;

	r = conf_load_buffer(FUZZ_NAME, (const char *)data, size, &c,
	    &errors);
	if (r != 0) {
		CHECK(r == -EINVAL && c == NULL);
		fuzz_check_errors(errors);
		free(errors);
		return 0;
	}
	CHECK(c != NULL && errors == NULL);
	CHECK(c->n_listeners >= 1 && c->n_listeners <= CONF_MAX_LISTENERS);
	CHECK(c->workers >= 1 && c->workers <= CONF_MAX_WORKERS);

	dump = fuzz_dump(c, &len);
	if (!fuzz_lines_fit(dump, len)) {
		free(dump);
		conf_free(c);
		return 0;
	}
	r = conf_load_buffer(FUZZ_NAME, dump, len, &d, &errors);
	if (r != 0) {
		fprintf(stderr, "the dump does not load:\n%s---\n%s", dump,
		    errors);
		abort();
	}
	again = fuzz_dump(d, &len2);
	if (len != len2 || memcmp(dump, again, len) != 0) {
		fprintf(stderr, "the dump changes:\n%s---\n%s", dump, again);
		abort();
	}
	free(again);
	free(dump);
	conf_free(d);
	conf_free(c);
	return 0;
}
