/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * sd_notify datagrams to a path and to an abstract socket, and the
 * socket-activation variables.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sdnotify.h"
#include "tests/unit/test.h"

static int
listen_dgram(const char *name, bool abstract)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (abstract) {
		memcpy(sun.sun_path + 1, name, strlen(name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		    strlen(name));
	} else {
		strcpy(sun.sun_path, name);
		unlink(name);
		len = sizeof sun;
	}
	if (bind(fd, (struct sockaddr *)&sun, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t
recv_now(int fd, char *buf, size_t size)
{
	struct timeval	 tv = { 2, 0 };
	ssize_t		 n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	n = recv(fd, buf, size - 1, 0);
	if (n >= 0) {
		buf[n] = '\0';
	}
	return n;
}

TEST(no_socket)
{
	unsetenv("NOTIFY_SOCKET");
	ASSERT_EQ(sdnotify("READY=1"), 0);
}

TEST(path_socket)
{
	char	 path[64], buf[256];
	int	 fd;

	snprintf(path, sizeof path, "/tmp/test-sdnotify-%d.sock",
	    (int)getpid());
	fd = listen_dgram(path, false);
	ASSERT_TRUE(fd != -1);
	setenv("NOTIFY_SOCKET", path, 1);
	ASSERT_EQ(sdnotify("READY=1\nSTATUS=serving"), 1);
	ASSERT_EQ(recv_now(fd, buf, sizeof buf), 22);
	ASSERT_STR_EQ(buf, "READY=1\nSTATUS=serving");
	ASSERT_EQ(sdnotifyf("RELOADING=1\nMONOTONIC_USEC=%d", 12345), 1);
	recv_now(fd, buf, sizeof buf);
	ASSERT_STR_EQ(buf, "RELOADING=1\nMONOTONIC_USEC=12345");
	close(fd);
	unlink(path);
	/* Nobody listening any more: an error, not a crash. */
	ASSERT_LT(sdnotify("STOPPING=1"), 0);
}

TEST(abstract_socket)
{
	char	 name[64], env[80], buf[64];
	int	 fd;

	snprintf(name, sizeof name, "test-sdnotify-%d", (int)getpid());
	fd = listen_dgram(name, true);
	ASSERT_TRUE(fd != -1);
	snprintf(env, sizeof env, "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	ASSERT_EQ(sdnotify("WATCHDOG=1"), 1);
	recv_now(fd, buf, sizeof buf);
	ASSERT_STR_EQ(buf, "WATCHDOG=1");
	close(fd);
}

TEST(bad_socket_name)
{
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ASSERT_EQ(sdnotify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

TEST(watchdog)
{
	char	 pid[32];

	unsetenv("WATCHDOG_USEC");
	ASSERT_UEQ(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	unsetenv("WATCHDOG_PID");
	ASSERT_UEQ(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_UEQ(sdnotify_watchdog_usec(), 0);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_UEQ(sdnotify_watchdog_usec(), 30000000);
	unsetenv("WATCHDOG_USEC");
}

TEST(listen_fds)
{
	char	 pid[32], **names;
	int	 fd3, fd4;

	/* Put two descriptors at 3 and 4, as systemd would. */
	fd3 = dup2(STDIN_FILENO, 3);
	fd4 = dup2(STDIN_FILENO, 4);
	ASSERT_EQ(fd3, 3);
	ASSERT_EQ(fd4, 4);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "main:admin", 1);
	snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	ASSERT_EQ(sdnotify_listen_fds(&names), 0);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	ASSERT_EQ(sdnotify_listen_fds(&names), 2);
	ASSERT_TRUE(names != NULL);
	ASSERT_STR_EQ(names[0], "main");
	ASSERT_STR_EQ(names[1], "admin");
	ASSERT_TRUE(names[2] == NULL);
	free(names[0]);
	free(names[1]);
	free(names);
	/* The variables are gone, so no child sees them. */
	ASSERT_TRUE(getenv("LISTEN_FDS") == NULL);
	ASSERT_TRUE(getenv("LISTEN_PID") == NULL);
	ASSERT_EQ(sdnotify_listen_fds(NULL), 0);
	close(3);
	close(4);
}

int
main(void)
{
	log_open('T', LOG_LEVEL_ERROR, NULL);
	RUN(no_socket);
	RUN(path_socket);
	RUN(abstract_socket);
	RUN(bad_socket_name);
	RUN(watchdog);
	RUN(listen_fds);
	TEST_DONE();
}
