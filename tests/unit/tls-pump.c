/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The test worker of tls-pump.h. It is set up as worker_main() sets up a
 * real one, minus the control channel and the listeners; its "deferred"
 * event runs worker.c's worker_deferred().
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "common/log.h"
#include "common/tls.h"
#include "tests/unit/certgen.h"
#include "tests/unit/tls-pump.h"

#define PUMP_ROUNDS	64

int
pump_worker_init(const char *connector, struct tls_ctx **ret_tls)
{
	char			 dir[] = "/tmp/shaddock-pump-XXXXXX";
	char			 path[64], cert[64], err[256];
	struct tls_ctx_conf	 o;
	struct tls_ticket_keys	 keys;
	const char		*field;
	struct timeval		 hs;
	char			*errors = NULL;
	FILE			*f;
	int			 r;

	/* As in a worker: a write to a closed peer is EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(path, sizeof path, "%s/pump.conf", dir);
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	f = fopen(path, "w");
	fprintf(f, "[listener main]\naddress = 127.0.0.1:1\n[connector]\n%s\n"
	    "[app]\nhello = on\nchat = off\n", connector);
	fclose(f);
	worker = calloc(1, sizeof *worker);
	r = conf_load(path, &worker->conf, &errors);
	unlink(path);
	if (r != 0) {
		fprintf(stderr, "%s", errors);
		free(errors);
		rmdir(dir);
		return -1;
	}
	if (certgen_write(cert, cert, "pump.test", -1, 30) != 0) {
		rmdir(dir);
		return -1;
	}
	memset(&o, 0, sizeof o);
	o.certificate = cert;
	o.protocols = "TLSv1.2 TLSv1.3";
	o.ticket_lifetime_s = 3600;
	r = tls_ctx_create(&o, ret_tls, &field, err, sizeof err);
	unlink(cert);
	rmdir(dir);
	if (r != 0) {
		fprintf(stderr, "%s: %s\n", field, err);
		return -1;
	}
	memset(&keys, 0, sizeof keys);
	tls_ticket_keys_rotate(&keys);
	tls_ticket_keys_use(&keys, sizeof keys);

	TAILQ_INIT(&worker->conns);
	TAILQ_INIT(&worker->dead);
	worker->serial = 1;
	worker->base = event_base_new();
	worker->rbuf_size = 64 * 1024;
	worker->rbuf = malloc(worker->rbuf_size);
	worker->obuf_size = 256 * 1024;
	worker->obuf = malloc(worker->obuf_size);
	hs.tv_sec = (time_t)(worker->conf->handshake_timeout / 1000);
	hs.tv_usec = 0;
	worker->tv_handshake = event_base_init_common_timeout(worker->base,
	    &hs);
	worker->deferred = event_new(worker->base, -1, 0, worker_deferred, NULL);
	app_hello_init();
	if (session_init(err, sizeof err) != 0) {
		fprintf(stderr, "session_init: %s\n", err);
		return -1;
	}
	return 0;
}

void
pump_worker_finish(struct tls_ctx *tls)
{
	session_finish();
	router_finish();
	event_free(worker->deferred);
	event_base_free(worker->base);
	free(worker->flushq);
	free(worker->rbuf);
	free(worker->obuf);
	conf_free(worker->conf);
	free(worker);
	worker = NULL;
	tls_ctx_destroy(tls);
	tls_ticket_keys_clear();
}

int
pump_open(struct pump *p, const struct xprt_ops *xprt, void *arg,
    SSL_CTX *client)
{
	struct sockaddr_un	 sun;
	BIO			*r, *w;
	int			 sv[2];

	memset(p, 0, sizeof *p);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		return -1;
	}
	p->fd = sv[0];
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (conn_create(sv[1], (struct sockaddr *)&sun, sizeof sun, xprt,
	    arg) == NULL) {
		close(sv[0]);
		return -1;
	}
	if (client != NULL) {
		p->ssl = SSL_new(client);
		r = BIO_new(BIO_s_mem());
		w = BIO_new(BIO_s_mem());
		BIO_set_mem_eof_return(r, -1);
		BIO_set_mem_eof_return(w, -1);
		SSL_set_bio(p->ssl, r, w);
		SSL_set_connect_state(p->ssl);
		SSL_do_handshake(p->ssl);
	}
	return 0;
}

/* Keeps what the client received. */
static void
pump_keep(struct pump *p, const uint8_t *data, size_t len)
{
	if (p->in_len + len > p->in_cap) {
		p->in_cap = (p->in_len + len) * 2;
		p->in = realloc(p->in, p->in_cap);
	}
	memcpy(p->in + p->in_len, data, len);
	p->in_len += len;
}

bool
pump_tls_done(const struct pump *p)
{
	return p->ssl != NULL && SSL_is_init_finished(p->ssl);
}

/* Writes all of <data> to the socket, running the worker when it is full. */
static bool
pump_write(struct pump *p, const uint8_t *data, size_t len)
{
	ssize_t	 n;
	int	 stuck = 0;

	while (len > 0 && stuck < PUMP_ROUNDS) {
		n = send(p->fd, data, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EAGAIN) {
			event_base_loop(worker->base, EVLOOP_NONBLOCK);
			stuck++;
			continue;
		}
		if (n <= 0) {
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	return true;
}

void
pump_send(struct pump *p, const void *data, size_t len)
{
	const uint8_t	*d = data;
	uint8_t		 buf[16384];
	int		 n;

	if (p->ssl == NULL) {
		pump_write(p, d, len);
		return;
	}
	if (!SSL_is_init_finished(p->ssl)) {
		pump_run(p);
	}
	while (len > 0) {
		n = SSL_write(p->ssl, d, len > 16384 ? 16384 : (int)len);
		if (n <= 0) {
			ERR_clear_error();
			break;
		}
		d += n;
		len -= (size_t)n;
	}
	/* Every record on the socket at once: the server reads them later. */
	while ((n = BIO_read(SSL_get_wbio(p->ssl), buf, sizeof buf)) > 0) {
		pump_write(p, buf, (size_t)n);
	}
}

void
pump_send_raw(struct pump *p, const void *data, size_t len)
{
	pump_write(p, data, len);
}

void
pump_run(struct pump *p)
{
	uint8_t	 buf[16384];
	bool	 moved = true;
	ssize_t	 n;
	int	 round, k;

	for (round = 0; round < PUMP_ROUNDS && moved; round++) {
		moved = false;
		if (p->ssl != NULL) {
			while ((k = BIO_read(SSL_get_wbio(p->ssl), buf,
			    sizeof buf)) > 0) {
				pump_write(p, buf, (size_t)k);
				moved = true;
			}
		}
		event_base_loop(worker->base, EVLOOP_NONBLOCK);
		while (!p->closed && !p->paused) {
			n = read(p->fd, buf, sizeof buf);
			if (n == -1) {
				break;
			}
			if (n == 0) {
				p->closed = true;
				break;
			}
			moved = true;
			if (p->ssl != NULL) {
				BIO_write(SSL_get_rbio(p->ssl), buf, (int)n);
			} else {
				pump_keep(p, buf, (size_t)n);
			}
		}
		if (p->ssl == NULL) {
			continue;
		}
		if (!SSL_is_init_finished(p->ssl)) {
			SSL_do_handshake(p->ssl);
		}
		while (SSL_is_init_finished(p->ssl) && (k = SSL_read(p->ssl,
		    buf, sizeof buf)) > 0) {
			pump_keep(p, buf, (size_t)k);
			moved = true;
		}
		ERR_clear_error();
	}
}

void
pump_close(struct pump *p)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&worker->conns)) != NULL) {
		conn_close(c, "test over");
	}
	event_base_loop(worker->base, EVLOOP_NONBLOCK);
	worker_deferred(-1, 0, NULL);
	if (p->ssl != NULL) {
		SSL_free(p->ssl);
		p->ssl = NULL;
	}
	close(p->fd);
	p->fd = -1;
	free(p->in);
	p->in = NULL;
	p->in_len = p->in_cap = 0;
	ERR_clear_error();
}
