/* What a plan needs of the image configs of a commit (imager_configs_affected):
 * for each config, whether it parses, the repository paths whose change
 * affects it and the packages it lists; kept in the state's kv store.
 *
 * Why: reading and parsing the configs and their package lists (51 configs
 * and 40 lists in Azure Linux) took 3 to 5 ms of every plan, though they
 * rarely change. A summary depends only on the files read, all but a few
 * under the configs directory: the record is keyed by that directory's
 * tree id, and the files read outside it are checked by blob id. */
#ifndef IMAGER_CONFIGSUMMARY_H
#define IMAGER_CONFIGSUMMARY_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* One config. */
struct imager_config_summary {
	char *path;              /* repository path of the config file */
	int error;               /* 1 when it, a package list or a file it applies cannot be read
				  * or does not parse (imager_config_read); then the lists are empty */
	struct sy_strv watched;  /* the config, its package lists, the files SystemConfigs[0]
				  * applies (AdditionalFiles sources, SSHPubKeyPaths,
				  * PostInstallScripts, FinalizeImageScripts): repository paths */
	struct sy_strv packages; /* package specs as the config lists them ("name", "name=1-2") */
};

/* The configs of a commit: the *.json files directly in its configs directory. */
struct imager_config_summaries {
	struct imager_config_summary *items; /* sorted by path */
	size_t n;
};

/* Appends to paths the repository paths of the image configs of commit:
 * the *.json files directly in dir. Returns 0, or -1 with err when dir
 * cannot be listed. */
int imager_config_list(struct gitwatch_repo *repo, const char *commit, const char *dir,
		       struct sy_strv *paths, struct sy_error *err);

/* Fills out with the summaries of the configs in configs_dir at commit:
 * from the kv store of the state database at db_path when a record for the
 * directory's tree is there and the files read outside it are unchanged,
 * else by reading them (then stored, when db_path is not NULL). The
 * summaries are those of reading every config afresh. Returns 0 (release
 * out with imager_config_summaries_release), or -1 with err when the
 * configs cannot be listed. */
int imager_config_summaries_load(struct gitwatch_repo *repo, const char *commit,
				 const char *configs_dir, const char *db_path,
				 struct imager_config_summaries *out, struct sy_error *err);

/* Frees what out holds; leaves it empty. */
void imager_config_summaries_release(struct imager_config_summaries *out);

#endif
