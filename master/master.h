/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The master process: it owns the configuration, the listening sockets,
 * the admin socket and the table of worker slots, and never serves a
 * client. Everything it does is driven by one libevent loop: signals,
 * children's exits, control-channel messages (child.c's table), admin
 * commands (each module's table) and timers.
 */

#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

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

enum child_state {
	CHILD_STARTING,		/* forked, not serving yet */
	CHILD_READY,		/* serving */
	CHILD_DRAINING,		/* not accepting; leaves when empty */
	CHILD_EXITING,		/* told to kick everyone and exit */
};

/*
 * The master's record of one worker process (the process's own state is
 * struct worker, in worker/). It lives from the fork to the reap.
 */
struct child {
	TAILQ_ENTRY(child)	 entry;
	pid_t			 pid;
	int			 slot;
	uint32_t		 generation;
	uint32_t		 serial;	/* unique; high half of session ids */
	enum child_state	 state;
	struct ipc_chan		*chan;
	uint64_t		 spawned_ms;
	uint64_t		 heartbeat_ms;	/* last heartbeat or spawn */
	uint64_t		 deadline_ms;	/* SIGKILL after this, or 0 */
	struct worker_stats	 stats;		/* its last heartbeat */
	struct json_t		*cluster_stats;	/* calls per backend, or NULL */
};
TAILQ_HEAD(child_list, child);

/*
 * A worker slot: the place of one worker in every generation. Its
 * reuseport sockets live as long as the slot.
 */
struct slot {
	int		 index;
	struct child	*current;	/* of the newest generation, or NULL */
	unsigned	 crashes;	/* short-lived exits in a row */
	uint64_t	 backoff_ms;
	struct event	*respawn;	/* timer while backing off */
};

struct master {
	struct event_base	*base;
	struct conf		*conf;
	char			*conf_path;
	pid_t			 pid;
	uint64_t		 started_ms;

	struct listener		*listeners;
	size_t			 n_listeners;
	int			*sd_fds;	/* from systemd, not adopted yet */
	int			 n_sd_fds;

	struct slot		*slots;
	size_t			 n_slots;
	struct child_list	 children;
	uint32_t		 generation;
	uint32_t		 next_serial;
	unsigned		 reloads;

	bool			 announced;	/* READY=1 sent once at start */
	bool			 stopping;
	bool			 fast_stop;
	int			 exit_code;

	int			 admin_fd;
	struct event		*admin_ev;
	TAILQ_HEAD(, admin_client) admin_clients;
	int			 n_admin_clients;

	int			 metrics_fd;
	struct event		*metrics_ev;
	uint64_t		 control_errors;	/* refused messages */

	struct event		*sig_ev[8];
	struct event		*tick;		/* 1 s supervision timer */
	uint64_t		 watchdog_usec;
	struct event		*watchdog;
};

extern struct master	*master;

/* master.c */
int		 master_run(void);
void		 master_stop(bool fast);
void		 master_log_errors(const char *prefix, const char *errors);
void		 master_status(const char *fmt, ...)
		     __attribute__((format(printf, 1, 2)));
int		 master_check_files(struct conf *conf,
		     char **ret_errors);

/* listen.c */
int		 listen_reconcile(struct conf *conf, struct listener **ret,
		     size_t *ret_n, char *err, size_t errlen);
void		 listen_free_all(struct listener *ls, size_t n);
int		 listen_slot_fd(const struct listener *l, int slot);
void		 listen_adopt_systemd(void);

/* child.c */
extern const struct ipc_receiver child_receiver;	/* worker to master */
int		 child_spawn(int slot);
void		 child_reap(void);
void		 child_supervise(void);
void		 child_drain(struct child *c, uint64_t timeout_ms,
		     const char *reason);
void		 child_stop(struct child *c, const char *reason);
void		 child_send_all(uint16_t type, const void *payload,
		     size_t len);
struct child	*child_find_serial(uint32_t serial);
struct ipc_request *child_request(struct child *only, uint16_t type,
		     const void *payload, size_t len, ipc_request_cb cb,
		     void *arg);
size_t		 child_count(void);
const char	*child_state_name(enum child_state state);

/* slot.c */
void		 slot_resize(size_t n);
void		 slot_crashed(struct slot *s, const struct child *c);
void		 slot_cancel_respawns(void);
bool		 slot_all_ready(void);

/* reload.c */
void		 reload_start(void);
void		 reload_child_ready(struct child *c);
void		 reload_tick(void);
void		 reload_abort(const char *why);
bool		 reload_running(void);

/* admin.c: the socket, and a command's answer */
struct admin_call;
typedef void (*admin_run_cb)(struct admin_call *call);
typedef void (*admin_cancel_cb)(void *arg);

int		 admin_open(void);
void		 admin_close(void);
void		 admin_set_group(const char *group);
const char	*admin_arg(const struct admin_call *call, int i);
char		*admin_rest(const struct admin_call *call, int i);
void		 admin_answer(struct admin_call *call, json_t *value);
void		 admin_fail(struct admin_call *call, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
void		 admin_wait(struct admin_call *call, admin_cancel_cb cancel,
		     void *arg);

/* admin-cmd.c: the commands, their lines and answers */
#define ADMIN_MAX_WORDS	16	/* more are read raw */

/*
 * A command, registered by the module it belongs to. <run> answers the
 * call with admin_answer() or admin_fail(), at once or, after
 * admin_wait(), later. Its arguments are read during <run> only.
 */
struct admin_cmd {
	const char	*words;		/* "show workers", typed as is */
	const char	*args;		/* for help ("ID [REASON]"), or NULL */
	int		 min_args;	/* words needed after its own */
	const char	*help;
	admin_run_cb	 run;
};

/* Registers a module's static table of commands before main() runs. */
#define ADMIN_COMMANDS(table)						\
	static void __attribute__((constructor))			\
	table##_register(void)						\
	{								\
		admin_register(table, nitems(table));			\
	}

struct admin_words {
	char		*argv[ADMIN_MAX_WORDS];
	int		 argc;
	bool		 json;		/* the last word was "json" */
};

void		 admin_register(const struct admin_cmd *cmds, size_t n);
const struct admin_cmd *admin_find(char *const *argv, int argc,
		     int *ret_words);
char		*admin_usage_error(const struct admin_cmd *cmd);
char		*admin_usage_of(const char *word);
void		 admin_parse(char *line, struct admin_words *ret);
char		*admin_rest_of(const char *raw, int words, bool json);
int		 admin_line_find(const char *buf, size_t len, bool eof,
		     size_t max, size_t *scanned, size_t *ret_len,
		     size_t *ret_skip);
char		*admin_render(const json_t *value, const char *error,
		     bool json, size_t *ret_len);
json_t		*admin_json_string(const char *s, size_t len);

/* membership.c: the workers in a Pomelo/Pinus cluster */
int		 membership_msg_bound(struct ipc_chan *chan,
		     struct ipc_msg *m, void *arg);
int		 membership_msg_unbound(struct ipc_chan *chan,
		     struct ipc_msg *m, void *arg);
int		 membership_msg_stats(struct ipc_chan *chan,
		     struct ipc_msg *m, void *arg);
void		 membership_child_gone(uint32_t serial);
void		 membership_child_ready(struct child *c);
void		 membership_free_all(void);
void		 membership_stat(struct json_t *stat);
struct evbuffer;
void		 membership_metrics(struct evbuffer *b);

/* hub.c: control-channel handlers, each with its child as <arg> */
int		 hub_msg_join(struct ipc_chan *chan, struct ipc_msg *m,
		     void *arg);
int		 hub_msg_push(struct ipc_chan *chan, struct ipc_msg *m,
		     void *arg);
int		 hub_msg_session_closed(struct ipc_chan *chan,
		     struct ipc_msg *m, void *arg);
void		 hub_child_gone(uint32_t serial);
void		 hub_counts(uint64_t *ret_channels, uint64_t *ret_members);

/* tickets.c */
void		 tickets_start(void);
void		 tickets_reload(void);
void		 tickets_stop(void);

/* metrics.c */
int		 metrics_open(void);
void		 metrics_close(void);
void		 metrics_master_stats(struct master_stats *ret);
void		 metrics_sum(struct worker_stats *ret);

#endif
