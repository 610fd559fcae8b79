#include "cli/specs_cmd.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/worker.h"
#include "cli/cli.h"
#include "planner/commit.h"
#include "common/log.h"
#include "gitwatch/repo.h"
#include "repo-publish/publish.h"

const char cli_specs_usage[] =
	"usage: shipyard specs --repo DIR [--rev REV] [--format text|json] [--state DIR]\n"
	"\n"
	"Reads every spec of the spec trees at one commit as planning does (the\n"
	"distribution's macro context, the worker root's macro files, the version\n"
	"macros, %_sourcedir the spec's directory) and prints what it found: the\n"
	"toolkit's specs.json, in shipyard's words.\n"
	"\n"
	"  --repo DIR        distribution git repository (Azure Linux layout)\n"
	"  --rev REV         commit to read (default HEAD)\n"
	"  --format FORMAT   text (default): \"<path> <name>-<[epoch:]version-release>\"\n"
	"                    per spec; json: {\"commit\", \"specs\": [{\"path\", \"name\",\n"
	"                    \"epoch\", \"version\", \"release\", \"packages\": [{\"name\",\n"
	"                    \"evr\", \"arch\", \"provides\", \"requires\"}], \"buildrequires\",\n"
	"                    \"sources\", \"patches\", \"exclusive_arch\", \"exclude_arch\"}]},\n"
	"                    a dependency {\"n\": name, \"f\": rpm's comparison bits, \"v\": evr}\n"
	"  --state DIR       state directory: its spec cache (default ./.shipyard)\n"
	"  --arch ARCH       target arch (default x86_64)\n"
	"  --jobs N          parallel spec readers (default: cores)\n"
	"  --worker-manifest FILE  a worker root of the distribution's packages\n"
	"                    (worker.kind = rpm): parse-time rpm queries read its\n"
	"                    packages' headers (default: an rpmdb of the package\n"
	"                    manifest's names and versions)\n"
	"\n"
	"A spec that does not parse is printed with its error and named on stderr.\n"
	"Exit status: 0 every spec parsed, 1 one did not, 2 usage or set-up error.\n";

struct specs_opts {
	const char *repo_path, *rev, *state_dir, *arch, *worker_manifest;
	int jobs, json;
};

enum { OPT_REV = CLI_OPT_OWN, OPT_FORMAT, OPT_WORKER };

static const struct option specs_options[] = {
	CLI_REPOSITORY_OPTIONS,
	{ "rev", required_argument, NULL, OPT_REV },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "worker-manifest", required_argument, NULL, OPT_WORKER },
	{ NULL, 0, NULL, 0 },
};

/* Returns -1 on a usage error, 1 when help was printed, 0 otherwise. */
static int parse_options(int argc, char **argv, struct specs_opts *o)
{
	int c;

	*o = (struct specs_opts){ .rev = "HEAD", .state_dir = ".shipyard" };
	optind = 1;
	while ((c = getopt_long(argc, argv, "", specs_options, NULL)) != -1) {
		switch (c) {
		case CLI_OPT_REPO: o->repo_path = optarg; break;
		case OPT_REV: o->rev = optarg; break;
		case OPT_WORKER: o->worker_manifest = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return cli_usage_error(cli_specs_usage, "--format must be text or json"), -1;
			o->json = !strcmp(optarg, "json");
			break;
		case CLI_OPT_STATE: o->state_dir = optarg; break;
		case CLI_OPT_ARCH: o->arch = optarg; break;
		case CLI_OPT_JOBS: o->jobs = atoi(optarg); break;
		case CLI_OPT_HELP: fputs(cli_specs_usage, stdout); return 1;
		default: fputs(cli_specs_usage, stderr); return -1;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli_specs_usage, "unexpected argument"), -1;
	if (!o->repo_path)
		return cli_usage_error(cli_specs_usage, "--repo is required"), -1;
	return 0;
}

static void print_text(const struct planner_spec *s)
{
	if (s->error)
		printf("%s error: %s\n", s->path, s->error);
	else
		printf("%s %s-%s%s%s-%s\n", s->path, s->name, s->epoch ? s->epoch : "",
		       s->epoch ? ":" : "", s->version, s->release);
}

static int print_json(const struct planner_commit *c)
{
	json_t *specs = json_array();
	int rc;

	for (size_t i = 0; i < c->index.nspecs; i++) {
		char *text = planner_spec_to_json(&c->index.specs[i]);
		json_t *o = json_loads(text, 0, NULL);

		free(text);
		if (!o)
			o = json_object();
		json_object_set_new(o, "path", json_string(c->index.specs[i].path));
		json_object_del(o, "version_refs");
		json_array_append_new(specs, o);
	}
	json_t *doc = json_pack("{s:s, s:o}", "commit", c->oid, "specs", specs);

	rc = json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	json_decref(doc);
	return rc;
}

/* Reads and resolves an rpm worker manifest into m and its RPM files into
 * rpms (a debootstrap manifest leaves rpms empty). */
static int read_worker(const struct specs_opts *o, struct builder_worker_manifest *m,
		       struct sy_strv *rpms, struct sy_error *err)
{
	char *downloads = sy_xasprintf("%s/worker/repos", o->state_dir);
	const struct builder_worker_sources src = {
		repo_publish_channel_dir, (void *)o->state_dir, downloads,
	};
	int rc = builder_worker_manifest_read(o->worker_manifest, m, err) ||
		 builder_worker_resolve(m, o->worker_manifest, o->arch, &src, err);

	for (size_t i = 0; rc == 0 && i < m->closure.n; i++)
		sy_strv_push(rpms, m->closure.pkgs[i].path);
	free(downloads);
	return rc ? -1 : 0;
}

int cli_specs_command(int argc, char **argv)
{
	struct specs_opts o;
	struct gitwatch_repo *repo = NULL;
	struct planner_commit c = { 0 };
	struct sy_error err = { { 0 } };
	char oid[GITWATCH_OID_HEX + 1];
	size_t broken = 0;
	int rc = parse_options(argc, argv, &o);

	if (rc)
		return rc > 0 ? 0 : 2;
	struct planner_commit_settings s = { .state = o.state_dir, .arch = o.arch, .jobs = o.jobs };
	struct builder_worker_manifest worker = { 0 };
	struct sy_strv rpms = SY_STRV_INIT;

	if (o.worker_manifest) {
		if (read_worker(&o, &worker, &rpms, &err))
			goto fail;
		s.worker_digest = worker.digest;
		s.worker_rpms = rpms.n ? (const char *const *)rpms.items : NULL;
	}
	if (gitwatch_repo_open(o.repo_path, &repo, &err) || gitwatch_resolve(repo, o.rev, oid, &err))
		goto fail;
	s.repo = repo;
	if (planner_commit_read(&s, oid, NULL, &c, &err))
		goto fail;
	for (size_t i = 0; i < c.index.nspecs; i++) {
		const struct planner_spec *spec = &c.index.specs[i];

		if (spec->error) {
			sy_log_error("%s", spec->error);
			broken++;
		}
		if (!o.json)
			print_text(spec);
	}
	if (o.json && print_json(&c)) {
		sy_error_set(&err, "specs: writing the result failed");
		goto fail;
	}
	sy_log_info("%zu specs, %zu do not parse (%zu read, %zu from the cache)", c.index.nspecs,
		    broken, c.index.parsed, c.index.cache_hits);
	rc = broken ? 1 : 0;
	goto out;
fail:
	sy_log_error("%s", err.msg);
	rc = 2;
out:
	planner_commit_release(&c);
	gitwatch_repo_free(repo);
	builder_worker_manifest_release(&worker);
	sy_strv_release(&rpms);
	return rc;
}
