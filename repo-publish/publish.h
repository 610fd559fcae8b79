/* Publishing RPM repositories: a set of RPM files becomes a new immutable
 * snapshot with createrepo_c metadata (repodata/repomd.xml, primary, filelists,
 * other), and the channel's "current" link is switched to it with one
 * rename(2), so that readers see the old or the new repository, never a mix.
 * Layout (docs/design.md, "On disk"): <repos>/<channel>/snapshots/<id>/ and
 * <repos>/<channel>/current -> snapshots/<id>. */
#ifndef REPO_PUBLISH_H
#define REPO_PUBLISH_H

#include "common/error.h"
#include "common/strv.h"

/* Makes a new snapshot of channel under repos_dir holding exactly the given
 * RPM files (NULL-terminated host paths; hard-linked when on the same
 * filesystem, else copied; SRPMs allowed, they go to the snapshot's SRPMS/),
 * generates its repodata with libcreaterepo_c, fsyncs it, then atomically
 * points <repos_dir>/<channel>/current at it. The snapshot id is the UTC time
 * "YYYYMMDDTHHMMSSZ" plus a counter when taken. *snapshot receives the
 * snapshot's absolute path (caller frees; may be NULL). On error nothing
 * changes for readers: the half-made snapshot is removed. Returns 0 or -1.
 * The packages the channel's current snapshot already holds keep their
 * entries (repo_publish_snapshot_with with default options). */
int repo_publish_snapshot(const char *repos_dir, const char *channel,
			  const char *const *rpm_paths, char **snapshot, struct sy_error *err);

struct repo_signer;

/* How repo_publish_snapshot_with makes the repodata; all zero is the
 * default. */
struct repo_publish_options {
	const char *previous; /* snapshot (absolute path) whose entries the files
			       * it holds keep, or NULL: the channel's current
			       * snapshot */
	int full;             /* 1: read every package, keep nothing (what the
			       * incremental path must equal; for tests and the
			       * bench) */
	int sqlite;           /* 1: also write the sqlite databases yum-era
			       * clients read (createrepo_c --database) */
	struct repo_signer *signer; /* signs the snapshot (repo-publish/sign.h:
				     * repodata/repomd.xml.asc and the public
				     * key, by repo_signer_sign_snapshot) before
				     * current is switched to it, so that no
				     * reader sees it unsigned; rpm_paths are
				     * then the signed copies
				     * (repo_signer_sign_packages). A signature
				     * that fails leaves the channel as it was.
				     * NULL: unsigned */
};

/* What making the repodata did. */
struct repo_publish_stats {
	size_t read;             /* packages whose RPM file was read */
	size_t reused;           /* packages whose entries were kept from the
				  * previous snapshot */
	struct sy_error warning; /* why the previous snapshot's repodata was not
				  * used ("<file>: checksum differs from
				  * repomd.xml"), every package then read; msg
				  * empty when it was or there was none */
};

/* repo_publish_snapshot with options (NULL: the defaults) and what it did
 * (stats may be NULL). A package file that the previous snapshot holds
 * itself (the same file, hard-linked: kept packages and reused artifacts)
 * keeps that snapshot's primary, filelists and other entries instead of
 * being read again (repo-publish/repodata.h); the repodata equals a full
 * generation's. A previous repodata that cannot be read or does not hold
 * together is not used: stats->warning says why and every package is read,
 * which is no error. */
int repo_publish_snapshot_with(const char *repos_dir, const char *channel,
			       const char *const *rpm_paths,
			       const struct repo_publish_options *opts, char **snapshot,
			       struct repo_publish_stats *stats, struct sy_error *err);

/* Lists the binary RPM files (absolute paths, sorted) of the channel's current
 * snapshot into rpms. A channel never published yields an empty list and 0.
 * Returns 0 or -1. */
int repo_publish_list_current(const char *repos_dir, const char *channel, struct sy_strv *rpms,
			      struct sy_error *err);

/* Lists the binary RPM files (absolute paths, sorted) of one snapshot (a
 * path repo_publish_current_path returned, or NULL: none) into rpms. A
 * snapshot is never changed once made, so the list stays true however the
 * channel's current moves on. Returns 0, or -1 with err when its RPMS/
 * cannot be read. */
int repo_publish_list_snapshot(const char *snapshot, struct sy_strv *rpms, struct sy_error *err);

/* Returns the absolute path of the channel's current snapshot (caller frees),
 * or NULL when it was never published. */
char *repo_publish_current_path(const char *repos_dir, const char *channel);

/* The current snapshot of a channel of the state directory state (a const
 * char * passed as void *, the shape of builder_channel_dir_fn, which finds
 * the "channel:NAME" repositories of worker manifests): its absolute path
 * (caller frees), or NULL when the name is not one path component of
 * [A-Za-z0-9._-] or the channel was never published. */
char *repo_publish_channel_dir(void *state, const char *channel);

/* Returns the id of the channel's current snapshot ("YYYYMMDDTHHMMSSZ",
 * the last component of repo_publish_current_path; caller frees), or NULL
 * when it was never published. */
char *repo_publish_current_id(const char *repos_dir, const char *channel);

/* Appends the ids of the channel's snapshots (the names in
 * <repos_dir>/<channel>/snapshots/ not starting with '.'), oldest first, to
 * ids. A channel never published gives none. */
void repo_publish_list_snapshots(const char *repos_dir, const char *channel, struct sy_strv *ids);

#endif
