#include "planner/distro.h"

#include <strings.h>
#include <ctype.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"

/* Appends a value of a multivar to the list payload. A key written without
 * "= value" has none (git reads it as boolean true): the walk stops with 1. */
static int add_value(const git_config_entry *entry, void *payload)
{
	if (!entry->value)
		return 1;
	sy_strv_push(payload, entry->value);
	return 0;
}

/* Appends every value of the multivar name to list. */
static int get_list(git_config *cfg, const char *name, struct sy_strv *list, struct sy_error *err)
{
	if (git_config_get_multivar_foreach(cfg, name, NULL, add_value, list) == 1)
		return sy_error_set(err, "shipyard.conf: %s: no value", name);
	return 0;
}

static char *get_string(git_config *cfg, const char *name, const char *fallback)
{
	git_buf buf = { 0 };
	char *value;

	if (git_config_get_string_buf(&buf, cfg, name) < 0)
		return fallback ? sy_xstrdup(fallback) : NULL;
	value = sy_xstrdup(buf.ptr);
	git_buf_dispose(&buf);
	return value;
}

int planner_signature_mode_parse(const char *text, enum planner_signature_mode *mode,
				 struct sy_error *err)
{
	if (!strcmp(text, "enforce"))
		*mode = PLANNER_SIGNATURES_ENFORCE;
	else if (!strcmp(text, "skip"))
		*mode = PLANNER_SIGNATURES_SKIP;
	else if (!strcmp(text, "update"))
		*mode = PLANNER_SIGNATURES_UPDATE;
	else
		return sy_error_set(err, "signature handling '%s': not enforce, skip or update", text);
	return 0;
}

/* The placeholder names, indexed by enum planner_source_field. */
static const char *const source_fields[] = { "name", "file", "sha256" };

int planner_source_placeholder(const char *text, size_t *len)
{
	const char *end = strchr(text + 2, '}');

	*len = end ? (size_t)(end - text) + 1 : strlen(text);
	for (size_t i = 0; end && i < LEN(source_fields); i++)
		if (*len == strlen(source_fields[i]) + 3 &&
		    !strncmp(text + 2, source_fields[i], *len - 3))
			return (int)i;
	return -1;
}

/* The length of the scheme and "://" that start url when it is http, https
 * or file (any case, as RFC 3986 reads schemes), else 0. */
static size_t url_scheme_len(const char *url)
{
	static const char *const schemes[] = { "http://", "https://", "file://" };

	for (size_t i = 0; i < LEN(schemes); i++)
		if (!strncasecmp(url, schemes[i], strlen(schemes[i])))
			return strlen(schemes[i]);
	return 0;
}

int planner_source_url_parse(const char *value, char **template, struct sy_error *err)
{
	size_t scheme = url_scheme_len(value), len;
	const char *path;
	int fields = 0;

	*template = NULL;
	if (!scheme)
		return sy_error_set(err, "'%s': not an http, https or file URL", value);
	for (const char *c = value; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return sy_error_set(err, "'%s': holds a space or control character", value);
	/* libcurl takes file://localhost/ too; one spelling is enough. */
	if (!strncasecmp(value, "file", 4) && value[scheme] != '/')
		return sy_error_set(err, "'%s': a file URL is file:///<absolute path>", value);
	path = strchr(value + scheme, '/');
	if (strncasecmp(value, "file", 4) && (value[scheme] == '/' || !value[scheme]))
		return sy_error_set(err, "'%s': no host", value);
	for (const char *c = value; (c = strstr(c, "%{")); c += len, fields++) {
		if (planner_source_placeholder(c, &len) < 0)
			return sy_error_set(err, "'%s': unknown placeholder %.*s (known: %%{name}, "
					    "%%{file}, %%{sha256})", value, (int)len, c);
		/* A spec's names fill placeholders: they must not pick the
		 * host the service connects to. */
		if (!path || c < path)
			return sy_error_set(err, "'%s': %.*s before the path: only the path may "
					    "vary", value, (int)len, c);
	}
	*template = fields ? sy_xstrdup(value) : sy_xasprintf("%s/%%{file}", value);
	return 0;
}

struct policy_walk {
	struct planner_distro *d;
	struct sy_error *err;
	int rc;
};

/* Collects spec.<name>.rebuildpolicy entries. (Filtered here rather than
 * with git_config_foreach_match: libgit2 1.5's regex matching leaks pcre2
 * match data.) */
static int add_spec_policy(const git_config_entry *entry, void *payload)
{
	struct policy_walk *w = payload;
	struct planner_policy policy;
	const char *name = entry->name + 5;
	const char *end = strrchr(entry->name, '.');

	/* Names come lowercased except the subsection: "spec.<Name>.rebuildpolicy". */
	if (strncmp(entry->name, "spec.", 5) || !end || end <= name ||
	    strcmp(end, ".rebuildpolicy"))
		return 0;

	if (!entry->value) {
		w->rc = sy_error_set(w->err, "shipyard.conf: %s: no value", entry->name);
		return 0;
	}
	if (planner_policy_parse(entry->value, &policy, w->err)) {
		sy_error_prefix(w->err, "shipyard.conf: %s", entry->name);
		w->rc = -1;
		return 0;
	}
	sy_strv_push_owned(&w->d->policy_specs, sy_xasprintf("%.*s", (int)(end - name), name));
	w->d->policies = sy_xrealloc(w->d->policies, w->d->policy_specs.n * sizeof(policy));
	w->d->policies[w->d->policy_specs.n - 1] = policy;
	return 0;
}

static int read_policies(git_config *cfg, struct planner_distro *d, struct sy_error *err)
{
	struct policy_walk w = { d, err, 0 };
	char *text = get_string(cfg, "distro.rebuildpolicy", "transitive");

	if (planner_policy_parse(text, &d->policy, err))
		w.rc = sy_error_prefix(err, "shipyard.conf: distro.rebuildpolicy");
	free(text);
	if (w.rc == 0)
		git_config_foreach(cfg, add_spec_policy, &w);
	return w.rc;
}

int planner_distro_spec_policy(void *distro, const char *spec, struct planner_policy *policy)
{
	struct planner_distro *d = distro;

	for (size_t i = 0; i < d->policy_specs.n; i++)
		if (!strcmp(d->policy_specs.items[i], spec)) {
			*policy = d->policies[i];
			return 1;
		}
	return 0;
}

/* A number >= 0 at key, as git writes numbers (a k, m or g suffix
 * multiplies by 1024, 1024^2 or 1024^3); *n is left alone when the key is
 * absent. */
static int read_number(git_config *cfg, const char *key, int64_t *n, struct sy_error *err)
{
	git_config_entry *entry;
	int64_t v;
	int rc = 0;

	if (git_config_get_entry(&entry, cfg, key) < 0)
		return 0;
	if (!entry->value)
		rc = sy_error_set(err, "shipyard.conf: %s: no value", key);
	else if (git_config_parse_int64(&v, entry->value) < 0 || v < 0)
		rc = sy_error_set(err, "shipyard.conf: %s: '%s' is not a number >= 0", key,
				  entry->value);
	else
		*n = v;
	git_config_entry_free(entry);
	return rc;
}

/* publish.sqlite: a git boolean (yes/no, true/false, on/off, 1/0). */
static int read_publish_sqlite(git_config *cfg, struct planner_distro *d, struct sy_error *err)
{
	git_config_entry *entry;
	int value, rc = 0;

	if (git_config_get_entry(&entry, cfg, "publish.sqlite") < 0)
		return 0;
	/* A key without "= value" is true, as git reads it. */
	if (!entry->value)
		d->publish_sqlite = 1;
	else if (git_config_parse_bool(&value, entry->value) < 0)
		rc = sy_error_set(err, "shipyard.conf: publish.sqlite: '%s' is not a boolean",
				  entry->value);
	else
		d->publish_sqlite = value;
	git_config_entry_free(entry);
	return rc;
}

/* plan.maxrebuild, a count; image.maxdisksize, bytes kept in MiB. */
static int read_limits(git_config *cfg, struct planner_distro *d, struct sy_error *err)
{
	int64_t rebuild = (int64_t)d->max_rebuild, disk = -1;

	if (read_number(cfg, "plan.maxrebuild", &rebuild, err) ||
	    read_number(cfg, "image.maxdisksize", &disk, err))
		return -1;
	d->max_rebuild = (size_t)rebuild;
	if (disk >= 0 && disk < (1 << 20))
		return sy_error_set(err, "shipyard.conf: image.maxdisksize: %lld bytes is less than "
				    "1 MiB", (long long)disk);
	if (disk >= 0)
		d->image_max_disk_mib = (unsigned long long)disk >> 20;
	return 0;
}

/* image.boottest, a git boolean; image.boottimeout, seconds (1..86400). */
static int read_image_boot(git_config *cfg, struct planner_distro *d, struct sy_error *err)
{
	git_config_entry *entry;
	int64_t timeout = -1;
	int value, rc = 0;

	if (git_config_get_entry(&entry, cfg, "image.boottest") == 0) {
		if (!entry->value)
			d->image_boot_test = 1;
		else if (git_config_parse_bool(&value, entry->value) < 0)
			rc = sy_error_set(err, "shipyard.conf: image.boottest: '%s' is not a boolean",
					  entry->value);
		else
			d->image_boot_test = value;
		git_config_entry_free(entry);
	}
	if (rc || read_number(cfg, "image.boottimeout", &timeout, err))
		return -1;
	if (timeout == 0 || timeout > 86400)
		return sy_error_set(err, "shipyard.conf: image.boottimeout: %lld s is not within "
				    "1..86400", (long long)timeout);
	if (timeout > 0)
		d->image_boot_timeout_s = (unsigned)timeout;
	return 0;
}

/* sources.url, each value checked and turned into its template. */
static int read_source_urls(git_config *cfg, struct planner_distro *d, struct sy_error *err)
{
	struct sy_strv values = SY_STRV_INIT;
	int rc = get_list(cfg, "sources.url", &values, err);

	for (size_t i = 0; rc == 0 && i < values.n; i++) {
		char *template;
		if (planner_source_url_parse(values.items[i], &template, err))
			rc = sy_error_prefix(err, "shipyard.conf: sources.url");
		else
			sy_strv_push_owned(&d->source_urls, template);
	}
	sy_strv_release(&values);
	return rc;
}

#define COUNTER "%{counter}"

int planner_rebuild_suffix_check(const char *form, struct sy_error *err)
{
	const char *at = strstr(form, COUNTER);
	size_t n = strlen(COUNTER);

	if (!*form)
		return 0;
	if (!at || strstr(at + n, COUNTER))
		return sy_error_set(err, "'%s': names %s not exactly once", form, COUNTER);
	if (!strchr("._+", form[0]))
		return sy_error_set(err, "'%s': does not start with '.', '_' or '+'", form);
	for (const char *c = form; *c; c++) {
		if (c == at) {
			c += n - 1;
			continue;
		}
		if (!isalnum((unsigned char)*c) && !strchr("._+", *c))
			return sy_error_set(err, "'%s': '%c' is not one of [A-Za-z0-9._+]", form, *c);
	}
	return 0;
}

char *planner_rebuild_suffix(const char *form, unsigned counter)
{
	const char *at = form ? strstr(form, COUNTER) : NULL;

	if (!counter || !at)
		return sy_xstrdup("");
	return sy_xasprintf("%.*s%u%s", (int)(at - form), form, counter, at + strlen(COUNTER));
}

/* publish.rebuildsuffix, checked. */
static int read_rebuild_suffix(git_config *cfg, struct planner_distro *d, struct sy_error *err)
{
	git_config_entry *entry;
	int rc = 0;

	if (git_config_get_entry(&entry, cfg, "publish.rebuildsuffix") < 0)
		return 0;
	if (!entry->value)
		rc = sy_error_set(err, "shipyard.conf: publish.rebuildsuffix: no value");
	else if (planner_rebuild_suffix_check(entry->value, err))
		rc = sy_error_prefix(err, "shipyard.conf: publish.rebuildsuffix");
	else {
		free(d->rebuild_suffix);
		d->rebuild_suffix = sy_xstrdup(entry->value);
	}
	git_config_entry_free(entry);
	return rc;
}

/* Every entry libgit2 read must be a known key: the text was checked
 * (sy_conf_check), this catches what a reading of the syntax different from
 * libgit2's would let through. */
static int check_entries(git_config *cfg, struct sy_error *err)
{
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = 0;

	if (git_config_iterator_new(&it, cfg) < 0)
		return sy_error_set(err, "shipyard.conf: cannot list keys");
	while (rc == 0 && git_config_next(&e, it) == 0)
		if (!sy_conf_key_find(planner_distro_keys, planner_distro_nkeys, e->name))
			rc = sy_error_set(err, "shipyard.conf: %s: unknown key", e->name);
	git_config_iterator_free(it);
	return rc;
}

/* Reads the file at path, whose content is text (len bytes): its syntax
 * (libgit2), its names (planner_distro_keys), then its values. */
static int read_config(const char *path, const char *text, size_t len, struct planner_distro *d,
		       struct sy_error *err)
{
	git_config *cfg;

	if (git_config_open_ondisk(&cfg, path) < 0) {
		const git_error *e = git_error_last();
		return sy_error_set(err, "shipyard.conf: %s", e ? e->message : "cannot parse");
	}
	if (sy_conf_check("shipyard.conf", text, len, planner_distro_keys, planner_distro_nkeys,
			  err, NULL) ||
	    check_entries(cfg, err)) {
		git_config_free(cfg);
		return -1;
	}
	free(d->dist_tag);
	d->dist_tag = get_string(cfg, "distro.disttag", ".azl3");
	d->macros_dir = get_string(cfg, "distro.macrosdir", NULL);
	d->worker_manifest = get_string(cfg, "distro.workermanifest", NULL);
	free(d->imageconfigs_dir);
	d->imageconfigs_dir = get_string(cfg, "distro.imageconfigs", "toolkit/imageconfigs");
	char *mode = get_string(cfg, "sources.signatures", "enforce");
	if (planner_signature_mode_parse(mode, &d->signatures, err)) {
		free(mode);
		git_config_free(cfg);
		return sy_error_prefix(err, "shipyard.conf: sources.signatures");
	}
	free(mode);
	struct sy_strv defines = SY_STRV_INIT, trees = SY_STRV_INIT;
	int rc = get_list(cfg, "distro.define", &defines, err) ||
			 get_list(cfg, "distro.spectree", &trees, err) || read_policies(cfg, d, err) ||
			 read_limits(cfg, d, err) || read_source_urls(cfg, d, err) ||
			 read_rebuild_suffix(cfg, d, err) ||
			 read_publish_sqlite(cfg, d, err) || read_image_boot(cfg, d, err)
		 ? -1
		 : 0;
	git_config_free(cfg);
	if (defines.n) {
		sy_strv_release(&d->defines);
		d->defines = defines;
	}
	if (trees.n) {
		sy_strv_release(&d->spec_trees);
		d->spec_trees = trees;
	}
	return rc;
}

/* Azure Linux's settings, which apply where shipyard.conf says nothing. */
static void set_defaults(struct planner_distro *d)
{
	memset(d, 0, sizeof(*d));
	d->dist_tag = sy_xstrdup(".azl3");
	sy_strv_push(&d->defines, "azl 3");
	sy_strv_push(&d->defines, "with_check 0");
	sy_strv_push(&d->spec_trees, "SPECS");
	sy_strv_push(&d->spec_trees, "SPECS-EXTENDED");
	sy_strv_push(&d->spec_trees, "SPECS-SIGNED");
	d->policy.layers = -1;
	d->imageconfigs_dir = sy_xstrdup("toolkit/imageconfigs");
	d->rebuild_suffix = sy_xstrdup("." COUNTER);
}

/* Refuses [include] and [includeIf] sections: libgit2 follows them, and
 * shipyard.conf is the repository's, so a pull request could make the
 * planner read any host file (or block on a FIFO) as root. libgit2 cannot
 * turn includes off; any line opening a section whose name starts with
 * "include" is refused, even one a continued value would have swallowed. */
static int refuse_includes(const char *text, size_t len, struct sy_error *err)
{
	size_t line = 1;

	for (size_t i = 0; i < len; i++) {
		if (i > 0 && text[i - 1] != '\n')
			continue;
		size_t j = i;
		/* libgit2 skips a UTF-8 byte order mark at the start. */
		if (i == 0 && len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
			j = 3;
		while (j < len && text[j] != '\n' && isspace((unsigned char)text[j]))
			j++;
		if (j < len && text[j] == '[') {
			j++;
			while (j < len && text[j] != '\n' && isspace((unsigned char)text[j]))
				j++;
			if (len - j >= 7 && !strncasecmp(text + j, "include", 7))
				return sy_error_set(err, "shipyard.conf:%zu: include sections are "
						    "not supported", line);
		}
		line++;
	}
	return 0;
}

/* read_config inside libgit2's initialisation, once the file is known to
 * include nothing. */
static int read_config_file(const char *path, struct planner_distro *d, struct sy_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (sy_read_file(path, &text, &len, err))
		return sy_error_prefix(err, "shipyard.conf");
	rc = refuse_includes(text, len, err);
	if (rc == 0) {
		git_libgit2_init();
		rc = read_config(path, text, len, d, err);
		git_libgit2_shutdown();
	}
	free(text);
	return rc;
}

int planner_distro_read_file(const char *path, struct planner_distro *d, struct sy_error *err)
{
	set_defaults(d);
	return read_config_file(path, d, err);
}

int planner_distro_load(struct gitwatch_repo *repo, const char *commit, const char *tmpdir,
			struct planner_distro *d, struct sy_error *err)
{
	char oid[GITWATCH_OID_HEX + 1];
	char *text;
	size_t len;
	int rc = 0;

	set_defaults(d);
	rc = gitwatch_file_oid(repo, commit, "shipyard.conf", oid, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	d->config_blob = sy_xstrdup(oid);
	if (gitwatch_read_blob(repo, d->config_blob, &text, &len, err))
		return -1;
	char *path = sy_xasprintf("%s/shipyard.conf.%ld", tmpdir, (long)getpid());
	rc = sy_mkdir_p(tmpdir, 0755, err) || sy_write_file(path, text, len, 0644, err) ||
	     read_config_file(path, d, err) ? -1 : 0;
	unlink(path);
	free(path);
	free(text);
	return rc;
}

void planner_distro_macro_settings(const struct planner_distro *d, const char *arch,
				   struct planner_macro_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->macros_dir = d->macros_dir;
	s->worker_manifest = d->worker_manifest;
	s->spec_trees = (const char *const *)d->spec_trees.items;
	s->target_arch = arch;
	s->dist_tag = d->dist_tag;
	s->defines = (const char *const *)d->defines.items;
}

void planner_distro_release(struct planner_distro *d)
{
	free(d->dist_tag);
	sy_strv_release(&d->defines);
	free(d->macros_dir);
	free(d->worker_manifest);
	sy_strv_release(&d->spec_trees);
	free(d->imageconfigs_dir);
	free(d->config_blob);
	sy_strv_release(&d->source_urls);
	sy_strv_release(&d->policy_specs);
	free(d->policies);
	free(d->rebuild_suffix);
	memset(d, 0, sizeof(*d));
}
