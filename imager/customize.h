/* An image config's SystemConfigs[0] applied in the composed root, in the
 * install's sandbox right after the packages (sandbox/rootinstall.h
 * after_install: the root is "/", no network, capabilities cut, the
 * install's limits and deadline), in the Azure Linux toolkit imager's
 * order (tools/imager, installutils):
 *
 *   1. Hostname -> /etc/hostname;
 *   2. Groups and Users -> /etc/group, /etc/gshadow, /etc/passwd,
 *      /etc/shadow (imager/accounts.h), new users' home directories
 *      (0700, theirs, with the regular files directly in /etc/skel),
 *      SSHPubKeyPaths and SSHPubKeys ->
 *      <home>/.ssh/authorized_keys (0600 in a 0700 .ssh, the user's);
 *   3. AdditionalFiles (Permissions, else 0644; owner root);
 *   4. /etc/fstab (imager_disk_fstab) and /etc/kernel/cmdline
 *      (imager/cmdline.h); DisableRpmDocs -> /etc/rpm/macros.image-nodocs
 *      (%_excludedocs 1, so that later installs leave docs out too);
 *   5. PostInstallScripts, then FinalizeImageScripts: each written to
 *      /.shipyard-script and run as `/bin/sh -c "/.shipyard-script Args"`
 *      in a clean environment, output into the image log, killed after
 *      IMAGER_SCRIPT_TIMEOUT_S; a non-zero exit fails the image;
 *   6. RemoveRpmDb: /var/lib/rpmmanifest/container-manifest-1 (the NEVRAs),
 *      then /var/lib/rpm removed (after the scripts, which may query it).
 *
 * Every path is written through imager/rootfile.h, so that a link the
 * packages or the config made cannot lead a write out of the root. */
#ifndef IMAGER_CUSTOMIZE_H
#define IMAGER_CUSTOMIZE_H

#include "common/error.h"
#include "common/strv.h"
#include "imager/imageconfig.h"

/* Wall-clock limit of one script, seconds. */
#define IMAGER_SCRIPT_TIMEOUT_S 1800

/* What to apply. Nothing is owned. */
struct imager_customize {
	const struct imager_config *cfg; /* its files loaded (imager_config_load_files) */
	const char *key;                 /* image key (hex): password salts */
	long long epoch;                 /* time of every file written, seconds */
	const char *fstab;               /* /etc/fstab text, or NULL: none */
	const char *cmdline;             /* kernel command line (one line, no
					  * '\n'), or NULL: no /etc/kernel/cmdline */
	const struct sy_strv *nevras;    /* installed packages (RemoveRpmDb's
					  * manifest) */
	int log_fd;                      /* messages and script output; -1: none */
	int run_scripts;                 /* 1: run the scripts and remove the
					  * rpmdb (steps 5 and 6), which need
					  * the root to be "/" */
};

/* Applies c to the root open at rootfd (a directory fd). Returns 0, or -1
 * with err naming the config and the item ("x.json: SystemConfigs[0].
 * Users[0]: UID 0 is taken by root", "x.json: SystemConfigs[0].
 * PostInstallScripts[0]: scripts/a.sh exited with status 2"). */
int imager_customize_root(const struct imager_customize *c, int rootfd, struct sy_error *err);

#endif
