/* The worker manifest's rpmdb: the rpm database a worker root made from a
 * package manifest would have, holding one package per manifest entry (its
 * name, version, release and arch, providing its name, with no files), so
 * that what a spec asks rpm at parse time ("%(rpm -q --qf '%{VERSION}'
 * kernel-headers)", which the Azure Linux toolkit answers from its worker
 * chroot's rpmdb) gets the worker root's answer. */
#ifndef PLANNER_MANIFESTDB_H
#define PLANNER_MANIFESTDB_H

#include "common/error.h"
#include "planner/pkgmanifest.h"

/* Makes the rpmdb of m's packages for target_arch ("x86_64") in dir (created
 * with its parents; must not hold a database yet), with workdir as scratch
 * space for the intermediate RPMs: one spec with a subpackage per entry built
 * with rpmbuild, then `rpm --dbpath dir -i --justdb` of them all (children
 * of common/child.h; the manifest's fields were checked by
 * planner_manifest_parse, so none carries a macro or a new line). Entries
 * of another arch than target_arch and noarch, and later entries of a name
 * already seen, are left out. Returns 0, or -1 with err set ("manifest
 * rpmdb: rpmbuild exited with status 1"). */
int planner_manifestdb_make(const struct planner_manifest *m, const char *target_arch,
			    const char *dir, const char *workdir, struct sy_error *err);

/* Makes the rpmdb of a worker root made of RPM packages (builder/rpmroot.h)
 * in dir (created; must not hold a database yet): the headers of the RPM
 * files rpms (NULL-terminated host paths) installed with `rpm --dbpath dir
 * -i --justdb`, so that parse-time queries get exactly the answers the root
 * would give (versions, provides, file lists). Returns 0, or -1 with err
 * ("worker root rpmdb: rpm exited with status 1"). */
int planner_manifestdb_from_rpms(const char *const *rpms, const char *dir, struct sy_error *err);

#endif
