#include "imager/artifacts.h"
#include "imager/bootloader.h"
#include "imager/closure.h"
#include "imager/compose.h"
#include "imager/disk.h"
#include "imager/filesystem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "sandbox/rootinstall.h"

int imager_compose(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   const char *work_dir, const char *out_dir, int log_fd,
		   const struct imager_inputs *inputs, struct sy_strv *artifacts,
		   struct sy_error *err)
{
	struct sy_strv nevras = SY_STRV_INIT, rpms = SY_STRV_INIT;
	char *rootfs = sy_xasprintf("%s/rootfs", work_dir), *abs_root = NULL;
	struct sy_error ignored;
	int rc;

	rc = imager_artifacts_check(cfg, err);
	if (rc == 0)
		rc = imager_closure(cfg, repo_dir, arch, &nevras, &rpms, err);
	if (rc)
		goto out;
	if ((rc = sy_rm_rf(rootfs, err)) || (rc = sy_mkdir_p(rootfs, 0755, err)) ||
	    (rc = sy_mkdir_p(out_dir, 0755, err)))
		goto out;
	abs_root = realpath(rootfs, NULL);
	if (!abs_root) {
		rc = sy_error_set(err, "%s: %s", rootfs, strerror(errno));
		goto out;
	}
	if (log_fd >= 0)
		dprintf(log_fd, "image %s: installing %zu packages into %s\n", cfg->name, rpms.n,
			abs_root);
	const char *const repos[] = { repo_dir, NULL };
	const struct sandbox_root_install in = {
		.rootfs = abs_root, .repo_dirs = repos, .rpms = &rpms,
		.hostname = "shipyard-image", .what = "the image root", .cgroup_name = "image",
		.log_fd = log_fd, .install_time = inputs->epoch,
	};
	rc = sandbox_root_install(&in, err);
	if (rc) {
		sy_error_prefix(err, "image %s", cfg->name);
		goto out;
	}
	rc = imager_bootloader_install(cfg, inputs, rootfs, arch, log_fd, err);
	if (rc == 0)
		rc = imager_tree_clamp_times(rootfs, inputs->epoch, err);
	if (rc == 0)
		rc = imager_disk_write(cfg, inputs, rootfs, work_dir, out_dir, log_fd, artifacts, err);
	if (rc == 0)
		rc = imager_artifacts_write(cfg, rootfs, arch, &nevras, out_dir, artifacts, err);
out:
	sy_rm_rf(rootfs, &ignored);
	free(abs_root);
	free(rootfs);
	sy_strv_release(&nevras);
	sy_strv_release(&rpms);
	return rc;
}
