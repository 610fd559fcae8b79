/* The state directory (default ./.shipyard): every path in it is built here,
 * and each record kept there as a file has its one reader and writer here
 * (a release's release.json and SBOM: state/release.h).
 * docs/design.md ("On disk") shows the whole tree:
 *
 *   state.db                    SQLite: events, pipelines, jobs, outbox, caches
 *   tmp/                        macro contexts, temporary files of a plan,
 *                               large kv values (tmp/kv/, state/kv.h)
 *   worker/                     cached worker roots (builder/worker.h owns
 *                               what is inside)
 *   builds/<job>/               per-job scratch, removed after the job
 *   sources/<sha256>            source cache
 *   artifacts/<build key>/      RPMs and SRPM of one build (builder/artifact.h)
 *   signed/<fingerprint>/<sha256>/<file>  a signed copy of a package
 *                               (repo-publish/sign.h owns what is inside)
 *   repos/<channel>/            a channel (repo-publish/publish.h owns
 *                               snapshots/ and current inside it)
 *   repos/<channel>/published.json  the commit it was last published from
 *   repos/<channel>.lock        held while a pipeline publishes to it
 *   images/<config>/<id>/       image artifacts, images/<config>/latest
 *   releases/<repo>/<name>/     releases, each self-contained: release.json,
 *                               sbom.spdx.json, repo/ (the snapshot,
 *                               hard-linked), images/<config>/ (the record:
 *                               state/release.h)
 *   git/<repo>.git              the service's mirror of a repository
 *   pipelines/<id>/             one pipeline run: pipeline.log, plan.json,
 *                               build_state.csv, build-summary.json and
 *                               logs/<job>.log; never shared with another run
 *   trash/                      what a collection removes, renamed here
 *                               before it is deleted (state/retention.h)
 *   gc.lock                     held while a collection runs
 *
 * Every function returning char * returns a newly allocated path the caller
 * frees. Names that come from outside (channels, configs, pipeline ids) must
 * already be single path components; the callers check them. */
#ifndef STATE_LAYOUT_H
#define STATE_LAYOUT_H

#include "common/error.h"
#include "common/strv.h"

/* <state>/state.db: the SQLite database (state/db.h). */
char *state_db_path(const char *state);

/* <state>/tmp: macro contexts and other files a plan writes and reuses. */
char *state_tmp_dir(const char *state);

/* <state>/tmp/kv/<name>: a value of the kv store large enough to be a file
 * (state/kv.h); name is a hex digest. */
char *state_kv_file(const char *state, const char *name);

/* <state>/worker: the default worker root cache (builder/worker.h). */
char *state_worker_dir(const char *state);

/* <state>/builds: per-job scratch directories; <state>/builds/<name> one of
 * them (a build's, an image's, or a probe's). */
char *state_builds_dir(const char *state);
char *state_build_dir(const char *state, const char *name);

/* <state>/sources: the source cache, files named by their SHA-256. */
char *state_sources_dir(const char *state);

/* <state>/artifacts, and <state>/artifacts/<key> for one build key. */
char *state_artifacts_dir(const char *state);
char *state_artifact_dir(const char *state, const char *key);

/* <state>/signed/<fingerprint>: the copies of packages signed with the
 * OpenPGP key of that fingerprint (repo-publish/sign.h), never the key. */
char *state_signed_dir(const char *state, const char *fingerprint);

/* <state>/repos, and <state>/repos/<channel> for one channel. */
char *state_repos_dir(const char *state);
char *state_channel_dir(const char *state, const char *channel);

/* <state>/repos/<channel>.lock: the file a publisher holds locked. */
char *state_channel_lock_path(const char *state, const char *channel);

/* <state>/images, and <state>/images/<config> for one image config. */
char *state_images_dir(const char *state);
char *state_image_dir(const char *state, const char *config);

/* <state>/releases, and <state>/releases/<repo>/<name> for one release. */
char *state_releases_dir(const char *state);
char *state_release_dir(const char *state, const char *repo, const char *name);

/* <state>/releases/<repo>/.<name>.tmp-<pid>: where a release is made
 * before it is renamed to its name (names starting with '.' are no
 * release). */
char *state_release_tmp_dir(const char *state, const char *repo, const char *name);

/* <state>/git/<repo>.git: the service's bare mirror of a repository. */
char *state_mirror_dir(const char *state, const char *repo);

/* <state>/pipelines, and <state>/pipelines/<id> for one pipeline run. */
char *state_pipelines_dir(const char *state);
char *state_pipeline_dir(const char *state, const char *id);

/* <state>/pipelines/<id>/<name>: a report of the run ("pipeline.log",
 * "plan.json", "build_state.csv", "build-summary.json"). */
char *state_pipeline_file(const char *state, const char *id, const char *name);

/* <state>/pipelines/<id>/logs: the job logs of the run, "<job>.log" each. */
char *state_pipeline_logs_dir(const char *state, const char *id);

/* <state>/pipelines/<id>/logs/<job>.log: the log of one job of the run. */
char *state_pipeline_job_log(const char *state, const char *id, const char *job);

/* <state>/logs: where releases before run directories kept job logs
 * (logs/<commit>/<job>.log). Never written now; read only for the log files
 * such a release recorded for its pipelines' jobs. */
char *state_legacy_logs_dir(const char *state);

/* <state>/trash: where a collection moves what it removes before deleting
 * it (state/retention.h). */
char *state_trash_dir(const char *state);

/* <state>/gc.lock: held while a collection runs (state_gc_lock). */
char *state_gc_lock_path(const char *state);

/* Returns 1 when id can name a pipeline run: 1 to 64 characters of
 * [A-Za-z0-9._-], not starting with '.'; else 0. */
int state_pipeline_id_valid(const char *id);

/* A new id for a pipeline run that the service did not number (a `shipyard
 * run` from the command line): "run-<UTC YYYYMMDDTHHMMSSZ>-<pid>". Newly
 * allocated. */
char *state_pipeline_id_new(void);

/* published.json of a channel: the commit its repository was last published
 * from, the snapshot that holds it and the worker root its builds ran in. */
struct state_published {
	char *commit;   /* 40 hex digits */
	char *snapshot; /* absolute path of the snapshot, or NULL */
	char *worker_root; /* digest of the worker root (builder/worker.h), or
			    * NULL when not recorded */
	struct sy_strv worker_packages; /* NEVRAs of an rpm worker root's
			    * packages, sorted; empty for a debootstrap root */
};

/* Reads <state>/repos/<channel>/published.json into *rec. Returns 1 when
 * found, 0 when the channel has none (never published), -1 with err when the
 * file exists but cannot be read or is not {"commit": "...", ...}. Release
 * with state_published_release. */
int state_published_read(const char *state, const char *channel, struct state_published *rec,
			 struct sy_error *err);

/* Writes <state>/repos/<channel>/published.json atomically (the channel
 * directory is created): {"commit", "snapshot", "worker_root",
 * "worker_packages": [...]} from rec; snapshot and worker_root may be NULL.
 * Returns 0 or -1 with err. */
int state_published_write(const char *state, const char *channel,
			  const struct state_published *rec, struct sy_error *err);

/* Frees the record's strings. */
void state_published_release(struct state_published *rec);

/* Sets *when to the time <state>/repos/<channel>/published.json was last
 * written (seconds since the epoch, with nanoseconds): the end of the
 * channel's last successful publication, which rewrites it even when the
 * repository did not change. Returns 1, 0 when the channel was never
 * published, or -1 with err when it cannot be examined. */
int state_published_time(const char *state, const char *channel, double *when,
			 struct sy_error *err);

#endif
