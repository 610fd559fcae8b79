#!/bin/sh
# shipyard worker build | list | check | gc. The real root of config/worker.conf
# comes from $SHIPYARD_WORKER_CACHE (built there on first use, about a
# minute); list, check and gc then run on a temporary cache holding that root
# (through a symlink) beside fake roots, one of them held by a "build" (a
# shared flock on its lock file, as builder_worker_hold takes it).
. "$(dirname "$0")/lib.sh"
need_root

manifest=$TOP/config/worker.conf

# The real root: built or reused, checked.
"$SHIPYARD" worker build --manifest "$manifest" >"$T/build.out" 2>"$T/build.err" ||
	{ cat "$T/build.err"; fail "worker build failed"; }
root=$(cat "$T/build.out")
[ -d "$root/usr/bin" ] || fail "worker build printed $root, not a root"
digest=$(basename "$(dirname "$root")")
short=$(echo "$digest" | cut -c1-12)
"$SHIPYARD" worker check --manifest "$manifest" >"$T/check.out" ||
	{ cat "$T/check.out"; fail "check of the real root failed"; }
expect_line "$T/check.out" "root: ok$"
"$SHIPYARD" worker list --manifest "$manifest" >"$T/list0.out" || fail "list failed"
expect_line "$T/list0.out" "^$short  bookworm +[0-9.]+ MiB  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5}  current$"

# A temporary cache: the current root, two fake roots, a dead builder's leftover.
cache=$T/cache
mkdir -p "$cache/$digest"
ln -s "$(cd "$root" && pwd)" "$cache/$digest/root"
cp "$(dirname "$root")/manifest" "$cache/$digest/manifest"
fake() { # fake DIGEST_CHAR MIB
	d=$cache/$(printf "%064d" 0 | tr 0 "$1")
	mkdir -p "$d/root/usr/bin"
	printf '[worker]\n\tsuite = trixie\n\tvariant = minbase\n' >"$d/manifest"
	: >"$d/lock"
	head -c $(($2 * 1048576)) /dev/zero >"$d/root/data"
}
fake 1 3
fake 2 5
mkdir -p "$cache/$digest.tmp-99999/root"
echo "kept" >"$cache/notes"
held=$(printf "%064d" 0 | tr 0 2)

"$SHIPYARD" worker list --manifest "$manifest" --cache "$cache" >"$T/list1.out" ||
	fail "list of the temporary cache failed"
[ "$(wc -l <"$T/list1.out")" -eq 3 ] || { cat "$T/list1.out"; fail "expected 3 roots"; }
expect_line "$T/list1.out" "^111111111111  trixie +3\.[0-9] MiB  "
expect_line "$T/list1.out" "^$short  bookworm .*  current$"
expect_no_line "$T/list1.out" "tmp-"

# check: fine through the symlink; a capability the root lacks is named.
"$SHIPYARD" worker check --manifest "$manifest" --cache "$cache" >"$T/check1.out" ||
	{ cat "$T/check1.out"; fail "check on the temporary cache failed"; }
sed 's/^\tprovides = make$/\tprovides = make\n\tprovides = no-such-tool/' "$manifest" >"$T/more.conf"
grep -q no-such-tool "$T/more.conf" || fail "could not make the altered manifest"
more_digest_root=$("$SHIPYARD" worker list --manifest "$T/more.conf" --cache "$cache" | grep -c current || true)
[ "$more_digest_root" -eq 0 ] || fail "a changed toolchain kept the digest"
rc=0
"$SHIPYARD" worker check --manifest "$T/more.conf" --cache "$cache" >"$T/check2.out" || rc=$?
[ $rc -eq 1 ] || fail "check of a missing root exited $rc, expected 1"
expect_line "$T/check2.out" "missing \(run .shipyard worker build.\)$"

# gc: the unused fake root and the leftover go, the held one and the current
# one stay.
sh -c 'exec 9<"$1" && flock -s 9 && exec sleep 60' sh "$cache/$held/lock" &
holder=$!
sleep 0.3
"$SHIPYARD" worker gc --manifest "$manifest" --cache "$cache" >"$T/gc.out" 2>&1 ||
	{ cat "$T/gc.out"; kill $holder; fail "gc failed"; }
kill $holder
wait $holder 2>/dev/null || true
expect_line "$T/gc.out" "^removed $cache/1{64}$"
expect_line "$T/gc.out" "^removed $cache/$digest\.tmp-99999$"
expect_line "$T/gc.out" "^kept 222222222222: in use by a build$"
expect_line "$T/gc.out" "^freed [0-9]+ bytes \(3\.[0-9] MiB\)$"
[ -d "$cache/$held/root" ] || fail "gc removed a held root"
[ -e "$cache/$digest/root/usr/bin/rpmbuild" ] || fail "gc removed the current root"
[ -f "$cache/notes" ] || fail "gc removed an unrelated file"
[ -d "$root/usr/bin" ] || fail "gc reached the real cache"

# Once no longer held, gc removes it.
"$SHIPYARD" worker gc --manifest "$manifest" --cache "$cache" >"$T/gc2.out" 2>&1 ||
	{ cat "$T/gc2.out"; fail "second gc failed"; }
expect_line "$T/gc2.out" "^removed $cache/2{64}$"
[ "$("$SHIPYARD" worker list --manifest "$manifest" --cache "$cache" | wc -l)" -eq 1 ] ||
	fail "expected only the current root after gc"

# Usage: help per subcommand, errors exit 2.
for sub in build list check gc; do
	"$SHIPYARD" worker "$sub" --help >"$T/help.out" || fail "worker $sub --help failed"
	expect_line "$T/help.out" "^usage: shipyard worker $sub "
done
rc=0; "$SHIPYARD" worker frobnicate >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "unknown subcommand exited $rc"
rc=0; "$SHIPYARD" worker >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "no subcommand exited $rc"
rc=0; "$SHIPYARD" worker list --manifest "$T/absent.conf" --cache "$cache" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "missing manifest exited $rc"
echo "worker: ok"
