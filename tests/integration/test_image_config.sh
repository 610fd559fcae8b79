#!/bin/sh
# An image config's SystemConfigs applied in the image root (issue 14, item
# 2): the example distribution with a shadow-utils package added and a GPT
# config asking for a host name, a group and a user (plain password, an SSH
# key file and a key, a secondary group), additional files (one with
# Permissions, one whose destination tries to climb out of the root),
# post-install and finalize scripts with arguments, a kernel command line,
# fstab by UUID and PARTUUID, RemoveRpmDb and DisableRpmDocs, built with
# `shipyard run`. The produced disk's partitions are cut out by offset and
# read with debugfs: every file, mode and owner; the scripts' output in the
# image log, without a network; fstab and /etc/kernel/cmdline naming the
# partitions sfdisk and dumpe2fs report; no rpmdb; manifest.json's digests.
. "$(dirname "$0")/lib.sh"
need_root
for tool in sfdisk debugfs dumpe2fs openssl jq; do
	command -v "$tool" >/dev/null || skip "needs $tool (scripts/deps.sh installs it)"
done

repo=$T/distro
state=$T/state
minidistro "$repo"
mkdir -p "$repo/SPECS/shadow-utils"
cat >"$repo/SPECS/shadow-utils/shadow-utils.spec" <<'SPEC'
Summary:        Stand-in for shadow-utils, which image configs with Users need
Name:           shadow-utils
Version:        1.0
Release:        1%{?dist}
License:        MIT
BuildArch:      noarch

%description
The toolkit's validator asks for shadow-utils when a config has Users; the
example has no account tools, shipyard writes the account files itself.

%install
install -d %{buildroot}%{_docdir}/shadow-utils
echo "documentation DisableRpmDocs leaves out" >%{buildroot}%{_docdir}/shadow-utils/README

%files
%doc %{_docdir}/shadow-utils/README

%changelog
* Mon Jan 01 2024 shipyard authors <shipyard@example.invalid> - 1.0-1
- Stand-in.
SPEC
echo '{"Signatures": {}}' >"$repo/SPECS/shadow-utils/shadow-utils.signatures.json"

cfgs=$repo/toolkit/imageconfigs
mkdir -p "$cfgs/keys" "$cfgs/files" "$cfgs/scripts"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyFromAFile alice@laptop" >"$cfgs/keys/alice.pub"
printf 'extra motd\n' >"$cfgs/files/motd"
cat >"$cfgs/scripts/post.sh" <<'SH'
#!/bin/sh
echo "post-install: args $*; hostname $(cat /etc/hostname)"
echo "post-install: interfaces $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
echo post >/etc/post-marker
SH
cat >"$cfgs/scripts/final.sh" <<'SH'
#!/bin/sh
echo "finalize: after post-install: $(cat /etc/post-marker)"
echo "# edited by the finalize script" >>/etc/fstab
SH
cat >"$cfgs/configured.json" <<'JSON'
{
    "Disks": [{
        "PartitionTableType": "gpt", "MaxSize": 768,
        "Artifacts": [{"Name": "configured", "Type": "raw"}],
        "Partitions": [
            {"ID": "boot", "Start": 1, "End": 17, "FsType": "ext4"},
            {"ID": "root", "Start": 17, "End": 0, "FsType": "ext4"}
        ]
    }],
    "SystemConfigs": [{
        "Name": "Configured", "BootType": "none",
        "Hostname": "configured-box",
        "PackageLists": ["packagelists/minimal-container-packages.json"],
        "Packages": ["bootstrap-base", "shadow-utils"],
        "KernelOptions": {"default": "hello"},
        "KernelCommandLine": {"CGroup": "version_two", "ExtraCommandLine": "console=ttyS0"},
        "PartitionSettings": [
            {"ID": "boot", "MountPoint": "/boot", "MountIdentifier": "uuid", "MountOptions": "nodev,noexec"},
            {"ID": "root", "MountPoint": "/"}
        ],
        "Groups": [{"Name": "admins", "GID": "1500"}],
        "Users": [{
            "Name": "alice", "UID": "1100", "Password": "s3cret",
            "SSHPubKeyPaths": ["keys/alice.pub"],
            "SSHPubKeys": ["ssh-rsa AAAAB3NzaC1yc2EInline alice@desk"],
            "SecondaryGroups": ["admins"], "StartupCommand": "/bin/sh",
            "PasswordExpiresDays": 90
        }],
        "AdditionalFiles": {
            "files/motd": [{"Path": "/etc/motd.d/extra", "Permissions": "0640"},
                           "/../../escaped-motd"]
        },
        "PostInstallScripts": [{"Path": "scripts/post.sh", "Args": "one two"}],
        "FinalizeImageScripts": [{"Path": "scripts/final.sh"}],
        "RemoveRpmDb": true,
        "DisableRpmDocs": true
    }]
}
JSON
git_ -C "$repo" add -A
git_ -C "$repo" commit -q -m "a configured image"

"$SHIPYARD" run --repo "$repo" --state "$state" >"$T/run.out" 2>"$T/run.err" ||
	{ cat "$T/run.out" "$T/run.err" "$state"/pipelines/*/logs/image-configured.log; fail "run failed"; }
expect_line "$T/run.out" '^shipyard/image/configured success composed'

# The scripts ran in order, with their arguments, in the image root, with
# only the loopback interface; their output is in the image log.
log=$(ls "$state"/pipelines/*/logs/image-configured.log)
expect_line "$log" '^post-install: args one two; hostname configured-box$'
expect_line "$log" '^post-install: interfaces lo $'
expect_line "$log" '^finalize: after post-install: post$'

img=$state/images/configured/latest
sfdisk --dump "$img/configured.raw" >"$T/dump"
cut_part() { # N: partition N of the raw disk into $T/pN
	line=$(grep "configured.raw$1 :" "$T/dump")
	start=$(echo "$line" | sed 's/.*start= *\([0-9]*\).*/\1/')
	size=$(echo "$line" | sed 's/.*size= *\([0-9]*\).*/\1/')
	dd if="$img/configured.raw" of="$T/p$1" bs=512 skip="$start" count="$size" conv=sparse status=none
}
cut_part 1
cut_part 2
rootp=$T/p2
cat_file() { debugfs -R "cat $1" "$rootp" 2>/dev/null; }
stat_of() { # PATH: "mode uid gid" of PATH in the root partition
	debugfs -R "stat $1" "$rootp" 2>/dev/null >"$T/stat"
	mode=$(sed -n 's/.*Mode: *\([0-7]*\).*/\1/p' "$T/stat")
	uid=$(sed -n 's/.*User: *\([0-9]*\).*/\1/p' "$T/stat")
	gid=$(sed -n 's/.*Group: *\([0-9]*\).*/\1/p' "$T/stat")
	echo "$mode $uid $gid"
}

[ "$(cat_file /etc/hostname)" = configured-box ] || fail "hostname is '$(cat_file /etc/hostname)'"
cat_file /etc/passwd >"$T/passwd"
cat_file /etc/shadow >"$T/shadow"
cat_file /etc/group >"$T/group"
expect_line "$T/passwd" '^root:x:0:0:'
expect_line "$T/passwd" '^alice:x:1100:1100::/home/alice:/bin/sh$'
expect_line "$T/group" '^admins:x:1500:alice$'
expect_line "$T/group" '^alice:x:1100:$'
expect_line "$T/shadow" '^alice:\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]+:[0-9]+:0:90:7:::$'
# The hash is the password's: openssl computes the same from the salt.
hash=$(sed -n 's/^alice:\([^:]*\):.*/\1/p' "$T/shadow")
salt=$(echo "$hash" | cut -d'$' -f3)
[ "$(openssl passwd -6 -salt "$salt" s3cret)" = "$hash" ] || fail "alice's hash is not s3cret's"
[ "$(stat_of /etc/shadow | cut -d' ' -f1)" = 0000 ] || fail "/etc/shadow mode $(stat_of /etc/shadow)"

[ "$(stat_of /home/alice)" = "0700 1100 1100" ] || fail "home: $(stat_of /home/alice)"
[ "$(stat_of /home/alice/.ssh)" = "0700 1100 1100" ] || fail ".ssh: $(stat_of /home/alice/.ssh)"
[ "$(stat_of /home/alice/.ssh/authorized_keys)" = "0600 1100 1100" ] ||
	fail "authorized_keys: $(stat_of /home/alice/.ssh/authorized_keys)"
cat_file /home/alice/.ssh/authorized_keys >"$T/keys"
expect_line "$T/keys" '^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyFromAFile alice@laptop$'
expect_line "$T/keys" '^ssh-rsa AAAAB3NzaC1yc2EInline alice@desk$'

[ "$(stat_of /etc/motd.d/extra)" = "0640 0 0" ] || fail "motd: $(stat_of /etc/motd.d/extra)"
[ "$(cat_file /etc/motd.d/extra)" = "extra motd" ] || fail "motd content"
# A destination above the root stays in it.
[ "$(cat_file /escaped-motd)" = "extra motd" ] || fail "/../../escaped-motd not at the image's /"
[ ! -e "$T/escaped-motd" ] && [ ! -e /escaped-motd ] || fail "a file escaped the image root"
[ "$(stat_of /.shipyard-script)" = "  " ] || fail "the script was left in the image"

# fstab and the kernel command line name the partitions as they are.
cat_file /etc/fstab >"$T/fstab"
cat "$T/fstab"
root_partuuid=$(sed -n 's/.*configured.raw2 : .*uuid=\([0-9A-F-]*\).*/\1/p' "$T/dump" | tr A-F a-f)
boot_uuid=$(dumpe2fs -h "$T/p1" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')
[ -n "$root_partuuid" ] && [ -n "$boot_uuid" ] || fail "no partition ids read"
expect_line "$T/fstab" "^PARTUUID=$root_partuuid / ext4 defaults 0 1$"
expect_line "$T/fstab" "^UUID=$boot_uuid /boot ext4 nodev,noexec 0 2$"
# Written before the scripts, which may edit it: the edit stays.
expect_line "$T/fstab" '^# edited by the finalize script$' 
[ "$(cat_file /etc/kernel/cmdline)" = \
	"root=PARTUUID=$root_partuuid ro selinux=0 systemd.unified_cgroup_hierarchy=1 console=ttyS0" ] ||
	fail "kernel command line: $(cat_file /etc/kernel/cmdline)"

# RemoveRpmDb: no rpmdb, the container manifest instead; DisableRpmDocs:
# no %doc file, and later installs told so.
debugfs -R 'ls -p /var/lib' "$rootp" 2>/dev/null | grep -q '/rpm/' && fail "the rpmdb is still there"
cat_file /var/lib/rpmmanifest/container-manifest-1 >"$T/cm"
expect_line "$T/cm" '^shadow-utils-1\.0-1\..*\.noarch$'
debugfs -R 'stat /usr/share/doc/shadow-utils/README' "$rootp" 2>&1 | grep -q 'File not found' ||
	fail "a %doc file was installed"
expect_line "$T/run.out" '^shipyard/image/configured success'
cat_file /etc/rpm/macros.image-nodocs | grep -q '^%_excludedocs 1$' || fail "no %_excludedocs"

# manifest.json: each artifact's size and digest, each package's RPM.
jq -r '.artifacts[] | "\(.file) \(.size) \(.sha256)"' "$img/manifest.json" >"$T/arts"
read -r file size sum <"$T/arts"
[ "$file" = configured.raw ] || fail "manifest artifact $file"
[ "$size" = "$(stat -c %s "$img/configured.raw")" ] || fail "manifest size $size"
[ "$sum" = "$(sha256sum <"$img/configured.raw" | cut -d' ' -f1)" ] || fail "manifest digest"
[ "$(jq '.package_files | length' "$img/manifest.json")" = "$(jq '.packages | length' "$img/manifest.json")" ] ||
	fail "package_files and packages differ"
jq -e '.package_files[] | select(.nevra | startswith("shadow-utils-")) | .size > 0' \
	"$img/manifest.json" >/dev/null || fail "no shadow-utils RPM in the manifest"
# The build key: the artifact directory that holds the same RPM.
key=$(jq -r '.package_files[] | select(.nevra | startswith("shadow-utils-")) | .build_key' \
	"$img/manifest.json")
file=$(jq -r '.package_files[] | select(.nevra | startswith("shadow-utils-")) | .file' \
	"$img/manifest.json")
[ -f "$state/artifacts/$key/$file" ] || fail "build key '$key' does not hold $file"

# A changed script is a changed image: the key covers the files applied.
echo 'echo "post-install: changed"' >>"$cfgs/scripts/post.sh"
git_ -C "$repo" commit -q -am "post.sh changed"
"$SHIPYARD" run --repo "$repo" --state "$state" >"$T/run2.out" 2>"$T/run2.err" ||
	{ cat "$T/run2.out" "$T/run2.err"; fail "second run failed"; }
expect_line "$T/run2.out" '^shipyard/image/configured success composed'
echo "ok"
