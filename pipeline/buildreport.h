/* The reports of a pipeline's build stage, written next to its job logs:
 * build_state.csv in the Azure Linux toolkit's format (RecordBuildSummary:
 * header "Package,State,Blocker,IsTest") and build-summary.json with every
 * job's state, reason, timings and outputs. */
#ifndef PIPELINE_BUILDREPORT_H
#define PIPELINE_BUILDREPORT_H

#include "planner/index.h"
#include "planner/plan.h"
#include "builder/schedule.h"
#include "common/error.h"

/* Writes <dir>/build_state.csv and <dir>/build-summary.json (atomically) for
 * the plan's entries and their results (plan->n entries) at commit.
 * build_state.csv has one row per job: Package = the SRPM file name
 * ("zlib-1.3-1.azl3.src.rpm", as built or reused: with a rebuild counter,
 * "zlib-1.3-1.azl3.2.src.rpm"; the spec's for a job without one), State = Built, PreBuilt (reused: an
 * artifact with the same build key existed, the toolkit's word), Unchanged,
 * Failed, Blocked or Skipped, Blocker = "<srpm>-FAIL" of the failed spec
 * that blocked it (space-separated, as the toolkit writes them), IsTest = 0; a spec whose %check ran
 * (--run-check) gets a second row with IsTest = 1 and State Built (passed) or
 * Failed, as the toolkit records its test nodes. build-summary.json's jobs
 * also name their "srpm" file (or null), "rebuild_counter" (0: none),
 * "release_suffix" (null when not built), "warning" (or null) and
 * "artifacts": per binary RPM {"file", "nevra" (RPMTAG_NEVRA), "bytes",
 * "sha256" of the file}, those null and "error" set when it cannot be read.
 * elapsed_s is the stage's wall time. Returns 0, or -1 with err set when a
 * file cannot be written. */
int pipeline_build_report_write(const char *dir, const char *commit,
			       const struct planner_index *index, const struct planner_plan *plan,
			       const struct builder_job_result *results, double elapsed_s,
			       struct sy_error *err);

#endif
