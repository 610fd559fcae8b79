#!/bin/sh
# Writes the Sources of the bootable specs under boot/SPECS that are not in
# git: binaries of the host's Debian packages, repackaged as they are (tens
# of MiB, and each Debian update changes them, so git holds only their
# signatures). Needs Debian's linux-image-cloud-amd64, busybox-static and
# systemd-boot-efi installed (scripts/deps.sh installs them).
#
#   make-sources.sh [DIR]
#
# Writes DIR/<spec>/<source> (DIR: the SPECS directory next to this script)
# and prints "<spec>/<source> <sha256>" per file; a <spec>.signatures.json
# naming other digests means the host has another Debian build than the one
# the signatures were taken from (update them, or use sources.signatures).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/SPECS}

# The kernel package the metapackage points at: "linux-image-6.1.0-57-cloud-amd64 (= 6.1.192-3)".
dep=$(dpkg-query -W -f='${Depends}' linux-image-cloud-amd64 2>/dev/null) ||
	{ echo "make-sources.sh: Debian's linux-image-cloud-amd64 is not installed" >&2; exit 1; }
pkg=${dep%% *}
kver=${pkg#linux-image-}
for f in "/boot/vmlinuz-$kver" "/boot/config-$kver" /bin/busybox \
	/usr/lib/systemd/boot/efi/systemd-bootx64.efi; do
	[ -r "$f" ] || { echo "make-sources.sh: $f is missing" >&2; exit 1; }
done
case $(dpkg-query -S /bin/busybox 2>/dev/null) in
busybox-static:*) ;;
*) echo "make-sources.sh: /bin/busybox is not busybox-static's" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/boot"
cp "/boot/vmlinuz-$kver" "/boot/config-$kver" "$tmp/boot/"
chmod 0644 "$tmp/boot/"*
mkdir -p "$dir/kernel" "$dir/busybox" "$dir/systemd-boot"
# Reproducible: names sorted, owners and times fixed.
tar -C "$tmp" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
	-cf "$dir/kernel/kernel-debian.tar" boot
cp /bin/busybox "$dir/busybox/busybox"
cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$dir/systemd-boot/systemd-bootx64.efi"
for f in kernel/kernel-debian.tar busybox/busybox systemd-boot/systemd-bootx64.efi; do
	echo "$f $(sha256sum <"$dir/$f" | cut -d' ' -f1)"
done
