#include "builder/index.h"

#include <stdlib.h>
#include <string.h>

static int is_spec_path(const char *path, const char *tree)
{
	size_t n = strlen(tree);
	const char *rest = path + n + 1, *slash;

	if (strncmp(path, tree, n) || path[n] != '/')
		return 0;
	slash = strchr(rest, '/');
	if (!slash || strchr(slash + 1, '/'))
		return 0;
	size_t len = strlen(slash + 1);
	return len > 5 && !strcmp(slash + 1 + len - 5, ".spec");
}

static void collect_specs(const struct gitwatch_entries *files, const char *tree,
			  struct gitwatch_entries *specs)
{
	for (size_t i = 0; i < files->n; i++) {
		if (!is_spec_path(files->items[i].path, tree))
			continue;
		specs->items = sy_xrealloc(specs->items, (specs->n + 1) * sizeof(*specs->items));
		specs->items[specs->n] = files->items[i];
		specs->items[specs->n].path = sy_xstrdup(files->items[i].path);
		specs->n++;
	}
}

static int list_spec_files(struct gitwatch_repo *repo, const char *commit,
			   const char *const *trees, struct gitwatch_entries *specs,
			   struct sy_error *err)
{
	static const char *const default_trees[] = { "SPECS", NULL };

	specs->items = NULL;
	specs->n = 0;
	for (const char *const *t = trees ? trees : default_trees; *t; t++) {
		struct gitwatch_entries files;
		if (gitwatch_list_files(repo, commit, *t, &files, err)) {
			gitwatch_entries_release(specs);
			return -1;
		}
		collect_specs(&files, *t, specs);
		gitwatch_entries_release(&files);
	}
	return 0;
}

static int read_inputs(struct gitwatch_repo *repo, const struct gitwatch_entries *specs,
		       struct builder_spec_input *inputs, char **texts, struct sy_error *err)
{
	for (size_t i = 0; i < specs->n; i++) {
		size_t len;
		if (gitwatch_read_blob(repo, specs->items[i].oid, &texts[i], &len, err))
			return -1;
		inputs[i] = (struct builder_spec_input){ specs->items[i].path, texts[i], len };
	}
	return 0;
}

int builder_index_load(struct gitwatch_repo *repo, const char *commit,
		       const struct builder_macro_settings *settings, const char *workdir, int jobs,
		       struct builder_index *index, struct sy_error *err)
{
	struct gitwatch_entries specs;
	int rc = -1;

	memset(index, 0, sizeof(*index));
	if (gitwatch_resolve(repo, commit, index->commit, err))
		return -1;
	if (builder_macro_ctx_load(repo, index->commit, settings, workdir, &index->macros, err))
		return -1;
	if (list_spec_files(repo, index->commit, settings->spec_trees, &specs, err))
		return -1;
	struct builder_spec_input *inputs = sy_xcalloc(specs.n + 1, sizeof(*inputs));
	char **texts = sy_xcalloc(specs.n + 1, sizeof(char *));
	index->specs = sy_xcalloc(specs.n + 1, sizeof(*index->specs));
	index->spec_blobs = sy_xcalloc(specs.n + 1, sizeof(char *));
	index->nspecs = specs.n;
	for (size_t i = 0; i < specs.n; i++)
		index->spec_blobs[i] = sy_xstrdup(specs.items[i].oid);
	if (read_inputs(repo, &specs, inputs, texts, err) == 0 &&
	    builder_specs_read(inputs, specs.n, &index->macros, jobs, index->specs, err) == 0)
		rc = 0;
	for (size_t i = 0; i < specs.n; i++)
		free(texts[i]);
	free(texts);
	free(inputs);
	gitwatch_entries_release(&specs);
	return rc;
}

long builder_index_find(const struct builder_index *index, const char *name)
{
	for (size_t i = 0; i < index->nspecs; i++)
		if (index->specs[i].name && !strcmp(index->specs[i].name, name))
			return (long)i;
	return -1;
}

void builder_index_release(struct builder_index *index)
{
	for (size_t i = 0; i < index->nspecs; i++) {
		builder_spec_release(&index->specs[i]);
		free(index->spec_blobs[i]);
	}
	free(index->specs);
	free(index->spec_blobs);
	builder_macro_ctx_release(&index->macros);
	memset(index, 0, sizeof(*index));
}
