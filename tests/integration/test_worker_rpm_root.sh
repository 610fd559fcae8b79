#!/bin/sh
# Worker roots made of the distribution's own packages (worker.kind = rpm).
# The example is built once in the bootstrap root and published; a manifest
# naming that channel and a package list in the Azure Linux toolkit's format
# (one RPM file name per line) makes a root of exactly that closure; build,
# list, check and gc handle it; a plan on it says once that the worker root
# changed; parse-time rpm queries read the root's packages; a list line the
# repository cannot satisfy is a one-line error; the same repository over
# http gives the same root, and a package altered on the server is refused.
. "$(dirname "$0")/lib.sh"
need_root

minidistro "$T/repo"
sy "$T/run.out" run --repo "$T/repo" --state "$T/state"
[ "$rc" -eq 0 ] || { tail -n 20 "$T/run.out"; fail "bootstrap run failed"; }
snap=$(readlink -f "$T/state/repos/main/current")
ls "$snap/RPMS/x86_64" | grep -E '^(glibc|smoketest)-' >"$T/list_x86_64.txt"
[ "$(wc -l <"$T/list_x86_64.txt")" -eq 2 ] || fail "expected glibc and smoketest in $snap"
printf '[worker]\n\tkind = rpm\n\trepo = channel:main\n\tpackagelist = list_%%s.txt\n' \
	>"$T/rpm.conf"
w() { sy "$@" --manifest "$T/rpm.conf" --state "$T/state" --cache "$T/cache"; }

w "$T/build.out" worker build
[ "$rc" -eq 0 ] || { cat "$T/build.out"; fail "worker build of the rpm root failed"; }
root=$(tail -n 1 "$T/build.out")
digest=$(basename "$(dirname "$root")")
# The closure: smoketest, glibc and what they require (filesystem).
for f in usr/bin/smoketest usr/lib64/libc.so.6; do
	[ -e "$root/$f" ] || fail "$f missing from the rpm root"
done
grep -q '^shipyard-build:x:1001:1001:' "$root/etc/passwd" || fail "no build user in the root"
[ "$(stat -c %u "$root/build")" -eq 1001 ] || fail "/build not owned by the build user"
expect_line "$(dirname "$root")/packages" "^filesystem-1\.0-1\.mdst1\.x86_64 sha256:[0-9a-f]{64}$"
chroot "$root" /usr/bin/smoketest >"$T/smoke.out" 2>&1 ||
	{ cat "$T/smoke.out"; fail "smoketest does not run in the rpm root"; }

# Built once: the second build reuses it.
w "$T/build2.out" worker build
[ "$(tail -n 1 "$T/build2.out")" = "$root" ] || fail "second worker build made another root"
w "$T/list.out" worker list
expect_line "$T/list.out" "^$(echo "$digest" | cut -c1-12)  rpm:3 .* current$"

# check: every package installed at its NEVRA; rpmbuild is not in this root.
w "$T/check.out" worker check
[ "$rc" -eq 1 ] || { cat "$T/check.out"; fail "check exited $rc, expected 1"; }
expect_line "$T/check.out" "/usr/bin/rpmbuild missing$"
expect_no_line "$T/check.out" "not installed"

# A plan on the rpm root says once that the root differs from the one the
# channel was built in.
sy "$T/plan.out" plan --repo "$T/repo" --state "$T/state" --worker-manifest "$T/rpm.conf"
expect_line "$T/plan.out" "^global input changed: worker root changed: [0-9a-f]{12} -> $(echo "$digest" | cut -c1-12)$"

# Parse-time rpm queries read the root's packages: smoketest 1.0 is in it.
mkdir -p "$T/repo/SPECS/rpmq"
cat >"$T/repo/SPECS/rpmq/rpmq.spec" <<'SPEC'
Summary: asks rpm at parse time
Name: rpmq
Version: 1
Release: %(rpm -q --qf '%%{VERSION}' smoketest 2>/dev/null | tr -c '0-9\n' _)
License: MIT
%description
asks rpm at parse time
%files
SPEC
git_ -C "$T/repo" add -A && git_ -C "$T/repo" commit -q -m rpmq
sy "$T/specs.out" specs --repo "$T/repo" --state "$T/state" --worker-manifest "$T/rpm.conf"
expect_line "$T/specs.out" "^SPECS/rpmq/rpmq.spec rpmq-1-1_0$"
sy "$T/specs0.out" specs --repo "$T/repo" --state "$T/state"
expect_no_line "$T/specs0.out" "^SPECS/rpmq/rpmq.spec rpmq-1-1_0$"

# A list line pins one build: another release is a one-line error.
sed 's/^smoketest-1\.0-1\./smoketest-1.0-7./' "$T/list_x86_64.txt" >"$T/l" &&
	mv "$T/l" "$T/list_x86_64.txt"
w "$T/pin.out" worker build
[ "$rc" -eq 2 ] || fail "a missing pinned build gave exit $rc"
expect_line "$T/pin.out" "rpm.conf: list_x86_64.txt lists smoketest-1\.0-7\.mdst1\.x86_64\.rpm; the repositories have smoketest-1\.0-1\.mdst1\.x86_64$"
[ "$(wc -l <"$T/pin.out")" -eq 1 ] || { cat "$T/pin.out"; fail "expected one line"; }

# gc keeps the manifest's root (with the original list again).
sed 's/^smoketest-1\.0-7\./smoketest-1.0-1./' "$T/list_x86_64.txt" >"$T/l" &&
	mv "$T/l" "$T/list_x86_64.txt"
w "$T/gc.out" worker gc
[ "$rc" -eq 0 ] || { cat "$T/gc.out"; fail "gc failed"; }
[ -d "$root" ] || fail "gc removed the current rpm root"
# The same repository over HTTP: mirrored, every RPM checked against its
# repodata, the same packages give the same root.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp -r "$snap" "$T/served"
(cd "$T/served" && exec python3 -m http.server "$port" --bind 127.0.0.1) >"$T/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$T"' EXIT
for i in 1 2 3 4 5 6 7 8 9 10; do
	curl -sf "http://127.0.0.1:$port/repodata/repomd.xml" >/dev/null && break
	sleep 0.3
done
sed "s|channel:main|http://127.0.0.1:$port/|" "$T/rpm.conf" >"$T/http.conf"
sy "$T/http.out" worker build --manifest "$T/http.conf" --state "$T/state" --cache "$T/cache"
[ "$rc" -eq 0 ] || { cat "$T/http.out"; fail "worker build from an http repository failed"; }
[ "$(tail -n 1 "$T/http.out")" = "$root" ] || fail "the same packages over http gave another root"
# A package changed on the server after its repodata: refused.
rpm=$(ls "$T/served/RPMS/x86_64/"smoketest-*.rpm)
printf 'x' >>"$rpm"
sy "$T/bad.out" worker build --manifest "$T/http.conf" --state "$T/state" --cache "$T/cache2"
[ "$rc" -eq 2 ] || fail "a tampered package gave exit $rc"
expect_line "$T/bad.out" "smoketest-1\.0-1\.mdst1\.x86_64 from http://127\.0\.0\.1:$port/: SHA-256 [0-9a-f]{64}, repodata says [0-9a-f]{64}$"
kill $server
echo "PASS rpm worker root $digest"
