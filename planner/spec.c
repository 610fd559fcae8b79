/* A parsed spec: its JSON form (what reader children write and tests
 * compare), freeing it, and formatting its dependencies. */
#include "planner/spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "planner/spec-private.h"

json_t *planner_spec_json_str(const char *s)
{
	json_t *j;
	char *copy;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	copy = sy_xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* ------------------------------------------------------------------------ */
/* The JSON form of a spec: written by the children, by the spec cache.     */

static json_t *deps_to_json(const struct planner_deps *deps)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < deps->n; i++) {
		json_t *d = json_object();

		json_object_set_new(d, "n", planner_spec_json_str(deps->items[i].name));
		json_object_set_new(d, "f", json_integer(deps->items[i].flags));
		json_object_set_new(d, "v", planner_spec_json_str(deps->items[i].evr));
		json_array_append_new(arr, d);
	}
	return arr;
}

static json_t *strv_to_json(const struct sy_strv *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(arr, planner_spec_json_str(v->items[i]));
	return arr;
}

static json_t *package_to_json(const struct planner_package *pkg)
{
	json_t *p = json_object();

	json_object_set_new(p, "name", planner_spec_json_str(pkg->name));
	json_object_set_new(p, "evr", planner_spec_json_str(pkg->evr));
	json_object_set_new(p, "arch", planner_spec_json_str(pkg->arch));
	json_object_set_new(p, "provides", deps_to_json(&pkg->provides));
	json_object_set_new(p, "requires", deps_to_json(&pkg->requires));
	return p;
}

static void parsed_to_json(const struct planner_spec *spec, json_t *obj)
{
	json_t *pkgs = json_array();

	for (size_t i = 0; i < spec->npackages; i++)
		json_array_append_new(pkgs, package_to_json(&spec->packages[i]));
	json_object_set_new(obj, "name", planner_spec_json_str(spec->name));
	json_object_set_new(obj, "epoch", planner_spec_json_str(spec->epoch));
	json_object_set_new(obj, "version", planner_spec_json_str(spec->version));
	json_object_set_new(obj, "release", planner_spec_json_str(spec->release));
	json_object_set_new(obj, "packages", pkgs);
	json_object_set_new(obj, "buildrequires", deps_to_json(&spec->buildrequires));
	json_object_set_new(obj, "sources", strv_to_json(&spec->sources));
	json_object_set_new(obj, "patches", strv_to_json(&spec->patches));
	json_object_set_new(obj, "exclusive_arch", strv_to_json(&spec->exclusive_arch));
	json_object_set_new(obj, "exclude_arch", strv_to_json(&spec->exclude_arch));
}

char *planner_spec_to_json(const struct planner_spec *spec)
{
	json_t *obj = json_object();
	char *text;

	if (spec->error)
		json_object_set_new(obj, "error", planner_spec_json_str(spec->error));
	else
		parsed_to_json(spec, obj);
	json_object_set_new(obj, "version_refs", strv_to_json(&spec->version_refs));
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text) {
		fprintf(stderr, "shipyard: out of memory encoding a spec\n");
		abort();
	}
	return text;
}

static char *json_strdup(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? sy_xstrdup(s) : NULL;
}

static void decode_deps(json_t *arr, struct planner_deps *deps)
{
	size_t i;
	json_t *d;

	deps->n = 0;
	deps->items = sy_xcalloc(json_array_size(arr) + 1, sizeof(*deps->items));
	json_array_foreach(arr, i, d) {
		struct planner_dep *dep = &deps->items[deps->n++];

		dep->name = json_strdup(d, "n");
		dep->flags = (int)json_integer_value(json_object_get(d, "f"));
		dep->evr = json_strdup(d, "v");
	}
}

static void decode_strv(json_t *arr, struct sy_strv *v)
{
	size_t i;
	json_t *s;

	json_array_foreach(arr, i, s)
		if (json_is_string(s))
			sy_strv_push(v, json_string_value(s));
}

static void decode_spec(json_t *obj, struct planner_spec *out)
{
	json_t *pkgs = json_object_get(obj, "packages");
	size_t i;
	json_t *p;

	out->name = json_strdup(obj, "name");
	out->epoch = json_strdup(obj, "epoch");
	out->version = json_strdup(obj, "version");
	out->release = json_strdup(obj, "release");
	out->packages = sy_xcalloc(json_array_size(pkgs) + 1, sizeof(*out->packages));
	json_array_foreach(pkgs, i, p) {
		struct planner_package *pkg = &out->packages[out->npackages++];

		pkg->name = json_strdup(p, "name");
		pkg->evr = json_strdup(p, "evr");
		pkg->arch = json_strdup(p, "arch");
		decode_deps(json_object_get(p, "provides"), &pkg->provides);
		decode_deps(json_object_get(p, "requires"), &pkg->requires);
	}
	decode_deps(json_object_get(obj, "buildrequires"), &out->buildrequires);
	decode_strv(json_object_get(obj, "sources"), &out->sources);
	decode_strv(json_object_get(obj, "patches"), &out->patches);
	decode_strv(json_object_get(obj, "exclusive_arch"), &out->exclusive_arch);
	decode_strv(json_object_get(obj, "exclude_arch"), &out->exclude_arch);
}

int planner_spec_from_json(const char *text, size_t len, struct planner_spec *out,
			   struct sy_error *err)
{
	json_error_t jerr;
	json_t *obj = json_loadb(text, len, 0, &jerr);

	if (!obj)
		return sy_error_set(err, "spec JSON: %s", jerr.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return sy_error_set(err, "spec JSON: not an object");
	}
	if (json_object_get(obj, "error")) {
		out->error = json_strdup(obj, "error");
		if (!out->error)
			out->error = sy_xasprintf("%s: spec did not parse",
						  out->path ? out->path : "spec");
	} else {
		decode_spec(obj, out);
	}
	decode_strv(json_object_get(obj, "version_refs"), &out->version_refs);
	json_decref(obj);
	return 0;
}

/* ------------------------------------------------------------------------ */

/* Frees s unless it lives in spec's arena. */
static void free_str(const struct planner_spec *spec, char *s)
{
	uintptr_t a = (uintptr_t)spec->arena, p = (uintptr_t)s;

	if (!spec->arena || p < a || p >= a + spec->arena_size)
		free(s);
}

static void deps_release(const struct planner_spec *spec, struct planner_deps *deps)
{
	for (size_t i = 0; i < deps->n; i++) {
		free_str(spec, deps->items[i].name);
		free_str(spec, deps->items[i].evr);
	}
	free(deps->items);
	deps->items = NULL;
	deps->n = 0;
}

static void strv_release(const struct planner_spec *spec, struct sy_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free_str(spec, v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

void planner_spec_release(struct planner_spec *spec)
{
	free_str(spec, spec->path);
	free_str(spec, spec->name);
	free_str(spec, spec->epoch);
	free_str(spec, spec->version);
	free_str(spec, spec->release);
	for (size_t i = 0; i < spec->npackages; i++) {
		struct planner_package *pkg = &spec->packages[i];

		free_str(spec, pkg->name);
		free_str(spec, pkg->evr);
		free_str(spec, pkg->arch);
		deps_release(spec, &pkg->provides);
		deps_release(spec, &pkg->requires);
	}
	free(spec->packages);
	deps_release(spec, &spec->buildrequires);
	strv_release(spec, &spec->sources);
	strv_release(spec, &spec->patches);
	strv_release(spec, &spec->exclusive_arch);
	strv_release(spec, &spec->exclude_arch);
	free_str(spec, spec->error);
	strv_release(spec, &spec->version_refs);
	free_str(spec, spec->excluded);
	free(spec->arena);
	memset(spec, 0, sizeof(*spec));
}

const char *planner_dep_op(int flags)
{
	static const char *const ops[8] = { "", "", "<", "", ">", "", "<>", "" };
	static const char *const with_eq[8] = { "=", "", "<=", "", ">=", "", "<>=", "" };
	int i = flags & (PLANNER_DEP_LESS | PLANNER_DEP_GREATER);

	return flags & PLANNER_DEP_EQUAL ? with_eq[i] : ops[i];
}

char *planner_dep_format(const struct planner_dep *dep)
{
	if (!dep->flags || !dep->evr)
		return sy_xstrdup(dep->name);
	return sy_xasprintf("%s %s %s", dep->name, planner_dep_op(dep->flags), dep->evr);
}

char *planner_spec_srpm_name(const struct planner_spec *spec)
{
	return sy_xasprintf("%s-%s-%s.src.rpm", spec->name, spec->version, spec->release);
}
