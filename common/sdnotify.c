/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * sd_notify(3) and sd_listen_fds(3) without libsystemd (see sdnotify.h).
 * HAProxy and OpenSSH do the same; the protocol is a single datagram.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sdnotify.h"
#include "common/util.h"
#include "common/xmalloc.h"

int
sdnotify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 len;
	size_t			 plen;
	ssize_t			 n;
	int			 fd, r;

	path = getenv("NOTIFY_SOCKET");
	if (path == NULL || *path == '\0') {
		return 0;
	}
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    plen >= sizeof sun.sun_path) {
		return -EINVAL;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
	}
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/' ? 1 : 0));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		return -errno;
	}
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	r = n == -1 ? -errno : 1;
	close(fd);
	return r;
}

int
sdnotifyf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	r = sdnotify(s);
	free(s);
	return r;
}

uint64_t
sdnotify_watchdog_usec(void)
{
	const char	*s, *pid;
	uint64_t	 v, p;

	s = getenv("WATCHDOG_USEC");
	if (s == NULL || parse_uint(s, &v) != 0) {
		return 0;
	}
	pid = getenv("WATCHDOG_PID");
	if (pid != NULL && (parse_uint(pid, &p) != 0 ||
	    p != (uint64_t)getpid())) {
		return 0;
	}
	return v;
}

int
sdnotify_listen_fds(char ***ret_names)
{
	const char	*s;
	char		*names, *tok, *save, **out = NULL;
	uint64_t	 pid, n;
	int		 i;

	if (ret_names != NULL) {
		*ret_names = NULL;
	}
	s = getenv("LISTEN_PID");
	if (s == NULL || parse_uint(s, &pid) != 0 ||
	    pid != (uint64_t)getpid()) {
		return 0;
	}
	s = getenv("LISTEN_FDS");
	if (s == NULL || parse_uint(s, &n) != 0 || n == 0 || n > 1024) {
		return 0;
	}
	for (i = 0; i < (int)n; i++) {
		fd_cloexec(SD_LISTEN_FDS_START + i, true);
	}
	s = getenv("LISTEN_FDNAMES");
	if (ret_names != NULL && s != NULL) {
		out = xcalloc(n + 1, sizeof *out);
		names = xstrdup(s);
		i = 0;
		for (tok = strtok_r(names, ":", &save);
		    tok != NULL && i < (int)n;
		    tok = strtok_r(NULL, ":", &save)) {
			out[i++] = xstrdup(tok);
		}
		free(names);
		*ret_names = out;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}
