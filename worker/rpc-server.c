/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The pomelo-rpc acceptor of this worker (CLUSTER.md §4.1, §6): backends
 * open a connection to the port we registered, send CONNECT (never
 * answered, as Node's acceptor does not) and requests on topic "rpc";
 * every request id gets an answer, PINGREQ gets PINGRESP at once. The
 * calls themselves are served by remote.c.
 *
 * It listens on [cluster] host only: pomelo-rpc has no authentication. A
 * peer that sends broken MQTT or a packet over rpc_max_payload is closed
 * and counted; a payload that is not JSON gets Pomelo's answer without an
 * id; no client session notices either.
 */

#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/mqtt.h"
#include "common/rpc-msg.h"
#include "common/xmalloc.h"
#include "worker/worker-int.h"

#define RPC_SERVER_BACKLOG	128
#define RPC_SERVER_MAX_CONNS	4096
/* A peer that does not read its answers is closed past this. */
#define RPC_SERVER_MAX_QUEUED	(64u << 20)

struct rpc_peer {
	TAILQ_ENTRY(rpc_peer)	 entry;
	struct mconn		*conn;
	bool			 dead;	/* closed while its packet is read */
};

static struct {
	int			 fd;
	struct event		*ev;
	TAILQ_HEAD(, rpc_peer)	 peers;
	size_t			 n_peers;
} rs = { .fd = -1 };

static void
rpc_peer_free(struct rpc_peer *p)
{
	TAILQ_REMOVE(&rs.peers, p, entry);
	rs.n_peers--;
	free(p);
}

static void
rpc_server_answer(struct rpc_peer *p, json_t *id, json_t *resp)
{
	size_t	 len;
	char	*text;

	text = rpc_msg_encode_response(id, resp, &len);
	mconn_publish(p->conn, RPC_MSG_TOPIC, text, len);
	free(text);
	if (!p->dead && mconn_queued(p->conn) > RPC_SERVER_MAX_QUEUED) {
		log_warn("cluster: %s does not read its answers (%zu bytes "
		    "queued): closing", mconn_peer(p->conn),
		    mconn_queued(p->conn));
		/* Freed once the packet that made the answer is done. */
		p->dead = true;
		mconn_close(p->conn, false);
	}
}

/* One request envelope: served and answered. */
static void
rpc_server_request(struct rpc_peer *p, json_t *item)
{
	struct rpc_request	 req;
	json_t			*resp;
	char			 err[128];

	if (rpc_msg_request_view(item, &req, err, sizeof err) != 0) {
		worker->stats.cluster_bad_messages++;
		log_info("cluster: a bad RPC request from %s: %s",
		    mconn_peer(p->conn), err);
		resp = rpc_msg_resp_error("%s", err);
		rpc_server_answer(p, rpc_msg_id(item), resp);
		json_decref(resp);
		return;
	}
	worker->stats.cluster_calls_served++;
	resp = remote_dispatch(&req);
	rpc_server_answer(p, req.id, resp);
	json_decref(resp);
}

static void
rpc_peer_packet(struct mconn *m, const struct mqtt_packet *pkt, void *arg)
{
	struct rpc_peer	*p = arg;
	json_t		*root, *resp;
	char		 err[128];
	int		 n, i;

	switch (pkt->type) {
	case MQTT_CONNECT:
		return;
	case MQTT_PINGREQ:
		mconn_send_short(m, mqtt_encode_pingresp);
		return;
	case MQTT_DISCONNECT:
		mconn_close(m, true);
		rpc_peer_free(p);
		return;
	case MQTT_PUBLISH:
		break;
	default:
		return;
	}
	if (!mqtt_topic_is(pkt, RPC_MSG_TOPIC)) {
		return;
	}
	n = rpc_msg_parse(pkt->publish.payload, pkt->publish.payload_len,
	    &root, err, sizeof err);
	if (n < 0) {
		/* Pomelo answers without an id: nobody can match it. */
		worker->stats.cluster_bad_messages++;
		log_info("cluster: a bad RPC payload from %s: %s",
		    mconn_peer(m), err);
		resp = rpc_msg_resp_error("%s", err);
		rpc_server_answer(p, NULL, resp);
		json_decref(resp);
		if (p->dead) {
			rpc_peer_free(p);
		}
		return;
	}
	for (i = 0; i < n && !p->dead; i++) {
		rpc_server_request(p, rpc_msg_item(root, (size_t)i));
	}
	json_decref(root);
	if (p->dead) {
		rpc_peer_free(p);
	}
}

static void
rpc_peer_closed(struct mconn *m, const char *why, void *arg)
{
	rpc_peer_free(arg);
}

static const struct mconn_callbacks rpc_peer_cb = {
	.packet = rpc_peer_packet,
	.closed = rpc_peer_closed,
};

static void
rpc_server_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct sockaddr_storage	 ss;
	struct rpc_peer		*p;
	socklen_t		 len = sizeof ss;
	char			 peer[64];
	int			 fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		return;
	}
	if (rs.n_peers >= RPC_SERVER_MAX_CONNS) {
		log_warn("cluster: %d RPC connections already: refusing one",
		    RPC_SERVER_MAX_CONNS);
		close(fd);
		return;
	}
	addr_format((struct sockaddr *)&ss, len, peer, sizeof peer);
	p = xcalloc(1, sizeof *p);
	p->conn = mconn_accept(fd, peer, worker->conf->cluster_rpc_max_payload,
	    &rpc_peer_cb, p);
	if (p->conn == NULL) {
		free(p);
		return;
	}
	TAILQ_INSERT_TAIL(&rs.peers, p, entry);
	rs.n_peers++;
	log_debug("cluster: RPC connection from %s", peer);
}

/*
 * Listens for backends on <host> at a port the kernel picks, given in
 * <*ret_port>. Returns 0, or -errno with the reason in <err>.
 */
int
rpc_server_open(const char *host, uint16_t *ret_port, char *err,
    size_t errlen)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	int			 fd, r, on = 1;

	TAILQ_INIT(&rs.peers);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, "0", &hints, &res)) != 0) {
		snprintf(err, errlen, "[cluster] host %s: %s", host,
		    gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof on) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) ==
	    -1 || listen(fd, RPC_SERVER_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		r = -errno;
		snprintf(err, errlen, "the RPC port on %s: %s", host,
		    strerror(-r));
		if (fd != -1) {
			close(fd);
		}
		freeaddrinfo(res);
		return r;
	}
	freeaddrinfo(res);
	*ret_port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	rs.fd = fd;
	rs.ev = event_new(worker->base, fd, EV_READ | EV_PERSIST,
	    rpc_server_accept, NULL);
	event_add(rs.ev, NULL);
	return 0;
}

void
rpc_server_close(void)
{
	struct rpc_peer	*p;

	if (rs.fd == -1) {
		return;
	}
	event_free(rs.ev);
	close(rs.fd);
	rs.fd = -1;
	while ((p = TAILQ_FIRST(&rs.peers)) != NULL) {
		mconn_close(p->conn, false);
		rpc_peer_free(p);
	}
}
