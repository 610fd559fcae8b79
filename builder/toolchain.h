/* The toolchain: capabilities the worker root offers to every build before any
 * package of the distribution is installed (gcc, make, rpm-build, ...),
 * declared in the worker manifest's [toolchain] section as `provides = NAME`
 * lines (the Azure Linux toolkit keeps the same list as toolchain_<arch>.txt).
 * builder_worker_manifest_read reads the same list into the manifest (and its
 * digest), and the worker root registers it in its rpmdb (builder/worker.h). */
#ifndef BUILDER_TOOLCHAIN_H
#define BUILDER_TOOLCHAIN_H

#include "common/error.h"
#include "common/strv.h"

/* Reads every toolchain.provides value of the manifest at path (git-config
 * syntax, libgit2 config API) into provides (appended). A manifest without a
 * [toolchain] section yields nothing. Returns 0 or -1. */
int builder_toolchain_read(const char *path, struct sy_strv *provides, struct sy_error *err);

#endif
