#include "imager/images.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "state/layout.h"

/* The link naming the newest build, and the suffix of a build in the
 * making: neither is a build of its own. */
#define LATEST "latest"
#define TMP_SUFFIX ".tmp"

char *imager_build_dir(const char *state, const char *config, const char *id)
{
	char *dir = state_image_dir(state, config), *path = sy_xasprintf("%s/%s", dir, id);

	free(dir);
	return path;
}

char *imager_build_tmp_dir(const char *state, const char *config, const char *id)
{
	char *dir = imager_build_dir(state, config, id), *path = sy_xasprintf("%s" TMP_SUFFIX, dir);

	free(dir);
	return path;
}

char *imager_build_file(const char *state, const char *config, const char *id, const char *name)
{
	char *dir = imager_build_dir(state, config, id), *path = sy_xasprintf("%s/%s", dir, name);

	free(dir);
	return path;
}

int imager_latest_switch(const char *state, const char *config, const char *id,
			 struct sy_error *err)
{
	char *dir = state_image_dir(state, config);
	char *link = sy_xasprintf("%s/" LATEST, dir);
	char *tmp = sy_xasprintf("%s/." LATEST TMP_SUFFIX, dir);
	int rc = 0;

	unlink(tmp);
	if (symlink(id, tmp) < 0 || rename(tmp, link) < 0)
		rc = sy_error_set(err, "%s: cannot switch: %s", link, strerror(errno));
	free(link);
	free(tmp);
	free(dir);
	return rc;
}

char *imager_latest_id(const char *state, const char *config)
{
	char *dir = state_image_dir(state, config), *link = sy_xasprintf("%s/" LATEST, dir);
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	free(link);
	free(dir);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return sy_xstrdup(target);
}

void imager_list_configs(const char *state, struct sy_strv *configs)
{
	char *images = state_images_dir(state);
	struct sy_strv names = SY_STRV_INIT;

	sy_list_dir(images, &names);
	for (size_t i = 0; i < names.n; i++) {
		char *dir = state_image_dir(state, names.items[i]);
		if (sy_is_dir(dir))
			sy_strv_push(configs, names.items[i]);
		free(dir);
	}
	sy_strv_release(&names);
	free(images);
}

/* 1 when name in a config's directory is a build: not the latest link, not
 * a build being composed. */
static int is_build_name(const char *name)
{
	size_t len = strlen(name), tmp = strlen(TMP_SUFFIX);

	return strcmp(name, LATEST) && !(len > tmp && !strcmp(name + len - tmp, TMP_SUFFIX));
}

void imager_list_builds(const char *state, const char *config, struct sy_strv *ids)
{
	char *dir = state_image_dir(state, config);
	struct sy_strv names = SY_STRV_INIT;

	sy_list_dir(dir, &names);
	for (size_t i = names.n; i-- > 0;) {
		char *path = imager_build_dir(state, config, names.items[i]);
		if (is_build_name(names.items[i]) && sy_is_dir(path))
			sy_strv_push(ids, names.items[i]);
		free(path);
	}
	sy_strv_release(&names);
	free(dir);
}

/* Fills arch and packages of b from the build's manifest.json. */
static void read_manifest(const char *state, const char *config, const char *id,
			  struct imager_build *b)
{
	char *path = imager_build_file(state, config, id, "manifest.json");
	json_t *manifest = json_load_file(path, 0, NULL);
	const json_t *packages = json_object_get(manifest, "packages");
	const char *arch = json_string_value(json_object_get(manifest, "arch"));

	b->arch = arch ? sy_xstrdup(arch) : NULL;
	b->packages = json_is_array(packages) ? (long)json_array_size(packages) : -1;
	json_decref(manifest);
	free(path);
}

void imager_build_read(const char *state, const char *config, const char *id,
		       struct imager_build *b)
{
	char *dir = imager_build_dir(state, config, id);
	struct sy_strv names = SY_STRV_INIT;

	memset(b, 0, sizeof(*b));
	read_manifest(state, config, id, b);
	sy_list_dir(dir, &names);
	b->files = sy_xcalloc(names.n + 1, sizeof(*b->files));
	for (size_t i = 0; i < names.n; i++) {
		char *path = imager_build_file(state, config, id, names.items[i]);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			b->files[b->nfiles].name = sy_xstrdup(names.items[i]);
			b->files[b->nfiles++].bytes = (long long)st.st_size;
		}
		free(path);
	}
	sy_strv_release(&names);
	free(dir);
}

void imager_build_release(struct imager_build *b)
{
	for (size_t i = 0; i < b->nfiles; i++)
		free(b->files[i].name);
	free(b->files);
	free(b->arch);
	memset(b, 0, sizeof(*b));
}
