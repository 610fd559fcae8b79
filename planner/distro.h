/* A distribution's own settings, kept in its repository so that they change
 * with the commit being built: an optional "shipyard.conf" at the repository
 * root in git-config syntax (read with libgit2's config API):
 *   [distro]
 *       disttag = .azl3            ; %dist
 *       define = azl 3             ; more defines, repeatable
 *       macrosdir = SPECS/azurelinux-rpm-macros
 *       workermanifest = toolkit/resources/manifests/package/pkggen_core_%s.txt
 *                                  ; the worker root's packages, whose macro
 *                                  ; files specs are read with (%s: the arch;
 *                                  ; "" for none; planner/rootmacros.h)
 *       spectree = SPECS           ; repeatable; default SPECS
 *       imageconfigs = toolkit/imageconfigs
 *       rebuildpolicy = transitive ; or direct, local, layers=N
 *   [spec "curl"]
 *       rebuildpolicy = local      ; per spec (spec file basename)
 *   [plan]
 *       maxrebuild = 200           ; cascade guard: a plan with more specs
 *                                  ; to build waits for --approve
 * Without the file, Azure Linux's defaults apply (dist .azl3, azl 3,
 * with_check 0, SPECS, SPECS-EXTENDED and SPECS-SIGNED, toolkit/imageconfigs,
 * macros auto-detected, the toolkit's worker manifest, transitive). */
#ifndef PLANNER_DISTRO_H
#define PLANNER_DISTRO_H

#include "planner/buildkey.h"
#include "planner/macros.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* How signatures files are used (the toolkit's SRPM_FILE_SIGNATURE_HANDLING,
 * --signature-handling). */
enum planner_signature_mode {
	PLANNER_SIGNATURES_ENFORCE, /* every Source listed and matching (default) */
	PLANNER_SIGNATURES_SKIP,    /* the file is not read, nothing is checked */
	PLANNER_SIGNATURES_UPDATE,  /* the file is rewritten with exactly the
				     * sources used and their digests */
};

/* Parses "enforce", "skip" or "update" into *mode. Returns 0, or -1 with
 * err set ("signature handling 'x': not enforce, skip or update"). */
int planner_signature_mode_parse(const char *text, enum planner_signature_mode *mode,
				 struct sy_error *err);

/* The settings of a distribution at one commit. */
struct planner_distro {
	char *dist_tag;              /* "%dist" value, ".azl3" */
	struct sy_strv defines;      /* "name value" */
	char *macros_dir;            /* repository path, or NULL to auto-detect */
	char *worker_manifest;       /* repository path of the worker manifest, "%s"
				      * standing for the arch; NULL: the toolkit's
				      * pkggen_core_<arch>.txt; "": none */
	struct sy_strv spec_trees;   /* "SPECS", ... */
	char *imageconfigs_dir;      /* "toolkit/imageconfigs" */
	char *config_blob;           /* blob id of shipyard.conf, or NULL */
	char *source_url;            /* sources.url: where Sources missing from a
				      * spec directory are downloaded from
				      * ("<url>/<basename>", the toolkit's
				      * SOURCE_URL), or NULL */
	enum planner_signature_mode signatures; /* sources.signatures: enforce
				      * (default), skip or update */
	struct planner_policy policy;  /* default rebuild policy */
	struct sy_strv policy_specs;   /* specs with their own policy ... */
	struct planner_policy *policies; /* ... and that policy, parallel */
	size_t max_rebuild;            /* plan.maxrebuild: a plan with more specs
				      * to build than this needs approval
				      * (planner/cascade.h); 0: no limit */
};

/* Looks up the rebuild policy of one spec (planner_key_settings.spec_policy
 * with arg = the distro): returns 1 and sets *policy when the spec has its
 * own. */
int planner_distro_spec_policy(void *distro, const char *spec, struct planner_policy *policy);

/* Reads shipyard.conf at commit (if present) through a temporary file under
 * tmpdir. A file with an [include] or [includeIf] section is refused
 * ("shipyard.conf:3: include sections are not supported"): libgit2 would
 * follow it to any host file. Returns 0 or -1 ("shipyard.conf: <libgit2
 * message>", "shipyard.conf: plan.maxrebuild: 'x' is not a number >= 0").
 * Release with planner_distro_release. */
int planner_distro_load(struct gitwatch_repo *repo, const char *commit, const char *tmpdir,
			struct planner_distro *distro, struct sy_error *err);

/* Reads the shipyard.conf file at path (on disk) over Azure Linux's defaults
 * into *distro, as planner_distro_load does with the file of a commit;
 * config_blob stays NULL. Returns 0, or -1 with err set ("shipyard.conf:
 * <libgit2 message>", "shipyard.conf: distro.rebuildpolicy: ..."). Release
 * distro with planner_distro_release whatever the result. */
int planner_distro_read_file(const char *path, struct planner_distro *distro,
			     struct sy_error *err);

/* Fills macro settings that point into distro (valid while distro lives);
 * arch may be NULL (x86_64). */
void planner_distro_macro_settings(const struct planner_distro *distro, const char *arch,
				   struct planner_macro_settings *settings);

/* Frees the settings. */
void planner_distro_release(struct planner_distro *distro);

#endif
