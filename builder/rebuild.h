/* Rebuild counters: a build whose key differs from the key that produced a
 * NEVRA already built gets a Release of its own, so that dnf and tdnf
 * clients holding the earlier build see the new one as an upgrade and a
 * mirror never serves two packages under one name (issue 13; Open Build
 * Service appends a build counter to Release the same way, "1.mdst1" ->
 * "1.mdst1.3"; Koji refuses to build an NVR twice instead).
 *
 * Each build key gets a counter the first time it is built, kept in
 * state.db (state/db.h, table rebuilds) by source package name and the EVR
 * its spec states (dist tag included): the first key built at an EVR gets
 * 0, which adds nothing to Release; each further key gets one more than the
 * highest counter of that EVR. A key keeps its counter for good, so an
 * artifact reused by another branch, pull request or channel keeps its
 * NEVRA (it is baked into the packages); a spec whose Version or Release is
 * bumped in git starts again at 0. The counter is turned into a Release
 * suffix by the distribution's publish.rebuildsuffix
 * (planner_distro_rebuild_suffix) and applied at build time by redefining
 * %dist (builder/buildjob.h: builder_build_request.rebuild_suffix); the spec
 * and the repository are never edited. */
#ifndef BUILDER_REBUILD_H
#define BUILDER_REBUILD_H

#include "common/error.h"

/* What a build with a rebuild suffix records as its packages' DistURL,
 * followed by the suffix ("shipyard:rebuild=.2"): the header alone then
 * says which part of its Release the counter added, so that the output
 * digest (builder/outdigest.h) and an rpm worker root's digest
 * (builder/rpmroot.h) take it out again, and a rebuild whose output did
 * not change is still found unchanged. */
#define BUILDER_REBUILD_DISTURL "shipyard:rebuild="

/* Gives build key key (64 hex digits) of source package name at evr
 * ("[epoch:]version-release" as the spec states it, without a counter) its
 * rebuild counter in *counter, in the state database at db_path (opened and
 * closed here, state/db.h): the counter recorded for the key, else (the
 * key's first build) 0 when no key of (name, evr) has one, else one more
 * than their highest, recorded now. The read and the write are one
 * IMMEDIATE transaction, so that pipelines assigning at once (threads or
 * processes) never give two keys one counter; a writer holding the file
 * is waited for as state_db_open says. Returns 0, or -1 with err
 * ("<db_path>: rebuild counter of libfoo 1.0-1.azl3: <SQLite message>"). */
int builder_rebuild_counter(const char *db_path, const char *name, const char *evr,
			    const char *key, unsigned *counter, struct sy_error *err);

/* Returns the suffix recorded in a DistURL value (the part after
 * BUILDER_REBUILD_DISTURL; points into disturl), or NULL when disturl is
 * NULL or not such a value. */
const char *builder_rebuild_disturl_suffix(const char *disturl);

#endif
