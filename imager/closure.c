#include "imager/closure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/solvload.h"

/* The package the toolkit's imager installs first when the repository has it. */
#define COMPOSE_FIRST_PACKAGE "filesystem"

int imager_closure(const struct imager_config *cfg, const char *repo_dir, const char *arch,
		   struct sy_strv *nevras, struct sy_strv *rpm_paths, struct sy_error *err)
{
	const char *const repos[] = { repo_dir, NULL };
	const char **wanted = sy_xcalloc(cfg->packages.n + 1, sizeof(*wanted));
	struct sandbox_solv_closure c;
	int rc;

	for (size_t i = 0; i < cfg->packages.n; i++)
		wanted[i] = cfg->packages.items[i];
	rc = sandbox_solv_closure(repos, wanted, COMPOSE_FIRST_PACKAGE, arch, &c, err);
	free(wanted);
	if (rc)
		return sy_error_prefix(err, "image %s", cfg->name);
	for (size_t i = 0; i < c.n; i++) {
		sy_strv_push(nevras, c.pkgs[i].nevra);
		if (rpm_paths)
			sy_strv_push(rpm_paths, c.pkgs[i].path);
	}
	sandbox_solv_closure_release(&c);
	return 0;
}
