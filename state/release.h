/* The record of a release: <state>/releases/<repo>/<name>/release.json and,
 * for a release that was made, the SBOM beside it, sbom.spdx.json. This
 * file is their one reader and writer; pipeline/release.c makes the
 * release directory around them.
 *
 * release.json (every release, made or skipped):
 *   {"release": NAME, "repo": REPO, "state": "made"|"skipped",
 *    "reason": why it was skipped (skipped only),
 *    "created": "YYYY-MM-DDTHH:MM:SSZ", "commit": 40 hex digits,
 *    "channel": the channel it comes from, "snapshot": the id of the
 *    channel's snapshot it copies (made only), "pipeline": the run's id,
 *    "packages": [{"nevra", "name", "epoch", "version", "release", "arch",
 *                  "sha256", "license", "sourcerpm", "file"}],
 *    "images": [{"config", "build", "files": [{"name", "sha256", "bytes"}]}],
 *    "sbom": "sbom.spdx.json" (made only)}
 * "file" is a path in the release's repo/, an image file's name one in
 * images/<config>/.
 *
 * sbom.spdx.json is an SPDX 2.3 JSON document ("SPDX Lite" fields): one
 * package per binary RPM with its name, versionInfo ("[E:]V-R"), SHA256
 * checksum, licenseDeclared (the License tag when it reads as an SPDX
 * expression, else NOASSERTION with the tag in licenseComments),
 * sourceInfo naming the source RPM, and a purl
 * ("pkg:rpm/<repo>/<name>@<V>-<R>?arch=<arch>&epoch=<E>&upstream=<srpm>");
 * the document DESCRIBES each. Tools that read SPDX (and dnf-less auditors)
 * take it as it is; release.json carries the same list for the API.
 *
 * Releases written before release directories were self-contained have no
 * "state" (read as made), "snapshot" as a path and no packages. */
#ifndef STATE_RELEASE_H
#define STATE_RELEASE_H

#include <stddef.h>

#include "common/error.h"
#include "common/strv.h"

/* What became of a release. */
enum state_release_state {
	STATE_RELEASE_MADE,    /* its directory holds the repository and images */
	STATE_RELEASE_SKIPPED, /* only release.json, saying why */
	STATE_RELEASE_NSTATES,
};

/* "made", "skipped". */
const char *state_release_state_name(enum state_release_state state);

/* One binary package of a release (and of a snapshot's repodata,
 * repo-publish/contents.h). */
struct state_release_package {
	char *name, *epoch, *version, *release, *arch; /* epoch "0" when none */
	char *sha256;    /* 64 hex digits */
	char *license;   /* the License tag, "" when none */
	char *sourcerpm; /* "greet-1.0-1.src.rpm", "" when none */
	char *file;      /* path in the release's repo/ */
};

/* One file of an image build of a release. */
struct state_release_file {
	char *name;      /* file name in images/<config>/ */
	char *sha256;    /* 64 hex digits */
	long long bytes;
};

/* One image build of a release. */
struct state_release_image {
	char *config;    /* image config name */
	char *build;     /* the build's id under <state>/images/<config>/ */
	struct state_release_file *files;
	size_t nfiles;
};

/* A release record. Read back, every string is owned (release with
 * state_release_release); written, nothing is. */
struct state_release {
	char *repo;     /* configured repository name */
	char *name;     /* "<branch>-<YYYYMMDD-HHMM>" for a scheduled one */
	enum state_release_state state;
	char *reason;   /* skipped: why ("build failed: hello"); else NULL */
	char *created;  /* UTC "YYYY-MM-DDTHH:MM:SSZ" */
	char *commit;   /* 40 hex digits, or NULL when unknown */
	char *channel;  /* the channel it comes from, or NULL */
	char *snapshot; /* made: the id of the channel snapshot copied */
	char *pipeline; /* the run's id, or NULL */
	struct state_release_package *packages;
	size_t npackages;
	struct state_release_image *images;
	size_t nimages;
};

/* Writes rec's files into dir (a release directory being made, normally
 * state_release_tmp_dir): sbom.spdx.json when rec is made, then
 * release.json, each atomically. Returns 0 or -1 with err. */
int state_release_write(const char *dir, const struct state_release *rec, struct sy_error *err);

/* Records a skipped release: rec->state must be STATE_RELEASE_SKIPPED
 * with a reason. Its directory holds only release.json and appears whole
 * (written beside, then renamed). Returns 1 when recorded, 0 when the
 * release already has a record (nothing written: a release is never
 * changed once recorded), -1 with err. */
int state_release_record_skipped(const char *state, const struct state_release *rec,
				 struct sy_error *err);

/* Reads release.json of <repo>/<name>. Returns 1 when found, 0 when there is
 * no such release, -1 with err when it cannot be read. Release with
 * state_release_release. */
int state_release_read(const char *state, const char *repo, const char *name,
		       struct state_release *rec, struct sy_error *err);

/* Returns 1 when <repo>/<name> has a record (made or skipped), else 0. */
int state_release_exists(const char *state, const char *repo, const char *name);

/* Lists the releases that have a release.json, newest name first within each
 * repository, repositories by name: repos->items[i] and names->items[i] name
 * one (appended). A missing releases directory gives none. */
void state_release_list(const char *state, struct sy_strv *repos, struct sy_strv *names);

/* Frees the strings of one package. */
void state_release_package_release(struct state_release_package *p);

/* Frees the record's strings and lists. */
void state_release_release(struct state_release *rec);

#endif
