/* A repository's shipyard.conf: planner_distro_read_file (planner/distro.h,
 * the parse behind planner_distro_load) on the input written to a file.
 * Checks that a read configuration has its dist tag, spec trees, image
 * config directory, one policy per spec that has its own, source URL
 * templates the parser takes back unchanged, and a rebuild suffix form the
 * check takes back whose suffixes never contain '-' or '~'. */
#define FUZZ_HOLD_LIBGIT2 /* fuzz.h */
#include "fuzz.h"

#include "planner/distro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct planner_distro distro;
	struct planner_macro_settings settings;
	struct planner_policy policy;
	struct sy_error err = { { 0 } };
	char *path = fuzz_write_file("shipyard.conf", data, size);

	if (planner_distro_read_file(path, &distro, &err) == 0) {
		if (!distro.dist_tag || !distro.spec_trees.n || !distro.imageconfigs_dir ||
		    distro.config_blob)
			abort();
		for (size_t i = 0; i < distro.policy_specs.n; i++)
			if (!planner_distro_spec_policy(&distro, distro.policy_specs.items[i],
							&policy))
				abort();
		planner_distro_macro_settings(&distro, NULL, &settings);
		/* A template read is one the parser takes back unchanged. */
		for (size_t i = 0; i < distro.source_urls.n; i++) {
			char *again;
			if (planner_source_url_parse(distro.source_urls.items[i], &again, &err) ||
			    strcmp(again, distro.source_urls.items[i]))
				abort();
			free(again);
		}
		if (!distro.rebuild_suffix || planner_rebuild_suffix_check(distro.rebuild_suffix, &err))
			abort();
		char *suffix = planner_rebuild_suffix(distro.rebuild_suffix, 10);
		if (strpbrk(suffix, "-~"))
			abort();
		free(suffix);
	} else if (!err.msg[0]) {
		abort();
	}
	planner_distro_release(&distro);
	free(path);
	return 0;
}
