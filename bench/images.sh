#!/bin/sh
# Benchmark of image formats (issue 14): the example distribution is built
# and published once, then one config per format is composed (--force, so
# each includes the install of its packages): a 1 GiB GPT disk (8 MiB ESP,
# ext4 root) written as raw, vhd, vhdx, qcow2, iso, raw.xz and ova, the same
# disk with an xfs root as raw, and the root as an initrd and
# as squashfs, against the baseline of the same root as tar.gz. Prints, as
# `bench/images: ...` lines, per format: composition time, time over the
# baseline, the artifact's size and the bytes it takes on disk (holes are
# free), and the bytes the disk assembly wrote against the disk's size.
# Needs root. Figures, not pass/fail.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
shipyard=$top/build/shipyard
say() { echo "bench/images: $*"; }
if [ "$(id -u)" -ne 0 ]; then
	say "skipped, needs root"
	exit 0
fi
for tool in sfdisk mke2fs mkfs.vfat mcopy qemu-img xorriso mksquashfs mkfs.xfs xfs_db; do
	command -v "$tool" >/dev/null || { say "skipped, needs $tool (scripts/deps.sh)"; exit 0; }
done
tmp=$(mktemp -d /tmp/shipyard-bench-images-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

repo=$tmp/repo
cp -r "$top/examples/minidistro" "$repo"
cfgs=$repo/toolkit/imageconfigs
list='"PackageLists": ["packagelists/minimal-container-packages.json"]'
disk() { # NAME TYPE [COMPRESSION] [ROOT FSTYPE]
	cat >"$cfgs/$1.json" <<JSON
{"Disks": [{"PartitionTableType": "gpt", "MaxSize": 1024,
  "Artifacts": [{"Name": "$1", "Type": "$2", "Compression": "${3:-}"}],
  "Partitions": [{"ID": "esp", "Flags": ["esp"], "Start": 1, "End": 9, "FsType": "fat32"},
                 {"ID": "root", "Start": 9, "End": 0, "FsType": "${4:-ext4}"}]}],
 "SystemConfigs": [{"Name": "S", $list, "KernelOptions": {"default": "hello"},
   "PartitionSettings": [{"ID": "esp", "MountPoint": "/boot/efi"},
                         {"ID": "root", "MountPoint": "/"}]}]}
JSON
}
root() { # NAME TYPE COMPRESSION
	cat >"$cfgs/$1.json" <<JSON
{"Disks": [{"Artifacts": [{"Name": "$1", "Type": "$2", "Compression": "$3"}]}],
 "SystemConfigs": [{"Name": "S", $list}]}
JSON
}
root b-targz "" tar.gz
disk f-raw raw
disk f-vhd vhd
disk f-vhdx vhdx
disk f-qcow2 qcow2
disk f-iso iso
disk f-rawxz raw xz
disk f-xfs raw "" xfs
disk f-ova ova
root f-squashfs squashfs ""
root f-initrd initrd ""
git -C "$repo" init -q
git -C "$repo" add -A
git -c user.name=b -c user.email=b@shipyard.invalid -C "$repo" commit -q -m example
export SHIPYARD_WORKER_CACHE="${SHIPYARD_WORKER_CACHE:-$top/build/worker-cache}"
"$shipyard" build --repo "$repo" --state "$tmp/state" >"$tmp/b.log" 2>&1 ||
	{ tail -n 5 "$tmp/b.log"; exit 1; }
"$shipyard" publish --repo "$repo" --state "$tmp/state" --channel main >"$tmp/p.log" 2>&1 ||
	{ cat "$tmp/p.log"; exit 1; }

# compose NAME: sets $elapsed (seconds, best of 2), $file, $bytes, $alloc.
compose() {
	elapsed=
	for _ in 1 2; do
		s=$(now)
		"$shipyard" image --repo "$repo" --state "$tmp/state" --channel main --images "$1" \
			--force >"$tmp/i.log" 2>&1 || { cat "$tmp/i.log"; exit 1; }
		e=$(calc "$(now) - $s")
		if [ -z "$elapsed" ] || [ "$(calc "$e < $elapsed")" = 1 ]; then elapsed=$e; fi
	done
	file=$(ls "$tmp/state/images/$1/latest/" | grep "^$1\.")
	bytes=$(stat -c %s "$tmp/state/images/$1/latest/$file")
	alloc=$(( $(stat -c %b "$tmp/state/images/$1/latest/$file") * 512 ))
}
mib() { calc "$1 / 1048576" | awk '{ printf "%.1f", $1 }'; }
compose b-targz
base=$elapsed
say "baseline: root as tar.gz: $(printf '%.2f' "$base") s, $(mib "$bytes") MiB"
for f in f-raw f-vhd f-vhdx f-qcow2 f-iso f-rawxz f-ova f-xfs f-squashfs f-initrd; do
	compose "$f"
	what=${file#f-*.}
	[ "$f" = f-xfs ] && what="raw, xfs root"
	[ "$f" = f-initrd ] && what="initrd (cpio)"
	say "$(printf '%-13s' "$what"): $(printf '%.2f' "$elapsed") s ($(printf '%+.2f' \
		"$(calc "$elapsed - $base")") s over the baseline), size $(mib "$bytes") MiB, on disk $(mib "$alloc") MiB"
done
log=$(ls -t "$tmp"/state/pipelines/*/logs/image-f-raw.log | head -1)
w=$(sed -n 's/^disk: \([0-9]*\) bytes of partitions written into \([0-9]*\) bytes$/\1 \2/p' "$log")
set -- $w
say "raw disk assembly: $(mib "$1") MiB written for a $(mib "$2") MiB disk ($(calc "100 * $1 / $2" | awk '{ printf "%.2f", $1 }') %)"
