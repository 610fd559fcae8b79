#include "imager/stage.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/hash.h"
#include "common/util.h"
#include "imager/boottest.h"
#include "imager/compose.h"
#include "imager/configsummary.h"
#include "imager/imageconfig.h"
#include "imager/images.h"
#include "imager/imagevalidate.h"
#include "state/layout.h"

struct read_arg {
	struct gitwatch_repo *repo;
	const char *commit;
};

static int read_from_git(void *arg, const char *path, char **data, size_t *len,
			 struct sy_error *err)
{
	struct read_arg *r = arg;

	return gitwatch_read_file(r->repo, r->commit, path, data, len, err);
}

/* The config name of a config path: its file name without ".json". */
static char *config_name(const char *path)
{
	const char *base = sy_base_name(path);

	return sy_xstrndup(base, strlen(base) - 5);
}

/* Reads and parses the config at path. Returns 0, or -1 with err. */
static int read_config(struct gitwatch_repo *repo, const char *commit, const char *path,
		       struct imager_config *cfg, char **json, struct sy_error *err)
{
	struct read_arg ra = { repo, commit };

	memset(cfg, 0, sizeof(*cfg));
	*json = NULL;
	if (gitwatch_read_file(repo, commit, path, json, NULL, err))
		return -1;
	if (imager_config_parse(path, *json, read_from_git, &ra, cfg, err))
		return -1;
	return imager_config_load_files(cfg, read_from_git, &ra, err);
}

int imager_config_read(struct gitwatch_repo *repo, const char *commit, const char *configs_dir,
		       const char *config, struct imager_config *cfg, struct sy_error *err)
{
	size_t len = strlen(config);
	char *path = len > 5 && !strcmp(config + len - 5, ".json")
			     ? sy_xstrdup(config)
			     : sy_xasprintf("%s/%s.json", configs_dir, config);
	char *json = NULL;
	int rc = read_config(repo, commit, path, cfg, &json, err);

	free(json);
	free(path);
	return rc;
}

/* Adds the content of a file the config applies, with its length first
 * so that two files cannot read as one. */
static void hash_file(struct sy_sha256 *h, const char *what, const char *data, size_t size)
{
	char head[64];

	snprintf(head, sizeof(head), "\n%s %zu\n", what, size);
	sy_sha256_update_str(h, head);
	sy_sha256_update(h, data ? data : "", size);
}

/* Adds the files cfg's SystemConfigs[0] applies (imager_config_load_files). */
static void hash_files(struct sy_sha256 *h, const struct imager_config *cfg)
{
	const struct imager_system_config *s = &cfg->systems[0];

	for (size_t i = 0; i < s->nadditional_files; i++)
		hash_file(h, "file", s->additional_files[i].data, s->additional_files[i].size);
	for (size_t i = 0; i < s->nusers; i++)
		for (size_t k = 0; k < s->users[i].ssh_pubkey_files.n; k++)
			hash_file(h, "key", s->users[i].ssh_pubkey_files.items[k],
				  strlen(s->users[i].ssh_pubkey_files.items[k]));
	for (size_t i = 0; i < s->npost_install_scripts; i++)
		hash_file(h, "post", s->post_install_scripts[i].data,
			  s->post_install_scripts[i].size);
	for (size_t i = 0; i < s->nfinalize_image_scripts; i++)
		hash_file(h, "finalize", s->finalize_image_scripts[i].data,
			  s->finalize_image_scripts[i].size);
}

/* Digest of what an image is made from: its config text, the files it
 * applies and its closure. */
static void closure_digest(const char *json, const struct imager_config *cfg,
			   const struct sy_strv *nevras, char hex[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();

	sy_sha256_update_str(h, json);
	hash_files(h, cfg);
	for (size_t i = 0; i < nevras->n; i++)
		sy_sha256_update_str(h, nevras->items[i]);
	sy_sha256_final(h, hex);
}

/* The file of a build that holds its closure_digest. */
#define CLOSURE_FILE "closure.sha256"

static int unchanged(const char *state, const char *config, const char *digest)
{
	char *path = imager_build_file(state, config, "latest", CLOSURE_FILE), *old = NULL;
	int same = sy_read_file(path, &old, NULL, NULL) == 0 && !strncmp(old, digest, SY_SHA256_HEX_LEN);

	free(old);
	free(path);
	return same;
}

/* Composes cfg into a new build of config (imager/images.h) and points
 * latest at it; *build_dir is the build's directory (caller frees). */
static int compose(const struct imager_stage *s, const struct imager_config *cfg,
		   const char *config, const char *digest, struct sy_strv *artifacts,
		   char **build_dir, struct sy_error *err)
{
	char id[32];
	time_t now = time(NULL);
	strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ", gmtime(&now));
	char *image_dir = state_image_dir(s->state, config);
	char *out = imager_build_dir(s->state, config, id);
	char *tmp = imager_build_tmp_dir(s->state, config, id);
	char *scratch = sy_xasprintf("image-%s", cfg->name);
	char *work = state_build_dir(s->state, scratch);
	char *logpath = sy_xasprintf("%s/image-%s.log", s->log_dir, cfg->name);
	char *sum = sy_xasprintf("%s/" CLOSURE_FILE, tmp);
	char *artifacts_dir = state_artifacts_dir(s->state);
	struct imager_inputs in = { .key = digest, .max_disk_mib = s->max_disk_mib,
				    .artifacts_dir = artifacts_dir };
	int rc = -1, fd;

	sy_rm_rf(tmp, NULL);
	sy_rm_rf(work, NULL);
	sy_mkdir_p(image_dir, 0755, NULL);
	sy_mkdir_p(s->log_dir, 0755, NULL);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (gitwatch_commit_time(s->repo, s->commit, &in.epoch, err) == 0 &&
	    imager_compose(cfg, s->repo_dir, s->arch, work, tmp, fd, &in, artifacts, err) == 0 &&
	    sy_write_file_atomic(sum, digest, strlen(digest), 0644, err) == 0) {
		sy_rm_rf(out, NULL);
		if (rename(tmp, out) < 0)
			sy_error_set(err, "%s: %s", out, strerror(errno));
		else
			rc = imager_latest_switch(s->state, config, id, err);
	}
	if (rc == 0)
		*build_dir = sy_xstrdup(out);
	if (fd >= 0)
		close(fd);
	if (rc)
		sy_rm_rf(tmp, NULL);
	sy_rm_rf(work, NULL);
	free(artifacts_dir);
	free(sum);
	free(logpath);
	free(work);
	free(scratch);
	free(tmp);
	free(out);
	free(image_dir);
	return rc;
}

static void report(const struct imager_stage *s, const char *config, enum imager_outcome outcome,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(const struct imager_stage *s, const char *config, enum imager_outcome outcome,
		   const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!s->report)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s->report(s->report_arg, config, outcome, text);
}

/* Boots the raw and qcow2 disks among the artifacts of build_dir,
 * appending "booted in 13.2 s (core.raw)" per disk to text, the console to
 * the config's log. Returns 0, or -1 with err naming the disk. */
static int boot_disks(const struct imager_stage *s, const char *config,
		      const struct sy_strv *artifacts, const char *build_dir, char *text,
		      size_t size, struct sy_error *err)
{
	char *log = sy_xasprintf("%s/image-%s.log", s->log_dir, config);
	char *scratch_name = sy_xasprintf("image-boot-%s-%ld", config, (long)getpid());
	char *scratch = state_build_dir(s->state, scratch_name);
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644), rc = 0, booted = 0;

	for (size_t i = 0; rc == 0 && i < artifacts->n; i++) {
		const char *file = sy_base_name(artifacts->items[i]);
		const char *dot = strrchr(file, '.');
		if (!dot || (strcmp(dot, ".raw") && strcmp(dot, ".qcow2")))
			continue;
		char *image = sy_xasprintf("%s/%s", build_dir, file);
		struct imager_boottest t = { .image = image, .format = dot + 1,
					     .scratch_dir = scratch, .timeout_s = s->boot_timeout_s,
					     .log_fd = fd };
		double seconds;
		report(s, config, IMAGER_WORKING, "booting %s", file);
		if ((rc = sy_mkdir_p(scratch, 0700, err)) == 0 &&
		    (rc = imager_boottest_run(&t, &seconds, err)) == 0) {
			size_t len = strlen(text);
			snprintf(text + len, size - len, "%s%.1f s (%s)", booted++ ? ", " : "booted in ",
				 seconds, file);
		} else {
			sy_error_prefix(err, "%s", file);
		}
		free(image);
	}
	if (rc == 0 && !booted)
		snprintf(text, size, "composed; not booted: no raw or qcow2 artifact");
	if (fd >= 0)
		close(fd);
	sy_rm_rf(scratch, NULL);
	free(scratch);
	free(scratch_name);
	free(log);
	return rc;
}

/* Composes the config at path unless unchanged. Returns 0 or 1 (failed). */
static int image_one(const struct imager_stage *s, const char *path)
{
	struct imager_config cfg;
	struct sy_strv nevras = SY_STRV_INIT, artifacts = SY_STRV_INIT;
	struct sy_error err = { { 0 } };
	char *json = NULL, *name = config_name(path), *build_dir = NULL;
	char digest[SY_SHA256_HEX_LEN + 1], booted[256] = "";
	int rc = 1;

	if (read_config(s->repo, s->commit, path, &cfg, &json, &err) ||
	    imager_config_check_support(&cfg, &err)) {
		report(s, name, IMAGER_WORKING, "reading config");
		report(s, name, IMAGER_FAILED, "%s", err.msg);
		goto out;
	}
	report(s, name, IMAGER_WORKING, "resolving packages");
	if (imager_closure(&cfg, s->repo_dir, s->arch, &nevras, NULL, &err)) {
		report(s, name, IMAGER_FAILED, "%s", err.msg);
		goto out;
	}
	closure_digest(json, &cfg, &nevras, digest);
	if (!s->force && unchanged(s->state, name, digest)) {
		report(s, name, IMAGER_UNCHANGED, "unchanged (%zu packages)", nevras.n);
		rc = 0;
	} else if (compose(s, &cfg, name, digest, &artifacts, &build_dir, &err)) {
		report(s, name, IMAGER_FAILED, "%s", err.msg);
	} else if (s->boot_test && !strcmp(cfg.systems[0].boot_type, "efi")) {
		if (boot_disks(s, name, &artifacts, build_dir, booted, sizeof(booted), &err) == 0) {
			report(s, name, IMAGER_COMPOSED, "%s", booted);
			rc = 0;
		} else {
			report(s, name, IMAGER_FAILED, "%s", err.msg);
		}
	} else {
		report(s, name, IMAGER_COMPOSED, "composed %s (%zu packages)",
		       artifacts.n ? sy_base_name(artifacts.items[0]) : cfg.name, nevras.n);
		rc = 0;
	}
out:
	imager_config_release(&cfg);
	sy_strv_release(&nevras);
	sy_strv_release(&artifacts);
	free(build_dir);
	free(name);
	free(json);
	return rc;
}

/* Keeps the configs named in s->only; an unknown name is an error. */
static int select_configs(const struct imager_stage *s, struct sy_strv *configs,
			  struct sy_error *err)
{
	struct sy_strv kept = SY_STRV_INIT;

	for (const char *const *want = s->only; want && *want; want++) {
		size_t i;
		for (i = 0; i < configs->n; i++) {
			char *name = config_name(configs->items[i]);
			int same = !strcmp(name, *want);
			free(name);
			if (same)
				break;
		}
		if (i == configs->n) {
			sy_strv_release(&kept);
			return sy_error_set(err, "no image config '%s' in %s", *want, s->configs_dir);
		}
		sy_strv_push(&kept, configs->items[i]);
	}
	sy_strv_release(configs);
	*configs = kept;
	return 0;
}

int imager_stage_run(const struct imager_stage *s, struct sy_error *err)
{
	struct sy_strv configs = SY_STRV_INIT;
	int failed = 0;

	if (imager_config_list(s->repo, s->commit, s->configs_dir, &configs, err) ||
	    (s->only && select_configs(s, &configs, err))) {
		sy_strv_release(&configs);
		return -1;
	}
	for (size_t i = 0; i < configs.n; i++)
		failed |= image_one(s, configs.items[i]);
	sy_strv_release(&configs);
	return failed;
}

/* Marks spec and every spec its packages Require, transitively. */
static void mark_runtime(const struct planner_graph *g, size_t spec, unsigned char *seen)
{
	if (seen[spec])
		return;
	seen[spec] = 1;
	for (size_t k = 0; k < g->nodes[spec].nrun_deps; k++)
		mark_runtime(g, g->nodes[spec].run_deps[k], seen);
}

static int config_changed(const struct gitwatch_changeset *changes,
			  const struct imager_config_summary *cfg)
{
	for (size_t c = 0; changes && c < changes->n; c++) {
		const struct gitwatch_change *ch = &changes->changes[c];
		const char *path = ch->new_path ? ch->new_path : ch->old_path;
		if (sy_strv_contains(&cfg->watched, path))
			return 1;
	}
	return 0;
}

/* Every binary package of a commit with its spec, sorted by name: the
 * configs of a commit name thousands of packages among tens of thousands. */
struct pkg_spec {
	const char *name;
	size_t spec;
};

static int pkg_spec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pkg_spec *)a)->name, ((const struct pkg_spec *)b)->name);
}

static struct pkg_spec *pkg_specs_of(const struct planner_index *index, size_t *n)
{
	struct pkg_spec *v;
	size_t k = 0;

	for (size_t i = 0; i < index->nspecs; i++)
		k += index->specs[i].npackages;
	v = sy_xcalloc(k + 1, sizeof(*v));
	k = 0;
	for (size_t i = 0; i < index->nspecs; i++)
		for (size_t j = 0; j < index->specs[i].npackages; j++)
			v[k++] = (struct pkg_spec){ index->specs[i].packages[j].name, i };
	qsort(v, k, sizeof(*v), pkg_spec_cmp);
	*n = k;
	return v;
}

/* Returns 1 when a package cfg lists, or its runtime closure, is rebuilt. */
static int uses_rebuilt(const struct planner_commit *head, const struct planner_plan *plan,
			const struct pkg_spec *pkgs, size_t npkgs,
			const struct imager_config_summary *cfg)
{
	unsigned char *seen;
	int hit = 0;

	if (!plan->n)
		return 0;
	seen = sy_xcalloc(head->index.nspecs + 1, 1);
	for (size_t p = 0; p < cfg->packages.n; p++) {
		char *name = sy_xstrdup(cfg->packages.items[p]);
		size_t lo = 0, hi = npkgs;

		name[strcspn(name, " <>=")] = '\0';
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(pkgs[mid].name, name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < npkgs && !strcmp(pkgs[lo].name, name); lo++)
			mark_runtime(&head->graph, pkgs[lo].spec, seen);
		free(name);
	}
	for (size_t e = 0; !hit && e < plan->n; e++)
		hit = seen[plan->entries[e].spec];
	free(seen);
	return hit;
}

int imager_configs_affected(struct gitwatch_repo *repo, const struct planner_commit *head,
			    const char *configs_dir, const char *db_path,
			    const struct planner_plan *plan, const struct gitwatch_changeset *changes,
			    struct sy_strv *out, struct sy_error *err)
{
	struct imager_config_summaries configs;
	struct pkg_spec *pkgs;
	size_t npkgs;

	if (imager_config_summaries_load(repo, head->oid, configs_dir, db_path, &configs, err))
		return -1;
	pkgs = pkg_specs_of(&head->index, &npkgs);
	for (size_t i = 0; i < configs.n; i++) {
		const struct imager_config_summary *cfg = &configs.items[i];

		if (cfg->error || config_changed(changes, cfg) ||
		    uses_rebuilt(head, plan, pkgs, npkgs, cfg))
			sy_strv_push(out, cfg->path);
	}
	free(pkgs);
	imager_config_summaries_release(&configs);
	return 0;
}
