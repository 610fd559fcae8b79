#!/bin/sh
# Configuration mistakes are errors, not silently ignored settings: a
# misspelt key of the service configuration or of a repository's
# shipyard.conf (named with file, line and the nearest known key), an
# unknown arch, a cron expression with a bad name, a repository without any
# spec tree. `shipyard config check` prints what applies, defaults marked.
. "$(dirname "$0")/lib.sh"

minidistro "$T/mini"

# The example configurations of the source tree are valid (the service's
# names files that exist only on a server: checked for names alone).
sy "$T/example" config check --distro "$TOP/examples/minidistro/shipyard.conf"
[ "$rc" -eq 0 ] || { cat "$T/example"; fail "the example shipyard.conf is refused"; }
expect_line "$T/example" '^distro\.disttag = \.mdst1$'
expect_line "$T/example" '^plan\.maxrebuild = 0  \(default\)$'
sy "$T/worker" config check --worker "$TOP/config/worker.conf"
[ "$rc" -eq 0 ] || { cat "$T/worker"; fail "config/worker.conf is refused"; }
expect_line "$T/worker" '^worker\.suite = bookworm$'

# The service configuration: a misspelt key, then the same file fixed.
cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $T/state
[repo "mini"]
	remote = $T/mini
	brnch = main
	schedule = 0 3 * * MON-FRI
EOF2
sy "$T/out" config check -c "$T/serve.conf"
[ "$rc" -eq 1 ] || fail "a misspelt key passed (exit $rc)"
expect_line "$T/out" "serve.conf:6: repo\.mini\.brnch: unknown key \(did you mean repo\.mini\.branch\?\)"
# The service refuses to start with it, with the same message.
sy "$T/serve.out" serve -c "$T/serve.conf"
[ "$rc" -ne 0 ] || fail "serve started with a misspelt key"
expect_line "$T/serve.out" "repo\.mini\.brnch: unknown key"
sed -i 's/brnch/branch/' "$T/serve.conf"
sy "$T/out" config check -c "$T/serve.conf"
[ "$rc" -eq 0 ] || { cat "$T/out"; fail "a valid configuration was refused"; }
expect_line "$T/out" '^repo\.mini\.branch = main$'
expect_line "$T/out" '^repo\.mini\.schedule = 0 3 \* \* MON-FRI$'
expect_line "$T/out" '^serve\.pipelines = 1  \(default\)$'
expect_line "$T/out" '^repo\.mini\.arch = x86_64  \(default\)$'

# The [publish "s3"] section's values are checked too.
cp "$T/serve.conf" "$T/s3.conf"
printf '[publish "s3"]\n\tendpoint = ftp://x\n' >>"$T/s3.conf"
sy "$T/out" config check -c "$T/s3.conf"
[ "$rc" -eq 1 ] || fail "an ftp S3 endpoint passed"
expect_line "$T/out" "publish\.s3\.endpoint 'ftp://x': not an http or https URL"

# Every error of the names at once.
printf '[serve]\n\tlisen = x\n[sevre]\n' >"$T/two.conf"
sy "$T/out" config check -c "$T/two.conf"
[ "$rc" -eq 1 ] || fail "two mistakes passed"
expect_line "$T/out" "two.conf:2: serve\.lisen: unknown key \(did you mean serve\.listen\?\)"
expect_line "$T/out" "two.conf:3: \[sevre\]: unknown section \(did you mean \[serve\]\?\)"

# An unknown arch and a bad cron name.
printf '\tarch = sparc\n' >>"$T/serve.conf"
sy "$T/out" config check -c "$T/serve.conf"
[ "$rc" -eq 1 ] || fail "arch sparc passed"
expect_line "$T/out" "repo\.mini\.arch: arch 'sparc': unknown \(known: x86_64, aarch64\)"
sed -i '/arch = sparc/d; s/MON-FRI/MON-FRY/' "$T/serve.conf"
sy "$T/out" config check -c "$T/serve.conf"
[ "$rc" -eq 1 ] || fail "cron MON-FRY passed"
expect_line "$T/out" "bad day of week field 'MON-FRY'"
sy "$T/out" plan --repo "$T/mini" --arch sparc --state "$T/state"
[ "$rc" -ne 0 ] || fail "plan --arch sparc passed"
expect_line "$T/out" "arch 'sparc': unknown \(known: x86_64, aarch64\)"

# A repository's shipyard.conf, at a commit: misspelt, then no spec tree.
sed -i 's/spectree = SPECS/spectre = SPECS/' "$T/mini/shipyard.conf"
git_ -C "$T/mini" commit -q -am "misspelt spectree"
sy "$T/out" config check --repo "$T/mini"
[ "$rc" -eq 1 ] || fail "a misspelt shipyard.conf key passed"
expect_line "$T/out" "shipyard.conf:8: distro\.spectre: unknown key \(did you mean distro\.spectree\?\)"
sy "$T/out" plan --repo "$T/mini" --state "$T/state"
[ "$rc" -ne 0 ] || fail "plan read a misspelt shipyard.conf"
expect_line "$T/out" "distro\.spectre: unknown key"
sed -i 's/spectre = SPECS/spectree = PACKAGES/' "$T/mini/shipyard.conf"
git_ -C "$T/mini" commit -q -am "a spec tree that does not exist"
sy "$T/out" config check --repo "$T/mini"
[ "$rc" -eq 1 ] || fail "a missing spec tree passed config check"
expect_line "$T/out" "no spec tree: none of PACKAGES exists"
sy "$T/out" plan --repo "$T/mini" --state "$T/state"
[ "$rc" -ne 0 ] || { cat "$T/out"; fail "plan of a repository without spec tree succeeded"; }
expect_line "$T/out" "no spec tree: none of PACKAGES holds a file"
echo ok
