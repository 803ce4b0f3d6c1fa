/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The private header of shaddock-loadgen, the load generator of the
 * benchmark: options, the per-thread event loop and its connections, the
 * latency histogram, the JSON checks and the /proc readers, grouped by the
 * file that implements them.
 */

#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#define LG_MAX_PIDS	64

enum lg_scenario {
	LG_REQ = 0,
	LG_HANDSHAKE,
	LG_IDLE,
	LG_PUSH,
};

enum lg_transport {
	LG_TCP = 0,
	LG_WS,
};

/* What the main thread tells the loops; they read it with relaxed loads. */
enum lg_phase {
	LG_PHASE_WARMUP = 0,	/* run, but count nothing */
	LG_PHASE_MEASURE,	/* count */
	LG_PHASE_STOP,		/* close everything and return */
};

struct lg_opts {
	enum lg_scenario	 scenario;
	enum lg_transport	 transport;
	const char		*host;
	uint16_t		 port;
	struct sockaddr_in	 dst;
	int			 threads;
	int			 conns;
	int			 inflight;
	double			 duration;	/* seconds measured */
	double			 warmup;	/* seconds run before */
	double			 timeout;	/* a request, a handshake */
	double			 open_timeout;	/* opening every session */
	const char		*route;
	size_t			 body_size;
	char			*body;		/* the request body sent */
	size_t			 body_len;
	const char		*expect;	/* exact response body, or NULL */
	size_t			 expect_len;
	char			*body_hex;	/* --body-hex: the body, raw */
	bool			 close_fin;	/* FIN instead of RST on close */
	int			 src_addrs;	/* source addresses per process */
	int			 src_base;	/* first one: 127.0.0.<src_base> */
	int			 per_proc;	/* idle: sessions per process */
	int			 max_opening;	/* opens in progress per thread */
	const char		*label;
	pid_t			 pids[LG_MAX_PIDS];
	int			 npids;
	bool			 children;	/* add the pids' descendants */
	/* push */
	const char		*channel;
	const char		*join_route;
	const char		*join_body;	/* {n}: session, {ch}: channel */
	const char		*pub_route;
	const char		*pub_body;	/* {ts}: send time in ns, {ch} */
	const char		*push_route;
	const char		*push_field;	/* member holding {ts} */
	double			 rate;		/* publishes per second */
	/* TLS (--tls): every session starts with a TLS handshake */
	SSL_CTX			*tls;		/* NULL: plain */
	const char		*tls_version;	/* "1.2", "1.3" or "any" */
	bool			 tls_resume;	/* resume the thread's session */
};

/* lg-hist.c */

/*
 * A log-bucket latency histogram in nanoseconds, HDR style: values below
 * 2 * LG_HIST_SUB are exact, above that each power of two is cut into
 * LG_HIST_SUB buckets, so every bucket is within 1/LG_HIST_SUB (0.8 %) of
 * the values it holds.
 */
#define LG_HIST_SUB_BITS	7
#define LG_HIST_SUB		(1 << LG_HIST_SUB_BITS)
#define LG_HIST_MAX_BITS	42	/* 73 minutes in ns */
#define LG_HIST_BUCKETS		((LG_HIST_MAX_BITS - LG_HIST_SUB_BITS + 1) * \
				 LG_HIST_SUB)

struct lg_hist {
	uint64_t	 count;
	uint64_t	 max;
	uint64_t	 buckets[LG_HIST_BUCKETS];
};

void		 lg_hist_record(struct lg_hist *h, uint64_t ns);
void		 lg_hist_merge(struct lg_hist *into, const struct lg_hist *h);
uint64_t	 lg_hist_quantile(const struct lg_hist *h, double q);

/* lg-json.c */

/* True when <s> holds exactly one JSON value (RFC 8259), spaces around. */
bool		 lg_json_valid(const char *s, size_t len);

/*
 * Reads a handshake reply: it must be a JSON object with an integer
 * "code"; <*ret_heartbeat> gets sys.heartbeat in seconds, or 0 when it is
 * absent. Returns 0 and the code, or -EBADMSG.
 */
int		 lg_json_handshake(const char *s, size_t len, int *ret_code,
		     double *ret_heartbeat);

/*
 * When <s> is a JSON object with a numeric top-level "code", returns it;
 * returns -1 when there is none. <s> must be valid JSON.
 */
long		 lg_json_code(const char *s, size_t len);

/*
 * Finds the string member <key> of the top-level object of <s>. Returns
 * a pointer to its first character and its length (escapes are left as
 * they are), or NULL.
 */
const char	*lg_json_string(const char *s, size_t len, const char *key,
		     size_t *ret_len);

/* lg-proc.c */

struct lg_mem {
	uint64_t	 rss_kb;	/* VmRSS summed over the pids */
	uint64_t	 pss_kb;	/* Pss from smaps_rollup, 0 if unreadable */
};

/* Appends the descendants of the pids in <pids> (up to <max>). */
int		 lg_proc_add_children(pid_t *pids, int npids, int max);
/* User plus system CPU time of the pids, in seconds; -1 if none is alive. */
double		 lg_proc_cpu(const pid_t *pids, int npids);
int		 lg_proc_mem(const pid_t *pids, int npids, struct lg_mem *ret);

/* lg-conn.c */

/* Counters of one thread; summed by the main thread at the end. */
struct lg_stats {
	uint64_t	 done;		/* requests, handshakes, pushes counted */
	uint64_t	 opened;	/* sessions that reached WORKING */
	uint64_t	 published;	/* push: publishes sent while counting */
	uint64_t	 err_connect;	/* connect() or SO_ERROR failures */
	uint64_t	 err_closed;	/* closed or reset by the server */
	uint64_t	 err_proto;	/* bad framing, bad handshake, kick */
	uint64_t	 err_id;	/* a response with an id not in flight */
	uint64_t	 err_body;	/* a response body that is wrong */
	uint64_t	 err_timeout;	/* no answer within the timeout */
	uint64_t	 hb_sent;
	uint64_t	 hb_recv;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 tls_resumed;	/* TLS handshakes that resumed */
	uint64_t	 tls_full;	/* TLS handshakes that did not */
};

/* State shared by the main thread and the loops. */
struct lg_shared {
	_Atomic int	 phase;		/* enum lg_phase */
	_Atomic int	 settled;	/* sessions opened (or joined) or failed */
	_Atomic int	 opened;	/* sessions that reached WORKING */
	_Atomic int	 lost;		/* sessions lost after they settled */
	_Atomic int	 join_refused;	/* push: joins answered with an error */
	_Atomic long	 join_code;	/* push: the last refusal's code */
};

struct lg_conn;

struct lg_hb_slot {
	uint32_t	 conn;
	uint32_t	 epoch;
	uint64_t	 due;
};

struct lg_thread {
	int			 id;
	pthread_t		 thread;
	int			 epfd;
	const struct lg_opts	*opts;
	struct lg_shared	*shared;
	uint64_t		 now;		/* ns, refreshed per event */
	struct lg_conn		*conns;
	int			 nconns;
	int			 first;		/* global index of conns[0] */
	/* sessions waiting to be opened, a ring of conns[] indexes */
	int			*openq;
	int			 openq_head;
	int			 openq_len;
	int			 opening;	/* opens in progress */
	uint64_t		 open_after;	/* back-off after a failure */
	uint64_t		 next_sweep;	/* timeouts are checked then */
	/* heartbeats due, in order: every delay is the same */
	struct lg_hb_slot	*hb;
	uint32_t		 hb_head;
	uint32_t		 hb_len;
	uint32_t		 hb_cap;
	uint64_t		 hb_interval;	/* ns; 0 = none */
	/* the request after its id: route length, route, body */
	uint8_t			*tail;
	size_t			 tail_len;
	uint8_t			*pkt;		/* one package being built */
	size_t			 pkt_cap;
	uint8_t			*scratch;	/* reads */
	size_t			 scratch_cap;
	char			*upgrade;	/* ws: the upgrade request */
	size_t			 upgrade_len;
	char			 ws_accept[32];	/* the Sec-WebSocket-Accept due */
	uint8_t			*hs_pkg;	/* the handshake package */
	size_t			 hs_len;
	size_t			 expect_len;
	uint64_t		 pub_next;	/* push: next publish (thread 0) */
	uint64_t		 rng;
	SSL_SESSION		*tls_session;	/* --tls-resume: to resume */
	struct lg_stats		 stats;
	struct lg_hist		 hist;		/* requests, handshakes, pushes */
	struct lg_hist		 hist_open;	/* session opening */
};

/* Prepares <t> for conns [first, first + n) of the run. Returns 0 or -errno. */
int		 lg_thread_init(struct lg_thread *t, int id,
		     const struct lg_opts *opts, struct lg_shared *shared,
		     int first, int n);
void		 lg_thread_finish(struct lg_thread *t);
/* The thread's body: runs the loop until the phase is LG_PHASE_STOP. */
void		*lg_thread_main(void *arg);
/* Monotonic clock in nanoseconds. */
uint64_t	 lg_now(void);

#endif
