#include "repo-publish/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/artifact.h"
#include "common/fs.h"
#include "common/util.h"
#include "repo-publish/publish.h"
#include "repo-publish/retention.h"
#include "repo-publish/sign.h"
#include "state/layout.h"

/* The channel as it is while a publication runs. */
struct channel {
	const struct repo_publish_request *req;
	char *repos_dir;          /* <state>/repos */
	char *current;            /* its current snapshot, or NULL */
	char *kept;               /* the snapshot whose packages specs without a
				   * build keep: current, else the base
				   * channel's current, or NULL */
	struct sy_strv published; /* the binary RPMs of kept */
	struct repo_signer *signer; /* req->sign_key opened, or NULL */
};

size_t repo_publish_rpms_of(const struct sy_strv *published, const struct planner_spec *spec,
			    struct sy_strv *set)
{
	size_t found = 0;

	for (size_t k = 0; published && k < published->n; k++) {
		const char *file = sy_base_name(published->items[k]);
		for (size_t i = 0; i < spec->npackages; i++) {
			const char *name = spec->packages[i].name;
			size_t len = strlen(name);
			/* name-VERSION-RELEASE.arch.rpm: two dash-separated fields follow. */
			const char *rest = !strncmp(file, name, len) && file[len] == '-' ? file + len + 1 : NULL;
			if (rest && strchr(rest, '-') && !strchr(strchr(rest, '-') + 1, '-')) {
				if (set)
					sy_strv_push(set, published->items[k]);
				found++;
				break;
			}
		}
	}
	return found;
}

/* Appends the SRPMs under the kept snapshot's SRPMS/ to set: every one
 * when spec is NULL, else the source package of spec. */
static void kept_srpms(const struct channel *ch, const struct planner_spec *spec,
		       struct sy_strv *set)
{
	char *dir = ch->kept ? sy_xasprintf("%s/SRPMS", ch->kept) : NULL;
	struct sy_strv names = SY_STRV_INIT;
	size_t len = spec ? strlen(spec->name) : 0;

	if (dir)
		sy_list_dir(dir, &names);
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.items[i], *rest = name + len + 1;
		if (!strstr(name, ".src.rpm"))
			continue;
		if (spec && (strncmp(name, spec->name, len) || name[len] != '-' || !strchr(rest, '-') ||
			     strchr(strchr(rest, '-') + 1, '-')))
			continue;
		sy_strv_pushf(set, "%s/%s", dir, name);
	}
	sy_strv_release(&names);
	free(dir);
}

static size_t find_root(size_t *parent, size_t e)
{
	while (parent[e] != e)
		e = parent[e] = parent[parent[e]];
	return e;
}

/* Marks held[spec] for the specs built in this run that must not be
 * published yet: those connected, through build roots within the rebuild
 * set, to a spec that failed or was blocked. They stay as published until
 * the whole group builds. Returns how many. */
static size_t hold_failed_groups(const struct repo_publish_request *req, unsigned char *held)
{
	const struct planner_plan *plan = req->plan;
	const struct planner_commit *c = req->commit;
	size_t n = plan->n, *parent = sy_xcalloc(n + 1, sizeof(size_t)), *slot, count = 0;
	unsigned char *bad = sy_xcalloc(n + 1, 1);

	slot = sy_xmalloc((c->index.nspecs + 1) * sizeof(size_t));
	for (size_t i = 0; i < c->index.nspecs; i++)
		slot[i] = SIZE_MAX;
	for (size_t e = 0; e < n; e++) {
		parent[e] = e;
		slot[plan->entries[e].spec] = e;
	}
	for (size_t e = 0; e < n; e++) {
		const struct planner_graph_node *node = &c->graph.nodes[plan->entries[e].spec];
		for (size_t k = 0; k < node->nroot_specs; k++)
			if (slot[node->root_specs[k]] != SIZE_MAX)
				parent[find_root(parent, e)] = find_root(parent, slot[node->root_specs[k]]);
	}
	for (size_t e = 0; e < n; e++)
		if (req->results[e].state == BUILDER_JOB_FAILED ||
		    req->results[e].state == BUILDER_JOB_BLOCKED)
			bad[find_root(parent, e)] = 1;
	for (size_t e = 0; e < n; e++) {
		enum builder_job_state st = req->results[e].state;
		if (bad[find_root(parent, e)] && (st == BUILDER_JOB_BUILT || st == BUILDER_JOB_REUSED)) {
			held[plan->entries[e].spec] = 1;
			count++;
		}
	}
	free(slot);
	free(bad);
	free(parent);
	return count;
}

/* Appends what the kept snapshot has of spec (its RPMs and SRPM) to set. */
static void keep_published(const struct channel *ch, const struct planner_spec *spec,
			   struct sy_strv *set)
{
	if (repo_publish_rpms_of(&ch->published, spec, set))
		kept_srpms(ch, spec, set);
}

/* The package set of the next snapshot: for every spec of the commit, the
 * artifact of its key, else (it failed, or its group did) what the channel
 * has. Returns the number of specs held back. */
/* 1 when the request publishes spec. */
static int wanted(const struct repo_publish_request *req, const struct planner_spec *spec)
{
	char *id;
	int found = 0;

	if (!req->only_specs)
		return 1;
	id = planner_spec_id(spec);
	for (size_t i = 0; !found && req->only_specs[i]; i++)
		found = !strcmp(req->only_specs[i], id);
	free(id);
	return found;
}

static size_t collect_package_set(const struct channel *ch, struct sy_strv *set)
{
	const struct repo_publish_request *req = ch->req;
	const struct planner_index *idx = &req->commit->index;
	unsigned char *held = sy_xcalloc(idx->nspecs + 1, 1);
	size_t nheld = req->plan && req->results ? hold_failed_groups(req, held) : 0;

	for (size_t i = 0; i < idx->nspecs; i++) {
		if (idx->specs[i].excluded || idx->specs[i].error || !wanted(req, &idx->specs[i]))
			continue;
		if (held[i]) {
			keep_published(ch, &idx->specs[i], set);
			continue;
		}
		char *dir = state_artifact_dir(req->state, req->commit->keys.keys[i]), *srpm = NULL;
		struct sy_strv rpms = SY_STRV_INIT;
		if (builder_artifact_lookup(dir, &rpms, &srpm)) {
			for (size_t k = 0; k < rpms.n; k++)
				sy_strv_push(set, rpms.items[k]);
			if (srpm)
				sy_strv_push(set, srpm);
		} else if (req->worker_rpms && idx->specs[i].npackages &&
			   repo_publish_rpms_of(req->worker_rpms, &idx->specs[i], NULL) ==
				   idx->specs[i].npackages) {
			repo_publish_rpms_of(req->worker_rpms, &idx->specs[i], set);
		} else {
			keep_published(ch, &idx->specs[i], set);
		}
		sy_strv_release(&rpms);
		free(srpm);
		free(dir);
	}
	free(held);
	return nheld;
}

/* Identities "name device inode" of files: a snapshot holds hard links of
 * the artifacts, so a rebuild with the same NEVRA still differs. */
static void identities(const struct sy_strv *files, struct sy_strv *out)
{
	struct stat st;

	for (size_t i = 0; i < files->n; i++)
		if (stat(files->items[i], &st) == 0)
			sy_strv_pushf(out, "%s %lu %lu", sy_base_name(files->items[i]),
				      (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	sy_strv_sort_unique(out);
}

/* Returns 1 when set holds exactly the files of the channel's own current
 * snapshot (never when it has none: a base channel's is not its own). */
static int same_as_current(const struct channel *ch, const struct sy_strv *set)
{
	struct sy_strv current = SY_STRV_INIT, a = SY_STRV_INIT, b = SY_STRV_INIT;
	int same;

	if (!ch->current)
		return 0;
	for (size_t k = 0; k < ch->published.n; k++)
		sy_strv_push(&current, ch->published.items[k]);
	kept_srpms(ch, NULL, &current);
	identities(set, &a);
	identities(&current, &b);
	same = a.n == b.n;
	for (size_t i = 0; same && i < a.n; i++)
		same = !strcmp(a.items[i], b.items[i]);
	sy_strv_release(&current);
	sy_strv_release(&a);
	sy_strv_release(&b);
	return same;
}

static int publish_locked(struct channel *ch, struct repo_publish_result *res,
			  struct sy_error *err)
{
	const struct repo_publish_request *req = ch->req;
	struct sy_strv set = SY_STRV_INIT;
	int rc = 0;

	/* Another pipeline may have published since this one started. */
	ch->current = repo_publish_current_path(ch->repos_dir, req->channel);
	if (ch->current)
		ch->kept = sy_xstrdup(ch->current);
	else if (req->base_channel)
		ch->kept = repo_publish_current_path(ch->repos_dir, req->base_channel);
	if (repo_publish_list_snapshot(ch->kept, &ch->published, err))
		return -1;
	res->held = collect_package_set(ch, &set);
	res->packages = set.n;
	if (ch->signer && (rc = repo_signer_sign_packages(ch->signer, req->state, &set, err)))
		sy_error_prefix(err, "publish %s", req->channel);
	if (rc == 0 && set.n && !same_as_current(ch, &set)) {
		struct repo_publish_options opts = {
			.previous = ch->kept,
			.sqlite = req->commit->distro.publish_sqlite,
			.signer = ch->signer,
		};
		rc = repo_publish_snapshot_with(ch->repos_dir, req->channel,
						(const char *const *)set.items, &opts,
						&res->snapshot, &res->stats, err);
	}
	if (rc == 0) {
		const char *current = res->snapshot ? res->snapshot : ch->current;
		res->current = current ? sy_xstrdup(current) : NULL;
		struct state_published rec = {
			.commit = (char *)req->commit->oid, .snapshot = res->current,
			.worker_root = (char *)req->worker_root,
		};
		if (req->worker_packages)
			rec.worker_packages = *req->worker_packages;
		rc = state_published_write(req->state, req->channel, &rec, err);
	}
	sy_strv_release(&set);
	return rc;
}

int repo_publish_commit(const struct repo_publish_request *req, struct repo_publish_result *res,
			struct sy_error *err)
{
	struct channel ch = { .req = req, .repos_dir = state_repos_dir(req->state) };
	int lock, rc = -1;

	memset(res, 0, sizeof(*res));
	if (req->sign_key && repo_signer_open(req->sign_key, req->state, &ch.signer, err)) {
		free(ch.repos_dir);
		return sy_error_prefix(err, "publish %s", req->channel);
	}
	lock = repo_publish_lock_channel(req->state, req->channel, 1, err);
	if (lock >= 0) {
		rc = publish_locked(&ch, res, err);
		close(lock);
	}
	if (rc)
		repo_publish_result_release(res);
	repo_signer_close(ch.signer);
	sy_strv_release(&ch.published);
	free(ch.kept);
	free(ch.current);
	free(ch.repos_dir);
	return rc;
}

void repo_publish_result_release(struct repo_publish_result *res)
{
	free(res->snapshot);
	free(res->current);
	memset(res, 0, sizeof(*res));
}
