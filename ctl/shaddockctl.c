/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * shaddockctl: sends one command to the admin socket of shaddockd and
 * prints the answer. It knows no command but "status" (show info): the
 * server has the list, which `shaddockctl help` prints. Exit status: 0
 * when the command succeeded, 1 when the server answered with an error,
 * 2 when the server could not be reached.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define CTL_TIMEOUT_MS	60000	/* a reload may wait for new workers */

static void
usage(void)
{
	fprintf(stderr, "usage: shaddockctl [-s socket] [-c config] "
	    "command [argument ...]\n"
	    "       shaddockctl help: the commands of the running server\n");
	exit(2);
}

/* The socket named by -s, by the config's admin_socket, or the default. */
static char *
ctl_socket(const char *sock, const char *config)
{
	struct conf	*conf;
	char		*errors, *path, *dir;

	if (sock != NULL) {
		return xstrdup(sock);
	}
	if (config != NULL) {
		if (conf_load(config, &conf, &errors) != 0) {
			fprintf(stderr, "shaddockctl: %s", errors);
			free(errors);
			exit(2);
		}
		path = xstrdup(conf->admin_socket);
		conf_free(conf);
		return path;
	}
	if (access(CONF_DEFAULT_PATH, R_OK) == 0 &&
	    conf_load(CONF_DEFAULT_PATH, &conf, &errors) == 0) {
		path = xstrdup(conf->admin_socket);
		conf_free(conf);
		return path;
	}
	dir = conf_default_runtime_dir();
	xasprintf(&path, "%s/admin.sock", dir);
	free(dir);
	return path;
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "shaddockctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) ==
	    -1) {
		fprintf(stderr, "shaddockctl: cannot connect to %s: %s\n",
		    path, strerror(errno));
		if (fd != -1) {
			close(fd);
		}
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *s, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, s, len);
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char	*sock = NULL, *config = NULL;
	struct pollfd	 pfd;
	char		*path, *cmd = NULL, *answer = NULL;
	size_t		 len = 0, cmdlen = 0, alen;
	ssize_t		 n = 0;
	int		 ch, fd, i, r;
	bool		 error;

	log_open('C', LOG_LEVEL_WARN, NULL);
	/* A refused peer is answered and closed: read that answer. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "s:c:h")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage();
	}
	/* "status" is the friendly name of "show info". */
	if (strcmp(argv[0], "status") == 0 && (argc == 1 || (argc == 2 &&
	    strcmp(argv[1], "json") == 0))) {
		cmd = xstrdup(argc == 2 ? "show info json" : "show info");
		cmdlen = strlen(cmd);
	}
	for (i = 0; cmd == NULL && i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL) {
			fprintf(stderr, "shaddockctl: a command is one line\n");
			return 2;
		}
	}
	for (i = 0; cmdlen == 0 && i < argc; i++) {
		cmd = xrealloc(cmd, len + strlen(argv[i]) + 2);
		if (i > 0) {
			cmd[len++] = ' ';
		}
		memcpy(cmd + len, argv[i], strlen(argv[i]) + 1);
		len += strlen(argv[i]);
	}
	if (cmdlen == 0) {
		cmdlen = len;
	}
	cmd = xrealloc(cmd, cmdlen + 2);
	cmd[cmdlen++] = '\n';
	cmd[cmdlen] = '\0';

	path = ctl_socket(sock, config);
	fd = ctl_connect(path);
	free(path);
	if (fd == -1) {
		free(cmd);
		return 2;
	}
	/* On failure the server may have answered already (refusal). */
	write_all(fd, cmd, cmdlen);
	free(cmd);

	/* Read until the empty line that ends the answer, or EOF. */
	alen = 0;
	answer = xmalloc(4096);
	for (;;) {
		if (alen >= 2 && answer[alen - 1] == '\n' &&
		    answer[alen - 2] == '\n') {
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, CTL_TIMEOUT_MS);
		if (r == 0) {
			fprintf(stderr, "shaddockctl: no answer within %d s\n",
			    CTL_TIMEOUT_MS / 1000);
			return 2;
		}
		if (r == -1 && errno == EINTR) {
			continue;
		}
		answer = xrealloc(answer, alen + 4096);
		n = read(fd, answer + alen, 4096);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		alen += (size_t)n;
	}
	close(fd);
	if (alen == 0) {
		fprintf(stderr, "shaddockctl: the server closed the connection "
		    "without an answer (%s)\n", n == -1 ? strerror(errno) :
		    "end of file");
		return 2;
	}
	/* Drop the terminating empty line. */
	if (alen >= 1 && answer[alen - 1] == '\n') {
		alen--;
	}
	error = (alen >= 7 && strncmp(answer, "error: ", 7) == 0) ||
	    (alen >= 9 && strncmp(answer, "{\"error\":", 9) == 0);
	fwrite(answer, 1, alen, error ? stderr : stdout);
	free(answer);
	return error ? 1 : 0;
}
