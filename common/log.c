/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Log lines are formatted into one buffer and written with a single
 * write(2), so lines from the master and the workers sharing a file never
 * interleave. The file is opened with O_APPEND; log_reopen() reopens it by
 * name after rotation (SIGUSR1).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

enum log_level log_level = LOG_LEVEL_INFO;

static char	 log_role = 'M';
static int	 log_out = STDERR_FILENO;
static char	*log_path;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static int
log_open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/*
 * Sets the role and level and, when <path> is neither NULL nor empty,
 * sends the lines to that file. A file that cannot be opened leaves the
 * output on stderr and says so.
 */
void
log_open(char role, enum log_level level, const char *path)
{
	int	 fd;

	log_role = role;
	log_level = level;
	if (path == NULL || *path == '\0') {
		return;
	}
	fd = log_open_path(path);
	if (fd == -1) {
		log_error("cannot open log file %s: %s", path, strerror(errno));
		return;
	}
	if (log_out != STDERR_FILENO) {
		close(log_out);
	}
	log_out = fd;
	free(log_path);
	log_path = strdup(path);
}

/* Reopens the log file by name; returns 0 or -errno. */
int
log_reopen(void)
{
	int	 fd;

	if (log_path == NULL) {
		return 0;
	}
	fd = log_open_path(log_path);
	if (fd == -1) {
		return -errno;
	}
	if (dup2(fd, log_out) == -1) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/*
 * Writes from now on to <fd> (a copy of the master's reopened log file);
 * <fd> stays the caller's. Returns 0 or -errno.
 */
int
log_adopt(int fd)
{
	if (log_out == STDERR_FILENO || log_out == fd) {
		return 0;
	}
	if (dup2(fd, log_out) == -1) {
		return -errno;
	}
	return 0;
}

void
log_set_role(char role)
{
	log_role = role;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_fd(void)
{
	return log_out;
}

void
log_vwrite(enum log_level level, const char *file, int line,
    const char *fmt, va_list ap)
{
	char		 buf[2048];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 off;
	int		 n, saved = errno;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	off = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(buf + off, sizeof buf - off, ".%03ld %d %c %s ",
	    ts.tv_nsec / 1000000, (int)getpid(), log_role, log_names[level]);
	off += (size_t)n;
	if (log_level >= LOG_LEVEL_DEBUG && file != NULL) {
		n = snprintf(buf + off, sizeof buf - off, "[%s:%d] ", file,
		    line);
		if (n > 0 && (size_t)n < sizeof buf - off) {
			off += (size_t)n;
		}
	}
	n = vsnprintf(buf + off, sizeof buf - off - 1, fmt, ap);
	if (n < 0) {
		n = 0;
	}
	off += (size_t)n;
	if (off > sizeof buf - 2) {
		off = sizeof buf - 2;
	}
	buf[off++] = '\n';
	while (write(log_out, buf, off) == -1 && errno == EINTR) {
		;
	}
	errno = saved;
}

void
log_write(enum log_level level, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(level, file, line, fmt, ap);
	va_end(ap);
}

/* Logs the message with strerror(errno) appended and exits. */
void
fatal(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_write(LOG_LEVEL_ERROR, NULL, 0, "fatal: %s: %s", msg,
	    strerror(saved));
	exit(1);
}

/* Logs the message and exits. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_write(LOG_LEVEL_ERROR, NULL, 0, "fatal: %s", msg);
	exit(1);
}
