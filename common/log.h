/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Logging for the master, the workers and the tools: one line per message
 * with a timestamp, the pid, the role (M master, W worker, C client tool)
 * and the level, written to stderr or to the configured log file.
 */

#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

extern enum log_level log_level;

void	 log_open(char role, enum log_level level, const char *path);
int	 log_reopen(void);
int	 log_adopt(int fd);
void	 log_set_role(char role);
void	 log_set_level(enum log_level level);
int	 log_fd(void);

void	 log_write(enum log_level level, const char *file, int line,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 log_vwrite(enum log_level level, const char *file, int line,
	     const char *fmt, va_list ap)
	     __attribute__((format(printf, 4, 0)));
void	 fatal(const char *fmt, ...)
	     __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	     __attribute__((format(printf, 1, 2), noreturn));

/* The level is tested before the arguments are evaluated. */
#define LOG_AT(lvl, ...) do {						\
	if ((lvl) <= log_level)						\
		log_write((lvl), __FILE__, __LINE__, __VA_ARGS__);	\
} while (0)

#define log_error(...)	LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
