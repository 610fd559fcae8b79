/* The image stage: every image config of a commit (the *.json files directly
 * in its config directory) whose package closure, resolved against a
 * published repository, or whose text changed since its last composition is
 * composed again (imager/compose.h) into a new build
 * <state>/images/<config>/<id>/ (imager/images.h), with closure.sha256
 * holding the SHA-256 of the config text and closure (the image key, from
 * which every UUID of its disks derives; times come from the commit's), and
 * <state>/images/<config>/latest switched to it. What happens to each
 * config is told to a callback as it goes, so that the caller can turn it
 * into statuses. */
#ifndef IMAGER_STAGE_H
#define IMAGER_STAGE_H

#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/changeset.h"
#include "imager/imageconfig.h"
#include "gitwatch/repo.h"
#include "planner/commit.h"
#include "planner/plan.h"

/* Where one config stands. */
enum imager_outcome {
	IMAGER_WORKING,   /* started a step; the text says which */
	IMAGER_COMPOSED,  /* final: composed; the text names the artifact */
	IMAGER_UNCHANGED, /* final: same config text and closure as latest */
	IMAGER_FAILED,    /* final: the text says why */
};

/* Told about config (its file name without ".json") as it goes; text is one
 * line ("resolving packages", "composed core.tar.gz (12 packages)"). */
typedef void (*imager_report_fn)(void *arg, const char *config, enum imager_outcome outcome,
				 const char *text);

/* What to compose. Nothing is owned. */
struct imager_stage {
	struct gitwatch_repo *repo;
	const char *commit;        /* commit whose image configs are read */
	const char *configs_dir;   /* repository path of the config directory */
	const char *const *only;   /* NULL-terminated config names to consider, or
				    * NULL: every config of the directory */
	int force;                 /* 1: compose even an unchanged config */
	const char *repo_dir;      /* published repository to install from */
	const char *state;         /* state directory: images/ and builds/ */
	const char *log_dir;       /* "image-<config>.log" per config is written here */
	const char *arch;          /* target arch, "x86_64" */
	unsigned long long max_disk_mib; /* largest disk MaxSize a config may ask,
				    * MiB (shipyard.conf image.maxdisksize); 0:
				    * IMAGER_MAX_DISK_MIB_DEFAULT */
	int boot_test;             /* 1: boot the raw and qcow2 artifacts of
				    * every BootType efi config composed
				    * (imager/boottest.h; shipyard.conf
				    * image.boottest); its outcome is the
				    * config's final report, "booted in 13.2 s
				    * (core.raw)", and the console goes to the
				    * config's log */
	unsigned boot_timeout_s;   /* a boot's deadline, seconds; 0: the default */
	imager_report_fn report;   /* may be NULL */
	void *report_arg;
};

/* Runs the stage. Returns 0 when every config was composed or unchanged, 1
 * when some failed (the callback heard why), -1 with err when the configs
 * cannot be listed or a name of s->only is not a config of the directory
 * ("no image config 'x' in toolkit/imageconfigs"). */
int imager_stage_run(const struct imager_stage *s, struct sy_error *err);

/* Reads one image config of commit: config is its name (its file name
 * without ".json", in configs_dir) or the repository path of a config file
 * (ending in ".json"), as the toolkit's CONFIG_FILE names one. Returns 0
 * with cfg filled (release with imager_config_release), or -1 with err (the
 * file is not in the commit, or does not parse: imager_config_parse). */
int imager_config_read(struct gitwatch_repo *repo, const char *commit, const char *configs_dir,
		       const char *config, struct imager_config *cfg, struct sy_error *err);

/* Appends to out the repository paths of the image configs of head that a
 * plan affects: the config, one of its package lists or a file it applies
 * (AdditionalFiles, scripts, SSH key files) changed in changes,
 * or a package it lists, or one that package Requires (through the graph's
 * runtime edges), comes from a spec of the plan. A config that does not
 * parse counts as affected. configs_dir is the head's config directory;
 * db_path, the state database whose kv store keeps what the configs list
 * (imager/configsummary.h), or NULL to read them all. Returns 0, or -1 with
 * err when the configs cannot be listed. */
int imager_configs_affected(struct gitwatch_repo *repo, const struct planner_commit *head,
			    const char *configs_dir, const char *db_path,
			    const struct planner_plan *plan, const struct gitwatch_changeset *changes,
			    struct sy_strv *out, struct sy_error *err);

#endif
