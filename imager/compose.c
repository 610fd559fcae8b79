#include "imager/artifacts.h"
#include "imager/bootloader.h"
#include "imager/closure.h"
#include "imager/cmdline.h"
#include "imager/compose.h"
#include "imager/customize.h"
#include "imager/disk.h"
#include "imager/filesystem.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"
#include "sandbox/rootinstall.h"

/* The sandbox's after_install: the config applied in the root, which is
 * "/" there; script output goes to the log (the sandbox's stdout). */
static int customize_in_sandbox(void *arg, struct sy_error *err)
{
	struct imager_customize *c = arg;
	int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (rootfd < 0)
		return sy_error_set(err, "/: %s", strerror(errno));
	c->log_fd = 1;
	c->run_scripts = 1;
	rc = imager_customize_root(c, rootfd, err);
	close(rootfd);
	return rc;
}

/* Fills the texts the configuration step writes that derive from the disk
 * layout: /etc/fstab and the kernel command line (written for a disk with
 * partitions, or when KernelCommandLine is given). Caller frees both. */
static int boot_texts(const struct imager_config *cfg, const struct imager_inputs *in,
		      char **fstab, char **cmdline, struct sy_error *err)
{
	struct imager_disk_layout l;
	int parts = cfg->ndisks && cfg->disks[0].npartitions;

	*fstab = *cmdline = NULL;
	if (parts) {
		if (imager_disk_layout(cfg, in->key, &l, err))
			return -1;
		*fstab = imager_disk_fstab(&l);
		*cmdline = imager_kernel_cmdline(cfg, &l);
		imager_disk_layout_release(&l);
	} else if (cfg->nsystems && cfg->systems[0].has_kernel_cmdline) {
		*cmdline = imager_kernel_cmdline(cfg, NULL);
	}
	return 0;
}

int imager_compose(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   const char *work_dir, const char *out_dir, int log_fd,
		   const struct imager_inputs *inputs, struct sy_strv *artifacts,
		   struct sy_error *err)
{
	struct sy_strv nevras = SY_STRV_INIT, rpms = SY_STRV_INIT;
	char *rootfs = sy_xasprintf("%s/rootfs", work_dir), *abs_root = NULL;
	char *fstab = NULL, *cmdline = NULL;
	struct sy_error ignored;
	int rc;

	rc = imager_artifacts_check(cfg, err);
	if (rc == 0)
		rc = imager_closure(cfg, repo_dir, arch, &nevras, &rpms, err);
	if (rc == 0)
		rc = boot_texts(cfg, inputs, &fstab, &cmdline, err);
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
	struct imager_customize custom = {
		.cfg = cfg, .key = inputs->key, .epoch = inputs->epoch, .fstab = fstab,
		.cmdline = cmdline, .nevras = &nevras, .log_fd = -1,
	};
	const struct sandbox_root_install in = {
		.rootfs = abs_root, .repo_dirs = repos, .rpms = &rpms,
		.hostname = "shipyard-image", .what = "the image root", .cgroup_name = "image",
		.log_fd = log_fd, .install_time = inputs->epoch,
		.nodocs = cfg->nsystems && cfg->systems[0].disable_rpm_docs,
		.after_install = cfg->nsystems ? customize_in_sandbox : NULL, .after_arg = &custom,
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
		rc = imager_artifacts_write(cfg, rootfs, arch, &nevras, &rpms,
					    inputs->artifacts_dir, out_dir, artifacts, err);
out:
	free(fstab);
	free(cmdline);
	sy_rm_rf(rootfs, &ignored);
	free(abs_root);
	free(rootfs);
	sy_strv_release(&nevras);
	sy_strv_release(&rpms);
	return rc;
}
