/* The image stage of a pipeline: every image config of the commit whose
 * package closure (resolved against the channel's current repository) or
 * config changed since its last composition is composed again, with a
 * "shipyard/image/<config>" status each. */
#ifndef SERVICE_IMAGESTEP_H
#define SERVICE_IMAGESTEP_H

#include "common/error.h"
#include "gitwatch/repo.h"
#include "service/status.h"

/* Inputs of the image stage. */
struct service_image_step {
	struct gitwatch_repo *repo;
	const char *commit;       /* commit whose image configs are composed */
	const char *configs_dir;  /* "toolkit/imageconfigs": its *.json files */
	const char *repos_dir;    /* <state>/repos */
	const char *channel;      /* repository channel the images install from */
	const char *state_dir;    /* images go to <state>/images/<config>/<id>/ with
				   * <state>/images/<config>/latest -> <id> */
	const char *arch;         /* "x86_64" */
	struct service_reporter *reporter;
};

/* Composes what changed. Returns 0 when every config succeeded or was
 * unchanged, 1 when some failed (their statuses say why), -1 with err set
 * when the configs cannot be listed. Nothing is composed while the channel
 * has no published repository. */
int service_image_step_run(const struct service_image_step *step, struct sy_error *err);

#endif
