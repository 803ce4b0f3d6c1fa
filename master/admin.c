/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The admin socket: a Unix stream socket taking one command per line and
 * answering with text ended by an empty line, or with one line of JSON
 * when the command's last word is "json" (HAProxy's runtime API). The
 * peer's uid is checked with SO_PEERCRED before anything is read. Each
 * line runs one command of the registry (admin-cmd.c), which answers
 * with one JSON value, rendered here in the form the client asked for;
 * a command that waits (for the workers, for a reload) holds the client's
 * next lines until its answer comes.
 *
 * Safety (issue 8): admin_read() is the only caller of the dispatcher,
 * and no answer calls it back: a late answer wakes <resume>, which reads
 * on from the event loop. A line is at most max_package_size + 1 KiB (a
 * broadcast of a whole package body); a longer one is answered "line too
 * long" and the connection closed. At most ADMIN_MAX_CLIENTS clients;
 * one idle for ADMIN_IDLE_TIMEOUT_S is closed.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <grp.h>
#if HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"

/*
 * A command line may hold a broadcast of a whole package body: the limit
 * is max_package_size plus room for the words around it.
 */
#define ADMIN_LINE_SLACK	1024
#define ADMIN_MAX_CLIENTS	64
#define ADMIN_IDLE_TIMEOUT_S	60
/* Past this an answer gives the memory it took back to the system. */
#define ADMIN_TRIM_SIZE		(256u << 10)

/* A command being run for a client. */
struct admin_call {
	struct admin_client	*client;
	const struct admin_cmd	*cmd;
	const char		*raw;		/* the line, during run() */
	char			**argv;		/* its arguments, during run() */
	int			 argc;
	int			 words;		/* the command's own */
	bool			 json;
	bool			 running;	/* inside run() */
	bool			 answered;
	bool			 waiting;	/* admin_wait() was called */
	admin_cancel_cb		 cancel;
	void			*cancel_arg;
};

struct admin_client {
	TAILQ_ENTRY(admin_client) entry;
	struct bufferevent	*bev;
	uid_t			 uid;
	pid_t			 pid;
	bool			 busy;		/* a command waits */
	bool			 closing;	/* close once written */
	bool			 eof;		/* the peer sent its FIN */
	size_t			 scanned;	/* input searched for a LF */
	struct admin_call	 call;
	struct event		*resume;	/* reads on after a late answer */
};

static void	admin_client_free(struct admin_client *);
static void	admin_read(struct admin_client *);
static void	admin_linger(struct admin_client *);
static void	admin_resume_cb(evutil_socket_t, short, void *);
static void	admin_event_cb(struct bufferevent *, short, void *);

/* Argument <i> (from 0, after the command's words), or NULL. */
const char *
admin_arg(const struct admin_call *call, int i)
{
	return i < call->argc ? call->argv[i] : NULL;
}

/*
 * The line from argument <i> on, as typed (spaces kept), without a final
 * "json". The caller frees it.
 */
char *
admin_rest(const struct admin_call *call, int i)
{
	return admin_rest_of(call->raw, call->words + i, call->json);
}

/*
 * Writes the answer; after a late one, the next lines are read again.
 * Returns the answer's length.
 */
static size_t
admin_deliver(struct admin_call *call, const json_t *value,
    const char *error)
{
	struct admin_client	*c = call->client;
	char			*s;
	size_t			 len;

	if (call->answered) {
		return 0;
	}
	call->answered = true;
	call->cancel = NULL;
	s = admin_render(value, error, call->json, &len);
	bufferevent_write(c->bev, s, len);
	free(s);
	if (!call->running) {
		/*
		 * A late answer: the next command is read from the loop,
		 * never from inside this call, so an answer can never
		 * recurse into the reader.
		 */
		c->busy = false;
		event_active(c->resume, EV_TIMEOUT, 0);
	}
	return len;
}

/*
 * Answers <call> with <value> (its reference is taken). NULL, a value
 * json_pack() could not make (a string that is not UTF-8), is an error.
 */
void
admin_answer(struct admin_call *call, json_t *value)
{
	size_t	 len;

	if (value == NULL) {
		admin_fail(call, "the answer could not be made");
		return;
	}
	len = admin_deliver(call, value, NULL);
	json_decref(value);
#if HAVE_MALLOC_TRIM
	if (len > ADMIN_TRIM_SIZE) {
		/*
		 * A big answer (show sessions of every session) was a tree
		 * of small blocks: give their pages back, or the master keeps
		 * the high-water mark of its largest answer for good.
		 */
		malloc_trim(0);
	}
#endif
}

/* Answers <call> with an error ("error: ..." or {"error": ...}). */
void
admin_fail(struct admin_call *call, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	admin_deliver(call, NULL, s);
	free(s);
}

/*
 * The answer to <call> comes later. If the client leaves first, <cancel>
 * runs with <arg> (and the answer must then never be given).
 */
void
admin_wait(struct admin_call *call, admin_cancel_cb cancel, void *arg)
{
	if (call->answered) {
		return;
	}
	call->waiting = true;
	call->cancel = cancel;
	call->cancel_arg = arg;
}

/* Runs the command of one line. */
static void
admin_dispatch(struct admin_client *c, char *line)
{
	struct admin_call	*call = &c->call;
	struct admin_words	 w;
	char			*raw, *usage;

	raw = xstrdup(line);
	admin_parse(line, &w);
	memset(call, 0, sizeof *call);
	call->client = c;
	call->json = w.json;
	/* Until this returns, an answer is one given at once. */
	call->running = true;
	if (w.argc == 0) {
		admin_fail(call, "empty command; try help");
		goto out;
	}
	if ((call->cmd = admin_find(w.argv, w.argc, &call->words)) == NULL) {
		if ((usage = admin_usage_of(w.argv[0])) != NULL) {
			admin_fail(call, "%s", usage);
			free(usage);
		} else {
			admin_fail(call, "unknown command; try help");
		}
		goto out;
	}
	call->raw = raw;
	call->argv = w.argv + call->words;
	call->argc = w.argc - call->words;
	if (call->argc < call->cmd->min_args) {
		usage = admin_usage_error(call->cmd);
		admin_fail(call, "%s", usage);
		free(usage);
		goto out;
	}
	log_debug("admin (uid %u): %s", (unsigned)c->uid, call->cmd->words);
	call->cmd->run(call);
	if (!call->answered && !call->waiting) {
		admin_fail(call, "%s: no answer", call->cmd->words);
	}
	c->busy = !call->answered;
out:
	call->running = false;
	call->raw = NULL;
	call->argv = NULL;
	call->argc = 0;
	free(raw);
}

/*
 * A client that says nothing for ADMIN_IDLE_TIMEOUT_S is closed; one that
 * waits for an answer (a reload, the workers) is never timed out.
 */
static void
admin_idle_timer(struct admin_client *c)
{
	struct timeval	 tv = { ADMIN_IDLE_TIMEOUT_S, 0 };

	bufferevent_set_timeouts(c->bev, c->busy ? NULL : &tv, NULL);
}

/* The longest command line this server reads. */
static size_t
admin_line_max(void)
{
	return master->conf->max_package_size + ADMIN_LINE_SLACK;
}

/*
 * Refuses a line over the limit and closes: the rest of what the peer
 * sends is read and dropped until its EOF.
 */
static void
admin_too_long(struct admin_client *c)
{
	char	 text[64];

	snprintf(text, sizeof text, "line too long (limit %zu bytes)",
	    admin_line_max());
	log_warn("admin socket: uid %u (pid %d): %s", (unsigned)c->uid,
	    (int)c->pid, text);
	evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	memset(&c->call, 0, sizeof c->call);
	c->call.client = c;
	c->call.running = true;
	admin_fail(&c->call, "%s", text);
	c->closing = true;
}

/*
 * Runs the complete command lines that wait, in order, until one has to
 * wait for workers. This is the only caller of the dispatcher, and no
 * answer calls it back: a command answered at once returns here and the
 * loop goes on; a late answer wakes <c->resume>, which calls this again
 * from the event loop.
 */
static void
admin_read(struct admin_client *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	size_t			 len, line_len, skip;
	char			*line;
	int			 r;

	while (!c->busy && !c->closing) {
		/* At most one line's limit is buffered (the watermark). */
		len = evbuffer_get_length(in);
		r = admin_line_find((const char *)evbuffer_pullup(in, -1), len,
		    c->eof, admin_line_max(), &c->scanned, &line_len, &skip);
		if (r == -EMSGSIZE) {
			admin_too_long(c);
			break;
		}
		if (r == 0) {
			break;
		}
		line = xmalloc(line_len + 1);
		evbuffer_remove(in, line, line_len);
		line[line_len] = '\0';
		evbuffer_drain(in, skip - line_len);
		admin_dispatch(c, line);
		free(line);
	}
	if (c->eof && !c->busy && !c->closing) {
		/* Everything the peer sent is answered: close once written. */
		c->closing = true;
	}
	if (!c->closing) {
		admin_idle_timer(c);
	}
	if (c->closing) {
		/* Nothing more is read; what is left is dropped. */
		evbuffer_drain(in, (size_t)-1);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) ==
		    0) {
			admin_linger(c);
		}
	}
}

static void
admin_read_cb(struct bufferevent *bev, void *arg)
{
	admin_read(arg);
}

static void
admin_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	admin_read(arg);
}

/* Drops what a closing client still sends, until its EOF. */
static void
admin_discard_cb(struct bufferevent *bev, void *arg)
{
	evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
}

/*
 * Ends a client whose answers are all written. Closing with unread input
 * would reset the connection and could destroy the answer in flight, so
 * unless the peer has already sent its FIN: send ours, read and drop
 * until its EOF (or 2 s), then free.
 */
static void
admin_linger(struct admin_client *c)
{
	struct timeval	 tv = { 2, 0 };

	if (c->eof) {
		admin_client_free(c);
		return;
	}
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	bufferevent_setcb(c->bev, admin_discard_cb, NULL, admin_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

static void
admin_write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_client	*c = arg;

	if (c->closing) {
		admin_linger(c);
	}
}

static void
admin_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_client	*c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    !c->closing && !c->eof) {
		/*
		 * A half-close: what was sent is still answered (a last line
		 * without its newline included), then the client is closed.
		 */
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		if (!c->busy) {
			admin_read(c);
		}
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		/* A command it waits for is cancelled (admin_client_free). */
		admin_client_free(c);
	}
}

static void
admin_client_free(struct admin_client *c)
{
	if (!c->call.answered && c->call.cancel != NULL) {
		c->call.cancel(c->call.cancel_arg);
	}
	TAILQ_REMOVE(&master->admin_clients, c, entry);
	master->n_admin_clients--;
	event_free(c->resume);
	bufferevent_free(c->bev);
	free(c);
}

/* True when <uid> may use the admin socket. */
static bool
admin_allowed(uid_t uid, gid_t gid)
{
	struct group	*gr;
	struct passwd	*pw;
	gid_t		 groups[256];
	int		 n = (int)nitems(groups), i;

	if (uid == 0 || uid == geteuid()) {
		return true;
	}
	if (*master->conf->admin_group == '\0' ||
	    (gr = getgrnam(master->conf->admin_group)) == NULL) {
		return false;
	}
	if (gid == gr->gr_gid) {
		return true;
	}
	if ((pw = getpwuid(uid)) == NULL) {
		return false;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1) {
		return false;
	}
	for (i = 0; i < n; i++) {
		if (groups[i] == gr->gr_gid) {
			return true;
		}
	}
	return false;
}

/* Answers <c> with one error and closes it, reading nothing. */
static void
admin_refuse(struct admin_client *c, const char *why)
{
	c->closing = true;
	evbuffer_add_printf(bufferevent_get_output(c->bev), "error: %s\n\n",
	    why);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
admin_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct admin_client	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	int			 fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			log_warn("admin socket: accept: %s", strerror(errno));
		}
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->bev = bufferevent_socket_new(master->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	c->resume = event_new(master->base, -1, 0, admin_resume_cb, c);
	TAILQ_INSERT_TAIL(&master->admin_clients, c, entry);
	master->n_admin_clients++;
	bufferevent_setcb(c->bev, admin_read_cb, admin_write_cb,
	    admin_event_cb, c);
	/* Input beyond one line's limit waits in the kernel, not here. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, admin_line_max() + 2);
	if (!admin_allowed(cred.uid, cred.gid)) {
		log_warn("admin socket: refused uid %u (pid %d): not root, "
		    "the owner or in admin_group", (unsigned)cred.uid,
		    (int)cred.pid);
		admin_refuse(c, "permission denied");
		return;
	}
	if (master->n_admin_clients > ADMIN_MAX_CLIENTS) {
		log_warn("admin socket: refused uid %u (pid %d): already %d "
		    "admin connections", (unsigned)cred.uid, (int)cred.pid,
		    ADMIN_MAX_CLIENTS);
		admin_refuse(c, "too many admin connections");
		return;
	}
	admin_idle_timer(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/*
 * Creates the admin socket (mode 0660, group admin_group when set). An
 * existing socket that still answers belongs to a running server: that is
 * an error; a stale one is replaced. Returns 0 or -errno (logged).
 */
int
admin_open(void)
{
	struct sockaddr_un	 sun;
	struct group		*gr = NULL;
	const char		*path = master->conf->admin_socket;
	int			 fd, probe;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_error("admin_socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	if (*master->conf->admin_group != '\0' &&
	    (gr = getgrnam(master->conf->admin_group)) == NULL) {
		log_error("admin_group %s: no such group",
		    master->conf->admin_group);
		return -ENOENT;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
	    sizeof sun) == 0) {
		close(probe);
		log_error("admin socket %s is in use: is another shaddockd "
		    "running?", path);
		return -EADDRINUSE;
	}
	if (probe != -1) {
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 64) == -1) {
		log_error("admin socket %s: %s", path, strerror(errno));
		if (fd != -1) {
			close(fd);
		}
		return -errno;
	}
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) == -1) {
		log_warn("admin socket %s: chown to group %s: %s", path,
		    gr->gr_name, strerror(errno));
	}
	master->admin_fd = fd;
	master->admin_ev = event_new(master->base, fd, EV_READ | EV_PERSIST,
	    admin_accept_cb, NULL);
	event_add(master->admin_ev, NULL);
	return 0;
}

/* Gives the admin socket file to <group> (empty: the master's group). */
void
admin_set_group(const char *group)
{
	struct group	*gr;
	gid_t		 gid = getegid();

	if (*group != '\0') {
		if ((gr = getgrnam(group)) == NULL) {
			log_error("admin_group %s: no such group", group);
			return;
		}
		gid = gr->gr_gid;
	}
	if (chown(master->conf->admin_socket, (uid_t)-1, gid) == -1) {
		log_warn("admin socket %s: chown to group %s: %s",
		    master->conf->admin_socket, group, strerror(errno));
	}
}

void
admin_close(void)
{
	struct admin_client	*c;

	while ((c = TAILQ_FIRST(&master->admin_clients)) != NULL) {
		admin_client_free(c);
	}
	if (master->admin_ev != NULL) {
		event_free(master->admin_ev);
		master->admin_ev = NULL;
		close(master->admin_fd);
		unlink(master->conf->admin_socket);
	}
}
