#!/bin/sh
# A scheduled release: with `schedule = * * * * *` the service builds the
# branch head at the next minute and makes a self-contained dated release
# (release.json naming the commit, packages and image digests, an SPDX
# SBOM, the snapshot hard-linked as repo/, the image files), served under
# /releases/ (listing, files, a baseurl dnf reads; paths out of it
# refused) and listed by /api/releases. At the minute after, nothing
# changed: that release is recorded as skipped with the reason, and the
# API says so. The service's collection (retention.pipelines = 1) removes
# the first pipeline's run directory once a second one exists.
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
[retention]
	pipelines = 1
	interval = 1
[repo "mini"]
	remote = file://$T/remote.git
	branch = main
	schedule = * * * * *
EOF2
serve_start "$T/serve.conf"
head=$(git -C "$T/work" rev-parse HEAD)

# wait_release STATE AFTER: waits for a release in STATE named after AFTER
# (a release superseded by the next minute's pipeline of the same commit is
# recorded as skipped too); its directory in $release.
wait_release() {
	i=0
	release=
	while [ -z "$release" ]; do
		for dir in "$state"/releases/mini/main-*; do
			[ -f "$dir/release.json" ] && [ "$(basename "$dir")" \> "$2" ] &&
				[ "$(jq -r .state "$dir/release.json")" = "$1" ] && { release=$dir; break; }
		done
		i=$((i + 1))
		[ "$i" -lt 1800 ] || { tail -n 20 "$T/serve.log"; fail "no $1 release within 180 s"; }
		sleep 0.1
	done
}

wait_release made ""
name=$(basename "$release")
[ "$(jq -r .commit "$release/release.json")" = "$head" ] || fail "release.json: wrong commit"
[ -d "$release/repo" ] && [ ! -L "$release/repo" ] || fail "the release's repository is a link"
[ -f "$release/repo/repodata/repomd.xml" ] || fail "the release's repository snapshot is missing"
jq -e '.packages | map(select(.name == "hello" and (.sha256 | length) == 64)) | length == 1' \
	"$release/release.json" >/dev/null || fail "release.json: no hello with its SHA-256"
jq -e '.images[] | select(.config == "minimal-container") | .files | length > 0' \
	"$release/release.json" >/dev/null || fail "release.json: no image"
image=$(jq -r '.images[] | select(.config == "minimal-container") | .files[0] | .name + " " + .sha256' \
	"$release/release.json")
[ "$(sha256sum <"$release/images/minimal-container/${image% *}" | cut -d' ' -f1)" = "${image#* }" ] ||
	fail "the image's digest does not match its file"
[ "$(jq -r .spdxVersion "$release/sbom.spdx.json")" = SPDX-2.3 ] || fail "no SBOM"
expect_line "$state/pipelines/$(jq -r .pipeline "$release/release.json")/pipeline.log" \
	"release mini/$name: made from snapshot [0-9TZ.]+ of main"

curl -fs "$base/releases/" | grep -q "href=\"/releases/mini/$name/\"" || fail "/releases/ does not list it"
curl -fs "$base/releases/mini/$name/" | grep -q 'href="sbom.spdx.json"' || fail "no listing of the release"
curl -fs "$base/releases/mini/$name/repo/repodata/repomd.xml" | cmp -s - "$release/repo/repodata/repomd.xml" ||
	fail "/releases/ does not serve the release's files"
[ "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$base/releases/mini/../../state.db")" = 404 ] ||
	fail "a path out of the releases was served"
[ "$(curl -fs "$base/api/releases" | jq -r --arg n "$name" '.releases[] | select(.release == $n) | .state')" = made ] ||
	fail "/api/releases does not list it"
# dnf installs from the release as served.
dnf -q --setopt=reposdir=/dev/null --repofrompath="rel,$base/releases/mini/$name/repo/" --repo=rel \
	--installroot="$T/dnfroot" --releasever=1 repoquery --qf '%{name}' 2>"$T/dnf.err" >"$T/rq" ||
	{ cat "$T/dnf.err"; fail "dnf cannot read the served release"; }
grep -qx hello "$T/rq" || { cat "$T/rq"; fail "dnf does not see hello in the release"; }

# The next minute nothing changed: skipped, and the API says why.
wait_release skipped "$name"
skipped=$(basename "$release")
reason=$(curl -fs "$base/api/releases" | jq -r --arg n "$skipped" '.releases[] | select(.release == $n) | .reason')
case $reason in
"nothing changed since release $name"*) ;;
*) fail "/api/releases: reason '$reason'" ;;
esac
curl -fs "$base/images" | grep -q "nothing changed since release $name" ||
	fail "the dashboard does not show why it was skipped"

# Two pipelines ran: the collection keeps the newest run directory.
i=0
until [ ! -d "$state/pipelines/1" ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { ls "$state/pipelines"; fail "the first run directory was not collected"; }
	sleep 0.1
done
expect_line "$T/serve.log" "collection: removed pipeline 1"
serve_stop
[ "$serve_rc" -eq 0 ] || fail "serve did not stop cleanly"
echo ok
