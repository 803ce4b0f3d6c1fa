/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Builds the DIRECTIVES section of shaddock.conf(5) from the directive
 * table in common/config.c, and proves the finished page lists every
 * directive with its default.
 *
 *   conf-page generate TEMPLATE   writes TEMPLATE (scdoc) to stdout with
 *                                 each line "@DIRECTIVES SECTION@" replaced
 *                                 by that section's entries
 *   conf-page check PAGE          reads PAGE (the roff scdoc made) and
 *                                 checks that its DIRECTIVES section has
 *                                 each directive of the table once, under
 *                                 its section, with its default and a
 *                                 "Value:" line, and nothing else
 *
 * Both exit 0 on success and 1 with a message on stderr otherwise: a
 * section of the table without its placeholder, an unknown or repeated
 * placeholder, or a directive without help text fails the build.
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/xmalloc.h"

#define CONF_PAGE_MARK		"@DIRECTIVES "
#define CONF_PAGE_MAX_SECTIONS	16
#define CONF_PAGE_MAX_ENTRIES	256

static const char	*conf_page_file;
static unsigned long	 conf_page_line;
static int		 conf_page_errors;

static void conf_page_error(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static void
conf_page_error(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "conf-page: %s", conf_page_file);
	if (conf_page_line != 0) {
		fprintf(stderr, ":%lu", conf_page_line);
	}
	fputs(": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	conf_page_errors++;
}

/* Removes the line end of <line>; returns its length. */
static size_t
conf_page_chomp(char *line)
{
	size_t	 len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
		line[--len] = '\0';
	}
	return len;
}

static int
conf_page_generate(const char *path)
{
	FILE		*f;
	char		*line = NULL, *name, *end;
	size_t		 cap = 0, i;
	bool		 done[CONF_PAGE_MAX_SECTIONS] = { false };
	const char	*s;
	int		 r;

	conf_page_file = path;
	if ((f = fopen(path, "re")) == NULL) {
		conf_page_error("cannot open: %s", strerror(errno));
		return 1;
	}
	while (getline(&line, &cap, f) != -1) {
		conf_page_line++;
		if (strncmp(line, CONF_PAGE_MARK, strlen(CONF_PAGE_MARK)) != 0) {
			fputs(line, stdout);
			continue;
		}
		conf_page_chomp(line);
		name = line + strlen(CONF_PAGE_MARK);
		end = strchr(name, '@');
		if (end == NULL || end[1] != '\0') {
			conf_page_error("a placeholder is a line of its own: "
			    "\"%sSECTION@\"", CONF_PAGE_MARK);
			continue;
		}
		*end = '\0';
		for (i = 0; (s = conf_section_name(i)) != NULL; i++) {
			if (strcmp(s, name) == 0) {
				break;
			}
		}
		if (s == NULL) {
			conf_page_error("no section \"%s\" in the table", name);
			continue;
		}
		if (done[i]) {
			conf_page_error("section \"%s\" placed twice", name);
			continue;
		}
		done[i] = true;
		if ((r = conf_dump_directives(stdout, name)) != 0) {
			conf_page_error("section \"%s\": %s", name, r == -EINVAL ?
			    "a directive has no help text" : strerror(-r));
		}
	}
	conf_page_line = 0;
	if (ferror(f)) {
		conf_page_error("read error");
	}
	fclose(f);
	free(line);
	for (i = 0; (s = conf_section_name(i)) != NULL; i++) {
		if (!done[i]) {
			conf_page_error("no \"%s%s@\" line: the directives of "
			    "[%s] would be missing", CONF_PAGE_MARK, s, s);
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		conf_page_error("write error");
	}
	return conf_page_errors > 0;
}

/* Undoes scdoc's roff escapes in <s>, in place. */
static void
conf_page_unroff(char *s)
{
	char	*w = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == '&') {
			s += 2;
		} else if (s[0] == '\\' && (s[1] == '-' || s[1] == '.')) {
			*w++ = s[1];
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'e') {
			*w++ = '\\';
			s += 2;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

struct conf_page_entry {
	char		*section;
	char		*name;
	char		*def;
	bool		 has_value;
	unsigned long	 line;
};

static int
conf_page_check(const char *path)
{
	struct conf_page_entry	 e[CONF_PAGE_MAX_ENTRIES];
	struct conf_page_entry	*cur = NULL;
	FILE			*f;
	char			*line = NULL, *prev = NULL, *section = NULL, *p;
	const char		*name, *sec, *def;
	size_t			 cap = 0, n = 0, i, j;
	bool			 in = false, seen = false, found;

	conf_page_file = path;
	if ((f = fopen(path, "re")) == NULL) {
		conf_page_error("cannot open: %s", strerror(errno));
		return 1;
	}
	/*
	 * scdoc writes an entry as "\fBNAME\fR = DEFAULT" followed by ".RS 4",
	 * its text, and ".RE".
	 */
	while (getline(&line, &cap, f) != -1) {
		conf_page_line++;
		conf_page_chomp(line);
		if (strstr(line, CONF_PAGE_MARK) != NULL) {
			conf_page_error("a placeholder is left: %s", line);
		}
		if (strncmp(line, ".SH ", 4) == 0) {
			in = strcmp(line + 4, "DIRECTIVES") == 0;
			seen = seen || in;
		} else if (in && strncmp(line, ".SS [", 5) == 0) {
			free(section);
			section = xstrndup(line + 5, strcspn(line + 5, " ]"));
		} else if (in && strcmp(line, ".RS 4") == 0 && prev != NULL &&
		    strncmp(prev, "\\fB", 3) == 0 &&
		    (p = strstr(prev, "\\fR =")) != NULL) {
			if (n == CONF_PAGE_MAX_ENTRIES) {
				conf_page_error("too many entries");
				break;
			}
			cur = &e[n++];
			*p = '\0';
			p += strlen("\\fR =");
			p += *p == ' ';
			conf_page_unroff(prev + 3);
			conf_page_unroff(p);
			cur->section = xstrdup(section != NULL ? section : "");
			cur->name = xstrdup(prev + 3);
			cur->def = xstrdup(p);
			cur->has_value = false;
			cur->line = conf_page_line - 1;
		} else if (in && cur != NULL && strcmp(line, ".RE") == 0) {
			cur = NULL;
		} else if (cur != NULL && strncmp(line, "Value: ", 7) == 0) {
			cur->has_value = true;
		}
		free(prev);
		prev = xstrdup(line);
	}
	conf_page_line = 0;
	fclose(f);
	free(line);
	free(prev);
	free(section);
	if (!seen) {
		conf_page_error("no DIRECTIVES section");
	}
	for (j = 0; j < n; j++) {
		for (i = 0; (name = conf_directive_name(i, &sec, &def)) != NULL;
		    i++) {
			if (strcmp(name, e[j].name) == 0 &&
			    strcmp(sec, e[j].section) == 0) {
				break;
			}
		}
		if (name == NULL) {
			conf_page_error("line %lu: [%s] %s is not in the table",
			    e[j].line, e[j].section, e[j].name);
			continue;
		}
		if (strcmp(e[j].def, def == NULL ? "(required)" : def) != 0) {
			conf_page_error("line %lu: [%s] %s = \"%s\", the table "
			    "says \"%s\"", e[j].line, sec, name, e[j].def,
			    def == NULL ? "(required)" : def);
		}
		if (!e[j].has_value) {
			conf_page_error("line %lu: [%s] %s has no Value: line",
			    e[j].line, sec, name);
		}
		for (i = 0; i < j; i++) {
			if (strcmp(e[i].name, e[j].name) == 0 &&
			    strcmp(e[i].section, e[j].section) == 0) {
				conf_page_error("line %lu: [%s] %s is also on "
				    "line %lu", e[j].line, sec, name,
				    e[i].line);
			}
		}
	}
	for (i = 0; (name = conf_directive_name(i, &sec, &def)) != NULL; i++) {
		found = false;
		for (j = 0; j < n && !found; j++) {
			found = strcmp(name, e[j].name) == 0 &&
			    strcmp(sec, e[j].section) == 0;
		}
		if (!found) {
			conf_page_error("[%s] %s is missing", sec, name);
		}
	}
	for (j = 0; j < n; j++) {
		free(e[j].section);
		free(e[j].name);
		free(e[j].def);
	}
	if (conf_page_errors == 0) {
		printf("%s: %zu directives, each with its default\n", path, n);
	}
	return conf_page_errors > 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "generate") == 0) {
		return conf_page_generate(argv[2]);
	}
	if (argc == 3 && strcmp(argv[1], "check") == 0) {
		return conf_page_check(argv[2]);
	}
	fprintf(stderr, "usage: conf-page generate TEMPLATE | check PAGE\n");
	return 2;
}
