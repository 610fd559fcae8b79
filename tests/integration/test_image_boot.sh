#!/bin/sh
# Boot test: the example distribution with its bootable spec tree
# (examples/minidistro/boot: Debian's cloud kernel, busybox with an init
# that prints shipyard-boot-ok, systemd-boot, their Sources made from the
# host's Debian packages) is built by `shipyard run` with image.boottest
# set; minimal-efi (GPT: a vfat ESP, an ext4 root; raw and qcow2) is
# composed and each disk booted in QEMU (TCG) with OVMF until the marker:
# the status says "booted in N s" per disk and the image log holds both
# consoles. The ESP carries systemd-boot and a loader entry naming the
# root partition's PARTUUID. The same commit composed again with a 2 s
# deadline fails with "no marker within 2 s; last console line: ...",
# and gives the same bytes as the booted build: the boot left the
# artifacts untouched, and the composition is reproducible.
. "$(dirname "$0")/lib.sh"
need_root
for tool in qemu-system-x86_64 sfdisk mtype; do
	command -v "$tool" >/dev/null || skip "needs $tool (scripts/deps.sh installs it)"
done
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -r /usr/share/OVMF/OVMF_CODE.fd ] ||
	skip "needs OVMF (Debian package ovmf; scripts/deps.sh installs it)"

repo=$T/distro
state=$T/state
cp -r "$TOP/examples/minidistro" "$repo"
boot=$repo/boot/SPECS
"$repo/boot/make-sources.sh" "$boot" >"$T/sources" 2>&1 ||
	skip "the bootable specs' Debian binaries are missing: $(tail -n 1 "$T/sources")"
# The signatures name the Debian builds the example was made with; another
# host may have a newer one, which the test signs in its copy.
while read -r file sha; do
	spec=${file%%/*}
	name=${file#*/}
	if ! grep -q "\"$name\": \"$sha\"" "$boot/$spec/$spec.signatures.json"; then
		echo "note: this host's $file is another Debian build; signing it in the test's copy"
		sed -i "s/\"$name\": \"[0-9a-f]*\"/\"$name\": \"$sha\"/" "$boot/$spec/$spec.signatures.json"
	fi
done <"$T/sources"
cat >>"$repo/shipyard.conf" <<'EOF2'
	spectree = boot/SPECS
	imageconfigs = toolkit/imageconfigs/boot
[image]
	boottest = true
EOF2
git_ -C "$repo" init -q
git_ -C "$repo" add -A
git_ -C "$repo" add -f boot/SPECS
git_ -C "$repo" commit -q -m "minidistro, bootable"

start=$(date +%s)
sy "$T/run.out" run --repo "$repo" --state "$state" --pipeline-id r1
[ "$rc" -eq 0 ] || { cat "$T/run.out" "$state"/pipelines/r1/logs/image-*.log; fail "run failed"; }
echo "built, composed and booted in $(( $(date +%s) - start )) s"
grep '^shipyard/image/' "$T/run.out"
expect_line "$T/run.out" '^shipyard/image/minimal-efi pending booting minimal-efi\.raw$'
expect_line "$T/run.out" '^shipyard/image/minimal-efi success booted in [0-9]+\.[0-9] s \(minimal-efi\.raw\), [0-9]+\.[0-9] s \(minimal-efi\.qcow2\)$'
log=$state/pipelines/r1/logs/image-minimal-efi.log
[ "$(grep -c '^shipyard-boot-ok: minidistro' "$log")" -eq 2 ] || fail "the log lacks both consoles' marker"
expect_line "$log" '^--- serial console of .*/minimal-efi\.qcow2$'
# The config's command line (imager/cmdline.h) first, then what the boot needs.
expect_line "$log" 'Kernel command line: root=PARTUUID=[0-9a-f-]{36} ro selinux=0 rootwait console=tty0 console=ttyS0[[:space:]]*$'

# The ESP (partition 1, at 1 MiB): systemd-boot and the entry, naming the
# root partition as the partition table does.
b1=$state/images/minimal-efi/latest
sfdisk --dump "$b1/minimal-efi.raw" >"$T/dump"
root_uuid=$(sed -n 's/.*raw2 : .*uuid=\([0-9A-Fa-f-]*\).*/\1/p' "$T/dump" | tr A-F a-f)
[ -n "$root_uuid" ] || { cat "$T/dump"; fail "no root partition uuid"; }
export MTOOLS_SKIP_CHECK=1
mdir -i "$b1/minimal-efi.raw@@1M" -b ::/EFI/BOOT >"$T/efiboot"
expect_line "$T/efiboot" '/EFI/BOOT/BOOTX64\.EFI$'
mtype -i "$b1/minimal-efi.raw@@1M" ::/loader/loader.conf >"$T/loader.conf"
entry=$(sed -n 's/^default //p' "$T/loader.conf" | tr -d '\r')
mtype -i "$b1/minimal-efi.raw@@1M" "::/loader/entries/$entry" | tr -d '\r' >"$T/entry"
cat "$T/entry"
expect_line "$T/entry" "^options root=PARTUUID=$root_uuid ro selinux=0 rootwait console=tty0 console=ttyS0\$"
expect_line "$T/entry" '^linux /minimal-efi/[^/]+/linux$'

# A deadline too short for the machine: the status says why, the run fails.
(cd "$repo" && git_ checkout -q -b short &&
	sed -i 's/^\tboottest = true$/\tboottest = true\n\tboottimeout = 2/' shipyard.conf &&
	git_ commit -q -am "boot deadline of 2 s")
first=$(readlink -f "$b1")
sy "$T/short.out" image --repo "$repo" --state "$state" --to main --settings-from short \
	--channel main --force --pipeline-id r2
[ "$rc" -ne 0 ] || { cat "$T/short.out"; fail "a boot past its deadline succeeded"; }
grep '^shipyard/image/' "$T/short.out"
expect_line "$T/short.out" '^shipyard/image/minimal-efi failure minimal-efi\.raw: no marker within 2 s; last console line: '
second=$(readlink -f "$state/images/minimal-efi/latest")
[ "$first" != "$second" ] || fail "no second composition"
for f in minimal-efi.raw minimal-efi.qcow2; do
	a=$(sha256sum <"$first/$f" | cut -d' ' -f1)
	b=$(sha256sum <"$second/$f" | cut -d' ' -f1)
	echo "$f: $a (booted), $b (composed again)"
	[ "$a" = "$b" ] || fail "$f differs: the boot changed it, or the composition is not reproducible"
done
