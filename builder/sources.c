#include "builder/sources.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/hash.h"

/* Loads the "Signatures" object of sig_path into *sigs (new reference, caller
 * decrefs); a missing file gives an empty object. */
static int load_signatures(const char *sig_path, json_t **sigs, struct sy_error *err)
{
	json_error_t jerr;
	json_t *doc, *obj;

	if (access(sig_path, F_OK) < 0 && errno == ENOENT) {
		*sigs = json_object();
		return 0;
	}
	doc = json_load_file(sig_path, 0, &jerr);
	if (!doc)
		return sy_error_set(err, "%s: line %d: %s", sig_path, jerr.line, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return sy_error_set(err, "%s: top level is not an object", sig_path);
	}
	obj = json_object_get(doc, "Signatures");
	if (obj && !json_is_object(obj)) {
		json_decref(doc);
		return sy_error_set(err, "%s: \"Signatures\" is not an object", sig_path);
	}
	*sigs = obj ? json_incref(obj) : json_object();
	json_decref(doc);
	return 0;
}

/* Checks one source file (basename name) in dir against sigs. */
static int verify_one(const char *dir, const char *sig_path, json_t *sigs, const char *name,
		      struct sy_error *err)
{
	char *path = sy_xasprintf("%s/%s", dir, name);
	char got[SY_SHA256_HEX_LEN + 1];
	struct stat st;
	const char *expected;
	int rc = -1;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		sy_error_set(err, "%s: %s: missing source", sig_path, name);
		goto out;
	}
	expected = json_string_value(json_object_get(sigs, name));
	if (!expected) {
		sy_error_set(err, "%s: %s: no signature", sig_path, name);
		goto out;
	}
	if (sy_sha256_file(path, got, err)) {
		sy_error_prefix(err, "%s: %s", sig_path, name);
		goto out;
	}
	if (strcasecmp(expected, got) != 0) {
		sy_error_set(err, "%s: %s: SHA-256 mismatch: expected %s, got %s", sig_path, name,
			     expected, got);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

int builder_sources_verify(const char *dir, const char *sig_path, const struct sy_strv *sources,
			   struct sy_error *err)
{
	json_t *sigs;
	int rc = 0;

	if (sources->n == 0)
		return 0;
	if (load_signatures(sig_path, &sigs, err))
		return -1;
	for (size_t i = 0; i < sources->n && rc == 0; i++) {
		const char *name = strrchr(sources->items[i], '/');
		name = name ? name + 1 : sources->items[i];
		rc = verify_one(dir, sig_path, sigs, name, err);
	}
	json_decref(sigs);
	return rc;
}
