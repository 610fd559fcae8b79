#include "imager/configsummary.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fs.h"
#include "imager/imageconfig.h"
#include "state/kv.h"

#define NS "image-config-summaries-v1"

/* The files a config's reading read outside the configs directory, with
 * their blob ids ("" for none there): what else a record depends on. */
struct outside {
	struct sy_strv paths, oids;
	int unknown; /* 1 when one could not be looked up: the record is not kept */
};

struct read_arg {
	struct gitwatch_repo *repo;
	const char *commit, *dir;
	struct outside *outside;
};

/* 1 when path is below dir/ without a "." or ".." step (so that the tree id
 * of dir covers it). */
static int under_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && path[n] == '/' && !strstr(path + n, "/.") &&
	       !strstr(path + n, "//");
}

static void note_outside(struct read_arg *r, const char *path)
{
	char oid[GITWATCH_OID_HEX + 1];
	int rc = gitwatch_file_oid(r->repo, r->commit, path, oid, NULL);

	if (rc < 0)
		r->outside->unknown = 1;
	sy_strv_push(&r->outside->paths, path);
	sy_strv_push(&r->outside->oids, rc == 0 ? oid : "");
}

static int read_noting(void *arg, const char *path, char **data, size_t *len, struct sy_error *err)
{
	struct read_arg *r = arg;

	if (!under_dir(path, r->dir))
		note_outside(r, path);
	return gitwatch_read_file(r->repo, r->commit, path, data, len, err);
}

/* The paths whose change affects cfg (imager_configs_affected). */
static void watched_paths(const struct imager_config *cfg, struct sy_strv *w)
{
	const struct imager_system_config *s = &cfg->systems[0];

	sy_strv_push(w, cfg->path);
	for (size_t i = 0; i < cfg->package_lists.n; i++)
		sy_strv_push(w, cfg->package_lists.items[i]);
	for (size_t i = 0; i < s->nadditional_files; i++)
		sy_strv_push(w, s->additional_files[i].source);
	for (size_t i = 0; i < s->nusers; i++)
		for (size_t k = 0; k < s->users[i].ssh_pubkey_paths.n; k++)
			sy_strv_push(w, s->users[i].ssh_pubkey_paths.items[k]);
	for (size_t i = 0; i < s->npost_install_scripts; i++)
		sy_strv_push(w, s->post_install_scripts[i].path);
	for (size_t i = 0; i < s->nfinalize_image_scripts; i++)
		sy_strv_push(w, s->finalize_image_scripts[i].path);
}

/* Reads the config at path as imager_config_read does, into sum. */
static void summarize(struct read_arg *r, const char *path, struct imager_config_summary *sum)
{
	struct imager_config cfg;
	struct sy_error err = { { 0 } };
	char *json = NULL;

	memset(&cfg, 0, sizeof(cfg));
	sum->path = sy_xstrdup(path);
	if (read_noting(r, path, &json, NULL, &err) ||
	    imager_config_parse(path, json, read_noting, r, &cfg, &err) ||
	    imager_config_load_files(&cfg, read_noting, r, &err)) {
		sum->error = 1;
	} else {
		watched_paths(&cfg, &sum->watched);
		for (size_t i = 0; i < cfg.packages.n; i++)
			sy_strv_push(&sum->packages, cfg.packages.items[i]);
	}
	imager_config_release(&cfg);
	free(json);
}

int imager_config_list(struct gitwatch_repo *repo, const char *commit, const char *dir,
		       struct sy_strv *paths, struct sy_error *err)
{
	struct gitwatch_entries files;
	size_t prefix = strlen(dir) + 1;

	if (gitwatch_list_files(repo, commit, dir, &files, err))
		return -1;
	for (size_t i = 0; i < files.n; i++) {
		const char *path = files.items[i].path, *rest = path + prefix;
		size_t len = strlen(rest);
		if (!strchr(rest, '/') && len > 5 && !strcmp(rest + len - 5, ".json"))
			sy_strv_push(paths, path);
	}
	gitwatch_entries_release(&files);
	return 0;
}

/* ---- the record: varint counts and lengths, strings without NUL ---- */

static void put_str(struct sy_buf *b, const char *s)
{
	size_t n = strlen(s);

	sy_buf_add_varint(b, n);
	sy_buf_add(b, s, n);
}

static void put_strv(struct sy_buf *b, const struct sy_strv *v)
{
	sy_buf_add_varint(b, v->n);
	for (size_t i = 0; i < v->n; i++)
		put_str(b, v->items[i]);
}

static void encode(const struct outside *o, const struct imager_config_summaries *s,
		   struct sy_buf *b)
{
	put_strv(b, &o->paths);
	put_strv(b, &o->oids);
	sy_buf_add_varint(b, s->n);
	for (size_t i = 0; i < s->n; i++) {
		put_str(b, s->items[i].path);
		sy_buf_add_varint(b, (uint64_t)s->items[i].error);
		put_strv(b, &s->items[i].watched);
		put_strv(b, &s->items[i].packages);
	}
}

/* Returns a string read from r (malloc'ed), or NULL with r->bad set. */
static char *get_str(struct sy_bufreader *r)
{
	uint64_t n = sy_bufreader_varint(r);

	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		return NULL;
	}
	char *s = sy_xcalloc(n + 1, 1);
	memcpy(s, r->p, n);
	r->p += n;
	return s;
}

static void get_strv(struct sy_bufreader *r, struct sy_strv *v)
{
	uint64_t n = sy_bufreader_varint(r);

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		char *s = get_str(r);
		if (s)
			sy_strv_push(v, s);
		free(s);
	}
}

static int decode(const void *data, size_t len, struct outside *o,
		  struct imager_config_summaries *s)
{
	struct sy_bufreader r = { data, (const unsigned char *)data + len, 0 };
	uint64_t n;

	get_strv(&r, &o->paths);
	get_strv(&r, &o->oids);
	n = sy_bufreader_varint(&r);
	if (r.bad || n > len || o->paths.n != o->oids.n)
		return -1;
	s->items = sy_xcalloc(n + 1, sizeof(*s->items));
	for (; s->n < n && !r.bad; s->n++) {
		struct imager_config_summary *c = &s->items[s->n];

		c->path = get_str(&r);
		c->error = sy_bufreader_varint(&r) != 0;
		get_strv(&r, &c->watched);
		get_strv(&r, &c->packages);
	}
	return r.bad || r.p != r.end ? -1 : 0;
}

/* 1 when every file read outside the directory still has its blob id. */
static int outside_unchanged(struct gitwatch_repo *repo, const char *commit,
			     const struct outside *o)
{
	for (size_t i = 0; i < o->paths.n; i++) {
		char oid[GITWATCH_OID_HEX + 1];
		int rc = gitwatch_file_oid(repo, commit, o->paths.items[i], oid, NULL);

		if (rc < 0 || strcmp(rc == 0 ? oid : "", o->oids.items[i]))
			return 0;
	}
	return 1;
}

struct use_arg {
	struct gitwatch_repo *repo;
	const char *commit;
	struct imager_config_summaries *out;
};

static int use_record(const void *data, size_t len, void *arg)
{
	struct use_arg *u = arg;
	struct outside o = { SY_STRV_INIT, SY_STRV_INIT, 0 };
	int ok = !decode(data, len, &o, u->out) && outside_unchanged(u->repo, u->commit, &o);

	if (!ok)
		imager_config_summaries_release(u->out);
	sy_strv_release(&o.paths);
	sy_strv_release(&o.oids);
	return ok ? 1 : 2;
}

static void outside_release(struct outside *o)
{
	sy_strv_release(&o->paths);
	sy_strv_release(&o->oids);
}

int imager_config_summaries_load(struct gitwatch_repo *repo, const char *commit,
				 const char *configs_dir, const char *db_path,
				 struct imager_config_summaries *out, struct sy_error *err)
{
	char tree[GITWATCH_OID_HEX + 1], *key = NULL;
	struct outside o = { SY_STRV_INIT, SY_STRV_INIT, 0 };
	struct read_arg r = { repo, commit, configs_dir, &o };
	struct sy_strv paths = SY_STRV_INIT;
	struct use_arg u = { repo, commit, out };

	memset(out, 0, sizeof(*out));
	/* No tree (no directory, or a file): no record, the listing says why. */
	if (db_path && !gitwatch_tree_id(repo, commit, configs_dir, tree, NULL)) {
		key = sy_xasprintf("%s %s", tree, configs_dir);
		if (sy_exists(db_path) && state_kv_use(db_path, NS, key, use_record, &u, NULL) == 1) {
			free(key);
			return 0;
		}
	}
	if (imager_config_list(repo, commit, configs_dir, &paths, err)) {
		free(key);
		return -1;
	}
	out->items = sy_xcalloc(paths.n + 1, sizeof(*out->items));
	for (; out->n < paths.n; out->n++)
		summarize(&r, paths.items[out->n], &out->items[out->n]);
	if (key && !o.unknown) {
		struct sy_buf b = SY_BUF_INIT;

		encode(&o, out, &b);
		/* A cache: a record not written is read again next time. */
		state_kv_put(db_path, NS, key, b.data, b.len, NULL);
		sy_buf_release(&b);
	}
	outside_release(&o);
	sy_strv_release(&paths);
	free(key);
	return 0;
}

void imager_config_summaries_release(struct imager_config_summaries *out)
{
	for (size_t i = 0; i < out->n; i++) {
		free(out->items[i].path);
		sy_strv_release(&out->items[i].watched);
		sy_strv_release(&out->items[i].packages);
	}
	free(out->items);
	memset(out, 0, sizeof(*out));
}
