/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * shaddockd: options, the configuration check (-t) and dump (-T), and the
 * master's start-up: runtime directory, pid file, listeners, admin
 * socket, then the master loop (master.c) until the server stops.
 */

#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/dict.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "common/tls.h"
#include "common/xmalloc.h"
#include "master/master.h"

static void
usage(void)
{
	fprintf(stderr, "usage: shaddockd [-ftTV] [-c file]\n");
	exit(2);
}

static void
libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_ERR:
		log_error("libevent: %s", msg);
		break;
	case EVENT_LOG_WARN:
		log_warn("libevent: %s", msg);
		break;
	default:
		log_debug("libevent: %s", msg);
		break;
	}
}

#define MAIN_TLS_WARN_DAYS	14

/*
 * Builds the TLS context of each TLS listener of <conf> (kept in the
 * listener's tls_ctx): the certificates and keys are read here, by the
 * master, at start and at each reload. Returns 0, or -EINVAL with every
 * error ("FILE:LINE: directive: reason") in <ret_errors>.
 */
static int
main_load_tls(struct conf *conf, char **ret_errors)
{
	struct listener_conf	*l;
	struct tls_ctx_conf	 o;
	const char		*field;
	char			 err[512], date[32], *line, *all = NULL;
	int64_t			 left;
	size_t			 i, len = 0;

	for (i = 0; i < conf->n_listeners; i++) {
		l = &conf->listeners[i];
		if (l->tls == CONF_TLS_OFF) {
			continue;
		}
		memset(&o, 0, sizeof o);
		o.certificate = l->tls_certificate;
		o.key = l->tls_key;
		o.protocols = l->tls_protocols;
		o.ciphers = l->tls_ciphers;
		o.ticket_lifetime_s = conf->tls_ticket_rotation / 1000;
		if (tls_ctx_create(&o, &l->tls_ctx, &field, err,
		    sizeof err) != 0) {
			xasprintf(&line, "%s:%d: %s: %s\n", conf->path,
			    conf_line(conf, i, field), field, err);
			all = xrealloc(all, len + strlen(line) + 1);
			memcpy(all + len, line, strlen(line) + 1);
			len += strlen(line);
			free(line);
			continue;
		}
		left = (l->tls_ctx->not_after - (int64_t)time(NULL)) / 86400;
		if (left < MAIN_TLS_WARN_DAYS) {
			log_warn("%s:%d: tls_certificate: %s expires on %s, in "
			    "%jd day%s", conf->path,
			    conf_line(conf, i, "tls_certificate"),
			    l->tls_certificate, tls_time_format(
			    l->tls_ctx->not_after, date, sizeof date),
			    (intmax_t)left, left == 1 ? "" : "s");
		}
	}
	if (all != NULL) {
		*ret_errors = all;
		return -EINVAL;
	}
	return 0;
}

/* Checks what the workers will load, so -t and reloads catch it. */
int
main_check_files(struct conf *conf, char **ret_errors)
{
	struct dict	 d;
	char		 err[512];

	*ret_errors = NULL;
	if (main_load_tls(conf, ret_errors) != 0) {
		return -EINVAL;
	}
	if (*conf->user != '\0' && getpwnam(conf->user) == NULL) {
		xasprintf(ret_errors, "%s: user: no user named \"%s\"\n",
		    conf->path, conf->user);
		return -EINVAL;
	}
	if (*conf->group != '\0' && getgrnam(conf->group) == NULL) {
		xasprintf(ret_errors, "%s: group: no group named \"%s\"\n",
		    conf->path, conf->group);
		return -EINVAL;
	}
	if (*conf->admin_group != '\0' && getgrnam(conf->admin_group) ==
	    NULL) {
		xasprintf(ret_errors, "%s: admin_group: no group named "
		    "\"%s\"\n", conf->path, conf->admin_group);
		return -EINVAL;
	}
	if (!conf->use_dict || *conf->dictionary == '\0') {
		return 0;
	}
	memset(&d, 0, sizeof d);
	if (dict_init(&d, NULL, 0, conf->dictionary, err, sizeof err) != 0) {
		xasprintf(ret_errors, "%s: dictionary: %s\n", conf->path, err);
		dict_finish(&d);
		return -EINVAL;
	}
	dict_finish(&d);
	return 0;
}

static int
mkdir_p(const char *path, mode_t mode)
{
	char	*p, *s;

	s = xstrdup(path);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/') {
			continue;
		}
		*p = '\0';
		if (mkdir(s, mode) == -1 && errno != EEXIST) {
			free(s);
			return -errno;
		}
		*p = '/';
	}
	free(s);
	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		return -errno;
	}
	return 0;
}

/* Writes the pid file, refusing when it names a live process. */
static int
pid_file_write(const char *path)
{
	char	 buf[32];
	FILE	*f;
	long	 pid;
	int	 fd;

	if ((f = fopen(path, "re")) != NULL) {
		if (fscanf(f, "%ld", &pid) == 1 && pid > 0 &&
		    pid != (long)getpid() && kill((pid_t)pid, 0) == 0) {
			fclose(f);
			log_error("pid file %s names pid %ld, which is "
			    "running: is another shaddockd running?", path,
			    pid);
			return -EEXIST;
		}
		fclose(f);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_error("pid file %s: %s", path, strerror(errno));
		return -errno;
	}
	snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (write(fd, buf, strlen(buf)) == -1) {
		log_error("pid file %s: %s", path, strerror(errno));
	}
	close(fd);
	return 0;
}

static void
print_errors(const char *errors)
{
	const char	*p = errors, *nl;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		fprintf(stderr, "shaddockd: %.*s\n",
		    (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

static void
daemonize(void)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1) {
		fatal("fork");
	}
	if (pid > 0) {
		_exit(0);
	}
	setsid();
	if ((pid = fork()) == -1) {
		fatal("fork");
	}
	if (pid > 0) {
		_exit(0);
	}
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO) {
			close(fd);
		}
	}
}

int
main(int argc, char **argv)
{
	const char	*path = CONF_DEFAULT_PATH;
	struct conf	*conf;
	char		*errors;
	bool		 test = false, dump = false, foreground = false;
	int		 ch, r;

	while ((ch = getopt(argc, argv, "c:ftTVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			test = true;
			break;
		case 'T':
			dump = true;
			break;
		case 'V':
			printf("shaddockd %s\n", SHADDOCK_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc) {
		usage();
	}
	log_open('M', LOG_LEVEL_INFO, NULL);

	if (conf_load(path, &conf, &errors) != 0 ||
	    main_check_files(conf, &errors) != 0) {
		print_errors(errors);
		free(errors);
		if (test) {
			fprintf(stderr, "shaddockd: configuration file %s "
			    "test failed\n", path);
		}
		return 1;
	}
	if (test || dump) {
		if (dump) {
			conf_dump(conf, stdout);
		}
		if (test) {
			fprintf(stderr, "shaddockd: the configuration file %s "
			    "syntax is ok\n", path);
		}
		conf_free(conf);
		return 0;
	}

	/* Under systemd (or asked to) stay in the foreground. */
	if (getenv("NOTIFY_SOCKET") != NULL || getenv("INVOCATION_ID") !=
	    NULL) {
		foreground = true;
	}
	if (!foreground) {
		if (*conf->log_file == '\0') {
			fprintf(stderr, "shaddockd: running in the background "
			    "without log_file: log lines are discarded (use "
			    "-f or set log_file)\n");
		}
		daemonize();
	}
	log_open('M', (enum log_level)conf->log_level, conf->log_file);
	event_set_log_callback(libevent_log);

	master = xcalloc(1, sizeof *master);
	master->conf = conf;
	/* Reloads read the same file whatever the working directory. */
	master->conf_path = realpath(path, NULL);
	if (master->conf_path == NULL) {
		master->conf_path = xstrdup(path);
	}
	master->pid = getpid();
	master->started_ms = now_ms();
	master->admin_fd = -1;
	master->metrics_fd = -1;
	TAILQ_INIT(&master->workers);
	TAILQ_INIT(&master->admin_clients);
	TAILQ_INIT(&master->gathers);
	if ((master->base = event_base_new()) == NULL) {
		fatalx("event_base_new failed");
	}

	if ((r = mkdir_p(conf->runtime_dir, 0755)) != 0) {
		log_error("runtime_dir %s: %s", conf->runtime_dir,
		    strerror(-r));
		return 1;
	}
	if (*conf->pid_file != '\0' && pid_file_write(conf->pid_file) != 0) {
		return 1;
	}
	listen_adopt_systemd();
	if (listen_reconcile(conf, &master->listeners, &master->n_listeners,
	    errors = xmalloc(512), 512) != 0) {
		log_error("%s", errors);
		free(errors);
		goto fail;
	}
	free(errors);
	if (admin_open() != 0 || metrics_open() != 0) {
		goto fail;
	}
	log_info("shaddockd %s starting: %zu listener%s, %ju workers, "
	    "accept %s, admin socket %s", SHADDOCK_VERSION,
	    master->n_listeners, master->n_listeners == 1 ? "" : "s",
	    (uintmax_t)conf->workers,
	    conf->accept == CONF_ACCEPT_REUSEPORT ? "reuseport" : "shared",
	    conf->admin_socket);

	r = master_run();

	admin_close();
	metrics_close();
	listen_free_all(master->listeners, master->n_listeners);
	if (*master->conf->pid_file != '\0') {
		unlink(master->conf->pid_file);
	}
	log_info("stopped%s", r != 0 ? " with errors" : "");
	return r;

fail:
	if (*conf->pid_file != '\0') {
		unlink(conf->pid_file);
	}
	return 1;
}
