/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The route table: "serverType.handler.method" to a C handler. Apps add
 * their routes at start; the table is then sorted once and searched with
 * bsearch. Its sorted names are also the dictionary's built-in routes, in
 * the order Pomelo numbers its handler routes.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

struct route {
	char		*name;
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

void
router_add(const char *route, route_cb cb)
{
	routes = xreallocarray(routes, n_routes + 1, sizeof *routes);
	routes[n_routes].name = xstrdup(route);
	routes[n_routes].len = strlen(route);
	routes[n_routes].cb = cb;
	n_routes++;
	sorted = false;
}

static void
router_sort(void)
{
	size_t	 i;

	if (sorted) {
		return;
	}
	qsort(routes, n_routes, sizeof *routes, route_cmp);
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
 * Runs the handler of <m>'s route. A request to an unknown route gets
 * {"code":500}, as from Pomelo; a notify is never answered.
 */
void
router_dispatch(struct conn *c, const struct msg *m)
{
	route_cb	 cb;

	cb = router_find(m->route, m->route_len);
	if (cb != NULL && memchr(m->route, '.', m->route_len) != NULL) {
		cb(c, m, m->route, m->route_len);
		return;
	}
	conn_log(c, LOG_LEVEL_DEBUG, "no handler for route \"%.*s\"",
	    (int)m->route_len, m->route);
	if (m->type == MSG_REQUEST) {
		conn_respond(c, m->id, router_error, sizeof router_error - 1);
	}
}

void
router_finish(void)
{
	size_t	 i;

	for (i = 0; i < n_routes; i++) {
		free(routes[i].name);
	}
	FREE_AND_NULL(routes);
	FREE_AND_NULL(names);
	n_routes = 0;
	sorted = false;
}
