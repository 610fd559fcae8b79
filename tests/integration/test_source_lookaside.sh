#!/bin/sh
# Sources from a Fedora-style lookaside over HTTP (Python's http.server on
# 127.0.0.1): libgreet's tarball is not in git; shipyard.conf names a flat
# mirror that lacks it, then the lookaside,
# <server>/<name>/<file>/sha256/<hash>/<file>. The build asks the mirror,
# then fetches the file from the lookaside by the SHA-256 its signatures
# file names, keeps it in the source cache, and a later build takes it from
# there. A lookaside whose file at the signed path is not the signed content
# fails the spec with one line naming the spec, the file and the reason;
# nothing of it is kept. The service's own source servers come first.
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "needs python3 (http.server is the lookaside)"

repo=$T/distro
state=$T/state
cp -r "$TOP/examples/minidistro" "$repo"
file=libgreet-1.0.tar.gz
sha=$(sha256sum "$repo/SPECS/libgreet/$file" | cut -d' ' -f1)
mkdir -p "$T/www/flat" "$T/www/lookaside/libgreet/$file/sha256/$sha"
mv "$repo/SPECS/libgreet/$file" "$T/www/lookaside/libgreet/$file/sha256/$sha/"

http_pid=""
cleanup() {
	[ -z "$http_pid" ] || kill "$http_pid" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
# Port 0: the kernel picks a free one, and the server prints it.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/http.out" \
	2>"$T/http.log" &
http_pid=$!
i=0
until port=$(sed -n 's/^Serving HTTP on 127.0.0.1 port \([0-9]*\) .*/\1/p' "$T/http.out") &&
	[ -n "$port" ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { cat "$T/http.out" "$T/http.log"; fail "http.server did not start"; }
	sleep 0.1
done
base=http://127.0.0.1:$port
cat >>"$repo/shipyard.conf" <<EOF
[sources]
	url = $base/flat
	url = $base/lookaside/%{name}/%{file}/sha256/%{sha256}/%{file}
EOF
(cd "$repo" && git_ init -q . && git_ add -A && git_ commit -q -m "sources from a lookaside")
csv_state() { grep "^$2-[^-]*-[^-]*\.src\.rpm," "$state/pipelines/$1/build_state.csv" | cut -d, -f2; }

sy "$T/b1.out" build --repo "$repo" --state "$state" --specs libgreet --pipeline-id b1
[ "$rc" -eq 0 ] || { cat "$T/b1.out" "$T/http.log"; fail "building from the lookaside failed"; }
[ "$(csv_state b1 libgreet)" = Built ] || fail "libgreet was not built"
expect_line "$T/http.log" "\"GET /flat/$file HTTP/1\\.[01]\" 404"
expect_line "$T/http.log" "\"GET /lookaside/libgreet/$file/sha256/$sha/$file HTTP/1\\.[01]\" 200"
expect_line "$state/pipelines/b1/logs/libgreet.log" \
	"^shipyard: downloading source $base/lookaside/libgreet/$file/sha256/$sha/$file\$"
[ -f "$state/sources/$sha" ] || fail "the source cache does not hold $file under its SHA-256"
[ "$(sha256sum <"$state/sources/$sha" | cut -d' ' -f1)" = "$sha" ] ||
	fail "the source cache holds other content under $sha"

# Built again: from the source cache, the servers are not asked.
asked=$(wc -l <"$T/http.log")
sy "$T/b2.out" build --repo "$repo" --state "$state" --specs libgreet --force --pipeline-id b2
[ "$rc" -eq 0 ] || { cat "$T/b2.out"; fail "building again from the source cache failed"; }
expect_line "$state/pipelines/b2/logs/libgreet.log" "^shipyard: source $file from the source cache\$"
[ "$(wc -l <"$T/http.log")" -eq "$asked" ] || fail "the servers were asked again"

# The signatures file now names another digest, under which the lookaside
# holds the old tarball (a bad upload): its SHA-256 does not match.
bad=$(echo "another tarball" | sha256sum | cut -d' ' -f1)
mkdir -p "$T/www/lookaside/libgreet/$file/sha256/$bad"
cp "$T/www/lookaside/libgreet/$file/sha256/$sha/$file" "$T/www/lookaside/libgreet/$file/sha256/$bad/"
sed -i "s/$sha/$bad/" "$repo/SPECS/libgreet/libgreet.signatures.json"
git_ -C "$repo" commit -q -am "libgreet: another tarball"
sy "$T/b3.out" build --repo "$repo" --state "$state" --specs libgreet --pipeline-id b3
[ "$rc" -ne 0 ] || fail "a source that does not match its signature was built"
[ "$(csv_state b3 libgreet)" = Failed ] || fail "libgreet is not reported failed"
# One line: the spec, the file, each server and why.
reason="SHA-256 mismatch: expected $bad, got $sha"
expect_line "$T/b3.out" "^(.* )?SPECS/libgreet/libgreet\\.spec: .*$file: missing source: .*$base/flat/$file: HTTP 404; $base/lookaside/libgreet/$file/sha256/$bad/$file: $reason( \(log: .*)?\$"
[ ! -e "$state/sources/$bad" ] || fail "the mismatching download was cached under the signed digest"
for f in "$state"/sources/*; do
	[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "${f##*/}" ] || fail "$f holds other content"
done

# The service's repo.<name>.sourceurl (here a flat local mirror) is asked
# before shipyard.conf's servers: with the signed tarball back, a fresh
# state directory builds from the mirror and the HTTP servers are not asked.
git_ -C "$repo" revert --no-edit HEAD >/dev/null
mkdir -p "$T/mirror"
cp "$T/www/lookaside/libgreet/$file/sha256/$sha/$file" "$T/mirror/"
cat >"$T/serve.conf" <<EOF
[repo "mini"]
	remote = $repo
	sourceurl = file://$T/mirror
EOF
asked=$(wc -l <"$T/http.log")
sy "$T/b4.out" build --config "$T/serve.conf" --repo-name mini --repo "$repo" \
	--state "$T/state4" --specs libgreet --pipeline-id b4
[ "$rc" -eq 0 ] || { cat "$T/b4.out"; fail "building from the service's mirror failed"; }
expect_line "$T/state4/pipelines/b4/logs/libgreet.log" \
	"^shipyard: downloading source file://$T/mirror/$file\$"
[ "$(wc -l <"$T/http.log")" -eq "$asked" ] || fail "the repository's servers were asked first"
echo ok
