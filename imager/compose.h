/* Composing an image: the package closure of a config (imager/closure.h)
 * installed into a fresh root with a librpm transaction run inside a
 * sandboxed child (as builds fill their roots), and written as the config's
 * artifacts (imager/artifacts.h). */
#ifndef IMAGER_COMPOSE_H
#define IMAGER_COMPOSE_H

#include "common/error.h"
#include "common/strv.h"
#include "imager/closure.h"
#include "imager/disk.h"
#include "imager/imageconfig.h"

/* Composes cfg: closure, install into work_dir/rootfs (created; removed when
 * done), artifacts written to out_dir (created) as
 * "<artifact name>.<compression>" e.g. "core.tar.gz", plus
 * "manifest.json" listing the NEVRAs; disk images, squashfs and iso
 * artifacts as imager/disk.h makes them, with identifiers and times from inputs
 * (the root's times clamped to inputs->epoch first, so that every artifact is
 * reproducible). Fills artifacts with the artifact paths. The packages' scriptlets are untrusted (docs/design.md, "Trust"): the
 * install runs in a forked child with its own mount, pid, network, IPC and
 * UTS namespaces, pivot_root'ed into the root (with a fresh /dev, a partly
 * read-only /proc and the repository read-only at /.shipyard-rpms) and
 * with capabilities cut to a container's default set without CAP_MKNOD;
 * DisableRpmDocs leaves %doc files out, and after the packages the same
 * sandbox applies SystemConfigs[0] (imager/customize.h: accounts, keys,
 * files, fstab and /etc/kernel/cmdline for a disk with partitions, the
 * config's scripts, RemoveRpmDb); the manifest also records each
 * package's RPM file and build key and each artifact's size and SHA-256
 * (imager/artifacts.h);
 * /dev and /proc stay in the image only when a package owns them, and
 * /.shipyard-rpms never does. The install is killed after an hour.
 * Messages, librpm's output and scriptlet output go to log_fd (-1:
 * discarded). Must run as root. Returns 0 or -1 with err ("image core:
 * /: transaction failed: ..."). */
int imager_compose(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   const char *work_dir, const char *out_dir, int log_fd,
		   const struct imager_inputs *inputs, struct sy_strv *artifacts,
		   struct sy_error *err);

#endif
