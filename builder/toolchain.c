#include "builder/toolchain.h"

#include <git2.h>

static int add_value(const git_config_entry *entry, void *payload)
{
	sy_strv_push(payload, entry->value);
	return 0;
}

int builder_toolchain_read(const char *path, struct sy_strv *provides, struct sy_error *err)
{
	git_config *cfg;
	int rc;

	git_libgit2_init();
	if (git_config_open_ondisk(&cfg, path) < 0) {
		const git_error *e = git_error_last();
		rc = sy_error_set(err, "%s: %s", path, e ? e->message : "cannot read");
		goto out;
	}
	rc = git_config_get_multivar_foreach(cfg, "toolchain.provides", NULL, add_value, provides);
	if (rc == GIT_ENOTFOUND)
		rc = 0;
	else if (rc < 0)
		rc = sy_error_set(err, "%s: toolchain.provides: cannot read", path);
	git_config_free(cfg);
out:
	git_libgit2_shutdown();
	return rc;
}
