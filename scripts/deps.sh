#!/bin/sh
# Installs the Debian packages shipyard needs to build, test and run, when any
# is missing. Called by the Makefile before every build; silent when all are
# present. Uses the machine's configured apt sources.
set -e

PACKAGES="
build-essential pkg-config git ca-certificates
libgit2-dev librpm-dev libsolv-dev libsolvext-dev libcurl4-openssl-dev
libjansson-dev libarchive-dev libcmocka-dev libcreaterepo-c-dev createrepo-c
libsqlite3-dev libmicrohttpd-dev libssl-dev libglib2.0-dev
rpm dnf debootstrap e2fsprogs util-linux time jq procps
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "shipyard: installing missing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
