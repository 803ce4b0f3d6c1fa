/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The listening sockets. In reuseport mode every listener has one
 * SO_REUSEPORT socket per worker slot; the master holds them for the life
 * of the slot, so a respawned or reloaded worker of the slot gets the same
 * socket and the connections in its accept queue are never reset. In
 * shared mode, and for sockets systemd passed in, one socket serves every
 * slot. A reload keeps the sockets of every listener whose address is
 * unchanged and binds only new addresses. `show listeners` is here.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sdnotify.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "master/master.h"

static int
listen_bind_one(const struct listener *l, bool reuseport, char *err,
    size_t errlen)
{
	const struct sockaddr_un	*sun;
	int				 fd, on = 1;

	fd = socket(l->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (l->addr.ss.ss_family != AF_UNIX) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
		    sizeof on) == -1) {
			snprintf(err, errlen, "SO_REUSEPORT: %s",
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (l->addr.ss.ss_family == AF_INET6) {
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof on);
		}
	} else {
		sun = (const struct sockaddr_un *)&l->addr.ss;
		/* A stale socket file from an earlier run. */
		unlink(sun->sun_path);
	}
	if (bind(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) ==
	    -1) {
		snprintf(err, errlen, "bind %s: %s", l->address,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, l->backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", l->address,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* Clients of any user may connect, as to a TCP port. */
	if (l->addr.ss.ss_family == AF_UNIX) {
		sun = (const struct sockaddr_un *)&l->addr.ss;
		chmod(sun->sun_path, 0666);
	}
	return fd;
}

/*
 * Opens the sockets of <l> for <n_slots> slots: one per slot in reuseport
 * mode (TCP only), else one. Sockets already open are kept and only the
 * missing ones are added; listen_trim() closes those of removed slots.
 * Returns 0 or -1 with a reason in <err>.
 */
static int
listen_open(struct listener *l, size_t n_slots, bool reuseport, char *err,
    size_t errlen)
{
	size_t	 want, i;
	int	 fd;

	if (l->adopted || l->addr.ss.ss_family == AF_UNIX) {
		reuseport = false;
	}
	if (l->n_fds > 0 && l->shared != !reuseport) {
		snprintf(err, errlen, "changing accept mode needs a restart");
		return -1;
	}
	l->shared = !reuseport;
	want = reuseport ? n_slots : 1;
	if (l->n_fds < want) {
		l->fds = xreallocarray(l->fds, want, sizeof *l->fds);
		for (i = l->n_fds; i < want; i++) {
			fd = listen_bind_one(l, reuseport, err, errlen);
			if (fd == -1) {
				while (i > l->n_fds) {
					close(l->fds[--i]);
				}
				return -1;
			}
			l->fds[i] = fd;
		}
		l->n_fds = want;
	}
	return 0;
}

/* Closes the sockets of slots beyond <n_slots>; their queues go with them. */
static void
listen_trim(struct listener *l, size_t n_slots)
{
	size_t	 want = l->shared ? 1 : n_slots;

	while (l->n_fds > want) {
		close(l->fds[--l->n_fds]);
	}
}

static void
listen_close(struct listener *l)
{
	const struct sockaddr_un	*sun;
	size_t				 i;

	for (i = 0; i < l->n_fds; i++) {
		close(l->fds[i]);
	}
	if (l->n_fds > 0 && !l->adopted && l->addr.ss.ss_family == AF_UNIX) {
		sun = (const struct sockaddr_un *)&l->addr.ss;
		unlink(sun->sun_path);
	}
	free(l->fds);
	l->fds = NULL;
	l->n_fds = 0;
	free(l->name);
	free(l->address);
}

void
listen_free_all(struct listener *ls, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		listen_close(&ls[i]);
	}
	free(ls);
}

int
listen_slot_fd(const struct listener *l, int slot)
{
	if (l->shared || l->n_fds == 1) {
		return l->fds[0];
	}
	return l->fds[slot];
}

/* Finds a socket systemd passed for <a>; returns it (taken) or -1. */
static int
listen_take_systemd(const struct addr *a)
{
	struct addr	 have;
	int		 i, fd;

	for (i = 0; i < master->n_sd_fds; i++) {
		fd = master->sd_fds[i];
		if (fd == -1) {
			continue;
		}
		have.len = sizeof have.ss;
		memset(&have.ss, 0, sizeof have.ss);
		if (getsockname(fd, (struct sockaddr *)&have.ss, &have.len) ==
		    -1) {
			continue;
		}
		if (have.ss.ss_family == AF_UNIX && a->ss.ss_family ==
		    AF_UNIX) {
			if (strcmp(((struct sockaddr_un *)&have.ss)->sun_path,
			    ((const struct sockaddr_un *)&a->ss)->sun_path) ==
			    0) {
				master->sd_fds[i] = -1;
				return fd;
			}
			continue;
		}
		if (have.len == a->len && memcmp(&have.ss, &a->ss, a->len) ==
		    0) {
			master->sd_fds[i] = -1;
			return fd;
		}
	}
	return -1;
}

/* Takes the descriptors systemd passed, if any, for listen_reconcile(). */
void
listen_adopt_systemd(void)
{
	int	 n, i;

	/* Matched by address, so the names are not needed. */
	n = sdnotify_listen_fds(NULL);
	if (n <= 0) {
		return;
	}
	master->sd_fds = xcalloc((size_t)n, sizeof *master->sd_fds);
	for (i = 0; i < n; i++) {
		master->sd_fds[i] = SD_LISTEN_FDS_START + i;
		fd_nonblock(master->sd_fds[i]);
	}
	master->n_sd_fds = n;
	log_info("systemd passed %d listening socket%s", n, n == 1 ? "" :
	    "s");
}

/* show listeners: each listener and the sockets the master holds. */
static void
listen_show(struct admin_call *call)
{
	const struct listener_conf	*lc;
	struct listener			*l;
	json_t				*list = json_array(), *o;
	size_t				 i;

	for (i = 0; i < master->n_listeners; i++) {
		l = &master->listeners[i];
		o = json_pack("{s:s, s:s, s:I, s:b, s:b}", "name", l->name,
		    "address", l->address, "sockets", (json_int_t)l->n_fds,
		    "shared", l->shared, "systemd", l->adopted);
		/* The listeners are in the order of the conf's. */
		lc = &master->conf->listeners[i];
		tls_ctx_show(lc->tls_ctx, conf_tls_name(lc->tls), o);
		json_array_append_new(list, o);
	}
	admin_answer(call, json_pack("{s:o}", "listeners", list));
}

static const struct admin_cmd listen_cmds[] = {
	{ "show listeners", NULL, 0, "the listeners and their sockets",
	  listen_show },
};
ADMIN_COMMANDS(listen_cmds)

/*
 * Builds the listener table for <conf>: listeners whose address is in the
 * current table keep their sockets (moved, not reopened), sockets systemd
 * passed are adopted, the rest are bound. On failure nothing of the
 * current table has changed and -1 is returned with a reason in <err>;
 * on success the current table is replaced and its dropped listeners are
 * closed.
 */
int
listen_reconcile(struct conf *conf, struct listener **ret, size_t *ret_n,
    char *err, size_t errlen)
{
	struct listener		*old = master->listeners, *ls, *l;
	size_t			 n_old = master->n_listeners, i, j;
	bool			 reuseport;
	ssize_t			*from;
	char			 why[256];
	int			 fd;

	reuseport = conf->accept == CONF_ACCEPT_REUSEPORT;
	ls = xcalloc(conf->n_listeners, sizeof *ls);
	from = xcalloc(conf->n_listeners, sizeof *from);
	for (i = 0; i < conf->n_listeners; i++) {
		l = &ls[i];
		l->name = xstrdup(conf->listeners[i].name);
		l->address = xstrdup(conf->listeners[i].address);
		l->addr = conf->listeners[i].addr;
		l->backlog = (int)conf->listeners[i].backlog;
		from[i] = -1;
		for (j = 0; j < n_old; j++) {
			if (old[j].fds != NULL &&
			    addr_equal(&old[j].addr, &l->addr)) {
				break;
			}
		}
		if (j < n_old) {
			/* Unchanged: the same sockets, never closed. */
			from[i] = (ssize_t)j;
			l->fds = old[j].fds;
			l->n_fds = old[j].n_fds;
			l->adopted = old[j].adopted;
			l->shared = old[j].shared;
			old[j].fds = NULL;
			old[j].n_fds = 0;
		} else if ((fd = listen_take_systemd(&l->addr)) != -1) {
			l->adopted = true;
			l->shared = true;
			l->fds = xmalloc(sizeof *l->fds);
			l->fds[0] = fd;
			l->n_fds = 1;
		}
		if (listen_open(l, conf->workers, reuseport, why,
		    sizeof why) == -1) {
			snprintf(err, errlen, "[listener %s]: %s", l->name,
			    why);
			goto fail;
		}
	}
	for (i = 0; i < conf->n_listeners; i++) {
		l = &ls[i];
		listen_trim(l, conf->workers);
		if (from[i] != -1 && l->backlog != old[from[i]].backlog) {
			for (j = 0; j < l->n_fds; j++) {
				listen(l->fds[j], l->backlog);
			}
		}
	}
	for (j = 0; j < n_old; j++) {
		if (old[j].fds != NULL) {
			log_info("listener %s (%s) removed", old[j].name,
			    old[j].address);
		}
	}
	listen_free_all(old, n_old);
	free(from);
	*ret = ls;
	*ret_n = conf->n_listeners;
	return 0;

fail:
	/* Give the kept sockets back, with any added for new slots. */
	for (i = 0; i < conf->n_listeners; i++) {
		if (from[i] != -1) {
			old[from[i]].fds = ls[i].fds;
			old[from[i]].n_fds = ls[i].n_fds;
			ls[i].fds = NULL;
			ls[i].n_fds = 0;
		}
	}
	listen_free_all(ls, conf->n_listeners);
	free(from);
	return -1;
}
