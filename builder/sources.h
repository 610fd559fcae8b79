/* Source verification as the Azure Linux toolkit's srpmpacker does it:
 * <spec>.signatures.json next to the spec, {"Signatures": {"file": "sha256"}}
 * with lowercase hex SHA-256 per Source basename; patches are exempt. */
#ifndef BUILDER_SOURCES_H
#define BUILDER_SOURCES_H

#include "common/error.h"
#include "planner/distro.h"
#include "common/strv.h"

/* Checks that every file named in sources exists in dir and that its SHA-256
 * equals the entry of the signatures file at sig_path (mode "enforce"). A
 * missing signatures file counts as empty. Sources and the signatures file
 * must be regular files: symbolic links (which a git checkout may hold,
 * pointing anywhere on the host), FIFOs and devices are refused without
 * being followed or opened for reading. Returns 0, or -1 with err naming the
 * first bad file and the reason ("<sig_path>: zlib-1.3.tar.xz: SHA-256
 * mismatch: expected ..., got ..."; "...: no signature"; "...: missing
 * source"; "...: not a regular file"). */
int builder_sources_verify(const char *dir, const char *sig_path, const struct sy_strv *sources,
			   struct sy_error *err);

/* Where builder_sources_hydrate looks for the Sources a spec directory
 * lacks. Nothing is owned. */
struct builder_sources_origin {
	const char *spec_name;       /* %{name} in source URLs: the spec's source
				      * package Name; NULL: templates naming it
				      * are skipped */
	const char *cache_dir;       /* the source cache ("<dir>/<sha256>"), or
				      * NULL: none */
	const struct sy_strv *urls;  /* source URL templates
				      * (planner_source_url_parse), tried in
				      * order; NULL or empty: none */
	enum planner_signature_mode signatures; /* ENFORCE: a download whose
				      * SHA-256 is not the signed one is that
				      * URL's failure, and the next is tried */
	int log_fd;                  /* progress lines; -1: none */
};

/* Puts every Source of sources (patches are not passed: they must be in the
 * spec directory) that dir lacks into dir, as the toolkit's srpmpacker
 * hydrates them: from the source cache when the signatures file at sig_path
 * names its SHA-256 and <cache_dir>/<sha256> exists (the cache is content
 * addressed, docs/design.md, "On disk"), else downloaded with libcurl
 * (builder/fetch.h: retries on transient failures) from the first of
 * origin->urls that has it, and stored in the cache under its SHA-256. A
 * URL whose template needs a value the Source lacks (%{sha256} of an
 * unsigned Source) is passed over. With ENFORCE, a download that is not
 * the signed content is dropped, as the toolkit drops it, and the next URL
 * is tried; whether the content is the signed one is otherwise
 * builder_sources_check's business. A source present in dir is never
 * replaced. Returns 0, or -1 with err naming the source and why each place
 * failed, on one line ("zlib-1.3.tar.xz: missing source: not in the spec
 * directory, the source cache or at a source URL: <url>: HTTP 404;
 * <url>: SHA-256 mismatch: expected ..., got ..."). */
int builder_sources_hydrate(const char *dir, const char *sig_path, const struct sy_strv *sources,
			    const struct builder_sources_origin *origin, struct sy_error *err);

/* Checks the sources in dir by mode: ENFORCE is builder_sources_verify;
 * SKIP checks nothing; UPDATE hashes every source (which must exist as
 * regular files) and, when sig_path does not hold exactly those entries
 * with those digests, rewrites sig_path ({"Signatures": {...}}, keys sorted)
 * and sets *updated to 1 (else 0). Returns 0 or -1 with err as
 * builder_sources_verify. */
int builder_sources_check(const char *dir, const char *sig_path, const struct sy_strv *sources,
			  enum planner_signature_mode mode, int *updated, struct sy_error *err);

#endif
