/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The configuration parser: defaults, every value type, and every error
 * path with the file and line it reports.
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "tests/unit/test.h"

static char	 conf_path[64];

/* Writes <text> to a temporary file and loads it. */
static int
load(const char *text, struct conf **ret, char **errors)
{
	FILE	*f;
	int	 fd;

	snprintf(conf_path, sizeof conf_path, "/tmp/test-config-XXXXXX");
	fd = mkstemp(conf_path);
	if (fd == -1) {
		return -errno;
	}
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	*ret = NULL;
	*errors = NULL;
	return conf_load(conf_path, ret, errors);
}

static void
done(struct conf *c, char *errors)
{
	conf_free(c);
	free(errors);
	unlink(conf_path);
}

/*
 * True when <errors> has a line for <line> (0: no line) that contains
 * <msg>.
 */
static int
has_error(const char *errors, int line, const char *msg)
{
	char		 head[128];
	const char	*p = errors, *nl;

	if (line > 0) {
		snprintf(head, sizeof head, "%s:%d: ", conf_path, line);
	} else {
		snprintf(head, sizeof head, "%s: ", conf_path);
	}
	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (strncmp(p, head, strlen(head)) == 0) {
			const char *m = strstr(p, msg);
			if (m != NULL && (nl == NULL || m < nl)) {
				return 1;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Loads <text>, expects failure with <msg> reported at <line>. */
#define EXPECT_ERROR(text, line, msg) do {				\
	struct conf *_c;						\
	char *_e;							\
	ASSERT_EQ(load((text), &_c, &_e), -EINVAL);			\
	if (!has_error(_e, (line), (msg))) {				\
		TEST_FAIL_AT("no error \"%s\" at line %d in:\n%s",	\
		    (msg), (line), _e);					\
		done(_c, _e);						\
		return;							\
	}								\
	done(_c, _e);							\
} while (0)

#define LISTENER "[listener main]\naddress = 127.0.0.1:3010\n"

TEST(defaults)
{
	struct conf	*c;
	char		*e;

	ASSERT_EQ(load(LISTENER, &c, &e), 0);
	ASSERT_TRUE(c->workers >= 1);
	ASSERT_EQ(c->accept, CONF_ACCEPT_REUSEPORT);
	ASSERT_EQ(c->log_level, LOG_LEVEL_INFO);
	ASSERT_UEQ(c->shutdown_timeout, 30000);
	ASSERT_UEQ(c->worker_heartbeat_timeout, 5000);
	ASSERT_UEQ(c->heartbeat, 3000);
	ASSERT_UEQ(c->heartbeat_timeout, 6000);
	ASSERT_UEQ(c->handshake_timeout, 10000);
	ASSERT_UEQ(c->idle_timeout, 90000);
	ASSERT_UEQ(c->max_connections, 10000);
	ASSERT_UEQ(c->max_package_size, 64 * 1024);
	ASSERT_UEQ(c->max_send_buffer, 1024 * 1024);
	ASSERT_TRUE(c->no_delay);
	ASSERT_TRUE(!c->keepalive);
	ASSERT_TRUE(!c->use_dict);
	ASSERT_TRUE(c->app_hello);
	ASSERT_EQ(c->n_listeners, 1);
	ASSERT_STR_EQ(c->listeners[0].name, "main");
	ASSERT_UEQ(c->listeners[0].backlog, 511);
	ASSERT_STR_EQ(c->pid_file, "");
	ASSERT_TRUE(c->admin_socket[0] == '/');
	ASSERT_STR_CONTAINS(c->admin_socket, "/admin.sock");
	done(c, e);
}

TEST(values)
{
	struct conf	*c;
	char		*e;

	ASSERT_EQ(load("; comment\n# another\n[server]\nworkers = 3\n"
	    "accept = shared\nruntime_dir = /tmp/rt\nadmin_socket = a.sock\n"
	    "pid_file = /var/x.pid\nlog_level = debug\n"
	    "shutdown_timeout = 500ms\nworker_heartbeat_timeout = 2m\n"
	    "\n[connector]\nheartbeat = 1\nheartbeat_timeout = 5s\n"
	    "max_package_size = 16k\nmax_send_buffer = 2m\nno_delay = off\n"
	    "keepalive = yes\nidle_timeout = 0\n"
	    "[listener a]\naddress = [::1]:4000\nbacklog = 16\n"
	    "[listener b]\naddress = unix:/tmp/s.sock ; inline comment\n"
	    "[app]\nhello = false\n", &c, &e), 0);
	ASSERT_UEQ(c->workers, 3);
	ASSERT_EQ(c->accept, CONF_ACCEPT_SHARED);
	ASSERT_STR_EQ(c->admin_socket, "/tmp/rt/a.sock");
	ASSERT_STR_EQ(c->pid_file, "/var/x.pid");
	ASSERT_EQ(c->log_level, LOG_LEVEL_DEBUG);
	ASSERT_UEQ(c->shutdown_timeout, 500);
	ASSERT_UEQ(c->worker_heartbeat_timeout, 120000);
	ASSERT_UEQ(c->heartbeat, 1000);
	ASSERT_UEQ(c->heartbeat_timeout, 5000);
	ASSERT_UEQ(c->max_package_size, 16384);
	ASSERT_UEQ(c->max_send_buffer, 2 * 1024 * 1024);
	ASSERT_TRUE(!c->no_delay);
	ASSERT_TRUE(c->keepalive);
	ASSERT_UEQ(c->idle_timeout, 0);
	ASSERT_TRUE(!c->app_hello);
	ASSERT_EQ(c->n_listeners, 2);
	ASSERT_STR_EQ(c->listeners[0].address, "[::1]:4000");
	ASSERT_UEQ(c->listeners[0].backlog, 16);
	ASSERT_STR_EQ(c->listeners[1].address, "unix:/tmp/s.sock");
	done(c, e);
}

TEST(dictionary_turns_use_dict_on)
{
	struct conf	*c;
	char		*e;

	ASSERT_EQ(load(LISTENER "[connector]\ndictionary = /x/d.json\n", &c,
	    &e), 0);
	ASSERT_TRUE(c->use_dict);
	done(c, e);
}

TEST(errors)
{
	EXPECT_ERROR(LISTENER "[server]\nwrkers = 2\n", 4,
	    "unknown key \"wrkers\" in [server]");
	EXPECT_ERROR(LISTENER "[foo]\nx = 1\ny = 2\n", 3,
	    "unknown section [foo]");
	EXPECT_ERROR("[server]\nworkers = abc\n" LISTENER, 2,
	    "workers: \"abc\" is not a number or auto");
	EXPECT_ERROR("[server]\nworkers = 0\n" LISTENER, 2,
	    "workers: \"0\" is out of range");
	EXPECT_ERROR("[server]\nworkers = 100000\n" LISTENER, 2,
	    "workers: \"100000\" is out of range");
	EXPECT_ERROR("[server]\naccept = sometimes\n" LISTENER, 2,
	    "accept: \"sometimes\" is not one of reuseport | shared");
	EXPECT_ERROR("[server]\nlog_level = loud\n" LISTENER, 2,
	    "log_level: \"loud\" is not one of");
	EXPECT_ERROR("[server]\nshutdown_timeout = 3x\n" LISTENER, 2,
	    "shutdown_timeout: \"3x\" is not a duration");
	EXPECT_ERROR("[connector]\nmax_package_size = lots\n" LISTENER, 2,
	    "max_package_size: \"lots\" is not a size");
	EXPECT_ERROR("[connector]\nmax_package_size = 32m\n" LISTENER, 2,
	    "max_package_size: \"32m\" is out of range");
	EXPECT_ERROR("[connector]\nno_delay = maybe\n" LISTENER, 2,
	    "no_delay: \"maybe\" is not on or off");
	EXPECT_ERROR("[listener main]\nbacklog = -1\naddress = 1.2.3.4:5\n",
	    2, "backlog: \"-1\" is not a whole number");
	EXPECT_ERROR("[listener main]\naddress = 127.0.0.1\n", 2,
	    "address: \"127.0.0.1\": expected host:port");
	EXPECT_ERROR("[listener main]\naddress = localhost:80\n", 2,
	    "address: \"localhost:80\": \"localhost\" is not an IPv4 "
	    "address");
	EXPECT_ERROR("[listener main]\naddress = 127.0.0.1:70000\n", 2,
	    "port \"70000\" is not in 1-65535");
	EXPECT_ERROR("[listener main]\naddress = [::1:80\n", 2,
	    "expected [ipv6]:port");
	EXPECT_ERROR("[listener main]\naddress = unix:rel.sock\n", 2,
	    "unix socket path must be absolute");
	EXPECT_ERROR("[listener main]\nbacklog = 5\n", 1,
	    "[listener main] has no address");
	EXPECT_ERROR("[listener]\naddress = 1.2.3.4:5\n", 1,
	    "[listener] needs a name");
	EXPECT_ERROR("[server]\nworkers = 2\n", 0, "no [listener] section");
	EXPECT_ERROR(LISTENER "[listener b]\naddress = 127.0.0.1:3010\n", 3,
	    "[listener b] has the address of [listener main]");
	EXPECT_ERROR(LISTENER "[server]\nworkers = 2\nworkers = 3\n", 5,
	    "workers is already set on line 4");
	EXPECT_ERROR("workers = 2\n" LISTENER, 1,
	    "key \"workers\" outside of any section");
	EXPECT_ERROR(LISTENER "[server\n", 3, "syntax error");
	EXPECT_ERROR(LISTENER "just words\n", 3, "syntax error");
	EXPECT_ERROR("[server]\nmetrics_listen = nope\n" LISTENER, 2,
	    "metrics_listen: \"nope\": expected host:port");
	EXPECT_ERROR("[app x]\nhello = on\n" LISTENER, 1,
	    "section [app] takes no name");
	EXPECT_ERROR("[server]\nruntime_dir = run\n" LISTENER, 2,
	    "runtime_dir: \"run\" is not an absolute path nor auto");
	/* [cluster] and [route]: errors at the line that set the key. */
	EXPECT_ERROR(LISTENER "[cluster]\ntype = pomelo\nmaster = x\n", 5,
	    "[cluster] master: \"x\": expected host:port");
	EXPECT_ERROR(LISTENER "[cluster]\ntype = pinus\n"
	    "session_closed = a.b\n", 5,
	    "[cluster] session_closed: \"a.b\" is not TYPE.REMOTE.METHOD");
	EXPECT_ERROR(LISTENER "[cluster]\ntype = pinus\nserver_id = a b\n",
	    5, "[cluster] server_id: \"a b\" is not a name");
	EXPECT_ERROR(LISTENER "[cluster]\ntype = pomelo\n"
	    "remoter_paths = user:/a x:/b\n", 5,
	    "[cluster] remoter_paths: \"x:/b\" is not sys:/PATH");
	EXPECT_ERROR(LISTENER "[cluster]\ntype = consul\n", 4,
	    "type: \"consul\" is not one of none | pomelo | pinus");
	EXPECT_ERROR(LISTENER "[route chat]\nkey = rid\n", 3,
	    "[route chat]: key \"rid\" is not uid, session or settings.NAME");
	EXPECT_ERROR(LISTENER "[route]\nkey = uid\n", 3,
	    "[route] needs a name, as in [route chat]");
	EXPECT_ERROR(LISTENER "[route chat]\nkee = uid\n", 4,
	    "unknown key \"kee\" in [route chat]");
}

TEST(long_line)
{
	char	 text[1024];

	memset(text, 0, sizeof text);
	strcpy(text, LISTENER "[server]\nlog_file = /");
	memset(text + strlen(text), 'a', 400);
	strcat(text, "\n");
	EXPECT_ERROR(text, 4, "line longer than");
}

TEST(all_errors_reported)
{
	struct conf	*c;
	char		*e;

	ASSERT_EQ(load("[server]\nworkers = x\nlog_level = y\n" LISTENER, &c,
	    &e), -EINVAL);
	ASSERT_STR_CONTAINS(e, ":2: workers");
	ASSERT_STR_CONTAINS(e, ":3: log_level");
	done(c, e);
}

TEST(missing_file)
{
	struct conf	*c = NULL;
	char		*e = NULL;

	ASSERT_EQ(conf_load("/nonexistent/shaddock.conf", &c, &e), -ENOENT);
	ASSERT_STR_CONTAINS(e, "/nonexistent/shaddock.conf: cannot open");
	ASSERT_TRUE(c == NULL);
	free(e);
}

TEST(dump_round_trips)
{
	struct conf	*c, *d;
	char		*e, *e2, path2[64];
	FILE		*f;
	int		 fd;

	ASSERT_EQ(load("[server]\nworkers = 4\nshutdown_timeout = 1500ms\n"
	    "runtime_dir = /tmp/rt\n" LISTENER, &c, &e), 0);
	snprintf(path2, sizeof path2, "/tmp/test-config-dump-XXXXXX");
	fd = mkstemp(path2);
	f = fdopen(fd, "w");
	conf_dump(c, f);
	fclose(f);
	ASSERT_EQ(conf_load(path2, &d, &e2), 0);
	unlink(path2);
	ASSERT_UEQ(d->workers, 4);
	ASSERT_UEQ(d->shutdown_timeout, 1500);
	ASSERT_STR_EQ(d->admin_socket, c->admin_socket);
	ASSERT_STR_EQ(d->listeners[0].address, "127.0.0.1:3010");
	conf_free(d);
	done(c, e);
}

/*
 * What fuzz-config found: a dump that did not load again. A value that
 * starts with ';' is not a comment after '=' without a blank, and stays
 * one; heartbeat_timeout 0 with heartbeat 1d is 2d, which loads again.
 */
TEST(dump_round_trips_edges)
{
	static const char	 text[] = "[server]\nadmin_group=;g\nuser=#u\n"
	    "[connector]\nheartbeat = 1d\n" LISTENER;
	struct conf		*c, *d;
	char			*e, *dump = NULL;
	size_t			 len = 0;
	FILE			*f;

	ASSERT_EQ(conf_load_buffer("edges", text, sizeof text - 1, &c, &e), 0);
	ASSERT_STR_EQ(c->admin_group, ";g");
	ASSERT_STR_EQ(c->user, "#u");
	ASSERT_UEQ(c->heartbeat_timeout, 2 * 86400 * 1000ULL);
	f = open_memstream(&dump, &len);
	conf_dump(c, f);
	fclose(f);
	ASSERT_STR_CONTAINS(dump, "\nadmin_group =;g\n");
	ASSERT_STR_CONTAINS(dump, "\nuser = #u\n");
	ASSERT_EQ(conf_load_buffer("dump", dump, len, &d, &e), 0);
	ASSERT_STR_EQ(d->admin_group, ";g");
	ASSERT_STR_EQ(d->user, "#u");
	ASSERT_UEQ(d->heartbeat_timeout, 2 * 86400 * 1000ULL);
	conf_free(d);
	conf_free(c);
	free(dump);
}

/* A buffer: its name in the errors and as the path; no final newline. */
TEST(load_buffer)
{
	static const char	 good[] = "[listener main]\naddress = 1.2.3.4:5";
	static const char	 bad[] = "[server]\nworkers = x\n" LISTENER;
	struct conf		*c = NULL;
	char			*e = NULL;

	ASSERT_EQ(conf_load_buffer("mem", good, sizeof good - 1, &c, &e), 0);
	ASSERT_STR_EQ(c->path, "mem");
	ASSERT_STR_EQ(c->listeners[0].address, "1.2.3.4:5");
	ASSERT_TRUE(e == NULL);
	conf_free(c);
	c = NULL;
	ASSERT_EQ(conf_load_buffer("mem", bad, sizeof bad - 1, &c, &e),
	    -EINVAL);
	ASSERT_TRUE(c == NULL);
	ASSERT_STR_EQ(e, "mem:2: workers: \"x\" is not a number or auto\n");
	free(e);
	ASSERT_EQ(conf_load_buffer("empty", "", 0, &c, &e), -EINVAL);
	ASSERT_STR_CONTAINS(e, "empty: no [listener] section");
	free(e);
}

/* The admin socket's path must fit in a sockaddr_un once resolved. */
TEST(admin_socket_length)
{
	struct conf	*c;
	char		*e, text[512];

	snprintf(text, sizeof text, "[server]\nruntime_dir = /%0100d\n"
	    LISTENER, 0);
	EXPECT_ERROR(text, 0, "admin_socket: \"/000");
	EXPECT_ERROR(text, 0, "is longer than 107 bytes");
	snprintf(text, sizeof text, "[server]\nruntime_dir = /%090d\n"
	    LISTENER, 0);
	ASSERT_EQ(load(text, &c, &e), 0);
	ASSERT_UEQ(strlen(c->admin_socket), 91 + strlen("/admin.sock"));
	done(c, e);
}

/*
 * The man page's entries come from the table (the test conf-page checks the
 * finished page): each has its default, its help, and a Value: line made
 * from its type and range.
 */
TEST(directive_reference)
{
	const char	*name, *section, *def;
	char		*text = NULL, want[128];
	size_t		 len = 0, i;
	FILE		*f;

	f = open_memstream(&text, &len);
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(conf_dump_directives(f, "connector"), 0);
	ASSERT_EQ(conf_dump_directives(f, "listener"), 0);
	ASSERT_EQ(conf_dump_directives(f, "server"), 0);
	ASSERT_EQ(conf_dump_directives(f, "cluster"), 0);
	ASSERT_EQ(conf_dump_directives(f, "route"), 0);
	ASSERT_EQ(conf_dump_directives(f, "nosuch"), -ENOENT);
	fclose(f);
	ASSERT_STR_CONTAINS(text, "*max_send_buffer* = 1m\n\tThe most bytes "
	    "queued for one client that does not read.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: a size from 4k to 1g.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: a size from 16 to 16777215 "
	    "bytes.\n");
	ASSERT_STR_CONTAINS(text, "*handshake_timeout* = 10s\n");
	ASSERT_STR_CONTAINS(text, "\tValue: a duration from 100ms to 1d.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: a duration from 1s to 1d.\n");
	ASSERT_STR_CONTAINS(text, "*address* = (required)\n");
	ASSERT_STR_CONTAINS(text, "\tValue: a number from 1 to 65535.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: a number from 1 to 256, or "
	    "*auto*.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: *reuseport* or *shared*.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: *error*, *warn*, *info* or "
	    "*debug*.\n");
	ASSERT_STR_CONTAINS(text, "\tValue: *on* or *off*.\n");
	/* Empty defaults; plain help text has scdoc's markup escaped. */
	ASSERT_STR_CONTAINS(text, "*admin_group* =\n");
	ASSERT_STR_CONTAINS(text, "(counted in heartbeat\\_timeouts)");
	/* A doc paragraph break stays one, indented. */
	ASSERT_STR_CONTAINS(text, "workers.\n\n\t*shared*: one socket");
	for (i = 0; (name = conf_directive_name(i, &section, &def)) != NULL;
	    i++) {
		if (strcmp(section, "app") == 0) {
			continue;
		}
		snprintf(want, sizeof want, "*%s* =%s%s\n", name,
		    def == NULL || *def != '\0' ? " " : "",
		    def == NULL ? "(required)" : def);
		ASSERT_STR_CONTAINS(text, want);
	}
	free(text);
}

int
main(void)
{
	log_open('T', LOG_LEVEL_ERROR, NULL);
	setenv("XDG_RUNTIME_DIR", "/tmp", 1);
	unsetenv("RUNTIME_DIRECTORY");
	RUN(defaults);
	RUN(values);
	RUN(dictionary_turns_use_dict_on);
	RUN(errors);
	RUN(long_line);
	RUN(all_errors_reported);
	RUN(missing_file);
	RUN(dump_round_trips);
	RUN(dump_round_trips_edges);
	RUN(load_buffer);
	RUN(admin_socket_length);
	RUN(directive_reference);
	TEST_DONE();
}
