/* A distribution's own settings, kept in its repository so that they change
 * with the commit being built: an optional "shipyard.conf" at the repository
 * root in git-config syntax (read with libgit2's config API):
 *   [distro]
 *       disttag = .azl3            ; %dist
 *       define = azl 3             ; more defines, repeatable
 *       macrosdir = SPECS/azurelinux-rpm-macros
 *       spectree = SPECS           ; repeatable; default SPECS
 *       imageconfigs = toolkit/imageconfigs
 *       rebuildpolicy = transitive ; or direct, local, layers=N
 *   [spec "curl"]
 *       rebuildpolicy = local      ; per spec (spec file basename)
 * Without the file, Azure Linux's defaults apply (dist .azl3, azl 3,
 * with_check 0, SPECS, SPECS-EXTENDED and SPECS-SIGNED, toolkit/imageconfigs,
 * macros auto-detected, transitive). */
#ifndef BUILDER_DISTRO_H
#define BUILDER_DISTRO_H

#include "builder/buildkey.h"
#include "builder/macros.h"
#include "builder/sources.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* The settings of a distribution at one commit. */
struct builder_distro {
	char *dist_tag;              /* "%dist" value, ".azl3" */
	struct sy_strv defines;      /* "name value" */
	char *macros_dir;            /* repository path, or NULL to auto-detect */
	struct sy_strv spec_trees;   /* "SPECS", ... */
	char *imageconfigs_dir;      /* "toolkit/imageconfigs" */
	char *config_blob;           /* blob id of shipyard.conf, or NULL */
	char *source_url;            /* sources.url: where Sources missing from a
				      * spec directory are downloaded from
				      * ("<url>/<basename>", the toolkit's
				      * SOURCE_URL), or NULL */
	enum builder_signature_mode signatures; /* sources.signatures: enforce
				      * (default), skip or update */
	struct builder_policy policy;  /* default rebuild policy */
	struct sy_strv policy_specs;   /* specs with their own policy ... */
	struct builder_policy *policies; /* ... and that policy, parallel */
};

/* Looks up the rebuild policy of one spec (builder_key_settings.spec_policy
 * with arg = the distro): returns 1 and sets *policy when the spec has its
 * own. */
int builder_distro_spec_policy(void *distro, const char *spec, struct builder_policy *policy);

/* Reads shipyard.conf at commit (if present) through a temporary file under
 * tmpdir. Returns 0 or -1 ("shipyard.conf: <libgit2 message>"). Release with
 * builder_distro_release. */
int builder_distro_load(struct gitwatch_repo *repo, const char *commit, const char *tmpdir,
			struct builder_distro *distro, struct sy_error *err);

/* Fills macro settings that point into distro (valid while distro lives);
 * arch may be NULL (x86_64). */
void builder_distro_macro_settings(const struct builder_distro *distro, const char *arch,
				   struct builder_macro_settings *settings);

/* Frees the settings. */
void builder_distro_release(struct builder_distro *distro);

#endif
