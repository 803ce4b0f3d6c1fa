/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Children: the worker processes as the master sees them. Forking one
 * into its slot and handing it the slot's sockets, the messages it sends
 * on its control channel, telling it to drain or stop, reaping it and
 * logging how it ended, and the once-a-second watch over heartbeats and
 * kill deadlines. What happens to the slot afterwards is slot.c's; the
 * handover between generations is reload.c's.
 */

#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"
#include "worker/worker.h"

#define CHILD_KILL_GRACE_MS	5000
#define CHILD_REQUEST_TIMEOUT_MS 3000

static int	child_msg_ready(struct ipc_chan *, struct ipc_msg *, void *);
static int	child_msg_heartbeat(struct ipc_chan *, struct ipc_msg *,
		    void *);
static void	child_chan_error(struct ipc_chan *, enum ipc_error, uint16_t,
		    size_t, void *);
static void	child_chan_close(struct ipc_chan *, void *);

/* What a worker sends the master: the control channel's table, by type. */
static const struct ipc_handler child_handlers[] = {
	{ IPC_READY, "ready", 0, 0, 0, child_msg_ready },
	{ IPC_HEARTBEAT, "heartbeat", sizeof(struct worker_stats),
	  sizeof(struct worker_stats), 0, child_msg_heartbeat },
	{ IPC_CH_JOIN, "channel join", sizeof(struct ipc_ch_join),
	  IPC_MAX_MESSAGE, 0, hub_msg_join },
	{ IPC_CH_PUSH, "channel push", sizeof(struct ipc_ch_push) + 1,
	  IPC_MAX_MESSAGE, 0, hub_msg_push },
	{ IPC_SESSION_CLOSED, "session closed",
	  sizeof(struct ipc_session_closed),
	  sizeof(struct ipc_session_closed), 0, hub_msg_session_closed },
	{ IPC_CLUSTER_BOUND, "cluster bound", 2, IPC_MAX_MESSAGE, 0,
	  membership_msg_bound },
	{ IPC_CLUSTER_UNBOUND, "cluster unbound",
	  sizeof(struct ipc_session_closed),
	  sizeof(struct ipc_session_closed), 0, membership_msg_unbound },
	{ IPC_CLUSTER_STATS, "cluster stats", 2, IPC_MAX_MESSAGE, 0,
	  membership_msg_stats },
};

const struct ipc_receiver child_receiver = {
	child_handlers, nitems(child_handlers), child_chan_error,
	child_chan_close,
};

const char *
child_state_name(enum child_state state)
{
	switch (state) {
	case CHILD_STARTING:
		return "starting";
	case CHILD_READY:
		return "ready";
	case CHILD_DRAINING:
		return "draining";
	case CHILD_EXITING:
		return "exiting";
	}
	return "unknown";
}

/* In the forked process: become worker <slot>; never returns. */
static void
child_exec(int slot, uint32_t generation, uint32_t serial, int fd,
    const sigset_t *mask)
{
	struct sigaction	 sa;
	int			 sig, keep[2];

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		sigaction(sig, &sa, NULL);
	}
	/*
	 * The master orchestrates stops: a Ctrl-C in a terminal reaches the
	 * whole process group, but only the master acts on it.
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	sigprocmask(SIG_SETMASK, mask, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);

	keep[0] = fd;
	keep[1] = log_fd();
	fd_close_all_except(keep, 2);
	log_set_role('W');
	exit(worker_main(master->conf, slot, generation, serial, fd));
}

/*
 * Forks a worker of the current generation into <slot>, makes it the
 * slot's current child and sends it the slot's sockets. Returns 0 or
 * -errno (logged).
 */
int
child_spawn(int slot)
{
	struct child		*c;
	struct listener		*l;
	struct ipc_listener	 msg;
	sigset_t		 all, old;
	uint32_t		 serial;
	pid_t			 pid;
	size_t			 i;
	int			 sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		r = -errno;
		log_error("socketpair for worker %d: %s", slot, strerror(-r));
		return r;
	}
	serial = ++master->next_serial;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_exec(slot, master->generation, serial, sv[1], &old);
	}
	r = -errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		log_error("fork for worker %d: %s", slot, strerror(-r));
		return r;
	}
	fd_nonblock(sv[0]);

	c = xcalloc(1, sizeof *c);
	c->pid = pid;
	c->slot = slot;
	c->generation = master->generation;
	c->serial = serial;
	c->state = CHILD_STARTING;
	c->spawned_ms = c->heartbeat_ms = now_ms();
	c->chan = ipc_chan_create(master->base, sv[0], &child_receiver, c);
	TAILQ_INSERT_TAIL(&master->children, c, entry);
	master->slots[slot].current = c;

	for (i = 0; i < master->n_listeners; i++) {
		l = &master->listeners[i];
		memset(&msg, 0, sizeof msg);
		msg.index = (uint32_t)i;
		snprintf(msg.name, sizeof msg.name, "%s", l->name);
		snprintf(msg.address, sizeof msg.address, "%s", l->address);
		ipc_chan_send(c->chan, IPC_LISTENER, 0, &msg, sizeof msg,
		    listen_slot_fd(l, slot));
	}
	ipc_chan_send(c->chan, IPC_START, 0, NULL, 0, -1);
	log_info("worker %d started: pid %d, generation %u", slot, (int)pid,
	    c->generation);
	return 0;
}

static void
child_log_exit(const struct child *c, int status)
{
	enum log_level	 level = LOG_LEVEL_WARN;
	const char	*how = "exited";
	int		 code;

	if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
		log_write(LOG_LEVEL_WARN, __FILE__, __LINE__,
		    "worker %d (pid %d, generation %u) killed by signal %d "
		    "(%s), status %d", c->slot, (int)c->pid, c->generation,
		    WTERMSIG(status), strsignal(WTERMSIG(status)), code);
		return;
	}
	code = WEXITSTATUS(status);
	if (code == 0 && (c->state == CHILD_DRAINING ||
	    c->state == CHILD_EXITING || master->stopping)) {
		level = LOG_LEVEL_INFO;
		how = "finished";
	}
	if (level <= log_level) {
		log_write(level, __FILE__, __LINE__,
		    "worker %d (pid %d, generation %u) %s with status %d",
		    c->slot, (int)c->pid, c->generation, how, code);
	}
}

static void
child_free(struct child *c)
{
	TAILQ_REMOVE(&master->children, c, entry);
	hub_child_gone(c->serial);
	membership_child_gone(c->serial);
	ipc_chan_destroy(c->chan);
	json_decref(c->cluster_stats);
	free(c);
}

/*
 * Reaps every exited child (SIGCHLD). The current child of a slot that
 * exits goes to slot_crashed() for a respawn; when the server stops and
 * the last child is gone, the loop ends.
 */
void
child_reap(void)
{
	struct child	*c;
	struct slot	*s;
	pid_t		 pid;
	int		 status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0 || (pid == -1 && errno != EINTR)) {
			break;
		}
		if (pid == -1) {
			continue;
		}
		TAILQ_FOREACH(c, &master->children, entry) {
			if (c->pid == pid) {
				break;
			}
		}
		if (c == NULL) {
			continue;
		}
		child_log_exit(c, status);
		s = (size_t)c->slot < master->n_slots ?
		    &master->slots[c->slot] : NULL;
		if (s != NULL && s->current == c) {
			s->current = NULL;
			if (!master->stopping) {
				slot_crashed(s, c);
			}
		}
		child_free(c);
	}
	if (master->stopping && TAILQ_EMPTY(&master->children)) {
		event_base_loopexit(master->base, NULL);
	}
}

/* <c> leaves its slot: the slot no longer counts it as current. */
static void
child_leave_slot(struct child *c)
{
	if ((size_t)c->slot < master->n_slots &&
	    master->slots[c->slot].current == c) {
		master->slots[c->slot].current = NULL;
	}
}

/*
 * Tells <c> to stop accepting and to exit once its sessions are gone,
 * kicking what remains after <timeout_ms> with <reason>.
 */
void
child_drain(struct child *c, uint64_t timeout_ms, const char *reason)
{
	struct ipc_drain	 d;

	if (c->state == CHILD_DRAINING || c->state == CHILD_EXITING) {
		return;
	}
	memset(&d, 0, sizeof d);
	d.timeout_ms = timeout_ms;
	snprintf(d.reason, sizeof d.reason, "%s", reason);
	ipc_chan_send(c->chan, IPC_DRAIN, 0, &d, sizeof d, -1);
	c->state = CHILD_DRAINING;
	c->deadline_ms = now_ms() + timeout_ms + CHILD_KILL_GRACE_MS;
	child_leave_slot(c);
	log_info("worker %d (pid %d, generation %u) draining for up to %ju ms",
	    c->slot, (int)c->pid, c->generation, (uintmax_t)timeout_ms);
}

/* Tells <c> to kick everyone now, with <reason>, and exit. */
void
child_stop(struct child *c, const char *reason)
{
	struct ipc_stop	 m;

	if (c->state == CHILD_EXITING) {
		return;
	}
	memset(&m, 0, sizeof m);
	snprintf(m.reason, sizeof m.reason, "%s", reason);
	ipc_chan_send(c->chan, IPC_STOP, 0, &m, sizeof m, -1);
	c->state = CHILD_EXITING;
	c->deadline_ms = now_ms() + CHILD_KILL_GRACE_MS;
	child_leave_slot(c);
}

/* Sends one untagged message to every child. */
void
child_send_all(uint16_t type, const void *payload, size_t len)
{
	struct child	*c;

	TAILQ_FOREACH(c, &master->children, entry) {
		ipc_chan_send(c->chan, type, 0, payload, len, -1);
	}
}

/* The child whose serial is <serial> (a session id's high half), or NULL. */
struct child *
child_find_serial(uint32_t serial)
{
	struct child	*c;

	TAILQ_FOREACH(c, &master->children, entry) {
		if (c->serial == serial) {
			return c;
		}
	}
	return NULL;
}

/*
 * Sends a request to <only> or, when NULL, to every child that is not
 * exiting, and calls <cb> with their answers (in the children's order)
 * once all have answered or after CHILD_REQUEST_TIMEOUT_MS. With no child
 * to ask, <cb> gets no answer, from the loop.
 */
struct ipc_request *
child_request(struct child *only, uint16_t type, const void *payload,
    size_t len, ipc_request_cb cb, void *arg)
{
	struct ipc_request	*req;
	struct ipc_chan		**chans;
	struct child		*c;
	size_t			 n = 0;

	chans = xcalloc(child_count() + 1, sizeof *chans);
	TAILQ_FOREACH(c, &master->children, entry) {
		if ((only == NULL || c == only) && c->state != CHILD_EXITING) {
			chans[n++] = c->chan;
		}
	}
	req = ipc_request(master->base, chans, n, type, payload, len,
	    CHILD_REQUEST_TIMEOUT_MS, cb, arg);
	free(chans);
	return req;
}

/* How many worker processes live, draining ones included. */
size_t
child_count(void)
{
	struct child	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &master->children, entry) {
		n++;
	}
	return n;
}

static int
child_msg_ready(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	reload_child_ready(arg);
	membership_child_ready(arg);
	return 0;
}

static int
child_msg_heartbeat(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct child	*c = arg;

	memcpy(&c->stats, m->payload, sizeof c->stats);
	c->heartbeat_ms = now_ms();
	return 0;
}

static void
child_chan_error(struct ipc_chan *chan, enum ipc_error err, uint16_t type,
    size_t len, void *arg)
{
	struct child	*c = arg;

	master->control_errors++;
	log_warn("worker %d (pid %d) sent a %s (type %#x, %zu bytes): "
	    "refused", c->slot, (int)c->pid, ipc_error_name(err), type, len);
}

static void
child_chan_close(struct ipc_chan *chan, void *arg)
{
	struct child	*c = arg;

	log_debug("worker %d (pid %d) closed its control channel", c->slot,
	    (int)c->pid);
}

/*
 * show workers: every child, draining ones included, with the counters
 * of its last heartbeat.
 */
static void
child_show(struct admin_call *call)
{
	struct child	*c;
	json_t		*list = json_array();

	TAILQ_FOREACH(c, &master->children, entry) {
		json_array_append_new(list, json_pack("{s:i, s:I, s:I, s:s, "
		    "s:I, s:I, s:I, s:I}",
		    "slot", c->slot,
		    "pid", (json_int_t)c->pid,
		    "generation", (json_int_t)c->generation,
		    "state", child_state_name(c->state),
		    "sessions", (json_int_t)c->stats.sessions,
		    "connections", (json_int_t)c->stats.connections,
		    "accepted", (json_int_t)c->stats.accepted,
		    "rss", (json_int_t)c->stats.rss));
	}
	admin_answer(call, json_pack("{s:o}", "workers", list));
}

static const struct admin_cmd child_cmds[] = {
	{ "show workers", NULL, 0, "every worker process: slot, pid, "
	  "generation, state, sessions, connections, accepted, rss",
	  child_show },
};
ADMIN_COMMANDS(child_cmds)

/* Once a second: children without heartbeats, kill deadlines passed. */
void
child_supervise(void)
{
	struct child	*c;
	uint64_t	 now = now_ms(), limit;

	limit = master->conf->worker_heartbeat_timeout;
	TAILQ_FOREACH(c, &master->children, entry) {
		if ((c->state == CHILD_STARTING || c->state == CHILD_READY) &&
		    now - c->heartbeat_ms > limit) {
			log_error("worker %d (pid %d) sent no heartbeat for "
			    "%ju ms: killing it", c->slot, (int)c->pid,
			    (uintmax_t)(now - c->heartbeat_ms));
			kill(c->pid, SIGKILL);
			c->deadline_ms = 0;
		} else if (c->deadline_ms != 0 && now > c->deadline_ms) {
			log_warn("worker %d (pid %d) still running after its "
			    "drain deadline: killing it", c->slot,
			    (int)c->pid);
			kill(c->pid, SIGKILL);
			c->deadline_ms = 0;
		}
	}
}
