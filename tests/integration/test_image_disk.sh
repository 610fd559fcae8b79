#!/bin/sh
# Disk images without loop devices, mounts or VMs, reproducible: the example
# distribution is built and published once, its state directory copied, and
# three image configs composed in each copy (different directories, a few
# seconds apart): a GPT disk (ESP vfat, an ext4 partition mounted below the
# root, an ext4 root) as raw, vhd, vhdx, qcow2, iso, raw.xz and ova plus its
# second partition as ext4; an MBR disk with swap; an xfs disk; a root as
# tar.gz, squashfs, iso and initrd. Every artifact must have the same
# SHA-256 in both
# (table printed), and each is checked by its own tool: sfdisk --dump,
# e2fsck -fn and debugfs on the partitions cut out by offset, fsck.vfat and
# mdir, qemu-img check/info/compare, xorriso -toc and its El Torito report,
# tar -t, the manifest's SHA-256 lines and qemu-img info on the OVA,
# unsquashfs -l, cpio -t and bsdcpio on the initrd (extracted and compared
# with the tar.gz), xfs_repair -n -f and xfs_db on an xfs root partition
# (its inodes' times stamped from the commit). A disk above shipyard.conf's
# image.maxdisksize and an xfs partition below mkfs.xfs's 300 MiB are
# refused by name.
. "$(dirname "$0")/lib.sh"
need_root
for tool in sfdisk mke2fs debugfs e2fsck mkfs.vfat mcopy mdir fsck.vfat qemu-img xorriso \
	mksquashfs unsquashfs xz mkfs.xfs xfs_db xfs_repair cpio bsdcpio; do
	command -v "$tool" >/dev/null || skip "needs $tool (scripts/deps.sh installs it)"
done

repo=$T/distro
minidistro "$repo"
cfgs=$repo/toolkit/imageconfigs
# The example has no boot loader package: the ESP is mounted where the
# packages put files (licenses), so that mcopy has a tree to copy; hello
# stands in for the kernel KernelOptions must name.
cat >"$cfgs/disk-gpt.json" <<'JSON'
{
    "Disks": [{
        "PartitionTableType": "gpt", "MaxSize": 96,
        "Artifacts": [
            {"Name": "disk", "Type": "raw"}, {"Name": "disk", "Type": "vhd"},
            {"Name": "disk", "Type": "vhdx"}, {"Name": "disk", "Type": "qcow2"},
            {"Name": "disk", "Type": "iso"}, {"Name": "disk", "Type": "raw", "Compression": "xz"},
            {"Name": "disk", "Type": "ova"}
        ],
        "Partitions": [
            {"ID": "esp", "Flags": ["esp"], "Start": 1, "End": 9, "FsType": "fat32"},
            {"ID": "share", "Start": 9, "End": 25, "FsType": "ext4",
             "Artifacts": [{"Name": "share", "Type": "ext4"}]},
            {"ID": "root", "Name": "rootfs", "Start": 25, "End": 0, "FsType": "ext4"}
        ]
    }],
    "SystemConfigs": [{
        "Name": "Disk", "BootType": "none",
        "PackageLists": ["packagelists/minimal-container-packages.json"],
        "KernelOptions": {"default": "hello"},
        "PartitionSettings": [
            {"ID": "esp", "MountPoint": "/usr/share/licenses", "MountIdentifier": "uuid"},
            {"ID": "share", "MountPoint": "/usr/share", "MountOptions": "ro,nodev"},
            {"ID": "root", "MountPoint": "/", "MountIdentifier": "partlabel"}
        ]
    }]
}
JSON
cat >"$cfgs/disk-mbr.json" <<'JSON'
{
    "Disks": [{
        "PartitionTableType": "mbr", "MaxSize": 64,
        "Artifacts": [{"Name": "mbr", "Type": "raw"}, {"Name": "mbr", "Type": "qcow2", "Compression": "gz"}],
        "Partitions": [
            {"ID": "swap", "Start": 1, "End": 9, "FsType": "linux-swap"},
            {"ID": "root", "Flags": ["boot"], "Start": 9, "End": 0, "FsType": "ext4"}
        ]
    }],
    "SystemConfigs": [{
        "Name": "Mbr", "PackageLists": ["packagelists/minimal-container-packages.json"],
        "KernelOptions": {"default": "hello"},
        "PartitionSettings": [{"ID": "root", "MountPoint": "/"}]
    }]
}
JSON
cat >"$cfgs/disk-xfs.json" <<'JSON'
{
    "Disks": [{
        "PartitionTableType": "gpt", "MaxSize": 320,
        "Artifacts": [{"Name": "xfs", "Type": "raw"}],
        "Partitions": [{"ID": "root", "Start": 1, "End": 0, "FsType": "xfs",
                        "Artifacts": [{"Name": "xfsroot", "Type": "raw"}]}]
    }],
    "SystemConfigs": [{
        "Name": "Xfs", "PackageLists": ["packagelists/minimal-container-packages.json"],
        "KernelOptions": {"default": "hello"},
        "PartitionSettings": [{"ID": "root", "MountPoint": "/"}]
    }]
}
JSON
cat >"$cfgs/rootimg.json" <<'JSON'
{
    "Disks": [{"Artifacts": [
        {"Name": "root", "Compression": "tar.gz"}, {"Name": "root", "Type": "squashfs"},
        {"Name": "root", "Type": "iso"}, {"Name": "root", "Type": "initrd"}
    ]}],
    "SystemConfigs": [{"Name": "Root", "PackageLists": ["packagelists/minimal-container-packages.json"]}]
}
JSON
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "disk image configs"

sy "$T/b.out" build --repo "$repo" --state "$T/s1" --pipeline-id b1
[ "$rc" -eq 0 ] || { cat "$T/b.out"; fail "build failed"; }
sy "$T/p.out" publish --repo "$repo" --state "$T/s1" --channel main
[ "$rc" -eq 0 ] || { cat "$T/p.out"; fail "publish failed"; }
cp -a "$T/s1" "$T/second-state-dir"

configs="disk-gpt disk-mbr disk-xfs rootimg"
for s in s1 second-state-dir; do
	start=$(date +%s)
	sy "$T/$s.out" image --repo "$repo" --state "$T/$s" --channel main \
		--images "$(echo $configs | tr ' ' ,)"
	[ "$rc" -eq 0 ] || { cat "$T/$s.out" "$T/$s"/pipelines/*/logs/image-*.log; fail "image failed in $s"; }
	for c in $configs; do
		expect_line "$T/$s.out" "^shipyard/image/$c success composed"
	done
	echo "composed in $s in $(( $(date +%s) - start )) s"
	sleep 1
done

# Reproducible: every artifact the same in both state directories.
echo "artifact                         sha256 (both builds)"
for c in $configs; do
	a=$T/s1/images/$c/latest
	b=$T/second-state-dir/images/$c/latest
	for f in $(cd "$a" && ls | grep -v '^closure.sha256$'); do
		ha=$(sha256sum <"$a/$f" | cut -c1-16)
		hb=$(sha256sum <"$b/$f" | cut -c1-16)
		printf '%-32s %s %s\n' "$c/$f" "$ha" "$([ "$ha" = "$hb" ] && echo same || echo "DIFFERS: $hb")"
		[ "$ha" = "$hb" ] || fail "$c/$f differs between two builds of the same commit"
	done
done

g=$T/s1/images/disk-gpt/latest
# The partition table: what the config asked, ids from the image key.
sfdisk --dump "$g/disk.raw" >"$T/dump"
cat "$T/dump"
expect_line "$T/dump" '^label: gpt$'
expect_line "$T/dump" 'disk.raw1 : start= *2048, size= *16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B'
expect_line "$T/dump" 'disk.raw2 : start= *18432, size= *32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4'
expect_line "$T/dump" 'disk.raw3 : start= *51200, .*name="rootfs"'
# Partitions cut out by offset: each checked by its filesystem's tool.
part() { # N START SIZE (sectors)
	dd if="$g/disk.raw" of="$T/p$1" bs=512 skip="$2" count="$3" conv=sparse status=none
}
part 1 2048 16384
part 2 18432 32768
part 3 51200 "$(sed -n 's/.*disk.raw3 : start= *51200, size= *\([0-9]*\).*/\1/p' "$T/dump")"
fsck.vfat -n "$T/p1" || fail "the ESP does not check"
MTOOLS_SKIP_CHECK=1 mdir -i "$T/p1" -/ ::/ >"$T/mdir"
expect_line "$T/mdir" 'LICENSE'
e2fsck -fn "$T/p2" || fail "partition 2 does not check"
e2fsck -fn "$T/p3" || fail "the root partition does not check"
cmp "$T/p2" "$g/share.ext4" || fail "share.ext4 is not partition 2"
debugfs -R 'cat /etc/fstab' "$T/p3" 2>/dev/null >"$T/fstab"
cat "$T/fstab"
expect_line "$T/fstab" '^PARTLABEL=rootfs / ext4 defaults 0 1$'
expect_line "$T/fstab" '^PARTUUID=[0-9a-f-]{36} /usr/share ext4 ro,nodev 0 2$'
expect_line "$T/fstab" '^UUID=[0-9A-F]{4}-[0-9A-F]{4} /usr/share/licenses vfat defaults 0 2$'
uuid=$(sed -n 's/.*disk.raw2 : .*uuid=\([0-9A-F-]*\).*/\1/p' "$T/dump" | tr A-F a-f)
grep -q "^PARTUUID=$uuid /usr/share " "$T/fstab" || fail "fstab does not name partition 2's PARTUUID"
# The root partition holds the root without what the others hold.
debugfs -R 'ls -p /usr/share' "$T/p3" 2>/dev/null | grep -q licenses && fail "partition 3 holds /usr/share"
debugfs -R 'ls -p /usr/bin' "$T/p3" 2>/dev/null | grep -q '/hello/' || fail "no /usr/bin/hello in the root"
debugfs -R 'ls -p /' "$T/p2" 2>/dev/null | grep -q '/licenses/' || fail "no licenses mount point"

# Conversions: each a valid image of the same disk.
qemu-img check -q "$g/disk.vhdx" || fail "vhdx does not check"
qemu-img check -q "$g/disk.qcow2" || fail "qcow2 does not check"
qemu-img info -f vpc "$g/disk.vhd" | grep -q 'virtual size: 96 MiB' || fail "vhd size"
qemu-img compare -q -f raw -F vpc "$g/disk.raw" "$g/disk.vhd" || fail "vhd is not the raw disk"
qemu-img compare -q -f raw -F vhdx "$g/disk.raw" "$g/disk.vhdx" || fail "vhdx is not the raw disk"
qemu-img compare -q -f raw -F qcow2 "$g/disk.raw" "$g/disk.qcow2" || fail "qcow2 is not the raw disk"
xz -dc "$g/disk.raw.xz" | cmp - "$g/disk.raw" || fail "raw.xz is not the raw disk"
# The OVA: a ustar of the descriptor, the manifest, the streamOptimized
# VMDK, in that order; the manifest's digests hold; the descriptor names
# the VMDK with its size and the disk's capacity; the VMDK is the disk.
tar -tvf "$g/disk.ova" >"$T/ova-list"
cat "$T/ova-list"
[ "$(awk '{ print $6 }' "$T/ova-list" | tr '\n' ' ')" = "disk.ovf disk.mf disk-disk1.vmdk " ] ||
	fail "the OVA's entries are not ovf, mf, vmdk"
grep -v '^-rw-r--r-- root/root ' "$T/ova-list" && fail "an OVA entry is not root's, 0644"
[ "$(od -An -c -j257 -N5 "$g/disk.ova" | tr -d ' ')" = ustar ] || fail "the OVA is not ustar"
mkdir "$T/ova" && tar -xf "$g/disk.ova" -C "$T/ova"
(cd "$T/ova" && sed 's/^SHA256(\(.*\))= \(.*\)$/\2  \1/' disk.mf | sha256sum -c -) ||
	fail "the OVA manifest's digests do not hold"
[ "$(grep -c '^SHA256(' "$T/ova/disk.mf")" -eq 2 ] || fail "the manifest does not list 2 files"
python3 - "$T/ova" <<'PY' || fail "the OVF descriptor does not describe the disk"
import os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
ns = {"o": "http://schemas.dmtf.org/ovf/envelope/1"}
o = "{http://schemas.dmtf.org/ovf/envelope/1}"
env = ET.parse(os.path.join(d, "disk.ovf")).getroot()
f = env.find("o:References/o:File", ns)
assert f.get(o + "href") == "disk-disk1.vmdk", f.attrib
assert int(f.get(o + "size")) == os.path.getsize(os.path.join(d, "disk-disk1.vmdk"))
disk = env.find("o:DiskSection/o:Disk", ns)
assert disk.get(o + "capacity") == str(96 << 20), disk.attrib
assert disk.get(o + "format").endswith("#streamOptimized")
assert env.find("o:VirtualSystem/o:VirtualHardwareSection", ns) is not None
PY
qemu-img info "$T/ova/disk-disk1.vmdk" >"$T/vmdk-info"
expect_line "$T/vmdk-info" 'file format: vmdk'
expect_line "$T/vmdk-info" 'virtual size: 96 MiB'
expect_line "$T/vmdk-info" 'create type: streamOptimized'
qemu-img compare -q -f raw -F vmdk "$g/disk.raw" "$T/ova/disk-disk1.vmdk" || fail "the VMDK is not the raw disk"
xorriso -indev "$g/disk.iso" -toc -report_el_torito plain >"$T/iso" 2>&1
expect_line "$T/iso" 'El Torito boot img :   1  UEFI'
xorriso -indev "$g/disk.iso" -find /usr/bin/hello 2>/dev/null | grep -q hello || fail "no hello in the iso"

m=$T/s1/images/disk-mbr/latest
sfdisk --dump "$m/mbr.raw" >"$T/mdump"
expect_line "$T/mdump" '^label: dos$'
expect_line "$T/mdump" 'mbr.raw1 : start= *2048, size= *16384, type=82$'
expect_line "$T/mdump" 'mbr.raw2 : start= *18432, size= *112640, type=83, bootable$'
gzip -dc "$m/mbr.qcow2.gz" >"$T/mbr.qcow2"
qemu-img compare -q -f raw -F qcow2 "$m/mbr.raw" "$T/mbr.qcow2" || fail "qcow2.gz is not the disk"

x=$T/s1/images/disk-xfs/latest
sfdisk --dump "$x/xfs.raw" >"$T/xdump"
expect_line "$T/xdump" 'xfs.raw1 : start= *2048, .*type=0FC63DAF-8483-4772-8E79-3D69D8477DE4'
size=$(sed -n 's/.*xfs.raw1 : start= *2048, size= *\([0-9]*\).*/\1/p' "$T/xdump")
dd if="$x/xfs.raw" of="$T/px" bs=512 skip=2048 count="$size" conv=sparse status=none
cmp "$T/px" "$x/xfsroot.raw" || fail "xfsroot.raw is not partition 1"
xfs_repair -n -f "$T/px" || fail "the xfs partition does not check"
xfs_db -r -c 'sb 0' -c 'p uuid' "$T/px" >"$T/xsb"
uuid=$(sed -n 's/.*xfs.raw1 : .*uuid=\([0-9A-F-]*\).*/\1/p' "$T/xdump")
grep -qi "$uuid" "$T/xsb" && fail "the filesystem UUID is the partition GUID"
expect_line "$T/xsb" '^uuid = [0-9a-f-]{36}$'
# The files are there, with the owners, modes and times of the root:
# change and creation times are the commit's, never the build's.
epoch=$(git -C "$repo" log -1 --format=%ct)
TZ=UTC xfs_db -r -c 'path /usr/bin/hello' -c 'p core.mode core.uid core.size core.ctime.sec v3.crtime.sec' \
	"$T/px" >"$T/xhello"
cat "$T/xhello"
expect_line "$T/xhello" '^core.mode = 0100755$'
expect_line "$T/xhello" '^core.uid = 0$'
grep -q '^core.size = [1-9]' "$T/xhello" || fail "hello is empty on xfs"
want=$(TZ=UTC date -d "@$epoch" '+%a %b %e %H:%M:%S %Y')
[ "$(grep -c "= $want\$" "$T/xhello")" -eq 2 ] || fail "hello's ctime/crtime are not the commit's ($want)"
xfs_db -r -c 'path /etc/fstab' -c 'p core.mode' "$T/px" | grep -q '0100644' || fail "no /etc/fstab on xfs"

r=$T/s1/images/rootimg/latest
unsquashfs -l "$r/root.squashfs" >"$T/sq"
expect_line "$T/sq" 'squashfs-root/usr/bin/hello$'
xorriso -indev "$r/root.iso" -toc >/dev/null 2>&1 || fail "root.iso does not read"
# The initrd: gzip without a time, cpio newc in sorted order, the same tree
# as the tar.gz, inode numbers from 1 in walk order.
[ "$(od -An -tx1 -j4 -N4 "$r/root.img" | tr -d ' ')" = 00000000 ] || fail "the initrd's gzip header has a time"
gzip -dc "$r/root.img" >"$T/root.cpio"
[ "$(head -c 6 "$T/root.cpio")" = 070701 ] || fail "the initrd is not cpio newc"
cpio -it --quiet <"$T/root.cpio" >"$T/cpio-list"
bsdcpio -it <"$T/root.cpio" 2>/dev/null | cmp - "$T/cpio-list" || fail "bsdcpio and cpio list different entries"
head -1 "$T/cpio-list" | grep -qx '\.' || fail "the initrd does not start with its root"
expect_line "$T/cpio-list" '^\./usr/bin/hello$'
grep '^\./usr/bin/' "$T/cpio-list" >"$T/usr-bin"
LC_ALL=C sort -c "$T/usr-bin" || fail "the initrd's entries are not sorted"
mkdir "$T/from-tar" "$T/from-cpio"
tar -xzf "$r/root.tar.gz" -C "$T/from-tar"
(cd "$T/from-cpio" && cpio -idm --quiet <"$T/root.cpio") || fail "the initrd does not extract"
diff -r --no-dereference "$T/from-tar" "$T/from-cpio" || fail "the initrd is not the root"
epoch=$(git -C "$repo" log -1 --format=%ct)
# newc headers (cpio(5)): every time at or before the commit, devices 0,
# inode numbers from 1.
python3 - "$T/root.cpio" "$epoch" <<'PY' || fail "the initrd's headers hold build-specific values"
import sys
data, epoch, off, ino = open(sys.argv[1], "rb").read(), int(sys.argv[2]), 0, 0
while True:
    h = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
    name = data[off + 110:off + 110 + h[11] - 1].decode()
    if name == "TRAILER!!!":
        break
    assert h[5] <= epoch, (name, "mtime", h[5])
    assert h[7] == h[8] == 0, (name, "dev")
    assert h[0] <= ino + 1, (name, "ino", h[0])
    ino = max(ino, h[0])
    off = (off + 110 + h[11] + 3) & ~3
    off = (off + h[6] + 3) & ~3
PY

# Refused by name, before anything is written.
cat >"$cfgs/big.json" <<'JSON'
{"Disks": [{"PartitionTableType": "gpt", "MaxSize": 128, "Artifacts": [{"Name": "b", "Type": "raw"}],
  "Partitions": [{"ID": "root", "Start": 1, "End": 0, "FsType": "ext4"}]}],
 "SystemConfigs": [{"Name": "B", "PackageLists": ["packagelists/minimal-container-packages.json"],
   "KernelOptions": {"default": "hello"}, "PartitionSettings": [{"ID": "root", "MountPoint": "/"}]}]}
JSON
sed 's/"ext4"/"xfs"/; s/"MaxSize": 128/"MaxSize": 48/' "$cfgs/big.json" >"$cfgs/xfs.json"
printf '[image]\n\tmaxdisksize = 64m\n' >"$repo/shipyard.conf"
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "a disk over the limit, an xfs partition"
sy "$T/big.out" image --repo "$repo" --state "$T/s1" --channel main --images big,xfs
[ "$rc" -ne 0 ] || fail "a disk over image.maxdisksize was composed"
expect_line "$T/big.out" 'shipyard/image/big failure .*MaxSize 128 MiB is above the limit of 64 MiB'
expect_line "$T/big.out" 'shipyard/image/xfs failure .*Partitions\[0\]: FsType "xfs" needs at least 300 MiB'
[ ! -e "$T/s1/images/big/latest" ] || fail "the refused disk has a build"
echo "ok"
