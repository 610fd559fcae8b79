/* The publication stage of a pipeline: which packages the new snapshot of
 * the channel holds, whether it differs from the current one, and the
 * record of the commit it was published from. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/artifact.h"
#include "builder/artifact.h"
#include "common/fs.h"
#include "common/log.h"
#include "repo-publish/publish.h"
#include "pipeline/pipeline-private.h"

/* published.json of a channel: the commit it was last published from. */
static char *published_record_path(const struct pipeline *p)
{
	return sy_xasprintf("%s/%s/published.json", p->repos_dir, p->channel);
}

char *pipeline_read_published_commit(const struct pipeline *p)
{
	char *path = published_record_path(p), *commit = NULL;
	json_t *doc = json_load_file(path, 0, NULL);
	const char *c = doc ? json_string_value(json_object_get(doc, "commit")) : NULL;

	if (c)
		commit = sy_xstrdup(c);
	json_decref(doc);
	free(path);
	return commit;
}

static int write_published_record(struct pipeline *p, const char *snapshot, struct sy_error *err)
{
	char *path = published_record_path(p);
	json_t *doc = json_pack("{s:s, s:s?}", "commit", p->head.oid, "snapshot", snapshot);
	char *text = json_dumps(doc, JSON_INDENT(2));
	char *dir = sy_xasprintf("%s/%s", p->repos_dir, p->channel);
	int rc = sy_mkdir_p(dir, 0755, err) ||
		 sy_write_file_atomic(path, text, strlen(text), 0644, err) ? -1 : 0;

	free(dir);
	free(text);
	json_decref(doc);
	free(path);
	return rc;
}

/* Appends the published RPMs of spec's packages (matched by name: the
 * published NEVRA may be older than the spec) to set; returns how many. */
size_t pipeline_published_of(const struct pipeline *p, const struct planner_spec *spec,
			   struct sy_strv *set)
{
	size_t found = 0;

	for (size_t k = 0; k < p->published.n; k++) {
		const char *file = pipeline_basename(p->published.items[k]);
		for (size_t i = 0; i < spec->npackages; i++) {
			const char *name = spec->packages[i].name;
			size_t len = strlen(name);
			/* name-VERSION-RELEASE.arch.rpm: two dash-separated fields follow. */
			const char *rest = !strncmp(file, name, len) && file[len] == '-' ? file + len + 1 : NULL;
			if (rest && strchr(rest, '-') && !strchr(strchr(rest, '-') + 1, '-')) {
				if (set)
					sy_strv_push(set, p->published.items[k]);
				found++;
				break;
			}
		}
	}
	return found;
}

/* The source package of spec in the current snapshot (SRPMS/), if any. */
static void published_srpm(const struct pipeline *p, const struct planner_spec *spec,
			   struct sy_strv *set)
{
	char *dir = p->published_dir ? sy_xasprintf("%s/SRPMS", p->published_dir) : NULL;
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	size_t len = strlen(spec->name);

	while (d && (de = readdir(d))) {
		const char *rest = de->d_name + len + 1;
		if (strncmp(de->d_name, spec->name, len) || de->d_name[len] != '-' ||
		    !strstr(rest, ".src.rpm") || !strchr(rest, '-') ||
		    strchr(strchr(rest, '-') + 1, '-'))
			continue;
		sy_strv_pushf(set, "%s/%s", dir, de->d_name);
	}
	if (d)
		closedir(d);
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
 * set, to a spec that failed or was blocked. Publishing them alone would
 * pair, say, a library's new soname with an old program that needs the old
 * one; they stay as published until the whole group builds. */
static size_t hold_failed_groups(const struct pipeline *p, unsigned char *held)
{
	const struct planner_plan *plan = &p->plan;
	size_t n = plan->n, *parent = sy_xcalloc(n + 1, sizeof(size_t)), *slot, count = 0;
	unsigned char *bad = sy_xcalloc(n + 1, 1);

	slot = sy_xmalloc((p->head.index.nspecs + 1) * sizeof(size_t));
	for (size_t i = 0; i < p->head.index.nspecs; i++)
		slot[i] = SIZE_MAX;
	for (size_t e = 0; e < n; e++) {
		parent[e] = e;
		slot[plan->entries[e].spec] = e;
	}
	for (size_t e = 0; e < n; e++) {
		const struct planner_graph_node *node = &p->head.graph.nodes[plan->entries[e].spec];
		for (size_t k = 0; k < node->nroot_specs; k++)
			if (slot[node->root_specs[k]] != SIZE_MAX)
				parent[find_root(parent, e)] = find_root(parent, slot[node->root_specs[k]]);
	}
	for (size_t e = 0; e < n; e++)
		if (p->results[e].state == BUILDER_JOB_FAILED || p->results[e].state == BUILDER_JOB_BLOCKED)
			bad[find_root(parent, e)] = 1;
	for (size_t e = 0; e < n; e++) {
		enum builder_job_state st = p->results[e].state;
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

/* The package set of the new snapshot: for every spec of the head, the
 * artifact of its key, else (it failed, or its group did) what was published
 * before. */
static void collect_package_set(const struct pipeline *p, struct sy_strv *set)
{
	const struct planner_index *idx = &p->head.index;
	unsigned char *held = sy_xcalloc(idx->nspecs + 1, 1);
	size_t nheld = p->results ? hold_failed_groups(p, held) : 0;

	if (nheld)
		sy_log_warn("holding back %zu built specs whose dependency group has failures", nheld);
	for (size_t i = 0; i < idx->nspecs; i++) {
		if (idx->specs[i].excluded || idx->specs[i].error)
			continue;
		if (held[i]) {
			if (pipeline_published_of(p, &idx->specs[i], set))
				published_srpm(p, &idx->specs[i], set);
			continue;
		}
		char *dir = sy_xasprintf("%s/artifacts/%s", p->opts->state_dir, p->head.keys.keys[i]);
		struct builder_job_result r = { 0 };
		if (builder_artifact_lookup(dir, &r.rpms, &r.srpm)) {
			for (size_t k = 0; k < r.rpms.n; k++)
				sy_strv_push(set, r.rpms.items[k]);
			if (r.srpm)
				sy_strv_push(set, r.srpm);
		} else if (pipeline_published_of(p, &idx->specs[i], set)) {
			published_srpm(p, &idx->specs[i], set);
		}
		builder_job_result_release(&r);
		free(dir);
	}
	free(held);
}

/* Identities "name device inode" of files: a snapshot holds hard links of
 * the artifacts, so a rebuild with the same NEVRA still differs. */
static void identities(const struct sy_strv *files, struct sy_strv *out)
{
	struct stat st;

	for (size_t i = 0; i < files->n; i++)
		if (stat(files->items[i], &st) == 0)
			sy_strv_pushf(out, "%s %lu %lu", pipeline_basename(files->items[i]),
				      (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	sy_strv_sort_unique(out);
}

/* Returns 1 when set holds exactly the files of the current snapshot. */
static int same_as_published(const struct pipeline *p, const struct sy_strv *set)
{
	struct sy_strv current = SY_STRV_INIT, a = SY_STRV_INIT, b = SY_STRV_INIT;
	int same;

	for (size_t k = 0; k < p->published.n; k++)
		sy_strv_push(&current, p->published.items[k]);
	if (p->published_dir) {
		char *srpms = sy_xasprintf("%s/SRPMS", p->published_dir);
		DIR *d = opendir(srpms);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strstr(de->d_name, ".src.rpm"))
				sy_strv_pushf(&current, "%s/%s", srpms, de->d_name);
		if (d)
			closedir(d);
		free(srpms);
	}
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

/* Serialises publication of one channel between pipelines (a blocking
 * flock on <repos>/<channel>.lock, released when fd is closed). */
static int lock_channel(const struct pipeline *p, struct sy_error *err)
{
	char *path = sy_xasprintf("%s/%s.lock", p->repos_dir, p->channel);
	int fd = -1;

	if (sy_mkdir_p(p->repos_dir, 0755, err) == 0) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || flock(fd, LOCK_EX) < 0) {
			sy_error_set(err, "%s: cannot lock: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
	}
	free(path);
	return fd;
}

int pipeline_publish_stage(struct pipeline *p, struct sy_error *err)
{
	struct sy_strv set = SY_STRV_INIT;
	char *snapshot = NULL;
	int lock = lock_channel(p, err), rc = 0;

	if (lock < 0)
		return -1;
	/* Another pipeline may have published while this one built. */
	sy_strv_release(&p->published);
	free(p->published_dir);
	p->published_dir = repo_publish_current_path(p->repos_dir, p->channel);
	if (repo_publish_list_current(p->repos_dir, p->channel, &p->published, err)) {
		close(lock);
		return -1;
	}

	collect_package_set(p, &set);
	if (!set.n || same_as_published(p, &set)) {
		sy_log_info("repository %s unchanged (%zu packages)", p->channel, p->published.n);
	} else {
		rc = repo_publish_snapshot(p->repos_dir, p->channel, (const char *const *)set.items,
					   &snapshot, err);
		if (rc == 0)
			sy_log_info("published %s: %s", p->channel, snapshot);
	}
	if (rc == 0)
		rc = write_published_record(p, snapshot ? snapshot : p->published_dir, err);
	if (rc == 0)
		rc = pipeline_alias_learned_keys(p, snapshot, err);
	close(lock);
	free(snapshot);
	sy_strv_release(&set);
	return rc;
}

