#!/bin/sh
# `shipyard image validate`: the example distribution's config is valid and
# composable; a typo, a broken rule and a field composing does not apply
# are each named by file and JSON path with a non-zero exit; and every
# image config of the whole Azure Linux tree (../shared/azl, when present)
# gets a verdict: each JSON config is valid under the toolkit's rules (or
# names what it lacks), each Image Customizer YAML is "not supported". The
# table is printed.
. "$(dirname "$0")/lib.sh"

ex=$TOP/examples/minidistro
out=$("$SHIPYARD" image validate --root "$ex" toolkit/imageconfigs/minimal-container.json) ||
	fail "the example's config does not validate: $out"
echo "$out" | grep -q "minimal-container.json: valid, composable (" || fail "verdict: $out"

mkdir -p "$T/r/cfg/lists"
echo '{"packages": ["bash"], "_comment": "comments are allowed in lists"}' >"$T/r/cfg/lists/a.json"
cat >"$T/r/cfg/typo.json" <<'JSON'
{"SystemConfigs": [{"Name": "S", "PackageLists": ["lists/a.json"], "Typo": true}]}
JSON
cat >"$T/r/cfg/rule.json" <<'JSON'
{"Disks": [{"PartitionTableType": "gpt", "MaxSize": 64, "Artifacts": [{"Name": "d", "Type": "vhdx"}],
  "Partitions": [{"ID": "boot", "Start": 1, "End": 9, "FsType": "fat32"},
                 {"ID": "root", "Start": 9, "End": 0, "FsType": "ext4"}]}],
 "SystemConfigs": [{"Name": "S", "PackageLists": ["lists/a.json"],
   "KernelOptions": {"default": "kernel"},
   "PartitionSettings": [{"ID": "root", "MountPoint": "/"},
                         {"ID": "efi", "MountPoint": "/boot/efi"}]}]}
JSON
cat >"$T/r/cfg/host.json" <<'JSON'
{"Disks": [{"Artifacts": [{"Name": "c", "Compression": "tar.gz"}]}],
 "SystemConfigs": [{"Name": "S", "PackageLists": ["lists/a.json"], "Hostname": "box",
   "EnableHidepid": true}]}
JSON
rc=0
(cd "$T/r" && "$SHIPYARD" image validate cfg/typo.json cfg/rule.json cfg/host.json) >"$T/out" || rc=$?
cat "$T/out"
[ "$rc" -eq 1 ] || fail "exit $rc, want 1"
grep -qx 'cfg/typo.json: invalid: SystemConfigs\[0\].Typo: unknown key' "$T/out" || fail "typo"
grep -qx 'cfg/rule.json: invalid: SystemConfigs\[0\].PartitionSettings\[1\]: ID "efi" has no matching partition in Disks' \
	"$T/out" || fail "rule"
grep -qx 'cfg/host.json: valid; SystemConfigs\[0\].EnableHidepid: not supported' "$T/out" || fail "support"

bundle=${SHIPYARD_SHARED:-$TOP/../shared}/azl/azurelinux-3.0.bundle
if [ ! -f "$bundle" ]; then
	echo "SKIP part: $bundle is absent (../shared is only beside the checkout)"
	exit 0
fi
git clone -q "$bundle" "$T/azl"
cd "$T/azl"
find toolkit/imageconfigs \( -name '*.json' -o -name '*.yaml' \) -not -path '*/packagelists/*' |
	LC_ALL=C sort >"$T/configs"
# shellcheck disable=SC2046
"$SHIPYARD" image validate $(cat "$T/configs") >"$T/table" || true
echo "image configs of the Azure Linux tree:"
sed 's/^/  /' "$T/table"
[ "$(wc -l <"$T/table")" -eq "$(wc -l <"$T/configs")" ] || fail "not one verdict per config"
for f in toolkit/imageconfigs/*.json; do
	grep -q "^$f: valid" "$T/table" || fail "$f is not valid: $(grep "^$f:" "$T/table")"
done
for f in $(grep '\.yaml$' "$T/configs"); do
	grep -qx "$f: not supported: Image Customizer config (YAML)" "$T/table" || fail "$f"
done
# Every verdict that refuses names a JSON path or a file.
if grep -v ': valid, composable' "$T/table" | grep -v 'not supported' | grep -v ': invalid: [A-Za-z]'; then
	fail "a verdict names no JSON path"
fi
echo "$(grep -c ': valid' "$T/table") valid, $(grep -c ': valid, composable' "$T/table") composable, $(grep -c ': invalid' "$T/table") invalid, $(grep -c 'not supported' "$T/table") not supported (or not composable yet)"
