/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * What the load generator reads about the server under test from /proc:
 * its processes (the pids given and, on request, their descendants), their
 * CPU time (utime + stime of /proc/PID/stat) and their memory (VmRSS of
 * /proc/PID/status and Pss of /proc/PID/smaps_rollup).
 */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen.h"

/*
 * Reads /proc/<pid>/stat into <buf> and returns the text after the ")" that
 * ends the command name (which may hold spaces), or NULL.
 */
static const char *
lg_proc_stat(pid_t pid, char *buf, size_t size)
{
	char	 path[64];
	FILE	*f;
	size_t	 n;
	char	*p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL) {
		return NULL;
	}
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL) {
		return NULL;
	}
	return p + 1;
}

static bool
lg_proc_has(const pid_t *pids, int npids, pid_t pid)
{
	int	 i;

	for (i = 0; i < npids; i++) {
		if (pids[i] == pid) {
			return true;
		}
	}
	return false;
}

/* Returns the new count of <pids>. */
int
lg_proc_add_children(pid_t *pids, int npids, int max)
{
	char		 buf[1024];
	struct dirent	*de;
	const char	*p;
	DIR		*d;
	bool		 grew;
	char		*endp;
	long		 pid;
	int		 ppid, rounds;

	/* A process can only be added after its parent: loop to a fixpoint. */
	for (rounds = 0, grew = true; grew && rounds < 16; rounds++) {
		grew = false;
		if ((d = opendir("/proc")) == NULL) {
			return npids;
		}
		while ((de = readdir(d)) != NULL && npids < max) {
			pid = strtol(de->d_name, &endp, 10);
			if (*endp != '\0' || pid <= 0 ||
			    lg_proc_has(pids, npids, (pid_t)pid)) {
				continue;
			}
			if ((p = lg_proc_stat((pid_t)pid, buf, sizeof(buf))) ==
			    NULL || sscanf(p, " %*c %d", &ppid) != 1) {
				continue;
			}
			if (lg_proc_has(pids, npids, (pid_t)ppid)) {
				pids[npids++] = (pid_t)pid;
				grew = true;
			}
		}
		closedir(d);
	}
	return npids;
}

double
lg_proc_cpu(const pid_t *pids, int npids)
{
	unsigned long long	 ut, st, ticks = 0;
	char			 buf[1024];
	const char		*p;
	int			 i, alive = 0;

	for (i = 0; i < npids; i++) {
		if ((p = lg_proc_stat(pids[i], buf, sizeof(buf))) == NULL) {
			continue;
		}
		/* After the name: state, then fields 4 to 13, then utime. */
		if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%llu %llu", &ut, &st) != 2) {
			continue;
		}
		ticks += ut + st;
		alive++;
	}
	if (alive == 0) {
		return -1;
	}
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Finds "<name>: <n> kB" in /proc/<pid>/<file>; returns the kB or -1. */
static long long
lg_proc_field(pid_t pid, const char *file, const char *name)
{
	char		 path[64], line[256];
	size_t		 n = strlen(name);
	long long	 v = -1;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((f = fopen(path, "re")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Returns 0, or -ESRCH when no pid could be read. */
int
lg_proc_mem(const pid_t *pids, int npids, struct lg_mem *ret)
{
	struct lg_mem	 m = { 0, 0 };
	long long	 rss, pss;
	int		 i, alive = 0;

	for (i = 0; i < npids; i++) {
		if ((rss = lg_proc_field(pids[i], "status", "VmRSS")) < 0) {
			continue;
		}
		alive++;
		m.rss_kb += (uint64_t)rss;
		if ((pss = lg_proc_field(pids[i], "smaps_rollup", "Pss")) > 0) {
			m.pss_kb += (uint64_t)pss;
		}
	}
	if (alive == 0) {
		return -ESRCH;
	}
	*ret = m;
	return 0;
}
