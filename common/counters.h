/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Every counter shaddock reports, named once (HAProxy stat_fields[]): the
 * X-macro lists below make the structs that hold the values, and the
 * tables that `show stat` and the Prometheus page read. An entry is
 * X(member, kind, unit, metric, help):
 *   member  the C member and the name in `show stat`;
 *   kind    GAUGE (a current value) or COUNTER (a total since start);
 *   unit    NONE, BYTES or SECONDS;
 *   metric  the Prometheus name after "shaddock_", in base units and
 *           ending in _total for a counter (a unit test checks it);
 *   help    one sentence for `# HELP`.
 * A worker sends its struct worker_stats in every heartbeat, so adding a
 * worker counter changes the control channel: bump IPC_VERSION.
 */

#ifndef COMMON_COUNTERS_H
#define COMMON_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* Per worker process; labelled slot and generation in /metrics. */
#define WORKER_COUNTERS(X)						\
	X(rss, GAUGE, BYTES, "resident_memory_bytes",			\
	    "Resident memory of the worker process.")			\
	X(connections, GAUGE, NONE, "connections",			\
	    "Open client connections.")					\
	X(sessions, GAUGE, NONE, "sessions",				\
	    "Handshaken sessions (waiting for the ack or working).")	\
	X(sessions_inited, GAUGE, NONE, "sessions_inited",		\
	    "Connections waiting for their Pomelo handshake.")		\
	X(sessions_wait_ack, GAUGE, NONE, "sessions_wait_ack",		\
	    "Sessions waiting for the handshake ack.")			\
	X(sessions_working, GAUGE, NONE, "sessions_working",		\
	    "Sessions past the handshake ack.")				\
	X(tcp_connections, GAUGE, NONE, "tcp_connections",		\
	    "Connections speaking raw Pomelo TCP.")			\
	X(ws_connections, GAUGE, NONE, "ws_connections",		\
	    "Connections speaking WebSocket.")				\
	X(accepted, COUNTER, NONE, "accepted_connections_total",	\
	    "Connections accepted.")					\
	X(rejected_max_connections, COUNTER, NONE,			\
	    "rejected_connections_total",				\
	    "Connections closed at once because max_connections was "	\
	    "reached.")							\
	X(handshakes, COUNTER, NONE, "handshakes_total",		\
	    "Pomelo handshakes answered with code 200.")		\
	X(handshake_errors, COUNTER, NONE, "handshake_errors_total",	\
	    "Pomelo handshakes refused.")				\
	X(requests, COUNTER, NONE, "requests_total",			\
	    "Requests received.")					\
	X(notifies, COUNTER, NONE, "notifies_total",			\
	    "Notifies received.")					\
	X(responses, COUNTER, NONE, "responses_total",		\
	    "Responses sent.")						\
	X(pushes, COUNTER, NONE, "pushes_total", "Pushes sent.")	\
	X(kicks, COUNTER, NONE, "kicks_total", "Sessions kicked.")	\
	X(heartbeat_timeouts, COUNTER, NONE, "heartbeat_timeouts_total", \
	    "Sessions closed for a missed heartbeat.")			\
	X(handshake_timeouts, COUNTER, NONE, "handshake_timeouts_total", \
	    "Connections closed for a handshake that did not come.")	\
	X(idle_timeouts, COUNTER, NONE, "idle_timeouts_total",		\
	    "Connections closed for being idle.")			\
	X(protocol_errors, COUNTER, NONE, "protocol_errors_total",	\
	    "Connections closed for a protocol error.")			\
	X(oversize_packages, COUNTER, NONE, "oversize_packages_total",	\
	    "Packages over max_package_size.")				\
	X(send_buffer_overflows, COUNTER, NONE,				\
	    "send_buffer_overflows_total",				\
	    "Connections closed because their output grew too large.")	\
	X(bytes_in, COUNTER, BYTES, "received_bytes_total",		\
	    "Bytes read from clients.")					\
	X(bytes_out, COUNTER, BYTES, "sent_bytes_total",		\
	    "Bytes written to clients.")				\
	X(channels, GAUGE, NONE, "channels",				\
	    "Channels with a member on this worker.")			\
	X(channel_members, GAUGE, NONE, "channel_members",		\
	    "Channel memberships of this worker's sessions.")		\
	X(control_errors, COUNTER, NONE, "control_errors_total",	\
	    "Control-channel messages from the master refused (unknown "	\
	    "type, bad length or version, undecodable payload).")	\
	X(protobuf_errors, COUNTER, NONE, "protobuf_errors_total",	\
	    "Bodies that did not fit their protobuf schema: client "	\
	    "messages dropped, answers and pushes not sent as such.")	\
	X(tls_handshakes, COUNTER, NONE, "tls_handshakes_total",	\
	    "TLS handshakes completed, full or resumed.")		\
	X(tls_resumptions, COUNTER, NONE, "tls_resumptions_total",	\
	    "TLS handshakes resumed from a session ticket.")		\
	X(tls_errors, COUNTER, NONE, "tls_errors_total",		\
	    "TLS handshakes or connections that failed in TLS.")	\
	X(cluster_forwarded, COUNTER, NONE, "cluster_forwarded_total",	\
	    "Client requests and notifies forwarded to backend servers.") \
	X(cluster_forward_errors, COUNTER, NONE,			\
	    "cluster_forward_errors_total",				\
	    "Forwarded requests answered {\"code\":500}: no server of "	\
	    "the type, an error from it, or a lost connection.")	\
	X(cluster_timeouts, COUNTER, NONE, "cluster_timeouts_total",	\
	    "Calls to backend servers unanswered within rpc_timeout.")	\
	X(cluster_hooks, COUNTER, NONE, "cluster_session_closed_total", \
	    "session_closed remotes called for bound sessions that "	\
	    "closed.")							\
	X(cluster_calls_served, COUNTER, NONE,				\
	    "cluster_calls_served_total",				\
	    "sessionRemote and channelRemote calls from backends.")	\
	X(cluster_bad_packets, COUNTER, NONE, "cluster_bad_packets_total", \
	    "Cluster connections closed for malformed or oversize MQTT.") \
	X(cluster_bad_messages, COUNTER, NONE,				\
	    "cluster_bad_messages_total",				\
	    "RPC or admin payloads that could not be read.")

/* The master's own; unlabelled in /metrics. */
#define MASTER_COUNTERS(X)						\
	X(up, GAUGE, NONE, "up", "1 while the master answers.")	\
	X(uptime, GAUGE, SECONDS, "uptime_seconds",			\
	    "Seconds since the master started.")			\
	X(generation, GAUGE, NONE, "generation",			\
	    "The newest worker generation (one more at every reload).") \
	X(reloads, COUNTER, NONE, "reloads_total",			\
	    "Reloads started.")						\
	X(workers, GAUGE, NONE, "workers",				\
	    "Worker processes, draining ones included.")		\
	X(master_control_errors, COUNTER, NONE,				\
	    "master_control_errors_total",				\
	    "Control-channel messages from workers refused (unknown "	\
	    "type, bad length or version, undecodable payload).")

#define COUNTERS_MEMBER(member, kind, unit, metric, help) uint64_t member;

/* The counters a worker reports every second, in its heartbeat. */
struct worker_stats {
	WORKER_COUNTERS(COUNTERS_MEMBER)
};

struct master_stats {
	MASTER_COUNTERS(COUNTERS_MEMBER)
};

enum counter_kind {
	COUNTER_GAUGE,
	COUNTER_COUNTER,
};

enum counter_unit {
	COUNTER_UNIT_NONE,
	COUNTER_UNIT_BYTES,
	COUNTER_UNIT_SECONDS,
};

struct counter_def {
	const char		*name;		/* the member; show stat */
	const char		*metric;	/* after "shaddock_" */
	enum counter_kind	 kind;
	enum counter_unit	 unit;
	const char		*help;
	size_t			 offset;	/* of the uint64_t member */
};

extern const struct counter_def	 worker_counters[];
extern const size_t		 worker_counters_n;
extern const struct counter_def	 master_counters[];
extern const size_t		 master_counters_n;

/* The value of <def> in <stats>, a struct of that def's table. */
uint64_t	 counter_get(const struct counter_def *def, const void *stats);
/* "gauge" or "counter", the Prometheus TYPE of <def>. */
const char	*counter_type(const struct counter_def *def);

#endif
