/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The route table: "serverType.handler.method" to a C handler. Each app
 * declares its routes in a static table and adds it at start; the routes
 * are then sorted once and found by binary search. Their sorted names are
 * also the dictionary's built-in routes, in the order Pomelo numbers its
 * handler routes.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

struct route {
	const char	*name;		/* the app's, static */
	size_t		 len;
	route_cb	 cb;
};

static struct route	*routes;
static size_t		 n_routes;
static bool		 sorted;
static const char	**names;

static const uint8_t	 router_error[] = "{\"code\":500}";

static int
route_cmp(const void *a, const void *b)
{
	return strcmp(((const struct route *)a)->name,
	    ((const struct route *)b)->name);
}

/* Adds the <n> routes of <table>, which stays the caller's (static). */
void
router_add(const struct route_entry *table, size_t n)
{
	size_t	 i;

	routes = xreallocarray(routes, n_routes + n, sizeof *routes);
	for (i = 0; i < n; i++) {
		routes[n_routes].name = table[i].route;
		routes[n_routes].len = strlen(table[i].route);
		routes[n_routes].cb = table[i].cb;
		n_routes++;
	}
	sorted = false;
}

static void
router_sort(void)
{
	size_t	 i;

	if (sorted) {
		return;
	}
	if (n_routes > 0) {
		/* No built-in app: no table at all (qsort wants one). */
		qsort(routes, n_routes, sizeof *routes, route_cmp);
	}
	free(names);
	names = xcalloc(n_routes + 1, sizeof *names);
	for (i = 0; i < n_routes; i++) {
		names[i] = routes[i].name;
	}
	sorted = true;
}

/* The route names in sorted order (borrowed). */
const char *const *
router_routes(size_t *ret_n)
{
	router_sort();
	*ret_n = n_routes;
	return names;
}

route_cb
router_find(const char *route, size_t len)
{
	size_t	 lo = 0, hi, mid;
	int	 cmp;

	router_sort();
	hi = n_routes;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		cmp = strncmp(route, routes[mid].name, len);
		if (cmp == 0 && routes[mid].len != len) {
			cmp = len < routes[mid].len ? -1 : 1;
		}
		if (cmp == 0) {
			return routes[mid].cb;
		}
		if (cmp < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return NULL;
}

/*
 * Runs the handler of <r>'s route, or forwards it to a backend of the
 * cluster. A request to an unknown route gets {"code":500}, as from
 * Pomelo; a notify is never answered.
 */
void
router_dispatch(struct session *s, struct request *r)
{
	route_cb	 cb;

	cb = router_find(r->route, r->route_len);
	if (cb != NULL && memchr(r->route, '.', r->route_len) != NULL) {
		cb(s, r);
		return;
	}
	if (forward_request(s, r)) {
		return;
	}
	session_log(s, LOG_LEVEL_DEBUG, "no handler for route \"%.*s\"",
	    (int)r->route_len, r->route);
	if (r->type == MSG_REQUEST) {
		session_respond(s, r->id, router_error,
		    sizeof router_error - 1);
	}
}

void
router_finish(void)
{
	FREE_AND_NULL(routes);
	FREE_AND_NULL(names);
	n_routes = 0;
	sorted = false;
}
