/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * shaddock-epoll-responder: the least a Pomelo connector can do, used as
 * the benchmark's "limit of this machine" for the same bytes on the wire.
 * One epoll loop per thread (each with its own SO_REUSEPORT listener)
 * answers a handshake with fixed bytes (code 200, sys.heartbeat), an ack
 * with a heartbeat, a heartbeat with a heartbeat, and every request with
 * {"code":200,"msg":"game server is ok."} and the request's id, which is
 * the only thing it parses. It keeps no session state beyond a partial
 * package and unsent output, and whether the connection upgraded to
 * WebSocket (it detects "GET " like Pomelo's switcher and then reads
 * masked frames, one package or more per frame, and writes one package
 * per frame). Nothing is checked beyond what framing needs: it is not a
 * server, only a floor under what a server can cost.
 */

#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"

#include "ws-accept.h"

#define RS_READ_CHUNK	(256 * 1024)
#define RS_MAX_EVENTS	512
#define RS_HTTP_MAX	8192
#define RS_OUT_MAX	(8u << 20)	/* unsent bytes before we give up */
#define RS_PKG_MAX	(16u << 20)
#define RS_RESPONSE	"{\"code\":200,\"msg\":\"game server is ok.\"}"

enum rs_mode {
	RS_NEW = 0,		/* nothing read yet */
	RS_RAW,			/* Pomelo packages on the stream */
	RS_HTTP,		/* an upgrade request is coming */
	RS_WS,			/* WebSocket frames */
};

struct rs_conn {
	int		 fd;
	uint8_t		 mode;		/* enum rs_mode */
	bool		 out_armed;
	uint32_t	 in_len;
	uint32_t	 in_cap;
	uint32_t	 out_off;
	uint32_t	 out_len;
	uint32_t	 out_cap;
	uint8_t		*in;		/* a partial package, or NULL */
	uint8_t		*out;		/* unsent output, or NULL */
};

struct rs_thread {
	pthread_t	 thread;
	int		 epfd;
	int		 lfd;
	uint8_t		*in;		/* reads */
	uint8_t		*out;		/* replies to one read */
	size_t		 out_len;
	size_t		 out_cap;
	uint64_t	 accepted;
	uint64_t	 requests;
};

static _Atomic int	 rs_stop;
static uint8_t		 rs_hs_pkg[128];
static size_t		 rs_hs_len;

static void
rs_on_signal(int sig)
{
	atomic_store(&rs_stop, sig);
}

static uint8_t *
rs_reserve(struct rs_thread *t, size_t len)
{
	if (t->out_len + len > t->out_cap) {
		while (t->out_len + len > t->out_cap) {
			t->out_cap *= 2;
		}
		t->out = xrealloc(t->out, t->out_cap);
	}
	return t->out + t->out_len;
}

/* Queues one package (framed when <c> speaks WebSocket). */
static void
rs_emit(struct rs_thread *t, struct rs_conn *c, const uint8_t *pkg,
    size_t len)
{
	uint8_t	*p = rs_reserve(t, len + 4);
	size_t	 hdr = 0;

	if (c->mode == RS_WS) {
		p[0] = 0x82;
		if (len < 126) {
			p[1] = (uint8_t)len;
			hdr = 2;
		} else {
			/* replies are small: 64 KiB covers them all */
			p[1] = 126;
			p[2] = (uint8_t)(len >> 8);
			p[3] = (uint8_t)len;
			hdr = 4;
		}
	}
	memcpy(p + hdr, pkg, len);
	t->out_len += hdr + len;
}

static void
rs_response(struct rs_thread *t, struct rs_conn *c, const uint8_t *m,
    size_t len)
{
	uint8_t		 pkg[4 + 1 + 5 + sizeof(RS_RESPONSE)];
	uint8_t		*p = pkg + 4;
	uint32_t	 id = 0;
	size_t		 i, body;

	/* the id varint follows the flag of a request */
	for (i = 1; i < len && i <= 5; i++) {
		id |= (uint32_t)(m[i] & 0x7f) << (7 * (i - 1));
		if ((m[i] & 0x80) == 0) {
			break;
		}
	}
	if (i >= len || i > 5) {
		return;
	}
	*p++ = 0x04;
	while (id >= 0x80) {
		*p++ = (uint8_t)(id | 0x80);
		id >>= 7;
	}
	*p++ = (uint8_t)id;
	memcpy(p, RS_RESPONSE, sizeof(RS_RESPONSE) - 1);
	p += sizeof(RS_RESPONSE) - 1;
	body = (size_t)(p - pkg) - 4;
	pkg[0] = 0x04;
	pkg[1] = 0;
	pkg[2] = (uint8_t)(body >> 8);
	pkg[3] = (uint8_t)body;
	rs_emit(t, c, pkg, (size_t)(p - pkg));
	t->requests++;
}

/*
 * Answers the packages in <p>. Returns the bytes used, or -1 to close.
 * <whole>: <p> is one frame's payload and must hold whole packages.
 */
static ssize_t
rs_packages(struct rs_thread *t, struct rs_conn *c, const uint8_t *p,
    size_t len, bool whole)
{
	static const uint8_t	 hb[4] = { 0x03, 0x00, 0x00, 0x00 };
	size_t			 off = 0;
	uint32_t		 plen;

	while (len - off >= 4) {
		plen = (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 |
		    p[off + 3];
		if (plen > RS_PKG_MAX) {
			return -1;
		}
		if (len - off - 4 < plen) {
			break;
		}
		switch (p[off]) {
		case 0x01:
			rs_emit(t, c, rs_hs_pkg, rs_hs_len);
			break;
		case 0x02:
		case 0x03:
			rs_emit(t, c, hb, sizeof(hb));
			break;
		case 0x04:
			/* a request (message type 0) has an id to echo */
			if (plen > 0 && ((p[off + 4] >> 1) & 7) == 0) {
				rs_response(t, c, p + off + 4, plen);
			}
			break;
		default:
			return -1;
		}
		off += 4 + plen;
	}
	if (whole && off != len) {
		return -1;
	}
	return (ssize_t)off;
}

/* The upgrade request: answers 101. Returns bytes used, 0 more, -1. */
static ssize_t
rs_http(struct rs_thread *t, struct rs_conn *c, const uint8_t *p, size_t len)
{
	static const char	 name[] = "Sec-WebSocket-Key:";
	const char		*h = (const char *)p, *end, *line, *eol, *v;
	char			 accept[WS_ACCEPT_LEN + 1];
	size_t			 vlen = 0;
	const char		*key = NULL;
	int			 n;

	if ((end = memmem(h, len, "\r\n\r\n", 4)) == NULL) {
		return len > RS_HTTP_MAX ? -1 : 0;
	}
	for (line = h; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (strncasecmp(line, name, sizeof(name) - 1) != 0) {
			continue;
		}
		for (v = line + sizeof(name) - 1; v < eol && *v == ' '; v++) {
			continue;
		}
		key = v;
		for (vlen = (size_t)(eol - v); vlen > 0 && v[vlen - 1] == ' ';
		    vlen--) {
			continue;
		}
	}
	if (key == NULL || vlen == 0) {
		return -1;
	}
	ws_accept_compute(key, vlen, accept);
	n = snprintf((char *)rs_reserve(t, 160), 160,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	t->out_len += (size_t)n;
	c->mode = RS_WS;
	return end + 4 - h;
}

/* Client frames, masked; unmasked in place. Returns bytes used or -1. */
static ssize_t
rs_frames(struct rs_thread *t, struct rs_conn *c, uint8_t *p, size_t len)
{
	size_t		 off = 0, hdr, i;
	uint64_t	 plen;
	uint8_t		*mask, *data, op;

	while (len - off >= 2) {
		op = p[off] & 0x0f;
		if ((p[off + 1] & 0x80) == 0) {
			return -1;
		}
		plen = p[off + 1] & 0x7f;
		hdr = 2;
		if (plen == 126) {
			if (len - off < 4) {
				break;
			}
			plen = (uint64_t)p[off + 2] << 8 | p[off + 3];
			hdr = 4;
		} else if (plen == 127) {
			if (len - off < 10) {
				break;
			}
			for (plen = 0, i = 0; i < 8; i++) {
				plen = plen << 8 | p[off + 2 + i];
			}
			hdr = 10;
		}
		if (plen > RS_PKG_MAX + 4) {
			return -1;
		}
		if (len - off < hdr + 4 + plen) {
			break;
		}
		mask = p + off + hdr;
		data = mask + 4;
		for (i = 0; i < plen; i++) {
			data[i] ^= mask[i & 3];
		}
		switch (op) {
		case 0x0:
		case 0x1:
		case 0x2:
			if (plen > 0 && rs_packages(t, c, data, (size_t)plen,
			    true) < 0) {
				return -1;
			}
			break;
		case 0x9:
			if (plen > 125) {
				return -1;
			}
			data[-2] = 0x8a;
			data[-1] = (uint8_t)plen;
			memcpy(rs_reserve(t, 2 + plen), data - 2, 2 + plen);
			t->out_len += 2 + (size_t)plen;
			break;
		case 0xa:
			break;
		default:
			/* close, or nonsense: close the connection */
			return -1;
		}
		off += hdr + 4 + (size_t)plen;
	}
	return (ssize_t)off;
}

static ssize_t
rs_input(struct rs_thread *t, struct rs_conn *c, uint8_t *p, size_t len)
{
	ssize_t	 off = 0, r;

	if (c->mode == RS_NEW) {
		if (p[0] != 'G') {
			c->mode = RS_RAW;
		} else if (len < 4) {
			return 0;
		} else if (memcmp(p, "GET ", 4) == 0) {
			c->mode = RS_HTTP;
		} else {
			return -1;
		}
	}
	if (c->mode == RS_HTTP) {
		if ((off = rs_http(t, c, p, len)) <= 0) {
			return off;
		}
	}
	if (c->mode == RS_WS) {
		r = rs_frames(t, c, p + off, len - (size_t)off);
	} else {
		r = rs_packages(t, c, p + off, len - (size_t)off, false);
	}
	return r < 0 ? -1 : off + r;
}

static void
rs_close(struct rs_conn *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void
rs_events(struct rs_thread *t, struct rs_conn *c, uint32_t events)
{
	struct epoll_event	 ev;

	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes <c>'s unsent output. Returns 0, or -1 to close. */
static int
rs_flush(struct rs_thread *t, struct rs_conn *c)
{
	ssize_t	 n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				return -1;
			}
			if (!c->out_armed) {
				c->out_armed = true;
				rs_events(t, c, EPOLLIN | EPOLLOUT);
			}
			return 0;
		}
		c->out_off += (uint32_t)n;
	}
	FREE_AND_NULL(c->out);
	c->out_off = c->out_len = c->out_cap = 0;
	if (c->out_armed) {
		c->out_armed = false;
		rs_events(t, c, EPOLLIN);
	}
	return 0;
}

/* Hands the replies in t->out to <c>: written now, or queued. */
static int
rs_send(struct rs_thread *t, struct rs_conn *c)
{
	ssize_t	 n = 0;
	size_t	 rest;

	if (t->out_len == 0) {
		return 0;
	}
	if (c->out_len == 0) {
		n = send(c->fd, t->out, t->out_len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				t->out_len = 0;
				return -1;
			}
			n = 0;
		}
	}
	rest = t->out_len - (size_t)n;
	if (rest > 0) {
		if (c->out_len + rest > RS_OUT_MAX) {
			t->out_len = 0;
			return -1;
		}
		c->out = xrealloc(c->out, c->out_len + rest);
		memcpy(c->out + c->out_len, t->out + n, rest);
		c->out_len += (uint32_t)rest;
		c->out_cap = c->out_len;
		t->out_len = 0;
		return rs_flush(t, c);
	}
	t->out_len = 0;
	return 0;
}

static void
rs_readable(struct rs_thread *t, struct rs_conn *c)
{
	uint8_t	*buf, *data;
	size_t	 cap, len, rest;
	ssize_t	 n, used;

	if (c->in_len > 0) {
		if (c->in_cap - c->in_len < RS_READ_CHUNK) {
			c->in_cap = c->in_len + RS_READ_CHUNK;
			c->in = xrealloc(c->in, c->in_cap);
		}
		buf = c->in + c->in_len;
		cap = c->in_cap - c->in_len;
	} else {
		buf = t->in;
		cap = RS_READ_CHUNK;
	}
	n = read(c->fd, buf, cap);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n <= 0) {
		rs_close(c);
		return;
	}
	data = buf == t->in ? t->in : c->in;
	len = buf == t->in ? (size_t)n : c->in_len + (size_t)n;
	used = rs_input(t, c, data, len);
	if (used < 0 || rs_send(t, c) < 0) {
		t->out_len = 0;
		rs_close(c);
		return;
	}
	rest = len - (size_t)used;
	if (rest == 0) {
		FREE_AND_NULL(c->in);
		c->in_len = c->in_cap = 0;
	} else if (data == t->in) {
		c->in = xmalloc(rest);
		memcpy(c->in, data + used, rest);
		c->in_len = c->in_cap = (uint32_t)rest;
	} else {
		memmove(c->in, c->in + used, rest);
		c->in_len = (uint32_t)rest;
	}
}

static void
rs_accept(struct rs_thread *t)
{
	struct epoll_event	 ev;
	struct rs_conn		*c;
	int			 fd, one = 1, i;

	for (i = 0; i < 256; i++) {
		fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				fprintf(stderr, "epoll-responder: accept: %s\n",
				    strerror(errno));
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			rs_close(c);
			continue;
		}
		t->accepted++;
	}
}

static void *
rs_main(void *arg)
{
	struct rs_thread	*t = arg;
	struct epoll_event	 ev[RS_MAX_EVENTS];
	struct rs_conn		*c;
	int			 i, n;

	while (atomic_load(&rs_stop) == 0) {
		n = epoll_wait(t->epfd, ev, RS_MAX_EVENTS, 200);
		for (i = 0; i < n; i++) {
			if ((c = ev[i].data.ptr) == NULL) {
				rs_accept(t);
				continue;
			}
			if ((ev[i].events & EPOLLOUT) && rs_flush(t, c) < 0) {
				rs_close(c);
				continue;
			}
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				rs_readable(t, c);
			}
		}
	}
	return NULL;
}

static int
rs_listen(const struct sockaddr_in *sa)
{
	int	 fd, one = 1, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
	    listen(fd, 4096) == -1) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void
rs_usage(FILE *f)
{
	fprintf(f,
"usage: shaddock-epoll-responder [-H ADDR] [-P PORT] [-j THREADS]\n"
"                                [--heartbeat S] [-T SECONDS]\n"
"  -H, --host ADDR      IPv4 address to listen on (127.0.0.1)\n"
"  -P, --port PORT      port (3010)\n"
"  -j, --threads N      threads, each with a SO_REUSEPORT listener (1)\n"
"      --heartbeat S    sys.heartbeat sent in the handshake reply (3)\n"
"  -T, --lifetime S     exit after S seconds (3600)\n"
"Prints \"listening ADDR:PORT\" once it accepts; exits on TERM or INT.\n");
}

int
main(int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'j' },
		{ "heartbeat", required_argument, NULL, 'b' },
		{ "lifetime", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in	 sa;
	struct sigaction	 act;
	struct epoll_event	 ev;
	struct rs_thread	*th;
	const char		*host = "127.0.0.1";
	uint64_t		 accepted = 0, requests = 0;
	char			 hs[64];
	long			 port = 3010, nthreads = 1, hb = 3;
	long			 lifetime = 3600, waited;
	int			 ch, i, n, fd;

	while ((ch = getopt_long(argc, argv, "H:P:j:T:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			host = optarg;
			break;
		case 'P':
			port = strtol(optarg, NULL, 10);
			break;
		case 'j':
			nthreads = strtol(optarg, NULL, 10);
			break;
		case 'b':
			hb = strtol(optarg, NULL, 10);
			break;
		case 'T':
			lifetime = strtol(optarg, NULL, 10);
			break;
		case 'h':
			rs_usage(stdout);
			return 0;
		default:
			rs_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || port < 1 || port > 65535 || nthreads < 1 ||
	    nthreads > 256 || hb < 0 || hb > 3600 || lifetime < 1) {
		rs_usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "epoll-responder: %s is not an IPv4 address\n",
		    host);
		return 2;
	}
	n = snprintf(hs, sizeof(hs), "{\"code\":200,\"sys\":{\"heartbeat\":%ld}}",
	    hb);
	rs_hs_pkg[0] = 0x01;
	rs_hs_pkg[1] = 0;
	rs_hs_pkg[2] = 0;
	rs_hs_pkg[3] = (uint8_t)n;
	memcpy(rs_hs_pkg + 4, hs, (size_t)n);
	rs_hs_len = 4 + (size_t)n;

	memset(&act, 0, sizeof(act));
	act.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &act, NULL);
	act.sa_handler = rs_on_signal;
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);

	th = xcalloc((size_t)nthreads, sizeof(*th));
	for (i = 0; i < nthreads; i++) {
		if ((fd = rs_listen(&sa)) < 0) {
			fprintf(stderr, "epoll-responder: %s:%ld: %s\n", host,
			    port, strerror(-fd));
			return 1;
		}
		th[i].lfd = fd;
		if ((th[i].epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
			fprintf(stderr, "epoll-responder: epoll: %s\n",
			    strerror(errno));
			return 1;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = NULL;
		epoll_ctl(th[i].epfd, EPOLL_CTL_ADD, fd, &ev);
		th[i].in = xmalloc(RS_READ_CHUNK);
		th[i].out_cap = 64 * 1024;
		th[i].out = xmalloc(th[i].out_cap);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_create(&th[i].thread, NULL, rs_main, &th[i]);
	}
	printf("listening %s:%ld\n", host, port);
	fflush(stdout);

	for (waited = 0; waited < lifetime * 10 && atomic_load(&rs_stop) == 0;
	    waited++) {
		struct timespec	 ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
	}
	atomic_store(&rs_stop, 1);
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i].thread, NULL);
		accepted += th[i].accepted;
		requests += th[i].requests;
		close(th[i].lfd);
		close(th[i].epfd);
		free(th[i].in);
		free(th[i].out);
	}
	free(th);
	fprintf(stderr, "epoll-responder: %llu connections, %llu requests "
	    "answered\n", (unsigned long long)accepted,
	    (unsigned long long)requests);
	return 0;
}
