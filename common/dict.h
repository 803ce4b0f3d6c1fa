/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The route dictionary (PROTOCOL.md §5): routes numbered from 1, the
 * server's own handler routes sorted first, then those of the dictionary
 * file (a JSON array of strings) in file order, skipping repeats. The
 * version is base64(MD5(compact JSON of the route-to-code object)), as
 * Pomelo computes it. The JSON texts the handshake reply needs are built
 * once, here.
 */

#ifndef COMMON_DICT_H
#define COMMON_DICT_H

#include <stddef.h>
#include <stdint.h>

struct dict_entry {
	const char	*route;		/* owned by the dict */
	size_t		 len;		/* strlen(route) */
	uint16_t	 code;
};

struct dict {
	size_t			 n;
	char			**routes;	/* routes[code - 1] */
	struct dict_entry	*by_route;	/* sorted by route for bsearch */
	char			*version;	/* base64(MD5(json_dict)) */
	char			*json_dict;	/* {"route":code,...} */
	char			*json_code_to_route; /* {"1":"route",...} */
};

/*
 * Builds <d> from <builtin> routes (sorted here, any order in, in the
 * UTF-16 order of JavaScript's Array.prototype.sort) and the routes of
 * <file> (NULL or "" for none). A route met a second time keeps its first
 * code. An empty object ({}, what the pomelo templates ship) counts as an
 * empty array. Returns 0, or -errno with a message naming the file and the
 * problem in <err> (<errlen> bytes, may be 0): the file cannot be read
 * (its errno), is not JSON or not an array of non-empty strings of at most
 * 255 bytes (-EINVAL), a built-in route is empty or too long (-EINVAL), or
 * there are more than 65535 routes in all (-E2BIG). On failure <d> is left
 * zeroed.
 *
 * json_dict is the route-to-code object exactly as JSON.stringify prints
 * it: compact, strings escaped as JavaScript does, members in code order
 * except that routes which are array indices ("7") come first in numeric
 * order, as JavaScript orders object keys. json_code_to_route lists the
 * codes in ascending order.
 */
int	 dict_init(struct dict *d, const char *const *builtin, size_t n_builtin,
	     const char *file, char *err, size_t errlen);

/* Frees what <d> holds and zeroes it; accepts a zeroed <d> and NULL. */
void	 dict_finish(struct dict *d);

/*
 * Returns the code of the <len> bytes at <route> (no NUL needed) or 0 when
 * they are not in the dictionary.
 */
uint16_t dict_code(const struct dict *d, const char *route, size_t len);

/* Returns the route of <code> (borrowed) or NULL. */
const char *dict_route(const struct dict *d, uint16_t code);

#endif
