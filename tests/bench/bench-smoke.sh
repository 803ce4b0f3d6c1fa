#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The shaddock authors
#
# Smoke test of the benchmark tools: starts the bare-epoll responder on a
# free 127.0.0.1 port and runs every scenario of the load generator against
# it for about a second, checking the result lines; then checks that wrong
# answers count as errors and that what cannot run says so.
# Usage: bench-smoke.sh LOADGEN RESPONDER
set -u

lg=$1
rs=$2
tmp=$(mktemp -d)
rs_pid=
fails=0

cleanup() {
	if [ -n "$rs_pid" ]; then
		kill "$rs_pid" 2>/dev/null
		wait "$rs_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck source=tests/bench/smoke-lib.sh
. "$(dirname "$0")/smoke-lib.sh"

# Starts the responder on the first free port; sets port and rs_pid.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + (RANDOM % 12000)))
	"$rs" -P "$port" -T 120 >"$tmp/rs.out" 2>"$tmp/rs.err" &
	rs_pid=$!
	for _ in $(seq 50); do
		grep -q '^listening' "$tmp/rs.out" && break
		kill -0 "$rs_pid" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^listening' "$tmp/rs.out" && break
	wait "$rs_pid" 2>/dev/null
	rs_pid=
done
if [ -z "$rs_pid" ]; then
	echo "Bail out! the responder did not start: $(cat "$tmp/rs.err")"
	exit 1
fi


short=(-d 1 -w 0.2)
run "req tcp" 0 scenario=req errors=0 'rps>0' 'requests>0' 'server_cpu_s>0' \
	'p50_us>0' -- -c 20 -p 4 "${short[@]}" --pids "$rs_pid"
run "req ws" 0 transport=ws errors=0 'rps>0' -- -t ws -c 20 -p 4 "${short[@]}"
run "req 2 threads, 1 KiB bodies" 0 threads=2 body_bytes=1024 errors=0 \
	'rps>0' -- -j 2 -c 10 -p 2 -b 1024 "${short[@]}"
run "req ws 100 KiB bodies" 0 body_bytes=102400 errors=0 'rps>0' -- \
	-t ws -c 2 -b 102400 "${short[@]}"
run "handshake tcp" 0 errors=0 'hps>0' 'handshakes>0' -- -s handshake -c 10 \
	"${short[@]}"
run "handshake ws" 0 errors=0 'hps>0' -- -s handshake -t ws -c 10 \
	"${short[@]}"
run "idle" 0 sessions=300 lost=0 errors=0 'server_rss_hold_kb>0' \
	'open_rate>0' -- -s idle -c 300 -d 0.5 -w 0.2 --pids "$rs_pid"
run "idle in 3 processes" 0 sessions=300 procs=3 errors=0 -- -s idle -c 300 \
	--per-proc 100 -d 0.5 -w 0.2
# A heartbeat is answered within the run: 3 s heartbeat, 4 s run.
run "heartbeats" 0 errors=0 'hb_sent>0' -- -c 5 -d 3.5 -w 0.5
# A wrong answer is an error, never a success.
run "wrong body counted" 1 requests=0 'err_body>0' -- -c 5 "${short[@]}" \
	--expect '{"code":200}'
run "push not supported" 2 pushes=0 -- -s push -c 5 "${short[@]}"
run "nothing listening" 2 sessions=0 'err_connect>0' -- -c 2 "${short[@]}" \
	-P 1

if [ "$fails" -gt 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "all passed"
