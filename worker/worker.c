/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The worker process: it takes its listening sockets from the control
 * channel, accepts connections into conn.c, reports its counters to the
 * master every second and obeys the master's drain, stop and session
 * commands (worker_receiver: the table of what the master sends). It
 * exits when the master's channel closes.
 */

#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"
#include "worker/worker.h"

#define WORKER_RBUF_SIZE	(64 * 1024)
#define WORKER_OBUF_SIZE	(256 * 1024)
#define WORKER_ACCEPT_BATCH	64
#define WORKER_SHARED_BATCH	16
#define WORKER_KICK_BATCH	512	/* kicks per 10 ms while draining */
#define WORKER_STOP_GRACE_MS	2000

struct worker	*worker;

static void	worker_kick_some(evutil_socket_t, short, void *);

static void
worker_send_stats(void)
{
	worker->stats.rss = proc_rss(getpid());
	ipc_chan_send(worker->chan, IPC_HEARTBEAT, 0, &worker->stats,
	    sizeof worker->stats, -1);
	cluster_send_stats(worker->chan);
}

static void
worker_tick(evutil_socket_t fd, short what, void *arg)
{
	worker_send_stats();
}

static void
worker_accept_pause(void)
{
	struct timeval	 one = { 1, 0 };
	size_t		 i;

	for (i = 0; i < worker->n_listeners; i++) {
		event_del(worker->listeners[i].ev);
	}
	evtimer_add(worker->accept_resume, &one);
}

static void
worker_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	size_t	 i;

	if (!worker->accepting) {
		return;
	}
	for (i = 0; i < worker->n_listeners; i++) {
		event_add(worker->listeners[i].ev, NULL);
	}
}

static void
worker_accept(evutil_socket_t lfd, short what, void *arg)
{
	/* An index: the array moves while listeners arrive. */
	const struct worker_listener	*l =
	    &worker->listeners[(uintptr_t)arg];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	uint64_t		 now;
	int			 fd, i, batch;

	batch = worker->conf->accept == CONF_ACCEPT_SHARED ?
	    WORKER_SHARED_BATCH : WORKER_ACCEPT_BATCH;
	for (i = 0; i < batch && worker->accepting; i++) {
		len = sizeof ss;
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
			case EINTR:
			case ECONNABORTED:
				return;
			case EMFILE:
			case ENFILE:
				log_warn("accept: %s: pausing accepts for 1 s",
				    strerror(errno));
				worker_accept_pause();
				return;
			default:
				log_warn("accept: %s", strerror(errno));
				return;
			}
		}
		worker->stats.accepted++;
		if (worker->stats.connections >=
		    worker->conf->max_connections) {
			worker->stats.rejected_max_connections++;
			close(fd);
			now = now_ms();
			if (now - worker->reject_logged_ms >= 1000) {
				worker->reject_logged_ms = now;
				log_warn("max_connections (%ju) reached: "
				    "closing new connections (%ju so far)",
				    (uintmax_t)worker->conf->max_connections,
				    (uintmax_t)worker->stats.
				    rejected_max_connections);
			}
			continue;
		}
		conn_create(fd, (struct sockaddr *)&ss, len, l->xprt,
		    l->xprt_arg);
	}
}

static void
worker_stop_accepting(void)
{
	size_t	 i;

	if (!worker->accepting) {
		return;
	}
	worker->accepting = false;
	evtimer_del(worker->accept_resume);
	for (i = 0; i < worker->n_listeners; i++) {
		event_free(worker->listeners[i].ev);
		close(worker->listeners[i].fd);
	}
	free(worker->listeners);
	worker->listeners = NULL;
	worker->n_listeners = 0;
}

static void
worker_exit(void)
{
	event_base_loopexit(worker->base, NULL);
}

/*
 * Called after each close: a draining worker leaves when it is empty (a
 * cluster member first leaves the cluster).
 */
void
worker_conn_closed(void)
{
	if ((worker->draining || worker->stopping) &&
	    TAILQ_EMPTY(&worker->conns) && !worker->leaving) {
		worker->leaving = true;
		cluster_leave(worker_exit);
	}
}

/*
 * Work left for after the current callback: first the output queued for
 * connections other than the one being read (pushes, kicks), written now
 * rather than after a trip through epoll; then the connections closed
 * meanwhile are freed. Both in one place, so a queued pointer is never
 * freed before it is looked at.
 */
void
worker_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c;
	size_t		 i;

	for (i = 0; i < worker->n_flush; i++) {
		c = worker->flushq[i];
		c->flush_queued = false;
		if (c->state != CONN_DEAD) {
			conn_flush(c);
		}
	}
	worker->n_flush = 0;
	while ((c = TAILQ_FIRST(&worker->dead)) != NULL) {
		TAILQ_REMOVE(&worker->dead, c, entry);
		conn_free(c);
	}
}

/* Frees <c> from the loop, after the callback that closed it returns. */
void
worker_defer_free(struct conn *c)
{
	TAILQ_INSERT_TAIL(&worker->dead, c, entry);
	event_active(worker->deferred, EV_TIMEOUT, 0);
}

/* Writes <c>'s output after the current callback. */
void
worker_defer_flush(struct conn *c)
{
	if (c->flush_queued) {
		return;
	}
	if (worker->n_flush == worker->cap_flush) {
		worker->cap_flush = worker->cap_flush ? worker->cap_flush * 2 :
		    256;
		worker->flushq = xreallocarray(worker->flushq,
		    worker->cap_flush, sizeof *worker->flushq);
	}
	worker->flushq[worker->n_flush++] = c;
	c->flush_queued = true;
	event_active(worker->deferred, EV_TIMEOUT, 0);
}

/* Kicks a batch of sessions; reschedules itself until none is left. */
static void
worker_kick_some(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c, *tc;
	struct timeval	 tv = { 0, 10000 };
	int		 n = 0;

	TAILQ_FOREACH_SAFE(c, &worker->conns, entry, tc) {
		if (c->state == CONN_CLOSING) {
			continue;
		}
		if (n++ == WORKER_KICK_BATCH) {
			evtimer_add(worker->drain_timer, &tv);
			return;
		}
		if (c->session.state != SESSION_CLOSED) {
			session_kick(&c->session, worker->drain_reason);
		} else {
			conn_close(c, worker->drain_reason);
		}
	}
	worker_conn_closed();
}

static void
worker_drain(uint64_t timeout_ms, const char *reason)
{
	struct timeval	 tv;

	worker_stop_accepting();
	if (worker->draining) {
		return;
	}
	worker->draining = true;
	snprintf(worker->drain_reason, sizeof worker->drain_reason, "%s",
	    reason);
	log_info("draining: %ju ms for %ju connections, then kick with "
	    "reason \"%s\"", (uintmax_t)timeout_ms,
	    (uintmax_t)worker->stats.connections, reason);
	worker_conn_closed();
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	evtimer_add(worker->drain_timer, &tv);
}

static void
worker_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopexit(worker->base, NULL);
}

/* Kicks everyone now and leaves once they are closed (bounded). */
static void
worker_stop(const char *reason)
{
	struct timeval	 tv = { WORKER_STOP_GRACE_MS / 1000,
	    (WORKER_STOP_GRACE_MS % 1000) * 1000 };

	worker_stop_accepting();
	worker->stopping = true;
	snprintf(worker->drain_reason, sizeof worker->drain_reason, "%s",
	    reason);
	evtimer_del(worker->drain_timer);
	worker_kick_some(-1, 0, NULL);
	event_base_once(worker->base, -1, EV_TIMEOUT, worker_stop_timeout,
	    NULL, &tv);
	worker_conn_closed();
}

/* IPC_KICK: by session id, or every session bound to a uid. */
static int
worker_msg_kick(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct ipc_kick_msg	 k;
	struct ipc_count	 n;
	struct session		*s;
	char			*uid;

	if (ipc_kick_decode(m->payload, m->len, &k) != 0) {
		return -EBADMSG;
	}
	n.n = 0;
	if (k.session != 0) {
		if ((s = session_find(k.session)) != NULL &&
		    s->state != SESSION_CLOSED) {
			session_kick(s, k.reason);
			n.n = 1;
		}
	} else {
		uid = xstrndup(k.uid, k.uid_len);
		n.n = session_kick_uid(uid, k.reason);
		free(uid);
	}
	ipc_chan_reply(chan, m->tag, &n, sizeof n);
	return 0;
}

/* IPC_BROADCAST: a push to every working session of this worker. */
static int
worker_msg_broadcast(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct ipc_count	 n;
	struct conn		*c, *tc;
	const char		*route, *body;
	size_t			 rlen, blen;
	char			 r[IPC_ROUTE_MAX + 1];

	if (ipc_broadcast_decode(m->payload, m->len, &route, &rlen, &body,
	    &blen) != 0) {
		return -EBADMSG;
	}
	memcpy(r, route, rlen);
	r[rlen] = '\0';
	n.n = 0;
	TAILQ_FOREACH_SAFE(c, &worker->conns, entry, tc) {
		if (c->session.state == SESSION_WORKING &&
		    session_push(&c->session, r, body, blen) == 0) {
			n.n++;
		}
	}
	ipc_chan_reply(chan, m->tag, &n, sizeof n);
	return 0;
}

/* IPC_SESSIONS: every connection, as struct ipc_session records. */
static int
worker_msg_sessions(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	session_list(chan, m->tag);
	return 0;
}

/* IPC_CLUSTER_SHOW: this worker's part of show cluster, as JSON text. */
static int
worker_msg_cluster_show(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	json_t	*j = cluster_show();
	char	*text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	ipc_chan_reply(chan, m->tag, text, strlen(text));
	free(text);
	return 0;
}

/* IPC_CLUSTER_ORPHANS: a dead worker's bound sessions, for their hooks. */
static int
worker_msg_cluster_orphans(struct ipc_chan *chan, struct ipc_msg *m,
    void *arg)
{
	json_t	*list;

	list = json_loadb((const char *)m->payload, m->len, 0, NULL);
	if (!json_is_array(list)) {
		json_decref(list);
		return -EBADMSG;
	}
	forward_orphans(list);
	json_decref(list);
	return 0;
}

/* The byte layer of <l>'s connections, from its tls setting. */
static void
worker_listener_xprt(struct worker_listener *l)
{
	const struct listener_conf	*lc;

	l->xprt = &xprt_plain;
	l->xprt_arg = NULL;
	if (l->index < 0 || (size_t)l->index >= worker->conf->n_listeners) {
		return;
	}
	lc = &worker->conf->listeners[l->index];
	if (lc->tls_ctx == NULL) {
		return;
	}
	l->xprt = lc->tls == CONF_TLS_OPTIONAL ? &xprt_detect : &xprt_tls;
	l->xprt_arg = lc->tls_ctx;
}

/* IPC_LISTENER: one listening socket; accepted on after IPC_START. */
static int
worker_msg_listener(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct ipc_listener		 msg;
	struct worker_listener		*l;

	memcpy(&msg, m->payload, sizeof msg);
	worker->listeners = xreallocarray(worker->listeners,
	    worker->n_listeners + 1, sizeof *worker->listeners);
	l = &worker->listeners[worker->n_listeners++];
	memset(l, 0, sizeof *l);
	l->fd = m->fd;
	m->fd = -1;
	l->index = (int)msg.index;
	memcpy(l->name, msg.name, sizeof l->name);
	l->name[sizeof l->name - 1] = '\0';
	memcpy(l->address, msg.address, sizeof l->address);
	l->address[sizeof l->address - 1] = '\0';
	worker_listener_xprt(l);
	fd_nonblock(l->fd);
	l->ev = event_new(worker->base, l->fd, EV_READ | EV_PERSIST,
	    worker_accept, (void *)(uintptr_t)(worker->n_listeners - 1));
	return 0;
}

static void
worker_start(void)
{
	size_t	 i;

	worker->accepting = true;
	for (i = 0; i < worker->n_listeners; i++) {
		event_add(worker->listeners[i].ev, NULL);
	}
	ipc_chan_send(worker->chan, IPC_READY, 0, NULL, 0, -1);
	worker_send_stats();
	cluster_start();
	log_debug("serving %zu listener%s", worker->n_listeners,
	    worker->n_listeners == 1 ? "" : "s");
}

/* IPC_START: every listener is here; accept and say so. */
static int
worker_msg_start(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	if (worker->accepting || worker->draining || worker->stopping) {
		return 0;
	}
	worker_start();
	return 0;
}

static int
worker_msg_drain(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct ipc_drain	 d;

	memcpy(&d, m->payload, sizeof d);
	d.reason[sizeof d.reason - 1] = '\0';
	worker_drain(d.timeout_ms, d.reason);
	return 0;
}

static int
worker_msg_stop(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	struct ipc_stop	 st;

	memcpy(&st, m->payload, sizeof st);
	st.reason[sizeof st.reason - 1] = '\0';
	worker_stop(*st.reason != '\0' ? st.reason : "shutdown");
	return 0;
}

/* IPC_REOPEN_LOGS: the master's reopened log file (SIGUSR1). */
static int
worker_msg_reopen_logs(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	int	 r;

	if ((r = log_adopt(m->fd)) != 0) {
		log_error("taking the reopened log file: %s", strerror(-r));
	}
	return 0;
}

/* IPC_TLS_TICKET_KEYS: the master rotated the session-ticket keys. */
static int
worker_msg_tls_ticket_keys(struct ipc_chan *chan, struct ipc_msg *m,
    void *arg)
{
	return tls_ticket_keys_use(m->payload, m->len) != 0 ? -EBADMSG : 0;
}

static void
worker_chan_error(struct ipc_chan *chan, enum ipc_error err, uint16_t type,
    size_t len, void *arg)
{
	worker->stats.control_errors++;
	log_warn("the master sent a %s (type %#x, %zu bytes): refused",
	    ipc_error_name(err), type, len);
}

static void
worker_chan_close(struct ipc_chan *chan, void *arg)
{
	log_warn("the master's control channel closed: stopping");
	worker_stop("shutdown");
}

/* What the master sends a worker: the control channel's table, by type. */
static const struct ipc_handler worker_handlers[] = {
	{ IPC_LISTENER, "listener", sizeof(struct ipc_listener),
	  sizeof(struct ipc_listener), IPC_H_FD, worker_msg_listener },
	{ IPC_START, "start", 0, 0, 0, worker_msg_start },
	{ IPC_DRAIN, "drain", sizeof(struct ipc_drain),
	  sizeof(struct ipc_drain), 0, worker_msg_drain },
	{ IPC_STOP, "stop", sizeof(struct ipc_stop), sizeof(struct ipc_stop),
	  0, worker_msg_stop },
	{ IPC_REOPEN_LOGS, "reopen logs", 0, 0, IPC_H_FD,
	  worker_msg_reopen_logs },
	{ IPC_TLS_TICKET_KEYS, "TLS ticket keys",
	  sizeof(struct tls_ticket_keys), sizeof(struct tls_ticket_keys), 0,
	  worker_msg_tls_ticket_keys },
	{ IPC_KICK, "kick", sizeof(struct ipc_kick), IPC_MAX_MESSAGE, 0,
	  worker_msg_kick },
	{ IPC_SESSIONS, "sessions", 0, 0, 0, worker_msg_sessions },
	{ IPC_BROADCAST, "broadcast", sizeof(struct ipc_broadcast) + 1,
	  IPC_MAX_MESSAGE, 0, worker_msg_broadcast },
	{ IPC_CH_DELIVER, "channel deliver", sizeof(struct ipc_ch_push) + 1,
	  IPC_MAX_MESSAGE, 0, channel_msg_deliver },
	{ IPC_CLUSTER_SHOW, "show cluster", 0, 0, 0, worker_msg_cluster_show },
	{ IPC_CLUSTER_ORPHANS, "cluster orphans", 2, IPC_MAX_MESSAGE, 0,
	  worker_msg_cluster_orphans },
};

const struct ipc_receiver worker_receiver = {
	worker_handlers, nitems(worker_handlers), worker_chan_error,
	worker_chan_close,
};

/* Raises the descriptor limit to the hard limit, and says if too low. */
static void
worker_rlimit(void)
{
	struct rlimit	 rl;
	uint64_t	 need = worker->conf->max_connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		log_warn("open-file limit %ju is below max_connections + 64 "
		    "(%ju): connections beyond it will fail to be accepted; "
		    "raise LimitNOFILE (systemd) or ulimit -n",
		    (uintmax_t)rl.rlim_cur, (uintmax_t)need);
	}
}

static int
worker_drop_privileges(void)
{
	const struct conf	*conf = worker->conf;
	struct passwd		*pw = NULL;
	struct group		*gr;
	gid_t			 gid;

	if (geteuid() != 0 || (*conf->user == '\0' && *conf->group == '\0')) {
		return 0;
	}
	if (*conf->user != '\0' && (pw = getpwnam(conf->user)) == NULL) {
		log_error("user %s: no such user", conf->user);
		return -ENOENT;
	}
	gid = pw != NULL ? pw->pw_gid : getegid();
	if (*conf->group != '\0') {
		if ((gr = getgrnam(conf->group)) == NULL) {
			log_error("group %s: no such group", conf->group);
			return -ENOENT;
		}
		gid = gr->gr_gid;
	}
	if ((pw != NULL ? initgroups(pw->pw_name, gid) :
	    setgroups(0, NULL)) == -1 || setgid(gid) == -1 ||
	    (pw != NULL && setuid(pw->pw_uid) == -1)) {
		log_error("dropping privileges: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void
worker_free(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&worker->conns)) != NULL) {
		conn_close(c, "worker exit");
	}
	worker_deferred(-1, 0, NULL);
	worker_stop_accepting();
	cluster_finish();
	ipc_chan_destroy(worker->chan);
	event_free(worker->tick);
	event_free(worker->drain_timer);
	event_free(worker->accept_resume);
	event_free(worker->deferred);
	/* Requests the channel still owed answers end now, with -EPIPE. */
	event_base_loop(worker->base, EVLOOP_NONBLOCK);
	free(worker->flushq);
	free(worker->rbuf);
	free(worker->obuf);
	router_finish();
	channel_finish();
	session_finish();
	event_base_free(worker->base);
	free(worker);
	worker = NULL;
}

int
worker_main(struct conf *conf, int slot, uint32_t generation,
    uint32_t serial, int chan_fd)
{
	struct timeval	 one = { 1, 0 }, hs;
	char		 name[16], err[512];

	snprintf(name, sizeof name, "shaddock-w%d", slot);
	prctl(PR_SET_NAME, name);

	worker = xcalloc(1, sizeof *worker);
	worker->conf = conf;
	worker->slot = slot;
	worker->generation = generation;
	worker->serial = serial;
	worker->started_ms = now_ms();
	TAILQ_INIT(&worker->conns);
	TAILQ_INIT(&worker->dead);
	if ((worker->base = event_base_new()) == NULL) {
		log_error("event_base_new failed");
		return 1;
	}
	worker_rlimit();
	if (worker_drop_privileges() != 0) {
		return 1;
	}

	channel_init();
	app_hello_init();
	app_chat_init();
	if (session_init(err, sizeof err) != 0) {
		log_error("dictionary: %s", err);
		return 1;
	}
	if (cluster_init(err, sizeof err) != 0) {
		log_error("cluster: %s", err);
		return 1;
	}
	worker->rbuf_size = WORKER_RBUF_SIZE;
	worker->rbuf = xmalloc(worker->rbuf_size);
	worker->obuf_size = WORKER_OBUF_SIZE;
	worker->obuf = xmalloc(worker->obuf_size);
	hs.tv_sec = (time_t)(conf->handshake_timeout / 1000);
	hs.tv_usec = (suseconds_t)(conf->handshake_timeout % 1000) * 1000;
	worker->tv_handshake = event_base_init_common_timeout(worker->base,
	    &hs);

	worker->chan = ipc_chan_create(worker->base, chan_fd,
	    &worker_receiver, NULL);
	worker->tick = event_new(worker->base, -1, EV_PERSIST, worker_tick,
	    NULL);
	evtimer_add(worker->tick, &one);
	worker->drain_timer = evtimer_new(worker->base, worker_kick_some,
	    NULL);
	worker->accept_resume = evtimer_new(worker->base,
	    worker_accept_resume, NULL);
	worker->deferred = event_new(worker->base, -1, 0, worker_deferred,
	    NULL);

	event_base_dispatch(worker->base);

	log_debug("worker %d exiting", slot);
	worker_free();
	conf_free(conf);
	return 0;
}
