#!/bin/sh
# `make demo`: takes the example distribution from git to a published RPM
# repository and a container image, in two stages as Azure Linux bootstraps
# itself. The example is copied into a git repository with two commits under
# the state directory. Stage 0: its toolchain specs are built in the
# bootstrap root (Debian, config/worker.conf) and published to the channel
# "toolchain". Stage 1: a worker root made of those packages
# (config/worker-rpm.conf); pipeline 1 builds the first commit in it,
# pipeline 2 the leaf change of the second. A second `make demo` reuses every
# build and both roots. Every publication is signed with a throwaway key made
# on the first run in .shipyard-demo-key/ beside the state directory (never in
# it: the key is named by --sign-key, as publish.signkey names it for the
# service), and dnf lists the repository with gpgcheck=1 repo_gpgcheck=1.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
state=${SHIPYARD_STATE:-$top/.shipyard}
shipyard=$top/build/shipyard
repo=$state/demo/minidistro
keydir=${SHIPYARD_DEMO_KEY_DIR:-$top/.shipyard-demo-key}
key=$keydir/secret.asc

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: builds run in isolated roots (mount and network namespaces)," >&2
	echo "which needs root; run it as root (e.g. sudo make demo)." >&2
	exit 1
fi
mkdir -p "$state"
# A fresh demo repository gets new commit ids: forget what was published from
# the previous one (cached worker roots and build artifacts stay).
rm -rf "$state/repos" "$state/images"

echo "== example distribution as a git repository: $repo"
"$top/scripts/make-demo-repo.sh" "$top/examples/minidistro" "$repo" hello

if [ ! -f "$key" ]; then
	echo
	echo "== a throwaway signing key for the demo: $key"
	mkdir -p "$keydir"
	chmod 700 "$keydir"
	home=$(mktemp -d)
	GNUPGHOME=$home gpg -q --batch --passphrase '' \
		--quick-gen-key 'shipyard demo <demo@shipyard.invalid>' default default never 2>/dev/null
	(umask 077 && GNUPGHOME=$home gpg -q --batch --armor --export-secret-keys >"$key.tmp")
	gpgconf --homedir "$home" --kill all
	rm -rf "$home"
	mv "$key.tmp" "$key"
fi

toolchain=bootstrap-base,bootstrap-gcc,glibc,filesystem
stage1=$top/config/worker-rpm.conf

echo
echo "== stage 0: the toolchain specs in the bootstrap root, published to 'toolchain'"
"$shipyard" build --repo "$repo" --to HEAD~1 --state "$state" --specs "$toolchain"
"$shipyard" publish --repo "$repo" --to HEAD~1 --state "$state" --channel toolchain \
	--specs "$toolchain" --sign-key "$key"

echo
echo "== stage 1: the worker root made of the toolchain channel's packages"
"$shipyard" worker build --manifest "$stage1" --state "$state"
"$shipyard" worker list --manifest "$stage1" --state "$state"

echo
echo "== pipeline 1: the initial commit, built in the stage-1 root"
"$shipyard" run --repo "$repo" --to HEAD~1 --state "$state" --channel main \
	--worker-manifest "$stage1" --sign-key "$key"

echo
echo "== pipeline 2: the commit that changed the leaf spec 'hello'"
"$shipyard" run --repo "$repo" --state "$state" --channel main --worker-manifest "$stage1" \
	--sign-key "$key"

echo
echo "== the published repository, as dnf sees it with gpgcheck=1 repo_gpgcheck=1"
snap=$(readlink -f "$state/repos/main/current")
reposd=$state/tmp/demo.repos.d
rm -rf "$reposd" "$state/tmp/dnfroot"
mkdir -p "$reposd"
cat >"$reposd/shipyard.repo" <<REPO
[shipyard]
name=shipyard main
baseurl=file://$snap/
gpgcheck=1
repo_gpgcheck=1
gpgkey=file://$snap/RPM-GPG-KEY-shipyard
REPO
cat "$reposd/shipyard.repo"
dnf -q -y --setopt=reposdir="$reposd" \
	--installroot="$state/tmp/dnfroot" --releasever=1 \
	repoquery --qf '%{name}-%{evr}.%{arch}' 2>/dev/null | sort
# librepo leaves a gpg-agent on the repository's keyring.
for home in "$state"/tmp/dnfroot/var/cache/dnf/*/pubring; do
	if [ -d "$home" ]; then
		gpgconf --homedir "$home" --kill all
	fi
done

echo
echo "== where hello was built (BuildHost: shipyard-<worker root digest>), and its signature"
rpm -qp --qf '%{NEVRA} built on %{BUILDHOST}\n  signed: %{RSAHEADER:pgpsig}\n' \
	"$snap"/RPMS/*/hello-*.rpm 2>/dev/null

echo
echo "== the image, and the smoke test inside it"
image=$(ls "$state"/images/*/latest/*.tar.gz | head -n 1)
echo "$image"
root=$(mktemp -d "$state/tmp/image-XXXXXX")
tar -xzf "$image" -C "$root"
chroot "$root" /usr/bin/smoketest
rm -rf "$root"
