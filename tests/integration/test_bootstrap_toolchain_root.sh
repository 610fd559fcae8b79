#!/bin/sh
# The example's toolchain stage, by hand around the real binary: shipyard
# builds the bootstrap-* specs (which repackage the Debian stage-0 root) and
# libgreet in the stage-0 root; the packages the toolchain manifest names are
# installed with rpm, dependencies checked, into an empty directory, the
# build user added; rpmbuild -bb hello.spec then runs inside that root as the
# build user, its BuildRequires checked against the root's rpmdb, and the
# program it made runs there. Also checked: the manifest names exactly what
# stage 0 built; the stage-1 root offers every capability of the stage-0
# toolchain list (config/worker.conf); no bootstrap package has scriptlets
# or ships a path glibc or filesystem ships; the payloads are zstd and
# reproducible files are intact after the install. Prints the figures.
. "$(dirname "$0")/lib.sh"
need_root

repo=$T/minidistro
state=$T/state
root=$T/root
manifest=toolkit/resources/manifests/package/toolchain_x86_64.txt
minidistro "$repo"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Stage 0: the toolchain specs (and what they BuildRequire: glibc,
# filesystem) and libgreet, in the Debian worker root.
t0=$(now)
sy "$T/stage0.out" build --repo "$repo" --state "$state" --jobs 1 --specs bootstrap-gcc,libgreet
t1=$(now)
[ $rc -eq 0 ] || { cat "$T/stage0.out"; fail "stage 0 build failed"; }
expect_line "$T/stage0.out" '^shipyard/build success 5 built'

# The toolchain manifest names exactly the binary packages stage 0 built
# for it: each once, and every bootstrap-* package.
rpms=
while read -r f; do
	n=$(ls "$state"/artifacts/*/"$f" 2>/dev/null | wc -l)
	[ "$n" -eq 1 ] || fail "$manifest names $f: $n such packages built"
	rpms="$rpms $(ls "$state"/artifacts/*/"$f")"
done <"$repo/$manifest"
for f in "$state"/artifacts/*/bootstrap-*.x86_64.rpm; do
	grep -qx "$(basename "$f")" "$repo/$manifest" || fail "$(basename "$f") is not in $manifest"
done

# What the root installer relies on: no scriptlets, zstd payloads, and no
# path shared with glibc or filesystem (a path two packages ship differently
# is a file conflict when a build installs glibc into the root).
: >"$T/ours"
for f in "$state"/artifacts/*/bootstrap-*.x86_64.rpm; do
	[ -z "$(rpm -qp --scripts "$f" 2>/dev/null)" ] || fail "$(basename "$f") has scriptlets"
	c=$(rpm -qp --qf '%{payloadcompressor}' "$f" 2>/dev/null)
	[ "$c" = zstd ] || fail "$(basename "$f"): payload $c, not zstd"
	rpm -qlp "$f" 2>/dev/null >>"$T/ours"
done
rpm -qlp "$state"/artifacts/*/glibc-*.x86_64.rpm "$state"/artifacts/*/filesystem-*.x86_64.rpm \
	2>/dev/null | sort >"$T/theirs"
sort "$T/ours" | comm -12 - "$T/theirs" >"$T/shared"
[ ! -s "$T/shared" ] || { cat "$T/shared"; fail "bootstrap packages ship paths of glibc or filesystem"; }

# Stage 1: the manifest's packages into an empty root, dependencies
# checked (rpm's default database on Debian is ~/.rpmdb: named here).
mkdir "$root"
t2=$(now)
rpm --root "$root" --dbpath /var/lib/rpm -i $rpms 2>"$T/install.err" ||
	{ cat "$T/install.err"; fail "installing the toolchain manifest failed"; }
t3=$(now)
rpm --root "$root" --dbpath /var/lib/rpm -V bootstrap-base bootstrap-gcc glibc filesystem \
	2>&1 | grep -v ' /etc/passwd$\| /etc/group$' >"$T/verify" || true
[ ! -s "$T/verify" ] || { cat "$T/verify"; fail "rpm -V: installed files differ from the packages"; }
git config -f "$TOP/config/worker.conf" --get-all toolchain.provides >"$T/caps"
echo /bin/sh >>"$T/caps"
while read -r cap; do
	rpm --root "$root" --dbpath /var/lib/rpm -q --whatprovides "$cap" >/dev/null 2>&1 ||
		fail "the stage-1 root offers no $cap (config/worker.conf's toolchain list)"
done <"$T/caps"

# The build user, as the worker root maker adds it; hello's sources.
echo 'shipyard-build:x:1001:1001:shipyard build user:/build:/bin/sh' >>"$root/etc/passwd"
echo 'shipyard-build:x:1001:' >>"$root/etc/group"
mkdir -p "$root/build/SOURCES"
cp "$TOP"/examples/minidistro/SPECS/hello/* "$root/build/SOURCES/"
chown -R 1001:1001 "$root/build"

# stage1 OUT: rpmbuild -bb hello.spec inside the root as the build user, in
# a mount namespace with /proc and a minimal /dev; its status in $rc.
stage1() {
	rc=0
	unshare -m --propagation private sh -eu -c '
		r=$1
		mount -t proc proc "$r/proc"
		mount -t tmpfs -o mode=0755 dev "$r/dev"
		for n in null zero full random urandom; do
			: >"$r/dev/$n"
			mount --bind "/dev/$n" "$r/dev/$n"
		done
		ln -s /proc/self/fd "$r/dev/fd"
		exec chroot --userspec=1001:1001 "$r" /usr/bin/env -i PATH=/usr/bin:/usr/sbin \
			HOME=/build LANG=C.UTF-8 USER=shipyard-build LOGNAME=shipyard-build \
			rpmbuild -bb --define "_topdir /build" --define "dist .mdst1" \
			/build/SOURCES/hello.spec' sh "$root" >"$1" 2>&1 || rc=$?
}

# Without its BuildRequires, rpmbuild refuses: it reads the root's rpmdb.
stage1 "$T/nodeps.out"
[ $rc -ne 0 ] || fail "rpmbuild in the stage-1 root built hello without libgreet-devel"
expect_line "$T/nodeps.out" 'libgreet-devel >= 1.0 is needed'

rpm --root "$root" --dbpath /var/lib/rpm -i "$state"/artifacts/*/libgreet-1.0-*.x86_64.rpm \
	"$state"/artifacts/*/libgreet-devel-1.0-*.x86_64.rpm 2>"$T/install.err" ||
	{ cat "$T/install.err"; fail "installing hello's BuildRequires failed"; }
t4=$(now)
stage1 "$T/hello.out"
t5=$(now)
[ $rc -eq 0 ] || { tail -n 40 "$T/hello.out"; fail "rpmbuild -bb hello.spec failed in the stage-1 root"; }
built=$(ls "$root"/build/RPMS/x86_64/hello-1.0-1.mdst1.x86_64.rpm) || fail "hello's RPM not written"
rpm --root "$root" --dbpath /var/lib/rpm -i "$built" 2>"$T/install.err" ||
	{ cat "$T/install.err"; fail "installing the stage-1 hello failed"; }
out=$(chroot "$root" /usr/bin/hello) || fail "hello built in stage 1 does not run there"
[ "$out" = "Hello, minidistro!" ] || fail "hello printed: $out"

# The figures.
elapsed() { grep -m1 "\] $1: $2 " "$T/stage0.out" | sed 's/.*elapsed \([0-9]*\)s.*/\1/'; }
for s in bootstrap-base bootstrap-gcc; do
	echo "$s: built in $(($(elapsed $s built) - $(elapsed $s building))) s"
done
for f in $rpms; do
	printf '%s: %s MiB, %s MiB installed\n' "$(basename "$f")" \
		"$(($(stat -c %s "$f") / 1048576))" \
		"$(($(rpm -qp --qf '%{size}' "$f" 2>/dev/null) / 1048576))"
done
echo "stage 0 (5 specs, one at a time): $(secs "$t0" "$t1") s"
echo "toolchain install: $(secs "$t2" "$t3") s, root $(du -sm "$root" | cut -f1) MiB"
echo "hello in stage 1: $(secs "$t4" "$t5") s"
echo "ok"
