#include "cli/pipeline_cmd.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/imagevalidate_cmd.h"
#include "cli/s3_cmd.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/util.h"
#include "pipeline/pipeline.h"
#include "server/serveconf.h"
#include "state/layout.h"

#define COMMON_OPTIONS \
	"  --repo DIR             distribution git repository (Azure Linux layout)\n" \
	"  --to REV               head revision (default HEAD)\n" \
	"  --state DIR            state directory (default ./.shipyard)\n" \
	"  --channel NAME         repository channel (default: HEAD's branch)\n" \
	"  --base-channel NAME    until --channel is first published, read NAME's\n" \
	"                         repository instead (pull requests: the base\n" \
	"                         branch's channel)\n" \
	"  --arch ARCH            target arch (default x86_64)\n" \
	"  --jobs N               parallel spec readers and builds (default: cores)\n" \
	"  --settings-from REV    take shipyard.conf from REV for both commits\n" \
	"                         (pull requests: the base branch)\n" \
	"  --spec-tree DIR        a spec tree, repeatable (default: shipyard.conf's,\n" \
	"                         else SPECS, SPECS-EXTENDED, SPECS-SIGNED)\n" \
	"  --imageconfigs DIR     image configs (default toolkit/imageconfigs)\n" \
	"  --rebuild-policy P     transitive, direct, local or layers=N\n"

#define TARGET_OPTIONS \
	"  --specs A,B            build these specs (file names without .spec)\n" \
	"  --packages P,Q         build the specs that build these packages\n" \
	"  --image-config C       build the specs of image config C's packages\n" \
	"                         (a name, or the repository path of its .json)\n" \
	"  --rebuild X,Y          specs, else packages, built even when an artifact\n" \
	"                         with their build key exists; part of the goal\n" \
	"  --ignore X,Y           specs, else packages, never built: the specs that\n" \
	"                         need them build with what exists of their packages\n" \
	"                         (their key's artifact, else the published ones) or\n" \
	"                         are blocked; the plan says which\n" \
	"  --force                rebuild every spec of the goal\n"

#define TARGET_TEXT \
	"The goal (the Azure Linux toolkit's PACKAGE_BUILD_LIST, PACKAGE_REBUILD_LIST\n" \
	"and CONFIG_FILE) is what --specs, --packages, --image-config and --rebuild\n" \
	"name; with one, the plan is the goal and what it needs to build and to\n" \
	"install (build and runtime dependencies, transitively) that has no\n" \
	"artifact for its build key, whatever changed since any base.\n"

#define SIGN_OPTION \
	"  --sign-key FILE        sign the packages and repodata with the OpenPGP\n" \
	"                         secret key in FILE (mode 0600, no passphrase,\n" \
	"                         outside the state directory); the snapshot gets\n" \
	"                         repodata/repomd.xml.asc and RPM-GPG-KEY-shipyard\n" \
	"                         (default: --config's publish.signkey, but for a\n" \
	"                         pull request's run, --base-channel, whose\n" \
	"                         packages are its author's; none: unsigned)\n"

#define APPROVE_OPTION \
	"  --approve              build a plan with more specs to build than\n" \
	"                         shipyard.conf's plan.maxrebuild (without it such\n" \
	"                         a plan is reported with its biggest causes and\n" \
	"                         nothing is built: shipyard/plan failure, exit 1)\n"

#define BUILD_OPTIONS \
	"  --timeout SECONDS      wall-clock limit per build (default 3600)\n" \
	"  --output-limit MIB     what a build may write (default 16384; 0: none)\n" \
	"  --root-mode MODE       build roots: overlay over the worker root, or\n" \
	"                         extract (its tarball, per build); auto: overlay\n" \
	"                         where the state directory supports it (default)\n" \
	"  --run-check            run each built spec's %check in a test build;\n" \
	"                         failures are reported, never block anything\n" \
	"  --worker-manifest FILE worker root manifest (default config/worker.conf)\n" \
	"  --worker-cache DIR     worker root cache (default <state>/worker,\n" \
	"                         or $SHIPYARD_WORKER_CACHE)\n" \
	"  --source-url URL       a source server asked before shipyard.conf's\n" \
	"                         sources.url (repeatable; a URL or a template)\n" \
	"  --executor NAME        where builds run: local (default) or slurm\n" \
	"                         (sbatch jobs running `shipyard buildjob` on a\n" \
	"                         cluster sharing the state directory,\n" \
	"                         docs/cluster.md)\n" \
	"  --slurm-partition P    with slurm: sbatch --partition (also\n" \
	"  --slurm-account A      --account, --qos; default: the cluster's)\n" \
	"  --slurm-qos Q\n" \
	"  --sbatch-option OPT    with slurm: one more sbatch option\n" \
	"                         (repeatable, \"--constraint=ssd\")\n" \
	"  --pipeline-id ID       this run's directory, <state>/pipelines/ID\n" \
	"                         (default run-<UTC time>-<pid>): its plan.json,\n" \
	"                         build_state.csv, build-summary.json and logs/\n"

const char cli_run_usage[] =
	"usage: shipyard run --repo DIR [--from REV] [--to REV] [--state DIR] [options]\n"
	"       shipyard run --config FILE --repo-name NAME [--to REV] [options]\n"
	"\n"
	"Runs one pipeline: changeset from..to, spec index, dependency graph,\n"
	"rebuild set, isolated builds, repository publication under\n"
	"<state>/repos/<branch>/, images, and statuses (log backend).\n"
	"\n"
	"  --from REV             base revision (default: the commit the channel\n"
	"                         was last published from, or --base-channel's\n"
	"                         before its first publication; none: all new)\n"
	"  --merge-base           use the merge base of --from and --to as the base\n"
	APPROVE_OPTION SIGN_OPTION COMMON_OPTIONS BUILD_OPTIONS
	"  --config FILE          take the repository's settings from a service\n"
	"  --repo-name NAME       configuration (repo.NAME.*, serve.state; --repo\n"
	"                         defaults to the service's mirror of it)\n"
	"  --events-fd N          also write statuses and job events as JSON lines\n"
	"                         to file descriptor N (used by shipyard serve)\n"
	"  --release NAME         then make the release NAME: <state>/releases/\n"
	"                         <repository>/NAME/ with the channel's snapshot\n"
	"                         (hard-linked), the images, release.json and an\n"
	"                         SPDX SBOM; or record why it is skipped (a failure,\n"
	"                         nothing changed since the channel's last release)\n"
	"\n"
	"Exit status: 0 all succeeded, 1 some spec or image failed or the plan\n"
	"needs approval, 2 usage or setup error.\n";

const char cli_plan_usage[] =
	"usage: shipyard plan --repo DIR [--from REV] [--to REV] [--arch ARCH]\n"
	"                     [--merge-base] [--missing] [--format text|json]\n"
	"       shipyard plan --repo DIR [--to REV] [--specs A,B | --packages P,Q |\n"
	"                     --image-config C] [--rebuild X] [--ignore Y] [options]\n"
	"\n"
	"Prints the changeset and the rebuild set without building: the specs\n"
	"whose build key at --to differs from their key at --from, in build order,\n"
	"each with its reason chain; the specs whose own inputs changed; removed\n"
	"specs and their packages; affected image configs; unresolved\n"
	"BuildRequires; dependency cycles; specs excluded for the arch; specs that\n"
	"do not parse. Same code path and options as `shipyard run`. With a goal,\n"
	"the plan `shipyard build` would build for it.\n"
	"\n"
	TARGET_TEXT
	"\n"
	"  --from REV             base (default: the first parent of --to)\n"
	"  --merge-base           use the merge base of --from and --to (pull requests)\n"
	"  --missing              also list specs with no artifact for their key in\n"
	"                         the state directory\n"
	"  --format FORMAT        text (default) or json\n"
	"  --approve              report a plan over plan.maxrebuild as approved\n"
	TARGET_OPTIONS COMMON_OPTIONS;

const char cli_build_usage[] =
	"usage: shipyard build --repo DIR [--to REV] [--specs A,B | --packages P,Q |\n"
	"                      --image-config C] [--rebuild X] [--ignore Y] [--force]\n"
	"                      [options]\n"
	"\n"
	"Builds without publishing: a goal, else the rebuild set of a run (changed\n"
	"since the channel was last published, or without an artifact), less the\n"
	"ignored specs. Built packages are kept by build key under\n"
	"<state>/artifacts/ for the next run or `shipyard publish` to take.\n"
	"\n"
	TARGET_TEXT
	"\n"
	TARGET_OPTIONS
	"  --from REV             base revision when no goal is named\n"
	APPROVE_OPTION COMMON_OPTIONS BUILD_OPTIONS
	"\n"
	"Exit status: 0 all built or reused, 1 some spec failed or the plan needs\n"
	"approval, 2 usage or setup error.\n";

const char cli_publish_usage[] =
	"usage: shipyard publish --repo DIR [--to REV] [--channel NAME] [options]\n"
	"\n"
	"Publishes a commit to its channel without planning or building: every\n"
	"spec's artifact for its build key at the commit, else what the channel\n"
	"has; a new snapshot only when that set changed.\n"
	"\n"
	"  --specs A,B            publish these specs only (a channel of part of\n"
	"                         the distribution: the toolchain stage's, which\n"
	"                         a worker root of kind rpm installs from)\n"
	SIGN_OPTION COMMON_OPTIONS
	"  --worker-manifest FILE worker root manifest (its digest is part of the\n"
	"                         build keys; default config/worker.conf)\n";

const char cli_image_usage[] =
	"usage: shipyard image --repo DIR [--to REV] [--channel NAME]\n"
	"                      [--images A,B] [--force] [options]\n"
	"       shipyard image validate [--root DIR] FILE...   (see --help there)\n"
	"\n"
	"Composes the image configs of a commit from the channel's published\n"
	"repository, without planning, building or publishing.\n"
	"\n"
	"  --images A,B           image configs by name (file name without .json);\n"
	"                         default: every config\n"
	"  --force                compose even when the config and its package\n"
	"                         closure are unchanged since the last image\n"
	COMMON_OPTIONS;

enum { OPT_FROM = CLI_OPT_OWN, OPT_TO, OPT_TIMEOUT, OPT_MANIFEST, OPT_CACHE, OPT_FORMAT, OPT_MERGE_BASE, OPT_MISSING, OPT_EVENTS,
       OPT_OUTPUT_LIMIT, OPT_RUN_CHECK, OPT_SETTINGS_FROM, OPT_SPEC_TREE, OPT_IMAGECONFIGS,
       OPT_POLICY, OPT_ROOT_MODE, OPT_PIPELINE_ID, OPT_CONFIG, OPT_REPO_NAME, OPT_SPECS,
       OPT_IMAGES, OPT_FORCE, OPT_BASE_CHANNEL, OPT_APPROVE, OPT_PACKAGES, OPT_IMAGE_CONFIG,
       OPT_REBUILD, OPT_IGNORE, OPT_SOURCE_URL, OPT_SIGN_KEY, OPT_RELEASE, OPT_EXECUTOR,
       OPT_PARTITION, OPT_ACCOUNT, OPT_QOS, OPT_SBATCH };

static const struct option pipeline_options[] = {
	CLI_REPOSITORY_OPTIONS,
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "worker-manifest", required_argument, NULL, OPT_MANIFEST },
	{ "worker-cache", required_argument, NULL, OPT_CACHE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "merge-base", no_argument, NULL, OPT_MERGE_BASE },
	{ "missing", no_argument, NULL, OPT_MISSING },
	{ "events-fd", required_argument, NULL, OPT_EVENTS },
	{ "output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT },
	{ "run-check", no_argument, NULL, OPT_RUN_CHECK },
	{ "settings-from", required_argument, NULL, OPT_SETTINGS_FROM },
	{ "spec-tree", required_argument, NULL, OPT_SPEC_TREE },
	{ "imageconfigs", required_argument, NULL, OPT_IMAGECONFIGS },
	{ "rebuild-policy", required_argument, NULL, OPT_POLICY },
	{ "root-mode", required_argument, NULL, OPT_ROOT_MODE },
	{ "pipeline-id", required_argument, NULL, OPT_PIPELINE_ID },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "repo-name", required_argument, NULL, OPT_REPO_NAME },
	{ "specs", required_argument, NULL, OPT_SPECS },
	{ "images", required_argument, NULL, OPT_IMAGES },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "base-channel", required_argument, NULL, OPT_BASE_CHANNEL },
	{ "approve", no_argument, NULL, OPT_APPROVE },
	{ "packages", required_argument, NULL, OPT_PACKAGES },
	{ "image-config", required_argument, NULL, OPT_IMAGE_CONFIG },
	{ "rebuild", required_argument, NULL, OPT_REBUILD },
	{ "ignore", required_argument, NULL, OPT_IGNORE },
	{ "source-url", required_argument, NULL, OPT_SOURCE_URL },
	{ "sign-key", required_argument, NULL, OPT_SIGN_KEY },
	{ "release", required_argument, NULL, OPT_RELEASE },
	{ "executor", required_argument, NULL, OPT_EXECUTOR },
	{ "slurm-partition", required_argument, NULL, OPT_PARTITION },
	{ "slurm-account", required_argument, NULL, OPT_ACCOUNT },
	{ "slurm-qos", required_argument, NULL, OPT_QOS },
	{ "sbatch-option", required_argument, NULL, OPT_SBATCH },
	{ NULL, 0, NULL, 0 },
};

/* One command line, parsed: the options and what they point into. */
struct command {
	const char *usage;
	struct pipeline_options o;
	char *manifest;               /* owned */
	struct sy_strv spec_trees;    /* --spec-tree values */
	struct sy_strv specs;         /* --specs */
	struct sy_strv packages;      /* --packages */
	struct sy_strv rebuild;       /* --rebuild */
	struct sy_strv ignore;        /* --ignore */
	struct sy_strv images;        /* --images */
	struct sy_strv source_urls;   /* --source-url values */
	const char *config, *repo_name; /* --config, --repo-name */
	struct server_conf conf;      /* read from --config */
	int has_conf;
	char *mirror;                 /* the service's mirror, when --repo is not given */
	char *release_repo;           /* --repo's name, when --repo-name is not given */
	int state_given;              /* --state was given */
	struct builder_executor_config exec; /* --executor and its settings */
	struct sy_strv sbatch;        /* --sbatch-option values */
};

static int parse_number(const char *text, unsigned long long *out)
{
	char *end;

	*out = strtoull(text, &end, 10);
	return *text && !*end ? 0 : -1;
}

/* Sets one option; returns 0, 1 when help was printed, -1 on a usage error. */
static int set_option(struct command *c, int opt)
{
	struct pipeline_options *o = &c->o;
	struct sy_error err = { { 0 } };
	unsigned long long n;

	switch (opt) {
	case CLI_OPT_REPO: o->repo_path = optarg; return 0;
	case OPT_FROM: o->from = optarg; return 0;
	case OPT_TO: o->to = optarg; return 0;
	case CLI_OPT_STATE: o->state_dir = optarg; c->state_given = 1; return 0;
	case CLI_OPT_CHANNEL: o->channel = optarg; return 0;
	case OPT_BASE_CHANNEL: o->base_channel = optarg; return 0;
	case CLI_OPT_ARCH: o->arch = optarg; return 0;
	case CLI_OPT_JOBS: o->jobs = atoi(optarg); return 0;
	case OPT_RUN_CHECK: o->run_check = 1; return 0;
	case OPT_SETTINGS_FROM: o->settings_from = optarg; return 0;
	case OPT_SPEC_TREE: sy_strv_push(&c->spec_trees, optarg); return 0;
	case OPT_SOURCE_URL: sy_strv_push(&c->source_urls, optarg); return 0;
	case OPT_SIGN_KEY: o->sign_key = optarg; return 0;
	case OPT_IMAGECONFIGS: o->imageconfigs = optarg; return 0;
	case OPT_POLICY: o->rebuild_policy = optarg; return 0;
	case OPT_PIPELINE_ID: o->run_id = optarg; return 0;
	case OPT_MANIFEST: free(c->manifest); c->manifest = sy_xstrdup(optarg); return 0;
	case OPT_CACHE: o->worker_cache = optarg; return 0;
	case OPT_MERGE_BASE: o->merge_base = 1; return 0;
	case OPT_MISSING: o->missing = 1; return 0;
	case OPT_CONFIG: c->config = optarg; return 0;
	case OPT_REPO_NAME: c->repo_name = optarg; return 0;
	case OPT_SPECS: cli_split_list(optarg, &c->specs); return 0;
	case OPT_IMAGES: cli_split_list(optarg, &c->images); return 0;
	case OPT_FORCE: o->force = 1; return 0;
	case OPT_APPROVE: o->approve = 1; return 0;
	case OPT_PACKAGES: cli_split_list(optarg, &c->packages); return 0;
	case OPT_IMAGE_CONFIG: o->image_config = optarg; return 0;
	case OPT_REBUILD: cli_split_list(optarg, &c->rebuild); return 0;
	case OPT_IGNORE: cli_split_list(optarg, &c->ignore); return 0;
	case OPT_RELEASE: o->release = optarg; return 0;
	case OPT_EXECUTOR: c->exec.name = optarg; return 0;
	case OPT_PARTITION: c->exec.partition = optarg; return 0;
	case OPT_ACCOUNT: c->exec.account = optarg; return 0;
	case OPT_QOS: c->exec.qos = optarg; return 0;
	case OPT_SBATCH: sy_strv_push(&c->sbatch, optarg); return 0;
	case OPT_TIMEOUT:
		if (parse_number(optarg, &n))
			return cli_usage_error(c->usage, "--timeout must be a number of seconds"), -1;
		o->build_timeout_s = (unsigned)n;
		return 0;
	case OPT_OUTPUT_LIMIT:
		if (parse_number(optarg, &n))
			return cli_usage_error(c->usage, "--output-limit must be a number of MiB"), -1;
		o->output_limit_bytes = n << 20;
		return 0;
	case OPT_ROOT_MODE:
		if (builder_root_mode_parse(optarg, &o->root_mode, &err))
			return cli_usage_error(c->usage, err.msg), -1;
		return 0;
	case OPT_EVENTS:
		o->events = fdopen(atoi(optarg), "w");
		if (!o->events)
			return cli_usage_error(c->usage, "--events-fd: not an open file descriptor"), -1;
		return 0;
	case OPT_FORMAT:
		if (strcmp(optarg, "json") && strcmp(optarg, "text"))
			return cli_usage_error(c->usage, "--format must be text or json"), -1;
		o->json = !strcmp(optarg, "json");
		return 0;
	case CLI_OPT_HELP: fputs(c->usage, stdout); return 1;
	default: return cli_usage_error(c->usage, NULL), -1;
	}
}

/* --config FILE --repo-name NAME: the repository's section of the service
 * configuration sets what the service would set. Options given on the
 * command line win. */
static int apply_service_config(struct command *c)
{
	struct pipeline_options *o = &c->o;
	struct sy_error err = { { 0 } };
	const struct server_repo_conf *r;

	if (!c->config != !c->repo_name)
		return cli_usage_error(c->usage, "--config and --repo-name go together"), -1;
	if (!c->config)
		return 0;
	if (server_conf_read(c->config, &c->conf, &err)) {
		sy_log_error("%s", err.msg);
		return -1;
	}
	c->has_conf = 1;
	if (!(r = server_conf_repo(&c->conf, c->repo_name))) {
		sy_log_error("%s: no repository '%s'", c->config, c->repo_name);
		return -1;
	}
	if (!c->state_given)
		o->state_dir = c->conf.state_dir;
	if (!o->repo_path)
		o->repo_path = c->mirror = state_mirror_dir(o->state_dir, r->name);
	if (!o->jobs)
		o->jobs = r->jobs;
	if (!o->arch)
		o->arch = r->arch;
	if (!c->spec_trees.n)
		for (size_t i = 0; i < r->spec_trees.n; i++)
			sy_strv_push(&c->spec_trees, r->spec_trees.items[i]);
	if (!o->imageconfigs)
		o->imageconfigs = r->imageconfigs;
	if (!o->rebuild_policy)
		o->rebuild_policy = r->rebuild_policy;
	if (!c->source_urls.n)
		for (size_t i = 0; i < r->source_urls.n; i++)
			sy_strv_push(&c->source_urls, r->source_urls.items[i]);
	/* A pull request's run (it reads its base branch's channel) publishes
	 * what its author built: signing it with the distribution's key
	 * would hand anyone who opens one a package the key vouches for. */
	if (!o->sign_key && (o->stages & PIPELINE_PUBLISH) && !o->base_channel)
		o->sign_key = r->sign_key;
	if (!c->exec.name)
		c->exec.name = r->executor;
	if (!c->exec.partition)
		c->exec.partition = r->partition;
	if (!c->exec.account)
		c->exec.account = r->account;
	if (!c->exec.qos)
		c->exec.qos = r->qos;
	if (!c->sbatch.n)
		for (size_t i = 0; i < r->sbatch_options.n; i++)
			sy_strv_push(&c->sbatch, r->sbatch_options.items[i]);
	return 0;
}

/* --executor and the options that go with slurm. Returns 0, or -1 after a
 * usage error. */
static int check_executor(struct command *c)
{
	struct builder_executor_config *x = &c->exec;
	int slurm = x->name && !strcmp(x->name, "slurm");

	if (x->name && !slurm && strcmp(x->name, "local"))
		return cli_usage_error(c->usage, "--executor must be local or slurm"), -1;
	if (!slurm && (x->partition || x->account || x->qos || c->sbatch.n))
		return cli_usage_error(c->usage, "--slurm-partition, --slurm-account, --slurm-qos "
				       "and --sbatch-option go with --executor slurm"), -1;
	x->sbatch_options = c->sbatch.n ? (const char *const *)c->sbatch.items : NULL;
	if (x->name)
		c->o.executor = x;
	return 0;
}

/* --sign-key goes with the commands that publish, and its file is the
 * publisher's alone, as the service's secret files are. Returns 0, or -1
 * after an error. */
static int check_sign_key(struct command *c)
{
	struct sy_error err = { { 0 } };

	if (!c->o.sign_key)
		return 0;
	if (!(c->o.stages & PIPELINE_PUBLISH))
		return cli_usage_error(c->usage, "--sign-key goes with run and publish"), -1;
	if (server_check_secret_file(c->o.sign_key, "--sign-key", &err)) {
		sy_log_error("%s", err.msg);
		return -1;
	}
	return 0;
}

/* A goal and ignored specs choose what `build` builds and `plan` shows;
 * publishing or composing part of a plan would publish a mix. Returns 0, or
 * -1 after a usage error. */
static int check_target(struct command *c)
{
	const struct pipeline_options *o = &c->o;
	int goal = c->specs.n || c->packages.n || o->image_config || c->rebuild.n;

	int publish_only = o->stages == PIPELINE_PUBLISH && c->specs.n && !c->packages.n &&
			   !o->image_config && !c->rebuild.n && !c->ignore.n;

	if ((goal || c->ignore.n) && (o->stages & (PIPELINE_PUBLISH | PIPELINE_IMAGES)) &&
	    !publish_only)
		return cli_usage_error(c->usage, "--specs, --packages, --image-config, --rebuild "
				       "and --ignore go with build or plan (publish takes "
				       "--specs alone)"), -1;
	if (o->force && !goal && !(o->stages & PIPELINE_IMAGES))
		return cli_usage_error(c->usage, "--force rebuilds the specs of a goal (--specs, "
				       "--packages, --image-config)"), -1;
	return 0;
}

/* --release NAME: only a whole run makes one; it goes under the
 * repository's name, --repo-name's, else --repo's directory name without
 * ".git". Returns 0, or -1 after a usage error. */
static int check_release(struct command *c)
{
	struct pipeline_options *o = &c->o;
	const char *base;
	size_t n;

	if (!o->release)
		return 0;
	if (o->stages != PIPELINE_ALL)
		return cli_usage_error(c->usage, "--release goes with run"), -1;
	if (c->repo_name) {
		o->release_repo = c->repo_name;
		return 0;
	}
	n = strlen(o->repo_path);
	while (n > 1 && o->repo_path[n - 1] == '/')
		n--;
	char *path = sy_xstrndup(o->repo_path, n);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	n = strlen(base);
	c->release_repo = n > 4 && !strcmp(base + n - 4, ".git") ? sy_xstrndup(base, n - 4)
								 : sy_xstrdup(base);
	free(path);
	o->release_repo = c->release_repo;
	return 0;
}

/* Parses argv into c; returns 0, 1 when help was printed, -1 on an error
 * (printed). */
static int parse(int argc, char **argv, struct command *c)
{
	struct pipeline_options *o = &c->o;
	int opt, rc;

	o->state_dir = ".shipyard";
	o->build_timeout_s = 3600;
	o->output_limit_bytes = 16384ULL << 20;
	o->worker_cache = getenv("SHIPYARD_WORKER_CACHE");
	c->manifest = cli_default_manifest();
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", pipeline_options, NULL)) != -1)
		if ((rc = set_option(c, opt)) != 0)
			return rc;
	if (optind < argc)
		return cli_usage_error(c->usage, "unexpected argument"), -1;
	if (apply_service_config(c))
		return -1;
	if (!o->repo_path)
		return cli_usage_error(c->usage, "--repo is required"), -1;
	if (check_target(c) || check_sign_key(c) || check_release(c) || check_executor(c))
		return -1;
	o->spec_trees = c->spec_trees.n ? (const char *const *)c->spec_trees.items : NULL;
	o->specs = c->specs.n ? (const char *const *)c->specs.items : NULL;
	o->packages = c->packages.n ? (const char *const *)c->packages.items : NULL;
	o->rebuild = c->rebuild.n ? (const char *const *)c->rebuild.items : NULL;
	o->ignore = c->ignore.n ? (const char *const *)c->ignore.items : NULL;
	o->image_configs = c->images.n ? (const char *const *)c->images.items : NULL;
	o->source_urls = c->source_urls.n ? (const char *const *)c->source_urls.items : NULL;
	o->worker_manifest = c->manifest;
	return 0;
}

static void command_release(struct command *c)
{
	if (c->o.events)
		fclose(c->o.events);
	free(c->manifest);
	free(c->mirror);
	free(c->release_repo);
	sy_strv_release(&c->spec_trees);
	sy_strv_release(&c->specs);
	sy_strv_release(&c->packages);
	sy_strv_release(&c->rebuild);
	sy_strv_release(&c->ignore);
	sy_strv_release(&c->images);
	sy_strv_release(&c->source_urls);
	sy_strv_release(&c->sbatch);
	if (c->has_conf)
		server_conf_release(&c->conf);
}

static volatile sig_atomic_t cancelled;

static void on_cancel(int sig)
{
	(void)sig;
	cancelled = 1;
}

/* SIGINT and SIGTERM cancel a run: builds are killed and cleaned, nothing
 * is published; a second signal is not caught. */
static void catch_cancel(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_cancel;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* With --config, a publication is uploaded to the bucket of its [publish
 * "s3"] section; a pull request's run (--base-channel) is not: its packages
 * are its author's, the bucket the distribution's. Returns 0, or -1 after
 * an error. */
static int choose_s3(struct command *c, struct repo_s3_config *s3)
{
	int rc;

	if (!c->config || !(c->o.stages & PIPELINE_PUBLISH))
		return 0;
	rc = cli_s3_config_load(c->config, s3);
	if (rc == 1 && c->o.base_channel)
		sy_log_info("a pull request's channel: not uploaded to s3://%s", s3->bucket);
	else if (rc == 1)
		c->o.s3 = s3;
	return rc < 0 ? -1 : 0;
}

static int pipeline_command(int argc, char **argv, const char *usage, int stages)
{
	struct command c = { .usage = usage, .o = { .stages = stages } };
	struct repo_s3_config s3 = { 0 };
	struct pipeline_reporter reporter;
	struct sy_error err = { { 0 } };
	int rc = parse(argc, argv, &c);

	if (rc == 0 && choose_s3(&c, &s3))
		rc = -1;
	if (rc) {
		repo_s3_config_release(&s3);
		command_release(&c);
		return rc < 0 ? 2 : 0;
	}
	if (c.o.events)
		pipeline_reporter_events_init(&reporter, c.o.events);
	else
		pipeline_reporter_log_init(&reporter, stdout);
	c.o.exiting = 1;
	if (stages & PIPELINE_BUILD) {
		catch_cancel();
		c.o.cancel = &cancelled;
	}
	c.o.out = stdout;
	c.o.reporter = stages == PIPELINE_PLAN && c.o.json ? NULL : &reporter;
	rc = pipeline_run(&c.o, &err);
	if (rc < 0)
		sy_log_error("%s", err.msg);
	repo_s3_config_release(&s3);
	command_release(&c);
	return rc < 0 ? 2 : rc;
}

int cli_run_command(int argc, char **argv)
{
	return pipeline_command(argc, argv, cli_run_usage, PIPELINE_ALL);
}

int cli_plan_command(int argc, char **argv)
{
	/* A plan reads and drops tens of megabytes of specs, graph and keys
	 * in well under a second: its page faults are worth saving. */
	sy_heap_prefer_huge_pages(64u << 20);
	return pipeline_command(argc, argv, cli_plan_usage, PIPELINE_PLAN);
}

int cli_build_command(int argc, char **argv)
{
	return pipeline_command(argc, argv, cli_build_usage, PIPELINE_PLAN | PIPELINE_BUILD);
}

int cli_publish_command(int argc, char **argv)
{
	return pipeline_command(argc, argv, cli_publish_usage, PIPELINE_PUBLISH);
}

int cli_image_command(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "validate"))
		return cli_image_validate_command(argc - 1, argv + 1);
	return pipeline_command(argc, argv, cli_image_usage, PIPELINE_IMAGES);
}
