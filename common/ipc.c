/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Control-channel messages (see ipc.h). Sending first tries the socket
 * directly; what the peer's buffer cannot take waits in a FIFO and leaves
 * on EV_WRITE, in order. Receiving checks the version and that the header's
 * length matches the packet before the callback sees anything.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/xmalloc.h"

const char *const worker_stats_names[] = {
	"rss", "connections", "sessions", "sessions_inited",
	"sessions_wait_ack", "sessions_working", "tcp_connections",
	"ws_connections", "accepted", "rejected_max_connections",
	"handshakes", "handshake_errors", "requests", "notifies",
	"responses", "pushes", "kicks", "heartbeat_timeouts",
	"handshake_timeouts", "idle_timeouts", "protocol_errors",
	"oversize_packages", "send_buffer_overflows", "bytes_in", "bytes_out",
	"channels", "channel_members",
	"tls_handshakes", "tls_resumptions", "tls_errors",
};

_Static_assert(sizeof worker_stats_names / sizeof worker_stats_names[0] ==
    WORKER_STATS_N, "worker_stats_names must name every counter");

struct ipc_out {
	STAILQ_ENTRY(ipc_out)	 entry;
	struct ipc_hdr		 hdr;
	int			 fd;		/* dup, closed after sending */
	uint8_t			 payload[];
};

struct ipc_chan {
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_fail;	/* runs close_cb from the loop */
	ipc_msg_cb		 msg_cb;
	ipc_close_cb		 close_cb;
	void			*arg;
	bool			 closed;
	size_t			 queued;
	STAILQ_HEAD(, ipc_out)	 out;
};

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
	int		 fd = -1, extra;
	size_t		 i, nfds;

	*ret_fd = -1;
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
	if ((size_t)n < sizeof *ret_hdr || (mh.msg_flags & MSG_TRUNC) ||
	    ret_hdr->version != IPC_VERSION ||
	    (ret_hdr->flags & IPC_F_MEMFD ? (size_t)n != sizeof *ret_hdr ||
	    fd == -1 || ret_hdr->len > IPC_MAX_MESSAGE :
	    ret_hdr->len != (size_t)n - sizeof *ret_hdr)) {
		if (fd != -1) {
			close(fd);
		}
		return -EBADMSG;
	}
	*ret_fd = fd;
	return (int)n;
}

/*
 * Marks the channel closed. The owner hears of it from the event loop,
 * never from inside the send or receive that found it, so a close
 * callback cannot run in the middle of its own caller's work.
 */
static void
ipc_chan_fail(struct ipc_chan *chan)
{
	if (chan->closed) {
		return;
	}
	chan->closed = true;
	event_del(chan->ev_read);
	event_del(chan->ev_write);
	event_active(chan->ev_fail, EV_TIMEOUT, 0);
}

static void
ipc_chan_failed(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan	*chan = arg;

	if (chan->close_cb != NULL) {
		chan->close_cb(chan, chan->arg);
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

static void
ipc_chan_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan	*chan = arg;
	struct ipc_hdr	 hdr;
	static uint8_t	 buf[IPC_MAX_PAYLOAD + 1];
	uint8_t		*big;
	int		 n, rfd, count;

	/* A bounded batch, so one busy channel cannot starve the loop. */
	for (count = 0; count < 64 && !chan->closed; count++) {
		n = ipc_recv(fd, &hdr, buf, sizeof buf - 1, &rfd);
		if (n == -EAGAIN) {
			return;
		}
		if (n == -EBADMSG) {
			log_warn("control channel: dropped a malformed "
			    "message");
			continue;
		}
		if (n <= 0) {
			ipc_chan_fail(chan);
			return;
		}
		if (hdr.flags & IPC_F_MEMFD) {
			if ((big = ipc_memfd_read(rfd, hdr.len)) == NULL) {
				log_warn("control channel: dropped a message "
				    "whose memfd does not hold %u bytes",
				    hdr.len);
				continue;
			}
			chan->msg_cb(chan, &hdr, big, -1, chan->arg);
			free(big);
			continue;
		}
		buf[hdr.len] = '\0';
		chan->msg_cb(chan, &hdr, buf, rfd, chan->arg);
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
ipc_chan_create(struct event_base *base, int fd, ipc_msg_cb msg_cb,
    ipc_close_cb close_cb, void *arg)
{
	struct ipc_chan	*chan;
	int		 size = 4 * 1024 * 1024;

	chan = xcalloc(1, sizeof *chan);
	chan->fd = fd;
	chan->msg_cb = msg_cb;
	chan->close_cb = close_cb;
	chan->arg = arg;
	STAILQ_INIT(&chan->out);
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

	if (chan == NULL) {
		return;
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
	if (len > IPC_MAX_PAYLOAD) {
		if (fd != -1) {
			return -EINVAL;
		}
		if ((memfd = ipc_memfd_make(payload, len)) < 0) {
			return memfd;
		}
		hdr.flags = IPC_F_MEMFD;
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

void *
ipc_push_encode(const struct ipc_push *m, size_t *ret_len)
{
	struct ipc_ch_push	*p;
	size_t			 len;
	char			*q;

	len = sizeof *p + m->channel_len + m->route_len + m->uid_len +
	    m->body_len;
	if (len > IPC_MAX_MESSAGE || m->channel_len > UINT16_MAX ||
	    m->route_len > UINT16_MAX || m->uid_len > UINT16_MAX) {
		return NULL;
	}
	p = xcalloc(1, len);
	p->exclude = m->exclude;
	p->from = m->from;
	p->channel_len = (uint16_t)m->channel_len;
	p->route_len = (uint16_t)m->route_len;
	p->uid_len = (uint16_t)m->uid_len;
	p->body_len = (uint32_t)m->body_len;
	q = (char *)(p + 1);
	memcpy(q, m->channel, m->channel_len);
	q += m->channel_len;
	memcpy(q, m->route, m->route_len);
	q += m->route_len;
	if (m->uid_len > 0) {
		memcpy(q, m->uid, m->uid_len);
		q += m->uid_len;
	}
	memcpy(q, m->body, m->body_len);
	*ret_len = len;
	return p;
}

int
ipc_push_decode(const void *payload, size_t len, struct ipc_push *ret)
{
	struct ipc_ch_push	 p;
	const char		*q;

	if (len < sizeof p) {
		return -EBADMSG;
	}
	memcpy(&p, payload, sizeof p);
	if (len != sizeof p + p.channel_len + p.route_len + p.uid_len +
	    p.body_len) {
		return -EBADMSG;
	}
	q = (const char *)payload + sizeof p;
	ret->exclude = p.exclude;
	ret->from = p.from;
	ret->channel = q;
	ret->channel_len = p.channel_len;
	ret->route = q += p.channel_len;
	ret->route_len = p.route_len;
	ret->uid = q += p.route_len;
	ret->uid_len = p.uid_len;
	ret->body = q + p.uid_len;
	ret->body_len = p.body_len;
	return 0;
}

size_t
ipc_chan_queued(const struct ipc_chan *chan)
{
	return chan->queued;
}
