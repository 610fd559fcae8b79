#include "pipeline/pipeline.h"
#include "pipeline/pipeline-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <stdint.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/buildjob.h"
#include "planner/buildkey.h"
#include "planner/distro.h"
#include "planner/graph.h"
#include "planner/index.h"
#include "planner/keycache.h"
#include "planner/plan.h"
#include "builder/schedule.h"
#include "builder/toolchain.h"
#include "builder/worker.h"
#include "state/kv.h"
#include "common/fs.h"
#include "common/log.h"
#include "gitwatch/changeset.h"
#include "gitwatch/repo.h"
#include "repo-publish/publish.h"
#include "pipeline/buildreport.h"
#include "pipeline/imagestep.h"
#include "pipeline/planprint.h"

const char *pipeline_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *pipeline_state_path(const struct pipeline *p, const char *rel)
{
	return sy_xasprintf("%s/%s", p->opts->state_dir, rel);
}

/* Picks the base commit: --from (or its merge base with the head), else for
 * a run the commit last published, else the head's first parent. */
static int resolve_base(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	char *last;

	if (o->from) {
		int rc = o->merge_base ? gitwatch_merge_base(p->repo, o->from, p->head.oid, p->base.oid, err)
				       : gitwatch_resolve(p->repo, o->from, p->base.oid, err);
		if (rc)
			return sy_error_prefix(err, "--from");
		p->has_base = 1;
	} else if (!o->plan_only && (last = pipeline_read_published_commit(p))) {
		p->has_base = gitwatch_resolve(p->repo, last, p->base.oid, NULL) == 0;
		if (!p->has_base)
			sy_log_warn("last published commit %.12s is not in %s: planning from nothing",
				    last, o->repo_path);
		free(last);
	} else if (o->plan_only) {
		p->has_base = gitwatch_first_parent(p->repo, p->head.oid, p->base.oid, NULL) == 0;
	}
	return 0;
}

/* The repository channel of a branch: its name, with "/" spelled "%2F" so
 * that "release/3.0" is one directory. */
static char *channel_of(const char *branch)
{
	char *out = sy_xcalloc(strlen(branch) * 3 + 1, 1), *q = out;

	for (const char *c = branch; *c; c++)
		q += *c == '/' ? sprintf(q, "%%2F") : sprintf(q, "%c", *c);
	return out;
}

/* Picks the channel: --channel; else --to when it is a branch; else HEAD's
 * branch when --to is on it (a past commit of that branch). A run of any
 * other commit (a pull request head) must say where it publishes. */
static int choose_channel(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	char *branch = NULL;

	if (o->channel) {
		p->channel = channel_of(o->channel);
		return 0;
	}
	if (o->to && gitwatch_is_branch(p->repo, o->to))
		branch = sy_xstrdup(o->to);
	else
		branch = gitwatch_head_branch(p->repo);
	if (o->to && !o->plan_only && strcmp(branch, o->to) &&
	    gitwatch_is_ancestor(p->repo, o->to, branch, NULL) != 1) {
		sy_error_set(err, "--to %s is not on branch %s: give --channel to say which "
			     "repository it publishes to", o->to, branch);
		free(branch);
		return -1;
	}
	p->channel = channel_of(branch);
	free(branch);
	return 0;
}

static int open_and_resolve(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;

	if (gitwatch_repo_open(o->repo_path, &p->repo, err))
		return -1;
	if (gitwatch_resolve(p->repo, o->to ? o->to : "HEAD", p->head.oid, err))
		return -1;
	if (choose_channel(p, err))
		return -1;
	if (o->settings_from && gitwatch_resolve(p->repo, o->settings_from, p->settings_oid, err))
		return sy_error_prefix(err, "--settings-from");
	p->repos_dir = pipeline_state_path(p, "repos");
	p->published_dir = repo_publish_current_path(p->repos_dir, p->channel);
	if (repo_publish_list_current(p->repos_dir, p->channel, &p->published, err))
		return -1;
	if (o->worker_manifest &&
	    (builder_worker_manifest_read(o->worker_manifest, &p->worker, err) ||
	     builder_toolchain_read(o->worker_manifest, &p->toolchain, err)))
		return -1;
	return resolve_base(p, err);
}

/* Milliseconds on the monotonic clock. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* With SHIPYARD_TIMING set, says how long a step took (ms). */
static void timing(const char *what, const char *commit, double since)
{
	if (getenv("SHIPYARD_TIMING"))
		sy_log_info("timing: %s %.12s: %.1f ms", what, commit, now_ms() - since);
}

/* Digest of everything a commit's build keys depend on besides the commit:
 * its macro context (and arch), the worker root, the provides learned from
 * the published repository, the rebuild policies, the toolchain. */
static void keys_context(const struct pipeline *p, const struct commit_view *v,
			 char out[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();
	char text[32];

	sy_sha256_update_str(h, "view keys v1");
	sy_sha256_update_str(h, v->oid);
	sy_sha256_update_str(h, v->index.macros.digest);
	sy_sha256_update_str(h, v->index.macros.target_arch);
	sy_sha256_update_str(h, p->worker.digest);
	sy_sha256_update_str(h, p->published_dir);
	planner_policy_format(&p->head.distro.policy, text, sizeof(text));
	sy_sha256_update_str(h, text);
	for (size_t i = 0; i < p->head.distro.policy_specs.n; i++) {
		planner_policy_format(&p->head.distro.policies[i], text, sizeof(text));
		sy_sha256_update_str(h, p->head.distro.policy_specs.items[i]);
		sy_sha256_update_str(h, text);
	}
	for (size_t i = 0; i < p->toolchain.n; i++)
		sy_sha256_update_str(h, p->toolchain.items[i]);
	sy_sha256_final(h, out);
}

/* Builds the graph of a view whose index is loaded. */
static int build_graph(struct pipeline *p, struct commit_view *v, struct sy_error *err)
{
	double t0 = now_ms();

	if (planner_graph_build(v->index.specs, v->index.nspecs, &p->toolchain, p->opts->arch,
				p->published_dir, &v->graph, err))
		return -1;
	v->has_graph = 1;
	timing("graph", v->oid, t0);
	return 0;
}

/* Graph and keys of a view. The base of a plan needs only its keys: when
 * they are cached, neither its graph nor its keys are computed again. */
static int load_keys(struct pipeline *p, struct commit_view *v, const char *db,
		     struct sy_error *err)
{
	char context[SY_SHA256_HEX_LEN + 1];
	double t0;
	int hit;

	keys_context(p, v, context);
	hit = planner_keycache_get(db, context, &v->index, &v->keys, err);
	if (hit < 0)
		return -1;
	if (hit && v != &p->head)
		return 0;
	if (!v->has_graph && build_graph(p, v, err))
		return -1;
	if (hit)
		return 0;
	t0 = now_ms();
	t0 = now_ms();
	struct planner_key_settings ks = {
		.worker_digest = p->worker.digest, .policy = p->head.distro.policy,
		.spec_policy = planner_distro_spec_policy, .arg = &p->head.distro,
	};
	if (planner_keys_compute(p->repo, &v->index, &v->graph, &ks, &v->keys, err))
		return -1;
	timing("keys", v->oid, t0);
	return planner_keycache_put(db, context, &v->index, &v->keys, err);
}

/* What the caller (the service's configuration, the command line) sets
 * over the repository's shipyard.conf, the same for both commits. */
static int apply_overrides(const struct pipeline_options *o, struct planner_distro *d,
			   struct sy_error *err)
{
	if (o->spec_trees && o->spec_trees[0]) {
		sy_strv_release(&d->spec_trees);
		for (const char *const *t = o->spec_trees; *t; t++)
			sy_strv_push(&d->spec_trees, *t);
	}
	if (o->imageconfigs) {
		free(d->imageconfigs_dir);
		d->imageconfigs_dir = sy_xstrdup(o->imageconfigs);
	}
	if (o->rebuild_policy && planner_policy_parse(o->rebuild_policy, &d->policy, err))
		return sy_error_prefix(err, "rebuild policy");
	return 0;
}

/* Reads one commit's settings and spec index (cached in state.db). */
static int load_index(struct pipeline *p, struct commit_view *v, struct sy_error *err)
{
	double t0 = now_ms();
	const struct pipeline_options *o = p->opts;
	struct planner_macro_settings settings;
	char *tmp = pipeline_state_path(p, "tmp"), *db = pipeline_state_path(p, "state.db");
	int rc = -1;

	if (planner_distro_load(p->repo, p->settings_oid[0] ? p->settings_oid : v->oid, tmp,
				&v->distro, err) ||
	    apply_overrides(o, &v->distro, err))
		goto out;
	planner_distro_macro_settings(&v->distro, o->arch, &settings);
	/* The head is loaded first: other views copy the specs it read. */
	const struct planner_index *prev = v != &p->head && p->head.index.nspecs ? &p->head.index
										: NULL;
	if (planner_index_load_reusing(p->repo, v->oid, &settings, tmp, db, o->jobs, prev,
				       &v->index, err))
		goto out;
	timing("index", v->oid, t0);
	rc = 0;
out:
	free(db);
	free(tmp);
	return rc;
}

/* Reads one commit: settings, spec index, graph with the provides learned
 * from the published repository, build keys. */
static int load_view(struct pipeline *p, struct commit_view *v, struct sy_error *err)
{
	char *db = pipeline_state_path(p, "state.db");
	int rc = load_index(p, v, err) || load_keys(p, v, db, err) ? -1 : 0;

	free(db);
	return rc;
}

struct graph_thread {
	struct pipeline *p;
	struct sy_error err;
	int rc;
};

static void *graph_thread_main(void *arg)
{
	struct graph_thread *t = arg;

	t->rc = build_graph(t->p, &t->p->head, &t->err);
	return NULL;
}

/* Loads the head and the base. The head's graph (libsolv only: no git, no
 * database) is built on a second thread while the base is read, which takes
 * a fifth off a warm plan on two cores. */
static int load_views(struct pipeline *p, struct sy_error *err)
{
	struct graph_thread t = { .p = p };
	pthread_t thread;
	int threaded, rc;

	if (load_index(p, &p->head, err))
		return -1;
	threaded = pthread_create(&thread, NULL, graph_thread_main, &t) == 0;
	rc = p->has_base ? load_view(p, &p->base, err) : 0;
	if (threaded) {
		pthread_join(thread, NULL);
		if (t.rc && rc == 0) {
			*err = t.err;
			rc = -1;
		}
	}
	if (rc == 0) {
		char *db = pipeline_state_path(p, "state.db");
		rc = load_keys(p, &p->head, db, err);
		free(db);
	}
	return rc;
}

static void view_release(struct commit_view *v)
{
	planner_keys_release(&v->keys);
	planner_graph_release(&v->graph);
	planner_index_release(&v->index);
	planner_distro_release(&v->distro);
}

static int has_artifact(void *arg, const char *key)
{
	struct pipeline *p = arg;
	char *path = sy_xasprintf("%s/artifacts/%s/summary.json", p->opts->state_dir, key);
	int found = sy_exists(path);

	free(path);
	return found;
}

static int has_built(void *arg, const struct planner_spec *spec)
{
	return spec->npackages && pipeline_published_of(arg, spec, NULL) == spec->npackages;
}

static char *find_published_rpm(void *arg, const char *file)
{
	struct pipeline *p = arg;

	for (size_t k = 0; k < p->published.n; k++)
		if (!strcmp(pipeline_basename(p->published.items[k]), file))
			return sy_xstrdup(p->published.items[k]);
	return NULL;
}

/* Returns 1 when spec (from an index where it parsed) offers capability
 * name (version ignored). */
static int offers(const struct planner_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->npackages; i++) {
		if (!strcmp(spec->packages[i].name, name))
			return 1;
		for (size_t k = 0; k < spec->packages[i].provides.n; k++)
			if (!strcmp(spec->packages[i].provides.items[k].name, name))
				return 1;
	}
	return 0;
}

/* A BuildRequires left unresolved because the spec that provides it does not
 * parse at the head names that spec: known from the base commit where it
 * parsed, else guessed from its file name. */
static void name_broken_providers(struct pipeline *p)
{
	const struct planner_index *head = &p->head.index;

	for (size_t b = 0; b < head->nspecs; b++) {
		if (!head->specs[b].error)
			continue;
		long at_base = p->has_base ? planner_index_lookup_path(&p->base.index, head->specs[b].path) : -1;
		const struct planner_spec *old = at_base >= 0 && !p->base.index.specs[at_base].error
						 ? &p->base.index.specs[at_base] : NULL;
		char *id = planner_spec_id(&head->specs[b]);
		for (size_t i = 0; i < head->nspecs; i++) {
			struct sy_strv *u = &p->head.graph.nodes[i].unresolved;
			for (size_t k = 0; k < u->n; k++) {
				char *name = sy_xstrdup(u->items[k]);
				name[strcspn(name, " ")] = '\0';
				if (old ? offers(old, name) : !strncmp(name, id, strlen(id))) {
					char *text = sy_xasprintf("%s (from %s, which does not parse)",
								  u->items[k], id);
					free(u->items[k]);
					u->items[k] = text;
				}
				free(name);
			}
		}
		free(id);
	}
}

/* Says which global inputs changed between the two commits: the macro
 * context (the files of the changeset that form it), the distribution's
 * shipyard.conf. They change every spec's key. */
static void find_global_changes(struct pipeline *p)
{
	const char *macros_dir = p->head.distro.macros_dir;

	if (!p->has_base)
		return;
	for (size_t c = 0; c < p->changes.n; c++) {
		const struct gitwatch_change *ch = &p->changes.changes[c];
		const char *path = ch->new_path ? ch->new_path : ch->old_path;
		const char *base = strrchr(path, '/');
		size_t n = macros_dir ? strlen(macros_dir) : 0;
		int in_macros_dir = macros_dir && !strncmp(path, macros_dir, n) && path[n] == '/' &&
				    !strstr(path, ".spec") && !strstr(path, ".signatures.json");
		if (in_macros_dir || (base && !strncmp(base + 1, "macros.", 7)))
			sy_strv_pushf(&p->global, "macro context: %s %s", path,
				      gitwatch_change_kind_name(ch->kind));
	}
	if (strcmp(p->base.index.macros.digest, p->head.index.macros.digest) && !p->global.n)
		sy_strv_push(&p->global, "macro context (defines or settings)");
	if ((p->base.distro.config_blob || p->head.distro.config_blob) &&
	    (!p->base.distro.config_blob || !p->head.distro.config_blob ||
	     strcmp(p->base.distro.config_blob, p->head.distro.config_blob)))
		sy_strv_push(&p->global, "configuration: shipyard.conf");
}

static int plan_stage(struct pipeline *p, struct sy_error *err)
{
	struct sy_strv prefixes = SY_STRV_INIT;
	int rc;

	if (load_views(p, err))
		return -1;
	double t0 = now_ms();
	for (size_t i = 0; i < p->head.distro.spec_trees.n; i++)
		sy_strv_push(&prefixes, p->head.distro.spec_trees.items[i]);
	sy_strv_push(&prefixes, p->head.distro.imageconfigs_dir);
	rc = gitwatch_changeset_compute(p->repo, p->has_base ? p->base.oid : NULL, p->head.oid,
					(const char *const *)prefixes.items, &p->changes, err);
	sy_strv_release(&prefixes);
	if (rc)
		return -1;
	timing("changeset", p->head.oid, t0);
	t0 = now_ms();
	struct planner_plan_input in = {
		.base = p->has_base ? &p->base.index : NULL,
		.base_keys = p->has_base ? &p->base.keys : NULL,
		.head = &p->head.index, .graph = &p->head.graph, .keys = &p->head.keys,
		.has_artifact = p->opts->missing || !p->opts->plan_only ? has_artifact : NULL,
		.has_built = has_built, .arg = p,
	};
	if (planner_plan_compute(&in, &p->plan, err))
		return -1;
	find_global_changes(p);
	name_broken_providers(p);
	timing("plan", p->head.oid, t0);
	t0 = now_ms();
	struct pipeline_image_affected a = {
		.repo = p->repo, .commit = p->head.oid, .configs_dir = p->head.distro.imageconfigs_dir,
		.index = &p->head.index, .graph = &p->head.graph, .plan = &p->plan,
		.changes = &p->changes,
	};
	rc = pipeline_images_affected(&a, &p->images, err);
	timing("images", p->head.oid, t0);
	return rc;
}

/* "1m05s" */
static void format_duration(double s, char *out, size_t size)
{
	long t = s > 0 ? (long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(out, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, size, "%lds", t);
}

/* A job event for `shipyard serve` (options.events). */
static void job_event(FILE *out, const struct builder_progress *pr)
{
	const struct builder_job_result *r = pr->result;
	json_t *o = json_pack("{s:s, s:s}", "job", pr->spec, "state",
			      pr->state ? pr->state : "running");
	char *line;

	if (r) {
		json_object_set_new(o, "reason", r->reason ? json_string(r->reason) : json_null());
		json_object_set_new(o, "log", r->log_path ? json_string(r->log_path) : json_null());
		json_object_set_new(o, "seconds", json_real(r->seconds));
	}
	line = json_dumps(o, JSON_COMPACT);
	if (line) {
		fprintf(out, "%s\n", line);
		fflush(out);
	}
	free(line);
	json_decref(o);
}

/* On a terminal one line rewritten in place (built/total, running jobs,
 * elapsed, estimate to finish); elsewhere a log line per job start and end. */
static void progress(void *arg, const struct builder_progress *pr)
{
	struct pipeline *p = arg;

	if (p->opts->events && pr->spec)
		job_event(p->opts->events, pr);
	char elapsed[32], eta[32];
	int tty = isatty(STDERR_FILENO);

	format_duration((double)(time(NULL) - p->started), elapsed, sizeof(elapsed));
	format_duration(pr->eta_s, eta, sizeof(eta));
	if (tty) {
		fprintf(stderr, "\r\033[K[%zu/%zu] %zu running, elapsed %s, about %s left%s%s%s%s",
			pr->done, pr->total, pr->running, elapsed, eta, pr->spec ? ": " : "",
			pr->spec ? pr->spec : "", pr->spec ? " " : "",
			pr->spec ? (pr->state ? pr->state : "started") : "");
		if (pr->done == pr->total)
			fputc('\n', stderr);
		fflush(stderr);
	} else if (pr->spec) {
		sy_log_info("[%zu/%zu] %s: %s (%zu running, elapsed %s, about %s left)", pr->done,
			    pr->total, pr->spec, pr->state ? pr->state : "building", pr->running,
			    elapsed, eta);
	}
}

#define DURATIONS_NS "build-seconds-v1"

/* The expected build time of a spec: its last build's duration, else an
 * estimate from the size of its spec directory (sources dominate: 5 s plus
 * 10 s per MiB). */
static double expected_duration(struct pipeline *p, const char *db, size_t spec)
{
	const struct planner_index *idx = &p->head.index;
	char *key = sy_xasprintf("%s:%s", idx->macros.target_arch, idx->specs[spec].path);
	char *data = NULL, *dir = planner_path_dir(idx->specs[spec].path);
	size_t len, dlen = strlen(dir), bytes = 0;
	double s = 0;

	if (state_kv_get(db, DURATIONS_NS, key, &data, &len, NULL) == 1)
		s = strtod(data, NULL);
	for (size_t k = 0; s <= 0 && k < idx->files.n; k++) {
		size_t size;
		if (!strncmp(idx->files.items[k].path, dir, dlen) && idx->files.items[k].path[dlen] == '/' &&
		    gitwatch_blob_size(p->repo, idx->files.items[k].oid, &size, NULL) == 0)
			bytes += size;
	}
	if (s <= 0)
		s = 5.0 + 10.0 * (double)bytes / (1024.0 * 1024.0);
	free(data);
	free(dir);
	free(key);
	return s;
}

static void remember_durations(struct pipeline *p, const char *db)
{
	const struct planner_index *idx = &p->head.index;

	for (size_t e = 0; e < p->plan.n; e++) {
		if (p->results[e].state != BUILDER_JOB_BUILT)
			continue;
		const char *path = idx->specs[p->plan.entries[e].spec].path;
		char *key = sy_xasprintf("%s:%s", idx->macros.target_arch, path);
		char value[32];
		snprintf(value, sizeof(value), "%.3f", p->results[e].seconds);
		state_kv_put(db, DURATIONS_NS, key, value, strlen(value), NULL);
		free(key);
	}
}

/* Per head spec, its build key at the base (NULL when new or no base). */
static const char **base_keys(const struct pipeline *p)
{
	const struct planner_index *head = &p->head.index;
	const char **keys = sy_xcalloc(head->nspecs + 1, sizeof(char *));

	for (size_t i = 0; p->has_base && i < head->nspecs; i++) {
		long b = planner_index_lookup_path(&p->base.index, head->specs[i].path);
		if (b >= 0 && (size_t)b < p->base.keys.n)
			keys[i] = p->base.keys.keys[b];
	}
	return keys;
}

/* Overlay roots unless asked otherwise or the builds directory cannot hold
 * an overlay's upper dir: then the worker tarball, written once. */
static int choose_root_mode(struct pipeline *p, struct sy_error *err)
{
	enum builder_root_mode mode = p->opts->root_mode;
	struct sy_error why = { { 0 } };

	if (mode == BUILDER_ROOT_AUTO) {
		char *probe = sy_xasprintf("%s/builds/overlay-probe-%d", p->opts->state_dir,
					   (int)getpid());
		int fd = builder_build_lock(probe, &why);
		int ok = fd < 0 ? -1 : builder_rootfs_overlay_supported(probe, &why);
		if (fd >= 0)
			builder_build_unlock(probe, fd);
		free(probe);
		if (ok < 0)
			return sy_error_set(err, "%s", why.msg);
		if (ok)
			return 0;
		sy_log_warn("overlayfs unavailable (%s): build roots are extracted from the "
			    "worker tarball", why.msg);
	} else if (mode == BUILDER_ROOT_OVERLAY) {
		return 0;
	}
	sy_log_info("build roots: extracted from the worker tarball");
	return builder_rootfs_tarball_ensure(p->worker_root, &p->worker_tarball, err);
}

static int prepare_worker(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	char *cache = o->worker_cache ? sy_xstrdup(o->worker_cache) : pipeline_state_path(p, "worker");
	char *logs = pipeline_state_path(p, "logs"), *log = pipeline_state_path(p, "logs/worker.log");
	int rc = -1;

	sy_mkdir_p(logs, 0755, NULL);
	FILE *f = fopen(log, "a");
	if (!o->worker_manifest) {
		sy_error_set(err, "no worker manifest given");
	} else {
		sy_log_info("worker root %.12s (%s)", p->worker.digest, o->worker_manifest);
		rc = builder_worker_ensure(cache, &p->worker, f ? fileno(f) : -1, &p->worker_root, err);
	}
	if (rc == 0)
		rc = choose_root_mode(p, err);
	if (f)
		fclose(f);
	free(log);
	free(logs);
	free(cache);
	return rc;
}

static size_t build_stage(struct pipeline *p, struct sy_error *err)
{
	char *builds = pipeline_state_path(p, "builds");
	struct sy_error sweep_err = { { 0 } };

	/* What builds of a killed run left (their mounts and processes died
	 * with their namespaces) goes first, whatever this run builds. */
	if (builder_build_sweep(builds, &sweep_err))
		sy_log_warn("%s", sweep_err.msg);
	p->results = sy_xcalloc(p->plan.n + 1, sizeof(*p->results));
	if (!p->plan.n || prepare_worker(p, err)) {
		free(builds);
		return p->plan.n ? (size_t)-1 : 0;
	}
	char *artifacts = pipeline_state_path(p, "artifacts");
	char *logs = sy_xasprintf("%s/logs/%.12s", p->opts->state_dir, p->head.oid);
	char *db = pipeline_state_path(p, "state.db"), *sources = pipeline_state_path(p, "sources");
	double *expected = sy_xcalloc(p->plan.n + 1, sizeof(double)), t0 = now_ms();
	for (size_t e = 0; e < p->plan.n; e++)
		expected[e] = expected_duration(p, db, p->plan.entries[e].spec);
	const char **bkeys = base_keys(p);
	struct builder_schedule_input in = {
		.repo = p->repo, .index = &p->head.index, .graph = &p->head.graph, .plan = &p->plan,
		.keys = (const char (*)[SY_SHA256_HEX_LEN + 1])p->head.keys.keys,
		.artifacts_dir = artifacts, .builds_dir = builds, .log_dir = logs,
		.worker_root = p->worker_root, .worker_tarball = p->worker_tarball,
		.timeout_s = p->opts->build_timeout_s,
		.output_limit_bytes = p->opts->output_limit_bytes, .run_check = p->opts->run_check,
		.jobs = p->opts->jobs, .expected_s = expected, .base_keys = bkeys,
		.source_cache = sources, .source_url = p->head.distro.source_url,
		.signatures = p->head.distro.signatures,
		.cancel = p->opts->cancel,
		.find_rpm = find_published_rpm, .find_rpm_arg = p, .progress = progress,
		.progress_arg = p, .published_rpms = &p->published,
	};
	size_t bad = builder_schedule_run(&in, p->results);
	if (p->opts->cancel && *p->opts->cancel && builder_build_sweep(builds, &sweep_err))
		sy_log_warn("%s", sweep_err.msg); /* the killed builds' scratch directories */
	for (size_t e = 0; e < p->plan.n; e++)
		if (p->results[e].reason && p->results[e].state != BUILDER_JOB_SKIPPED)
			sy_log_error("%s (log: %s)", p->results[e].reason, p->results[e].log_path);
		else if (p->results[e].check == 1)
			sy_log_warn("%s: %%check failed (log: %s)",
				    p->head.index.specs[p->plan.entries[e].spec].path,
				    p->results[e].log_path);
	remember_durations(p, db);
	struct sy_error report_err = { { 0 } };
	if (pipeline_build_report_write(logs, p->head.oid, &p->head.index, &p->plan, p->results,
				       (now_ms() - t0) / 1000.0, &report_err))
		sy_log_warn("%s", report_err.msg);
	else
		sy_log_info("build report: %s/build_state.csv", logs);
	free(bkeys);
	free(expected);
	free(sources);
	free(db);
	free(artifacts);
	free(builds);
	free(logs);
	return bad;
}

/* A spec built with BuildRequires resolved against packages of this run has
 * a key, in the next plan, that includes the specs providing them (now
 * learned from the published repository). Its artifact is that build: link
 * the new key to it, so that it is not built twice. */
int pipeline_alias_learned_keys(struct pipeline *p, const char *snapshot, struct sy_error *err)
{
	struct commit_view v;
	int late = 0, rc;

	for (size_t e = 0; e < p->plan.n; e++)
		late |= p->results[e].late;
	if (!late || !snapshot)
		return 0;
	memset(&v, 0, sizeof(v));
	memcpy(v.oid, p->head.oid, sizeof(v.oid));
	free(p->published_dir);
	p->published_dir = sy_xstrdup(snapshot);
	rc = load_view(p, &v, err);
	for (size_t e = 0; rc == 0 && e < p->plan.n; e++) {
		size_t i = p->plan.entries[e].spec;
		if (!p->results[e].late || !strcmp(v.keys.keys[i], p->head.keys.keys[i]) ||
		    has_artifact(p, v.keys.keys[i]))
			continue;
		char *link = sy_xasprintf("%s/artifacts/%s", p->opts->state_dir, v.keys.keys[i]);
		if (symlink(p->head.keys.keys[i], link) < 0 && errno != EEXIST)
			rc = sy_error_set(err, "%s: %s", link, strerror(errno));
		free(link);
	}
	view_release(&v);
	return rc;
}

static void pipeline_release(struct pipeline *p)
{
	for (size_t e = 0; p->results && e < p->plan.n; e++)
		builder_job_result_release(&p->results[e]);
	free(p->results);
	free(p->worker_root);
	free(p->worker_tarball);
	builder_worker_manifest_release(&p->worker);
	sy_strv_release(&p->images);
	sy_strv_release(&p->global);
	sy_strv_release(&p->published);
	sy_strv_release(&p->toolchain);
	free(p->published_dir);
	free(p->repos_dir);
	free(p->channel);
	gitwatch_repo_free(p->repo);
#ifndef __SANITIZE_ADDRESS__
	if (p->opts->exiting)
		return;
#endif
	planner_plan_release(&p->plan);
	view_release(&p->head);
	view_release(&p->base);
	gitwatch_changeset_release(&p->changes);
}

static void report_build(struct pipeline *p, size_t bad)
{
	size_t counts[BUILDER_JOB_NSTATES] = { 0 }, checks_failed = 0;
	char checks[64] = "";

	for (size_t e = 0; e < p->plan.n; e++) {
		counts[p->results[e].state]++;
		checks_failed += p->results[e].check == 1;
	}
	if (checks_failed)
		snprintf(checks, sizeof(checks), ", %zu %%check failed", checks_failed);
	/* A cancelled run says nothing about the packages: error, not failure. */
	pipeline_status_report(p->opts->reporter, "shipyard/build",
			      counts[BUILDER_JOB_SKIPPED] ? PIPELINE_STATUS_ERROR
			      : bad			  ? PIPELINE_STATUS_FAILURE
							  : PIPELINE_STATUS_SUCCESS,
			      "%zu built, %zu reused, %zu unchanged, %zu failed, %zu blocked%s%s",
			      counts[BUILDER_JOB_BUILT], counts[BUILDER_JOB_REUSED],
			      counts[BUILDER_JOB_UNCHANGED], counts[BUILDER_JOB_FAILED],
			      counts[BUILDER_JOB_BLOCKED], checks,
			      counts[BUILDER_JOB_SKIPPED] ? ", cancelled" : "");
}

static size_t unbreakable_cycles(const struct planner_plan *plan)
{
	size_t n = 0;

	for (size_t e = 0; e < plan->n; e++)
		n += plan->entries[e].in_cycle;
	return n;
}

/* Keeps the plan as <state>/logs/<head12>/plan.json next to the job logs,
 * for the dashboard. */
static void save_plan(struct pipeline *p, const struct pipeline_plan_view *view)
{
	char *dir = sy_xasprintf("%s/logs/%.12s", p->opts->state_dir, p->head.oid);
	char *path = sy_xasprintf("%s/plan.json", dir), *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct sy_error err = { { 0 } };

	if (f) {
		pipeline_plan_print(f, view, 1);
		fclose(f);
		if (sy_mkdir_p(dir, 0755, &err) || sy_write_file_atomic(path, text, len, 0644, &err))
			sy_log_warn("%s", err.msg);
	}
	free(text);
	free(path);
	free(dir);
}

static int run_stages(struct pipeline *p, struct sy_error *err)
{
	struct pipeline_reporter *rep = p->opts->reporter;
	int failed;

	pipeline_status_report(rep, "shipyard/plan", PIPELINE_STATUS_PENDING, "planning %.12s",
			      p->head.oid);
	if (plan_stage(p, err)) {
		pipeline_status_report(rep, "shipyard/plan", PIPELINE_STATUS_FAILURE, "%s", err->msg);
		return -1;
	}
	struct pipeline_plan_view view = {
		.base = p->has_base ? p->base.oid : NULL, .head = &p->head.index,
		.graph = &p->head.graph, .plan = &p->plan, .changes = &p->changes,
		.images = &p->images, .global = &p->global,
	};
	pipeline_plan_print(p->opts->out, &view, p->opts->json);
	if (!p->opts->plan_only)
		save_plan(p, &view);
	failed = p->plan.broken_specs.n != 0 || unbreakable_cycles(&p->plan) != 0;
	pipeline_status_report(rep, "shipyard/plan",
			      failed ? PIPELINE_STATUS_FAILURE : PIPELINE_STATUS_SUCCESS,
			      "%zu specs to build, %zu broken, %zu cycles", p->plan.n,
			      p->plan.broken_specs.n, p->plan.ncycles);
	if (p->opts->plan_only)
		return failed;
	pipeline_status_report(rep, "shipyard/build", PIPELINE_STATUS_PENDING, "%zu specs to build",
			      p->plan.n);
	size_t bad = build_stage(p, err);
	if (bad == (size_t)-1) {
		pipeline_status_report(rep, "shipyard/build", PIPELINE_STATUS_ERROR, "%s", err->msg);
		return -1;
	}
	report_build(p, bad);
	failed |= bad != 0;
	if (p->opts->cancel && *p->opts->cancel)
		return sy_error_set(err, "pipeline cancelled: nothing published");
	if (pipeline_publish_stage(p, err))
		return -1;
	struct pipeline_image_step step = {
		.repo = p->repo, .commit = p->head.oid, .configs_dir = p->head.distro.imageconfigs_dir,
		.repos_dir = p->repos_dir, .channel = p->channel, .state_dir = p->opts->state_dir,
		.arch = p->opts->arch ? p->opts->arch : "x86_64", .reporter = rep,
	};
	int images = pipeline_image_step_run(&step, err);
	if (images < 0)
		return -1;
	return failed || images ? 1 : 0;
}

int pipeline_run(const struct pipeline_options *opts, struct sy_error *err)
{
	struct pipeline p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.opts = opts;
	p.started = time(NULL);
	if (sy_mkdir_p(opts->state_dir, 0755, err))
		return -1;
	double t0 = now_ms();
	rc = open_and_resolve(&p, err);
	timing("open", "", t0);
	if (rc == 0)
		rc = run_stages(&p, err);
	t0 = now_ms();
	pipeline_release(&p);
	timing("release", "", t0);
	return rc;
}
