/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * libFuzzer target for the control channel: packets built from the input
 * go through a real SOCK_SEQPACKET pair into struct ipc_chan, so
 * ipc_recv()'s checks, the receiving tables of both directions (the
 * master's child_receiver, the worker's worker_receiver) and the payload
 * decoders all see them. The handlers run for real against a minimal
 * state: a master with two children and the hub, a worker with no
 * connection. Those that change the processes' life (listener, start,
 * drain, stop, reopen logs, ready) are replaced by stubs that only read
 * their fixed struct. What the handlers send back is read from the other
 * ends and must decode: a join's answer, a kick's or broadcast's count,
 * a session list, a relayed push.
 *
 * Input: messages, each [dir][sel][flags][len lo][len hi][payload]:
 *   dir & 1   0: to the master from child 1; 1: to the worker;
 *   sel       an index into that table's types, or 0xff: the next two
 *             bytes are the raw type;
 *   flags     1: tagged, 2: another version, 4: a length field that
 *             lies, 8: the memfd flag without a memfd.
 */

#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "master/master.h"
#include "worker/worker-int.h"

#define CHECK(e) do {							\
	if (!(e)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #e);					\
		abort();						\
	}								\
} while (0)

#define FUZZ_MAX_PAYLOAD	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct side {
	struct ipc_handler	 handlers[32];
	struct ipc_receiver	 rx;
	int			 peer;		/* our end */
};

static struct event_base	*base;
static struct side		 to_master, to_worker;
static struct child		*kids[2];
static int			 kid_peer[2];
static uint64_t			 next_tag;
/* The type of the request each recent tag was sent with. */
static struct {
	uint64_t	 tag;
	uint16_t	 type;
} sent[256];

/* The stub of a handler that changes the process: reads its struct. */
static int
stub(struct ipc_chan *chan, struct ipc_msg *m, void *arg)
{
	static uint8_t	 copy[512];

	memcpy(copy, m->payload, m->len < sizeof copy ? m->len :
	    sizeof copy);
	return 0;
}

static bool
stubbed(uint16_t type)
{
	switch (type) {
	case IPC_LISTENER:
	case IPC_START:
	case IPC_DRAIN:
	case IPC_STOP:
	case IPC_REOPEN_LOGS:
	case IPC_READY:
		return true;
	}
	return false;
}

static void
side_init(struct side *s, const struct ipc_receiver *real)
{
	size_t	 i;

	CHECK(real->n_handlers <= 32);
	memcpy(s->handlers, real->handlers, real->n_handlers *
	    sizeof *s->handlers);
	for (i = 0; i < real->n_handlers; i++) {
		if (stubbed(s->handlers[i].type)) {
			s->handlers[i].fn = stub;
		}
	}
	s->rx.handlers = s->handlers;
	s->rx.n_handlers = real->n_handlers;
	/* Errors are counted and logged as in the daemon; no close. */
	s->rx.error = real->error;
}

static void
pair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	fd_nonblock(sv[0]);
	fd_nonblock(sv[1]);
}

/* The configuration both sides run with, as a real daemon's. */
static struct conf *
load_conf(void)
{
	static const char	 text[] = "[listener main]\n"
	    "address = 127.0.0.1:1\n";
	struct conf		*c;
	char			*errors = NULL;

	if (conf_load_buffer("fuzz.conf", text, sizeof text - 1, &c,
	    &errors) != 0) {
		fprintf(stderr, "%s", errors != NULL ? errors : "no conf\n");
		abort();
	}
	return c;
}

static void
setup(void)
{
	int	 sv[2], i;

	log_open('F', LOG_LEVEL_ERROR, NULL);
	base = event_base_new();
	side_init(&to_master, &child_receiver);
	side_init(&to_worker, &worker_receiver);

	master = xcalloc(1, sizeof *master);
	master->base = base;
	master->conf = load_conf();
	TAILQ_INIT(&master->children);
	for (i = 0; i < 2; i++) {
		pair(sv);
		kids[i] = xcalloc(1, sizeof *kids[i]);
		kids[i]->serial = (uint32_t)i + 1;
		kids[i]->slot = i;
		kids[i]->state = CHILD_READY;
		kids[i]->chan = ipc_chan_create(base, sv[0], &to_master.rx,
		    kids[i]);
		kid_peer[i] = sv[1];
		TAILQ_INSERT_TAIL(&master->children, kids[i], entry);
	}
	to_master.peer = kid_peer[0];

	pair(sv);
	worker = xcalloc(1, sizeof *worker);
	worker->base = base;
	worker->conf = load_conf();
	worker->serial = 3;
	TAILQ_INIT(&worker->conns);
	TAILQ_INIT(&worker->dead);
	worker->chan = ipc_chan_create(base, sv[0], &to_worker.rx, NULL);
	to_worker.peer = sv[1];
	channel_init();
}

/* The type of the request tagged <tag>, or 0 when it is not known. */
static uint16_t
sent_type(uint64_t tag)
{
	return sent[tag % nitems(sent)].tag == tag ?
	    sent[tag % nitems(sent)].type : 0;
}

/* Checks what a handler sent back on <fd>: every message must decode. */
static void
drain(int fd, bool from_worker)
{
	static uint8_t		 buf[IPC_MAX_PAYLOAD + 1];
	struct ipc_session_view	 v;
	struct ipc_joined	 j;
	struct ipc_push		 push;
	struct ipc_hdr		 h;
	json_t			*js;
	const char		*uid;
	size_t			 off, ulen;
	int			 n, rfd;

	for (;;) {
		n = ipc_recv(fd, &h, buf, sizeof buf, &rfd);
		if (n == -EAGAIN) {
			return;
		}
		CHECK(n > 0);
		if (rfd != -1) {
			/* A memfd (a large answer): not read here. */
			close(rfd);
			continue;
		}
		if (h.type == IPC_REPLY && (h.flags & IPC_F_REFUSED)) {
			CHECK(h.len == 0);
			continue;
		}
		if (h.type == IPC_REPLY && !from_worker) {
			/* The master answers joins only. */
			CHECK(ipc_joined_decode(buf, h.len, &j) == 0);
			while (ipc_joined_next(&j, &uid, &ulen)) {
				;
			}
		} else if (h.type == IPC_REPLY && sent_type(h.tag) ==
		    IPC_SESSIONS) {
			/* A session list (of no session: nothing to read). */
			off = 0;
			while ((n = ipc_session_next(buf, h.len, &off, &v)) ==
			    1) {
				;
			}
			CHECK(n == 0);
		} else if (h.type == IPC_REPLY && sent_type(h.tag) ==
		    IPC_CLUSTER_SHOW) {
			/* This worker's part of show cluster: one JSON value. */
			js = json_loadb((const char *)buf, h.len, 0, NULL);
			CHECK(json_is_object(js));
			json_decref(js);
		} else if (h.type == IPC_REPLY) {
			/* Kick and broadcast: a count. */
			CHECK(h.len == sizeof(struct ipc_count));
		} else if (h.type == IPC_CH_DELIVER) {
			CHECK(ipc_push_decode(buf, h.len, &push) == 0);
		}
	}
}

/* Sends one packet on <s>'s peer end and lets the channel take it. */
static void
deliver_packet(struct side *s, uint16_t type, uint8_t flags,
    const uint8_t *p, size_t len)
{
	struct ipc_hdr	 h;
	struct msghdr	 mh;
	struct iovec	 iov[2];

	memset(&h, 0, sizeof h);
	h.version = flags & 2 ? IPC_VERSION + 1 : IPC_VERSION;
	h.type = type;
	h.len = (uint32_t)len;
	if (flags & 4) {
		h.len = len > 0 && (p[0] & 1) ? h.len + 1 : h.len - 1;
	}
	h.tag = flags & 1 ? ++next_tag : 0;
	sent[h.tag % nitems(sent)].tag = h.tag;
	sent[h.tag % nitems(sent)].type = type;
	h.flags = flags & 8 ? IPC_F_MEMFD : 0;
	memset(&mh, 0, sizeof mh);
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof h;
	iov[1].iov_base = (void *)p;
	iov[1].iov_len = len;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	CHECK(sendmsg(s->peer, &mh, MSG_DONTWAIT) != -1);
	event_base_loop(base, EVLOOP_NONBLOCK);
	drain(kid_peer[0], false);
	drain(kid_peer[1], false);
	drain(to_worker.peer, true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct side	*s;
	uint16_t	 type;
	uint8_t		 dir, sel, flags;
	size_t		 len;

	if (base == NULL) {
		setup();
	}
	while (size >= 5) {
		dir = data[0];
		sel = data[1];
		flags = data[2];
		len = (size_t)data[3] | (size_t)data[4] << 8;
		data += 5;
		size -= 5;
		s = dir & 1 ? &to_worker : &to_master;
		if (sel < s->rx.n_handlers) {
			type = s->handlers[sel].type;
		} else if (sel == 0xff && size >= 2) {
			type = (uint16_t)(data[0] | data[1] << 8);
			data += 2;
			size -= 2;
		} else {
			type = sel;
		}
		if (len > size) {
			len = size;
		}
		if (len > FUZZ_MAX_PAYLOAD) {
			len = FUZZ_MAX_PAYLOAD;
		}
		deliver_packet(s, type, flags, data, len);
		data += len;
		size -= len;
	}
	/* Back to an empty hub: every session belongs to a child. */
	hub_child_gone(1);
	hub_child_gone(2);
	event_base_loop(base, EVLOOP_NONBLOCK);
	drain(kid_peer[0], false);
	drain(kid_peer[1], false);
	drain(to_worker.peer, true);
	return 0;
}
