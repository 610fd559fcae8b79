/* Parsing an image config into the model of imager/imageconfig.h: every key
 * known, every value of the type the toolkit's Go structs declare. The
 * toolkit's rules over the parsed values are imager/imagevalidate.c's. */
#define _GNU_SOURCE
#include "imager/imageconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "imager/imagevalidate.h"

/* One parse: the file (for messages), its directory (for relative paths),
 * how package lists are read, and the error. */
struct parser {
	const char *file;
	const char *dir;
	imager_read_fn read_fn;
	void *arg;
	struct sy_error *err;
};

/* "<file>: <where>: <message>"; returns -1. */
static int fail(struct parser *p, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parser *p, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sy_error_set(p->err, "%s: %s: %s", p->file, where, msg);
}

/* The JSON path of member key of where ("" is the top), malloc'ed. */
static char *member(const char *where, const char *key)
{
	return where[0] ? sy_xasprintf("%s.%s", where, key) : sy_xstrdup(key);
}

static char *element(const char *where, const char *key, size_t i)
{
	return where[0] ? sy_xasprintf("%s.%s[%zu]", where, key, i) : sy_xasprintf("%s[%zu]", key, i);
}

/* Refuses a member of obj not in known (NULL-terminated). Keys starting
 * with '_' are comments where comments are allowed (package lists, as the
 * toolkit's own files use "_comment"). */
static int check_keys_comments(struct parser *p, json_t *obj, const char *where,
			       const char *const *known, int comments)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t k = 0;
		if (comments && key[0] == '_')
			continue;
		while (known[k] && strcmp(known[k], key))
			k++;
		if (!known[k]) {
			char *at = member(where, key);
			int rc = fail(p, at, "unknown key");
			free(at);
			return rc;
		}
	}
	return 0;
}

static int check_keys(struct parser *p, json_t *obj, const char *where, const char *const *known)
{
	return check_keys_comments(p, obj, where, known, 0);
}

/* Fails "where.key: must be <what>". */
static int wrong_type(struct parser *p, const char *where, const char *key, const char *what)
{
	char *at = member(where, key);
	int rc = fail(p, at, "must be %s", what);

	free(at);
	return rc;
}

/* A string member: a copy in *out, "" when absent or null. */
static int get_str(struct parser *p, json_t *obj, const char *where, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v && !json_is_null(v) && !json_is_string(v))
		return wrong_type(p, where, key, "a string");
	*out = sy_xstrdup(v && json_is_string(v) ? json_string_value(v) : "");
	return 0;
}

/* A boolean member: *out, dflt when absent or null. */
static int get_bool(struct parser *p, json_t *obj, const char *where, const char *key, int *out,
		    int dflt)
{
	json_t *v = json_object_get(obj, key);

	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return wrong_type(p, where, key, "true or false");
	*out = json_is_true(v);
	return 0;
}

/* A non-negative integer member (MiB, counts): *out, 0 when absent. */
static int get_uint(struct parser *p, json_t *obj, const char *where, const char *key,
		    uint64_t *out)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return wrong_type(p, where, key, "a non-negative integer");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* An integer member given as a number or a decimal string (the toolkit's
 * UID and GID are strings): *out, dflt when absent. */
static int get_long(struct parser *p, json_t *obj, const char *where, const char *key, long *out,
		    long dflt)
{
	json_t *v = json_object_get(obj, key);
	char *end;

	*out = dflt;
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0]))
		return 0;
	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		*out = strtol(json_string_value(v), &end, 10);
		if (!*end)
			return 0;
	}
	return wrong_type(p, where, key, "an integer");
}

/* An array member in *out (NULL when absent or null). */
static int get_array(struct parser *p, json_t *obj, const char *where, const char *key,
		     json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return wrong_type(p, where, key, "an array");
	*out = v;
	return 0;
}

/* An object member in *out (NULL when absent or null). */
static int get_object(struct parser *p, json_t *obj, const char *where, const char *key,
		      json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return wrong_type(p, where, key, "an object");
	*out = v;
	return 0;
}

/* An array of strings member into out. */
static int get_strv(struct parser *p, json_t *obj, const char *where, const char *key,
		    struct sy_strv *out)
{
	json_t *arr;

	if (get_array(p, obj, where, key, &arr))
		return -1;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		if (!json_is_string(v)) {
			char *at = element(where, key, i);
			int rc = fail(p, at, "must be a string");
			free(at);
			return rc;
		}
		sy_strv_push(out, json_string_value(v));
	}
	return 0;
}

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

/* rel resolved against the config's directory into *out, or an error at
 * where. */
static int repo_path(struct parser *p, const char *where, const char *rel, char **out)
{
	if (!rel[0])
		return fail(p, where, "must be a path");
	*out = resolve_path(p->dir, rel);
	if (!*out)
		return fail(p, where, "\"%s\" is outside the repository", rel);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Disks.                                                                    */

static int parse_artifact(struct parser *p, json_t *a, const char *where,
			  struct imager_artifact *out)
{
	static const char *const keys[] = { "Name", "Type", "Compression", NULL };

	if (!json_is_object(a))
		return fail(p, where, "must be an object");
	if (check_keys(p, a, where, keys) || get_str(p, a, where, "Name", &out->name) ||
	    get_str(p, a, where, "Type", &out->type) ||
	    get_str(p, a, where, "Compression", &out->compression))
		return -1;
	/* Name becomes a file name: no paths, no hidden or parent names. */
	if (!out->name[0] || out->name[0] == '.' || strchr(out->name, '/'))
		return fail(p, where, "Name \"%s\" is not a plain file name", out->name);
	return 0;
}

static int parse_artifacts(struct parser *p, json_t *obj, const char *where,
			   struct imager_artifact **out, size_t *n)
{
	json_t *arr;

	if (get_array(p, obj, where, "Artifacts", &arr))
		return -1;
	*out = sy_xcalloc(json_array_size(arr) + 1, sizeof(**out));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		char *at = element(where, "Artifacts", i);
		int rc = parse_artifact(p, json_array_get(arr, i), at, &(*out)[(*n)++]);
		free(at);
		if (rc)
			return -1;
	}
	return 0;
}

static int parse_partition(struct parser *p, json_t *o, const char *where,
			   struct imager_partition *out)
{
	static const char *const keys[] = { "ID", "Name", "FsType", "Type", "TypeUUID", "Start",
					    "End", "Flags", "Artifacts", NULL };

	if (!json_is_object(o))
		return fail(p, where, "must be an object");
	return check_keys(p, o, where, keys) || get_str(p, o, where, "ID", &out->id) ||
			       get_str(p, o, where, "Name", &out->name) ||
			       get_str(p, o, where, "FsType", &out->fs_type) ||
			       get_str(p, o, where, "Type", &out->type) ||
			       get_str(p, o, where, "TypeUUID", &out->type_uuid) ||
			       get_uint(p, o, where, "Start", &out->start_mib) ||
			       get_uint(p, o, where, "End", &out->end_mib) ||
			       get_strv(p, o, where, "Flags", &out->flags) ||
			       parse_artifacts(p, o, where, &out->artifacts, &out->nartifacts)
		       ? -1
		       : 0;
}

static int parse_disk(struct parser *p, json_t *o, const char *where, struct imager_disk *out)
{
	static const char *const keys[] = { "PartitionTableType", "MaxSize", "TargetDisk",
					    "Artifacts", "Partitions", "RawBinaries", NULL };
	json_t *target, *parts, *raw;

	if (!json_is_object(o))
		return fail(p, where, "must be an object");
	if (check_keys(p, o, where, keys) ||
	    get_str(p, o, where, "PartitionTableType", &out->partition_table_type) ||
	    get_uint(p, o, where, "MaxSize", &out->max_size_mib) ||
	    get_object(p, o, where, "TargetDisk", &target) ||
	    get_array(p, o, where, "RawBinaries", &raw) ||
	    parse_artifacts(p, o, where, &out->artifacts, &out->nartifacts) ||
	    get_array(p, o, where, "Partitions", &parts))
		return -1;
	out->has_target_disk = target != NULL;
	out->nraw_binaries = json_array_size(raw);
	out->partitions = sy_xcalloc(json_array_size(parts) + 1, sizeof(*out->partitions));
	for (size_t i = 0; i < json_array_size(parts); i++) {
		char *at = element(where, "Partitions", i);
		int rc = parse_partition(p, json_array_get(parts, i), at,
					 &out->partitions[out->npartitions++]);
		free(at);
		if (rc)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* SystemConfigs.                                                            */

static int parse_setting(struct parser *p, json_t *o, const char *where,
			 struct imager_partition_setting *out)
{
	static const char *const keys[] = { "ID", "MountPoint", "MountOptions", "MountIdentifier",
					    "RemoveDocs", "OverlayBaseImage", "RdiffBaseImage",
					    NULL };

	if (!json_is_object(o))
		return fail(p, where, "must be an object");
	if (check_keys(p, o, where, keys) || get_str(p, o, where, "ID", &out->id) ||
	    get_str(p, o, where, "MountPoint", &out->mount_point) ||
	    get_str(p, o, where, "MountOptions", &out->mount_options) ||
	    get_str(p, o, where, "MountIdentifier", &out->mount_identifier) ||
	    get_bool(p, o, where, "RemoveDocs", &out->remove_docs, 0) ||
	    get_str(p, o, where, "OverlayBaseImage", &out->overlay_base_image) ||
	    get_str(p, o, where, "RdiffBaseImage", &out->rdiff_base_image))
		return -1;
	if (!out->mount_identifier[0]) {
		free(out->mount_identifier);
		out->mount_identifier = sy_xstrdup("partuuid");
	}
	return 0;
}

/* Scripts: [{Path, Args}] with Path relative to the config. */
static int parse_scripts(struct parser *p, json_t *sys, const char *where, const char *key,
			 struct imager_script **out, size_t *n)
{
	static const char *const keys[] = { "Path", "Args", NULL };
	json_t *arr;
	int rc = 0;

	if (get_array(p, sys, where, key, &arr))
		return -1;
	*out = sy_xcalloc(json_array_size(arr) + 1, sizeof(**out));
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		char *at = element(where, key, i), *path = NULL, *pat;
		struct imager_script *s = &(*out)[*n];

		if (!json_is_object(o)) {
			rc = fail(p, at, "must be an object");
		} else if (check_keys(p, o, at, keys) || get_str(p, o, at, "Path", &path) ||
			   get_str(p, o, at, "Args", &s->args)) {
			rc = -1;
		} else {
			pat = member(at, "Path");
			rc = repo_path(p, pat, path, &s->path);
			free(pat);
		}
		(*n)++;
		free(path);
		free(at);
	}
	return rc;
}

/* One AdditionalFiles destination: "path" or {Path, Permissions}. */
static int parse_file_dest(struct parser *p, json_t *v, const char *where, const char *source,
			   struct imager_additional_file *out)
{
	static const char *const keys[] = { "Path", "Permissions", NULL };
	json_t *perm;

	out->source = sy_xstrdup(source);
	out->permissions = -1;
	if (json_is_string(v)) {
		out->dest = sy_xstrdup(json_string_value(v));
		return 0;
	}
	if (!json_is_object(v))
		return fail(p, where, "must be a path or an object with Path and Permissions");
	if (check_keys(p, v, where, keys) || get_str(p, v, where, "Path", &out->dest))
		return -1;
	perm = json_object_get(v, "Permissions");
	if (perm && !json_is_null(perm)) {
		char *end = NULL;
		long mode = json_is_integer(perm)  ? (long)json_integer_value(perm)
			    : json_is_string(perm) ? strtol(json_string_value(perm), &end, 8)
						   : -1;
		if ((end && (*end || end == json_string_value(perm))) || mode < 0 || mode > 07777) {
			char *at = member(where, "Permissions");
			int rc = fail(p, at, "must be permission bits (\"0644\")");
			free(at);
			return rc;
		}
		out->permissions = (int)mode;
	}
	return 0;
}

static void push_file(struct imager_system_config *s, struct imager_additional_file *f)
{
	s->additional_files = sy_xrealloc(s->additional_files,
					  (s->nadditional_files + 1) * sizeof(*f));
	s->additional_files[s->nadditional_files++] = *f;
}

static void file_release(struct imager_additional_file *f)
{
	free(f->data);
	free(f->source);
	free(f->dest);
}

/* AdditionalFiles: {source: dest | {Path, Permissions} | [those]}. */
static int parse_additional_files(struct parser *p, json_t *sys, const char *where,
				  struct imager_system_config *s)
{
	json_t *files, *v;
	const char *src;
	char *fwhere = member(where, "AdditionalFiles");
	int rc = get_object(p, sys, where, "AdditionalFiles", &files);

	json_object_foreach(files, src, v) {
		char *at = sy_xasprintf("%s[\"%s\"]", fwhere, src), *source = NULL;
		size_t n = json_is_array(v) ? json_array_size(v) : 1;

		if (rc == 0)
			rc = repo_path(p, at, src, &source);
		if (rc == 0 && json_is_array(v) && n == 0)
			rc = fail(p, at, "must name at least one destination");
		for (size_t i = 0; rc == 0 && i < n; i++) {
			struct imager_additional_file f = { 0 };
			char *eat = json_is_array(v) ? sy_xasprintf("%s[%zu]", at, i) : sy_xstrdup(at);
			rc = parse_file_dest(p, json_is_array(v) ? json_array_get(v, i) : v, eat,
					     source, &f);
			if (rc)
				file_release(&f);
			else
				push_file(s, &f);
			free(eat);
		}
		free(source);
		free(at);
	}
	free(fwhere);
	return rc;
}

static int parse_cmdline(struct parser *p, json_t *sys, const char *where,
			 struct imager_system_config *s)
{
	static const char *const keys[] = { "CGroup", "ImaPolicy", "SELinux", "SELinuxPolicy",
					    "EnableFIPS", "ExtraCommandLine", NULL };
	struct imager_kernel_cmdline *k = &s->cmdline;
	char *at = member(where, "KernelCommandLine");
	json_t *o;
	int rc = get_object(p, sys, where, "KernelCommandLine", &o);

	s->has_kernel_cmdline = o != NULL;
	if (rc == 0)
		rc = (o && check_keys(p, o, at, keys)) || get_str(p, o, at, "CGroup", &k->cgroup) ||
				     get_strv(p, o, at, "ImaPolicy", &k->ima_policy) ||
				     get_str(p, o, at, "SELinux", &k->selinux) ||
				     get_str(p, o, at, "SELinuxPolicy", &k->selinux_policy) ||
				     get_bool(p, o, at, "EnableFIPS", &k->enable_fips, 0) ||
				     get_str(p, o, at, "ExtraCommandLine", &k->extra)
			     ? -1
			     : 0;
	free(at);
	return rc;
}

/* KernelOptions: {"default": kernel package, "_comment": ...}. */
static int parse_kernel_options(struct parser *p, json_t *sys, const char *where,
				struct imager_system_config *s)
{
	json_t *o, *v;
	const char *key;

	if (get_object(p, sys, where, "KernelOptions", &o))
		return -1;
	s->kernel = sy_xstrdup("");
	json_object_foreach(o, key, v) {
		char *at = sy_xasprintf("%s.KernelOptions.%s", where, key);
		int rc = 0;
		if (key[0] == '_') {
			free(at);
			continue;
		}
		if (!json_is_string(v) || !json_string_value(v)[0] ||
		    strspn(json_string_value(v), " \t") == strlen(json_string_value(v)))
			rc = fail(p, at, "must name a kernel package");
		else if (!strcmp(key, "default"))
			free(s->kernel), s->kernel = sy_xstrdup(json_string_value(v));
		else
			sy_strv_push(&s->kernel_options, key);
		free(at);
		if (rc)
			return -1;
	}
	return 0;
}

static int parse_group(struct parser *p, json_t *o, const char *where, struct imager_group *g)
{
	static const char *const keys[] = { "Name", "GID", NULL };

	if (!json_is_object(o))
		return fail(p, where, "must be an object");
	return check_keys(p, o, where, keys) || get_str(p, o, where, "Name", &g->name) ||
			       get_long(p, o, where, "GID", &g->gid, -1)
		       ? -1
		       : 0;
}

static int parse_user(struct parser *p, json_t *o, const char *where, struct imager_user *u)
{
	static const char *const keys[] = { "Name", "UID", "PasswordHashed", "Password",
					    "PasswordExpiresDays", "SSHPubKeyPaths", "SSHPubKeys",
					    "PrimaryGroup", "SecondaryGroups", "StartupCommand",
					    "HomeDirectory", NULL };
	struct sy_strv paths = SY_STRV_INIT;
	int rc;

	if (!json_is_object(o))
		return fail(p, where, "must be an object");
	rc = check_keys(p, o, where, keys) || get_str(p, o, where, "Name", &u->name) ||
			     get_long(p, o, where, "UID", &u->uid, -1) ||
			     get_bool(p, o, where, "PasswordHashed", &u->password_hashed, 0) ||
			     get_str(p, o, where, "Password", &u->password) ||
			     get_long(p, o, where, "PasswordExpiresDays", &u->password_expires_days,
				      -1) ||
			     get_strv(p, o, where, "SSHPubKeyPaths", &paths) ||
			     get_strv(p, o, where, "SSHPubKeys", &u->ssh_pubkeys) ||
			     get_str(p, o, where, "PrimaryGroup", &u->primary_group) ||
			     get_strv(p, o, where, "SecondaryGroups", &u->secondary_groups) ||
			     get_str(p, o, where, "StartupCommand", &u->startup_command) ||
			     get_str(p, o, where, "HomeDirectory", &u->home_directory)
		     ? -1
		     : 0;
	for (size_t i = 0; rc == 0 && i < paths.n; i++) {
		char *at = element(where, "SSHPubKeyPaths", i), *path;
		rc = repo_path(p, at, paths.items[i], &path);
		if (rc == 0)
			sy_strv_push_owned(&u->ssh_pubkey_paths, path);
		free(at);
	}
	sy_strv_release(&paths);
	return rc;
}

/* Counts the entries of an array of objects whose keys are checked, for
 * sections composing refuses while they are not empty (Networks,
 * PackageRepos). */
static int count_objects(struct parser *p, json_t *sys, const char *where, const char *key,
			 const char *const *keys, size_t *n)
{
	json_t *arr;

	if (get_array(p, sys, where, key, &arr))
		return -1;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		char *at = element(where, key, i);
		json_t *o = json_array_get(arr, i);
		int rc = !json_is_object(o) ? fail(p, at, "must be an object")
					    : check_keys(p, o, at, keys);
		free(at);
		if (rc)
			return -1;
	}
	*n = json_array_size(arr);
	return 0;
}

/* Parses the array member key of sys into *items (n entries of size bytes)
 * with one(). */
static int parse_list(struct parser *p, json_t *sys, const char *where, const char *key,
		      void **items, size_t *n, size_t size,
		      int (*one)(struct parser *, json_t *, const char *, void *))
{
	json_t *arr;

	if (get_array(p, sys, where, key, &arr))
		return -1;
	*items = sy_xcalloc(json_array_size(arr) + 1, size);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		char *at = element(where, key, i);
		int rc = one(p, json_array_get(arr, i), at, (char *)*items + (*n)++ * size);
		free(at);
		if (rc)
			return -1;
	}
	return 0;
}

static int one_setting(struct parser *p, json_t *o, const char *w, void *out)
{
	return parse_setting(p, o, w, out);
}

static int one_group(struct parser *p, json_t *o, const char *w, void *out)
{
	return parse_group(p, o, w, out);
}

static int one_user(struct parser *p, json_t *o, const char *w, void *out)
{
	return parse_user(p, o, w, out);
}

static int parse_encryption(struct parser *p, json_t *sys, const char *where,
			    struct imager_system_config *s)
{
	static const char *const keys[] = { "Enable", "Password", NULL };
	char *at = member(where, "Encryption");
	json_t *o;
	int rc = get_object(p, sys, where, "Encryption", &o);

	if (rc == 0 && o)
		rc = check_keys(p, o, at, keys) ||
				     get_bool(p, o, at, "Enable", &s->encryption_enabled, 0)
			     ? -1
			     : 0;
	free(at);
	return rc;
}

static int parse_system(struct parser *p, json_t *o, const char *where,
			struct imager_system_config *s)
{
	static const char *const keys[] = {
		"Name", "IsDefault", "IsKickStartBoot", "IsIsoInstall", "BootType",
		"EnableGrubMkconfig", "EnableSystemdFirstboot", "Hostname", "PackageLists",
		"Packages", "KernelOptions", "KernelCommandLine", "AdditionalFiles",
		"PartitionSettings", "PreInstallScripts", "PostInstallScripts",
		"FinalizeImageScripts", "Networks", "PackageRepos", "Groups", "Users",
		"Encryption", "RemoveRpmDb", "PreserveTdnfCache", "EnableHidepid",
		"DisableRpmDocs", "OverrideRpmLocales", NULL
	};
	static const char *const network_keys[] = { "BootProto", "GateWay", "Ip", "NetMask",
						    "OnBoot", "NameServer", "Device", NULL };
	static const char *const repo_keys[] = { "Name", "BaseUrl", "Install", "GPGCheck",
						 "RepoGPGCheck", "GPGKeys", NULL };
	struct sy_strv lists = SY_STRV_INIT;
	int rc;

	if (!json_is_object(o))
		return fail(p, where, "must be an object");
	rc = check_keys(p, o, where, keys) || get_str(p, o, where, "Name", &s->name) ||
			     get_bool(p, o, where, "IsDefault", &s->is_default, 0) ||
			     get_bool(p, o, where, "IsKickStartBoot", &s->is_kickstart_boot, 0) ||
			     get_bool(p, o, where, "IsIsoInstall", &s->is_iso_install, 0) ||
			     get_str(p, o, where, "BootType", &s->boot_type) ||
			     get_bool(p, o, where, "EnableGrubMkconfig", &s->enable_grub_mkconfig,
				      1) ||
			     get_bool(p, o, where, "EnableSystemdFirstboot",
				      &s->enable_systemd_firstboot, 0) ||
			     get_str(p, o, where, "Hostname", &s->hostname) ||
			     get_strv(p, o, where, "PackageLists", &lists) ||
			     get_strv(p, o, where, "Packages", &s->packages) ||
			     parse_kernel_options(p, o, where, s) || parse_cmdline(p, o, where, s) ||
			     parse_additional_files(p, o, where, s) ||
			     parse_list(p, o, where, "PartitionSettings",
					(void **)&s->partition_settings, &s->npartition_settings,
					sizeof(*s->partition_settings), one_setting) ||
			     parse_scripts(p, o, where, "PreInstallScripts", &s->pre_install_scripts,
					   &s->npre_install_scripts) ||
			     parse_scripts(p, o, where, "PostInstallScripts",
					   &s->post_install_scripts, &s->npost_install_scripts) ||
			     parse_scripts(p, o, where, "FinalizeImageScripts",
					   &s->finalize_image_scripts, &s->nfinalize_image_scripts) ||
			     count_objects(p, o, where, "Networks", network_keys, &s->nnetworks) ||
			     count_objects(p, o, where, "PackageRepos", repo_keys,
					   &s->npackage_repos) ||
			     parse_list(p, o, where, "Groups", (void **)&s->groups, &s->ngroups,
					sizeof(*s->groups), one_group) ||
			     parse_list(p, o, where, "Users", (void **)&s->users, &s->nusers,
					sizeof(*s->users), one_user) ||
			     parse_encryption(p, o, where, s) ||
			     get_bool(p, o, where, "RemoveRpmDb", &s->remove_rpm_db, 0) ||
			     get_bool(p, o, where, "PreserveTdnfCache", &s->preserve_tdnf_cache, 0) ||
			     get_bool(p, o, where, "EnableHidepid", &s->enable_hidepid, 0) ||
			     get_bool(p, o, where, "DisableRpmDocs", &s->disable_rpm_docs, 0) ||
			     get_str(p, o, where, "OverrideRpmLocales", &s->override_rpm_locales)
		     ? -1
		     : 0;
	for (size_t i = 0; rc == 0 && i < lists.n; i++) {
		char *at = element(where, "PackageLists", i), *path;
		rc = repo_path(p, at, lists.items[i], &path);
		if (rc == 0)
			sy_strv_push_owned(&s->package_lists, path);
		free(at);
	}
	sy_strv_release(&lists);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* What composing reads.                                                     */

static void add_package(struct imager_config *cfg, const char *pkg)
{
	if (!sy_strv_contains(&cfg->packages, pkg))
		sy_strv_push(&cfg->packages, pkg);
}

/* Reads one package list file {"packages": [...]}, SystemConfigs[0]'s
 * PackageLists[i], into cfg->packages. */
static int read_package_list(struct parser *p, struct imager_config *cfg, const char *path,
			     size_t i)
{
	static const char *const keys[] = { "packages", NULL };
	char *data = NULL;
	json_error_t jerr;
	json_t *root = NULL, *pkgs;
	int rc = 0;

	if (p->read_fn(p->arg, path, &data, NULL, p->err))
		return sy_error_prefix(p->err, "%s: SystemConfigs[0].PackageLists[%zu]", cfg->path, i);
	root = json_loads(data, 0, &jerr);
	if (!root) {
		rc = sy_error_set(p->err, "%s:%d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	struct parser list = { .file = path, .dir = p->dir, .err = p->err };
	if (!json_is_object(root)) {
		rc = sy_error_set(p->err, "%s: must be an object {\"packages\": [...]}", path);
		goto out;
	}
	if (check_keys_comments(&list, root, "", keys, 1) ||
	    get_array(&list, root, "", "packages", &pkgs)) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(pkgs); i++) {
		json_t *v = json_array_get(pkgs, i);
		if (!json_is_string(v) || !json_string_value(v)[0]) {
			rc = sy_error_set(p->err, "%s: packages[%zu]: not a package name", path, i);
			goto out;
		}
		add_package(cfg, json_string_value(v));
	}
out:
	json_decref(root);
	free(data);
	return rc;
}

/* Fills the composing view from SystemConfigs[0] and Disks[0]: the kernel,
 * the lists' packages, then Packages, as the toolkit's imager orders them. */
static int compose_view(struct parser *p, struct imager_config *cfg)
{
	const struct imager_system_config *s = &cfg->systems[0];

	if (s->kernel && s->kernel[0])
		add_package(cfg, s->kernel);
	for (size_t i = 0; i < s->package_lists.n; i++) {
		sy_strv_push(&cfg->package_lists, s->package_lists.items[i]);
		if (read_package_list(p, cfg, s->package_lists.items[i], i))
			return -1;
	}
	for (size_t i = 0; i < s->packages.n; i++) {
		if (!s->packages.items[i][0])
			return fail(p, "SystemConfigs[0].Packages", "[%zu] is not a package name", i);
		add_package(cfg, s->packages.items[i]);
	}
	if (cfg->packages.n == 0 && s->package_lists.n)
		return fail(p, "SystemConfigs[0]", "the package lists are empty");
	if (cfg->ndisks) {
		cfg->artifacts = cfg->disks[0].artifacts;
		cfg->nartifacts = cfg->disks[0].nartifacts;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */

static int parse_root(struct parser *p, json_t *root, struct imager_config *cfg)
{
	/* DefaultSystemConfig: the toolkit's computed field, which its installer
	 * writes out into the configs it generates. */
	static const char *const keys[] = { "Disks", "SystemConfigs", "DefaultSystemConfig", NULL };
	json_t *disks, *systems;

	if (!json_is_object(root))
		return sy_error_set(p->err, "%s: not a JSON object", p->file);
	if (check_keys(p, root, "", keys) || get_array(p, root, "", "Disks", &disks) ||
	    get_array(p, root, "", "SystemConfigs", &systems))
		return -1;
	if (json_array_size(systems) == 0)
		return fail(p, "SystemConfigs", "at least one is required");
	cfg->has_default_system_config = json_object_get(root, "DefaultSystemConfig") != NULL;
	cfg->disks = sy_xcalloc(json_array_size(disks) + 1, sizeof(*cfg->disks));
	for (size_t i = 0; i < json_array_size(disks); i++) {
		char *at = element("", "Disks", i);
		int rc = parse_disk(p, json_array_get(disks, i), at, &cfg->disks[cfg->ndisks++]);
		free(at);
		if (rc)
			return -1;
	}
	cfg->systems = sy_xcalloc(json_array_size(systems) + 1, sizeof(*cfg->systems));
	for (size_t i = 0; i < json_array_size(systems); i++) {
		char *at = element("", "SystemConfigs", i);
		int rc = parse_system(p, json_array_get(systems, i), at,
				      &cfg->systems[cfg->nsystems++]);
		free(at);
		if (rc)
			return -1;
	}
	return compose_view(p, cfg);
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
	char *dir = sy_xstrdup(path), *slash = strrchr(dir, '/');
	struct parser p = { .file = path, .dir = dir, .read_fn = read_fn, .arg = arg, .err = err };
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = sy_xstrdup(path);
	set_name(cfg, path);
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		rc = sy_error_set(err, "%s:%d: %s", path, jerr.line, jerr.text);
	else
		rc = parse_root(&p, root, cfg) || imager_config_validate(cfg, err) ? -1 : 0;
	json_decref(root);
	free(dir);
	if (rc)
		imager_config_release(cfg);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The files a system config applies.                                        */

/* Reads path into *data and *size, or fails naming cfg's item where;
 * *total counts the bytes read for the config. */
static int load_one(const struct imager_config *cfg, const char *where, const char *path,
		    imager_read_fn read_fn, void *arg, char **data, size_t *size,
		    size_t *total, struct sy_error *err)
{
	*data = NULL;
	*size = 0;
	if (read_fn(arg, path, data, size, err))
		return sy_error_prefix(err, "%s: %s", cfg->path, where);
	*total += *size;
	if (*size > IMAGER_FILE_MAX || *total > IMAGER_FILES_TOTAL_MAX) {
		free(*data);
		*data = NULL;
		if (*size > IMAGER_FILE_MAX)
			return sy_error_set(err, "%s: %s: %s: larger than %u bytes", cfg->path,
					    where, path, IMAGER_FILE_MAX);
		return sy_error_set(err, "%s: %s: the files applied exceed %u bytes", cfg->path,
				    where, IMAGER_FILES_TOTAL_MAX);
	}
	return 0;
}

static int load_scripts(const struct imager_config *cfg, const char *key,
			struct imager_script *s, size_t n, imager_read_fn read_fn, void *arg,
			size_t *total, struct sy_error *err)
{
	for (size_t i = 0; i < n; i++) {
		char *where = sy_xasprintf("SystemConfigs[0].%s[%zu]", key, i);
		int rc = load_one(cfg, where, s[i].path, read_fn, arg, &s[i].data, &s[i].size,
				  total, err);
		free(where);
		if (rc)
			return -1;
	}
	return 0;
}

int imager_config_load_files(struct imager_config *cfg, imager_read_fn read_fn, void *arg,
			     struct sy_error *err)
{
	struct imager_system_config *s = &cfg->systems[0];
	size_t total = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->nadditional_files; i++) {
		struct imager_additional_file *f = &s->additional_files[i];
		char *where = sy_xasprintf("SystemConfigs[0].AdditionalFiles[\"%s\"]", f->source);
		rc = load_one(cfg, where, f->source, read_fn, arg, &f->data, &f->size, &total, err);
		free(where);
	}
	for (size_t i = 0; rc == 0 && i < s->nusers; i++) {
		struct imager_user *u = &s->users[i];
		for (size_t k = 0; rc == 0 && k < u->ssh_pubkey_paths.n; k++) {
			char *where = sy_xasprintf("SystemConfigs[0].Users[%zu].SSHPubKeyPaths[%zu]",
						   i, k);
			char *data;
			size_t size;
			rc = load_one(cfg, where, u->ssh_pubkey_paths.items[k], read_fn, arg, &data,
				      &size, &total, err);
			if (rc == 0)
				sy_strv_push_owned(&u->ssh_pubkey_files, data);
			free(where);
		}
	}
	if (rc == 0)
		rc = load_scripts(cfg, "PostInstallScripts", s->post_install_scripts,
				  s->npost_install_scripts, read_fn, arg, &total, err);
	if (rc == 0)
		rc = load_scripts(cfg, "FinalizeImageScripts", s->finalize_image_scripts,
				  s->nfinalize_image_scripts, read_fn, arg, &total, err);
	return rc;
}

/* ------------------------------------------------------------------------ */

static void artifacts_release(struct imager_artifact *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].type);
		free(a[i].compression);
	}
	free(a);
}

static void disk_release(struct imager_disk *d)
{
	free(d->partition_table_type);
	artifacts_release(d->artifacts, d->nartifacts);
	for (size_t i = 0; i < d->npartitions; i++) {
		struct imager_partition *q = &d->partitions[i];
		free(q->id);
		free(q->name);
		free(q->fs_type);
		free(q->type);
		free(q->type_uuid);
		sy_strv_release(&q->flags);
		artifacts_release(q->artifacts, q->nartifacts);
	}
	free(d->partitions);
}

static void scripts_release(struct imager_script *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].path);
		free(s[i].args);
		free(s[i].data);
	}
	free(s);
}

static void user_release(struct imager_user *u)
{
	free(u->name);
	free(u->password);
	sy_strv_release(&u->ssh_pubkey_paths);
	sy_strv_release(&u->ssh_pubkey_files);
	sy_strv_release(&u->ssh_pubkeys);
	free(u->primary_group);
	sy_strv_release(&u->secondary_groups);
	free(u->startup_command);
	free(u->home_directory);
}

static void system_release(struct imager_system_config *s)
{
	free(s->name);
	free(s->boot_type);
	free(s->hostname);
	sy_strv_release(&s->package_lists);
	sy_strv_release(&s->packages);
	free(s->kernel);
	sy_strv_release(&s->kernel_options);
	free(s->cmdline.cgroup);
	sy_strv_release(&s->cmdline.ima_policy);
	free(s->cmdline.selinux);
	free(s->cmdline.selinux_policy);
	free(s->cmdline.extra);
	for (size_t i = 0; i < s->nadditional_files; i++)
		file_release(&s->additional_files[i]);
	free(s->additional_files);
	for (size_t i = 0; i < s->npartition_settings; i++) {
		struct imager_partition_setting *q = &s->partition_settings[i];
		free(q->id);
		free(q->mount_point);
		free(q->mount_options);
		free(q->mount_identifier);
		free(q->overlay_base_image);
		free(q->rdiff_base_image);
	}
	free(s->partition_settings);
	scripts_release(s->pre_install_scripts, s->npre_install_scripts);
	scripts_release(s->post_install_scripts, s->npost_install_scripts);
	scripts_release(s->finalize_image_scripts, s->nfinalize_image_scripts);
	for (size_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].name);
	free(s->groups);
	for (size_t i = 0; i < s->nusers; i++)
		user_release(&s->users[i]);
	free(s->users);
	free(s->override_rpm_locales);
}

void imager_config_release(struct imager_config *cfg)
{
	free(cfg->name);
	free(cfg->path);
	for (size_t i = 0; i < cfg->ndisks; i++)
		disk_release(&cfg->disks[i]);
	free(cfg->disks);
	for (size_t i = 0; i < cfg->nsystems; i++)
		system_release(&cfg->systems[i]);
	free(cfg->systems);
	sy_strv_release(&cfg->package_lists);
	sy_strv_release(&cfg->packages);
	memset(cfg, 0, sizeof(*cfg));
}
