/* Source verification as the Azure Linux toolkit's srpmpacker does it:
 * <spec>.signatures.json next to the spec, {"Signatures": {"file": "sha256"}}
 * with lowercase hex SHA-256 per Source basename; patches are exempt. */
#ifndef BUILDER_SOURCES_H
#define BUILDER_SOURCES_H

#include "common/error.h"
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

#endif
