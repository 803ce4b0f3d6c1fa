# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The shaddock authors
#
# What the bench smoke tests share, sourced by them: fail and run. They set
# lg (the load generator), port (where it connects), tmp (a scratch
# directory) and fails=0 before calling run.

fail() {
	echo "not ok - $*"
	fails=$((fails + 1))
}

# run NAME WANT_RC CHECK... -- ARGS: runs the load generator with ARGS
# against port, checks its exit status and that the result line has each
# key=value (or key>0).
run() {
	local name=$1 want=$2 line rc k v got
	shift 2
	local checks=()
	while [ "$1" != "--" ]; do
		checks+=("$1")
		shift
	done
	shift
	timeout 60 "$lg" -P "$port" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	line=$(tail -n 1 "$tmp/out")
	if [ "$rc" != "$want" ]; then
		fail "$name: exit status $rc, wanted $want: $line $(head -c 300 "$tmp/err")"
		return
	fi
	for c in "${checks[@]}"; do
		case $c in
		*'>0')
			k=${c%>0}
			got=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$k=//p")
			if ! awk -v g="$got" 'BEGIN { exit !(g + 0 > 0) }'; then
				fail "$name: $k=$got, wanted > 0: $line"
				return
			fi
			;;
		*)
			k=${c%%=*}
			v=${c#*=}
			got=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$k=//p")
			if [ "$got" != "$v" ]; then
				fail "$name: $k=$got, wanted $v: $line"
				return
			fi
			;;
		esac
	done
	echo "ok - $name"
}
