#!/bin/sh
# The confinement config/shipyard.service asks of systemd does not break a
# pipeline. Without systemd as pid 1 the test makes the same file system
# view in a mount namespace of its own: every mount read-only but the state
# directory and the worker cache (ProtectSystem=strict, ReadWritePaths=),
# fresh /tmp and /var/tmp (PrivateTmp=yes), empty /root and /home
# (ProtectHome=), and no_new_privs (NoNewPrivileges=yes); then the example
# distribution's pipeline builds, publishes and composes its image. A
# write outside the state directory fails there, so the view is real.
. "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
grep -q "ProtectSystem=strict" "$TOP/config/shipyard.service" || fail "the unit lost ProtectSystem=strict"
grep -q "NoNewPrivileges=yes" "$TOP/config/shipyard.service" || fail "the unit lost NoNewPrivileges=yes"

# The state directory outside /tmp, which PrivateTmp hides.
S=$(mktemp -d "$TOP/build/confinement-XXXXXX")
trap 'rm -rf "$T" "$S"' EXIT
minidistro "$S/work"
mkdir -p "$SHIPYARD_WORKER_CACHE"
cache=$(cd "$SHIPYARD_WORKER_CACHE" && pwd -P)
cat >"$T/confine.sh" <<EOF
#!/bin/sh
set -e
mount --make-rprivate /
for m in \$(awk '{print \$5}' /proc/self/mountinfo | sort -u); do
	case \$m in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
	mount -o remount,bind,ro "\$m" 2>/dev/null || true
done
for rw in "$S" "$cache"; do
	mount --bind "\$rw" "\$rw"
	mount -o remount,bind,rw "\$rw"
done
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
mount -t tmpfs -o ro tmpfs /root
[ ! -d /home ] || mount -t tmpfs -o ro tmpfs /home
cd "$S"
if touch /etc/shipyard-confinement-probe 2>/dev/null; then
	rm -f /etc/shipyard-confinement-probe
	echo "CONFINEMENT BROKEN: /etc is writable"
	exit 9
fi
exec setpriv --no-new-privs "$SHIPYARD" run --repo "$S/work" --state "$S/state"
EOF
chmod +x "$T/confine.sh"
rc=0
(cd / && HOME=/root SHIPYARD_WORKER_CACHE=$cache unshare -m "$T/confine.sh") >"$T/run.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$T/run.out"; fail "the pipeline failed under the unit's confinement (exit $rc)"; }
expect_no_line "$T/run.out" 'CONFINEMENT BROKEN'
expect_line "$T/run.out" '^shipyard/build success [0-9]+ built'
expect_line "$T/run.out" '^shipyard/image/minimal-container success'
[ -d "$S/state/repos/main" ] || fail "nothing published to the state directory"
echo "PASS: a pipeline builds, publishes and composes under ProtectSystem=strict, PrivateTmp, ProtectHome, NoNewPrivileges"
