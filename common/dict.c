/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The route dictionary (PROTOCOL.md §5). Codes are given in the order
 * pomelo gives them: the server's handler routes sorted as JavaScript's
 * Array.prototype.sort sorts strings (by UTF-16 code unit), then the
 * routes of the dictionary file in file order; a repeated route keeps its
 * first code. The JSON texts and the version are built here once, and the
 * version has to equal pomelo's base64(MD5(JSON.stringify(dict))) byte for
 * byte, so the JSON is written by hand with JavaScript's rules for string
 * escapes and key order rather than by jansson, which only parses the file.
 */

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/dict.h"
#include "common/jsval.h"
#include "common/xmalloc.h"

#define DICT_MAX_ROUTES		65535
#define DICT_ROUTE_MAX		255
/* A full dictionary of the longest routes is about 17 MB of JSON. */
#define DICT_FILE_MAX		(64u << 20)

/* A candidate route and where it came in, for the duplicate sweep. */
struct dict_cand {
	const char	*s;
	size_t		 len;
	size_t		 pos;
};

/* A route that is a JavaScript array index, for the key order. */
struct dict_index {
	uint32_t	 value;
	uint16_t	 code;
};

static void	dict_error(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	js_unit_key(unsigned char);
static int	route_cmp_js(const void *, const void *);
static int	route_cmp_bytes(const char *, size_t, const char *, size_t);
static int	cand_cmp(const void *, const void *);
static int	index_cmp(const void *, const void *);
static int	dict_load_file(const char *, char ***, size_t *, char *,
		    size_t);
static int	dict_check_route(const char *, size_t);
static void	dict_build_json(struct dict *);
static int	dict_build_version(struct dict *);

static void
dict_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * UTF-8 byte order is code point order, but JavaScript compares UTF-16
 * code units, where U+E000-U+FFFF (lead bytes 0xee, 0xef) sort above the
 * surrogate pairs of U+10000 and up (lead bytes 0xf0-0xf4). Two valid
 * UTF-8 strings first differ either inside one code point, where both
 * share a lead byte and byte order is right, or at two lead bytes, where
 * moving 0xee and 0xef above 0xf4 gives the UTF-16 order.
 */
static int
js_unit_key(unsigned char c)
{
	return c == 0xee || c == 0xef ? c + 0x10 : c;
}

static int
route_cmp_js(const void *a, const void *b)
{
	const unsigned char	*x = *(const unsigned char *const *)a;
	const unsigned char	*y = *(const unsigned char *const *)b;

	while (*x != '\0' && *x == *y) {
		x++;
		y++;
	}
	return js_unit_key(*x) - js_unit_key(*y);
}

static int
route_cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c;

	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0) {
		return c;
	}
	return alen < blen ? -1 : alen > blen;
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct dict_cand	*x = a, *y = b;
	int			 c;

	c = route_cmp_bytes(x->s, x->len, y->s, y->len);
	if (c != 0) {
		return c;
	}
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
index_cmp(const void *a, const void *b)
{
	const struct dict_index	*x = a, *y = b;

	return x->value < y->value ? -1 : x->value > y->value;
}

/* Returns 0 when <s> may be a route, else what is wrong with it. */
static int
dict_check_route(const char *s, size_t len)
{
	if (len == 0) {
		return -ENODATA;
	}
	if (len > DICT_ROUTE_MAX) {
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * Loads the routes of the dictionary file <path> into a new array of new
 * strings, all the caller's to free.
 */
static int
dict_load_file(const char *path, char ***ret, size_t *ret_n, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *v;
	char		*text = NULL, **out;
	const char	*s;
	size_t		 len = 0, i, n;
	int		 rc;

	rc = file_read(path, DICT_FILE_MAX, &text, &len);
	if (rc == -EFBIG) {
		dict_error(err, errlen, "%s: larger than %u bytes", path,
		    DICT_FILE_MAX);
		return rc;
	}
	if (rc != 0) {
		dict_error(err, errlen, "%s: cannot read: %s", path,
		    strerror(-rc));
		return rc;
	}
	root = json_loadb(text, len, 0, &jerr);
	free(text);
	if (root == NULL) {
		dict_error(err, errlen, "%s:%d:%d: %s", path, jerr.line,
		    jerr.column, jerr.text);
		return -EINVAL;
	}
	if (json_is_object(root) && json_object_size(root) == 0) {
		json_decref(root);
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (!json_is_array(root)) {
		dict_error(err, errlen, "%s: not a JSON array of routes", path);
		json_decref(root);
		return -EINVAL;
	}

	n = json_array_size(root);
	for (i = 0; i < n; i++) {
		v = json_array_get(root, i);
		if (!json_is_string(v)) {
			dict_error(err, errlen,
			    "%s: element %zu is not a string", path, i + 1);
			goto fail;
		}
		s = json_string_value(v);
		len = json_string_length(v);
		if (strlen(s) != len) {
			dict_error(err, errlen, "%s: element %zu holds a NUL",
			    path, i + 1);
			goto fail;
		}
		rc = dict_check_route(s, len);
		if (rc == -ENODATA) {
			dict_error(err, errlen, "%s: element %zu is empty",
			    path, i + 1);
			goto fail;
		} else if (rc != 0) {
			dict_error(err, errlen,
			    "%s: element %zu is longer than %d bytes", path,
			    i + 1, DICT_ROUTE_MAX);
			goto fail;
		}
	}

	out = xcalloc(n, sizeof(*out));
	for (i = 0; i < n; i++) {
		out[i] = xstrdup(json_string_value(json_array_get(root, i)));
	}
	json_decref(root);
	*ret = out;
	*ret_n = n;
	return 0;

fail:
	json_decref(root);
	return -EINVAL;
}

static void
dict_build_json(struct dict *d)
{
	struct jsval_buf	 b;
	struct dict_index	*idx;
	size_t			 n_idx = 0, i;
	uint32_t		 v;
	bool			*is_idx;
	char			 num[32];
	bool			 first = true;

	/* JavaScript puts array-index keys first, in numeric order. */
	idx = xcalloc(d->n, sizeof(*idx));
	is_idx = xcalloc(d->n, sizeof(*is_idx));
	for (i = 0; i < d->n; i++) {
		if (jsval_array_index(d->routes[i], strlen(d->routes[i]), &v)) {
			idx[n_idx].value = v;
			idx[n_idx].code = (uint16_t)(i + 1);
			n_idx++;
			is_idx[i] = true;
		}
	}
	qsort(idx, n_idx, sizeof(*idx), index_cmp);

	memset(&b, 0, sizeof(b));
	jsval_buf_add(&b, "{", 1);
	for (i = 0; i < n_idx; i++) {
		if (!first) {
			jsval_buf_add(&b, ",", 1);
		}
		first = false;
		jsval_buf_add_quoted(&b, d->routes[idx[i].code - 1], strlen(d->routes[idx[i].code - 1]));
		snprintf(num, sizeof(num), ":%u", (unsigned)idx[i].code);
		jsval_buf_add(&b, num, strlen(num));
	}
	for (i = 0; i < d->n; i++) {
		if (is_idx[i]) {
			continue;
		}
		if (!first) {
			jsval_buf_add(&b, ",", 1);
		}
		first = false;
		jsval_buf_add_quoted(&b, d->routes[i], strlen(d->routes[i]));
		snprintf(num, sizeof(num), ":%zu", i + 1);
		jsval_buf_add(&b, num, strlen(num));
	}
	jsval_buf_add(&b, "}", 1);
	d->json_dict = jsval_buf_steal(&b, NULL);
	free(idx);
	free(is_idx);

	jsval_buf_add(&b, "{", 1);
	for (i = 0; i < d->n; i++) {
		snprintf(num, sizeof(num), "%s\"%zu\":", i > 0 ? "," : "",
		    i + 1);
		jsval_buf_add(&b, num, strlen(num));
		jsval_buf_add_quoted(&b, d->routes[i], strlen(d->routes[i]));
	}
	jsval_buf_add(&b, "}", 1);
	d->json_code_to_route = jsval_buf_steal(&b, NULL);
}

static int
dict_build_version(struct dict *d)
{
	char	 b64[MD5_BASE64_SIZE];

	if (md5_base64(d->json_dict, strlen(d->json_dict), "", 0, b64) != 0) {
		return -ENOTSUP;
	}
	d->version = xstrdup(b64);
	return 0;
}

int
dict_init(struct dict *d, const char *const *builtin, size_t n_builtin,
    const char *file, char *err, size_t errlen)
{
	struct dict_cand	*cand = NULL;
	char			**all = NULL, **from_file = NULL;
	size_t			 n_file = 0, m, i, k, n;
	uint16_t		*code = NULL;
	bool			*dup = NULL;
	int			 rc;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < n_builtin; i++) {
		rc = dict_check_route(builtin[i], strlen(builtin[i]));
		if (rc != 0) {
			dict_error(err, errlen, "built-in route %zu (\"%.40s\")"
			    " is empty or longer than %d bytes", i + 1,
			    builtin[i], DICT_ROUTE_MAX);
			return -EINVAL;
		}
	}
	if (file != NULL && file[0] != '\0') {
		rc = dict_load_file(file, &from_file, &n_file, err, errlen);
		if (rc != 0) {
			return rc;
		}
	}

	/* All candidates in code order: sorted built-ins, then the file. */
	m = n_builtin + n_file;
	all = xcalloc(m, sizeof(*all));
	for (i = 0; i < n_builtin; i++) {
		all[i] = xstrdup(builtin[i]);
	}
	qsort(all, n_builtin, sizeof(*all), route_cmp_js);
	for (i = 0; i < n_file; i++) {
		all[n_builtin + i] = from_file[i];
	}
	free(from_file);

	/*
	 * Sorting by bytes and then by position puts each route's copies
	 * together, first occurrence first; the later ones are repeats.
	 */
	cand = xcalloc(m, sizeof(*cand));
	dup = xcalloc(m, sizeof(*dup));
	for (i = 0; i < m; i++) {
		cand[i].s = all[i];
		cand[i].len = strlen(all[i]);
		cand[i].pos = i;
	}
	qsort(cand, m, sizeof(*cand), cand_cmp);
	for (i = 1; i < m; i++) {
		if (route_cmp_bytes(cand[i].s, cand[i].len, cand[i - 1].s,
		    cand[i - 1].len) == 0) {
			dup[cand[i].pos] = true;
		}
	}
	n = 0;
	for (i = 0; i < m; i++) {
		if (!dup[i]) {
			n++;
		}
	}
	if (n > DICT_MAX_ROUTES) {
		dict_error(err, errlen, "%s%s%zu routes in all, more than %d",
		    file != NULL && file[0] != '\0' ? file : "",
		    file != NULL && file[0] != '\0' ? ": " : "", n,
		    DICT_MAX_ROUTES);
		rc = -E2BIG;
		goto fail;
	}

	d->n = n;
	d->routes = xcalloc(n, sizeof(*d->routes));
	code = xcalloc(m, sizeof(*code));
	for (i = 0, k = 0; i < m; i++) {
		if (dup[i]) {
			FREE_AND_NULL(all[i]);
			continue;
		}
		d->routes[k] = all[i];
		code[i] = (uint16_t)++k;
	}
	d->by_route = xcalloc(n, sizeof(*d->by_route));
	for (i = 0, k = 0; i < m; i++) {
		if (dup[cand[i].pos]) {
			continue;
		}
		d->by_route[k].route = d->routes[code[cand[i].pos] - 1];
		d->by_route[k].len = cand[i].len;
		d->by_route[k].code = code[cand[i].pos];
		k++;
	}
	free(all);
	free(cand);
	free(dup);
	free(code);

	dict_build_json(d);
	rc = dict_build_version(d);
	if (rc != 0) {
		dict_error(err, errlen, "MD5 is not available from OpenSSL");
		dict_finish(d);
		return rc;
	}
	return 0;

fail:
	for (i = 0; i < m; i++) {
		free(all[i]);
	}
	free(all);
	free(cand);
	free(dup);
	return rc;
}

void
dict_finish(struct dict *d)
{
	size_t	 i;

	if (d == NULL) {
		return;
	}
	for (i = 0; i < d->n; i++) {
		free(d->routes[i]);
	}
	free(d->routes);
	free(d->by_route);
	free(d->version);
	free(d->json_dict);
	free(d->json_code_to_route);
	memset(d, 0, sizeof(*d));
}

uint16_t
dict_code(const struct dict *d, const char *route, size_t len)
{
	size_t	 lo = 0, hi = d->n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = route_cmp_bytes(route, len, d->by_route[mid].route,
		    d->by_route[mid].len);
		if (c == 0) {
			return d->by_route[mid].code;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return 0;
}

const char *
dict_route(const struct dict *d, uint16_t code)
{
	if (code == 0 || code > d->n) {
		return NULL;
	}
	return d->routes[code - 1];
}
