/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Worker slots and processes: forking a worker into its slot and handing
 * it its sockets, reaping and respawning with back-off, the heartbeat
 * watch, and the handover from one generation to the next during a
 * reload (the old worker of a slot stops accepting only once the new one
 * is serving on the same socket).
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

#include "common/log.h"
#include "common/sdnotify.h"
#include "common/xmalloc.h"
#include "master/master.h"
#include "worker/worker.h"

#define SPAWN_BACKOFF_FIRST_MS	100
#define SPAWN_BACKOFF_MAX_MS	10000
#define SPAWN_HEALTHY_MS	30000
#define SPAWN_CRASH_LOOP	6	/* short-lived exits in a row */
#define SPAWN_KILL_GRACE_MS	5000

static void	spawn_chan_msg(struct ipc_chan *, const struct ipc_hdr *,
		    const void *, int, void *);
static void	spawn_chan_close(struct ipc_chan *, void *);
static void	spawn_respawn_cb(evutil_socket_t, short, void *);

static void
spawn_child(int slot, uint32_t generation, uint32_t serial, int fd,
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
 * Forks a worker of the current generation into <slot> and sends it the
 * slot's sockets. Returns 0 or -errno.
 */
int
spawn_worker(int slot)
{
	struct worker		*w;
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
		spawn_child(slot, master->generation, serial, sv[1], &old);
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

	w = xcalloc(1, sizeof *w);
	w->pid = pid;
	w->slot = slot;
	w->generation = master->generation;
	w->serial = serial;
	w->state = WORKER_STARTING;
	w->spawned_ms = w->heartbeat_ms = now_ms();
	w->chan = ipc_chan_create(master->base, sv[0], spawn_chan_msg,
	    spawn_chan_close, w);
	TAILQ_INSERT_TAIL(&master->workers, w, entry);
	master->slots[slot].current = w;

	for (i = 0; i < master->n_listeners; i++) {
		l = &master->listeners[i];
		memset(&msg, 0, sizeof msg);
		msg.index = (uint32_t)i;
		snprintf(msg.name, sizeof msg.name, "%s", l->name);
		snprintf(msg.address, sizeof msg.address, "%s", l->address);
		ipc_chan_send(w->chan, IPC_LISTENER, 0, &msg, sizeof msg,
		    listen_slot_fd(l, slot));
	}
	ipc_chan_send(w->chan, IPC_START, 0, NULL, 0, -1);
	log_info("worker %d started: pid %d, generation %u", slot, (int)pid,
	    w->generation);
	return 0;
}

static void
spawn_schedule(struct slot *s)
{
	struct timeval	 tv;

	if (s->respawn == NULL) {
		/* By index: the slot table moves when a reload resizes it. */
		s->respawn = evtimer_new(master->base, spawn_respawn_cb,
		    (void *)(intptr_t)s->index);
	}
	tv.tv_sec = (time_t)(s->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(s->backoff_ms % 1000) * 1000;
	evtimer_add(s->respawn, &tv);
}

static void
spawn_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t		 i = (size_t)(intptr_t)arg;
	struct slot	*s;

	if (master->stopping || i >= master->n_slots) {
		return;
	}
	s = &master->slots[i];
	if (s->current != NULL) {
		return;
	}
	if (spawn_worker(s->index) != 0) {
		s->backoff_ms = SPAWN_BACKOFF_MAX_MS;
		spawn_schedule(s);
	}
}

static bool
spawn_all_crash_looping(void)
{
	size_t	 i;

	for (i = 0; i < master->n_slots; i++) {
		if (master->slots[i].crashes < SPAWN_CRASH_LOOP) {
			return false;
		}
	}
	return master->n_slots > 0;
}

/* A worker of <s> exited unexpectedly: respawn it, later if it loops. */
static void
spawn_crashed(struct slot *s, struct worker *w)
{
	uint64_t	 lived = now_ms() - w->spawned_ms;

	if (lived >= SPAWN_HEALTHY_MS) {
		s->crashes = 0;
	}
	s->crashes++;
	if (s->crashes <= 1) {
		s->backoff_ms = 0;
	} else {
		s->backoff_ms = (uint64_t)SPAWN_BACKOFF_FIRST_MS <<
		    (s->crashes - 2 < 7 ? s->crashes - 2 : 7);
		if (s->backoff_ms > SPAWN_BACKOFF_MAX_MS) {
			s->backoff_ms = SPAWN_BACKOFF_MAX_MS;
		}
	}
	if (spawn_all_crash_looping()) {
		log_error("every worker slot is crash-looping (%d exits in a "
		    "row): giving up", SPAWN_CRASH_LOOP);
		master->exit_code = 3;
		master_stop(true);
		return;
	}
	if (s->backoff_ms > 0) {
		log_warn("worker %d is crash-looping: respawning in %ju ms",
		    s->index, (uintmax_t)s->backoff_ms);
	}
	spawn_schedule(s);
}

static void
spawn_log_exit(struct worker *w, int status)
{
	enum log_level	 level = LOG_LEVEL_WARN;
	const char	*how = "exited";
	int		 code;

	if (WIFSIGNALED(status)) {
		code = 128 + WTERMSIG(status);
		log_write(LOG_LEVEL_WARN, __FILE__, __LINE__,
		    "worker %d (pid %d, generation %u) killed by signal %d "
		    "(%s), status %d", w->slot, (int)w->pid, w->generation,
		    WTERMSIG(status), strsignal(WTERMSIG(status)), code);
		return;
	}
	code = WEXITSTATUS(status);
	if (code == 0 && (w->state == WORKER_DRAINING ||
	    w->state == WORKER_EXITING || master->stopping)) {
		level = LOG_LEVEL_INFO;
		how = "finished";
	}
	if (level <= log_level) {
		log_write(level, __FILE__, __LINE__,
		    "worker %d (pid %d, generation %u) %s with status %d",
		    w->slot, (int)w->pid, w->generation, how, code);
	}
}

static void
spawn_forget(struct worker *w)
{
	TAILQ_REMOVE(&master->workers, w, entry);
	hub_worker_gone(w->serial);
	ipc_chan_destroy(w->chan);
	free(w);
}

/* Reaps every exited child (SIGCHLD). */
void
spawn_reap(void)
{
	struct worker	*w;
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
		TAILQ_FOREACH(w, &master->workers, entry) {
			if (w->pid == pid) {
				break;
			}
		}
		if (w == NULL) {
			continue;
		}
		spawn_log_exit(w, status);
		s = (size_t)w->slot < master->n_slots ?
		    &master->slots[w->slot] : NULL;
		if (s != NULL && s->current == w) {
			s->current = NULL;
			if (!master->stopping) {
				spawn_crashed(s, w);
			}
		}
		spawn_forget(w);
	}
	if (master->stopping && TAILQ_EMPTY(&master->workers)) {
		event_base_loopexit(master->base, NULL);
	}
}

void
spawn_drain(struct worker *w, uint64_t timeout_ms, const char *reason)
{
	struct ipc_drain	 d;

	if (w->state == WORKER_DRAINING || w->state == WORKER_EXITING) {
		return;
	}
	memset(&d, 0, sizeof d);
	d.timeout_ms = timeout_ms;
	snprintf(d.reason, sizeof d.reason, "%s", reason);
	ipc_chan_send(w->chan, IPC_DRAIN, 0, &d, sizeof d, -1);
	w->state = WORKER_DRAINING;
	w->deadline_ms = now_ms() + timeout_ms + SPAWN_KILL_GRACE_MS;
	if ((size_t)w->slot < master->n_slots &&
	    master->slots[w->slot].current == w) {
		master->slots[w->slot].current = NULL;
	}
	log_info("worker %d (pid %d, generation %u) draining for up to %ju ms",
	    w->slot, (int)w->pid, w->generation, (uintmax_t)timeout_ms);
}

/* Tells <w> to kick everyone now, with <reason>, and exit. */
void
spawn_stop(struct worker *w, const char *reason)
{
	if (w->state == WORKER_EXITING) {
		return;
	}
	ipc_chan_send(w->chan, IPC_STOP, 0, reason, strlen(reason), -1);
	w->state = WORKER_EXITING;
	w->deadline_ms = now_ms() + SPAWN_KILL_GRACE_MS;
	if ((size_t)w->slot < master->n_slots &&
	    master->slots[w->slot].current == w) {
		master->slots[w->slot].current = NULL;
	}
}

void
spawn_broadcast(uint16_t type, const void *payload, size_t len)
{
	struct worker	*w;

	TAILQ_FOREACH(w, &master->workers, entry) {
		ipc_chan_send(w->chan, type, 0, payload, len, -1);
	}
}

struct worker *
spawn_find_serial(uint32_t serial)
{
	struct worker	*w;

	TAILQ_FOREACH(w, &master->workers, entry) {
		if (w->serial == serial) {
			return w;
		}
	}
	return NULL;
}

size_t
spawn_live_workers(void)
{
	struct worker	*w;
	size_t		 n = 0;

	TAILQ_FOREACH(w, &master->workers, entry) {
		n++;
	}
	return n;
}

/*
 * Makes the slot table <n> long. New slots start empty (the caller
 * spawns); removed slots forget their workers, which the caller drains.
 */
int
spawn_resize_slots(size_t n)
{
	size_t	 i;

	for (i = n; i < master->n_slots; i++) {
		if (master->slots[i].respawn != NULL) {
			event_free(master->slots[i].respawn);
		}
	}
	master->slots = xreallocarray(master->slots, n, sizeof *master->slots);
	for (i = master->n_slots; i < n; i++) {
		memset(&master->slots[i], 0, sizeof master->slots[i]);
		master->slots[i].index = (int)i;
	}
	master->n_slots = n;
	return 0;
}

/* Limits how many generations drain at once: the oldest stop now. */
static void
spawn_cap_draining(void)
{
	struct worker	*w;
	uint32_t	 oldest;
	unsigned	 gens;
	uint32_t	 seen[64];
	size_t		 i;

	for (;;) {
		gens = 0;
		oldest = UINT32_MAX;
		TAILQ_FOREACH(w, &master->workers, entry) {
			if (w->state != WORKER_DRAINING) {
				continue;
			}
			for (i = 0; i < gens && seen[i] != w->generation; i++) {
				;
			}
			if (i == gens && gens < 64) {
				seen[gens++] = w->generation;
			}
			if (w->generation < oldest) {
				oldest = w->generation;
			}
		}
		if (gens <= master->conf->max_draining_generations) {
			return;
		}
		log_warn("more than %ju generations draining: stopping "
		    "generation %u now",
		    (uintmax_t)master->conf->max_draining_generations, oldest);
		TAILQ_FOREACH(w, &master->workers, entry) {
			if (w->state == WORKER_DRAINING &&
			    w->generation == oldest) {
				spawn_stop(w, "reload");
			}
		}
	}
}

static bool
spawn_generation_ready(void)
{
	size_t	 i;
	struct worker	*w;

	for (i = 0; i < master->n_slots; i++) {
		w = master->slots[i].current;
		if (w == NULL || w->state != WORKER_READY ||
		    w->generation != master->generation) {
			return false;
		}
	}
	return true;
}

/* Every slot of the newest generation serves: finish a start or reload. */
static void
spawn_generation_done(void)
{
	struct worker	*w;
	char		 text[128];

	TAILQ_FOREACH(w, &master->workers, entry) {
		if (w->generation < master->generation &&
		    (w->state == WORKER_STARTING ||
		    w->state == WORKER_READY)) {
			spawn_drain(w, master->conf->shutdown_timeout,
			    "reload");
		}
	}
	spawn_cap_draining();
	if (!master->announced) {
		master->announced = true;
		master_status("ready: %zu workers", master->n_slots);
		log_info("ready: %zu workers serving", master->n_slots);
		return;
	}
	if (master->reloading) {
		master->reloading = false;
		snprintf(text, sizeof text, "reload: ok, generation %u",
		    master->generation);
		log_info("%s", text);
		master_status("reloaded: generation %u, %zu workers",
		    master->generation, master->n_slots);
		admin_reload_done(true, text);
	}
}

void
spawn_worker_message(struct worker *w, const struct ipc_hdr *hdr,
    const void *payload, int fd)
{
	struct worker	*o;

	switch (hdr->type) {
	case IPC_READY:
		if (w->state != WORKER_STARTING) {
			break;
		}
		w->state = WORKER_READY;
		w->heartbeat_ms = now_ms();
		log_debug("worker %d (pid %d) ready", w->slot, (int)w->pid);
		/* Hand over the slot: the old worker stops accepting now. */
		TAILQ_FOREACH(o, &master->workers, entry) {
			if (o != w && o->slot == w->slot &&
			    o->generation < w->generation &&
			    (o->state == WORKER_READY ||
			    o->state == WORKER_STARTING)) {
				spawn_drain(o, master->conf->shutdown_timeout,
				    "reload");
			}
		}
		if (spawn_generation_ready()) {
			spawn_generation_done();
		}
		break;
	case IPC_HEARTBEAT:
		if (hdr->len != sizeof w->stats) {
			goto bad;
		}
		memcpy(&w->stats, payload, sizeof w->stats);
		w->heartbeat_ms = now_ms();
		break;
	case IPC_REPLY:
	case IPC_REPLY_END:
		gather_reply(hdr->tag, payload, hdr->len,
		    hdr->type == IPC_REPLY_END);
		break;
	default:
		if (!hub_message(w, hdr, payload)) {
			goto bad;
		}
		break;
	}
	if (fd != -1) {
		close(fd);
	}
	return;
bad:
	log_warn("worker %d (pid %d) sent a bad message (type %#x, %u "
	    "bytes)", w->slot, (int)w->pid, hdr->type, hdr->len);
	if (fd != -1) {
		close(fd);
	}
}

static void
spawn_chan_msg(struct ipc_chan *chan, const struct ipc_hdr *hdr,
    const void *payload, int fd, void *arg)
{
	spawn_worker_message(arg, hdr, payload, fd);
}

static void
spawn_chan_close(struct ipc_chan *chan, void *arg)
{
	struct worker	*w = arg;

	log_debug("worker %d (pid %d) closed its control channel", w->slot,
	    (int)w->pid);
}

/* True while every slot has a ready worker (the watchdog's test). */
bool
spawn_healthy(void)
{
	struct worker	*w;
	size_t		 i;

	for (i = 0; i < master->n_slots; i++) {
		w = master->slots[i].current;
		if (w == NULL || w->state != WORKER_READY) {
			return false;
		}
	}
	return !master->stopping;
}

/* Once a second: heartbeats, kill deadlines, a reload's deadline. */
void
spawn_supervise(void)
{
	struct worker	*w;
	uint64_t	 now = now_ms(), limit;
	char		 text[128];

	limit = master->conf->worker_heartbeat_timeout;
	TAILQ_FOREACH(w, &master->workers, entry) {
		if ((w->state == WORKER_STARTING || w->state == WORKER_READY) &&
		    now - w->heartbeat_ms > limit) {
			log_error("worker %d (pid %d) sent no heartbeat for "
			    "%ju ms: killing it", w->slot, (int)w->pid,
			    (uintmax_t)(now - w->heartbeat_ms));
			kill(w->pid, SIGKILL);
			w->deadline_ms = 0;
		} else if (w->deadline_ms != 0 && now > w->deadline_ms) {
			log_warn("worker %d (pid %d) still running after its "
			    "drain deadline: killing it", w->slot,
			    (int)w->pid);
			kill(w->pid, SIGKILL);
			w->deadline_ms = 0;
		}
	}
	if (master->reloading && now > master->reload_deadline_ms) {
		master->reloading = false;
		log_error("reload: the new workers were not ready in time");
		snprintf(text, sizeof text, "reload failed: the workers of "
		    "generation %u were not ready in time (see the log)",
		    master->generation);
		admin_reload_done(false, text);
		sdnotify("READY=1\nSTATUS=reload incomplete: new workers not "
		    "ready in time");
	}
}
