/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * shaddock-loadgen: the load generator of the benchmark. It speaks the
 * Pomelo protocol over raw TCP or WebSocket to any Pomelo connector
 * (shaddock, Pinus, Pomelo, the bare-epoll responder) and runs one
 * scenario: req (requests kept in flight), handshake (sessions opened and
 * closed in a loop), idle (sessions held; the server's memory per session)
 * or push (sessions in a channel, one publisher). The main thread parses
 * the options, starts one epoll loop per thread (lg-conn.c), moves the run
 * through warm-up, measurement and stop, reads the server's CPU time and
 * memory from /proc, and prints one key=value line on stdout and a short
 * summary on stderr. Every run ends by itself: each phase has a deadline.
 *
 * The idle scenario forks one child per --per-proc sessions (each with its
 * own file descriptor limit and its own 127.0.0.x source addresses); the
 * parent only coordinates over pipes and samples the server's memory.
 */

#include "config.h"

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"

#include "loadgen.h"

#define LG_DEFAULT_ROUTE	"connector.entryHandler.entry"
#define LG_DEFAULT_EXPECT	"{\"code\":200,\"msg\":\"game server is ok.\"}"
#define LG_EXIT_ERRORS		1
#define LG_EXIT_SETUP		2
#define LG_FD_SPARE		64
#define LG_IDLE_SAMPLE_NS	(500 * UINT64_C(1000000))

/* What an idle child reports: once opened, then once stopped. */
struct lg_report {
	int		 opened;
	int		 settled;
	int		 lost;
	struct lg_stats	 stats;
	struct lg_hist	 hist_open;
};

struct lg_result {
	double		 dur;		/* seconds measured */
	double		 client_cpu;
	double		 server_cpu;	/* -1: not measured */
	struct lg_stats	 stats;
	struct lg_hist	 hist;
	struct lg_hist	 hist_open;
	int		 opened;
	int		 lost;
};

static volatile sig_atomic_t	 lg_interrupted;

static void
lg_usage(FILE *f)
{
	fprintf(f,
"usage: shaddock-loadgen [options]\n"
"  -s, --scenario NAME     req (default), handshake, idle or push\n"
"  -t, --transport NAME    tcp (default) or ws\n"
"  -H, --host ADDR         server IPv4 address (127.0.0.1)\n"
"  -P, --port PORT         server port (3010)\n"
"  -c, --conns N           sessions, or parallel handshake loops (100)\n"
"  -p, --inflight N        req: requests in flight per session; push:\n"
"                          publishes in flight (1)\n"
"  -j, --threads N         client threads, one epoll loop each (1)\n"
"  -d, --duration S        seconds measured (10); idle: seconds held\n"
"  -w, --warmup S          seconds run before measuring (2)\n"
"  -r, --route ROUTE       req: route (" LG_DEFAULT_ROUTE ")\n"
"  -b, --body-size N       req: request body of N bytes of JSON ({})\n"
"      --body-hex HEX      req: the request body as these bytes (a\n"
"                          protobuf body, say) instead of JSON\n"
"      --expect-hex HEX    req: the exact response body, as bytes\n"
"      --expect BODY|any   req: exact response body (the HelloWorld\n"
"                          answer for the default route); any: JSON with\n"
"                          no \"code\" other than 200\n"
"      --timeout S         a request or push without answer fails (5)\n"
"      --open-timeout S    opening a session fails after S seconds (30)\n"
"      --close rst|fin     how sessions are closed (rst: no TIME_WAIT)\n"
"      --src-addrs N       spread sources over 127.0.0.1..N (1)\n"
"      --per-proc N        idle: sessions per client process (10000)\n"
"      --max-opening N     opens in progress per thread (64)\n"
"      --pids LIST         server pids: CPU time, idle memory\n"
"      --pid-from-file F   read one more server pid from F\n"
"      --children          add the descendants of those pids\n"
"      --label TEXT        printed first in the result line\n"
"  push (join a channel, one publisher; needs channel support):\n"
"      --channel NAME      channel (room) name (bench)\n"
"      --join-route R      (connector.entryHandler.enter)\n"
"      --join-body T       ({\"username\":\"u{n}\",\"rid\":\"{ch}\"})\n"
"      --publish-route R   (chat.chatHandler.send)\n"
"      --publish-body T    ({\"rid\":\"{ch}\",\"content\":\"{ts}\",\n"
"                          \"from\":\"u0\",\"target\":\"*\"})\n"
"      --push-route R      push route counted (onChat)\n"
"      --push-field NAME   push body member holding {ts} (msg)\n"
"      --rate N            publishes per second (100); a publish due\n"
"                          while -p are in flight is skipped\n"
"  TLS (raw TCP or WebSocket inside TLS; the certificate is not checked):\n"
"      --tls               every session starts with a TLS handshake\n"
"      --tls-version V     1.2, 1.3 or any (any)\n"
"      --tls-resume        resume each thread's first session (tickets)\n"
"  -h, --help\n"
"Prints one key=value line on stdout and a summary on stderr. Exit status:\n"
"0 success, 1 errors were counted, 2 the run could not be made.\n");
}

static void
lg_on_signal(int sig)
{
	lg_interrupted = sig;
}

static double
lg_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Sleeps <s> seconds unless interrupted; returns false when interrupted. */
static bool
lg_sleep(double s)
{
	uint64_t	 end = lg_now() + (uint64_t)(s * 1e9), now;
	struct timespec	 ts;
	uint64_t	 left;

	while (!lg_interrupted && (now = lg_now()) < end) {
		left = end - now;
		if (left > 100000000) {
			left = 100000000;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left;
		nanosleep(&ts, NULL);
	}
	return !lg_interrupted;
}

static double
lg_rusage_cpu(int who)
{
	struct rusage	 ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
lg_parse_int(const char *s, int min, int max, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
		fprintf(stderr, "loadgen: %s must be %d to %d, not %s\n", what,
		    min, max, s);
		exit(LG_EXIT_SETUP);
	}
	return (int)v;
}

static double
lg_parse_double(const char *s, double min, double max, const char *what)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !(v >= min && v <= max)) {
		fprintf(stderr, "loadgen: %s must be %g to %g, not %s\n", what,
		    min, max, s);
		exit(LG_EXIT_SETUP);
	}
	return v;
}

static void
lg_add_pid(struct lg_opts *o, const char *s)
{
	if (o->npids == LG_MAX_PIDS) {
		fprintf(stderr, "loadgen: at most %d pids\n", LG_MAX_PIDS);
		exit(LG_EXIT_SETUP);
	}
	o->pids[o->npids++] = (pid_t)lg_parse_int(s, 1, INT32_MAX, "a pid");
}

static void
lg_add_pids(struct lg_opts *o, const char *list)
{
	char	*copy = xstrdup(list), *p, *save = NULL;

	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		lg_add_pid(o, p);
	}
	free(copy);
}

static void
lg_add_pid_file(struct lg_opts *o, const char *path)
{
	char	 buf[32];
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		exit(LG_EXIT_SETUP);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	lg_add_pid(o, buf);
}

/* The bytes of the hex string <s>; exits on a malformed one. */
static char *
lg_unhex(const char *s, size_t *ret_len)
{
	size_t	 n = strlen(s), i;
	char	*out;
	unsigned v;

	if (n % 2 != 0) {
		fprintf(stderr, "loadgen: %s: an odd number of hex digits\n", s);
		exit(LG_EXIT_SETUP);
	}
	out = xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			fprintf(stderr, "loadgen: %s: not hex\n", s);
			exit(LG_EXIT_SETUP);
		}
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	*ret_len = n / 2;
	return out;
}

/*
 * A JSON object of exactly <size> bytes (at least {}), or the bytes of
 * --body-hex.
 */
static void
lg_make_body(struct lg_opts *o, size_t hex_len)
{
	size_t	 n = o->body_size;

	if (o->body_hex != NULL) {
		o->body = o->body_hex;
		o->body_hex = NULL;
		o->body_len = hex_len;
		return;
	}

	if (n < 9) {
		o->body = xstrdup("{}");
		o->body_len = 2;
		return;
	}
	o->body = xmalloc(n + 1);
	memcpy(o->body, "{\"p\":\"", 6);
	memset(o->body + 6, 'x', n - 8);
	memcpy(o->body + n - 2, "\"}", 3);
	o->body_len = n;
}

enum {
	OPT_EXPECT = 256,
	OPT_BODY_HEX,
	OPT_EXPECT_HEX,
	OPT_TIMEOUT,
	OPT_OPEN_TIMEOUT,
	OPT_CLOSE,
	OPT_SRC_ADDRS,
	OPT_PER_PROC,
	OPT_MAX_OPENING,
	OPT_PIDS,
	OPT_PID_FILE,
	OPT_CHILDREN,
	OPT_LABEL,
	OPT_CHANNEL,
	OPT_JOIN_ROUTE,
	OPT_JOIN_BODY,
	OPT_PUB_ROUTE,
	OPT_PUB_BODY,
	OPT_PUSH_ROUTE,
	OPT_PUSH_FIELD,
	OPT_RATE,
	OPT_TLS,
	OPT_TLS_VERSION,
	OPT_TLS_RESUME,
};

static const struct option lg_long_opts[] = {
	{ "scenario", required_argument, NULL, 's' },
	{ "transport", required_argument, NULL, 't' },
	{ "host", required_argument, NULL, 'H' },
	{ "port", required_argument, NULL, 'P' },
	{ "conns", required_argument, NULL, 'c' },
	{ "inflight", required_argument, NULL, 'p' },
	{ "threads", required_argument, NULL, 'j' },
	{ "duration", required_argument, NULL, 'd' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "route", required_argument, NULL, 'r' },
	{ "body-size", required_argument, NULL, 'b' },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "body-hex", required_argument, NULL, OPT_BODY_HEX },
	{ "expect-hex", required_argument, NULL, OPT_EXPECT_HEX },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "open-timeout", required_argument, NULL, OPT_OPEN_TIMEOUT },
	{ "close", required_argument, NULL, OPT_CLOSE },
	{ "src-addrs", required_argument, NULL, OPT_SRC_ADDRS },
	{ "per-proc", required_argument, NULL, OPT_PER_PROC },
	{ "max-opening", required_argument, NULL, OPT_MAX_OPENING },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "pid-from-file", required_argument, NULL, OPT_PID_FILE },
	{ "children", no_argument, NULL, OPT_CHILDREN },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "join-route", required_argument, NULL, OPT_JOIN_ROUTE },
	{ "join-body", required_argument, NULL, OPT_JOIN_BODY },
	{ "publish-route", required_argument, NULL, OPT_PUB_ROUTE },
	{ "publish-body", required_argument, NULL, OPT_PUB_BODY },
	{ "push-route", required_argument, NULL, OPT_PUSH_ROUTE },
	{ "push-field", required_argument, NULL, OPT_PUSH_FIELD },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "tls-version", required_argument, NULL, OPT_TLS_VERSION },
	{ "tls-resume", no_argument, NULL, OPT_TLS_RESUME },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The client TLS context of --tls: no certificate check, tickets kept. */
static void
lg_tls_setup(struct lg_opts *o)
{
	SSL_CTX	*ctx;
	int	 v = 0;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		fprintf(stderr, "loadgen: SSL_CTX_new failed\n");
		exit(LG_EXIT_SETUP);
	}
	if (o->tls_version == NULL) {
		o->tls_version = "any";
	}
	if (strcmp(o->tls_version, "1.2") == 0) {
		v = TLS1_2_VERSION;
	} else if (strcmp(o->tls_version, "1.3") == 0) {
		v = TLS1_3_VERSION;
	}
	if (v != 0) {
		SSL_CTX_set_min_proto_version(ctx, v);
		SSL_CTX_set_max_proto_version(ctx, v);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Sessions are kept by the threads, not in a cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	o->tls = ctx;
}

static void
lg_parse(struct lg_opts *o, int argc, char **argv)
{
	const char	*expect = NULL;
	char		*expect_hex = NULL;
	size_t		 expect_hex_len = 0, body_hex_len = 0;
	bool		 tls = false;
	int		 ch;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 3010;
	o->threads = 1;
	o->conns = 100;
	o->inflight = 1;
	o->duration = 10;
	o->warmup = 2;
	o->timeout = 5;
	o->open_timeout = 30;
	o->route = LG_DEFAULT_ROUTE;
	o->src_addrs = 1;
	o->src_base = 1;
	o->per_proc = 10000;
	o->max_opening = 64;
	o->channel = "bench";
	o->join_route = "connector.entryHandler.enter";
	o->join_body = "{\"username\":\"u{n}\",\"rid\":\"{ch}\"}";
	o->pub_route = "chat.chatHandler.send";
	o->pub_body = "{\"rid\":\"{ch}\",\"content\":\"{ts}\",\"from\":\"u0\","
	    "\"target\":\"*\"}";
	o->push_route = "onChat";
	o->push_field = "msg";
	o->rate = 100;

	while ((ch = getopt_long(argc, argv, "s:t:H:P:c:p:j:d:w:r:b:h",
	    lg_long_opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (strcmp(optarg, "req") == 0) {
				o->scenario = LG_REQ;
			} else if (strcmp(optarg, "handshake") == 0) {
				o->scenario = LG_HANDSHAKE;
			} else if (strcmp(optarg, "idle") == 0) {
				o->scenario = LG_IDLE;
			} else if (strcmp(optarg, "push") == 0) {
				o->scenario = LG_PUSH;
			} else {
				fprintf(stderr, "loadgen: unknown scenario %s\n",
				    optarg);
				exit(LG_EXIT_SETUP);
			}
			break;
		case 't':
			if (strcmp(optarg, "tcp") == 0) {
				o->transport = LG_TCP;
			} else if (strcmp(optarg, "ws") == 0) {
				o->transport = LG_WS;
			} else {
				fprintf(stderr, "loadgen: transport is tcp or "
				    "ws, not %s\n", optarg);
				exit(LG_EXIT_SETUP);
			}
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'P':
			o->port = (uint16_t)lg_parse_int(optarg, 1, 65535,
			    "the port");
			break;
		case 'c':
			o->conns = lg_parse_int(optarg, 1, 1000000,
			    "the session count");
			break;
		case 'p':
			o->inflight = lg_parse_int(optarg, 1, 4096,
			    "the requests in flight");
			break;
		case 'j':
			o->threads = lg_parse_int(optarg, 1, 256,
			    "the thread count");
			break;
		case 'd':
			o->duration = lg_parse_double(optarg, 0.1, 86400,
			    "the duration");
			break;
		case 'w':
			o->warmup = lg_parse_double(optarg, 0, 3600,
			    "the warm-up");
			break;
		case 'r':
			if (strlen(optarg) > 255) {
				fprintf(stderr, "loadgen: a route has at most "
				    "255 bytes\n");
				exit(LG_EXIT_SETUP);
			}
			o->route = optarg;
			break;
		case 'b':
			o->body_size = (size_t)lg_parse_int(optarg, 0,
			    16 << 20, "the body size");
			break;
		case OPT_EXPECT:
			expect = optarg;
			break;
		case OPT_BODY_HEX:
			o->body_hex = lg_unhex(optarg, &body_hex_len);
			break;
		case OPT_EXPECT_HEX:
			expect_hex = lg_unhex(optarg, &expect_hex_len);
			break;
		case OPT_TIMEOUT:
			o->timeout = lg_parse_double(optarg, 0.01, 3600,
			    "the timeout");
			break;
		case OPT_OPEN_TIMEOUT:
			o->open_timeout = lg_parse_double(optarg, 0.01, 3600,
			    "the open timeout");
			break;
		case OPT_CLOSE:
			if (strcmp(optarg, "rst") != 0 &&
			    strcmp(optarg, "fin") != 0) {
				fprintf(stderr, "loadgen: --close is rst or "
				    "fin\n");
				exit(LG_EXIT_SETUP);
			}
			o->close_fin = strcmp(optarg, "fin") == 0;
			break;
		case OPT_SRC_ADDRS:
			o->src_addrs = lg_parse_int(optarg, 1, 250,
			    "the source address count");
			break;
		case OPT_PER_PROC:
			o->per_proc = lg_parse_int(optarg, 1, 1000000,
			    "the sessions per process");
			break;
		case OPT_MAX_OPENING:
			o->max_opening = lg_parse_int(optarg, 1, 1000000,
			    "the opens in progress");
			break;
		case OPT_PIDS:
			lg_add_pids(o, optarg);
			break;
		case OPT_PID_FILE:
			lg_add_pid_file(o, optarg);
			break;
		case OPT_CHILDREN:
			o->children = true;
			break;
		case OPT_LABEL:
			o->label = optarg;
			break;
		case OPT_CHANNEL:
			o->channel = optarg;
			break;
		case OPT_JOIN_ROUTE:
			o->join_route = optarg;
			break;
		case OPT_JOIN_BODY:
			o->join_body = optarg;
			break;
		case OPT_PUB_ROUTE:
			o->pub_route = optarg;
			break;
		case OPT_PUB_BODY:
			o->pub_body = optarg;
			break;
		case OPT_PUSH_ROUTE:
			o->push_route = optarg;
			break;
		case OPT_PUSH_FIELD:
			o->push_field = optarg;
			break;
		case OPT_RATE:
			o->rate = lg_parse_double(optarg, 0.1, 1e6, "the rate");
			break;
		case OPT_TLS:
			tls = true;
			break;
		case OPT_TLS_VERSION:
			if (strcmp(optarg, "1.2") != 0 &&
			    strcmp(optarg, "1.3") != 0 &&
			    strcmp(optarg, "any") != 0) {
				fprintf(stderr, "loadgen: --tls-version is 1.2, "
				    "1.3 or any\n");
				exit(LG_EXIT_SETUP);
			}
			o->tls_version = optarg;
			tls = true;
			break;
		case OPT_TLS_RESUME:
			o->tls_resume = true;
			tls = true;
			break;
		case 'h':
			lg_usage(stdout);
			exit(0);
		default:
			lg_usage(stderr);
			exit(LG_EXIT_SETUP);
		}
	}
	if (optind != argc) {
		lg_usage(stderr);
		exit(LG_EXIT_SETUP);
	}
	if (strlen(o->join_route) > 255 || strlen(o->pub_route) > 255) {
		fprintf(stderr, "loadgen: a route has at most 255 bytes\n");
		exit(LG_EXIT_SETUP);
	}
	o->dst.sin_family = AF_INET;
	o->dst.sin_port = htons(o->port);
	if (inet_pton(AF_INET, o->host, &o->dst.sin_addr) != 1) {
		fprintf(stderr, "loadgen: %s is not an IPv4 address\n", o->host);
		exit(LG_EXIT_SETUP);
	}
	if (expect_hex != NULL) {
		o->expect = expect_hex;
		o->expect_len = expect_hex_len;
	} else if (expect != NULL) {
		o->expect = strcmp(expect, "any") == 0 ? NULL : expect;
	} else if (strcmp(o->route, LG_DEFAULT_ROUTE) == 0) {
		o->expect = LG_DEFAULT_EXPECT;
	}
	if (o->expect != NULL && expect_hex == NULL) {
		o->expect_len = strlen(o->expect);
	}
	if (o->scenario == LG_HANDSHAKE && o->max_opening < o->conns) {
		/* every loop is always opening */
		o->max_opening = o->conns;
	}
	if (o->scenario == LG_PUSH && o->conns < 2) {
		fprintf(stderr, "loadgen: push needs 2 sessions or more\n");
		exit(LG_EXIT_SETUP);
	}
	if (tls) {
		lg_tls_setup(o);
	}
	lg_make_body(o, body_hex_len);
}

/* Raises the soft descriptor limit to the hard one; returns the limit. */
static long
lg_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		return 1024;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

static uint64_t
lg_errors(const struct lg_stats *s)
{
	return s->err_connect + s->err_closed + s->err_proto + s->err_id +
	    s->err_body + s->err_timeout;
}

static void
lg_stats_add(struct lg_stats *into, const struct lg_stats *s)
{
	into->done += s->done;
	into->opened += s->opened;
	into->published += s->published;
	into->err_connect += s->err_connect;
	into->err_closed += s->err_closed;
	into->err_proto += s->err_proto;
	into->err_id += s->err_id;
	into->err_body += s->err_body;
	into->err_timeout += s->err_timeout;
	into->hb_sent += s->hb_sent;
	into->hb_recv += s->hb_recv;
	into->bytes_in += s->bytes_in;
	into->bytes_out += s->bytes_out;
	into->tls_resumed += s->tls_resumed;
	into->tls_full += s->tls_full;
}

/*
 * Starts <n> sessions (global indexes from <first>) on up to opts->threads
 * threads. Returns the thread array, or NULL.
 */
static struct lg_thread *
lg_start(const struct lg_opts *o, struct lg_shared *sh, int first, int n,
    int *ret_nthreads)
{
	struct lg_thread	*th;
	int			 nt = o->threads < n ? o->threads : n;
	int			 i, at = first, share, r;

	th = xcalloc((size_t)nt, sizeof(*th));
	for (i = 0; i < nt; i++) {
		share = n / nt + (i < n % nt ? 1 : 0);
		if ((r = lg_thread_init(&th[i], i, o, sh, at, share)) < 0) {
			fprintf(stderr, "loadgen: %s\n", strerror(-r));
			exit(LG_EXIT_SETUP);
		}
		at += share;
	}
	for (i = 0; i < nt; i++) {
		if ((r = pthread_create(&th[i].thread, NULL, lg_thread_main,
		    &th[i])) != 0) {
			fprintf(stderr, "loadgen: pthread_create: %s\n",
			    strerror(r));
			exit(LG_EXIT_SETUP);
		}
	}
	*ret_nthreads = nt;
	return th;
}

/* Stops and joins the threads; sums their counters into <r>. */
static void
lg_stop(struct lg_thread *th, int nt, struct lg_shared *sh,
    struct lg_result *r)
{
	int	 i;

	atomic_store(&sh->phase, LG_PHASE_STOP);
	for (i = 0; i < nt; i++) {
		pthread_join(th[i].thread, NULL);
		lg_stats_add(&r->stats, &th[i].stats);
		lg_hist_merge(&r->hist, &th[i].hist);
		lg_hist_merge(&r->hist_open, &th[i].hist_open);
		lg_thread_finish(&th[i]);
	}
	r->opened = atomic_load(&sh->opened);
	r->lost = atomic_load(&sh->lost);
	free(th);
}

/* Waits until <want> sessions settled; false when the deadline passed. */
static bool
lg_wait_settled(struct lg_shared *sh, int want, double timeout)
{
	uint64_t	 end = lg_now() + (uint64_t)(timeout * 1e9);

	while (atomic_load(&sh->settled) < want) {
		if (lg_now() >= end || !lg_sleep(0.01)) {
			return false;
		}
	}
	return true;
}

static const char *
lg_scenario_name(enum lg_scenario s)
{
	static const char	*names[] = { "req", "handshake", "idle", "push" };

	return names[s];
}

static void
lg_print_head(const struct lg_opts *o)
{
	if (o->label != NULL) {
		printf("label=%s ", o->label);
	}
	printf("scenario=%s transport=%s conns=%d", lg_scenario_name(o->scenario),
	    o->transport == LG_WS ? "ws" : "tcp", o->conns);
	if (o->tls != NULL) {
		printf(" tls=%s tls_resume=%d", o->tls_version,
		    o->tls_resume ? 1 : 0);
	}
}

static void
lg_print_latency(const struct lg_hist *h, const char *prefix)
{
	printf(" %sp50_us=%.1f %sp99_us=%.1f %sp999_us=%.1f %smax_us=%.1f",
	    prefix, lg_hist_quantile(h, 0.5) / 1e3,
	    prefix, lg_hist_quantile(h, 0.99) / 1e3,
	    prefix, lg_hist_quantile(h, 0.999) / 1e3,
	    prefix, lg_hist_quantile(h, 1.0) / 1e3);
}

static void
lg_print_errors(const struct lg_stats *s, int lost)
{
	printf(" errors=%" PRIu64 " err_connect=%" PRIu64 " err_closed=%"
	    PRIu64 " err_proto=%" PRIu64 " err_id=%" PRIu64 " err_body=%"
	    PRIu64 " err_timeout=%" PRIu64 " lost=%d",
	    lg_errors(s), s->err_connect, s->err_closed, s->err_proto,
	    s->err_id, s->err_body, s->err_timeout, lost);
}

/* req, handshake and push: one process, threads, a measured window. */
static int
lg_run(const struct lg_opts *o)
{
	struct lg_shared	 sh;
	struct lg_result	*r = xcalloc(1, sizeof(*r));
	struct lg_thread	*th;
	const char		*what;
	uint64_t		 t0, t1;
	double			 cpu0, cpu1, scpu0 = -1, scpu1 = -1, rate;
	long			 code;
	int			 nt, ret = 0, refused;

	memset(&sh, 0, sizeof(sh));
	atomic_store(&sh.phase, LG_PHASE_WARMUP);
	th = lg_start(o, &sh, 0, o->conns, &nt);
	if (o->scenario != LG_HANDSHAKE &&
	    !lg_wait_settled(&sh, o->conns, o->open_timeout + 1)) {
		fprintf(stderr, "loadgen: only %d of %d sessions opened in "
		    "%.0f s\n", atomic_load(&sh.opened), o->conns,
		    o->open_timeout);
	}
	refused = atomic_load(&sh.join_refused);
	if (o->scenario == LG_PUSH && refused > 0) {
		code = atomic_load(&sh.join_code);
		lg_stop(th, nt, &sh, r);
		fprintf(stderr, "loadgen: push is not supported yet by this "
		    "server: %d joins to %s were refused (code %ld); it needs "
		    "channels\n", refused, o->join_route, code);
		lg_print_head(o);
		printf(" supported=0 join_refused=%d join_code=%ld pushes=0",
		    refused, code);
		lg_print_errors(&r->stats, r->lost);
		printf("\n");
		free(r);
		return LG_EXIT_SETUP;
	}
	if (o->scenario != LG_HANDSHAKE && atomic_load(&sh.opened) == 0) {
		lg_stop(th, nt, &sh, r);
		fprintf(stderr, "loadgen: no session could be opened with "
		    "%s:%u\n", o->host, o->port);
		lg_print_head(o);
		printf(" sessions=0");
		lg_print_errors(&r->stats, r->lost);
		printf("\n");
		free(r);
		return LG_EXIT_SETUP;
	}
	lg_sleep(o->warmup);
	cpu0 = lg_rusage_cpu(RUSAGE_SELF);
	if (o->npids > 0) {
		scpu0 = lg_proc_cpu(o->pids, o->npids);
	}
	atomic_store(&sh.phase, LG_PHASE_MEASURE);
	t0 = lg_now();
	lg_sleep(o->duration);
	atomic_store(&sh.phase, LG_PHASE_STOP);
	t1 = lg_now();
	cpu1 = lg_rusage_cpu(RUSAGE_SELF);
	if (o->npids > 0) {
		scpu1 = lg_proc_cpu(o->pids, o->npids);
	}
	lg_stop(th, nt, &sh, r);
	r->dur = lg_seconds(t1 - t0);
	r->client_cpu = cpu1 - cpu0;
	r->server_cpu = scpu0 >= 0 && scpu1 >= 0 ? scpu1 - scpu0 : -1;
	rate = (double)r->stats.done / r->dur;

	lg_print_head(o);
	switch (o->scenario) {
	case LG_REQ:
		what = "requests";
		printf(" inflight=%d body_bytes=%zu threads=%d duration_s=%.2f "
		    "requests=%" PRIu64 " rps=%.0f", o->inflight, o->body_len,
		    nt, r->dur, r->stats.done, rate);
		break;
	case LG_HANDSHAKE:
		what = "handshakes";
		printf(" threads=%d duration_s=%.2f handshakes=%" PRIu64
		    " hps=%.0f", nt, r->dur, r->stats.done, rate);
		break;
	default:
		what = "pushes";
		printf(" threads=%d duration_s=%.2f published=%" PRIu64
		    " pushes=%" PRIu64 " pushes_per_s=%.0f", nt, r->dur,
		    r->stats.published, r->stats.done, rate);
		break;
	}
	lg_print_latency(&r->hist, "");
	lg_print_errors(&r->stats, r->lost);
	printf(" client_cpu_s=%.3f", r->client_cpu);
	if (r->server_cpu >= 0) {
		printf(" server_cpu_s=%.3f server_pids=%d", r->server_cpu,
		    o->npids);
	}
	if (o->tls != NULL) {
		printf(" tls_resumed=%" PRIu64 " tls_full=%" PRIu64,
		    r->stats.tls_resumed, r->stats.tls_full);
	}
	printf(" hb_sent=%" PRIu64 " hb_recv=%" PRIu64 "\n", r->stats.hb_sent,
	    r->stats.hb_recv);
	fflush(stdout);

	fprintf(stderr, "%s %s c=%d", lg_scenario_name(o->scenario),
	    o->transport == LG_WS ? "ws" : "tcp", o->conns);
	if (o->scenario == LG_REQ) {
		fprintf(stderr, " p=%d", o->inflight);
	}
	fprintf(stderr, ": %.0f %s/s, p50 %.0f us, p99 %.0f us, max %.0f us; "
	    "%" PRIu64 " errors; client CPU %.0f%% of a core", rate, what,
	    lg_hist_quantile(&r->hist, 0.5) / 1e3,
	    lg_hist_quantile(&r->hist, 0.99) / 1e3,
	    lg_hist_quantile(&r->hist, 1.0) / 1e3, lg_errors(&r->stats),
	    100 * r->client_cpu / r->dur);
	if (r->server_cpu >= 0) {
		fprintf(stderr, ", server CPU %.0f%%", 100 * r->server_cpu /
		    r->dur);
	}
	fprintf(stderr, "\n");
	if (o->scenario == LG_PUSH && r->stats.published > 0 &&
	    r->stats.done == 0) {
		fprintf(stderr, "loadgen: no %s push arrived: push is not "
		    "supported yet by this server\n", o->push_route);
		ret = LG_EXIT_SETUP;
	} else if (lg_errors(&r->stats) > 0) {
		ret = LG_EXIT_ERRORS;
	}
	free(r);
	return ret;
}

static int
lg_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads <len> bytes within <timeout> seconds; returns 0 or -errno. */
static int
lg_read_all(int fd, void *buf, size_t len, double timeout)
{
	uint64_t	 end = lg_now() + (uint64_t)(timeout * 1e9), now;
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((now = lg_now()) >= end || lg_interrupted) {
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, (int)((end - now) / 1000000) + 1) <= 0) {
			continue;
		}
		if ((n = read(fd, p, len)) == -1) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			return -EPIPE;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * An idle child: opens its <n> sessions, reports, holds them until the
 * parent writes to <ctl> (or closes it, or <hold> seconds pass), then
 * closes them and reports again.
 */
static int
lg_idle_child(const struct lg_opts *o, int first, int n, int report, int ctl,
    double hold)
{
	struct lg_shared	 sh;
	struct lg_report	*rep = xcalloc(1, sizeof(*rep));
	struct lg_result	*r = xcalloc(1, sizeof(*r));
	struct lg_thread	*th;
	char			 c;
	int			 nt;

	memset(&sh, 0, sizeof(sh));
	atomic_store(&sh.phase, LG_PHASE_MEASURE);
	th = lg_start(o, &sh, first, n, &nt);
	lg_wait_settled(&sh, n, o->open_timeout + 1);
	rep->opened = atomic_load(&sh.opened);
	rep->settled = atomic_load(&sh.settled);
	if (lg_write_all(report, rep, sizeof(*rep)) < 0) {
		hold = 0;
	}
	lg_read_all(ctl, &c, 1, hold);
	lg_stop(th, nt, &sh, r);
	rep->opened = r->opened;
	rep->lost = r->lost;
	rep->stats = r->stats;
	rep->hist_open = r->hist_open;
	lg_write_all(report, rep, sizeof(*rep));
	free(r);
	free(rep);
	return 0;
}

static double
lg_kb_per_session(uint64_t before, uint64_t after, int sessions)
{
	if (sessions <= 0) {
		return 0;
	}
	return ((double)after - (double)before) * 1024.0 / sessions;
}

/* idle: children hold the sessions; the parent samples the server. */
static int
lg_idle(struct lg_opts *o)
{
	struct lg_report	*rep = xcalloc(1, sizeof(*rep));
	struct lg_result	*r = xcalloc(1, sizeof(*r));
	struct lg_mem		 m0 = { 0, 0 }, m1 = { 0, 0 }, m;
	uint64_t		 t0, t1, next;
	double			 hold, open_s, hold_s, scpu0 = -1, scpu1 = -1;
	double			 ccpu;
	pid_t			*kids;
	int			*rfd, *cfd, rp[2], cp[2];
	int			 nproc, k, i, n, first = 0, ret = 0, status;
	int			 opened = 0, has_mem, failed = 0;

	nproc = (o->conns + o->per_proc - 1) / o->per_proc;
	kids = xcalloc((size_t)nproc, sizeof(*kids));
	rfd = xcalloc((size_t)nproc, sizeof(*rfd));
	cfd = xcalloc((size_t)nproc, sizeof(*cfd));
	hold = o->open_timeout + o->warmup + o->duration + 30;
	has_mem = o->npids > 0 && lg_proc_mem(o->pids, o->npids, &m0) == 0;
	if (o->npids > 0 && !has_mem) {
		fprintf(stderr, "loadgen: cannot read the memory of the server "
		    "pids\n");
	}
	t0 = lg_now();
	for (k = 0; k < nproc; k++) {
		n = o->conns / nproc + (k < o->conns % nproc ? 1 : 0);
		if (pipe2(rp, O_CLOEXEC) == -1 || pipe2(cp, O_CLOEXEC) == -1) {
			fprintf(stderr, "loadgen: pipe: %s\n", strerror(errno));
			exit(LG_EXIT_SETUP);
		}
		fflush(NULL);
		if ((kids[k] = fork()) == -1) {
			fprintf(stderr, "loadgen: fork: %s\n", strerror(errno));
			exit(LG_EXIT_SETUP);
		}
		if (kids[k] == 0) {
			close(rp[0]);
			close(cp[1]);
			for (i = 0; i < k; i++) {
				close(rfd[i]);
				close(cfd[i]);
			}
			free(kids);
			free(rfd);
			free(cfd);
			free(rep);
			free(r);
			/* each process has its own 127.0.0.x sources */
			o->src_base = 1 + k * o->src_addrs;
			i = lg_idle_child(o, first, n, rp[1], cp[0], hold);
			free(o->body);
			_exit(i);
		}
		close(rp[1]);
		close(cp[0]);
		rfd[k] = rp[0];
		cfd[k] = cp[1];
		first += n;
	}

	for (k = 0; k < nproc; k++) {
		if (lg_read_all(rfd[k], rep, sizeof(*rep),
		    o->open_timeout + 10) < 0) {
			fprintf(stderr, "loadgen: client process %d did not "
			    "report\n", (int)kids[k]);
			failed++;
			continue;
		}
		opened += rep->opened;
	}
	open_s = lg_seconds(lg_now() - t0);
	if (opened < o->conns) {
		fprintf(stderr, "loadgen: %d of %d sessions opened\n", opened,
		    o->conns);
	}

	/* let heartbeats go round once and the server settle */
	lg_sleep(o->warmup);
	if (o->npids > 0) {
		scpu0 = lg_proc_cpu(o->pids, o->npids);
	}
	t1 = lg_now();
	next = t1;
	while (lg_now() < t1 + (uint64_t)(o->duration * 1e9) &&
	    !lg_interrupted) {
		if (has_mem && lg_now() >= next &&
		    lg_proc_mem(o->pids, o->npids, &m) == 0) {
			m1 = m;
			next = lg_now() + LG_IDLE_SAMPLE_NS;
		}
		lg_sleep(0.05);
	}
	if (has_mem && lg_proc_mem(o->pids, o->npids, &m) == 0) {
		m1 = m;
	}
	hold_s = lg_seconds(lg_now() - t1);
	if (o->npids > 0) {
		scpu1 = lg_proc_cpu(o->pids, o->npids);
	}

	for (k = 0; k < nproc; k++) {
		lg_write_all(cfd[k], "S", 1);
		close(cfd[k]);
	}
	for (k = 0; k < nproc; k++) {
		if (lg_read_all(rfd[k], rep, sizeof(*rep), 30) == 0) {
			lg_stats_add(&r->stats, &rep->stats);
			lg_hist_merge(&r->hist_open, &rep->hist_open);
			r->lost += rep->lost;
		} else if (failed == 0) {
			fprintf(stderr, "loadgen: client process %d did not "
			    "report at the end\n", (int)kids[k]);
			failed++;
		}
		close(rfd[k]);
	}
	for (k = 0; k < nproc; k++) {
		while (waitpid(kids[k], &status, 0) == -1 && errno == EINTR) {
			continue;
		}
	}
	ccpu = lg_rusage_cpu(RUSAGE_CHILDREN);

	lg_print_head(o);
	printf(" procs=%d threads=%d sessions=%d open_s=%.2f open_rate=%.0f "
	    "hold_s=%.2f", nproc, o->threads, opened, open_s,
	    open_s > 0 ? opened / open_s : 0, hold_s);
	if (has_mem) {
		printf(" mem=VmRSS,Pss server_rss_before_kb=%" PRIu64
		    " server_rss_hold_kb=%" PRIu64 " server_pss_before_kb=%"
		    PRIu64 " server_pss_hold_kb=%" PRIu64
		    " rss_per_session_b=%.0f pss_per_session_b=%.0f",
		    m0.rss_kb, m1.rss_kb, m0.pss_kb, m1.pss_kb,
		    lg_kb_per_session(m0.rss_kb, m1.rss_kb, opened),
		    lg_kb_per_session(m0.pss_kb, m1.pss_kb, opened));
	}
	lg_print_latency(&r->hist_open, "open_");
	lg_print_errors(&r->stats, r->lost);
	printf(" client_cpu_s=%.3f", ccpu);
	if (scpu0 >= 0 && scpu1 >= 0) {
		printf(" server_cpu_s=%.3f server_pids=%d", scpu1 - scpu0,
		    o->npids);
	}
	printf(" hb_sent=%" PRIu64 " hb_recv=%" PRIu64 "\n", r->stats.hb_sent,
	    r->stats.hb_recv);
	fflush(stdout);

	fprintf(stderr, "idle %s: %d of %d sessions in %.2f s (%d process%s), "
	    "held %.1f s, %d lost", o->transport == LG_WS ? "ws" : "tcp",
	    opened, o->conns, open_s, nproc, nproc > 1 ? "es" : "", hold_s,
	    r->lost);
	if (has_mem) {
		fprintf(stderr, "; server memory per session: %.0f B RSS, "
		    "%.0f B PSS", lg_kb_per_session(m0.rss_kb, m1.rss_kb,
		    opened), lg_kb_per_session(m0.pss_kb, m1.pss_kb, opened));
	}
	fprintf(stderr, "\n");
	if (failed > 0 || opened == 0) {
		ret = LG_EXIT_SETUP;
	} else if (lg_errors(&r->stats) > 0 || r->lost > 0) {
		ret = LG_EXIT_ERRORS;
	}
	free(kids);
	free(rfd);
	free(cfd);
	free(rep);
	free(r);
	return ret;
}

int
main(int argc, char **argv)
{
	struct lg_opts		 o;
	struct sigaction	 sa;
	long			 nofile, need;
	int			 ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	lg_parse(&o, argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = lg_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	nofile = lg_raise_nofile();
	need = (o.scenario == LG_IDLE && o.conns > o.per_proc ? o.per_proc :
	    o.conns) + LG_FD_SPARE + 2 * o.threads;
	if (need > nofile) {
		fprintf(stderr, "loadgen: %ld descriptors needed, the limit is "
		    "%ld: use fewer sessions%s\n", need, nofile,
		    o.scenario == LG_IDLE ? " or a lower --per-proc" : "");
		free(o.body);
		return LG_EXIT_SETUP;
	}
	if (o.children && o.npids > 0) {
		o.npids = lg_proc_add_children(o.pids, o.npids, LG_MAX_PIDS);
	}
	ret = o.scenario == LG_IDLE ? lg_idle(&o) : lg_run(&o);
	free(o.body);
	return ret;
}
