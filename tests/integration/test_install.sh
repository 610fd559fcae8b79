#!/bin/sh
# `make install DESTDIR=...`: the binary, the worker manifest where the
# binary finds it, the example configurations, the systemd unit (which
# systemd-analyze verifies) and man pages that man renders without a
# warning. The installed binary plans the example distribution with the
# installed worker manifest; moved away from it, it names the compiled-in
# path. The man pages take docs/configuration.md's sections when that file
# has them.
. "$(dirname "$0")/lib.sh"
command -v go-md2man >/dev/null || skip "needs go-md2man (scripts/deps.sh)"
command -v man >/dev/null || skip "needs man (scripts/deps.sh)"

dest=$T/dest
prefix=/usr/local
make -C "$TOP" --no-print-directory install DESTDIR="$dest" >"$T/make.out" 2>&1 ||
	{ cat "$T/make.out"; fail "make install"; }
for f in bin/shipyard share/shipyard/worker.conf share/doc/shipyard/examples/shipyard-serve.conf \
	share/doc/shipyard/examples/shipyard.conf lib/systemd/system/shipyard.service \
	share/man/man1/shipyard.1 share/man/man5/shipyard.conf.5 \
	share/man/man5/shipyard-serve.conf.5; do
	[ -f "$dest$prefix/$f" ] || fail "make install did not install $prefix/$f"
done
[ -x "$dest$prefix/bin/shipyard" ] || fail "installed binary is not executable"
cmp -s "$TOP/config/worker.conf" "$dest$prefix/share/shipyard/worker.conf" ||
	fail "installed worker.conf differs from config/worker.conf"
expect_line "$dest$prefix/lib/systemd/system/shipyard.service" "^ExecStart=$prefix/bin/shipyard serve "

# The installed binary, outside the source tree, plans the example
# distribution: it finds the installed worker.conf.
minidistro "$T/work"
"$dest$prefix/bin/shipyard" plan --repo "$T/work" --state "$T/state" >"$T/plan.out" 2>&1 ||
	{ cat "$T/plan.out"; fail "installed shipyard plan failed"; }
expect_line "$T/plan.out" '^rebuild set: [0-9]+ specs'
expect_no_line "$T/plan.out" 'cannot read'
# Moved away from share/shipyard, it falls back on the compiled-in path.
mkdir -p "$T/moved/bin"
cp "$dest$prefix/bin/shipyard" "$T/moved/bin/"
if [ ! -e "$prefix/share/shipyard/worker.conf" ]; then
	rc=0
	"$T/moved/bin/shipyard" plan --repo "$T/work" --state "$T/state" >"$T/moved.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "plan without any worker.conf succeeded"
	expect_line "$T/moved.out" "$prefix/share/shipyard/worker.conf"
fi

# Man pages: rendered by man without a warning, with what the docs say.
export MANWIDTH=100 MANPAGER=cat
for page in man1/shipyard.1 man5/shipyard.conf.5 man5/shipyard-serve.conf.5; do
	man -l "$dest$prefix/share/man/$page" >"$T/page.txt" 2>"$T/page.all" ||
		fail "man -l $page failed"
	# A long URL that cannot be broken at this width is layout, not a fault.
	grep -v "can't break line" "$T/page.all" >"$T/page.err" || true
	[ ! -s "$T/page.err" ] || { cat "$T/page.err"; fail "man -l $page warns"; }
	expect_line "$T/page.txt" '^NAME'
	expect_line "$T/page.txt" '^SEE ALSO'
	case $page in
	*/shipyard.1)
		expect_line "$T/page.txt" '^SHIPYARD\(1\)'
		expect_line "$T/page.txt" 'shipyard plan --repo DIR'
		expect_line "$T/page.txt" 'JOURNAL_STREAM' ;;
	*/shipyard.conf.5)
		expect_line "$T/page.txt" '^SHIPYARD\.CONF\(5\)'
		expect_line "$T/page.txt" 'disttag = \.mdst1' ;;
	*/shipyard-serve.conf.5)
		expect_line "$T/page.txt" '^SHIPYARD-SERVE\.CONF\(5\)'
		expect_line "$T/page.txt" 'listen = 127\.0\.0\.1:8080' ;;
	esac
done

# The unit: systemd-analyze verify, with the binary and man pages of DESTDIR.
if command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=$prefix/bin/shipyard|ExecStart=$dest$prefix/bin/shipyard|" \
		"$dest$prefix/lib/systemd/system/shipyard.service" >"$T/shipyard.service"
	MANPATH=$dest$prefix/share/man systemd-analyze verify "$T/shipyard.service" \
		>"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "systemd-analyze verify"; }
	[ ! -s "$T/verify.out" ] || { cat "$T/verify.out"; fail "systemd-analyze verify warns"; }
	for setting in ProtectSystem=strict ReadWritePaths=/var/lib/shipyard PrivateTmp=yes \
		ProtectHome=yes NoNewPrivileges=yes 'LoadCredential=forge-token:' \
		'LoadCredential=webhook-secret:' RestrictAddressFamilies=; do
		expect_line "$T/shipyard.service" "^$setting"
	done
else
	echo "SKIP: systemd-analyze verify (no systemd-analyze)"
fi

# After docs/configuration.md exists, its sections are the pages' text.
top=$T/top
mkdir -p "$top/docs" "$top/config" "$top/examples/minidistro"
cp -r "$TOP/docs/man" "$top/docs/"
cp "$TOP/README.md" "$top/"
cp "$TOP/config/shipyard-serve.conf" "$top/config/"
cp "$TOP/examples/minidistro/shipyard.conf" "$top/examples/minidistro/"
cat >"$top/docs/configuration.md" <<'EOF'
# Configuration

## The repository's `shipyard.conf`

Every key of the repository file.

### distro.disttag

marker-repo-key: the dist tag.

## The service's `shipyard-serve.conf`

### [repo "NAME"]

### serve.listen

marker-serve-key: where to listen.

## Worker manifests

marker-worker: not in either page.
EOF
"$TOP/scripts/make-man.sh" "$top/docs/man/shipyard.conf.5.md" "$T/repo.5" "$top"
"$TOP/scripts/make-man.sh" "$top/docs/man/shipyard-serve.conf.5.md" "$T/serve.5" "$top"
man -l "$T/repo.5" >"$T/repo.txt" 2>&1
man -l "$T/serve.5" >"$T/serve.txt" 2>&1
expect_line "$T/repo.txt" 'marker-repo-key'
expect_line "$T/repo.txt" 'distro\.disttag'
expect_no_line "$T/repo.txt" 'marker-serve-key|marker-worker|A distribution may keep'
expect_line "$T/serve.txt" 'marker-serve-key'
expect_line "$T/serve.txt" '^ +\[repo "NAME"\]$'
expect_no_line "$T/serve.txt" 'marker-repo-key|marker-worker|Webhooks'
# A directive that finds nothing fails the page.
printf '%% x 5 t\n@section README.md /^no such heading$/\n' >"$T/bad.md"
! "$TOP/scripts/make-man.sh" "$T/bad.md" "$T/bad.5" "$top" 2>"$T/bad.err" ||
	fail "make-man.sh made a page without its section"
expect_line "$T/bad.err" 'no section'
echo "PASS: make install DESTDIR: binary, worker.conf, unit, man pages"
