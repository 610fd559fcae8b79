#define _GNU_SOURCE
#include "imager/imageconfig.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Compressions the toolkit's roast knows (tools/roast/formats). */
static const char *const known_compressions[] = { "", "tar.gz", "tar.xz", "gz", "xz", NULL };

/* Returns the normalised repository path of rel against dir ("" = top):
 * "." and ".." components resolved. NULL when rel is absolute or leaves the
 * repository. Caller frees. */
static char *resolve_path(const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return NULL;
	char *joined = dir[0] ? sy_xasprintf("%s/%s", dir, rel) : sy_xstrdup(rel);
	char *out = sy_xmalloc(strlen(joined) + 1);
	size_t len = 0;
	char *save = NULL;

	out[0] = '\0';
	for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (len == 0) {
				free(joined);
				free(out);
				return NULL;
			}
			char *slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		len += (size_t)sprintf(out + len, "%s%s", len ? "/" : "", c);
	}
	free(joined);
	return out;
}

/* Reads an optional string member; "" when absent. -1 when not a string. */
static int get_string(json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = "";
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* Sets *out to the array member key, or to NULL when it is absent (jansson
 * treats NULL as an empty array). Returns -1 when the member is not an array. */
static int get_array(json_t *obj, const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return -1;
	*out = v;
	return 0;
}

static void add_package(struct imager_config *cfg, const char *pkg)
{
	if (!sy_strv_contains(&cfg->packages, pkg))
		sy_strv_push(&cfg->packages, pkg);
}

/* Reads one package list file {"packages": [...]} into cfg->packages. */
static int read_package_list(struct imager_config *cfg, const char *path, imager_read_fn read_fn,
			     void *arg, struct sy_error *err)
{
	char *data = NULL;
	json_error_t jerr;
	json_t *root = NULL, *pkgs;
	int rc = 0;

	if (read_fn(arg, path, &data, err))
		return sy_error_prefix(err, "%s: package list", cfg->path);
	root = json_loads(data, 0, &jerr);
	if (!root) {
		rc = sy_error_set(err, "%s:%d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(root) || get_array(root, "packages", &pkgs)) {
		rc = sy_error_set(err, "%s: \"packages\" must be an array of strings", path);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(pkgs); i++) {
		json_t *p = json_array_get(pkgs, i);
		if (!json_is_string(p) || !json_string_value(p)[0]) {
			rc = sy_error_set(err, "%s: packages[%zu]: not a package name", path, i);
			goto out;
		}
		add_package(cfg, json_string_value(p));
	}
out:
	json_decref(root);
	free(data);
	return rc;
}

static int parse_artifacts(struct imager_config *cfg, json_t *root, struct sy_error *err)
{
	json_t *disks, *arts;

	if (get_array(root, "Disks", &disks))
		return sy_error_set(err, "%s: Disks: not an array", cfg->path);
	if (json_array_size(disks) == 0)
		return 0;
	json_t *disk = json_array_get(disks, 0);
	if (!json_is_object(disk) || get_array(disk, "Artifacts", &arts))
		return sy_error_set(err, "%s: Disks[0]: Artifacts: not an array", cfg->path);
	cfg->artifacts = sy_xcalloc(json_array_size(arts) + 1, sizeof(*cfg->artifacts));
	for (size_t i = 0; i < json_array_size(arts); i++) {
		json_t *a = json_array_get(arts, i);
		const char *name, *type, *comp;
		if (!json_is_object(a) || get_string(a, "Name", &name) ||
		    get_string(a, "Type", &type) || get_string(a, "Compression", &comp))
			return sy_error_set(err, "%s: Disks[0].Artifacts[%zu]: not an object with "
					    "string Name, Type, Compression", cfg->path, i);
		/* Name becomes a file name: no paths, no hidden or parent names. */
		if (!name[0] || name[0] == '.' || strchr(name, '/'))
			return sy_error_set(err, "%s: Disks[0].Artifacts[%zu]: Name \"%s\" is not a "
					    "plain file name", cfg->path, i, name);
		size_t k = 0;
		while (known_compressions[k] && strcmp(known_compressions[k], comp))
			k++;
		if (!known_compressions[k])
			return sy_error_set(err, "%s: Disks[0].Artifacts[%zu]: unknown Compression "
					    "\"%s\"", cfg->path, i, comp);
		struct imager_artifact *out = &cfg->artifacts[cfg->nartifacts++];
		out->name = sy_xstrdup(name);
		out->type = sy_xstrdup(type);
		out->compression = sy_xstrdup(comp);
	}
	return 0;
}

/* Collects the string members of an array into out, as repository paths
 * resolved against dir (key names the item in errors). For arrays of objects
 * the "Path" member is taken (Pre/PostInstallScripts). */
static int collect_paths(struct imager_config *cfg, json_t *sys, const char *key, const char *dir,
			 struct sy_strv *out, struct sy_error *err)
{
	json_t *arr;

	if (get_array(sys, key, &arr))
		return sy_error_set(err, "%s: SystemConfigs[0]: %s: not an array", cfg->path, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		const char *rel = NULL;
		if (json_is_object(v))
			v = json_object_get(v, "Path");
		if (json_is_string(v))
			rel = json_string_value(v);
		if (!rel || !rel[0])
			return sy_error_set(err, "%s: SystemConfigs[0]: %s[%zu]: not a path",
					    cfg->path, key, i);
		char *path = resolve_path(dir, rel);
		if (!path)
			return sy_error_set(err, "%s: SystemConfigs[0]: %s[%zu]: \"%s\" is outside "
					    "the repository", cfg->path, key, i, rel);
		sy_strv_push_owned(out, path);
	}
	return 0;
}

static int parse_system_config(struct imager_config *cfg, json_t *root, const char *dir,
			       imager_read_fn read_fn, void *arg, struct sy_error *err)
{
	json_t *systems, *sys, *pkgs;
	const char *name;

	if (get_array(root, "SystemConfigs", &systems) || json_array_size(systems) == 0)
		return sy_error_set(err, "%s: SystemConfigs: at least one is required", cfg->path);
	sys = json_array_get(systems, 0);
	if (!json_is_object(sys))
		return sy_error_set(err, "%s: SystemConfigs[0]: not an object", cfg->path);
	if (get_string(sys, "Name", &name) || !name[0])
		return sy_error_set(err, "%s: SystemConfigs[0]: Name is required", cfg->path);
	if (collect_paths(cfg, sys, "PackageLists", dir, &cfg->package_lists, err) ||
	    collect_paths(cfg, sys, "PostInstallScripts", dir, &cfg->post_install_scripts, err))
		return -1;
	for (size_t i = 0; i < cfg->package_lists.n; i++)
		if (read_package_list(cfg, cfg->package_lists.items[i], read_fn, arg, err))
			return -1;
	if (get_array(sys, "Packages", &pkgs))
		return sy_error_set(err, "%s: SystemConfigs[0]: Packages: not an array", cfg->path);
	for (size_t i = 0; i < json_array_size(pkgs); i++) {
		json_t *p = json_array_get(pkgs, i);
		if (!json_is_string(p) || !json_string_value(p)[0])
			return sy_error_set(err, "%s: SystemConfigs[0]: Packages[%zu]: not a "
					    "package name", cfg->path, i);
		add_package(cfg, json_string_value(p));
	}
	if (cfg->package_lists.n == 0 && json_array_size(pkgs) == 0)
		return sy_error_set(err, "%s: SystemConfigs[0]: no PackageLists or Packages",
				    cfg->path);
	if (cfg->packages.n == 0)
		return sy_error_set(err, "%s: SystemConfigs[0]: the package lists are empty",
				    cfg->path);
	return 0;
}

/* Sets cfg->name from the file name: basename without ".json". */
static void set_name(struct imager_config *cfg, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".json"))
		len -= 5;
	cfg->name = sy_xasprintf("%.*s", (int)len, base);
}

int imager_config_parse(const char *path, const char *json, imager_read_fn read_fn, void *arg,
			struct imager_config *cfg, struct sy_error *err)
{
	json_error_t jerr;
	json_t *root;
	char *dir = sy_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = sy_xstrdup(path);
	set_name(cfg, path);
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	root = json_loads(json, 0, &jerr);
	if (!root)
		rc = sy_error_set(err, "%s:%d: %s", path, jerr.line, jerr.text);
	else if (!json_is_object(root))
		rc = sy_error_set(err, "%s: not a JSON object", path);
	else
		rc = parse_artifacts(cfg, root, err);
	if (rc == 0)
		rc = parse_system_config(cfg, root, dir, read_fn, arg, err);
	json_decref(root);
	free(dir);
	if (rc)
		imager_config_release(cfg);
	return rc;
}

void imager_config_release(struct imager_config *cfg)
{
	free(cfg->name);
	free(cfg->path);
	sy_strv_release(&cfg->package_lists);
	sy_strv_release(&cfg->packages);
	for (size_t i = 0; i < cfg->nartifacts; i++) {
		free(cfg->artifacts[i].name);
		free(cfg->artifacts[i].type);
		free(cfg->artifacts[i].compression);
	}
	free(cfg->artifacts);
	sy_strv_release(&cfg->post_install_scripts);
	memset(cfg, 0, sizeof(*cfg));
}
