# Shared by the integration tests (sourced, not run). They drive the real
# shipyard binary on real git repositories made by the test.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SHIPYARD=$TOP/build/shipyard
export SHIPYARD_WORKER_CACHE="${SHIPYARD_WORKER_CACHE:-$TOP/build/worker-cache}"
T=$(mktemp -d /tmp/shipyard-it-XXXXXX)
# The pids of the service serve_start started and of the fake forge
# forge_start started, "" when none runs.
serve_pid=""
forge_pid=""
# A test that sets its own EXIT trap calls serve_kill and forge_stop in it:
# a failed test must not leave them running.
trap 'serve_kill; forge_stop; rm -rf "$T"' EXIT

git_() {
	git -c user.name=shipyard-test -c user.email=test@shipyard.invalid \
		-c init.defaultBranch=main -c commit.gpgsign=false "$@"
}

# minidistro DIR: DIR becomes a git repository of the example distribution,
# one commit on main.
minidistro() {
	cp -r "$TOP/examples/minidistro" "$1"
	git_ -C "$1" init -q
	git_ -C "$1" add -A
	git_ -C "$1" commit -q -m "minidistro"
}

# sy OUT COMMAND ARGS...: runs shipyard COMMAND, its output (stdout and
# stderr) in OUT, its exit status in $rc.
sy() {
	out=$1
	shift
	rc=0
	"$SHIPYARD" "$@" >"$out" 2>&1 || rc=$?
}

# syj OUT COMMAND ARGS...: the same with stderr apart, in OUT.err, so that
# OUT holds only what the command prints (JSON).
syj() {
	out=$1
	shift
	rc=0
	"$SHIPYARD" "$@" >"$out" 2>"$out.err" || rc=$?
}

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP $*"
	exit 77
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (isolated builds use namespaces and chroot)"
}

# expect_line FILE REGEX: FILE has a line matching REGEX (grep -E).
expect_line() {
	grep -Eq -- "$2" "$1" || { echo "--- $1"; cat "$1"; fail "no line matching '$2' in $1"; }
}

# expect_no_line FILE REGEX
expect_no_line() {
	! grep -Eq -- "$2" "$1" || { echo "--- $1"; cat "$1"; fail "unexpected line matching '$2' in $1"; }
}

# serve_start CONF [LOG]: starts `shipyard serve -c CONF` in the
# background, its output appended to LOG ($T/serve.log by default), and waits
# until /healthz answers. Sets serve_pid, port and base
# (http://127.0.0.1:PORT); serve_stop or serve_kill stops it, and the EXIT
# trap kills it if the test ends first.
serve_start() {
	serve_log=${2:-$T/serve.log}
	"$SHIPYARD" serve -c "$1" >>"$serve_log" 2>&1 &
	serve_pid=$!
	i=0
	until port=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$serve_log" | tail -n 1) &&
		[ -n "$port" ] && curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat "$serve_log"; fail "serve did not start"; }
		sleep 0.1
	done
	base=http://127.0.0.1:$port
}

# serve_stop: stops the service of serve_start with SIGTERM (a graceful
# stop) and waits for it. Its exit status is in $serve_rc: the caller says
# what it expects of it.
serve_stop() {
	kill -TERM "$serve_pid"
	serve_rc=0
	wait "$serve_pid" || serve_rc=$?
	serve_pid=""
}

# serve_kill: kills the service of serve_start with SIGKILL (a crash) and
# reaps it; nothing when none runs.
serve_kill() {
	if [ -n "$serve_pid" ]; then
		kill -9 "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	serve_pid=""
}

# forge_start TOKEN [FAIL]: starts the fake forge (tests/fakeforge/server.js)
# on a free port, accepting TOKEN, its calls in $T/calls.jsonl and its
# output in $T/forge.out, with FAIL as its $FAKEFORGE_FAIL (its first
# answers' errors: "500x2,403x1"); waits until it listens. Sets forge_pid,
# forge_port and forge (http://127.0.0.1:PORT).
forge_start() {
	FAKEFORGE_FAIL=${2:-} node "$TOP/tests/fakeforge/server.js" 0 "$T/calls.jsonl" "$1" \
		>"$T/forge.out" 2>&1 &
	forge_pid=$!
	i=0
	until forge_port=$(sed -n 's/^fakeforge listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/forge.out") &&
		[ -n "$forge_port" ]; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat "$T/forge.out"; fail "the fake forge did not start"; }
		sleep 0.1
	done
	forge=http://127.0.0.1:$forge_port
}

# forge_stop: stops the fake forge of forge_start, if it runs.
forge_stop() {
	[ -z "$forge_pid" ] || kill "$forge_pid" 2>/dev/null || true
	forge_pid=""
}

# repoquery SNAPSHOT_DIR: name-evr.arch of every package dnf sees there.
repoquery() {
	dnf -q --setopt=reposdir=/dev/null \
		--repofrompath="t,file://$1" --repo=t --installroot="$T/dnfroot" \
		--releasever=1 repoquery --qf '%{name}-%{evr}.%{arch}' 2>"$T/dnf.err" | sort
}
