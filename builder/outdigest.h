/* The output digest of a build: what the specs whose build roots receive its
 * packages can observe of them, and nothing else. Two builds with the same
 * digest are interchangeable for every dependent, so a rebuild that produced
 * the same digest as the spec's previous build need not rebuild its
 * dependents (issue 4 "Never twice": the unchanged-output cascade stop,
 * after Open Build Service's and Koji's "build compare" checks). */
#ifndef BUILDER_OUTDIGEST_H
#define BUILDER_OUTDIGEST_H

#include <stddef.h>

#include "common/error.h"
#include "common/hash.h"

/* Computes the output digest of the binary RPMs rpm_paths[0..n) (host
 * paths; SRPMs are left out by the caller): SHA-256 over the packages sorted
 * by name and arch, each contributing its name and arch, every file's path,
 * mode, owner, group, flags, content digest and link target, its Provides,
 * Requires, Conflicts and Obsoletes (rpmdsDNEVR form: "P zlib = 1.3-1"), and
 * its scriptlets. A package built with a rebuild counter (its DistURL says
 * so, builder/rebuild.h) has the counter's suffix taken out of every such
 * EVR whose release is its own ("P libfoo = 1.0-1.azl3.2" counts as "P
 * libfoo = 1.0-1.azl3"), so that a rebuild with the same output has the
 * digest of the build before it. Build time, build host, DistURL,
 * signatures, payload compression, changelog and the SRPM are not covered.
 * Headers are read with librpm (signatures not required, digests checked).
 * Writes the hex digest to out. Returns 0, or -1 with err naming the file
 * ("<path>: not an RPM package"). */
int builder_output_digest(const char *const *rpm_paths, size_t n,
			  char out[SY_SHA256_HEX_LEN + 1], struct sy_error *err);

/* builder_output_digest of the one package at rpm_path, with the suffix
 * its rebuild counter added to its Release (".2") in *rebuild_suffix
 * (newly allocated; caller frees), or NULL when it has none. Returns 0, or
 * -1 with err (*rebuild_suffix NULL). */
int builder_output_digest_package(const char *rpm_path, char out[SY_SHA256_HEX_LEN + 1],
				  char **rebuild_suffix, struct sy_error *err);

/* The NEVRA of the binary RPM at rpm_path as its header gives it (rpm's
 * RPMTAG_NEVRA: "zlib-1.3-1.azl3.x86_64", "name-E:V-R.A" when it has an
 * epoch), newly allocated (caller frees); NULL with err naming the file
 * when it cannot be read. */
char *builder_rpm_nevra(const char *rpm_path, struct sy_error *err);

#endif
