#include "planner/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "planner/graphcache.h"
#include "planner/keycache.h"
#include "state/layout.h"

/* What the caller sets over the repository's shipyard.conf. */
static int apply_overrides(const struct planner_commit_settings *s, struct planner_distro *d,
			   struct sy_error *err)
{
	if (s->spec_trees && s->spec_trees[0]) {
		sy_strv_release(&d->spec_trees);
		for (const char *const *t = s->spec_trees; *t; t++)
			sy_strv_push(&d->spec_trees, *t);
	}
	if (s->imageconfigs) {
		free(d->imageconfigs_dir);
		d->imageconfigs_dir = sy_xstrdup(s->imageconfigs);
	}
	if (s->rebuild_policy && planner_policy_parse(s->rebuild_policy, &d->policy, err))
		return sy_error_prefix(err, "rebuild policy");
	if (s->source_urls && s->source_urls[0]) {
		struct sy_strv urls = SY_STRV_INIT;
		char *template;
		for (const char *const *u = s->source_urls; *u; u++) {
			if (planner_source_url_parse(*u, &template, err)) {
				sy_strv_release(&urls);
				return sy_error_prefix(err, "source URL");
			}
			sy_strv_push_owned(&urls, template);
		}
		for (size_t i = 0; i < d->source_urls.n; i++)
			sy_strv_push(&urls, d->source_urls.items[i]);
		sy_strv_release(&d->source_urls);
		d->source_urls = urls;
	}
	return 0;
}

int planner_commit_read_distro(const struct planner_commit_settings *s, const char *oid,
			       struct planner_commit *c, struct sy_error *err)
{
	char *tmp = state_tmp_dir(s->state);
	int rc;

	if (c->oid != oid) /* the caller may have resolved it into c */
		snprintf(c->oid, sizeof(c->oid), "%s", oid);
	rc = planner_distro_load(s->repo, s->config_from ? s->config_from : oid, tmp, &c->distro,
				 err) ||
			     apply_overrides(s, &c->distro, err)
		     ? -1
		     : 0;
	free(tmp);
	return rc;
}

/* A commit whose spec trees hold no file at all is a repository shipyard
 * cannot read (a wrong distro.spectree, or not a distribution), not a
 * distribution of 0 specs whose plan succeeds. */
static int check_spec_trees(const struct planner_distro *d, const struct planner_commit *c,
			    struct sy_error *err)
{
	char *names;

	if (c->index.files.n)
		return 0;
	names = sy_strv_join(&d->spec_trees, ", ");
	sy_error_set(err, "commit %.12s: no spec tree: none of %s holds a file (set "
		     "distro.spectree in shipyard.conf, or --spec-tree)", c->oid, names);
	free(names);
	return -1;
}

int planner_commit_read(const struct planner_commit_settings *s, const char *oid,
			const struct planner_commit *reuse, struct planner_commit *c,
			struct sy_error *err)
{
	struct planner_macro_settings settings;
	char *tmp = state_tmp_dir(s->state), *db = state_db_path(s->state);
	int rc = -1;

	if (planner_arch_check(s->arch, err) || planner_commit_read_distro(s, oid, c, err))
		goto out;
	planner_distro_macro_settings(&c->distro, s->arch, &settings);
	settings.installed_rpms = s->learn_repo;
	settings.worker_rpms = s->worker_rpms;
	settings.worker_digest = s->worker_digest;
	if (planner_index_load_with(s->repo, oid, &settings, tmp, db, s->jobs,
				    reuse && reuse->index.nspecs ? &reuse->index : NULL,
				    &s->progress, &c->index, err))
		goto out;
	if (!reuse && check_spec_trees(&c->distro, c, err))
		goto out;
	rc = 0;
out:
	free(db);
	free(tmp);
	return rc;
}

static const struct sy_strv *toolchain_of(const struct planner_commit_settings *s)
{
	static const struct sy_strv none = SY_STRV_INIT;

	return s->toolchain ? s->toolchain : &none;
}

/* The graph cache's context of c (a digest over every spec): the one kept
 * in c, else computed into out. */
static const char *graph_context(const struct planner_commit_settings *s,
				 const struct planner_commit *c, char out[SY_SHA256_HEX_LEN + 1])
{
	if (c->graph_context[0])
		return c->graph_context;
	planner_graphcache_context(&c->index, toolchain_of(s), s->toolchain_first, s->arch,
				   s->learn_repo, out);
	return out;
}

int planner_commit_graph_cached(const struct planner_commit_settings *s, struct planner_commit *c,
				struct sy_error *err)
{
	char *db;
	int hit;

	if (c->has_graph)
		return 1;
	db = state_db_path(s->state);
	if (!c->graph_context[0]) /* kept for planner_commit_graph_store */
		graph_context(s, c, c->graph_context);
	hit = planner_graphcache_get(db, c->graph_context, c->index.specs, c->index.nspecs,
				     toolchain_of(s), s->toolchain_first, s->arch, s->learn_repo,
				     &c->graph, err);
	c->has_graph = hit > 0;
	free(db);
	return hit;
}

/* Derives c's graph from from's (planner_commit_graph_build). Returns 1
 * when made, 0 when from does not fit, -1 with err. */
static int derive_graph(const struct planner_commit_settings *s, struct planner_commit *c,
			const struct planner_commit *from, struct sy_error *err)
{
	int rc;

	if (!from || !from->has_graph || strcmp(from->index.macros.digest, c->index.macros.digest) ||
	    strcmp(from->index.macros.target_arch, c->index.macros.target_arch))
		return 0;
	rc = planner_graph_derive(&from->graph, c->index.specs, c->index.nspecs, toolchain_of(s),
				  s->toolchain_first, s->arch, s->learn_repo, &c->graph, err);
	c->has_graph = rc > 0;
	return rc;
}

int planner_commit_graph_build(const struct planner_commit_settings *s, struct planner_commit *c,
			       const struct planner_commit *from, struct sy_error *err)
{
	int derived;

	if (c->has_graph)
		return 0;
	derived = derive_graph(s, c, from, err);
	if (derived)
		return derived < 0 ? -1 : 0;
	if (planner_graph_build(c->index.specs, c->index.nspecs, toolchain_of(s),
				s->toolchain_first, s->arch, s->learn_repo, &c->graph, err))
		return -1;
	c->has_graph = 1;
	return 0;
}

int planner_commit_graph_store(const struct planner_commit_settings *s,
			       const struct planner_commit *c, struct sy_error *err)
{
	char context[SY_SHA256_HEX_LEN + 1];
	char *db = state_db_path(s->state);
	int rc;

	rc = planner_graphcache_put(db, graph_context(s, c, context), &c->graph, err);
	free(db);
	return rc;
}

int planner_commit_graph(const struct planner_commit_settings *s, struct planner_commit *c,
			 struct sy_error *err)
{
	int hit = planner_commit_graph_cached(s, c, err);

	if (hit)
		return hit < 0 ? -1 : 0;
	if (planner_commit_graph_build(s, c, NULL, err))
		return -1;
	return planner_commit_graph_store(s, c, err);
}

/* Digest of everything a commit's keys depend on besides the commit: its
 * macro context and arch, the worker root, the provides learned from the
 * published repository, the rebuild policies, the toolchain. */
static void keys_context(const struct planner_commit_settings *s, const struct planner_commit *c,
			 const struct planner_distro *policies, char out[SY_SHA256_HEX_LEN + 1])
{
	struct sy_sha256 *h = sy_sha256_new();
	char text[32];

	sy_sha256_update_str(h, "view keys v1");
	sy_sha256_update_str(h, c->oid);
	sy_sha256_update_str(h, c->index.macros.digest);
	sy_sha256_update_str(h, c->index.macros.target_arch);
	sy_sha256_update_str(h, s->worker_digest ? s->worker_digest : "");
	sy_sha256_update_str(h, s->learn_repo);
	planner_policy_format(&policies->policy, text, sizeof(text));
	sy_sha256_update_str(h, text);
	for (size_t i = 0; i < policies->policy_specs.n; i++) {
		planner_policy_format(&policies->policies[i], text, sizeof(text));
		sy_sha256_update_str(h, policies->policy_specs.items[i]);
		sy_sha256_update_str(h, text);
	}
	for (size_t i = 0; s->toolchain && i < s->toolchain->n; i++)
		sy_sha256_update_str(h, s->toolchain->items[i]);
	sy_sha256_update_str(h, s->toolchain_first ? "toolchain first" : "specs first");
	sy_sha256_final(h, out);
}

static void key_settings(const struct planner_commit_settings *s,
			 const struct planner_distro *policies, const struct planner_commit *from,
			 struct planner_key_settings *ks)
{
	*ks = (struct planner_key_settings){
		.worker_digest = s->worker_digest ? s->worker_digest : "",
		.policy = policies->policy,
		/* None named: no spec's id to make for them. */
		.spec_policy = policies->policy_specs.n ? planner_distro_spec_policy : NULL,
		.arg = (void *)policies,
		.base_index = from && from->has_keys ? &from->index : NULL,
		.base_keys = from && from->has_keys ? &from->keys : NULL,
	};
}

int planner_commit_keys_begin(const struct planner_commit_settings *s, struct planner_commit *c,
			      const struct planner_distro *policies,
			      const struct planner_commit *from, struct sy_error *err)
{
	struct planner_key_settings ks;
	char *db;
	int hit;

	if (c->has_keys || c->keys_begun)
		return 0;
	db = state_db_path(s->state);
	keys_context(s, c, policies, c->keys_context);
	hit = planner_keycache_get(db, c->keys_context, &c->index, &c->keys, err);
	free(db);
	if (hit < 0)
		return -1;
	if (hit) {
		c->has_keys = 1;
		return 0;
	}
	key_settings(s, policies, from, &ks);
	if (planner_keys_inputs(s->repo, &c->index, &ks, &c->keys, err)) {
		planner_keys_release(&c->keys);
		return -1;
	}
	c->keys_begun = 1;
	return 0;
}

int planner_commit_keys_store(const struct planner_commit_settings *s, struct planner_commit *c,
			      struct sy_error *err)
{
	char *db;
	int rc;

	if (!c->keys_unstored)
		return 0;
	db = state_db_path(s->state);
	rc = planner_keycache_put(db, c->keys_context, &c->index, &c->keys, err);
	free(db);
	c->keys_unstored = 0;
	return rc;
}

static int commit_keys(const struct planner_commit_settings *s, struct planner_commit *c,
		       const struct planner_distro *policies, int need_graph,
		       const struct planner_commit *from, int store, struct sy_error *err)
{
	struct planner_key_settings ks;

	if (planner_commit_keys_begin(s, c, policies, from, err))
		return -1;
	if ((need_graph || !c->has_keys) && planner_commit_graph(s, c, err))
		return -1;
	if (c->has_keys)
		return 0;
	key_settings(s, policies, from, &ks);
	planner_keys_finish(&c->index, &c->graph, &ks, &c->keys);
	c->has_keys = 1;
	c->keys_begun = 0;
	c->keys_unstored = 1;
	return store ? planner_commit_keys_store(s, c, err) : 0;
}

int planner_commit_keys(const struct planner_commit_settings *s, struct planner_commit *c,
			const struct planner_distro *policies, int need_graph,
			struct sy_error *err)
{
	return commit_keys(s, c, policies, need_graph, NULL, 1, err);
}

int planner_commit_keys_from(const struct planner_commit_settings *s, struct planner_commit *c,
			     const struct planner_distro *policies, const struct planner_commit *from,
			     struct sy_error *err)
{
	return commit_keys(s, c, policies, 1, from, 1, err);
}

int planner_commit_keys_unstored(const struct planner_commit_settings *s, struct planner_commit *c,
				 const struct planner_distro *policies,
				 const struct planner_commit *from, struct sy_error *err)
{
	return commit_keys(s, c, policies, 1, from, 0, err);
}

int planner_commit_load(const struct planner_commit_settings *s, const char *oid,
			struct planner_commit *c, struct sy_error *err)
{
	if (planner_commit_read(s, oid, NULL, c, err) || planner_commit_graph(s, c, err))
		return -1;
	return planner_commit_keys(s, c, &c->distro, 1, err);
}

void planner_commit_release(struct planner_commit *c)
{
	if (c->has_keys || c->keys_begun)
		planner_keys_release(&c->keys);
	if (c->has_graph)
		planner_graph_release(&c->graph);
	planner_index_release(&c->index);
	planner_distro_release(&c->distro);
	memset(c, 0, sizeof(*c));
}

long planner_commit_find_spec(const struct planner_commit *c, const char *name)
{
	for (size_t i = 0; i < c->index.nspecs; i++) {
		char *id = planner_spec_id(&c->index.specs[i]);
		int same = !strcmp(id, name);
		free(id);
		if (same)
			return (long)i;
	}
	return -1;
}
