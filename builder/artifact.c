#include "builder/artifact.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "builder/outdigest.h"
#include "common/fs.h"

/* Written last: its presence is what "complete" means. */
#define SUMMARY "summary.json"

int builder_artifact_complete(const char *dir)
{
	char *marker = sy_xasprintf("%s/" SUMMARY, dir);
	struct stat st;
	int found = stat(marker, &st) == 0;

	free(marker);
	return found;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int builder_artifact_lookup(const char *dir, struct sy_strv *rpms, char **srpm)
{
	DIR *d;
	struct dirent *de;

	if (!builder_artifact_complete(dir) || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		if (ends_with(de->d_name, ".src.rpm")) {
			free(*srpm);
			*srpm = sy_xasprintf("%s/%s", dir, de->d_name);
		} else if (ends_with(de->d_name, ".rpm")) {
			sy_strv_pushf(rpms, "%s/%s", dir, de->d_name);
		}
	}
	closedir(d);
	sy_strv_sort_unique(rpms);
	return 1;
}

int builder_artifact_write_summary(const char *dir, const struct planner_spec *spec,
				   const char *key, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/" SUMMARY, dir);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "spec", spec->path, "name",
				spec->name, "version", spec->version, "release", spec->release,
				"build_key", key);
	char *text = json_dumps(doc, JSON_INDENT(2));
	int rc = sy_write_file_atomic(path, text, strlen(text), 0644, err);

	json_decref(doc);
	free(path);
	free(text);
	return rc;
}

/* Records digest in summary.json unless it holds one. */
static void remember_digest(const char *path, json_t *doc, const char *digest)
{
	char *text;

	if (json_object_get(doc, "output_digest"))
		return;
	json_object_set_new(doc, "output_digest", json_string(digest));
	text = json_dumps(doc, JSON_INDENT(2));
	if (text)
		sy_write_file_atomic(path, text, strlen(text), 0644, NULL);
	free(text);
}

int builder_artifact_output_digest(const char *dir, char out[SY_SHA256_HEX_LEN + 1])
{
	char *path = sy_xasprintf("%s/" SUMMARY, dir), *srpm = NULL;
	json_t *doc = json_load_file(path, 0, NULL);
	const char *d = json_string_value(json_object_get(doc, "output_digest"));
	struct sy_strv rpms = SY_STRV_INIT;
	int rc = -1;

	if (d && strlen(d) == SY_SHA256_HEX_LEN) {
		memcpy(out, d, SY_SHA256_HEX_LEN + 1);
		rc = 0;
	} else if (doc && builder_artifact_lookup(dir, &rpms, &srpm) && rpms.n &&
		   builder_output_digest((const char *const *)rpms.items, rpms.n, out, NULL) == 0) {
		remember_digest(path, doc, out);
		rc = 0;
	}
	sy_strv_release(&rpms);
	free(srpm);
	json_decref(doc);
	free(path);
	return rc;
}
