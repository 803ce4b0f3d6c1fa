/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * pomelo-protobuf (PROTOCOL.md §6), compiled. A schema file becomes a tree
 * of struct pb_msg: each message has its fields in the order the parsed
 * form lists them, an index by name (sorted, for bsearch) and one by tag
 * (a direct table when the tags are small, else sorted), and its nested
 * messages; every field's type is resolved to a scalar or a message
 * pointer once, here, the way the JavaScript codecs resolve it on every
 * call (the enclosing message's nested types first, then the file's global
 * "message X" entries). The parsed form's JSON text is printed from that
 * tree with JavaScript's key order and string escapes, since its MD5 is
 * the version clients cache.
 *
 * The encoder walks the members of the value object (the order the
 * JavaScript encoders use) and writes into the caller's buffer; a nested
 * message gets one byte reserved for its length, and the rare length of
 * 128 bytes or more moves the nested bytes up. Past the end of the buffer
 * it keeps counting, so -ENOBUFS can say how much is needed. Numbers are
 * converted as JavaScript converts them (parseInt for the integer types,
 * doubles throughout), so the bytes equal those of npm pomelo-protobuf.
 * The decoder reads by the schema's types, never by the wire type bits,
 * and computes varints as JavaScript numbers, as the npm decoders do.
 */

#include "config.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jsval.h"
#include "common/protobuf.h"
#include "common/xmalloc.h"

#define PB_FILE_MAX		(64u << 20)
/* Tags are shifted left by 3 into a JavaScript int32 that must stay >= 0. */
#define PB_TAG_MAX		((1u << 28) - 1)
/* A direct tag table is used up to this many slots per field (or 64). */
#define PB_TAG_DIRECT_RATIO	4
#define PB_TAG_DIRECT_MIN	64
/* Error messages show the last this many bytes of a field path. */
#define PB_PATH_MAX		120
/* Integer map keys sorted on the stack up to this many. */
#define PB_IKEYS_STACK		32
/* 2^64 and 2^53 as doubles. */
#define PB_TWO64		18446744073709551616.0
#define PB_TWO53		9007199254740992.0

enum pb_type {
	PB_T_UINT32,
	PB_T_INT32,
	PB_T_SINT32,
	PB_T_FLOAT,
	PB_T_DOUBLE,
	PB_T_STRING,
	PB_T_BOOL,
	PB_T_UINT64,
	PB_T_SINT64,
	PB_T_MESSAGE,
};

enum pb_rule {
	PB_R_REQUIRED,
	PB_R_OPTIONAL,
	PB_R_REPEATED,
	PB_R_MAP,
	PB_R_OBJ,
};

struct pb_field {
	char			*name;
	size_t			 name_len;
	char			*type_name;	/* as written */
	uint32_t		 tag;
	uint32_t		 index;		/* the name as an array index */
	bool			 is_index;
	uint8_t			 rule;		/* enum pb_rule */
	uint8_t			 type;		/* enum pb_type; map: value's */
	uint8_t			 key_type;	/* map/obj: the entry key's */
	uint8_t			 key_len;
	uint8_t			 key[5];	/* (tag << 3 | wire type) */
	const struct pb_msg	*msg;		/* type (map: value) message */
	size_t			 pos;		/* in the source object */
	uint8_t			 bad;		/* enum pb_bad: unresolved */
};

/* Why a field's type did not resolve; an error only where it is used. */
enum pb_bad {
	PB_BAD_NONE,
	PB_BAD_TYPE,		/* no such scalar or message */
	PB_BAD_PINUS,		/* bool/uInt64/sInt64 in the pomelo flavour */
	PB_BAD_KV,		/* map/obj type without key and value */
	PB_BAD_KEY,		/* map/obj key type not string or integer */
	PB_BAD_VALUE,		/* map/obj value type unknown */
};

struct pb_msg {
	char			*name;
	size_t			 name_len;
	const struct pb_msg	*parent;	/* NULL for top-level entries */
	uint32_t		 index;
	bool			 is_index;
	size_t			 pos;
	struct pb_field		*fields;	/* parsed-form order */
	size_t			 n_fields;
	size_t			 n_index_fields;	/* fields[0..n) */
	size_t			 n_required;
	struct pb_field		**by_name;	/* by length, then bytes */
	struct pb_field		**by_tag;	/* [tag], or sorted by tag */
	size_t			 n_by_tag;
	bool			 tag_direct;
	struct pb_msg		**nested;	/* parsed-form order */
	size_t			 n_nested;
	int			 depth;		/* 0 at the top */
	unsigned		 visit;		/* pb_check() pass mark */
	bool			 broken;	/* uses an unresolved type */
};

struct pb_protos {
	enum pb_flavour		 flavour;
	struct pb_msg		**top;		/* parsed-form order */
	size_t			 n_top;
	struct pb_msg		**by_route;	/* by length, then bytes */
	struct pb_msg		**globals;	/* "message X" by X */
	size_t			 n_globals;
	size_t			 n_msgs;	/* all, nested too */
	char			*json;
	size_t			 json_len;
};

struct pb_type_info {
	const char	*name;
	uint8_t		 type;
	uint8_t		 wire;
	bool		 pinus;		/* only in the pinus flavour */
};

/* The scalar types; any other name is a message. */
static const struct pb_type_info pb_types[] = {
	{ "uInt32", PB_T_UINT32, 0, false },
	{ "int32", PB_T_INT32, 0, false },
	{ "sInt32", PB_T_SINT32, 0, false },
	{ "float", PB_T_FLOAT, 5, false },
	{ "double", PB_T_DOUBLE, 1, false },
	{ "string", PB_T_STRING, 2, false },
	{ "bool", PB_T_BOOL, 0, true },
	{ "uInt64", PB_T_UINT64, 0, true },
	{ "sInt64", PB_T_SINT64, 0, true },
};

static const char *const pb_rule_names[] = {
	[PB_R_REQUIRED] = "required",
	[PB_R_OPTIONAL] = "optional",
	[PB_R_REPEATED] = "repeated",
	[PB_R_MAP] = "map",
	[PB_R_OBJ] = "obj",
};

/*
 * Names the JavaScript codecs would find on Object.prototype (or that
 * assigning to would change the prototype), and the parsed form's own
 * members: fields and messages may not use them.
 */
static const char *const pb_reserved[] = {
	"__defineGetter__", "__defineSetter__", "__lookupGetter__",
	"__lookupSetter__", "__messages", "__proto__", "__tags",
	"constructor", "hasOwnProperty", "isPrototypeOf",
	"propertyIsEnumerable", "toLocaleString", "toString", "valueOf",
};

/* One level of the path to the value an error is about. */
struct pb_frame {
	const struct pb_field	*f;
	size_t			 idx;		/* element, or SIZE_MAX */
	const char		*key;		/* map entry key, or NULL */
};

struct pb_enc {
	uint8_t			*p;
	size_t			 cap;
	size_t			 pos;		/* may pass cap: counting */
	char			*err;
	size_t			 errlen;
	int			 depth;
	struct pb_frame		 path[PB_DEPTH_MAX + 1];
};

struct pb_dec {
	const uint8_t		*start;
	const uint8_t		*p;
	char			*err;
	size_t			 errlen;
	int			 depth;
	struct pb_frame		 path[PB_DEPTH_MAX + 1];
};

/* A map key that is an array index, for JavaScript's key order. */
struct pb_ikey {
	uint32_t	 index;
	const char	*key;
	size_t		 len;
	json_t		*value;
};

static void	pb_error(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static bool	pb_is_reserved(const char *);
static int	pb_namecmp(const char *, size_t, const char *, size_t);
static void	pb_where(const struct pb_msg *, char *, size_t);
static void	pb_msg_free(struct pb_msg *);
static int	pb_build(const json_t *, const char *, size_t,
		    const struct pb_msg *, enum pb_flavour, const char *,
		    struct pb_msg **, char *, size_t);
static int	pb_add_field(struct pb_msg *, const char *, const json_t *,
		    size_t, enum pb_flavour, const char *, char *, size_t);
static int	pb_index_fields(struct pb_msg *, const char *, char *,
		    size_t);
static void	pb_resolve(struct pb_protos *, struct pb_msg *);
static int	pb_check(struct pb_protos *, struct pb_msg *, unsigned,
		    struct pb_msg **, const char *, char *, size_t);
static const struct pb_type_info *pb_scalar(const char *);
static const struct pb_msg *pb_find_type(const struct pb_protos *,
		    const struct pb_msg *, const char *);
static int	pb_field_cmp(const void *, const void *);
static int	pb_msg_cmp(const void *, const void *);
static int	pb_byname_cmp(const void *, const void *);
static int	pb_bytag_cmp(const void *, const void *);
static int	pb_route_cmp(const void *, const void *);
static int	pb_global_cmp(const void *, const void *);
static void	pb_json_msg(struct jsval_buf *, const struct pb_msg *);
static const struct pb_field *pb_field_by_name(const struct pb_msg *,
		    const char *, size_t);
static const struct pb_field *pb_field_by_tag(const struct pb_msg *,
		    uint64_t);
static size_t	pb_path_add(char *, size_t, size_t, const char *);
static void	pb_path(const struct pb_frame *, int, char *, size_t);
static void	pb_fail(char *, size_t, const char *, const struct pb_msg *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
static int	pb_varint_put(uint8_t *, uint64_t);
static size_t	pb_varint_size(uint64_t);
static bool	pb_js_space(const unsigned char *, size_t, size_t *);
static bool	pb_js_parse_int(const char *, size_t, double *);
static const char *pb_kind(const json_t *);
static float	pb_fround(double);
static size_t	pb_utf8_step(const uint8_t *, size_t, bool *);
static uint64_t	pb_le(const uint8_t *, int);
static int	enc_fail(struct pb_enc *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	enc_put(struct pb_enc *, const void *, size_t);
static void	enc_varint(struct pb_enc *, uint64_t);
static int	enc_intval(struct pb_enc *, double, bool);
static int	enc_int(struct pb_enc *, const json_t *, bool);
static int	enc_entry(struct pb_enc *, const struct pb_field *,
		    const char *, size_t, const json_t *);
static int	enc_value(struct pb_enc *, uint8_t, const struct pb_msg *,
		    const json_t *, bool);
static int	enc_nested(struct pb_enc *, const struct pb_msg *,
		    const json_t *, bool);
static int	enc_field(struct pb_enc *, const struct pb_field *,
		    const json_t *, bool);
static int	enc_entries(struct pb_enc *, const struct pb_field *,
		    const json_t *);
static int	enc_msg(struct pb_enc *, const struct pb_msg *,
		    const json_t *, bool);
static int	pb_ikey_cmp(const void *, const void *);
static int	dec_fail(struct pb_dec *, const uint8_t *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	dec_varint(struct pb_dec *, const uint8_t *, uint64_t *,
		    double *);
static json_t	*dec_number(double, bool);
static json_t	*dec_string(const uint8_t *, size_t);
static json_t	*dec_value(struct pb_dec *, const uint8_t *, uint8_t,
		    const struct pb_msg *);
static int	dec_entries(struct pb_dec *, const uint8_t *,
		    const struct pb_field *, json_t *);
static int	dec_msg(struct pb_dec *, const uint8_t *,
		    const struct pb_msg *, json_t *);

static void
pb_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
pb_is_reserved(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(pb_reserved) / sizeof(pb_reserved[0]); i++) {
		if (strcmp(s, pb_reserved[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* Orders names by length, then bytes: cheap, and all lookups need. */
static int
pb_namecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen) {
		return alen < blen ? -1 : 1;
	}
	return memcmp(a, b, alen);
}

/*
 * Writes where <m> is for an error: "route onChat", "route a.b: message
 * Point", or "message Point" for a global one.
 */
static void
pb_where(const struct pb_msg *m, char *buf, size_t size)
{
	const struct pb_msg	*chain[PB_DEPTH_MAX];
	const struct pb_msg	*top;
	size_t			 n = 0, len;
	int			 w;

	for (; m->parent != NULL && n < PB_DEPTH_MAX; m = m->parent) {
		chain[n++] = m;
	}
	top = m;
	if (strncmp(top->name, "message ", 8) == 0) {
		w = snprintf(buf, size, "%s", top->name);
	} else {
		w = snprintf(buf, size, "route %s", top->name);
	}
	len = w < 0 ? 0 : (size_t)w;
	while (n > 0 && len < size) {
		m = chain[--n];
		w = snprintf(buf + len, size - len, ": message %s", m->name);
		len += w < 0 ? 0 : (size_t)w;
	}
}

static void
pb_msg_free(struct pb_msg *m)
{
	size_t	 i;

	if (m == NULL) {
		return;
	}
	for (i = 0; i < m->n_fields; i++) {
		free(m->fields[i].name);
		free(m->fields[i].type_name);
	}
	for (i = 0; i < m->n_nested; i++) {
		pb_msg_free(m->nested[i]);
	}
	free(m->fields);
	free(m->by_name);
	free(m->by_tag);
	free(m->nested);
	free(m->name);
	free(m);
}

void
pb_protos_free(struct pb_protos *p)
{
	size_t	 i;

	if (p == NULL) {
		return;
	}
	for (i = 0; i < p->n_top; i++) {
		pb_msg_free(p->top[i]);
	}
	free(p->top);
	free(p->by_route);
	free(p->globals);
	free(p->json);
	free(p);
}

/* Writes "FILE: WHERE: " and the message to <err>. */
static void
pb_fail(char *err, size_t errlen, const char *file, const struct pb_msg *m,
    const char *fmt, ...)
{
	char	 where[PB_ERR_SIZE], what[PB_ERR_SIZE];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	where[0] = '\0';
	if (m != NULL) {
		pb_where(m, where, sizeof(where));
	}
	pb_error(err, errlen, "%s%s%s%s%s", file != NULL ? file : "",
	    file != NULL ? ": " : "", where, where[0] != '\0' ? ": " : "",
	    what);
}

/*
 * Builds the message <obj> named <name> (<len> bytes) inside <parent>
 * (NULL at the top): its fields and, recursively, its nested messages.
 * Types are resolved later, when every message exists.
 */
static int
pb_build(const json_t *obj, const char *name, size_t len,
    const struct pb_msg *parent, enum pb_flavour flavour, const char *file,
    struct pb_msg **ret, char *err, size_t errlen)
{
	struct pb_msg	*m, *sub;
	const char	*key, *sp, *rest;
	json_t		*v;
	size_t		 klen, pos = 0, cap = 0;
	int		 rc;

	m = xcalloc(1, sizeof(*m));
	m->name = xmalloc(len + 1);
	memcpy(m->name, name, len);
	m->name[len] = '\0';
	m->name_len = len;
	m->parent = parent;
	m->depth = parent != NULL ? parent->depth + 1 : 0;
	m->is_index = jsval_array_index(name, len, &m->index);
	if (m->depth >= PB_DEPTH_MAX) {
		pb_fail(err, errlen, file, parent, "messages nested deeper "
		    "than %d", PB_DEPTH_MAX);
		rc = -EINVAL;
		goto fail;
	}
	if (!json_is_object(obj)) {
		pb_fail(err, errlen, file, m, "not a JSON object");
		rc = -EINVAL;
		goto fail;
	}

	cap = json_object_size(obj);
	m->fields = xcalloc(cap > 0 ? cap : 1, sizeof(*m->fields));
	m->nested = xcalloc(cap > 0 ? cap : 1, sizeof(*m->nested));
	json_object_foreach((json_t *)obj, key, v) {
		klen = json_object_iter_key_len(json_object_key_to_iter(key));
		sp = memchr(key, ' ', klen);
		if (klen >= 7 && memcmp(key, "message", 7) == 0 &&
		    (klen == 7 || (sp != NULL && sp - key == 7))) {
			/* "message Name": a nested type, parsed the same way. */
			rest = key + 8;
			if (klen == 7 || memchr(rest, ' ', klen - 8) != NULL) {
				pb_fail(err, errlen, file, m, "'%s' is not "
				    "'message Name'", key);
				rc = -EINVAL;
				goto fail;
			}
			if (klen == 8 || pb_is_reserved(rest)) {
				pb_fail(err, errlen, file, m, "'%s': %s "
				    "message name", key, klen == 8 ? "empty" :
				    "reserved");
				rc = -EINVAL;
				goto fail;
			}
			rc = pb_build(v, rest, klen - 8, m, flavour, file, &sub,
			    err, errlen);
			if (rc != 0) {
				goto fail;
			}
			sub->pos = pos++;
			m->nested[m->n_nested++] = sub;
			continue;
		}
		rc = pb_add_field(m, key, v, pos++, flavour, file, err,
		    errlen);
		if (rc != 0) {
			goto fail;
		}
	}

	qsort(m->nested, m->n_nested, sizeof(*m->nested), pb_msg_cmp);
	rc = pb_index_fields(m, file, err, errlen);
	if (rc != 0) {
		goto fail;
	}
	*ret = m;
	return 0;

fail:
	pb_msg_free(m);
	return rc;
}

/* Adds the field "<rule> <type> <name>": <tag> to <m>. */
static int
pb_add_field(struct pb_msg *m, const char *key, const json_t *tagv,
    size_t pos, enum pb_flavour flavour, const char *file, char *err,
    size_t errlen)
{
	struct pb_field	*f;
	const char	*sp1, *sp2;
	double		 d;
	size_t		 klen = strlen(key), wlen, r;
	int		 rule = -1;

	sp1 = strchr(key, ' ');
	wlen = sp1 != NULL ? (size_t)(sp1 - key) : klen;
	for (r = 0; r < sizeof(pb_rule_names) / sizeof(pb_rule_names[0]);
	    r++) {
		if (wlen == strlen(pb_rule_names[r]) &&
		    memcmp(key, pb_rule_names[r], wlen) == 0) {
			rule = (int)r;
		}
	}
	if (rule < 0) {
		pb_fail(err, errlen, file, m, "'%s': unknown rule '%.*s' "
		    "(not 'rule type name' nor 'message Name')", key,
		    (int)wlen, key);
		return -EINVAL;
	}
	if ((rule == PB_R_MAP || rule == PB_R_OBJ) && flavour != PB_PINUS) {
		pb_fail(err, errlen, file, m, "'%s': rule '%s' needs the "
		    "pinus flavour", key, pb_rule_names[rule]);
		return -EINVAL;
	}
	/* pomelo splits on single spaces and wants exactly three words. */
	sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
	if (sp2 == NULL || strchr(sp2 + 1, ' ') != NULL) {
		pb_fail(err, errlen, file, m, "'%s' is not 'rule type name' "
		    "(one space between each)", key);
		return -EINVAL;
	}
	if (pb_is_reserved(sp2 + 1)) {
		pb_fail(err, errlen, file, m, "field '%s': reserved name",
		    sp2 + 1);
		return -EINVAL;
	}
	d = json_is_number(tagv) ? json_number_value(tagv) : -1;
	if (d < 0 || d > PB_TAG_MAX || d != floor(d)) {
		pb_fail(err, errlen, file, m, "field '%s': the tag must be an "
		    "integer from 0 to %u", sp2 + 1, PB_TAG_MAX);
		return -EINVAL;
	}

	f = &m->fields[m->n_fields++];
	f->name_len = klen - (size_t)(sp2 + 1 - key);
	f->name = xstrdup(sp2 + 1);
	f->type_name = xmalloc((size_t)(sp2 - sp1));
	memcpy(f->type_name, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	f->type_name[sp2 - sp1 - 1] = '\0';
	f->tag = (uint32_t)d;
	f->rule = (uint8_t)rule;
	f->pos = pos;
	f->is_index = jsval_array_index(f->name, f->name_len, &f->index);
	return 0;
}

/*
 * Puts the fields of <m> in parsed-form order and builds the indexes by
 * name and by tag, failing on a name or tag used twice (pomelo would keep
 * the first tag and the last name, silently).
 */
static int
pb_index_fields(struct pb_msg *m, const char *file, char *err,
    size_t errlen)
{
	struct pb_field	**sorted, *a, *b;
	uint32_t	 max_tag = 0;
	size_t		 i, n = m->n_fields;

	qsort(m->fields, n, sizeof(*m->fields), pb_field_cmp);
	m->by_name = xcalloc(n > 0 ? n : 1, sizeof(*m->by_name));
	for (i = 0; i < n; i++) {
		m->by_name[i] = &m->fields[i];
		if (m->fields[i].is_index) {
			m->n_index_fields++;
		}
		if (m->fields[i].rule == PB_R_REQUIRED) {
			m->n_required++;
		}
		if (m->fields[i].tag > max_tag) {
			max_tag = m->fields[i].tag;
		}
	}
	qsort(m->by_name, n, sizeof(*m->by_name), pb_byname_cmp);
	for (i = 1; i < n; i++) {
		if (pb_byname_cmp(&m->by_name[i - 1], &m->by_name[i]) == 0) {
			pb_fail(err, errlen, file, m, "field '%s': defined "
			    "twice", m->by_name[i]->name);
			return -EINVAL;
		}
	}

	sorted = xcalloc(n > 0 ? n : 1, sizeof(*sorted));
	for (i = 0; i < n; i++) {
		sorted[i] = &m->fields[i];
	}
	qsort(sorted, n, sizeof(*sorted), pb_bytag_cmp);
	for (i = 1; i < n; i++) {
		if (sorted[i - 1]->tag == sorted[i]->tag) {
			a = sorted[i - 1];
			b = sorted[i];
			if (a->pos > b->pos) {
				a = sorted[i];
				b = sorted[i - 1];
			}
			pb_fail(err, errlen, file, m, "field '%s': tag %" PRIu32
			    " already used by field '%s'", b->name, b->tag,
			    a->name);
			free(sorted);
			return -EINVAL;
		}
	}
	if (n > 0 && (max_tag < PB_TAG_DIRECT_MIN ||
	    max_tag / PB_TAG_DIRECT_RATIO < n)) {
		m->tag_direct = true;
		m->n_by_tag = (size_t)max_tag + 1;
		m->by_tag = xcalloc(m->n_by_tag, sizeof(*m->by_tag));
		for (i = 0; i < n; i++) {
			m->by_tag[sorted[i]->tag] = sorted[i];
		}
		free(sorted);
	} else {
		m->by_tag = sorted;
		m->n_by_tag = n;
	}
	return 0;
}

static const struct pb_type_info *
pb_scalar(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(pb_types) / sizeof(pb_types[0]); i++) {
		if (strcmp(name, pb_types[i].name) == 0) {
			return &pb_types[i];
		}
	}
	return NULL;
}

/* Finds message <name> as the codecs do: nested in <m>, then global. */
static const struct pb_msg *
pb_find_type(const struct pb_protos *p, const struct pb_msg *m,
    const char *name)
{
	const struct pb_msg	*g;
	size_t			 i, lo = 0, hi = p->n_globals, mid;
	size_t			 len = strlen(name);
	int			 c;

	for (i = 0; i < m->n_nested; i++) {
		if (pb_namecmp(m->nested[i]->name, m->nested[i]->name_len,
		    name, len) == 0) {
			return m->nested[i];
		}
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		g = p->globals[mid];
		c = pb_namecmp(g->name + 8, g->name_len - 8, name, len);
		if (c == 0) {
			return g;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

/*
 * Resolves the types of the fields of <m> and its nested messages. A type
 * that does not resolve only marks the field: pomelo's parser accepts it,
 * and it is an error only in a message some route uses (pb_check()); a
 * pinus map's entry message, for one, need not resolve its own types.
 */
static void
pb_resolve(struct pb_protos *p, struct pb_msg *m)
{
	const struct pb_type_info	*ti, *kti, *vti;
	const struct pb_field		*kf, *vf;
	const struct pb_msg		*kv;
	struct pb_field			*f;
	uint8_t				 wire = 2;
	size_t				 i;

	p->n_msgs++;
	for (i = 0; i < m->n_fields; i++) {
		f = &m->fields[i];
		ti = pb_scalar(f->type_name);
		if (ti != NULL && ti->pinus && p->flavour != PB_PINUS) {
			f->bad = PB_BAD_PINUS;
		} else if (f->rule == PB_R_MAP || f->rule == PB_R_OBJ) {
			kv = ti == NULL ? pb_find_type(p, m, f->type_name) :
			    NULL;
			kf = kv != NULL ? pb_field_by_name(kv, "key", 3) : NULL;
			vf = kv != NULL ? pb_field_by_name(kv, "value", 5) :
			    NULL;
			/* Pinus resolves the entry types where the map is. */
			kti = kf != NULL ? pb_scalar(kf->type_name) : NULL;
			vti = vf != NULL ? pb_scalar(vf->type_name) : NULL;
			if (kf == NULL || vf == NULL) {
				f->bad = PB_BAD_KV;
			} else if (kti == NULL || kti->type == PB_T_FLOAT ||
			    kti->type == PB_T_DOUBLE || kti->type == PB_T_BOOL) {
				f->bad = PB_BAD_KEY;
			} else if (vti != NULL) {
				f->key_type = kti->type;
				f->type = vti->type;
			} else if ((f->msg = pb_find_type(p, m,
			    vf->type_name)) != NULL) {
				f->key_type = kti->type;
				f->type = PB_T_MESSAGE;
			} else {
				f->bad = PB_BAD_VALUE;
			}
			wire = 2;
		} else if (ti != NULL) {
			f->type = ti->type;
			wire = ti->wire;
		} else if ((f->msg = pb_find_type(p, m, f->type_name)) !=
		    NULL) {
			f->type = PB_T_MESSAGE;
			wire = 2;
		} else {
			f->bad = PB_BAD_TYPE;
		}
		f->key_len = (uint8_t)pb_varint_put(f->key,
		    (uint64_t)f->tag << 3 | wire);
	}
	for (i = 0; i < m->n_nested; i++) {
		pb_resolve(p, m->nested[i]);
	}
}

/*
 * Checks that every message reachable from <root> through field types
 * (and map value types) has all its types resolved; <stack> holds
 * p->n_msgs entries. Marks each message seen with <visit>.
 */
static int
pb_check(struct pb_protos *p, struct pb_msg *root, unsigned visit,
    struct pb_msg **stack, const char *file, char *err, size_t errlen)
{
	const struct pb_field	*f;
	const struct pb_msg	*kv;
	struct pb_msg		*m;
	size_t			 n = 0, i;

	root->visit = visit;
	stack[n++] = root;
	while (n > 0) {
		m = stack[--n];
		for (i = 0; i < m->n_fields; i++) {
			f = &m->fields[i];
			kv = f->bad == PB_BAD_KEY || f->bad == PB_BAD_VALUE ?
			    pb_find_type(p, m, f->type_name) : NULL;
			switch (f->bad) {
			case PB_BAD_TYPE:
				pb_fail(err, errlen, file, m, "field '%s': "
				    "unknown type '%s'", f->name, f->type_name);
				return -EINVAL;
			case PB_BAD_PINUS:
				pb_fail(err, errlen, file, m, "field '%s': type "
				    "'%s' needs the pinus flavour", f->name,
				    f->type_name);
				return -EINVAL;
			case PB_BAD_KV:
				pb_fail(err, errlen, file, m, "field '%s': type "
				    "'%s' is not a message with fields 'key' "
				    "and 'value'", f->name, f->type_name);
				return -EINVAL;
			case PB_BAD_KEY:
				pb_fail(err, errlen, file, m, "field '%s': key "
				    "type '%s' is not string or an integer "
				    "type", f->name,
				    pb_field_by_name(kv, "key", 3)->type_name);
				return -EINVAL;
			case PB_BAD_VALUE:
				pb_fail(err, errlen, file, m, "field '%s': "
				    "unknown value type '%s'", f->name,
				    pb_field_by_name(kv, "value", 5)->type_name);
				return -EINVAL;
			default:
				break;
			}
			if (f->type == PB_T_MESSAGE && f->msg->visit != visit) {
				((struct pb_msg *)f->msg)->visit = visit;
				stack[n++] = (struct pb_msg *)f->msg;
			}
		}
	}
	return 0;
}

/* Parsed-form order: array-index names first, ascending, then as read. */
static int
pb_field_cmp(const void *a, const void *b)
{
	const struct pb_field	*x = a, *y = b;

	if (x->is_index != y->is_index) {
		return x->is_index ? -1 : 1;
	}
	if (x->is_index) {
		return x->index < y->index ? -1 : x->index > y->index;
	}
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
pb_msg_cmp(const void *a, const void *b)
{
	const struct pb_msg	*x = *(const struct pb_msg *const *)a;
	const struct pb_msg	*y = *(const struct pb_msg *const *)b;

	if (x->is_index != y->is_index) {
		return x->is_index ? -1 : 1;
	}
	if (x->is_index) {
		return x->index < y->index ? -1 : x->index > y->index;
	}
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
pb_byname_cmp(const void *a, const void *b)
{
	const struct pb_field	*x = *(const struct pb_field *const *)a;
	const struct pb_field	*y = *(const struct pb_field *const *)b;

	return pb_namecmp(x->name, x->name_len, y->name, y->name_len);
}

static int
pb_bytag_cmp(const void *a, const void *b)
{
	const struct pb_field	*x = *(const struct pb_field *const *)a;
	const struct pb_field	*y = *(const struct pb_field *const *)b;

	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

static int
pb_route_cmp(const void *a, const void *b)
{
	const struct pb_msg	*x = *(const struct pb_msg *const *)a;
	const struct pb_msg	*y = *(const struct pb_msg *const *)b;

	return pb_namecmp(x->name, x->name_len, y->name, y->name_len);
}

/* Globals are "message X" entries, compared by X. */
static int
pb_global_cmp(const void *a, const void *b)
{
	const struct pb_msg	*x = *(const struct pb_msg *const *)a;
	const struct pb_msg	*y = *(const struct pb_msg *const *)b;

	return pb_namecmp(x->name + 8, x->name_len - 8, y->name + 8,
	    y->name_len - 8);
}

/* Appends the parsed form of <m>, as pomelo-protobuf's parse() builds it. */
static void
pb_json_msg(struct jsval_buf *b, const struct pb_msg *m)
{
	const struct pb_field	*f;
	char			 num[32];
	size_t			 i;
	bool			 first = true;

	jsval_buf_add(b, "{", 1);
	for (i = 0; i < m->n_fields; i++) {
		f = &m->fields[i];
		jsval_buf_add_quoted(b, f->name, f->name_len);
		jsval_buf_add_str(b, ":{\"option\":\"");
		jsval_buf_add_str(b, pb_rule_names[f->rule]);
		jsval_buf_add_str(b, "\",\"type\":");
		jsval_buf_add_quoted(b, f->type_name, strlen(f->type_name));
		snprintf(num, sizeof(num), ",\"tag\":%" PRIu32 "},", f->tag);
		jsval_buf_add_str(b, num);
	}
	jsval_buf_add_str(b, "\"__messages\":{");
	for (i = 0; i < m->n_nested; i++) {
		if (i > 0) {
			jsval_buf_add(b, ",", 1);
		}
		jsval_buf_add_quoted(b, m->nested[i]->name, m->nested[i]->name_len);
		jsval_buf_add(b, ":", 1);
		pb_json_msg(b, m->nested[i]);
	}
	jsval_buf_add_str(b, "},\"__tags\":{");
	/* Tags are array indices: ascending, as JavaScript orders them. */
	for (i = 0; i < m->n_by_tag; i++) {
		if ((f = m->by_tag[i]) == NULL) {
			continue;
		}
		snprintf(num, sizeof(num), "%s\"%" PRIu32 "\":",
		    first ? "" : ",", f->tag);
		first = false;
		jsval_buf_add_str(b, num);
		jsval_buf_add_quoted(b, f->name, f->name_len);
	}
	jsval_buf_add_str(b, "}}");
}

int
pb_protos_compile(const json_t *source, enum pb_flavour flavour,
    const char *name, struct pb_protos **ret, char *err, size_t errlen)
{
	struct pb_protos	*p;
	struct jsval_buf	 b;
	struct pb_msg		*m, **stack;
	const char		*key;
	json_t			*v;
	size_t			 n, i, klen, pos = 0;
	int			 rc;

	if (!json_is_object(source)) {
		pb_fail(err, errlen, name, NULL, "not a JSON object");
		return -EINVAL;
	}
	p = xcalloc(1, sizeof(*p));
	p->flavour = flavour;
	n = json_object_size(source);
	p->top = xcalloc(n > 0 ? n : 1, sizeof(*p->top));
	p->by_route = xcalloc(n > 0 ? n : 1, sizeof(*p->by_route));
	p->globals = xcalloc(n > 0 ? n : 1, sizeof(*p->globals));
	/*
	 * Every top-level key is an entry (a route, or a global "message X"
	 * that is one too); all are built before any type is resolved, since
	 * a type may name a global defined further down.
	 */
	json_object_foreach((json_t *)source, key, v) {
		klen = json_object_iter_key_len(json_object_key_to_iter(key));
		if (strcmp(key, "__proto__") == 0 || (klen > 8 &&
		    strncmp(key, "message ", 8) == 0 &&
		    pb_is_reserved(key + 8))) {
			pb_fail(err, errlen, name, NULL, "'%s': reserved "
			    "name", key);
			rc = -EINVAL;
			goto fail;
		}
		rc = pb_build(v, key, klen, NULL, flavour, name, &m, err,
		    errlen);
		if (rc != 0) {
			goto fail;
		}
		m->pos = pos++;
		p->top[p->n_top++] = m;
		if (klen > 8 && strncmp(key, "message ", 8) == 0) {
			p->globals[p->n_globals++] = m;
		}
	}
	qsort(p->top, p->n_top, sizeof(*p->top), pb_msg_cmp);
	memcpy(p->by_route, p->top, p->n_top * sizeof(*p->top));
	qsort(p->by_route, p->n_top, sizeof(*p->by_route), pb_route_cmp);
	qsort(p->globals, p->n_globals, sizeof(*p->globals), pb_global_cmp);
	for (i = 0; i < p->n_top; i++) {
		pb_resolve(p, p->top[i]);
	}
	/*
	 * Routes must resolve; a global "message X" that does not is only
	 * left out of pb_protos_find(), which pomelo would also look it up
	 * in.
	 */
	stack = xcalloc(p->n_msgs, sizeof(*stack));
	for (i = 0, rc = 0; i < p->n_top && rc == 0; i++) {
		m = p->top[i];
		if (m->name_len > 8 && strncmp(m->name, "message ", 8) == 0) {
			m->broken = pb_check(p, m, (unsigned)i + 1, stack, NULL,
			    NULL, 0) != 0;
		} else {
			rc = pb_check(p, m, (unsigned)i + 1, stack, name, err,
			    errlen);
		}
	}
	free(stack);
	if (rc != 0) {
		goto fail;
	}

	/* The parsed form, printed once: the handshake sends it verbatim. */
	memset(&b, 0, sizeof(b));
	jsval_buf_add(&b, "{", 1);
	for (i = 0; i < p->n_top; i++) {
		if (i > 0) {
			jsval_buf_add(&b, ",", 1);
		}
		jsval_buf_add_quoted(&b, p->top[i]->name, p->top[i]->name_len);
		jsval_buf_add(&b, ":", 1);
		pb_json_msg(&b, p->top[i]);
	}
	jsval_buf_add(&b, "}", 1);
	p->json = b.data;
	p->json_len = b.len;
	*ret = p;
	return 0;

fail:
	pb_protos_free(p);
	return rc;
}

const char *
pb_protos_json(const struct pb_protos *p, size_t *ret_len)
{
	if (p == NULL) {
		if (ret_len != NULL) {
			*ret_len = 2;
		}
		return "{}";
	}
	if (ret_len != NULL) {
		*ret_len = p->json_len;
	}
	return p->json;
}

int
pb_protos_version(const struct pb_protos *client,
    const struct pb_protos *server, char out[PB_VERSION_SIZE])
{
	const char	*c, *s;
	size_t		 clen, slen;

	out[0] = '\0';
	if (client == NULL && server == NULL) {
		return 0;
	}
	c = pb_protos_json(client, &clen);
	s = pb_protos_json(server, &slen);
	return md5_base64(c, clen, s, slen, out);
}

const struct pb_msg *
pb_protos_find(const struct pb_protos *p, const char *route, size_t len)
{
	size_t	 lo = 0, hi, mid;
	int	 c;

	if (p == NULL) {
		return NULL;
	}
	hi = p->n_top;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = pb_namecmp(p->by_route[mid]->name,
		    p->by_route[mid]->name_len, route, len);
		if (c == 0) {
			return p->by_route[mid]->broken ? NULL :
			    p->by_route[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

static const struct pb_field *
pb_field_by_name(const struct pb_msg *m, const char *name, size_t len)
{
	size_t	 lo = 0, hi = m->n_fields, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = pb_namecmp(m->by_name[mid]->name, m->by_name[mid]->name_len,
		    name, len);
		if (c == 0) {
			return m->by_name[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

static const struct pb_field *
pb_field_by_tag(const struct pb_msg *m, uint64_t tag)
{
	size_t	 lo = 0, hi = m->n_by_tag, mid;

	if (m->tag_direct) {
		return tag < m->n_by_tag ? m->by_tag[tag] : NULL;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->by_tag[mid]->tag == tag) {
			return m->by_tag[mid];
		}
		if (m->by_tag[mid]->tag < tag) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

/*
 * Appends <s> to <buf> for an error message: at most 40 bytes of it, with
 * control characters as \xNN, since map keys and values come from peers
 * and the message goes to a log.
 */
static size_t
pb_path_add(char *buf, size_t len, size_t size, const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i < 40 && len + 5 < size; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			len += (size_t)snprintf(buf + len, size - len, "\\x%02x",
			    (unsigned char)s[i]);
		} else {
			buf[len++] = s[i];
		}
	}
	if (s[i] != '\0' && len + 4 < size) {
		memcpy(buf + len, "...", 3);
		len += 3;
	}
	buf[len] = '\0';
	return len;
}

/*
 * Writes "a.b[2].c[key]" for the frames up to <depth> into <buf>, only its
 * last PB_PATH_MAX bytes when it is longer: the end is where the error is.
 */
static void
pb_path(const struct pb_frame *path, int depth, char *buf, size_t size)
{
	char	 all[(PB_DEPTH_MAX + 1) * 100];	/* a frame takes < 100 */
	size_t	 len = 0;
	int	 i;

	all[0] = '\0';
	for (i = 0; i <= depth && i <= PB_DEPTH_MAX; i++) {
		if (path[i].f == NULL) {
			break;
		}
		if (i > 0) {
			all[len++] = '.';
		}
		len = pb_path_add(all, len, sizeof(all), path[i].f->name);
		if (path[i].key != NULL) {
			all[len++] = '[';
			len = pb_path_add(all, len, sizeof(all), path[i].key);
			all[len++] = ']';
			all[len] = '\0';
		} else if (path[i].idx != SIZE_MAX) {
			len += (size_t)snprintf(all + len, sizeof(all) - len,
			    "[%zu]", path[i].idx);
		}
	}
	if (len > PB_PATH_MAX) {
		snprintf(buf, size, "...%s", all + len - (PB_PATH_MAX - 3));
	} else {
		snprintf(buf, size, "%s", all);
	}
}

static int
pb_varint_put(uint8_t *out, uint64_t v)
{
	int	 n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static size_t
pb_varint_size(uint64_t v)
{
	size_t	 n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * True when the <len> bytes at <s> start with a character JavaScript's
 * parseInt skips as white space (Zs, line terminators, BOM, TAB..CR);
 * <*ret_n> gets its length in bytes.
 */
static bool
pb_js_space(const unsigned char *s, size_t len, size_t *ret_n)
{
	if (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d)) {
		*ret_n = 1;
		return true;
	}
	if (len >= 2 && s[0] == 0xc2 && s[1] == 0xa0) {
		*ret_n = 2;
		return true;
	}
	if (len < 3) {
		return false;
	}
	*ret_n = 3;
	if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
	    (s[0] == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a ||
	    s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) ||
	    (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) ||
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) ||
	    (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)) {
		return true;
	}
	return false;
}

/*
 * Reads the <len> bytes at <s> as parseInt(s) does: white space, a sign,
 * "0x" for hex, then digits up to the first other character. Returns
 * false where parseInt returns NaN. Numbers of more than 25 digits come
 * out infinite (parseInt's would be out of range anyway).
 */
static bool
pb_js_parse_int(const char *s, size_t len, double *ret)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			 digits[32];
	uint64_t		 x = 0;
	size_t			 i = 0, start, n, sp;
	bool			 neg = false, hex = false;
	double			 v;

	while (i < len && pb_js_space(u + i, len - i, &sp)) {
		i += sp;
	}
	if (i < len && (s[i] == '-' || s[i] == '+')) {
		neg = s[i] == '-';
		i++;
	}
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] ==
	    'X')) {
		hex = true;
		i += 2;
	}
	start = i;
	while (i < len && ((s[i] >= '0' && s[i] <= '9') || (hex &&
	    ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))) {
		i++;
	}
	if (i == start) {
		return false;
	}
	while (start < i - 1 && s[start] == '0') {
		start++;
	}
	n = i - start;
	if (n > (hex ? 16 : 25)) {
		v = HUGE_VAL;
	} else if (hex) {
		for (; start < i; start++) {
			x = x << 4 | (uint64_t)(s[start] <= '9' ?
			    s[start] - '0' : (s[start] | 0x20) - 'a' + 10);
		}
		v = (double)x;
	} else {
		memcpy(digits, s + start, n);
		digits[n] = '\0';
		v = strtod(digits, NULL);
	}
	*ret = neg ? -v : v;
	return true;
}

static const char *
pb_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Sets the error "field 'PATH': ..." and returns -EINVAL. */
static int
enc_fail(struct pb_enc *e, const char *fmt, ...)
{
	char	 path[PB_ERR_SIZE], what[PB_ERR_SIZE];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pb_path(e->path, e->depth, path, sizeof(path));
	pb_error(e->err, e->errlen, "field '%s': %s", path, what);
	return -EINVAL;
}

static inline void
enc_put(struct pb_enc *e, const void *src, size_t n)
{
	/* Past the end only count: once a write is skipped, pos > cap. */
	if (n > 0 && e->pos <= e->cap && n <= e->cap - e->pos) {
		memcpy(e->p + e->pos, src, n);
	}
	e->pos += n;
}

static inline void
enc_varint(struct pb_enc *e, uint64_t v)
{
	uint8_t	 b[10];

	if (v < 0x80 && e->pos < e->cap) {
		e->p[e->pos++] = (uint8_t)v;
		return;
	}
	enc_put(e, b, (size_t)pb_varint_put(b, v));
}

/*
 * Writes the number <n> (already parseInt'ed) as an unsigned varint, or
 * zig-zag when <zigzag>, with JavaScript's double arithmetic.
 */
static int
enc_intval(struct pb_enc *e, double n, bool zigzag)
{
	if (zigzag) {
		n = n < 0 ? fabs(n) * 2 - 1 : n * 2;
	} else if (n < 0) {
		return enc_fail(e, "%.17g is negative", n);
	}
	if (!(n < PB_TWO64)) {
		return enc_fail(e, "out of range");
	}
	enc_varint(e, (uint64_t)n);
	return 0;
}

/*
 * Encodes <v> for an integer type as pomelo's encodeUInt32/encodeSInt32
 * do: parseInt(v), then the (zig-zag) varint. Values parseInt would read
 * from an exponent form (1e21 and up, below 1e-6) are refused.
 */
static int
enc_int(struct pb_enc *e, const json_t *v, bool zigzag)
{
	json_int_t	 i;
	double		 n, r;
	char		 text[64];

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		i = json_integer_value(v);
		if (i >= 0 && i <= (json_int_t)1 << 53) {
			enc_varint(e, zigzag ? (uint64_t)i << 1 : (uint64_t)i);
			return 0;
		}
		n = (double)i;
		break;
	case JSON_REAL:
		r = json_real_value(v);
		if (fabs(r) >= 1e21 || (r != 0 && fabs(r) < 1e-6)) {
			return enc_fail(e, "%.17g is not an integer parseInt "
			    "reads", r);
		}
		n = trunc(r);
		break;
	case JSON_STRING:
		if (!pb_js_parse_int(json_string_value(v),
		    json_string_length(v), &n)) {
			pb_path_add(text, 0, sizeof(text), json_string_value(v));
			return enc_fail(e, "\"%s\" is not a number", text);
		}
		break;
	default:
		return enc_fail(e, "expected a number, got %s", pb_kind(v));
	}
	return enc_intval(e, n, zigzag);
}

/* Rounds <d> to float as Math.fround does, without C's overflow UB. */
static float
pb_fround(double d)
{
	if (fabs(d) >= 0x1.ffffffp+127) {
		return d < 0 ? -INFINITY : INFINITY;
	}
	if (fabs(d) > FLT_MAX) {
		return d < 0 ? -FLT_MAX : FLT_MAX;
	}
	return (float)d;
}

/*
 * Writes one value of <type> (a message: <msg>) without its key: what
 * pomelo's encodeProp writes. <check>: check required fields beneath.
 */
static int
enc_value(struct pb_enc *e, uint8_t type, const struct pb_msg *msg,
    const json_t *v, bool check)
{
	uint8_t		 b[8];
	uint64_t	 u;
	uint32_t	 w;
	size_t		 len;
	double		 d;
	float		 f;
	int		 i;

	switch (type) {
	case PB_T_UINT32:
	case PB_T_UINT64:
		return enc_int(e, v, false);
	case PB_T_INT32:
	case PB_T_SINT32:
	case PB_T_SINT64:
		return enc_int(e, v, true);
	case PB_T_FLOAT:
		if (!json_is_number(v)) {
			return enc_fail(e, "expected a number, got %s",
			    pb_kind(v));
		}
		f = pb_fround(json_number_value(v));
		memcpy(&w, &f, 4);
		for (i = 0; i < 4; i++) {
			b[i] = (uint8_t)(w >> (8 * i));
		}
		enc_put(e, b, 4);
		return 0;
	case PB_T_DOUBLE:
		if (!json_is_number(v)) {
			return enc_fail(e, "expected a number, got %s",
			    pb_kind(v));
		}
		d = json_number_value(v);
		memcpy(&u, &d, 8);
		for (i = 0; i < 8; i++) {
			b[i] = (uint8_t)(u >> (8 * i));
		}
		enc_put(e, b, 8);
		return 0;
	case PB_T_STRING:
		if (!json_is_string(v)) {
			return enc_fail(e, "expected a string, got %s",
			    pb_kind(v));
		}
		len = json_string_length(v);
		enc_varint(e, len);
		enc_put(e, json_string_value(v), len);
		return 0;
	case PB_T_BOOL:
		/* JavaScript truthiness, as pinus's value ? 1 : 0. */
		switch (json_typeof(v)) {
		case JSON_INTEGER:
		case JSON_REAL:
			u = json_number_value(v) != 0;
			break;
		case JSON_STRING:
			u = json_string_length(v) != 0;
			break;
		case JSON_FALSE:
		case JSON_NULL:
			u = 0;
			break;
		default:
			u = 1;
			break;
		}
		enc_varint(e, u);
		return 0;
	default:
		if (!json_is_object(v)) {
			return enc_fail(e, "expected an object, got %s",
			    pb_kind(v));
		}
		return enc_nested(e, msg, v, check);
	}
}

/*
 * Encodes the message <m> from <obj> behind a length varint: one byte is
 * reserved, and the bytes move up when the length needs more.
 */
static int
enc_nested(struct pb_enc *e, const struct pb_msg *m, const json_t *obj,
    bool check)
{
	size_t	 start, len, lenlen;
	int	 rc;

	if (e->depth >= PB_DEPTH_MAX) {
		return enc_fail(e, "nested deeper than %d", PB_DEPTH_MAX);
	}
	start = e->pos++;
	e->depth++;
	rc = enc_msg(e, m, obj, check);
	e->depth--;
	if (rc != 0) {
		return rc;
	}
	len = e->pos - start - 1;
	lenlen = pb_varint_size(len);
	if (lenlen > 1) {
		if (e->pos <= e->cap && lenlen - 1 <= e->cap - e->pos) {
			memmove(e->p + start + lenlen, e->p + start + 1, len);
		}
		e->pos += lenlen - 1;
	}
	if (start <= e->cap && lenlen <= e->cap - start) {
		pb_varint_put(e->p + start, len);
	}
	return 0;
}

/* Writes field <f> with value <v>: key and value, or none if absent. */
static int
enc_field(struct pb_enc *e, const struct pb_field *f, const json_t *v,
    bool check)
{
	struct pb_frame	*fr = &e->path[e->depth];
	size_t		 n, i;
	int		 rc;

	fr->f = f;
	fr->idx = SIZE_MAX;
	fr->key = NULL;
	switch (f->rule) {
	case PB_R_REQUIRED:
	case PB_R_OPTIONAL:
		enc_put(e, f->key, f->key_len);
		return enc_value(e, f->type, f->msg, v, check);
	case PB_R_REPEATED:
		/* pomelo: if (!!value && value.length > 0) */
		if (json_is_null(v)) {
			return 0;
		}
		if (!json_is_array(v)) {
			return enc_fail(e, "expected an array, got %s",
			    pb_kind(v));
		}
		if ((n = json_array_size(v)) == 0) {
			return 0;
		}
		if (f->type != PB_T_STRING && f->type != PB_T_MESSAGE) {
			/* Numbers: one key, the count, the elements. */
			enc_put(e, f->key, f->key_len);
			enc_varint(e, n);
			for (i = 0; i < n; i++) {
				fr->idx = i;
				rc = enc_value(e, f->type, NULL,
				    json_array_get(v, i), check);
				if (rc != 0) {
					return rc;
				}
			}
			return 0;
		}
		for (i = 0; i < n; i++) {
			fr->idx = i;
			enc_put(e, f->key, f->key_len);
			rc = enc_value(e, f->type, f->msg, json_array_get(v, i),
			    check);
			if (rc != 0) {
				return rc;
			}
		}
		return 0;
	default:
		if (json_is_null(v)) {
			return 0;
		}
		if (!json_is_object(v)) {
			return enc_fail(e, "expected an object, got %s",
			    pb_kind(v));
		}
		return enc_entries(e, f, v);
	}
}

static int
pb_ikey_cmp(const void *a, const void *b)
{
	const struct pb_ikey	*x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* Writes one map/obj entry: the key as the key type, then the value. */
static int
enc_entry(struct pb_enc *e, const struct pb_field *f, const char *key,
    size_t klen, const json_t *v)
{
	double	 num;
	int	 rc;

	e->path[e->depth].key = key;
	if (f->key_type == PB_T_STRING) {
		enc_varint(e, klen);
		enc_put(e, key, klen);
	} else if (!pb_js_parse_int(key, klen, &num)) {
		return enc_fail(e, "the key is not a number");
	} else {
		rc = enc_intval(e, num, f->key_type != PB_T_UINT32 &&
		    f->key_type != PB_T_UINT64);
		if (rc != 0) {
			return rc;
		}
	}
	return enc_value(e, f->type, f->msg, v, false);
}

/*
 * Writes a pinus map/obj field: key, entry count, then each key and value
 * bare, in JavaScript's key order (array indices first, ascending). An
 * empty obj is left out; an empty map is written, as pinus writes an
 * empty Map. Required fields are not checked beneath, as in pinus.
 */
static int
enc_entries(struct pb_enc *e, const struct pb_field *f, const json_t *obj)
{
	struct pb_ikey	 stack[PB_IKEYS_STACK], *ik = stack;
	const char	*key;
	json_t		*v;
	size_t		 n, k = 0, i, klen;
	uint32_t	 index;
	int		 rc = 0;

	n = json_object_size(obj);
	if (n == 0 && f->rule == PB_R_OBJ) {
		return 0;
	}
	json_object_foreach((json_t *)obj, key, v) {
		klen = json_object_iter_key_len(json_object_key_to_iter(key));
		if (jsval_array_index(key, klen, &index)) {
			k++;
		}
	}
	if (k > PB_IKEYS_STACK) {
		ik = xcalloc(k, sizeof(*ik));
	}
	k = 0;
	json_object_foreach((json_t *)obj, key, v) {
		klen = json_object_iter_key_len(json_object_key_to_iter(key));
		if (jsval_array_index(key, klen, &index)) {
			ik[k].index = index;
			ik[k].key = key;
			ik[k].len = klen;
			ik[k].value = v;
			k++;
		}
	}
	qsort(ik, k, sizeof(*ik), pb_ikey_cmp);

	enc_put(e, f->key, f->key_len);
	enc_varint(e, n);
	for (i = 0; i < k && rc == 0; i++) {
		rc = enc_entry(e, f, ik[i].key, ik[i].len, ik[i].value);
	}
	if (ik != stack) {
		free(ik);
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (rc != 0) {
			break;
		}
		klen = json_object_iter_key_len(json_object_key_to_iter(key));
		if (!jsval_array_index(key, klen, &index)) {
			rc = enc_entry(e, f, key, klen, v);
		}
	}
	return rc;
}

/*
 * Encodes the members of <obj> that are fields of <m>, in the object's
 * order (array-index names first, as for...in visits them); others are
 * ignored. With <check>, every required field must be there.
 */
static int
enc_msg(struct pb_enc *e, const struct pb_msg *m, const json_t *obj,
    bool check)
{
	const struct pb_field	*f;
	const char		*key;
	json_t			*v;
	void			*it;
	char			 path[PB_ERR_SIZE];
	size_t			 nreq = 0, i;
	int			 rc;

	for (i = 0; i < m->n_index_fields; i++) {
		f = &m->fields[i];
		if ((v = json_object_getn(obj, f->name, f->name_len)) == NULL) {
			continue;
		}
		nreq += f->rule == PB_R_REQUIRED;
		if ((rc = enc_field(e, f, v, check)) != 0) {
			return rc;
		}
	}
	for (it = json_object_iter((json_t *)obj); it != NULL;
	    it = json_object_iter_next((json_t *)obj, it)) {
		key = json_object_iter_key(it);
		f = pb_field_by_name(m, key, json_object_iter_key_len(it));
		if (f == NULL || f->is_index) {
			continue;
		}
		nreq += f->rule == PB_R_REQUIRED;
		if ((rc = enc_field(e, f, json_object_iter_value(it), check)) !=
		    0) {
			return rc;
		}
	}
	if (!check || nreq == m->n_required) {
		return 0;
	}
	f = NULL;
	for (i = 0; i < m->n_fields; i++) {
		f = &m->fields[i];
		if (f->rule == PB_R_REQUIRED && json_object_getn(obj, f->name,
		    f->name_len) == NULL) {
			break;
		}
	}
	e->path[e->depth].f = f;
	e->path[e->depth].idx = SIZE_MAX;
	e->path[e->depth].key = NULL;
	pb_path(e->path, e->depth, path, sizeof(path));
	pb_error(e->err, e->errlen, "missing required field '%s'", path);
	return -EINVAL;
}

int
pb_encode(const struct pb_msg *m, const json_t *value, uint8_t *out,
    size_t cap, size_t *ret_len, char *err, size_t errlen)
{
	struct pb_enc	 e;
	int		 rc;

	if (!json_is_object(value)) {
		pb_error(err, errlen, "the value is %s, not an object",
		    pb_kind(value));
		return -EINVAL;
	}
	e.p = out;
	e.cap = out != NULL ? cap : 0;
	e.pos = 0;
	e.err = err;
	e.errlen = errlen;
	e.depth = 0;
	e.path[0].f = NULL;
	rc = enc_msg(&e, m, value, true);
	if (rc != 0) {
		return rc;
	}
	*ret_len = e.pos;
	return e.pos > e.cap ? -ENOBUFS : 0;
}

/* Sets "field 'PATH': ... at byte N" (or without the field) in <err>. */
static int
dec_fail(struct pb_dec *d, const uint8_t *at, const char *fmt, ...)
{
	char	 path[PB_ERR_SIZE], what[PB_ERR_SIZE];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pb_path(d->path, d->depth, path, sizeof(path));
	pb_error(d->err, d->errlen, "%s%s%s%s at byte %zu",
	    path[0] != '\0' ? "field '" : "", path,
	    path[0] != '\0' ? "': " : "", what, (size_t)(at - d->start));
	return -EBADMSG;
}

/*
 * Reads a varint of at most 10 bytes before <end>: <*ret_u> gets its value
 * and <*ret_d> (may be NULL) the number pomelo's decodeUInt32 computes, a
 * sum of doubles (rounded above 2^53). Values from 2^64 up are refused.
 */
static int
dec_varint(struct pb_dec *d, const uint8_t *end, uint64_t *ret_u,
    double *ret_d)
{
	const uint8_t	*p = d->p;
	uint64_t	 u = 0;
	double		 x;
	int		 n = 0, i;
	uint8_t		 b;

	do {
		if (p == end) {
			return dec_fail(d, d->p, "truncated");
		}
		if (n == 10) {
			return dec_fail(d, d->p, "varint longer than 10 bytes");
		}
		b = *p++;
		u |= (uint64_t)(b & 0x7f) << (7 * n);
		n++;
	} while (b >= 0x80);
	if (n <= 7) {
		x = (double)u;
	} else {
		x = 0;
		for (i = 0; i < n; i++) {
			x += (double)(d->p[i] & 0x7f) * ldexp(1.0, 7 * i);
		}
		if (!(x < PB_TWO64)) {
			return dec_fail(d, d->p, "varint not below 2^64");
		}
	}
	d->p = p;
	*ret_u = u;
	if (ret_d != NULL) {
		*ret_d = x;
	}
	return 0;
}

/* A whole number as jansson holds it: an integer when it fits. */
static json_t *
dec_number(double x, bool is_int)
{
	if (is_int && x >= -9223372036854775808.0 &&
	    x < 9223372036854775808.0) {
		return json_integer((json_int_t)x);
	}
	if (!isfinite(x)) {
		return json_null();	/* JSON.stringify(NaN) */
	}
	return json_real(x);
}

/*
 * Returns the length of the UTF-8 sequence at <s> (<len> bytes left),
 * with <*ok> false when it is invalid: then the length is that of its
 * maximal subpart, which WHATWG (and Node) replace by one U+FFFD.
 */
static size_t
pb_utf8_step(const uint8_t *s, size_t len, bool *ok)
{
	uint8_t	 b = s[0], lo = 0x80, hi = 0xbf;
	size_t	 need, k;

	*ok = false;
	if (b < 0x80) {
		*ok = true;
		return 1;
	} else if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
	} else if (b == 0xe0) {
		need = 2;
		lo = 0xa0;
	} else if (b == 0xed) {
		need = 2;
		hi = 0x9f;
	} else if (b >= 0xe1 && b <= 0xef) {
		need = 2;
	} else if (b == 0xf0) {
		need = 3;
		lo = 0x90;
	} else if (b >= 0xf1 && b <= 0xf3) {
		need = 3;
	} else if (b == 0xf4) {
		need = 3;
		hi = 0x8f;
	} else {
		return 1;
	}
	for (k = 1; k <= need; k++) {
		if (k >= len || s[k] < lo || s[k] > hi) {
			return k;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*ok = true;
	return need + 1;
}

/* A JSON string of the bytes <s> as Buffer.toString('utf8') reads them. */
static json_t *
dec_string(const uint8_t *s, size_t len)
{
	json_t	*v;
	char	*buf;
	size_t	 i = 0, n, o = 0;
	bool	 ok = true;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		i += pb_utf8_step(s + i, len - i, &ok);
		if (!ok) {
			break;
		}
	}
	if (ok) {
		return json_stringn_nocheck((const char *)s, len);
	}
	/* Each byte becomes at most one U+FFFD, 3 bytes. */
	buf = xmalloc(len * 3 + 1);
	for (i = 0; i < len; i += n) {
		n = pb_utf8_step(s + i, len - i, &ok);
		if (ok) {
			memcpy(buf + o, s + i, n);
			o += n;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	v = json_stringn_nocheck(buf, o);
	free(buf);
	return v;
}

/* Reads <n> bytes little-endian, for float and double. */
static uint64_t
pb_le(const uint8_t *p, int n)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = n - 1; i >= 0; i--) {
		v = v << 8 | p[i];
	}
	return v;
}

/* Decodes one value of <type> (a message: <msg>) before <end>. */
static json_t *
dec_value(struct pb_dec *d, const uint8_t *end, uint8_t type,
    const struct pb_msg *msg)
{
	const uint8_t	*at = d->p;
	json_t		*v;
	uint64_t	 u;
	uint32_t	 w;
	double		 x, r;
	float		 f;

	switch (type) {
	case PB_T_UINT32:
	case PB_T_UINT64:
		if (dec_varint(d, end, &u, &x) != 0) {
			return NULL;
		}
		return dec_number(x, true);
	case PB_T_INT32:
	case PB_T_SINT32:
	case PB_T_SINT64:
		if (dec_varint(d, end, &u, &x) != 0) {
			return NULL;
		}
		if (x < PB_TWO53) {
			return json_integer((u & 1) != 0 ?
			    -(json_int_t)(u >> 1) - 1 : (json_int_t)(u >> 1));
		}
		/* decodeSInt32, in doubles: x is even up here. */
		r = fmod(x, 2) == 1 ? -1 : 1;
		return dec_number((fmod(x, 2) + x) / 2 * r, true);
	case PB_T_FLOAT:
		if (end - d->p < 4) {
			dec_fail(d, at, "truncated");
			return NULL;
		}
		w = (uint32_t)pb_le(d->p, 4);
		memcpy(&f, &w, 4);
		d->p += 4;
		return dec_number(f, false);
	case PB_T_DOUBLE:
		if (end - d->p < 8) {
			dec_fail(d, at, "truncated");
			return NULL;
		}
		u = pb_le(d->p, 8);
		memcpy(&x, &u, 8);
		d->p += 8;
		return dec_number(x, false);
	case PB_T_BOOL:
		if (dec_varint(d, end, &u, NULL) != 0) {
			return NULL;
		}
		return json_boolean(u != 0);
	case PB_T_STRING:
		if (dec_varint(d, end, &u, NULL) != 0) {
			return NULL;
		}
		if (u > (uint64_t)(end - d->p)) {
			dec_fail(d, at, "string of %" PRIu64 " bytes runs past "
			    "the end", u);
			return NULL;
		}
		v = dec_string(d->p, (size_t)u);
		d->p += u;
		return v;
	default:
		if (dec_varint(d, end, &u, NULL) != 0) {
			return NULL;
		}
		if (u > (uint64_t)(end - d->p)) {
			dec_fail(d, at, "message of %" PRIu64 " bytes runs "
			    "past the end", u);
			return NULL;
		}
		if (d->depth >= PB_DEPTH_MAX) {
			dec_fail(d, at, "nested deeper than %d", PB_DEPTH_MAX);
			return NULL;
		}
		v = json_object();
		d->depth++;
		if (dec_msg(d, d->p + u, msg, v) != 0) {
			json_decref(v);
			v = NULL;
		}
		d->depth--;
		return v;
	}
}

/* Decodes the entries of pinus map/obj field <f> into <obj>. */
static int
dec_entries(struct pb_dec *d, const uint8_t *end, const struct pb_field *f,
    json_t *obj)
{
	struct pb_frame	*fr = &d->path[d->depth];
	const uint8_t	*at = d->p;
	json_t		*k, *v;
	uint64_t	 n, i, u;
	double		 x, key;
	char		 num[32];
	int		 rc = 0;

	if (dec_varint(d, end, &n, NULL) != 0) {
		return -EBADMSG;
	}
	/* An entry takes at least 2 bytes. */
	if (n > (uint64_t)(end - d->p) / 2) {
		return dec_fail(d, at, "%" PRIu64 " entries cannot fit", n);
	}
	for (i = 0; i < n && rc == 0; i++) {
		at = d->p;
		if (f->key_type == PB_T_STRING) {
			if ((k = dec_value(d, end, PB_T_STRING, NULL)) ==
			    NULL) {
				return -EBADMSG;
			}
		} else {
			if (dec_varint(d, end, &u, &x) != 0) {
				return -EBADMSG;
			}
			/* The key as JavaScript has it, a number, then text. */
			if (f->key_type == PB_T_UINT32 ||
			    f->key_type == PB_T_UINT64) {
				key = x;
			} else if (x < PB_TWO53) {
				key = (u & 1) != 0 ? -(double)(u >> 1) - 1 :
				    (double)(u >> 1);
			} else {
				key = (fmod(x, 2) + x) / 2 *
				    (fmod(x, 2) == 1 ? -1 : 1);
			}
			if (fabs(key) > PB_TWO53) {
				return dec_fail(d, at, "map key beyond 2^53");
			}
			snprintf(num, sizeof(num), "%" PRId64, (int64_t)key);
			k = json_string_nocheck(num);
		}
		fr->key = json_string_value(k);
		if ((v = dec_value(d, end, f->type, f->msg)) == NULL) {
			rc = -EBADMSG;
		} else {
			json_object_setn_new_nocheck(obj, json_string_value(k),
			    json_string_length(k), v);
		}
		fr->key = NULL;
		json_decref(k);
	}
	return rc;
}

/*
 * Decodes fields of <m> into <obj> until <end>, as pomelo's decodeMsg:
 * by the schema type of each tag, whatever the wire type bits say.
 */
static int
dec_msg(struct pb_dec *d, const uint8_t *end, const struct pb_msg *m,
    json_t *obj)
{
	struct pb_frame		*fr = &d->path[d->depth];
	const struct pb_field	*f;
	const uint8_t		*at;
	json_t			*v, *arr;
	uint64_t		 key, n, i, min;

	while (d->p < end) {
		at = d->p;
		fr->f = NULL;
		fr->idx = SIZE_MAX;
		fr->key = NULL;
		if (dec_varint(d, end, &key, NULL) != 0) {
			return -EBADMSG;
		}
		if (key > UINT32_MAX ||
		    (f = pb_field_by_tag(m, key >> 3)) == NULL) {
			return dec_fail(d, at, "unknown tag %" PRIu64,
			    key >> 3);
		}
		fr->f = f;
		switch (f->rule) {
		case PB_R_REQUIRED:
		case PB_R_OPTIONAL:
			if ((v = dec_value(d, end, f->type, f->msg)) == NULL) {
				return -EBADMSG;
			}
			json_object_setn_new_nocheck(obj, f->name, f->name_len,
			    v);
			break;
		case PB_R_REPEATED:
			arr = json_object_getn(obj, f->name, f->name_len);
			if (arr == NULL) {
				arr = json_array();
				json_object_setn_new_nocheck(obj, f->name,
				    f->name_len, arr);
			}
			if (f->type == PB_T_STRING || f->type == PB_T_MESSAGE) {
				fr->idx = json_array_size(arr);
				if ((v = dec_value(d, end, f->type, f->msg)) ==
				    NULL) {
					return -EBADMSG;
				}
				json_array_append_new(arr, v);
				break;
			}
			at = d->p;
			if (dec_varint(d, end, &n, NULL) != 0) {
				return -EBADMSG;
			}
			min = f->type == PB_T_FLOAT ? 4 :
			    f->type == PB_T_DOUBLE ? 8 : 1;
			if (n > (uint64_t)(end - d->p) / min) {
				return dec_fail(d, at, "%" PRIu64 " elements "
				    "cannot fit", n);
			}
			for (i = 0; i < n; i++) {
				fr->idx = json_array_size(arr);
				if ((v = dec_value(d, end, f->type, NULL)) ==
				    NULL) {
					return -EBADMSG;
				}
				json_array_append_new(arr, v);
			}
			break;
		default:
			arr = json_object_getn(obj, f->name, f->name_len);
			if (arr == NULL) {
				arr = json_object();
				json_object_setn_new_nocheck(obj, f->name,
				    f->name_len, arr);
			}
			if (dec_entries(d, end, f, arr) != 0) {
				return -EBADMSG;
			}
			break;
		}
	}
	return 0;
}

int
pb_decode(const struct pb_msg *m, const uint8_t *in, size_t len,
    json_t **ret, char *err, size_t errlen)
{
	struct pb_dec	 d;
	json_t		*obj;

	d.start = in;
	d.p = in;
	d.err = err;
	d.errlen = errlen;
	d.depth = 0;
	obj = json_object();
	if (dec_msg(&d, in + len, m, obj) != 0) {
		json_decref(obj);
		return -EBADMSG;
	}
	*ret = obj;
	return 0;
}

int
pb_protos_load(const char *path, enum pb_flavour flavour,
    struct pb_protos **ret, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root;
	char		*text = NULL;
	size_t		 len = 0, skip = 0;
	int		 rc;

	rc = file_read(path, PB_FILE_MAX, &text, &len);
	if (rc == -EFBIG) {
		pb_error(err, errlen, "%s: larger than %u bytes", path,
		    PB_FILE_MAX);
		return rc;
	}
	if (rc != 0) {
		pb_error(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		skip = 3;	/* Node's require() strips a BOM */
	}
	root = json_loadb(text + skip, len - skip, JSON_DECODE_ANY, &jerr);
	free(text);
	if (root == NULL) {
		pb_error(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	rc = pb_protos_compile(root, flavour, path, ret, err, errlen);
	json_decref(root);
	return rc;
}
