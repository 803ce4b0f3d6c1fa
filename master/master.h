/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The master process: it owns the configuration, the listening sockets,
 * the admin socket and the table of worker slots, and never serves a
 * client. Everything it does is driven by one libevent loop: signals,
 * worker exits, control-channel messages, admin commands and timers.
 */

#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/compat.h"
#include "common/config.h"
#include "common/ipc.h"
#include "common/util.h"

struct event;
struct event_base;
struct admin_client;

/* A configured listener and the sockets the master holds for it. */
struct listener {
	char		*name;
	char		*address;
	struct addr	 addr;
	int		 backlog;
	bool		 adopted;	/* came from systemd */
	bool		 shared;	/* one socket for every slot */
	int		*fds;		/* per slot, or fds[0] when shared */
	size_t		 n_fds;
};

enum worker_state {
	WORKER_STARTING,
	WORKER_READY,
	WORKER_DRAINING,
	WORKER_EXITING,
};

struct worker {
	TAILQ_ENTRY(worker)	 entry;
	pid_t			 pid;
	int			 slot;
	uint32_t		 generation;
	uint32_t		 serial;	/* unique; high half of session ids */
	enum worker_state	 state;
	struct ipc_chan		*chan;
	uint64_t		 spawned_ms;
	uint64_t		 heartbeat_ms;	/* last heartbeat or spawn */
	uint64_t		 deadline_ms;	/* SIGKILL after this, or 0 */
	struct worker_stats	 stats;
};
TAILQ_HEAD(worker_list, worker);

struct slot {
	int		 index;
	struct worker	*current;	/* of the newest generation, or NULL */
	unsigned	 crashes;	/* short-lived exits in a row */
	uint64_t	 backoff_ms;
	struct event	*respawn;	/* timer while backing off */
};

/* A pending request to every worker, answered when all have replied. */
struct gather;
typedef void (*gather_done_cb)(struct gather *g, void *arg);

struct gather {
	TAILQ_ENTRY(gather)	 entry;
	uint64_t		 tag;
	int			 waiting;	/* workers yet to answer */
	char			*text;		/* concatenated replies */
	size_t			 len;
	gather_done_cb		 done;
	void			*arg;
	struct event		*timeout;
};

struct master {
	struct event_base	*base;
	struct conf		*conf;
	char			*conf_path;
	pid_t			 pid;
	uint64_t		 started_ms;

	struct listener		*listeners;
	size_t			 n_listeners;
	int			*sd_fds;	/* from systemd, unused so far */
	int			 n_sd_fds;

	struct slot		*slots;
	size_t			 n_slots;
	struct worker_list	 workers;
	uint32_t		 generation;
	uint32_t		 next_serial;
	unsigned		 reloads;

	/* A reload in progress: admin clients waiting for its result. */
	bool			 reloading;
	uint64_t		 reload_deadline_ms;
	struct admin_client	*reload_waiters[16];
	int			 n_reload_waiters;

	bool			 announced;	/* READY=1 sent once at start */
	bool			 stopping;
	bool			 fast_stop;
	int			 exit_code;

	int			 admin_fd;
	struct event		*admin_ev;
	TAILQ_HEAD(, admin_client) admin_clients;
	int			 n_admin_clients;
	TAILQ_HEAD(, gather)	 gathers;
	uint64_t		 next_tag;

	int			 metrics_fd;
	struct event		*metrics_ev;

	struct event		*sig_ev[8];
	struct event		*tick;		/* 1 s supervision timer */
	uint64_t		 watchdog_usec;
	struct event		*watchdog;
};

extern struct master	*master;

/* master.c */
int		 master_run(void);
void		 master_reload(void);
void		 master_stop(bool fast);
void		 master_log_errors(const char *prefix, const char *errors);
const char	*worker_state_name(enum worker_state state);
void		 master_status(const char *fmt, ...)
		     __attribute__((format(printf, 1, 2)));

/* main.c */
int		 main_check_files(struct conf *conf, char **ret_errors);

/* listen.c */
int		 listen_open(struct listener *l, size_t n_slots,
		     bool reuseport, char *err, size_t errlen);
void		 listen_close(struct listener *l);
int		 listen_reconcile(struct conf *conf, struct listener **ret,
		     size_t *ret_n, char *err, size_t errlen);
void		 listen_free_all(struct listener *ls, size_t n);
int		 listen_slot_fd(const struct listener *l, int slot);
void		 listen_adopt_systemd(void);

/* spawn.c */
int		 spawn_worker(int slot);
void		 spawn_reap(void);
void		 spawn_supervise(void);
bool		 spawn_healthy(void);
void		 spawn_drain(struct worker *w, uint64_t timeout_ms,
		     const char *reason);
void		 spawn_stop(struct worker *w, const char *reason);
void		 spawn_broadcast(uint16_t type, const void *payload,
		     size_t len);
struct worker	*spawn_find_serial(uint32_t serial);
int		 spawn_resize_slots(size_t n);
size_t		 spawn_live_workers(void);
void		 spawn_worker_message(struct worker *w,
		     const struct ipc_hdr *hdr, const void *payload, int fd);

/* admin.c */
int		 admin_open(void);
void		 admin_close(void);
void		 admin_set_group(const char *group);
void		 admin_reply(struct admin_client *c, bool ok, const char *text);
void		 admin_reload_done(bool ok, const char *text);
struct gather	*gather_start(struct worker *only, uint16_t type,
		     const void *payload, size_t len, gather_done_cb done,
		     void *arg);
void		 gather_reply(uint64_t tag, const void *payload, size_t len,
		     bool end);

/* hub.c */
bool		 hub_message(struct worker *w, const struct ipc_hdr *hdr,
		     const void *payload);
void		 hub_worker_gone(uint32_t serial);
void		 hub_counts(uint64_t *ret_channels, uint64_t *ret_members);
void		 hub_free_all(void);
struct json_t;
struct json_t	*hub_list(void);

/* tickets.c */
void		 tickets_start(void);
void		 tickets_reload(void);
void		 tickets_stop(void);

/* metrics.c */
int		 metrics_open(void);
void		 metrics_close(void);

#endif
