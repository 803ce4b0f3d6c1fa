/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The control channel (see ipc.h). Sending first tries the socket
 * directly; what the peer's buffer cannot take waits in a FIFO and leaves
 * on EV_WRITE, in order. Receiving checks the version and that the
 * header's length matches the packet, then either hands a reply to the
 * request waiting for it or dispatches through the owner's table. A
 * refused message goes to the owner's error callback; this module never
 * logs.
 *
 * Re-entrancy: nothing here calls an owner back from inside a send or a
 * destroy. The close callback and every request's callback run from
 * their own events; handlers run from the read event only, one message
 * at a time, and may send (a reply) but not destroy the channel.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/ipc.h"
#include "common/xmalloc.h"

#define IPC_READ_BATCH	64	/* messages per read event */

struct ipc_out {
	STAILQ_ENTRY(ipc_out)	 entry;
	struct ipc_hdr		 hdr;
	int			 fd;		/* dup, closed after sending */
	uint8_t			 payload[];
};

/* One channel's share of a request: the answer it owes. */
struct ipc_wait {
	TAILQ_ENTRY(ipc_wait)	 entry;		/* in the channel's list */
	struct ipc_request	*req;
	struct ipc_chan		*chan;		/* NULL once answered */
	int			 status;
	uint8_t			*data;
	size_t			 len;
};

struct ipc_request {
	struct event		*ev;		/* timeout, and completion */
	uint64_t		 tag;
	size_t			 n;
	size_t			 left;		/* waits not answered yet */
	ipc_request_cb		 cb;
	void			*arg;
	struct ipc_wait		 waits[];
};

struct ipc_chan {
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_fail;	/* runs the close cb from the loop */
	const struct ipc_receiver *rx;
	void			*arg;
	bool			 closed;
	size_t			 queued;
	uint64_t		 errors;
	STAILQ_HEAD(, ipc_out)	 out;
	TAILQ_HEAD(, ipc_wait)	 waits;		/* answers this peer owes */
};

static uint64_t	 ipc_next_tag;

static int	ipc_chan_sendf(struct ipc_chan *, uint16_t, uint64_t, uint32_t,
		    const void *, size_t, int);

const char *
ipc_error_name(enum ipc_error err)
{
	switch (err) {
	case IPC_OK:
		return "ok";
	case IPC_ERR_MALFORMED:
		return "malformed message";
	case IPC_ERR_VERSION:
		return "message of another protocol version";
	case IPC_ERR_UNKNOWN:
		return "message of unknown type";
	case IPC_ERR_LENGTH:
		return "message of bad length";
	case IPC_ERR_FD:
		return "message without its descriptor";
	case IPC_ERR_PAYLOAD:
		return "message whose payload does not decode";
	}
	return "bad message";
}

int
ipc_send(int sock, const struct ipc_hdr *hdr, const void *payload, int fd)
{
	struct msghdr	 mh;
	struct iovec	 iov[2];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr	*c;
	ssize_t		 n;

	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = (void *)hdr;
	iov[0].iov_len = sizeof *hdr;
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = hdr->flags & IPC_F_MEMFD ? 0 : hdr->len;
	mh.msg_iov = iov;
	mh.msg_iovlen = iov[1].iov_len > 0 ? 2 : 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof cm);
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof cm.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	do {
		n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		return -errno;
	}
	return 0;
}

int
ipc_recv(int sock, struct ipc_hdr *ret_hdr, void *payload, size_t size,
    int *ret_fd)
{
	struct msghdr	 mh;
	struct iovec	 iov[2];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct cmsghdr	*c;
	ssize_t		 n;
	int		 fd = -1, extra, r = 0;
	size_t		 i, nfds;

	*ret_fd = -1;
	memset(ret_hdr, 0, sizeof *ret_hdr);
	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = ret_hdr;
	iov[0].iov_len = sizeof *ret_hdr;
	iov[1].iov_base = payload;
	iov[1].iov_len = size;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof cm.buf;
	do {
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		return -errno;
	}
	if (n == 0) {
		return 0;
	}
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SCM_RIGHTS) {
			continue;
		}
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&extra, CMSG_DATA(c) + i * sizeof(int),
			    sizeof extra);
			if (fd == -1) {
				fd = extra;
			} else {
				close(extra);
			}
		}
	}
	if ((size_t)n < sizeof *ret_hdr || (mh.msg_flags & MSG_TRUNC)) {
		r = -EBADMSG;
	} else if (ret_hdr->version != IPC_VERSION) {
		r = -EPROTO;
	} else if (ret_hdr->flags & IPC_F_MEMFD ? (size_t)n !=
	    sizeof *ret_hdr || fd == -1 || ret_hdr->len > IPC_MAX_MESSAGE :
	    ret_hdr->len != (size_t)n - sizeof *ret_hdr) {
		r = -EBADMSG;
	}
	if (r != 0) {
		if (fd != -1) {
			close(fd);
		}
		return r;
	}
	*ret_fd = fd;
	return (int)n;
}

/* A request is complete: its callback runs from the loop. */
static void
ipc_request_answered(struct ipc_request *req)
{
	if (--req->left == 0) {
		event_active(req->ev, EV_TIMEOUT, 0);
	}
}

/* <w> will not be answered: it ends with <status>. */
static void
ipc_wait_end(struct ipc_wait *w, int status)
{
	TAILQ_REMOVE(&w->chan->waits, w, entry);
	w->chan = NULL;
	w->status = status;
	ipc_request_answered(w->req);
}

/*
 * Marks the channel closed. The owner hears of it from the event loop,
 * never from inside the send or receive that found it, so a close
 * callback cannot run in the middle of its own caller's work. What the
 * peer owes will not come.
 */
static void
ipc_chan_fail(struct ipc_chan *chan)
{
	struct ipc_wait	*w;

	if (chan->closed) {
		return;
	}
	chan->closed = true;
	event_del(chan->ev_read);
	event_del(chan->ev_write);
	while ((w = TAILQ_FIRST(&chan->waits)) != NULL) {
		ipc_wait_end(w, -EPIPE);
	}
	event_active(chan->ev_fail, EV_TIMEOUT, 0);
}

static void
ipc_chan_failed(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan	*chan = arg;

	if (chan->rx->close != NULL) {
		chan->rx->close(chan, chan->arg);
	}
}

/*
 * Reads the <len> bytes of a memfd payload into a new buffer (NUL added)
 * and closes <fd>. Returns the buffer, the caller's to free, or NULL when
 * the memfd does not hold exactly <len> bytes.
 */
static uint8_t *
ipc_memfd_read(int fd, size_t len)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 off = 0;
	ssize_t		 n;

	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != len) {
		close(fd);
		return NULL;
	}
	buf = xmalloc(len + 1);
	while (off < len) {
		n = pread(fd, buf + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		off += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* A memfd holding <len> bytes of <payload>, sealed; or -errno. */
static int
ipc_memfd_make(const void *payload, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, r;

	fd = memfd_create("shaddock-ipc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1) {
		return -errno;
	}
	while (off < len) {
		n = write(fd, (const uint8_t *)payload + off, len - off);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n == -1) {
			r = -errno;
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	/* The receiver reads what was written, and nothing else can. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL);
	return fd;
}

static int
ipc_handler_cmp(const void *key, const void *elem)
{
	uint16_t			 type = *(const uint16_t *)key;
	const struct ipc_handler	*h = elem;

	return type < h->type ? -1 : type > h->type;
}

enum ipc_error
ipc_dispatch(struct ipc_chan *chan, const struct ipc_handler *handlers,
    size_t n, struct ipc_msg *m, void *arg)
{
	const struct ipc_handler	*h;
	enum ipc_error			 err = IPC_OK;

	h = bsearch(&m->type, handlers, n, sizeof *handlers, ipc_handler_cmp);
	if (h == NULL) {
		err = IPC_ERR_UNKNOWN;
	} else if (m->len < h->min_len || m->len > h->max_len) {
		err = IPC_ERR_LENGTH;
	} else if ((h->flags & IPC_H_FD) && m->fd == -1) {
		err = IPC_ERR_FD;
	} else if (h->fn(chan, m, arg) != 0) {
		err = IPC_ERR_PAYLOAD;
	}
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	return err;
}

/*
 * Counts a refused message and tells the owner. A refused request (<tag>
 * not 0) is answered IPC_F_REFUSED, so its sender need not wait for a
 * timeout.
 */
static void
ipc_chan_refuse(struct ipc_chan *chan, enum ipc_error err, uint16_t type,
    size_t len, uint64_t tag)
{
	chan->errors++;
	if (chan->rx->error != NULL) {
		chan->rx->error(chan, err, type, len, chan->arg);
	}
	if (tag != 0 && type != IPC_REPLY && type != IPC_REPLY_PART &&
	    err != IPC_ERR_VERSION) {
		ipc_chan_sendf(chan, IPC_REPLY, tag, IPC_F_REFUSED, NULL, 0,
		    -1);
	}
}

/*
 * A reply from the peer: it goes to the request waiting for <tag> on this
 * channel. <data> is taken when <owned> (a memfd payload), else copied.
 * A reply nobody waits for (its request timed out) is dropped.
 */
static void
ipc_chan_answer(struct ipc_chan *chan, const struct ipc_hdr *hdr,
    uint8_t *data, bool owned)
{
	struct ipc_wait	*w;

	TAILQ_FOREACH(w, &chan->waits, entry) {
		if (w->req->tag == hdr->tag) {
			break;
		}
	}
	if (w == NULL) {
		if (owned) {
			free(data);
		}
		return;
	}
	if (w->len + hdr->len > IPC_MAX_ANSWER) {
		ipc_chan_refuse(chan, IPC_ERR_LENGTH, hdr->type, hdr->len, 0);
		ipc_wait_end(w, -EMSGSIZE);
		if (owned) {
			free(data);
		}
		return;
	}
	if (hdr->flags & IPC_F_REFUSED) {
		ipc_wait_end(w, -EBADMSG);
		if (owned) {
			free(data);
		}
		return;
	}
	if (w->data == NULL && owned) {
		w->data = data;
	} else {
		w->data = xrealloc(w->data, w->len + hdr->len + 1);
		memcpy(w->data + w->len, data, hdr->len);
		if (owned) {
			free(data);
		}
	}
	w->len += hdr->len;
	if (hdr->type == IPC_REPLY) {
		ipc_wait_end(w, 0);
	}
}

static void
ipc_chan_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan	*chan = arg;
	struct ipc_hdr	 hdr;
	struct ipc_msg	 m;
	static uint8_t	 buf[IPC_MAX_PAYLOAD + 1];
	uint8_t		*big;
	enum ipc_error	 err;
	int		 n, rfd, count;

	/* A bounded batch, so one busy channel cannot starve the loop. */
	for (count = 0; count < IPC_READ_BATCH && !chan->closed; count++) {
		n = ipc_recv(fd, &hdr, buf, sizeof buf - 1, &rfd);
		if (n == -EAGAIN) {
			return;
		}
		if (n == -EBADMSG || n == -EPROTO) {
			ipc_chan_refuse(chan, n == -EPROTO ? IPC_ERR_VERSION :
			    IPC_ERR_MALFORMED, hdr.type, hdr.len, 0);
			continue;
		}
		if (n <= 0) {
			ipc_chan_fail(chan);
			return;
		}
		big = NULL;
		if (hdr.flags & IPC_F_MEMFD) {
			if ((big = ipc_memfd_read(rfd, hdr.len)) == NULL) {
				ipc_chan_refuse(chan, IPC_ERR_MALFORMED,
				    hdr.type, hdr.len, hdr.tag);
				continue;
			}
			rfd = -1;
		} else {
			buf[hdr.len] = '\0';
		}
		if (hdr.type == IPC_REPLY || hdr.type == IPC_REPLY_PART) {
			if (rfd != -1) {
				close(rfd);
			}
			ipc_chan_answer(chan, &hdr, big != NULL ? big : buf,
			    big != NULL);
			continue;
		}
		m.type = hdr.type;
		m.tag = hdr.tag;
		m.payload = big != NULL ? big : buf;
		m.len = hdr.len;
		m.fd = rfd;
		err = ipc_dispatch(chan, chan->rx->handlers,
		    chan->rx->n_handlers, &m, chan->arg);
		free(big);
		if (err != IPC_OK) {
			ipc_chan_refuse(chan, err, hdr.type, hdr.len, hdr.tag);
		}
	}
}

static void
ipc_chan_flush(struct ipc_chan *chan)
{
	struct ipc_out	*o;
	int		 r;

	while ((o = STAILQ_FIRST(&chan->out)) != NULL) {
		r = ipc_send(chan->fd, &o->hdr, o->payload, o->fd);
		if (r == -EAGAIN || r == -ENOBUFS) {
			event_add(chan->ev_write, NULL);
			return;
		}
		STAILQ_REMOVE_HEAD(&chan->out, entry);
		chan->queued -= (o->hdr.flags & IPC_F_MEMFD ? 0 :
		    o->hdr.len) + sizeof o->hdr;
		if (o->fd != -1) {
			close(o->fd);
		}
		free(o);
		if (r != 0) {
			ipc_chan_fail(chan);
			return;
		}
	}
}

static void
ipc_chan_write(evutil_socket_t fd, short what, void *arg)
{
	ipc_chan_flush(arg);
}

struct ipc_chan *
ipc_chan_create(struct event_base *base, int fd,
    const struct ipc_receiver *rx, void *arg)
{
	struct ipc_chan	*chan;
	int		 size = 4 * 1024 * 1024;
	size_t		 i;

	/* The table is searched with bsearch(). */
	for (i = 1; i < rx->n_handlers; i++) {
		assert(rx->handlers[i - 1].type < rx->handlers[i].type);
	}
	chan = xcalloc(1, sizeof *chan);
	chan->fd = fd;
	chan->rx = rx;
	chan->arg = arg;
	STAILQ_INIT(&chan->out);
	TAILQ_INIT(&chan->waits);
	/* Room for bursts (session lists, relays) without queueing. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	chan->ev_read = event_new(base, fd, EV_READ | EV_PERSIST,
	    ipc_chan_read, chan);
	chan->ev_write = event_new(base, fd, EV_WRITE, ipc_chan_write, chan);
	chan->ev_fail = event_new(base, -1, 0, ipc_chan_failed, chan);
	event_add(chan->ev_read, NULL);
	return chan;
}

void
ipc_chan_destroy(struct ipc_chan *chan)
{
	struct ipc_out	*o;
	struct ipc_wait	*w;

	if (chan == NULL) {
		return;
	}
	while ((w = TAILQ_FIRST(&chan->waits)) != NULL) {
		ipc_wait_end(w, -EPIPE);
	}
	while ((o = STAILQ_FIRST(&chan->out)) != NULL) {
		STAILQ_REMOVE_HEAD(&chan->out, entry);
		if (o->fd != -1) {
			close(o->fd);
		}
		free(o);
	}
	event_free(chan->ev_read);
	event_free(chan->ev_write);
	event_free(chan->ev_fail);
	close(chan->fd);
	free(chan);
}

int
ipc_chan_send(struct ipc_chan *chan, uint16_t type, uint64_t tag,
    const void *payload, size_t len, int fd)
{
	return ipc_chan_sendf(chan, type, tag, 0, payload, len, fd);
}

static int
ipc_chan_sendf(struct ipc_chan *chan, uint16_t type, uint64_t tag,
    uint32_t flags, const void *payload, size_t len, int fd)
{
	struct ipc_hdr	 hdr;
	struct ipc_out	*o;
	int		 r, memfd = -1;

	if (len > IPC_MAX_MESSAGE) {
		return -EMSGSIZE;
	}
	if (chan->closed) {
		return -EPIPE;
	}
	memset(&hdr, 0, sizeof hdr);
	hdr.version = IPC_VERSION;
	hdr.type = type;
	hdr.len = (uint32_t)len;
	hdr.tag = tag;
	hdr.flags = flags;
	if (len > IPC_MAX_PAYLOAD) {
		if (fd != -1) {
			return -EINVAL;
		}
		if ((memfd = ipc_memfd_make(payload, len)) < 0) {
			return memfd;
		}
		hdr.flags |= IPC_F_MEMFD;
		fd = memfd;
		len = 0;
	}
	r = -EAGAIN;
	if (STAILQ_EMPTY(&chan->out)) {
		r = ipc_send(chan->fd, &hdr, payload, fd);
		if (r != 0 && r != -EAGAIN && r != -ENOBUFS) {
			if (memfd != -1) {
				close(memfd);
			}
			ipc_chan_fail(chan);
			return -EPIPE;
		}
	}
	if (r != 0) {
		o = xmalloc(sizeof *o + len);
		o->hdr = hdr;
		o->fd = memfd;
		if (fd != -1 && memfd == -1 && (o->fd = dup(fd)) == -1) {
			r = -errno;
			free(o);
			return r;
		}
		if (len > 0) {
			memcpy(o->payload, payload, len);
		}
		STAILQ_INSERT_TAIL(&chan->out, o, entry);
		chan->queued += (hdr.flags & IPC_F_MEMFD ? 0 : len) +
		    sizeof hdr;
		event_add(chan->ev_write, NULL);
		return 0;
	}
	if (memfd != -1) {
		close(memfd);
	}
	return 0;
}

int
ipc_chan_reply(struct ipc_chan *chan, uint64_t tag, const void *payload,
    size_t len)
{
	if (tag == 0) {
		return 0;
	}
	return ipc_chan_send(chan, IPC_REPLY, tag, payload, len, -1);
}

int
ipc_chan_reply_part(struct ipc_chan *chan, uint64_t tag,
    const void *payload, size_t len)
{
	if (tag == 0) {
		return 0;
	}
	return ipc_chan_send(chan, IPC_REPLY_PART, tag, payload, len, -1);
}

size_t
ipc_chan_queued(const struct ipc_chan *chan)
{
	return chan->queued;
}

uint64_t
ipc_chan_errors(const struct ipc_chan *chan)
{
	return chan->errors;
}

static void
ipc_request_free(struct ipc_request *req)
{
	size_t	 i;

	for (i = 0; i < req->n; i++) {
		if (req->waits[i].chan != NULL) {
			TAILQ_REMOVE(&req->waits[i].chan->waits,
			    &req->waits[i], entry);
		}
		free(req->waits[i].data);
	}
	event_free(req->ev);
	free(req);
}

/* The timeout, or every channel has answered. */
static void
ipc_request_done(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_request	*req = arg;
	struct ipc_answer	*answers;
	size_t			 i;

	answers = xcalloc(req->n + 1, sizeof *answers);
	for (i = 0; i < req->n; i++) {
		answers[i].status = req->waits[i].chan != NULL ? -ETIMEDOUT :
		    req->waits[i].status;
		if (answers[i].status == 0) {
			answers[i].data = req->waits[i].data;
			answers[i].len = req->waits[i].len;
		}
	}
	req->cb(answers, req->n, req->arg);
	free(answers);
	ipc_request_free(req);
}

struct ipc_request *
ipc_request(struct event_base *base, struct ipc_chan *const *chans,
    size_t n, uint16_t type, const void *payload, size_t len,
    uint64_t timeout_ms, ipc_request_cb cb, void *arg)
{
	struct ipc_request	*req;
	struct ipc_wait		*w;
	struct timeval		 tv;
	size_t			 i;

	req = xcalloc(1, sizeof *req + n * sizeof *req->waits);
	req->ev = evtimer_new(base, ipc_request_done, req);
	req->tag = ++ipc_next_tag;
	req->n = n;
	req->left = n + 1;	/* held until every send is done */
	req->cb = cb;
	req->arg = arg;
	for (i = 0; i < n; i++) {
		w = &req->waits[i];
		w->req = req;
		w->chan = chans[i];
		TAILQ_INSERT_TAIL(&chans[i]->waits, w, entry);
	}
	for (i = 0; i < n; i++) {
		w = &req->waits[i];
		/* A failed send may have ended the wait already. */
		if (w->chan != NULL && ipc_chan_send(w->chan, type, req->tag,
		    payload, len, -1) != 0 && w->chan != NULL) {
			ipc_wait_end(w, -EPIPE);
		}
	}
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	evtimer_add(req->ev, &tv);
	ipc_request_answered(req);
	return req;
}

void
ipc_request_cancel(struct ipc_request *req)
{
	if (req != NULL) {
		ipc_request_free(req);
	}
}
