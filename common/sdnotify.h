/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The systemd notification protocol (sd_notify(3)) and socket activation
 * (sd_listen_fds(3)), written out: a datagram of NEWLINE-separated
 * assignments to $NOTIFY_SOCKET, and descriptors from 3 described by
 * $LISTEN_FDS, $LISTEN_PID and $LISTEN_FDNAMES. No libsystemd.
 */

#ifndef COMMON_SDNOTIFY_H
#define COMMON_SDNOTIFY_H

#include <stdint.h>

#define SD_LISTEN_FDS_START	3

/*
 * Sends <state> (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET, an
 * absolute path or an abstract name starting with '@'. Returns 1 when
 * sent, 0 when there is no socket to send to, or -errno.
 */
int	 sdnotify(const char *state);
int	 sdnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval in microseconds from $WATCHDOG_USEC, or 0. */
uint64_t sdnotify_watchdog_usec(void);

/*
 * The number of descriptors systemd passed (0 when none or not for this
 * process); sets them close-on-exec and, when <ret_names> is not NULL, the
 * names from $LISTEN_FDNAMES (an array the caller frees with the strings,
 * or NULL). Unsets the variables so no child sees them.
 */
int	 sdnotify_listen_fds(char ***ret_names);

#endif
