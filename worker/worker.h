/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * A worker process: one libevent loop that accepts client connections on
 * the sockets the master passes over the control channel and serves them.
 * This header is the master's view of it; worker/worker-int.h has the
 * rest.
 */

#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include <stdint.h>

struct conf;

/*
 * Runs a worker for <slot> of <generation> with the control channel
 * <chan_fd>, in a freshly forked child whose other descriptors are
 * closed. <serial> is unique among the master's workers and forms the high
 * half of every session id. Returns the process's exit status.
 */
int	 worker_main(struct conf *conf, int slot, uint32_t generation,
	     uint32_t serial, int chan_fd);

#endif
