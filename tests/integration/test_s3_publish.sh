#!/bin/sh
# Publishing to an S3-compatible bucket (repo-publish/s3.h), against s3rver
# (tests/s3rver, installed by scripts/deps.sh) behind tests/s3rver/proxy.js,
# which checks each request's Signature Version 4 as S3 does and injects
# faults. `shipyard run --config` builds and publishes the example
# distribution and uploads it: packages first, repodata/repomd.xml last;
# every object equals its file, the bucket's repomd.xml checksums match the
# bucket's files, and dnf reads the bucket over HTTP. A second upload sends
# nothing; a missing or changed object is sent again. HTTP 500s and a
# dropped connection are retried; a wrong secret, a 403 on one object and a
# server that keeps failing each give one line naming the request and the
# status, fail the publication and keep the local snapshot. File names S3
# reads differently are encoded ('+', '^', '~'); names outside the set are
# refused; so are credentials inside the state directory or readable by
# others. The secret appears in no output and nowhere in the state
# directory.
. "$(dirname "$0")/lib.sh"
need_root
command -v node >/dev/null || skip "needs node (scripts/deps.sh)"
S3RVER=$TOP/tests/s3rver/node_modules/.bin/s3rver
[ -x "$S3RVER" ] || skip "s3rver is not installed (scripts/deps.sh: npm ci in tests/s3rver)"
command -v python3 >/dev/null || skip "needs python3"

secret=sy-test-secret-7c1e93
s3pid=
proxy_pid=
trap 'kill $s3pid $proxy_pid 2>/dev/null; rm -rf "$T"' EXIT

# listen_port LOG: the port LOG says its server listens on (10 s at most).
listen_port() {
	i=0
	while [ "$i" -lt 100 ]; do
		p=$(sed -n 's/.*listening on \(127\.0\.0\.1:\)\{0,1\}\([0-9][0-9]*\).*/\2/p' "$1" | head -n 1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

mkdir -p "$T/s3data"
"$S3RVER" -d "$T/s3data" -a 127.0.0.1 -p 0 --configure-bucket repos >"$T/s3rver.log" 2>&1 &
s3pid=$!
s3port=$(listen_port "$T/s3rver.log") || skip "s3rver did not start: $(tail -n 3 "$T/s3rver.log")"
bucket=http://127.0.0.1:$s3port/repos

# start_proxy RULE...: (re)starts the checking proxy with these fault rules;
# sets pport, its requests logged to $T/proxy.log.
start_proxy() {
	[ -z "$proxy_pid" ] || { kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true; }
	: >"$T/proxy.log"
	# Emptied here, not by the redirection below, which the child does at
	# some point after the fork: listen_port must not read the old port.
	: >"$T/proxy.out"
	node "$TOP/tests/s3rver/proxy.js" "$s3port" "$secret" "$T/proxy.log" "$@" \
		>"$T/proxy.out" 2>&1 &
	proxy_pid=$!
	pport=$(listen_port "$T/proxy.out") || skip "the proxy did not start: $(cat "$T/proxy.out")"
}

# conf FILE PREFIX [CREDENTIALS [MORE]]: a service configuration of the
# repository "mini" whose bucket is reached through the proxy under PREFIX.
conf() {
	cat >"$1" <<EOF
[serve]
	state = $state
[repo "mini"]
	remote = file://$repo
	imageconfigs = no-images-here
[publish "s3"]
	endpoint = http://127.0.0.1:$pport/
	bucket = repos
	prefix = $2
	credentials = ${3:-$T/etc/s3-credentials}
${4:-}
EOF
}

# same_objects SNAPSHOT URL: every file of SNAPSHOT equals the object at
# URL/<its path>.
same_objects() {
	(cd "$1" && find . -type f | sed 's|^\./||') >"$T/files"
	[ -s "$T/files" ] || fail "$1 holds no files"
	while read -r rel; do
		curl -fsS -o "$T/object" "$2/$rel" || fail "object $rel is missing at $2"
		cmp -s "$T/object" "$1/$rel" || fail "object $rel differs from $1/$rel"
	done <"$T/files"
}

# s3curl ARGS...: curl signing as S3RVER straight to s3rver (curl 7.88 does
# not send the payload hash S3 requires).
s3curl() {
	curl -fsS --aws-sigv4 aws:amz:us-east-1:s3 --user "S3RVER:S3RVER" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

repo=$T/distro
state=$T/state
minidistro "$repo"
git_ clone -q --bare "$repo" "$state/git/mini.git"
mkdir -p "$T/etc"
printf 'S3RVER:%s\n' "$secret" >"$T/etc/s3-credentials"
chmod 600 "$T/etc/s3-credentials"
start_proxy
conf "$T/serve.conf" mini

# The whole run: built, published, uploaded.
sy "$T/r1.out" run --config "$T/serve.conf" --repo-name mini --channel main --pipeline-id r1
[ "$rc" -eq 0 ] || { cat "$T/r1.out"; fail "run with an S3 bucket failed"; }
snap=$(readlink -f "$state/repos/main/current")
nfiles=$(find "$snap" -type f | wc -l)
expect_line "$T/r1.out" "uploaded main to http://127\.0\.0\.1:$pport/repos/mini/main/: $nfiles of $nfiles objects \([0-9]+ bytes\), 0 retried, 0 stale left"

# Order: every file outside repodata/ before the first repodata file, the
# repomd.xml records before repomd.xml, repomd.xml last.
grep '^PUT ' "$T/proxy.log" | cut -d' ' -f2 >"$T/puts"
[ "$(wc -l <"$T/puts")" -eq "$nfiles" ] || { cat "$T/proxy.log"; fail "not one PUT per file"; }
first_repodata=$(grep -n '/repodata/' "$T/puts" | head -n 1 | cut -d: -f1)
last_content=$(grep -vn '/repodata/' "$T/puts" | tail -n 1 | cut -d: -f1)
[ "$last_content" -lt "$first_repodata" ] || { cat "$T/puts"; fail "a package went up after repodata"; }
tail -n 1 "$T/puts" | grep -q '/mini/main/repodata/repomd\.xml$' ||
	{ cat "$T/puts"; fail "repomd.xml was not uploaded last"; }
grep -q '\.rpm$' "$T/puts" || fail "no package was uploaded"

# What the bucket holds is the snapshot; its repomd.xml vouches for its
# files; dnf reads it over HTTP as it reads the local snapshot.
same_objects "$snap" "$bucket/mini/main"
curl -fsS -o "$T/repomd.xml" "$bucket/mini/main/repodata/repomd.xml"
python3 - "$T/repomd.xml" "$bucket/mini/main" >"$T/repomd.check" <<'EOF' || { cat "$T/repomd.check"; fail "repomd.xml does not match the bucket's files"; }
import hashlib, sys, urllib.request, xml.etree.ElementTree as ET
ns = {"r": "http://linux.duke.edu/metadata/repo"}
records = ET.parse(sys.argv[1]).getroot().findall("r:data", ns)
assert records, "no data records"
for d in records:
    want = d.find("r:checksum", ns)
    href = d.find("r:location", ns).get("href")
    body = urllib.request.urlopen(sys.argv[2] + "/" + href).read()
    got = hashlib.new(want.get("type"), body).hexdigest()
    print(d.get("type"), href, "ok" if got == want.text else "MISMATCH")
    assert got == want.text, href
EOF
dnfq() {
	dnf -q --setopt=reposdir=/dev/null --repofrompath="q,$1" --repo=q \
		--installroot="$T/dnfroot" --releasever=1 repoquery --qf '%{name}-%{evr}.%{arch}' \
		2>"$T/dnf.err" | sort
}
dnfq "$bucket/mini/main/" >"$T/rq.s3"
dnfq "file://$snap" >"$T/rq.local"
[ -s "$T/rq.s3" ] || { cat "$T/dnf.err"; fail "dnf lists nothing from the bucket"; }
cmp -s "$T/rq.s3" "$T/rq.local" || { diff "$T/rq.local" "$T/rq.s3"; fail "dnf sees another repository in the bucket"; }

# Again: nothing to send. A missing and a changed object are sent again.
sy "$T/s1.out" s3-sync --config "$T/serve.conf" main
[ "$rc" -eq 0 ] || { cat "$T/s1.out"; fail "s3-sync failed"; }
expect_line "$T/s1.out" "^main: $snap -> .*: $nfiles objects, 0 uploaded \(0 bytes\), 0 retried, 0 stale$"
rpm1=$(cd "$snap" && find . -name '*.rpm' | sed 's|^\./||' | sort | head -n 1)
rpm2=$(cd "$snap" && find . -name '*.rpm' | sed 's|^\./||' | sort | tail -n 1)
s3curl -X DELETE "$bucket/mini/main/$rpm1"
echo "not a package" >"$T/junk"
s3curl -T "$T/junk" "$bucket/mini/main/$rpm2"
sy "$T/s2.out" s3-sync --config "$T/serve.conf" main
expect_line "$T/s2.out" ": $nfiles objects, 2 uploaded \([0-9]+ bytes\), 0 retried, 0 stale$"
same_objects "$snap" "$bucket/mini/main"

# A publication that makes no snapshot still uploads what the channel has
# (after an upload that failed); a stale object is counted, not removed.
s3curl -T "$T/junk" "$bucket/mini/main/old-1.0-1.x86_64.rpm"
sy "$T/p1.out" publish --config "$T/serve.conf" --repo-name mini --channel main
[ "$rc" -eq 0 ] || { cat "$T/p1.out"; fail "publish with nothing new failed"; }
expect_line "$T/p1.out" 'repository main unchanged'
expect_line "$T/p1.out" "uploaded main to .*: 0 of $nfiles objects \(0 bytes\), 0 retried, 1 stale left"
curl -fsS -o /dev/null "$bucket/mini/main/old-1.0-1.x86_64.rpm" || fail "a stale object was removed"

# HTTP 500 twice on repomd.xml and a dropped connection on a package: tried
# again, and the bucket is whole.
start_proxy "/retry/main/repodata/repomd.xml=2:500" ".rpm=1:reset"
conf "$T/retry.conf" retry
sy "$T/t1.out" s3-sync --config "$T/retry.conf" main
[ "$rc" -eq 0 ] || { cat "$T/t1.out" "$T/proxy.log"; fail "500s and a reset were not retried"; }
expect_line "$T/t1.out" ": $nfiles objects, $nfiles uploaded \([0-9]+ bytes\), 3 retried, 0 stale$"
[ "$(grep -c "retry/main/repodata/repomd\.xml 500$" "$T/proxy.log")" -eq 2 ] || { cat "$T/proxy.log"; fail "no 500 was injected"; }
grep -q '\.rpm reset$' "$T/proxy.log" || fail "no connection was dropped"
same_objects "$snap" "$bucket/retry/main"

# A server that keeps failing: one line naming the object, the status and
# the tries; the publication fails, the local snapshot stays current, the
# bucket has the packages but no repomd.xml (clients see no half repository).
start_proxy "/fail/main/repodata/repomd.xml=100:500"
conf "$T/fail.conf" fail "" "	retries = 1"
sy "$T/f1.out" publish --config "$T/fail.conf" --repo-name mini --channel main
[ "$rc" -eq 2 ] || { cat "$T/f1.out"; fail "a failed upload should fail the publication (2), not $rc"; }
expect_line "$T/f1.out" "^shipyard: error: uploading main: PUT s3://repos/fail/main/repodata/repomd\.xml: HTTP 500 InternalError: We encountered an internal error\. Please try again\. after 2 tries$"
[ "$(grep -c 'fail/main/repodata/repomd\.xml 500$' "$T/proxy.log")" -eq 2 ] || fail "not tried exactly twice"
[ "$(readlink -f "$state/repos/main/current")" = "$snap" ] || fail "the local snapshot changed"
curl -fsS -o /dev/null "$bucket/fail/main/$rpm1" || fail "packages were not uploaded before repodata"
! curl -fsS -o /dev/null "$bucket/fail/main/repodata/repomd.xml" 2>/dev/null ||
	fail "repomd.xml is in the bucket although its upload failed"

# 403 on one package: not tried again, one line, nothing after it uploaded.
start_proxy ".rpm=1:403"
conf "$T/deny.conf" deny
sy "$T/d1.out" s3-sync --config "$T/deny.conf" main
[ "$rc" -eq 1 ] || { cat "$T/d1.out"; fail "a 403 should fail s3-sync (1), not $rc"; }
[ "$(wc -l <"$T/d1.out")" -eq 1 ] || { cat "$T/d1.out"; fail "the error is not one line"; }
expect_line "$T/d1.out" "^shipyard: error: uploading main: PUT s3://repos/deny/main/$rpm1: HTTP 403 AccessDenied: Access Denied$"
[ "$(grep -c '^PUT ' "$T/proxy.log")" -eq 1 ] || { cat "$T/proxy.log"; fail "uploads went on after a 403"; }

# A wrong secret: the signature is refused, in one line, without the secret.
printf 'S3RVER:not-the-secret\n' >"$T/etc/wrong"
chmod 600 "$T/etc/wrong"
start_proxy
conf "$T/wrong.conf" mini "$T/etc/wrong"
sy "$T/w1.out" s3-sync --config "$T/wrong.conf" main
[ "$rc" -eq 1 ] || { cat "$T/w1.out"; fail "a wrong secret should fail s3-sync (1), not $rc"; }
[ "$(wc -l <"$T/w1.out")" -eq 1 ] || { cat "$T/w1.out"; fail "the error is not one line"; }
expect_line "$T/w1.out" "^shipyard: error: uploading main: list s3://repos/mini/main/: HTTP 403 SignatureDoesNotMatch: "
! grep -q 'not-the-secret' "$T/w1.out" || fail "the secret is in the error"

# Credentials the configuration may not name.
cp "$T/etc/s3-credentials" "$state/s3-credentials"
conf "$T/inside.conf" mini "$state/s3-credentials"
sy "$T/i1.out" s3-sync --config "$T/inside.conf" main
[ "$rc" -eq 1 ] || { cat "$T/i1.out"; fail "credentials inside the state directory were used"; }
expect_line "$T/i1.out" "inside the state directory"
rm "$state/s3-credentials"
chmod 644 "$T/etc/wrong"
sy "$T/i2.out" s3-sync --config "$T/wrong.conf" main
[ "$rc" -eq 2 ] || { cat "$T/i2.out"; fail "credentials others may read were used"; }
expect_line "$T/i2.out" "publish.s3.credentials '.*': group or others may access it"

# File names S3 clients read differently go up encoded (the proxy checks
# each signature over the encoded path); others are refused before any
# upload.
odd=$state/repos/odd/snapshots/20250101T000000Z
mkdir -p "$odd/repodata"
echo a >"$odd/libstdc++-devel-13.2^git1~rc1-1.x86_64.rpm"
echo b >"$odd/repodata/repomd.xml"
ln -s snapshots/20250101T000000Z "$state/repos/odd/current"
conf "$T/odd.conf" mini
sy "$T/o1.out" s3-sync --config "$T/odd.conf" odd
[ "$rc" -eq 0 ] || { cat "$T/o1.out" "$T/proxy.log"; fail "odd but valid names were not uploaded"; }
grep -q 'libstdc%2B%2B-devel-13.2%5Egit1~rc1-1.x86_64.rpm 200$' "$T/proxy.log" ||
	{ cat "$T/proxy.log"; fail "the key was not encoded as S3 reads it"; }
curl -fsS "$bucket/mini/odd/libstdc%2B%2B-devel-13.2%5Egit1~rc1-1.x86_64.rpm" | grep -qx a ||
	fail "the encoded object does not hold its file"
echo c >"$odd/bad name.rpm"
: >"$T/proxy.log"
sy "$T/o2.out" s3-sync --config "$T/odd.conf" odd
[ "$rc" -eq 1 ] || { cat "$T/o2.out"; fail "a name with a space was uploaded"; }
expect_line "$T/o2.out" "bad name\.rpm: 'bad name\.rpm': byte 0x20 is not one of"
! grep -q '^PUT ' "$T/proxy.log" || fail "something was uploaded before the refusal"

# The secret was never printed or written under the state directory.
! grep -rl "$secret" "$state" "$T"/*.out 2>/dev/null || fail "the secret leaked"
echo "ok"
