/* The image jobs of a run, for the service: each image config the image
 * stage works on is a job "image/<config>" with its state, log, the build
 * it came to and that build's files with their SHA-256, recorded in
 * <run>/images.json (rewritten atomically on every change):
 *
 *   {"images": [{"job": "image/<config>", "config", "state": "running" |
 *     "built" (composed) | "reused" (unchanged: the latest build serves) |
 *     "failed", "text": the stage's last line for it, "log": its log file,
 *     "build": the build id under <state>/images/<config>/ (imager/images.h)
 *     or null, "started", "ended": seconds since the epoch (ended 0 while
 *     running), "artifacts": [{"name", "bytes", "sha256"}] of the build}]}
 *
 * The service's dashboard reads it; the job events of `--events-fd` carry
 * the same states. */
#ifndef PIPELINE_IMAGEREPORT_H
#define PIPELINE_IMAGEREPORT_H

#include <stddef.h>

#include "builder/schedule.h"
#include "common/error.h"
#include "imager/stage.h"

/* One image job. Strings owned by the report. */
struct pipeline_image_job {
	char *config;                 /* image config name */
	char *name;                   /* "image/<config>" */
	enum builder_job_state state; /* RUNNING, BUILT, REUSED or FAILED */
	char *text;                   /* the stage's last line for it */
	char *log;                    /* its log file (path) */
	char *build;                  /* the build it came to, or NULL */
	double started, ended;        /* seconds since the epoch; ended 0 while
				       * it runs */
};

/* The image jobs of one run. */
struct pipeline_image_report {
	struct pipeline_image_job *jobs;
	size_t n;
};

#define PIPELINE_IMAGE_REPORT_INIT { NULL, 0 }

/* Notes what the image stage said of config (imager_report_fn's outcome and
 * text): the first word starts its job, a final outcome ends it (COMPOSED
 * built, UNCHANGED reused: its build is the one <state>/images/<config>/latest
 * names; FAILED failed). log_dir holds its "image-<config>.log" (as
 * imager/stage.h names it). Then writes <run_dir>/images.json. Returns the
 * job (owned by r, valid until the next call), and sets err when the file
 * cannot be written (the job is noted all the same). */
const struct pipeline_image_job *pipeline_image_report_note(struct pipeline_image_report *r,
							    const char *run_dir, const char *state,
							    const char *log_dir, const char *config,
							    enum imager_outcome outcome,
							    const char *text, struct sy_error *err);

/* Frees what r holds. */
void pipeline_image_report_release(struct pipeline_image_report *r);

#endif
