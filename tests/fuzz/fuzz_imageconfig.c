/* Image configs: imager_config_parse (imager/imageconfig.h) on the input
 * split at lines "--- " (the delimiter, alone on its line): the first part
 * is the config at toolkit/imageconfigs/fuzz.json, the k-th package list
 * the parser reads gets part k+1 (the read fails when there is none).
 * Checks that a config parsed has a name, at least one package, no package
 * twice, and artifact names that are plain file names. */
#include "fuzz.h"

#include "imager/imageconfig.h"

#define FUZZ_IMAGE_PATH "toolkit/imageconfigs/fuzz.json"
#define FUZZ_IMAGE_SPLIT "\n--- \n"
#define FUZZ_IMAGE_MAX_PARTS 16

struct parts {
	char *text[FUZZ_IMAGE_MAX_PARTS];
	size_t n;
	size_t reads; /* package lists read so far */
};

/* 1 when path is a normalised repository path: relative, no empty, "."
 * or ".." component ("" is the top). */
static int normalised(const char *path)
{
	if (!path[0])
		return 1;
	for (const char *c = path;; c++) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
			return 0;
		c += n;
		if (!*c)
			return 1;
	}
}

/* imager_read_fn serving the next part. */
static int read_part(void *arg, const char *path, char **data, size_t *len,
		     struct sy_error *err)
{
	struct parts *p = arg;

	if (!normalised(path))
		abort();
	if (++p->reads >= p->n)
		return sy_error_set(err, "%s: no such file", path);
	*data = sy_xstrdup(p->text[p->reads]);
	if (len)
		*len = strlen(*data);
	return 0;
}

static void split(const uint8_t *data, size_t size, struct parts *p)
{
	char *all = fuzz_string(data, size), *at = all, *next;
	size_t seplen = strlen(FUZZ_IMAGE_SPLIT);

	memset(p, 0, sizeof(*p));
	while (p->n < FUZZ_IMAGE_MAX_PARTS - 1 && (next = strstr(at, FUZZ_IMAGE_SPLIT))) {
		p->text[p->n++] = sy_xstrndup(at, (size_t)(next - at));
		at = next + seplen;
	}
	p->text[p->n++] = sy_xstrdup(at);
	free(all);
}

static void check_config(const struct imager_config *cfg)
{
	if (!cfg->name || strcmp(cfg->name, "fuzz") || !cfg->packages.n)
		abort();
	for (size_t i = 0; i < cfg->packages.n; i++)
		for (size_t j = i + 1; j < cfg->packages.n; j++)
			if (!strcmp(cfg->packages.items[i], cfg->packages.items[j]))
				abort();
	for (size_t i = 0; i < cfg->nartifacts; i++) {
		const char *name = cfg->artifacts[i].name;
		if (!name[0] || name[0] == '.' || strchr(name, '/'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	struct parts p;

	split(data, size, &p);
	if (imager_config_parse(FUZZ_IMAGE_PATH, p.text[0], read_part, &p, &cfg, &err) == 0) {
		check_config(&cfg);
		imager_config_release(&cfg);
	} else if (!err.msg[0]) {
		abort();
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.text[i]);
	return 0;
}
