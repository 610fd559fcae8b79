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
 *   [sources]
 *       url = https://src.example/sources      ; <url>/<file>, the toolkit's
 *                                  ; SOURCE_URL; or a template with %{name},
 *                                  ; %{file}, %{sha256} (planner_source_url_parse);
 *                                  ; repeatable: tried in order
 *       signatures = enforce       ; or skip, update
 *   [plan]
 *       maxrebuild = 200           ; cascade guard: a plan with more specs
 *                                  ; to build waits for --approve
 *   [publish]
 *       rebuildsuffix = .%{counter} ; what a rebuild's Release gets after
 *                                  ; the dist tag (builder/rebuild.h);
 *                                  ; "" for nothing
 *   [image]
 *       maxdisksize = 64g          ; the largest disk (MaxSize) an image
 *                                  ; config may ask for (imager/disk.h)
 * Without the file, Azure Linux's defaults apply (dist .azl3, azl 3,
 * with_check 0, SPECS, SPECS-EXTENDED and SPECS-SIGNED, toolkit/imageconfigs,
 * macros auto-detected, the toolkit's worker manifest, transitive) and
 * rebuilds are counted (.%{counter}). */
#ifndef PLANNER_DISTRO_H
#define PLANNER_DISTRO_H

#include "planner/buildkey.h"
#include "planner/macros.h"
#include "common/confkeys.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/repo.h"

/* Every key shipyard.conf may hold, with its default and a line of
 * description (planner/distrokeys.c, the one place a key is added): any
 * other key or section is refused ("shipyard.conf:4: distro.spectre:
 * unknown key (did you mean distro.spectree?)"). */
extern const struct sy_conf_key planner_distro_keys[];
extern const size_t planner_distro_nkeys;

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

/* The placeholders of a sources.url template, each replaced by its value,
 * percent-encoded, when a Source is downloaded (builder_fetch_source_url). */
enum planner_source_field {
	PLANNER_SOURCE_NAME,   /* %{name}: the spec's source package Name */
	PLANNER_SOURCE_FILE,   /* %{file}: the Source's basename */
	PLANNER_SOURCE_SHA256, /* %{sha256}: its SHA-256 in the signatures file */
};

/* Reads the placeholder at text, which starts with "%{": returns its field,
 * or -1 when it names none (or has no closing '}'); *len gets its length up
 * to and including the '}' (to the end of text when there is none). */
int planner_source_placeholder(const char *text, size_t *len);

/* Checks one sources.url value and returns in *template (newly allocated,
 * caller frees) the URL template it stands for. A value without "%{" is the
 * Azure Linux toolkit's SOURCE_URL, a directory of every source by file
 * name: it stands for "<value>/%{file}". A template names where one Source
 * is, its placeholders (enum planner_source_field) filled in: Fedora's
 * lookaside is "https://host/repo/pkgs/%{name}/%{file}/sha256/%{sha256}/%{file}",
 * a shipyard source cache "file:///var/lib/shipyard/sources/%{sha256}".
 * Refused, with err ("'ftp://x': not an http, https or file URL"; the
 * caller names the key): a scheme other than http://, https:// or file://
 * (a file URL must be file:///<absolute path>), an http(s) URL with no host,
 * a space or control character, an unknown or unclosed placeholder, and a
 * placeholder before the path (a spec's names must not choose the host).
 * Returns 0 or -1. */
int planner_source_url_parse(const char *value, char **template, struct sy_error *err);

/* Checks a publish.rebuildsuffix value: "" (no counter), or text of
 * [A-Za-z0-9._+] naming "%{counter}" exactly once and starting with '.', '_'
 * or '+', so that the counter is a Release field of its own (rpm's version
 * comparison splits at those) and a rebuild always sorts after the build
 * before it ('~' would sort before, '-' ends a Release, and a first letter
 * or digit would run into the dist tag's last field). Returns 0, or -1 with
 * err ("'~%{counter}': ...", the caller names the key). */
int planner_rebuild_suffix_check(const char *form, struct sy_error *err);

/* Returns the Release suffix of rebuild counter counter in form (checked by
 * planner_rebuild_suffix_check): "" for counter 0 or an empty form, else
 * form with "%{counter}" replaced by the decimal counter (".%{counter}", 2
 * -> ".2"). Newly allocated; caller frees. */
char *planner_rebuild_suffix(const char *form, unsigned counter);

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
	struct sy_strv source_urls;  /* sources.url, repeatable: URL templates
				      * (planner_source_url_parse) Sources
				      * missing from a spec directory are
				      * downloaded from, tried in order; empty:
				      * none */
	enum planner_signature_mode signatures; /* sources.signatures: enforce
				      * (default), skip or update */
	struct planner_policy policy;  /* default rebuild policy */
	struct sy_strv policy_specs;   /* specs with their own policy ... */
	struct planner_policy *policies; /* ... and that policy, parallel */
	size_t max_rebuild;            /* plan.maxrebuild: a plan with more specs
				      * to build than this needs approval
				      * (planner/cascade.h); 0: no limit */
	char *rebuild_suffix;          /* publish.rebuildsuffix: the form of a
				      * rebuild's Release suffix
				      * (planner_rebuild_suffix), ".%{counter}"
				      * by default; "": rebuilds keep the
				      * spec's Release */
	int publish_sqlite;            /* publish.sqlite: 1 when published
				      * snapshots also carry sqlite repodata
				      * for yum-era clients; 0 (default): XML
				      * only, what dnf and tdnf read */
	unsigned long long image_max_disk_mib; /* image.maxdisksize in MiB: the
				      * largest MaxSize of an image config; 0:
				      * imager/disk.h's default (64 GiB) */
	int image_boot_test;           /* image.boottest: 1 when every composed
				      * BootType efi image is booted in QEMU
				      * (imager/boottest.h); 0 (default): not */
	unsigned image_boot_timeout_s; /* image.boottimeout: a boot's deadline in
				      * seconds; 0: imager/boottest.h's default */
};

/* Looks up the rebuild policy of one spec (planner_key_settings.spec_policy
 * with arg = the distro): returns 1 and sets *policy when the spec has its
 * own. */
int planner_distro_spec_policy(void *distro, const char *spec, struct planner_policy *policy);

/* Reads shipyard.conf at commit (if present) through a temporary file under
 * tmpdir. A file with an [include] or [includeIf] section is refused
 * ("shipyard.conf:3: include sections are not supported"): libgit2 would
 * follow it to any host file; so is a key or section planner_distro_keys
 * does not hold. Returns 0 or -1 ("shipyard.conf: <libgit2
 * message>", "shipyard.conf: plan.maxrebuild: 'x' is not a number >= 0").
 * Release with planner_distro_release. */
int planner_distro_load(struct gitwatch_repo *repo, const char *commit, const char *tmpdir,
			struct planner_distro *distro, struct sy_error *err);

/* Reads the shipyard.conf file at path (on disk) over Azure Linux's defaults
 * into *distro, as planner_distro_load does with the file of a commit;
 * config_blob stays NULL. Returns 0, or -1 with err set ("shipyard.conf:
 * <libgit2 message>", "shipyard.conf: distro.rebuildpolicy: ...",
 * "shipyard.conf: sources.url: 'ftp://x': not an http, https or file
 * URL", "shipyard.conf: publish.sqlite: 'x' is not a boolean"). Release distro with planner_distro_release whatever the result. */
int planner_distro_read_file(const char *path, struct planner_distro *distro,
			     struct sy_error *err);

/* Fills macro settings that point into distro (valid while distro lives);
 * arch may be NULL (x86_64). */
void planner_distro_macro_settings(const struct planner_distro *distro, const char *arch,
				   struct planner_macro_settings *settings);

/* Frees the settings. */
void planner_distro_release(struct planner_distro *distro);

#endif
