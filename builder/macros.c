/* The macro context: the distribution's macros package directory read from
 * git, materialised once per digest under the work directory, and applied to
 * librpm in forked children. */
#define _GNU_SOURCE
#include "builder/macros.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/rpmlib.h>
#include <rpm/rpmmacro.h>

#include "common/fs.h"

#define DEFAULT_ARCH "x86_64"
#define DEFAULT_DIST ".azl3"
#define SYSTEM_RPMRC "/usr/lib/rpm/rpmrc"

/* What a file of the macros directory becomes in the context. */
enum macro_file_kind {
	KIND_MACROS,      /* "macros": loaded first */
	KIND_MACROS_MORE, /* "macros.*": loaded after, sorted by name */
	KIND_RPMRC,       /* "rpmrc" */
	KIND_LUA,         /* "*.lua": a Lua module */
	KIND_OTHER,       /* anything else: not part of the context */
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

/* Finds "<tree>/<something>-rpm-macros" in the first spec tree that has one;
 * *out is NULL when none does. */
static int find_macros_dir(struct gitwatch_repo *repo, const char *commit,
			   const char *const *trees, char **out, struct sy_error *err)
{
	*out = NULL;
	for (size_t t = 0; trees[t] && !*out; t++) {
		struct gitwatch_entries entries = { 0 };
		size_t plen = strlen(trees[t]);

		if (gitwatch_list_files(repo, commit, trees[t], &entries, err) != 0)
			return -1;
		for (size_t i = 0; i < entries.n && !*out; i++) {
			const char *dir = entries.items[i].path + plen + 1;
			const char *slash = strchr(dir, '/');
			size_t dlen = slash ? (size_t)(slash - dir) : 0;

			if (dlen > 11 && strncmp(dir + dlen - 11, "-rpm-macros", 11) == 0)
				*out = strndup(entries.items[i].path, plen + 1 + dlen);
		}
		gitwatch_entries_release(&entries);
	}
	return 0;
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

static void digest_ctx(const struct ctx_files *files, const struct builder_macro_ctx *ctx,
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
	sy_sha256_final(h, hex);
}

static int write_ctx_files(const struct ctx_files *files, const char *dir, struct sy_error *err)
{
	for (size_t i = 0; i < files->n; i++) {
		char *path = sy_xasprintf("%s/%s", dir, files->items[i].dest);
		char *slash = strrchr(path, '/');
		int rc;

		*slash = '\0';
		rc = sy_mkdir_p(path, 0755, err);
		*slash = '/';
		if (rc == 0)
			rc = sy_write_file(path, files->items[i].data, files->items[i].len, 0644, err);
		free(path);
		if (rc != 0)
			return -1;
	}
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

static void fill_paths(struct builder_macro_ctx *ctx, const struct ctx_files *files)
{
	for (size_t i = 0; i < files->n; i++) {
		const struct ctx_file *f = &files->items[i];

		if (f->kind == KIND_MACROS || f->kind == KIND_MACROS_MORE)
			sy_strv_pushf(&ctx->macro_files, "%s/%s", ctx->dir, f->dest);
		else if (f->kind == KIND_RPMRC && !ctx->rpmrc)
			ctx->rpmrc = sy_xasprintf("%s/%s", ctx->dir, f->dest);
		else if (f->kind == KIND_LUA && !ctx->lua_dir)
			ctx->lua_dir = sy_xasprintf("%s/lua", ctx->dir);
	}
}

static void fill_defines(struct builder_macro_ctx *ctx, const struct builder_macro_settings *s)
{
	sy_strv_pushf(&ctx->defines, "dist %s", s->dist_tag ? s->dist_tag : DEFAULT_DIST);
	for (size_t i = 0; s->defines && s->defines[i]; i++)
		sy_strv_push(&ctx->defines, s->defines[i]);
	ctx->target_arch = sy_xstrdup(s->target_arch ? s->target_arch : DEFAULT_ARCH);
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

int builder_macro_ctx_load(struct gitwatch_repo *repo, const char *commit,
			   const struct builder_macro_settings *settings, const char *workdir,
			   struct builder_macro_ctx *ctx, struct sy_error *err)
{
	static const char *const default_trees[] = { "SPECS", NULL };
	const char *const *trees = settings->spec_trees ? settings->spec_trees : default_trees;
	struct ctx_files files = { 0 };
	char *macros_dir = NULL;
	char *absdir = NULL;
	int rc = -1;

	memset(ctx, 0, sizeof(*ctx));
	fill_defines(ctx, settings);
	if (settings->macros_dir)
		macros_dir = sy_xstrdup(settings->macros_dir);
	else if (find_macros_dir(repo, commit, trees, &macros_dir, err) != 0)
		goto out;
	if (macros_dir && read_ctx_files(repo, commit, macros_dir, &files, err) != 0)
		goto out;
	digest_ctx(&files, ctx, ctx->digest);
	if (absolute_workdir(workdir, &absdir, err) != 0)
		goto out;
	ctx->dir = sy_xasprintf("%s/macros-%s", absdir, ctx->digest);
	if (materialise(&files, absdir, ctx->dir, err) != 0)
		goto out;
	fill_paths(ctx, &files);
	rc = 0;
out:
	if (rc != 0) {
		sy_error_prefix(err, "macro context of %s", macros_dir ? macros_dir : "(none)");
		builder_macro_ctx_release(ctx);
	}
	ctx_files_release(&files);
	free(macros_dir);
	free(absdir);
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

int builder_macro_ctx_apply(const struct builder_macro_ctx *ctx, struct sy_error *err)
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

void builder_macro_ctx_rpmbuild_args(const struct builder_macro_ctx *ctx, struct sy_strv *argv)
{
	for (size_t i = 0; i < ctx->defines.n; i++) {
		sy_strv_push(argv, "--define");
		sy_strv_push(argv, ctx->defines.items[i]);
	}
}

void builder_macro_ctx_release(struct builder_macro_ctx *ctx)
{
	free(ctx->dir);
	sy_strv_release(&ctx->macro_files);
	free(ctx->rpmrc);
	free(ctx->lua_dir);
	sy_strv_release(&ctx->defines);
	free(ctx->target_arch);
	memset(ctx, 0, sizeof(*ctx));
}
