#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The shaddock authors
#
# Smoke test of the load generator's TLS mode against the real shaddockd:
# a throw-away certificate made with the openssl command, one worker with
# a tls = optional listener on a free 127.0.0.1 port, and each TLS scenario
# for about a second (requests over TLS raw TCP and wss, full and resumed
# handshakes, TLS 1.2, idle sessions), plus plain requests on the same
# port; the result lines must show no error, and resumed handshakes only
# where resumption was asked for, and there no full one.
# Usage: bench-tls-smoke.sh LOADGEN SHADDOCKD
set -u

lg=$1
sd=$2
tmp=$(mktemp -d)
sd_pid=
fails=0

cleanup() {
	if [ -n "$sd_pid" ]; then
		kill -TERM "$sd_pid" 2>/dev/null
		wait "$sd_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tests/bench/smoke-lib.sh
. "$(dirname "$0")/smoke-lib.sh"

if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
	-subj /CN=localhost >/dev/null 2>&1; then
	echo "Bail out! openssl could not make a certificate"
	exit 1
fi

# Starts shaddockd on the first free port; sets port and sd_pid.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + (RANDOM % 12000)))
	cat >"$tmp/shaddock.conf" <<CONF
[server]
workers = 1
runtime_dir = $tmp
admin_socket = $tmp/admin.sock
log_level = warn
shutdown_timeout = 0
[listener main]
address = 127.0.0.1:$port
tls = optional
tls_certificate = $tmp/cert.pem
tls_key = $tmp/key.pem
[connector]
heartbeat = 3s
CONF
	"$sd" -f -c "$tmp/shaddock.conf" >"$tmp/sd.log" 2>&1 &
	sd_pid=$!
	for _ in $(seq 50); do
		[ -S "$tmp/admin.sock" ] && (exec 3<>/dev/tcp/127.0.0.1/$port) \
			2>/dev/null && break
		kill -0 "$sd_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$sd_pid" 2>/dev/null && break
	wait "$sd_pid" 2>/dev/null
	sd_pid=
done
if [ -z "$sd_pid" ]; then
	echo "Bail out! shaddockd did not start: $(tail -n 3 "$tmp/sd.log")"
	exit 1
fi
sleep 0.3

# tls_run NAME CHECK... -- ARGS: a load generator run that must exit 0
# with no error and each key=value (or key>0) in its result line.
tls_run() {
	local name=$1
	shift
	run "$name" 0 errors=0 "$@"
}

short=(-d 1 -w 0.2)
tls_run "req over TLS" tls=any 'rps>0' tls_resumed=0 -- --tls -c 20 -p 2 \
	"${short[@]}"
tls_run "req over wss" transport=ws 'rps>0' -- --tls -t ws -c 20 "${short[@]}"
tls_run "req plain on the same port" 'rps>0' -- -c 20 "${short[@]}"
tls_run "TLS handshakes, full" 'hps>0' tls_resumed=0 'tls_full>0' -- --tls \
	-s handshake -c 4 "${short[@]}"
# After the warm-up every TLS handshake resumes: none is full (scripts/bench
# rejects a resumed run with tls_full > 0).
tls_run "TLS handshakes, resumed" 'hps>0' 'tls_resumed>0' tls_full=0 \
	tls_resume=1 -- --tls-resume -s handshake -c 4 "${short[@]}"
tls_run "TLS 1.2 handshakes, resumed" tls=1.2 'tls_resumed>0' tls_full=0 -- \
	--tls-version 1.2 --tls-resume -s handshake -c 4 "${short[@]}"
tls_run "idle TLS sessions" sessions=200 lost=0 'rss_per_session_b>0' -- \
	--tls -s idle -c 200 -d 0.5 -w 0.2 --pids "$sd_pid" --children

if [ "$fails" -gt 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "all passed"
