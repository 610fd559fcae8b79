#!/bin/sh
# Signed publication with a key made here: `shipyard run` with the service
# configuration's publish.signkey signs every RPM and SRPM (rpmkeys
# --checksig against the published public key in a private rpmdb) and
# repodata/repomd.xml (gpg --verify), while the artifacts stay unsigned; a
# second publication with --sign-key finds the same signed files and makes
# no snapshot; a bad key fails with one line naming it and the previous
# snapshot stays current; no line of the secret key reaches the state
# directory and its private GNUPGHOME and gpg-agent are gone; a pull
# request's run is not signed with the key. Then `shipyard
# serve` hands out /repos/<channel>.repo files: dnf with gpgcheck=1
# repo_gpgcheck=1 installs from the signed channel into an installroot,
# refuses a channel whose repomd.xml was changed and one whose package is
# not signed; an unsigned channel's file says gpgcheck=0 repo_gpgcheck=0.
. "$(dirname "$0")/lib.sh"
need_root
for tool in gpg gpgconf rpmsign rpmkeys dnf curl createrepo_c; do
	command -v $tool >/dev/null || skip "needs $tool (scripts/deps.sh installs it)"
done

state=$T/state
keys=$T/keys
cleanup() {
	serve_kill
	# dnf's librepo starts a gpg-agent per repository keyring.
	for home in "$keys/home" "$T/verify" "$T"/root*/var/cache/dnf/*/pubring; do
		[ -d "$home" ] && gpgconf --homedir "$home" --kill all 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

# No gpg of this test reads or writes the user's ~/.gnupg.
export GNUPGHOME=$T/no-gnupg-home
# The signer makes its GNUPGHOME under $TMPDIR: here, to see it removed.
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp

mkdir -p "$keys/home"
chmod 700 "$keys/home"
GNUPGHOME=$keys/home gpg -q --batch --passphrase '' \
	--quick-gen-key 'shipyard test <test@shipyard.invalid>' default default never 2>/dev/null
GNUPGHOME=$keys/home gpg -q --batch --armor --export-secret-keys >"$keys/secret.asc"
GNUPGHOME=$keys/home gpg -q --batch --armor --export >"$keys/public.asc"
fpr=$(GNUPGHOME=$keys/home gpg --batch --with-colons --list-secret-keys 2>/dev/null |
	awk -F: '/^fpr/ { print $10; exit }')
gpgconf --homedir "$keys/home" --kill all
chmod 600 "$keys/secret.asc"

minidistro "$T/work"
cat >"$T/serve.conf" <<EOF
[serve]
	listen = 127.0.0.1:0
	state = $state
[publish]
	signkey = $keys/secret.asc
[repo "mini"]
	remote = file://$T/work
	branch = main
EOF

# The service configuration's key signs the pipeline's publication.
sy "$T/run" run --config "$T/serve.conf" --repo-name mini --repo "$T/work" --channel main
[ "$rc" -eq 0 ] || { cat "$T/run"; fail "signed run failed"; }
snap=$(readlink -f "$state/repos/main/current")
[ -f "$snap/RPM-GPG-KEY-shipyard" ] || fail "no public key beside the repository"
mkdir -m 700 "$T/verify"
key_fpr=$(GNUPGHOME=$T/verify gpg --batch --with-colons --show-keys "$snap/RPM-GPG-KEY-shipyard" |
	awk -F: '/^fpr/ { print $10; exit }')
[ "$key_fpr" = "$fpr" ] || fail "published key $key_fpr is not the signing key $fpr"

mkdir -p "$T/rpmdb"
rpmkeys --dbpath "$T/rpmdb" --import "$snap/RPM-GPG-KEY-shipyard"
n=0
for f in "$snap"/RPMS/*/*.rpm "$snap"/SRPMS/*.rpm; do
	rpmkeys --dbpath "$T/rpmdb" --checksig "$f" >"$T/checksig" 2>&1 || true
	grep -q ': digests signatures OK$' "$T/checksig" || { cat "$T/checksig"; fail "$f is not signed by the key"; }
	n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n packages checked"

GNUPGHOME=$T/verify gpg -q --batch --import "$snap/RPM-GPG-KEY-shipyard" 2>/dev/null
GNUPGHOME=$T/verify gpg --batch --verify "$snap/repodata/repomd.xml.asc" "$snap/repodata/repomd.xml" \
	>"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "repomd.xml.asc does not verify"; }
gpgconf --homedir "$T/verify" --kill all

# The artifact store holds the packages as built: signing made copies.
for f in "$state"/artifacts/*/*.rpm; do
	[ "$(rpm -qp --qf '%{RSAHEADER:pgpsig}' "$f" 2>/dev/null)" = "(none)" ] ||
		fail "artifact $f was signed in place"
done

# The same set again, with the key on the command line: the same signed
# files, so nothing to publish.
sy "$T/again" publish --repo "$T/work" --state "$state" --channel main --sign-key "$keys/secret.asc"
[ "$rc" -eq 0 ] || { cat "$T/again"; fail "second signed publish failed"; }
expect_line "$T/again" 'repository main unchanged'

# A bad key: one line naming the file, nothing published, current kept.
echo "not a key" >"$keys/bad.asc"
chmod 600 "$keys/bad.asc"
snapshots=$(ls "$state/repos/main/snapshots" | wc -l)
sy "$T/bad" publish --repo "$T/work" --state "$state" --channel main --sign-key "$keys/bad.asc"
[ "$rc" -eq 2 ] || { cat "$T/bad"; fail "a bad key did not fail the publication"; }
[ "$(wc -l <"$T/bad")" -eq 1 ] || { cat "$T/bad"; fail "the bad key's error is not one line"; }
expect_line "$T/bad" "signing key $keys/bad.asc: not an OpenPGP secret key"
[ "$(readlink -f "$state/repos/main/current")" = "$snap" ] || fail "a bad key moved current"
[ "$(ls "$state/repos/main/snapshots" | wc -l)" -eq "$snapshots" ] || fail "a bad key left a snapshot"

# The key never reaches the state directory, and its private home and agent
# are gone: no line of the secret key that the public key lacks is in any
# file there.
grep -vxFf "$keys/public.asc" "$keys/secret.asc" | grep -E '^.{64}$' >"$T/secret-lines"
[ -s "$T/secret-lines" ] || fail "no secret key lines to look for"
! grep -rqFf "$T/secret-lines" "$state" || fail "the secret key is in the state directory"
[ -z "$(ls -A "$T/tmp")" ] || { ls -la "$T/tmp"; fail "the signer's GNUPGHOME was left behind"; }
! pgrep -f "[g]pg-agent --homedir $T/tmp" >/dev/null || fail "the signer's gpg-agent still runs"

# An unsigned channel beside it.
sy "$T/plain" publish --repo "$T/work" --state "$state" --channel plain
[ "$rc" -eq 0 ] || { cat "$T/plain"; fail "unsigned publish failed"; }
[ ! -e "$(readlink -f "$state/repos/plain/current")/repodata/repomd.xml.asc" ] ||
	fail "an unsigned publication has repomd.xml.asc"

# A pull request's run is its author's: the configured key does not sign it.
sy "$T/pr" run --config "$T/serve.conf" --repo-name mini --repo "$T/work" --channel pr-1 \
	--base-channel main
[ "$rc" -eq 0 ] || { cat "$T/pr"; fail "pull request run failed"; }
pr=$(readlink -f "$state/repos/pr-1/current")
[ ! -e "$pr/repodata/repomd.xml.asc" ] && [ ! -e "$pr/RPM-GPG-KEY-shipyard" ] ||
	fail "a pull request's publication was signed with the distribution's key"

# A channel whose repomd.xml was changed after signing.
cp -a "$state/repos/main" "$state/repos/tampered"
echo '<!-- changed -->' >>"$(readlink -f "$state/repos/tampered/current")/repodata/repomd.xml"
# A channel whose metadata is signed but whose hello package is not.
cp -a "$state/repos/main" "$state/repos/forged"
forged=$(readlink -f "$state/repos/forged/current")
unsigned_hello=$(ls "$state"/artifacts/*/hello-[0-9]*.x86_64.rpm | head -n 1)
cp "$unsigned_hello" "$forged"/RPMS/x86_64/
rm -rf "$forged/SRPMS" "$forged/repodata"
createrepo_c -q "$forged"
GNUPGHOME=$keys/home gpg -q --batch --armor --detach-sign -u "$fpr" \
	-o "$forged/repodata/repomd.xml.asc" "$forged/repodata/repomd.xml"
gpgconf --homedir "$keys/home" --kill all

serve_start "$T/serve.conf"

curl -fs "$base/repos/plain.repo" >"$T/plain.repo" || fail "no /repos/plain.repo"
expect_line "$T/plain.repo" '^gpgcheck=0$'
expect_line "$T/plain.repo" '^repo_gpgcheck=0$'
expect_no_line "$T/plain.repo" '^gpgkey='
curl -fs "$base/repos/pr-1.repo" >"$T/pr.repo" || fail "no /repos/pr-1.repo"
expect_line "$T/pr.repo" '^repo_gpgcheck=0$'

# install CHANNEL ROOT: dnf installs hello from CHANNEL's .repo file as
# served, into the installroot ROOT; its output in ROOT.out, status in $rc.
install() {
	mkdir -p "$2.repos.d"
	curl -fs -o "$2.repos.d/$1.repo" "$base/repos/$1.repo" || fail "no /repos/$1.repo"
	expect_line "$2.repos.d/$1.repo" '^gpgcheck=1$'
	expect_line "$2.repos.d/$1.repo" '^repo_gpgcheck=1$'
	expect_line "$2.repos.d/$1.repo" "^gpgkey=$base/repos/$1/current/RPM-GPG-KEY-shipyard\$"
	rc=0
	dnf -y --setopt=reposdir="$2.repos.d" --installroot="$2" --releasever=1 \
		--setopt=install_weak_deps=0 install hello >"$2.out" 2>&1 || rc=$?
}

install main "$T/root"
[ "$rc" -eq 0 ] || { cat "$T/root.out"; fail "dnf did not install from the signed channel"; }
rpm --root "$T/root" -q hello >/dev/null || fail "hello is not installed"
rpm --root "$T/root" -q "gpg-pubkey-$(echo "$fpr" | cut -c33-40 | tr A-F a-f)" >/dev/null ||
	fail "dnf did not import the channel's key"

install tampered "$T/root-tampered"
[ "$rc" -ne 0 ] || fail "dnf installed from a channel whose repomd.xml was changed"
expect_line "$T/root-tampered.out" 'repomd.xml GPG signature verification error'
! rpm --root "$T/root-tampered" -q hello >/dev/null 2>&1 || fail "hello installed from the tampered channel"

install forged "$T/root-forged"
[ "$rc" -ne 0 ] || fail "dnf installed a package the key did not sign"
expect_line "$T/root-forged.out" 'not signed|GPG check FAILED'
! rpm --root "$T/root-forged" -q hello >/dev/null 2>&1 || fail "an unsigned hello was installed"

serve_stop
echo ok
