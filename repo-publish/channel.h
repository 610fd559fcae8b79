/* Publishing one commit to a channel: which packages the channel's next
 * snapshot holds (for every spec of the commit, the artifact of its build
 * key, else what the channel already has), which built specs are held back
 * because their dependency group has failures, a new snapshot
 * (repo-publish/publish.h) only when that set differs from the current one,
 * and the channel's published.json record (state/layout.h). Publications of
 * one channel are serialised by a lock on <state>/repos/<channel>.lock. */
#ifndef REPO_PUBLISH_CHANNEL_H
#define REPO_PUBLISH_CHANNEL_H

#include <stddef.h>

#include "builder/schedule.h"
#include "common/error.h"
#include "common/strv.h"
#include "planner/commit.h"
#include "planner/plan.h"
#include "repo-publish/publish.h"

/* Appends to set (NULL: only count) the paths in published whose file names
 * are RPMs of spec's binary packages, "<name>-<version>-<release>.<arch>.rpm"
 * matched by name only (the published NEVRA may be older than the spec).
 * Returns how many matched. */
size_t repo_publish_rpms_of(const struct sy_strv *published, const struct planner_spec *spec,
			    struct sy_strv *set);

/* What to publish. Nothing is owned. */
struct repo_publish_request {
	const char *state;                      /* state directory */
	const char *channel;                    /* channel name (one path component) */
	const struct planner_commit *commit;    /* the commit: its specs, graph and keys */
	const struct planner_plan *plan;        /* what this pipeline built, or NULL
						 * (publishing without a build) */
	const struct builder_job_result *results; /* parallel to plan's entries, or NULL */
	const char *worker_root;                /* digest of the worker root the
						 * builds ran in, or NULL */
	const struct sy_strv *worker_packages;  /* its packages' NEVRAs (an rpm
						 * root), or NULL */
	const struct sy_strv *worker_rpms;      /* an rpm root's RPM files, or
						 * NULL: a spec with no artifact for
						 * its key whose packages the root
						 * holds (the toolchain stage built
						 * it) publishes the root's */
	const char *const *only_specs;          /* spec ids (NULL-terminated): the
						 * channel holds these specs' packages
						 * and nothing else (a toolchain
						 * channel); NULL: every spec */
	const char *base_channel;               /* channel whose current snapshot
						 * stands for channel's while channel
						 * has none (a pull request's base
						 * branch's), or NULL; only read */
	const char *sign_key;                   /* file of the OpenPGP secret key
						 * that signs the packages and
						 * repodata (repo-publish/sign.h),
						 * or NULL: unsigned */
};

/* What publishing did. Release with repo_publish_result_release. */
struct repo_publish_result {
	char *snapshot;  /* the new snapshot's path, or NULL when the channel
			  * already held exactly this package set */
	char *current;   /* the channel's current snapshot afterwards, or NULL
			  * when it has none (an empty set is never published) */
	size_t packages; /* files (RPMs and SRPMs) in the set */
	size_t held;     /* built specs held back for their group's failures */
	struct repo_publish_stats stats; /* how the new snapshot's repodata was
					  * made (packages read, entries kept,
					  * a warning); zero without one */
};

/* Publishes req->commit to req->channel under the channel's lock (waiting for
 * another publisher of the channel): collects the package set, makes a
 * snapshot when it changed, and records req->commit as the commit the channel
 * was published from. A spec that failed or was blocked in req->results, and
 * every spec connected to it through build roots within the plan, keeps the
 * packages the channel has (publishing a library's new soname without the
 * programs rebuilt against it would break them); so does a spec with no
 * artifact for its key, unless req->worker_rpms holds all its packages. A channel with no current snapshot yet and a
 * req->base_channel that has one starts from the base's: those specs keep
 * the base's packages, so that a pull request's first publication is as
 * complete as its base and the next run of the pull request learns every
 * provide from it; the first publication always makes a snapshot of the
 * channel's own, and nothing of req->base_channel is changed. With
 * req->sign_key the set is made of signed copies (repo_signer_sign_packages:
 * the same package set is the same files again) and the snapshot is signed
 * before it becomes current; a key that cannot sign fails before anything is
 * made. The packages the kept snapshot holds keep their repodata entries;
 * the commit's shipyard.conf says whether sqlite databases are written too
 * (publish.sqlite). Returns 0, or -1 with err (key, lock, signature,
 * snapshot, record); on error readers see the channel as before. */
int repo_publish_commit(const struct repo_publish_request *req, struct repo_publish_result *res,
			struct sy_error *err);

/* Frees the result's strings. */
void repo_publish_result_release(struct repo_publish_result *res);

#endif
