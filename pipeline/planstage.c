/* The plan stage: both commits read, the changeset, the rebuild set, the
 * global inputs that changed and the image configs affected; printed, kept
 * as plan.json of the run, and reported as shipyard/plan. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "builder/artifact.h"
#include "builder/rpmroot.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "imager/imageconfig.h"
#include "imager/stage.h"
#include "pipeline/pipeline-private.h"
#include "pipeline/planprint.h"
#include "repo-publish/channel.h"
#include "state/layout.h"

struct graph_thread {
	struct pipeline *p;
	const struct planner_commit *from; /* graph derived from, or NULL */
	struct sy_error err;
	int rc;
};

static void *graph_thread_main(void *arg)
{
	struct graph_thread *t = arg;
	double t0 = sy_now_s();

	t->rc = planner_commit_graph_build(&t->p->settings, &t->p->head, t->from, &t->err);
	pipeline_timing("graph", t->p->head.oid, t0);
	return NULL;
}

/* Reads the base's keys, with the head's rebuild policies; no graph when
 * they are cached. */
static int read_base_keys(struct pipeline *p, struct sy_error *err)
{
	double t0 = sy_now_s();

	if (planner_commit_keys(&p->settings, &p->base, &p->head.distro, 0, err))
		return -1;
	pipeline_timing("keys", p->base.oid, t0);
	return 0;
}

/* Reads the base's index, then the head's sharing every spec the base read
 * alike: a new commit on a warm state (the base's index record stored)
 * then looks up only the specs it changed, not thousands. */
static int read_indexes(struct pipeline *p, struct sy_error *err)
{
	double t0 = sy_now_s();

	if (p->has_base) {
		if (planner_commit_read(&p->settings, p->base.oid, NULL, &p->base, err)) {
			/* The head's own error names what the commit being
			 * planned must fix; the base's comes second. */
			struct sy_error head_err = { { 0 } };

			if (planner_commit_read(&p->settings, p->head.oid, NULL, &p->head,
						&head_err) == 0)
				return -1;
			*err = head_err;
			return -1;
		}
		pipeline_timing("index", p->base.oid, t0);
		t0 = sy_now_s();
	}
	if (planner_commit_read(&p->settings, p->head.oid, p->has_base ? &p->base : NULL,
				&p->head, err))
		return -1;
	pipeline_timing("index", p->head.oid, t0);
	return 0;
}

/* What a second thread stores in the state database (the head's graph and
 * keys, made for a new commit) while the main thread goes on with what
 * needs none. */
struct store_thread {
	struct pipeline *p;
	int graph;          /* the head's graph was made here: to store */
	pthread_t thread;
	int started;
	struct sy_error err;
	int rc;
};

/* Stores the head's graph when it was made here (not read from the graph
 * cache), then its keys when computed. */
static void *store_thread_main(void *arg)
{
	struct store_thread *t = arg;
	struct pipeline *p = t->p;

	t->rc = (t->graph && planner_commit_graph_store(&p->settings, &p->head, &t->err)) ||
			planner_commit_keys_store(&p->settings, &p->head, &t->err)
		? -1
		: 0;
	return NULL;
}

/* Starts storing on a thread, or stores here when no thread can start. */
static void store_start(struct store_thread *t, struct pipeline *p, int graph)
{
	*t = (struct store_thread){ .p = p, .graph = graph };
	t->started = pthread_create(&t->thread, NULL, store_thread_main, t) == 0;
	if (!t->started)
		store_thread_main(t);
}

/* Waits for what store_start started. Returns rc unless it is 0 and the
 * store failed (err then set). */
static int store_join(struct store_thread *t, int rc, struct sy_error *err)
{
	if (t->started)
		pthread_join(t->thread, NULL);
	t->started = 0;
	if (t->rc && rc == 0) {
		*err = t->err;
		rc = -1;
	}
	t->rc = 0;
	return rc;
}

/* Reads the base and the head. The head's graph comes from the graph cache,
 * else is built (libsolv only: no git, no database) on a second thread while
 * the base's keys and the head's own inputs are read. The head's graph (so
 * made) and keys are left for store to store (started by then, joined by
 * the caller): the keys are hashed on both cores meanwhile. */
static int read_commits(struct pipeline *p, struct store_thread *store, struct sy_error *err)
{
	struct graph_thread t = { .p = p };
	pthread_t thread;
	double t0;
	int cached, threaded, graph_unstored = 0, rc;

	if (read_indexes(p, err))
		return -1;
	t0 = sy_now_s();
	cached = planner_commit_graph_cached(&p->settings, &p->head, err);
	if (cached < 0)
		return -1;
	if (cached)
		pipeline_timing("graphcache", p->head.oid, t0);
	/* A new commit: its graph is derived from the base's, when cached. */
	if (!cached && p->has_base) {
		t0 = sy_now_s();
		if (planner_commit_graph_cached(&p->settings, &p->base, err) < 0)
			return -1;
		pipeline_timing("graphcache", p->base.oid, t0);
		t.from = p->base.has_graph ? &p->base : NULL;
	}
	threaded = !cached && pthread_create(&thread, NULL, graph_thread_main, &t) == 0;
	rc = p->has_base ? read_base_keys(p, err) : 0;
	/* The head's own inputs need no graph: computed while it is made. */
	t0 = sy_now_s();
	if (rc == 0)
		rc = planner_commit_keys_begin(&p->settings, &p->head, &p->head.distro,
					       p->has_base ? &p->base : NULL, err);
	pipeline_timing("inputs", p->head.oid, t0);
	if (threaded) {
		pthread_join(thread, NULL);
		if (t.rc && rc == 0) {
			*err = t.err;
			rc = -1;
		}
		graph_unstored = rc == 0;
	}
	t0 = sy_now_s();
	if (rc == 0)
		rc = planner_commit_keys_unstored(&p->settings, &p->head, &p->head.distro,
						  p->has_base ? &p->base : NULL, err);
	pipeline_timing("keys", p->head.oid, t0);
	if (rc == 0 && (graph_unstored || p->head.keys_unstored))
		store_start(store, p, graph_unstored);
	return rc;
}

int pipeline_read_head(struct pipeline *p, struct sy_error *err)
{
	return planner_commit_read(&p->settings, p->head.oid, NULL, &p->head, err) ||
			       planner_commit_keys(&p->settings, &p->head, &p->head.distro, 1, err)
		       ? -1
		       : 0;
}

static int has_artifact(void *arg, const char *key)
{
	struct pipeline *p = arg;
	char *dir = state_artifact_dir(p->state, key);
	int found = builder_artifact_complete(dir);

	free(dir);
	return found;
}

static int has_built(void *arg, const struct planner_spec *spec)
{
	struct pipeline *p = arg;

	return spec->npackages && repo_publish_rpms_of(&p->published, spec, NULL) == spec->npackages;
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

/* Names spec b (which does not parse at the head) in the unresolved
 * BuildRequires it would provide: known from the base commit where it
 * parsed, else guessed from its file name. */
static void name_broken_provider(struct pipeline *p, size_t b)
{
	const struct planner_index *head = &p->head.index;
	long at_base = p->has_base ? planner_index_lookup_path(&p->base.index, head->specs[b].path) : -1;
	const struct planner_spec *old = at_base >= 0 && !p->base.index.specs[at_base].error
						 ? &p->base.index.specs[at_base]
						 : NULL;
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

/* Says when the worker root differs from the one the channel's packages
 * were built in: one reason for every spec it rebuilds, naming the
 * toolchain packages that changed. */
static void find_worker_change(struct pipeline *p)
{
	struct state_published rec;
	char *what;

	if (!p->worker.digest[0] || state_published_read(p->state, p->read_channel, &rec, NULL) != 1)
		return;
	if (rec.worker_root && strcmp(rec.worker_root, p->worker.digest)) {
		if (p->worker.kind == BUILDER_WORKER_RPM && rec.worker_packages.n)
			what = builder_rpmroot_describe_change(&rec.worker_packages, &p->worker);
		else
			what = sy_xasprintf("%.12s -> %.12s", rec.worker_root, p->worker.digest);
		sy_strv_pushf(&p->global, "worker root changed: %s", what);
		free(what);
	}
	state_published_release(&rec);
}

static int compute_changeset(struct pipeline *p, struct sy_error *err)
{
	struct sy_strv prefixes = SY_STRV_INIT;
	double t0 = sy_now_s();
	int rc;

	for (size_t i = 0; i < p->head.distro.spec_trees.n; i++)
		sy_strv_push(&prefixes, p->head.distro.spec_trees.items[i]);
	sy_strv_push(&prefixes, p->head.distro.imageconfigs_dir);
	rc = gitwatch_changeset_compute(p->repo, p->has_base ? p->base.oid : NULL, p->head.oid,
					(const char *const *)prefixes.items, &p->changes, err);
	sy_strv_release(&prefixes);
	pipeline_timing("changeset", p->head.oid, t0);
	return rc;
}

int pipeline_has_goal(const struct pipeline_options *o)
{
	return o->specs || o->packages || o->image_config || o->rebuild;
}

/* The specs all of whose packages an rpm worker root holds (the toolchain
 * stage built them), as ignored specs: this run does not build them again
 * in a root that has them, and publishing takes the root's files. Appended
 * to ignore after the maintainer's. */
static void add_root_specs(const struct pipeline *p, struct sy_strv *ignore)
{
	const struct planner_index *idx = &p->head.index;

	for (size_t i = 0; p->opts->ignore && p->opts->ignore[i]; i++)
		sy_strv_push(ignore, p->opts->ignore[i]);
	for (size_t i = 0; p->worker_rpms.n && i < idx->nspecs; i++) {
		const struct planner_spec *spec = &idx->specs[i];
		if (spec->error || spec->excluded || !spec->npackages ||
		    repo_publish_rpms_of(&p->worker_rpms, spec, NULL) != spec->npackages)
			continue;
		char *id = planner_spec_id(spec);
		sy_log_info("%s: its packages are the worker root's: not built", id);
		sy_strv_push_owned(ignore, id);
	}
}

/* Resolves the maintainer's request, if any, against the head. */
static int resolve_target(struct pipeline *p, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	static const char *const none[] = { NULL };
	struct imager_config cfg = { 0 };
	struct sy_strv ignore = SY_STRV_INIT;
	struct planner_target t = {
		.specs = o->specs, .packages = o->packages, .rebuild = o->rebuild,
		.force = o->force,
	};
	int rc;

	add_root_specs(p, &ignore);
	if (!pipeline_has_goal(o) && !ignore.n)
		return 0;
	t.ignore = ignore.n ? (const char *const *)ignore.items : NULL;
	if (o->image_config) {
		if (imager_config_read(p->repo, p->head.oid, p->head.distro.imageconfigs_dir,
				       o->image_config, &cfg, err)) {
			sy_strv_release(&ignore);
			return -1;
		}
		t.image_packages = cfg.packages.n ? (const char *const *)cfg.packages.items : none;
	}
	rc = planner_target_resolve(&p->head.index, &t, &p->target, err);
	p->has_target = 1;
	imager_config_release(&cfg);
	sy_strv_release(&ignore);
	for (size_t k = 0; k < p->target.unknown_ignored.n; k++)
		sy_log_warn("ignore %s: no spec or package of that name",
			    p->target.unknown_ignored.items[k]);
	return rc;
}

static int compute_plan(struct pipeline *p, struct store_thread *store, struct sy_error *err)
{
	const struct pipeline_options *o = p->opts;
	double t0 = sy_now_s();

	if (resolve_target(p, err))
		return -1;
	struct planner_plan_input in = {
		.base = p->has_base ? &p->base.index : NULL,
		.base_keys = p->has_base ? &p->base.keys : NULL,
		.head = &p->head.index, .graph = &p->head.graph, .keys = &p->head.keys,
		.has_artifact = o->missing || (p->stages & PIPELINE_BUILD) || p->has_target
					? has_artifact
					: NULL,
		.has_built = has_built, .arg = p, .target = p->has_target ? &p->target : NULL,
	};

	if (planner_plan_compute(&in, &p->plan, err))
		return -1;
	/* A goal a person named is asked for already: no guard. */
	if (!pipeline_has_goal(o) && p->head.distro.max_rebuild)
		planner_cascade_check(&in, &p->plan, p->head.distro.max_rebuild, has_artifact, p,
				      &p->cascade);
	find_global_changes(p);
	find_worker_change(p);
	for (size_t b = 0; b < p->head.index.nspecs; b++) {
		if (!p->head.index.specs[b].error)
			continue;
		/* It edits the graph's nodes: stored first. */
		if (store_join(store, 0, err))
			return -1;
		name_broken_provider(p, b);
	}
	pipeline_timing("plan", p->head.oid, t0);
	t0 = sy_now_s();
	char *db = state_db_path(p->state);
	int rc = imager_configs_affected(p->repo, &p->head, p->head.distro.imageconfigs_dir, db,
					 &p->plan, &p->changes, &p->images, err);
	free(db);
	if (rc)
		return -1;
	pipeline_timing("images", p->head.oid, t0);
	return 0;
}

int pipeline_plan_held(const struct pipeline *p)
{
	return p->cascade.needs_approval && !p->opts->approve;
}

int pipeline_plan_failed(const struct pipeline *p)
{
	if (p->plan.broken_specs.n || pipeline_plan_held(p))
		return 1;
	for (size_t e = 0; e < p->plan.n; e++)
		if (p->plan.entries[e].in_cycle)
			return 1;
	return 0;
}

/* Keeps the plan as plan.json of the run, for the dashboard. */
static void save_plan(struct pipeline *p, const struct pipeline_plan_view *view)
{
	char *path = state_pipeline_file(p->state, p->run_id, "plan.json"), *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct sy_error err = { { 0 } };

	if (f) {
		pipeline_plan_print(f, view, 1);
		fclose(f);
		if (sy_mkdir_p(p->run_dir, 0755, &err) ||
		    sy_write_file_atomic(path, text, len, 0644, &err))
			sy_log_warn("%s", err.msg);
	}
	free(text);
	free(path);
}

/* The cascade guard holds the plan: a failure, not a pending status, so
 * that the run ends and nothing waits on it; approving is running again
 * with --approve (the service's approval queues such a run). */
static void report_held(struct pipeline *p, const struct pipeline_plan_view *view)
{
	char *line = pipeline_plan_cascade_line(view, 3);

	pipeline_event_held(p, line);
	if (p->stages & PIPELINE_BUILD)
		sy_log_error("approval needed: %s; nothing built: run again with --approve", line);
	pipeline_status_report(p->opts->reporter, "shipyard/plan", FORGE_FAILURE,
			       "approval needed: %s", line);
	free(line);
}

int pipeline_plan_stage(struct pipeline *p, struct sy_error *err)
{
	struct pipeline_reporter *rep = p->opts->reporter;

	struct store_thread store = { 0 };
	int rc;

	pipeline_status_report(rep, "shipyard/plan", FORGE_PENDING, "planning %.12s", p->head.oid);
	/* Nothing else uses the state database until the head is stored. */
	rc = read_commits(p, &store, err) || compute_changeset(p, err) ||
			     compute_plan(p, &store, err)
		     ? -1
		     : 0;
	if (store_join(&store, rc, err)) {
		pipeline_status_report(rep, "shipyard/plan", FORGE_FAILURE, "%s", err->msg);
		return -1;
	}
	struct pipeline_plan_view view = {
		.base = p->has_base ? p->base.oid : NULL, .head = &p->head.index,
		.graph = &p->head.graph, .plan = &p->plan, .changes = &p->changes,
		.images = &p->images, .global = &p->global,
		.cascade = p->cascade.limit ? &p->cascade : NULL, .approved = p->opts->approve,
		.goal = pipeline_has_goal(p->opts),
	};
	pipeline_plan_print(p->opts->out, &view, p->opts->json);
	if (p->stages != PIPELINE_PLAN)
		save_plan(p, &view);
	if (pipeline_plan_held(p))
		report_held(p, &view);
	else
		pipeline_status_report(rep, "shipyard/plan",
				       pipeline_plan_failed(p) ? FORGE_FAILURE : FORGE_SUCCESS,
				       "%zu specs to build, %zu broken, %zu cycles", p->plan.n,
				       p->plan.broken_specs.n, p->plan.ncycles);
	return 0;
}
