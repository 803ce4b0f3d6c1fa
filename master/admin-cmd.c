/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The admin commands as data, apart from the socket: the registry each
 * module adds its commands to (HAProxy cli_register_kw, tmux cmd_entry),
 * finding a command line's command, splitting the byte stream into
 * lines, and rendering a command's one JSON value as the text answer or
 * the JSON one, so no command formats its answer twice. Nothing here
 * touches a socket or the master's state; fuzz-admin drives it directly.
 *
 * The text form of a value:
 *  - a string is a sentence, printed as is (in JSON: {"result": ...});
 *  - an object with one member whose value is an array is a table: a
 *    header of the first row's keys, then one aligned row per element;
 *  - any other object is one "key: value" line per member;
 *  - a scalar in a cell or a line: null "-", booleans "yes"/"no", the
 *    empty string "",
 *    reals with one decimal, an array of scalars joined with commas,
 *    anything else as compact JSON. Control characters in strings are
 *    written \xNN: a uid a client chose must not end an answer early
 *    with an empty line.
 * The JSON form is the value on one line. Every answer ends with an
 * empty line; an error is "error: ..." or {"error": ...}.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "common/xmalloc.h"
#include "master/master.h"

#define ADMIN_MAX_COMMANDS	64
#define ADMIN_SEPARATORS	" \t\r"

static const struct admin_cmd	*admin_cmds[ADMIN_MAX_COMMANDS];
static size_t			 admin_n_cmds;

static void	admin_help(struct admin_call *);

static const struct admin_cmd admin_cmd_table[] = {
	{ "help", NULL, 0, "list the commands (add json to any command for "
	  "a JSON answer)", admin_help },
};
ADMIN_COMMANDS(admin_cmd_table)

/*
 * Adds the <n> commands of <cmds> (static, never freed) to the registry,
 * which stays sorted by words. A name registered twice is a programmer's
 * error.
 */
void
admin_register(const struct admin_cmd *cmds, size_t n)
{
	size_t	 i, j;
	int	 cmp;

	for (i = 0; i < n; i++) {
		if (admin_n_cmds == ADMIN_MAX_COMMANDS) {
			abort();
		}
		for (j = admin_n_cmds; j > 0; j--) {
			cmp = strcmp(admin_cmds[j - 1]->words, cmds[i].words);
			if (cmp == 0) {
				abort();
			}
			if (cmp < 0) {
				break;
			}
			admin_cmds[j] = admin_cmds[j - 1];
		}
		admin_cmds[j] = &cmds[i];
		admin_n_cmds++;
	}
}

/*
 * A JSON string of the <len> bytes of <s>; bytes that are not UTF-8
 * become '?', so a value from a client always shows. A new reference.
 */
json_t *
admin_json_string(const char *s, size_t len)
{
	json_t	*j;
	char	*copy;
	size_t	 i;

	if ((j = json_stringn(s, len)) != NULL) {
		return j;
	}
	copy = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		copy[i] = (unsigned char)s[i] < 0x80 && s[i] != '\0' ? s[i] :
		    '?';
	}
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

/* How many words <words> has ("show workers": 2). */
static int
admin_count_words(const char *words)
{
	int	 n = 0;

	for (;;) {
		words += strspn(words, " ");
		if (*words == '\0') {
			return n;
		}
		n++;
		words += strcspn(words, " ");
	}
}

/* True when the first words of <argv> are the words of <cmd>. */
static bool
admin_matches(const struct admin_cmd *cmd, char *const *argv, int argc)
{
	const char	*w = cmd->words;
	size_t		 len;
	int		 i;

	for (i = 0; ; i++) {
		w += strspn(w, " ");
		if (*w == '\0') {
			return true;
		}
		len = strcspn(w, " ");
		if (i >= argc || strlen(argv[i]) != len ||
		    strncmp(argv[i], w, len) != 0) {
			return false;
		}
		w += len;
	}
}

/*
 * The command that <argv> (<argc> words, "json" already taken off)
 * names: the one whose words are the longest prefix of <argv>. Returns
 * it with the number of its words in <ret_words>, or NULL.
 */
const struct admin_cmd *
admin_find(char *const *argv, int argc, int *ret_words)
{
	const struct admin_cmd	*best = NULL;
	int			 n, best_n = 0;
	size_t			 i;

	for (i = 0; i < admin_n_cmds; i++) {
		n = admin_count_words(admin_cmds[i]->words);
		if (n > best_n && admin_matches(admin_cmds[i], argv, argc)) {
			best = admin_cmds[i];
			best_n = n;
		}
	}
	if (best != NULL) {
		*ret_words = best_n;
	}
	return best;
}

/* The usage line of <cmd>: its words, then its arguments. */
static char *
admin_usage(const struct admin_cmd *cmd)
{
	char	*s;

	xasprintf(&s, "%s%s%s", cmd->words, cmd->args != NULL ? " " : "",
	    cmd->args != NULL ? cmd->args : "");
	return s;
}

/* "usage: ..." for a command given too few arguments (the caller frees). */
char *
admin_usage_error(const struct admin_cmd *cmd)
{
	char	*u, *s;

	u = admin_usage(cmd);
	xasprintf(&s, "usage: %s", u);
	free(u);
	return s;
}

/*
 * For a line whose first word <word> starts commands but matched none
 * ("kick" alone): "usage: " and their usages. NULL when no command
 * starts with <word>. The caller frees.
 */
char *
admin_usage_of(const char *word)
{
	struct evbuffer	*b;
	const char	*w;
	char		*u, *s;
	size_t		 i, len;

	b = evbuffer_new();
	for (i = 0; i < admin_n_cmds; i++) {
		w = admin_cmds[i]->words;
		len = strcspn(w, " ");
		if (strlen(word) != len || strncmp(word, w, len) != 0) {
			continue;
		}
		u = admin_usage(admin_cmds[i]);
		evbuffer_add_printf(b, "%s%s", evbuffer_get_length(b) == 0 ?
		    "usage: " : " | ", u);
		free(u);
	}
	len = evbuffer_get_length(b);
	s = NULL;
	if (len > 0) {
		s = xmalloc(len + 1);
		evbuffer_remove(b, s, len);
		s[len] = '\0';
	}
	evbuffer_free(b);
	return s;
}

/* help: the registry, as a table of usage and description. */
static void
admin_help(struct admin_call *call)
{
	json_t	*list = json_array();
	char	*u;
	size_t	 i;

	for (i = 0; i < admin_n_cmds; i++) {
		u = admin_usage(admin_cmds[i]);
		json_array_append_new(list, json_pack("{s:s, s:s}", "usage", u,
		    "description", admin_cmds[i]->help));
		free(u);
	}
	admin_answer(call, json_pack("{s:o}", "commands", list));
}

/*
 * Splits <line> (changed: NULs end its words) into words separated by
 * spaces, tabs and CRs. The first ADMIN_MAX_WORDS are kept; a command
 * that takes more reads the rest raw (admin_rest_of). When the line's
 * last word is "json" after at least one other, <ret->json> is set and
 * that word is not counted.
 */
void
admin_parse(char *line, struct admin_words *ret)
{
	char	*p, *save, *last = NULL;
	int	 total = 0;

	memset(ret, 0, sizeof *ret);
	for (p = strtok_r(line, ADMIN_SEPARATORS, &save); p != NULL;
	    p = strtok_r(NULL, ADMIN_SEPARATORS, &save)) {
		if (ret->argc < ADMIN_MAX_WORDS) {
			ret->argv[ret->argc++] = p;
		}
		last = p;
		total++;
	}
	if (total > 1 && strcmp(last, "json") == 0) {
		ret->json = true;
		if (total <= ADMIN_MAX_WORDS) {
			ret->argc--;
		}
	}
}

/*
 * The command line <raw> after its first <words> words, as typed (inner
 * spaces kept), without the final "json" when <json>. The caller frees.
 */
char *
admin_rest_of(const char *raw, int words, bool json)
{
	const char	*p = raw;
	char		*buf;
	size_t		 len;
	int		 i;

	for (i = 0; i < words; i++) {
		p += strspn(p, ADMIN_SEPARATORS);
		p += strcspn(p, ADMIN_SEPARATORS);
	}
	p += strspn(p, ADMIN_SEPARATORS);
	buf = xstrdup(p);
	len = strlen(buf);
	while (len > 0 && strchr(ADMIN_SEPARATORS, buf[len - 1]) != NULL) {
		buf[--len] = '\0';
	}
	if (json && len >= 4 && strcmp(buf + len - 4, "json") == 0 &&
	    (len == 4 || strchr(ADMIN_SEPARATORS, buf[len - 5]) != NULL)) {
		buf[len -= 4] = '\0';
		while (len > 0 &&
		    strchr(ADMIN_SEPARATORS, buf[len - 1]) != NULL) {
			buf[--len] = '\0';
		}
	}
	return buf;
}

/*
 * Finds the next line in the <len> bytes of <buf>, the unread input of
 * one client. <*scanned> (0 at first) remembers how far an earlier call
 * looked without finding a newline, so bytes trickling in are searched
 * once. Returns 1 with the line's length (no newline) in <ret_len> and
 * the bytes to consume in <ret_skip>; 0 when the line is not complete
 * yet; -EMSGSIZE when it is longer than <max>. At <eof> a last line
 * without its newline is a line.
 */
int
admin_line_find(const char *buf, size_t len, bool eof, size_t max,
    size_t *scanned, size_t *ret_len, size_t *ret_skip)
{
	const char	*nl = NULL;
	size_t		 from = *scanned < len ? *scanned : len;

	if (from < len) {
		nl = memchr(buf + from, '\n', len - from);
	}
	if (nl == NULL) {
		*scanned = len;
		if (len > max) {
			return -EMSGSIZE;
		}
		if (!eof || len == 0) {
			return 0;
		}
		*scanned = 0;
		*ret_len = len;
		*ret_skip = len;
		return 1;
	}
	*scanned = 0;
	if ((size_t)(nl - buf) > max) {
		return -EMSGSIZE;
	}
	*ret_len = (size_t)(nl - buf);
	*ret_skip = *ret_len + 1;
	return 1;
}

/* Adds <len> bytes of <s>, control characters escaped. */
static void
admin_render_string(struct evbuffer *b, const char *s, size_t len)
{
	size_t	 i, from = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f) {
			continue;
		}
		evbuffer_add(b, s + from, i - from);
		evbuffer_add_printf(b, "\\x%02x", (unsigned char)s[i]);
		from = i + 1;
	}
	evbuffer_add(b, s + from, len - from);
}

/* Adds the text form of the scalar (or small array) <v>. */
static void
admin_render_cell(struct evbuffer *b, const json_t *v)
{
	const json_t	*e;
	size_t		 i;
	char		*s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		/* "" rather than nothing: a row is never an empty line. */
		if (json_string_length(v) == 0) {
			evbuffer_add_printf(b, "\"\"");
			return;
		}
		admin_render_string(b, json_string_value(v),
		    json_string_length(v));
		return;
	case JSON_INTEGER:
		evbuffer_add_printf(b, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return;
	case JSON_REAL:
		evbuffer_add_printf(b, "%.1f", json_real_value(v));
		return;
	case JSON_TRUE:
		evbuffer_add_printf(b, "yes");
		return;
	case JSON_FALSE:
		evbuffer_add_printf(b, "no");
		return;
	case JSON_NULL:
		evbuffer_add_printf(b, "-");
		return;
	case JSON_ARRAY:
		json_array_foreach(v, i, e) {
			if (json_is_object(e) || json_is_array(e)) {
				break;
			}
		}
		if (i == json_array_size(v)) {
			json_array_foreach(v, i, e) {
				if (i > 0) {
					evbuffer_add(b, ",", 1);
				}
				admin_render_cell(b, e);
			}
			if (i == 0) {
				evbuffer_add_printf(b, "-");
			}
			return;
		}
		break;
	case JSON_OBJECT:
		break;
	}
	/* Compact JSON escapes control characters itself. */
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	evbuffer_add_printf(b, "%s", s != NULL ? s : "?");
	free(s);
}

/* The text form of <v> in a new string (the caller's). */
static char *
admin_cell(const json_t *v)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;
	size_t		 len;

	admin_render_cell(b, v);
	len = evbuffer_get_length(b);
	s = xmalloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

/*
 * A table: the keys of the first row make the header; each column is as
 * wide as its widest cell; the last is not padded.
 */
static void
admin_render_table(struct evbuffer *b, const json_t *rows)
{
	const json_t	*first = json_array_get(rows, 0), *row;
	const char	*key;
	json_t		*v;
	size_t		 ncol, i, c, *width;
	char		**cells;

	if (!json_is_object(first) || json_object_size(first) == 0) {
		json_array_foreach(rows, i, row) {
			admin_render_cell(b, row);
			evbuffer_add(b, "\n", 1);
		}
		if (json_array_size(rows) == 0) {
			evbuffer_add_printf(b, "(none)\n");
		}
		return;
	}
	ncol = json_object_size(first);
	width = xcalloc(ncol, sizeof *width);
	cells = xcalloc((json_array_size(rows) + 1) * ncol, sizeof *cells);
	c = 0;
	json_object_foreach((json_t *)first, key, v) {
		cells[c] = xstrdup(key);
		width[c] = strlen(key);
		c++;
	}
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncol; c++) {
			v = json_is_object(row) ? json_object_get(row,
			    cells[c]) : NULL;
			cells[(i + 1) * ncol + c] = v != NULL ? admin_cell(v) :
			    xstrdup("-");
			if (strlen(cells[(i + 1) * ncol + c]) > width[c]) {
				width[c] = strlen(cells[(i + 1) * ncol + c]);
			}
		}
	}
	for (i = 0; i <= json_array_size(rows); i++) {
		for (c = 0; c < ncol; c++) {
			evbuffer_add_printf(b, "%-*s%s", c + 1 < ncol ?
			    (int)width[c] : 0, cells[i * ncol + c],
			    c + 1 < ncol ? " " : "\n");
		}
	}
	for (i = 0; i < (json_array_size(rows) + 1) * ncol; i++) {
		free(cells[i]);
	}
	free(cells);
	free(width);
}

/* True when <v> is a non-empty list of records (objects): a table. */
static bool
admin_is_records(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) > 0 &&
	    json_is_object(json_array_get(v, 0));
}

/*
 * The whole answer (empty line included) for a command that produced
 * <value>, or failed with <error> (then <value> is ignored), in the text
 * or the <json> form. Returns a new string, the caller's, of <ret_len>
 * bytes.
 */
char *
admin_render(const json_t *value, const char *error, bool json,
    size_t *ret_len)
{
	struct evbuffer	*b = evbuffer_new();
	const char	*key;
	json_t		*j, *v;
	char		*s;
	size_t		 len;

	if (json) {
		if (error != NULL) {
			j = json_pack("{s:o}", "error", admin_json_string(error,
			    strlen(error)));
		} else if (json_is_string(value)) {
			j = json_pack("{s:O}", "result", value);
		} else {
			j = json_incref((json_t *)value);
		}
		s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_REAL_PRECISION(6));
		json_decref(j);
		evbuffer_add_printf(b, "%s\n", s != NULL ? s : "null");
		free(s);
	} else if (error != NULL) {
		evbuffer_add_printf(b, "error: ");
		admin_render_string(b, error, strlen(error));
		evbuffer_add(b, "\n", 1);
	} else if (json_is_object(value) && json_object_size(value) == 1 &&
	    json_is_array(json_object_iter_value(json_object_iter(
	    (json_t *)value)))) {
		admin_render_table(b, json_object_iter_value(
		    json_object_iter((json_t *)value)));
	} else if (json_is_object(value) && json_object_size(value) == 0) {
		evbuffer_add_printf(b, "(none)\n");
	} else if (json_is_object(value)) {
		/*
		 * "name: value" lines; a list of records as a table after,
		 * under "name:" (no empty line: that ends the answer).
		 */
		json_object_foreach((json_t *)value, key, v) {
			if (admin_is_records(v)) {
				continue;
			}
			admin_render_string(b, key, strlen(key));
			evbuffer_add(b, ": ", 2);
			admin_render_cell(b, v);
			evbuffer_add(b, "\n", 1);
		}
		json_object_foreach((json_t *)value, key, v) {
			if (!admin_is_records(v)) {
				continue;
			}
			admin_render_string(b, key, strlen(key));
			evbuffer_add(b, ":\n", 2);
			admin_render_table(b, v);
		}
	} else {
		admin_render_cell(b, value);
		evbuffer_add(b, "\n", 1);
	}
	evbuffer_add(b, "\n", 1);
	len = evbuffer_get_length(b);
	s = xmalloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	*ret_len = len;
	return s;
}
