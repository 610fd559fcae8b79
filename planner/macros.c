/* The macro context: the distribution's macros package directory and the
 * macro files other spec directories ship, read from git, plus a generated
 * macros.dist; materialised once per digest under the work directory, and
 * applied to librpm in forked children. */
#define _GNU_SOURCE
#include "planner/macros.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/rpmlib.h>
#include <rpm/rpmmacro.h>

#include "common/fs.h"
#include "planner/manifestdb.h"

#define DEFAULT_ARCH "x86_64"
#define DEFAULT_DIST ".azl3"
#define DEFAULT_VERSION_PREFIX "azl"
#define SYSTEM_RPMRC "/usr/lib/rpm/rpmrc"

/* What a file of the macros directory becomes in the context. */
enum macro_file_kind {
	KIND_MACROS,      /* "macros": loaded first */
	KIND_MACROS_MORE, /* "macros.*": loaded after, sorted by name */
	KIND_RPMRC,       /* "rpmrc" */
	KIND_LUA,         /* "*.lua": a Lua module */
	KIND_OTHER,       /* anything else: not part of the context */
	KIND_SHIPPED,     /* a macro file another spec directory ships */
	KIND_DIST,        /* the generated macros.dist */
};

/* One file of the context read from git. */
struct ctx_file {
	char *dest;    /* path relative to the context directory */
	int kind;      /* enum macro_file_kind */
	char *data;    /* content */
	size_t len;    /* bytes of data */
};

struct ctx_files {
	struct ctx_file *items;
	size_t n;
};

static void ctx_files_release(struct ctx_files *files)
{
	for (size_t i = 0; i < files->n; i++) {
		free(files->items[i].dest);
		free(files->items[i].data);
	}
	free(files->items);
	files->items = NULL;
	files->n = 0;
}

static int classify(const char *base)
{
	size_t len = strlen(base);

	if (strcmp(base, "macros") == 0)
		return KIND_MACROS;
	if (strncmp(base, "macros.", 7) == 0 && base[7] != '\0')
		return KIND_MACROS_MORE;
	if (strcmp(base, "rpmrc") == 0)
		return KIND_RPMRC;
	if (len > 4 && strcmp(base + len - 4, ".lua") == 0)
		return KIND_LUA;
	return KIND_OTHER;
}

/* Where a file goes in the context directory; Lua modules follow the macros
 * package's install layout (common.lua as azl/common.lua, others under
 * azl/srpm/). */
static char *dest_name(const char *base, int kind)
{
	if (kind != KIND_LUA)
		return sy_xstrdup(base);
	if (strcmp(base, "common.lua") == 0)
		return sy_xstrdup("lua/azl/common.lua");
	return sy_xasprintf("lua/azl/srpm/%s", base);
}

/* The "<dir>" of "<tree>/<dir>/<file>", or NULL when path is not exactly
 * two levels under tree; *dlen gets its length. */
static const char *spec_dir_of(const char *path, const char *tree, size_t *dlen)
{
	size_t tlen = strlen(tree);
	const char *dir = path + tlen + 1, *slash;

	if (strncmp(path, tree, tlen) != 0 || path[tlen] != '/')
		return NULL;
	slash = strchr(dir, '/');
	if (!slash || slash == dir || strchr(slash + 1, '/'))
		return NULL;
	*dlen = (size_t)(slash - dir);
	return dir;
}

/* Finds "<tree>/<something>-rpm-macros" in the first spec tree that has one;
 * *out is NULL when none does. */
static void find_macros_dir(const struct gitwatch_entries *files, const char *const *trees,
			    char **out)
{
	*out = NULL;
	for (size_t t = 0; trees[t] && !*out; t++) {
		for (size_t i = 0; i < files->n && !*out; i++) {
			size_t dlen;
			const char *dir = spec_dir_of(files->items[i].path, trees[t], &dlen);

			if (dir && dlen > 11 && strncmp(dir + dlen - 11, "-rpm-macros", 11) == 0)
				*out = strndup(files->items[i].path,
					       strlen(trees[t]) + 1 + dlen);
		}
	}
}

/* Reads the context files of dir at commit, in load order. */
static int read_ctx_files(struct gitwatch_repo *repo, const char *commit, const char *dir,
			  struct ctx_files *files, struct sy_error *err)
{
	struct gitwatch_entries entries = { 0 };
	size_t dlen = strlen(dir);
	int rc = -1;

	if (gitwatch_list_files(repo, commit, dir, &entries, err) != 0)
		return -1;
	files->items = sy_xcalloc(entries.n + 1, sizeof(*files->items));
	/* Entries are sorted by path, so "macros.*" come out sorted; emit by kind. */
	for (int kind = KIND_MACROS; kind < KIND_OTHER; kind++) {
		for (size_t i = 0; i < entries.n; i++) {
			const char *base = entries.items[i].path + dlen + 1;
			struct ctx_file *f = &files->items[files->n];

			if (strchr(base, '/') || entries.items[i].mode == 0120000 ||
			    classify(base) != kind)
				continue;
			if (gitwatch_read_blob(repo, entries.items[i].oid, &f->data, &f->len,
					       err) != 0) {
				sy_error_prefix(err, "%s", entries.items[i].path);
				goto out;
			}
			f->dest = dest_name(base, kind);
			f->kind = kind;
			files->n++;
		}
	}
	rc = 0;
out:
	gitwatch_entries_release(&entries);
	return rc;
}

static struct ctx_file *ctx_files_add(struct ctx_files *files)
{
	files->items = sy_xrealloc(files->items, (files->n + 1) * sizeof(*files->items));
	memset(&files->items[files->n], 0, sizeof(*files->items));
	return &files->items[files->n++];
}

/* Appends the installed macro files of other packages, in the order given,
 * as shipped/<path with '/' made '.'>. */
static void add_installed(struct ctx_files *files, const struct planner_macro_files *installed)
{
	for (size_t i = 0; installed && i < installed->n; i++) {
		const struct planner_macro_file *in = &installed->items[i];
		struct ctx_file *f = ctx_files_add(files);

		f->data = sy_xmalloc(in->len + 1);
		memcpy(f->data, in->data, in->len);
		f->data[in->len] = '\0';
		f->len = in->len;
		f->kind = KIND_SHIPPED;
		f->dest = sy_xasprintf("shipped/%s", in->path);
		for (char *p = f->dest + strlen("shipped/"); *p; p++)
			if (*p == '/')
				*p = '.';
	}
}

/* ------------------------------------------------------------------------ */
/* The worker manifest and its rpmdb.                                        */

#define DEFAULT_MANIFEST "toolkit/resources/manifests/package/pkggen_core_%s.txt"

/* path with its first "%s" replaced by arch (path comes from the
 * repository's settings: never a printf format). */
static char *with_arch(const char *path, const char *arch)
{
	const char *at = strstr(path, "%s");

	if (!at)
		return sy_xstrdup(path);
	return sy_xasprintf("%.*s%s%s", (int)(at - path), path, arch, at + 2);
}

/* Reads and parses the worker manifest of commit into ctx (nothing when the
 * commit has none); its text goes into *text for the digest. */
static int read_manifest(struct gitwatch_repo *repo, const char *commit,
			 const struct planner_macro_settings *s, struct planner_macro_ctx *ctx,
			 char **text, size_t *len, struct sy_error *err)
{
	char oid[GITWATCH_OID_HEX + 1];
	const char *base;
	int rc;

	*text = NULL;
	*len = 0;
	if (s->worker_manifest && !*s->worker_manifest)
		return 0;
	ctx->manifest_path = with_arch(s->worker_manifest ? s->worker_manifest : DEFAULT_MANIFEST,
				       ctx->target_arch);
	rc = gitwatch_file_oid(repo, commit, ctx->manifest_path, oid, err);
	if (rc == 1) {
		free(ctx->manifest_path);
		ctx->manifest_path = NULL;
		return 0;
	}
	if (rc < 0 || gitwatch_read_blob(repo, oid, text, len, err))
		return -1;
	base = strrchr(ctx->manifest_path, '/');
	return planner_manifest_parse(base ? base + 1 : ctx->manifest_path, *text, *len,
				      &ctx->manifest, err);
}

/* Makes ctx->rpmdb: workdir/rpmdb-<digest of manifest text and arch>,
 * built once (in a temporary directory renamed into place). */
static int make_rpmdb(struct planner_macro_ctx *ctx, const char *text, size_t len,
		      const char *workdir, struct sy_error *err)
{
	struct sy_sha256 *h = sy_sha256_new();
	char hex[SY_SHA256_HEX_LEN + 1], *tmp;
	int rc = -1;

	sy_sha256_update(h, text, len);
	sy_sha256_update_str(h, ctx->target_arch);
	sy_sha256_final(h, hex);
	ctx->rpmdb = sy_xasprintf("%s/rpmdb-%s", workdir, hex);
	if (sy_exists(ctx->rpmdb))
		return 0;
	tmp = sy_mkdtemp(workdir, ".rpmdb-tmp-", err);
	if (!tmp)
		return -1;
	if (chmod(tmp, 0755) != 0)
		sy_error_set(err, "%s: chmod: %s", tmp, strerror(errno));
	else if (planner_manifestdb_make(&ctx->manifest, ctx->target_arch, tmp, workdir, err) != 0)
		;
	else if (rename(tmp, ctx->rpmdb) != 0 && !sy_exists(ctx->rpmdb))
		sy_error_set(err, "%s: rename: %s", ctx->rpmdb, strerror(errno));
	else
		rc = 0;
	sy_rm_rf(tmp, NULL);
	free(tmp);
	return rc;
}

/* Makes ctx->rpmdb from the headers of the worker root's RPMs:
 * workdir/rpmdb-root-<root digest>, built once. */
static int make_root_rpmdb(struct planner_macro_ctx *ctx, const struct planner_macro_settings *s,
			   const char *workdir, struct sy_error *err)
{
	char *tmp, *db;
	int rc = -1;

	ctx->rpmdb = sy_xasprintf("%s/rpmdb-root-%s", workdir, s->worker_digest);
	if (sy_exists(ctx->rpmdb))
		return 0;
	tmp = sy_mkdtemp(workdir, ".rpmdb-tmp-", err);
	if (!tmp)
		return -1;
	db = sy_xasprintf("%s/db", tmp);
	if (planner_manifestdb_from_rpms(s->worker_rpms, db, err) == 0) {
		if (rename(db, ctx->rpmdb) != 0 && !sy_exists(ctx->rpmdb))
			sy_error_set(err, "%s: rename: %s", ctx->rpmdb, strerror(errno));
		else
			rc = 0;
	}
	sy_rm_rf(tmp, NULL);
	free(db);
	free(tmp);
	return rc;
}

/* Appends generated/macros.dist: "%<name> <value>" for every define. */
static void add_dist_file(struct ctx_files *files, const struct sy_strv *defines)
{
	struct ctx_file *f = ctx_files_add(files);
	size_t len = 0;

	for (size_t i = 0; i < defines->n; i++)
		len += strlen(defines->items[i]) + 2;
	f->data = sy_xmalloc(len + 1);
	f->data[0] = '\0';
	for (size_t i = 0; i < defines->n; i++) {
		strcat(f->data, "%");
		strcat(f->data, defines->items[i]);
		strcat(f->data, "\n");
	}
	f->len = len;
	f->kind = KIND_DIST;
	f->dest = sy_xstrdup("generated/macros.dist");
}

static void digest_ctx(const struct ctx_files *files, const struct planner_macro_ctx *ctx,
		       const char *manifest, size_t manifest_len, const char *worker_digest,
		       char hex[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();
	char num[32];

	for (size_t i = 0; i < files->n; i++) {
		sy_sha256_update_str(h, files->items[i].dest);
		snprintf(num, sizeof(num), "%zu", files->items[i].len);
		sy_sha256_update_str(h, num);
		sy_sha256_update(h, files->items[i].data, files->items[i].len);
	}
	sy_sha256_update_str(h, "defines");
	for (size_t i = 0; i < ctx->defines.n; i++)
		sy_sha256_update_str(h, ctx->defines.items[i]);
	sy_sha256_update_str(h, "arch");
	sy_sha256_update_str(h, ctx->target_arch);
	sy_sha256_update_str(h, "version prefix");
	sy_sha256_update_str(h, ctx->version_prefix);
	if (ctx->manifest_path) {
		sy_sha256_update_str(h, "manifest");
		sy_sha256_update_str(h, ctx->manifest_path);
		sy_sha256_update(h, manifest, manifest_len);
	}
	if (worker_digest) {
		sy_sha256_update_str(h, "worker root");
		sy_sha256_update_str(h, worker_digest);
	}
	sy_sha256_final(h, hex);
}

static int write_ctx_files(const struct ctx_files *files, const char *dir, struct sy_error *err)
{
	for (size_t i = 0; i < files->n; i++)
		if (sy_write_file_under(dir, files->items[i].dest, files->items[i].data,
					files->items[i].len, 0644, err))
			return -1;
	return 0;
}

/* Writes the files into a temporary directory beside dir and renames it to
 * dir, so that dir is either absent or complete. */
static int materialise(const struct ctx_files *files, const char *workdir, const char *dir,
		       struct sy_error *err)
{
	char *tmp;
	int rc = -1;

	if (sy_exists(dir))
		return 0;
	tmp = sy_mkdtemp(workdir, ".macros-tmp-", err);
	if (!tmp)
		return -1;
	if (chmod(tmp, 0755) != 0) {
		sy_error_set(err, "%s: chmod: %s", tmp, strerror(errno));
		goto out;
	}
	if (write_ctx_files(files, tmp, err) != 0)
		goto out;
	if (rename(tmp, dir) != 0 && !sy_exists(dir)) {
		sy_error_set(err, "%s: rename to %s: %s", tmp, dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sy_rm_rf(tmp, NULL);
	free(tmp);
	return rc;
}

static void fill_paths(struct planner_macro_ctx *ctx, const struct ctx_files *files)
{
	for (size_t i = 0; i < files->n; i++) {
		const struct ctx_file *f = &files->items[i];

		if (f->kind == KIND_MACROS || f->kind == KIND_MACROS_MORE ||
		    f->kind == KIND_SHIPPED || f->kind == KIND_DIST)
			sy_strv_pushf(&ctx->macro_files, "%s/%s", ctx->dir, f->dest);
		else if (f->kind == KIND_RPMRC && !ctx->rpmrc)
			ctx->rpmrc = sy_xasprintf("%s/%s", ctx->dir, f->dest);
		else if (f->kind == KIND_LUA && !ctx->lua_dir)
			ctx->lua_dir = sy_xasprintf("%s/lua", ctx->dir);
	}
}

static void fill_defines(struct planner_macro_ctx *ctx, const struct planner_macro_settings *s)
{
	ctx->dist_tag = sy_xstrdup(s->dist_tag ? s->dist_tag : DEFAULT_DIST);
	sy_strv_pushf(&ctx->defines, "dist %s", ctx->dist_tag);
	for (size_t i = 0; s->defines && s->defines[i]; i++)
		sy_strv_push(&ctx->defines, s->defines[i]);
	ctx->target_arch = sy_xstrdup(s->target_arch ? s->target_arch : DEFAULT_ARCH);
	ctx->version_prefix =
		sy_xstrdup(s->version_prefix ? s->version_prefix : DEFAULT_VERSION_PREFIX);
}

static int absolute_workdir(const char *workdir, char **out, struct sy_error *err)
{
	char buf[PATH_MAX];

	if (sy_mkdir_p(workdir, 0755, err) != 0)
		return -1;
	if (!realpath(workdir, buf))
		return sy_error_set(err, "%s: realpath: %s", workdir, strerror(errno));
	*out = sy_xstrdup(buf);
	return 0;
}

static const char *const default_trees[] = { "SPECS", NULL };

int planner_macro_ctx_load_listed(struct gitwatch_repo *repo, const char *commit,
				  const struct planner_macro_settings *settings,
				  const struct gitwatch_entries *tree_files,
				  const struct planner_macro_files *installed, const char *workdir,
				  struct planner_macro_ctx *ctx, struct sy_error *err)
{
	const char *const *trees = settings->spec_trees ? settings->spec_trees : default_trees;
	struct ctx_files files = { 0 };
	char *macros_dir = NULL, *manifest = NULL;
	char *absdir = NULL;
	size_t manifest_len = 0;
	int rc = -1;

	memset(ctx, 0, sizeof(*ctx));
	fill_defines(ctx, settings);
	if (settings->macros_dir)
		macros_dir = sy_xstrdup(settings->macros_dir);
	else
		find_macros_dir(tree_files, trees, &macros_dir);
	if (macros_dir && read_ctx_files(repo, commit, macros_dir, &files, err) != 0)
		goto out;
	ctx->macros_dir = macros_dir ? sy_xstrdup(macros_dir) : NULL;
	add_installed(&files, installed);
	add_dist_file(&files, &ctx->defines);
	if (read_manifest(repo, commit, settings, ctx, &manifest, &manifest_len, err) != 0)
		goto out;
	digest_ctx(&files, ctx, manifest, manifest_len,
		   settings->worker_rpms ? settings->worker_digest : NULL, ctx->digest);
	if (absolute_workdir(workdir, &absdir, err) != 0)
		goto out;
	if (settings->worker_rpms ? make_root_rpmdb(ctx, settings, absdir, err) != 0
	    : ctx->manifest_path && make_rpmdb(ctx, manifest, manifest_len, absdir, err) != 0)
		goto out;
	ctx->dir = sy_xasprintf("%s/macros-%s", absdir, ctx->digest);
	if (materialise(&files, absdir, ctx->dir, err) != 0)
		goto out;
	fill_paths(ctx, &files);
	rc = 0;
out:
	if (rc != 0) {
		sy_error_prefix(err, "macro context of %s", macros_dir ? macros_dir : "(none)");
		planner_macro_ctx_release(ctx);
	}
	ctx_files_release(&files);
	free(macros_dir);
	free(manifest);
	free(absdir);
	return rc;
}

int planner_macro_ctx_load(struct gitwatch_repo *repo, const char *commit,
			   const struct planner_macro_settings *settings,
			   const struct planner_macro_files *installed, const char *workdir,
			   struct planner_macro_ctx *ctx, struct sy_error *err)
{
	const char *const *trees = settings->spec_trees ? settings->spec_trees : default_trees;
	struct gitwatch_entries all = { 0 };
	int rc = -1;

	memset(ctx, 0, sizeof(*ctx));
	for (size_t t = 0; trees[t]; t++) {
		struct gitwatch_entries one = { 0 };

		if (gitwatch_list_files(repo, commit, trees[t], &one, err) != 0)
			goto out;
		all.items = sy_xrealloc(all.items, (all.n + one.n + 1) * sizeof(*all.items));
		if (one.n)
			memcpy(all.items + all.n, one.items, one.n * sizeof(*one.items));
		all.n += one.n;
		free(one.items); /* the paths now belong to all */
	}
	rc = planner_macro_ctx_load_listed(repo, commit, settings, &all, installed, workdir, ctx,
					   err);
out:
	gitwatch_entries_release(&all);
	return rc;
}

/* Puts lua_dir first on Lua's package.path, so that `require "azl.common"`
 * finds lua_dir/azl/common.lua. The path goes in a Lua long string so that
 * no character of it needs quoting. */
static int set_lua_path(const char *lua_dir, struct sy_error *err)
{
	char *script, *res;
	int rc = 0;

	if (strstr(lua_dir, "]==]"))
		return sy_error_set(err, "%s: unusable Lua module directory", lua_dir);
	script = sy_xasprintf("%%{lua: package.path = [==[%s/?.lua;]==] .. package.path}",
			      lua_dir);
	free(rpmExpand(script, NULL));
	free(script);
	/* rpmExpand reports Lua errors only to the log: check the result. */
	res = rpmExpand("%{lua: print(package.path)}", NULL);
	if (!res || strncmp(res, lua_dir, strlen(lua_dir)) != 0)
		rc = sy_error_set(err, "%s: setting Lua package.path failed", lua_dir);
	free(res);
	return rc;
}

int planner_macro_ctx_apply(const struct planner_macro_ctx *ctx, struct sy_error *err)
{
	const char *arch = ctx->target_arch ? ctx->target_arch : DEFAULT_ARCH;
	char *rcfiles, *target;
	int rc = -1;

	rpmFreeMacros(NULL);
	rpmFreeRpmrc();
	rcfiles = ctx->rpmrc ? sy_xasprintf("%s:%s", SYSTEM_RPMRC, ctx->rpmrc)
			     : sy_xstrdup(SYSTEM_RPMRC);
	target = sy_xasprintf("%s-linux", arch);
	if (rpmReadConfigFiles(rcfiles, target) != 0) {
		sy_error_set(err, "%s: cannot read rpm configuration for %s", rcfiles, target);
		goto out;
	}
	for (size_t i = 0; i < ctx->macro_files.n; i++) {
		if (rpmLoadMacroFile(NULL, ctx->macro_files.items[i]) != 0) {
			sy_error_set(err, "%s: cannot load macro file", ctx->macro_files.items[i]);
			goto out;
		}
	}
	if (ctx->lua_dir && set_lua_path(ctx->lua_dir, err) != 0)
		goto out;
	for (size_t i = 0; i < ctx->defines.n; i++) {
		if (rpmDefineMacro(NULL, ctx->defines.items[i], RMIL_CMDLINE) != 0) {
			sy_error_set(err, "define \"%s\": invalid macro definition",
				     ctx->defines.items[i]);
			goto out;
		}
	}
	rc = 0;
out:
	free(rcfiles);
	free(target);
	return rc;
}

void planner_macro_ctx_rpmbuild_args(const struct planner_macro_ctx *ctx, struct sy_strv *argv)
{
	for (size_t i = 0; i < ctx->defines.n; i++) {
		sy_strv_push(argv, "--define");
		sy_strv_push(argv, ctx->defines.items[i]);
	}
}

void planner_macro_ctx_release(struct planner_macro_ctx *ctx)
{
	free(ctx->dir);
	sy_strv_release(&ctx->macro_files);
	free(ctx->rpmrc);
	free(ctx->lua_dir);
	sy_strv_release(&ctx->defines);
	free(ctx->target_arch);
	free(ctx->dist_tag);
	free(ctx->version_prefix);
	free(ctx->macros_dir);
	free(ctx->manifest_path);
	planner_manifest_release(&ctx->manifest);
	free(ctx->rpmdb);
	memset(ctx, 0, sizeof(*ctx));
}

void planner_macro_files_release(struct planner_macro_files *files)
{
	for (size_t i = 0; i < files->n; i++) {
		free(files->items[i].path);
		free(files->items[i].data);
	}
	free(files->items);
	memset(files, 0, sizeof(*files));
}

int planner_arch_check(const char *arch, struct sy_error *err)
{
	static const char *const known[] = { "x86_64", "aarch64" };

	if (!arch)
		return 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(arch, known[i]))
			return 0;
	return sy_error_set(err, "arch '%s': unknown (known: %s)", arch, PLANNER_KNOWN_ARCHES);
}
