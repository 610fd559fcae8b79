#!/bin/sh
# A scheduled release: with `schedule = * * * * *` the service builds the
# branch head at the next minute and publishes a dated release: release.json
# naming the commit and the repository snapshot, the snapshot linked as
# repo/ (a repository dnf reads), next to the images.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"

state=$T/state
minidistro "$T/work"
git_ clone -q --bare "$T/work" "$T/remote.git"
cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $state
[repo "mini"]
	remote = file://$T/remote.git
	branch = main
	schedule = * * * * *
EOF2
"$SHIPYARD" serve -c "$T/serve.conf" >"$T/serve.log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$T"' EXIT
head=$(git -C "$T/work" rev-parse HEAD)
i=0
until release=$(ls -d "$state"/releases/mini/main-* 2>/dev/null | head -n 1) && [ -n "$release" ] &&
	[ -f "$release/release.json" ]; do
	i=$((i + 1))
	[ "$i" -lt 1000 ] || { tail -n 20 "$T/serve.log"; fail "no release within 100 s"; }
	sleep 0.1
done
[ "$(jq -r .commit "$release/release.json")" = "$head" ] || fail "release.json: wrong commit"
[ -f "$release/repo/repodata/repomd.xml" ] || fail "the release's repository snapshot is missing"
expect_line "$T/serve.log" "release: repo=mini release=main-[0-9]{8}-[0-9]{4} commit=${head%"${head#????????????}"}"
kill -TERM $pid
wait $pid || fail "serve did not stop cleanly"
echo ok
