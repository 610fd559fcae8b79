/* Every key of a repository's shipyard.conf (planner/distro.h), one line a
 * key: a key missing here is refused as unknown by planner_distro_load, and
 * docs/configuration.md must describe each (tests/unit/test_confdocs.c). */
#include "planner/distro.h"

#include "common/util.h"

const struct sy_conf_key planner_distro_keys[] = {
	{ "distro.disttag", 0, ".azl3", "the value of %dist" },
	{ "distro.define", SY_CONF_MULTI, "azl 3; with_check 0", "a macro \"name value\" the specs are read and built with" },
	{ "distro.macrosdir", 0, "the first <tree>/*-rpm-macros directory", "the distribution's macros package directory" },
	{ "distro.workermanifest", 0, "toolkit/resources/manifests/package/pkggen_core_%s.txt", "the worker root's package list (%s: the arch; \"\": none)" },
	{ "distro.spectree", SY_CONF_MULTI, "SPECS; SPECS-EXTENDED; SPECS-SIGNED", "a directory of spec directories" },
	{ "distro.imageconfigs", 0, "toolkit/imageconfigs", "the directory of image configs" },
	{ "distro.rebuildpolicy", 0, "transitive", "which dependents a change rebuilds: transitive, direct, local or layers=N" },
	{ "spec.*.rebuildpolicy", 0, "distro.rebuildpolicy", "one spec's rebuild policy ([spec \"<spec>\"])" },
	{ "sources.url", SY_CONF_MULTI, NULL, "where Sources missing from a spec directory are downloaded (URL or template)" },
	{ "sources.signatures", 0, "enforce", "how signatures files are used: enforce, skip or update" },
	{ "plan.maxrebuild", 0, "0", "a plan with more specs to build waits for approval (0: no limit)" },
	{ "publish.rebuildsuffix", 0, ".%{counter}", "what a rebuild's Release gets after the dist tag (\"\": nothing)" },
	{ "publish.sqlite", 0, "false", "whether snapshots also carry sqlite repodata" },
	{ "image.maxdisksize", 0, "64g", "the largest disk an image config may ask for" },
	{ "image.boottest", 0, "false", "whether composed BootType efi disks are booted in QEMU" },
	{ "image.boottimeout", 0, "180", "seconds a boot test may take before it fails" },
};

const size_t planner_distro_nkeys = LEN(planner_distro_keys);
