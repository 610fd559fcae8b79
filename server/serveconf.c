#include "server/serveconf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <git2.h>

#include "planner/buildkey.h"
#include "planner/distro.h"
#include "planner/macros.h"
#include "common/fs.h"
#include "server/cron.h"

#define DEFAULT_MAX_BODY (25u << 20)

/* A path relative to base_dir unless absolute; newly allocated.
 * "credential:NAME" is the file systemd's LoadCredential= put in
 * $CREDENTIALS_DIRECTORY (systemd.exec(5), "Credentials"); without that
 * variable it is "$CREDENTIALS_DIRECTORY/NAME" as written, so that the
 * file's check names what is missing. */
static char *relative_to(const char *base_dir, const char *path)
{
	if (!path)
		return NULL;
	if (!strncmp(path, "credential:", 11)) {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");
		return sy_xasprintf("%s/%s", dir && *dir ? dir : "$CREDENTIALS_DIRECTORY",
				    path + 11);
	}
	if (path[0] == '/' || strstr(path, "://"))
		return sy_xstrdup(path);
	return sy_xasprintf("%s/%s", base_dir, path);
}

static char *get_str(git_config *cfg, const char *name)
{
	git_buf buf = { 0 };
	char *s = NULL;

	if (git_config_get_string_buf(&buf, cfg, name) == 0)
		s = sy_xstrdup(buf.ptr);
	git_buf_dispose(&buf);
	return s;
}

static int get_int(git_config *cfg, const char *name, int dflt, struct sy_error *err, int *out)
{
	int32_t v;
	int rc = git_config_get_int32(&v, cfg, name);

	if (rc == GIT_ENOTFOUND) {
		*out = dflt;
		return 0;
	}
	if (rc < 0 || v < 0)
		return sy_error_set(err, "%s: not a non-negative number", name);
	*out = v;
	return 0;
}

/* Appends a value to the list arg. A key written without "= value" has none
 * (git reads it as boolean true): the walk stops with 1. */
static int add_multi(const git_config_entry *e, void *arg)
{
	if (!e->value)
		return 1;
	sy_strv_push(arg, e->value);
	return 0;
}

static int get_multi(git_config *cfg, const char *name, struct sy_strv *out,
		     struct sy_error *err)
{
	if (git_config_get_multivar_foreach(cfg, name, NULL, add_multi, out) == 1)
		return sy_error_set(err, "%s: no value", name);
	return 0;
}

static int parse_listen(const char *text, struct server_conf *c, struct sy_error *err)
{
	const char *colon = strrchr(text, ':');
	char *end;
	long port;

	if (!colon || colon == text)
		return sy_error_set(err, "serve.listen '%s': not host:port", text);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return sy_error_set(err, "serve.listen '%s': not host:port", text);
	c->listen_host = sy_xstrndup(text, (size_t)(colon - text));
	c->listen_port = (unsigned)port;
	return 0;
}

/* Collects the names of the [repo "x"] subsections that set remote.
 * (Filtered here rather than with git_config_foreach_match: libgit2 1.5's
 * regex matching leaks pcre2 match data.) */
static int add_repo_name(const git_config_entry *e, void *arg)
{
	const char *name = e->name + strlen("repo.");
	const char *dot = strrchr(e->name, '.');

	if (strncmp(e->name, "repo.", 5) || !dot || strcmp(dot, ".remote"))
		return 0;
	if (dot > name) {
		char *sub = sy_xstrndup(name, (size_t)(dot - name));
		if (!sy_strv_contains(arg, sub))
			sy_strv_push(arg, sub);
		free(sub);
	}
	return 0;
}

int server_check_secret_file(const char *path, const char *key, struct sy_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return sy_error_set(err, "%s '%s': %s", key, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return sy_error_set(err, "%s '%s': not a regular file", key, path);
	if (st.st_mode & 077)
		return sy_error_set(err,
				    "%s '%s': group or others may access it (mode %04o); "
				    "chmod 600 it",
				    key, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A repository's token or secret file, when set, must be the service's
 * alone (server_check_secret_file). */
static int check_private(const char *path, const char *repo, const char *item,
			 struct sy_error *err)
{
	char key[SERVER_REPO_NAME_MAX + 32];

	if (!path)
		return 0;
	snprintf(key, sizeof(key), "repo.%s.%s", repo, item);
	return server_check_secret_file(path, key, err);
}

/* A repository's schedules and arch, checked now rather than when the
 * service first uses them; its git credentials. */
static int read_repo_checks(git_config *cfg, const char *base, const char *name,
			    struct server_repo_conf *r, struct sy_error *err)
{
	char key[512];
	struct server_cron cron;

#define KEY(item) (snprintf(key, sizeof(key), "repo.%s.%s", name, item), key)
	for (size_t i = 0; i < r->schedules.n; i++)
		if (server_cron_parse(r->schedules.items[i], &cron, err))
			return sy_error_prefix(err, "repo.%s.schedule", name);
	if (planner_arch_check(r->arch, err))
		return sy_error_prefix(err, "repo.%s.arch", name);
	char *token = get_str(cfg, KEY("gittokenfile")), *ssh = get_str(cfg, KEY("sshkey"));
	r->git_token_file = relative_to(base, token);
	r->ssh_key = relative_to(base, ssh);
	free(token);
	free(ssh);
	r->git_user = get_str(cfg, KEY("gituser"));
	r->ssh_host_key = get_str(cfg, KEY("sshhostkey"));
#undef KEY
	if (check_private(r->git_token_file, name, "gittokenfile", err) ||
	    check_private(r->ssh_key, name, "sshkey", err))
		return -1;
	if (r->ssh_key && !r->ssh_host_key)
		return sy_error_set(err, "repo.%s.sshkey: needs sshhostkey (the server's host key "
				    "fingerprint: ssh-keygen -lf <host key>.pub, or ssh-keyscan "
				    "<host> | ssh-keygen -lf -)", name);
	if (r->ssh_host_key && strncmp(r->ssh_host_key, "SHA256:", 7))
		return sy_error_set(err, "repo.%s.sshhostkey '%s': not SHA256:<base64>", name,
				    r->ssh_host_key);
	return 0;
}

void server_repo_credentials(const struct server_repo_conf *r, struct gitwatch_credentials *c)
{
	c->user = r->git_user;
	c->token_file = r->git_token_file;
	c->ssh_key = r->ssh_key;
	c->ssh_host_key = r->ssh_host_key;
}

/* repo.<name>.executor and the Slurm settings that go with it. */
static int read_executor(git_config *cfg, const char *name, struct server_repo_conf *r,
			 struct sy_error *err)
{
	char key[512];

#define KEY(item) (snprintf(key, sizeof(key), "repo.%s.%s", name, item), key)
	r->executor = get_str(cfg, KEY("executor"));
	if (r->executor && strcmp(r->executor, "local") && strcmp(r->executor, "slurm"))
		return sy_error_set(err, "repo.%s.executor '%s': not local or slurm", name,
				    r->executor);
	r->partition = get_str(cfg, KEY("partition"));
	r->account = get_str(cfg, KEY("account"));
	r->qos = get_str(cfg, KEY("qos"));
	if (get_multi(cfg, KEY("sbatchoption"), &r->sbatch_options, err))
		return -1;
	for (size_t i = 0; i < r->sbatch_options.n; i++)
		if (strncmp(r->sbatch_options.items[i], "--", 2))
			return sy_error_set(err, "repo.%s.sbatchoption '%s': not a long option "
					    "(--name=value)", name, r->sbatch_options.items[i]);
	if ((r->partition || r->account || r->qos || r->sbatch_options.n) &&
	    (!r->executor || strcmp(r->executor, "slurm")))
		return sy_error_set(err, "repo.%s: partition, account, qos and sbatchoption go "
				    "with executor = slurm", name);
#undef KEY
	return 0;
}

static int read_repo(git_config *cfg, const char *base, const char *name,
		     struct server_repo_conf *r, struct sy_error *err)
{
	char key[512];
	int jobs = 0, poll = 0;

#define KEY(item) (snprintf(key, sizeof(key), "repo.%s.%s", name, item), key)
	r->name = sy_xstrdup(name);
	/* The name becomes directory names (git/<name>.git, releases/<name>/)
	 * and keys of this file. */
	if (!*name || strlen(name) > SERVER_REPO_NAME_MAX || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(name))
		return sy_error_set(err, "repo \"%.64s\": a name is 1 to %d letters, digits, '.', "
				    "'_' or '-', not starting with '.'", name, SERVER_REPO_NAME_MAX);
	char *remote = get_str(cfg, KEY("remote"));
	/* A local path is relative to the configuration; URLs stay as they are. */
	r->remote = relative_to(base, remote);
	free(remote);
	if (!r->remote)
		return sy_error_set(err, "repo.%s.remote: missing", name);
	if (get_multi(cfg, KEY("branch"), &r->branches, err))
		return -1;
	r->forge = get_str(cfg, KEY("forge"));
	if (r->forge && strcmp(r->forge, "github") && strcmp(r->forge, "gitea") &&
	    strcmp(r->forge, "forgejo") && strcmp(r->forge, "gitlab"))
		return sy_error_set(err, "repo.%s.forge '%s': not github, gitea, forgejo or gitlab",
				    name, r->forge);
	r->api = get_str(cfg, KEY("api"));
	r->project = get_str(cfg, KEY("project"));
	char *tf = get_str(cfg, KEY("tokenfile")), *sf = get_str(cfg, KEY("secretfile"));
	r->token_file = relative_to(base, tf);
	r->secret_file = relative_to(base, sf);
	free(tf);
	free(sf);
	if (r->forge && (!r->api || !r->project || !r->token_file))
		return sy_error_set(err, "repo.%s: forge %s needs api, project and tokenfile", name,
				    r->forge);
	if (check_private(r->token_file, name, "tokenfile", err) ||
	    check_private(r->secret_file, name, "secretfile", err))
		return -1;
	if (get_int(cfg, KEY("jobs"), 0, err, &jobs) || get_int(cfg, KEY("poll"), 0, err, &poll))
		return -1;
	r->jobs = jobs;
	r->poll_s = (unsigned)poll;
	if (get_multi(cfg, KEY("schedule"), &r->schedules, err))
		return -1;
	r->arch = get_str(cfg, KEY("arch"));
	if (get_multi(cfg, KEY("spectree"), &r->spec_trees, err))
		return -1;
	r->imageconfigs = get_str(cfg, KEY("imageconfigs"));
	r->rebuild_policy = get_str(cfg, KEY("rebuildpolicy"));
	struct planner_policy policy;
	if (r->rebuild_policy && planner_policy_parse(r->rebuild_policy, &policy, err))
		return sy_error_prefix(err, "repo.%s.rebuildpolicy", name);
	if (get_multi(cfg, KEY("sourceurl"), &r->source_urls, err))
		return -1;
	for (size_t i = 0; i < r->source_urls.n; i++) {
		char *template;
		if (planner_source_url_parse(r->source_urls.items[i], &template, err))
			return sy_error_prefix(err, "repo.%s.sourceurl", name);
		free(template);
	}
	char *sign_key = get_str(cfg, KEY("signkey"));
	r->sign_key = relative_to(base, sign_key);
	free(sign_key);
	if (check_private(r->sign_key, name, "signkey", err))
		return -1;
	if (read_repo_checks(cfg, base, name, r, err))
		return -1;
	r->channel_prefix = get_str(cfg, KEY("channelprefix"));
	if (!r->channel_prefix)
		r->channel_prefix = sy_xstrdup("");
	if (read_executor(cfg, name, r, err))
		return -1;
	if (strpbrk(r->channel_prefix, "/ \t") || !strcmp(r->channel_prefix, ".") ||
	    !strcmp(r->channel_prefix, ".."))
		return sy_error_set(err, "repo.%s.channelprefix '%s': not a plain name", name,
				    r->channel_prefix);
#undef KEY
	return 0;
}

/* retention.<count> and retention.<days> into *limit, which holds the
 * defaults. */
static int read_limit(git_config *cfg, const char *count, const char *days,
		      struct state_retention_limit *limit, struct sy_error *err)
{
	char key[64], days_key[64];
	int keep = 0, age = 0;

	snprintf(key, sizeof(key), "retention.%s", count);
	snprintf(days_key, sizeof(days_key), "retention.%s", days);
	if (get_int(cfg, key, (int)limit->keep, err, &keep) ||
	    get_int(cfg, days_key, (int)limit->max_age_days, err, &age))
		return -1;
	limit->keep = (unsigned)keep;
	limit->max_age_days = (unsigned)age;
	return 0;
}

/* The [retention] section (state/retention.h). */
static int read_retention(git_config *cfg, struct server_conf *c, struct sy_error *err)
{
	const struct state_retention defaults = STATE_RETENTION_DEFAULTS;
	int interval = 0, cache_days = 0;

	c->retention = defaults;
	if (read_limit(cfg, "snapshots", "snapshotdays", &c->retention.snapshots, err) ||
	    read_limit(cfg, "images", "imagedays", &c->retention.images, err) ||
	    read_limit(cfg, "pipelines", "pipelinedays", &c->retention.pipelines, err) ||
	    get_int(cfg, "retention.interval", 3600, err, &interval) ||
	    get_int(cfg, "retention.cachedays", (int)defaults.cache_days, err, &cache_days))
		return -1;
	c->gc_interval_s = (unsigned)interval;
	c->retention.cache_days = (unsigned)cache_days;
	return 0;
}

static int read_all(git_config *cfg, const char *base, struct server_conf *c,
		    struct sy_error *err)
{
	struct sy_strv names = SY_STRV_INIT;
	char *listen = get_str(cfg, "serve.listen"), *state = get_str(cfg, "serve.state");
	char *api_tokens = get_str(cfg, "serve.apitokens");
	char *sign_key = get_str(cfg, "publish.signkey");
	int maxbody = 0, pipelines = 0, shutdown = 0, rc = 0;

	rc = parse_listen(listen ? listen : "127.0.0.1:8080", c, err);
	c->state_dir = state ? relative_to(base, state) : sy_xasprintf("%s/.shipyard", base);
	c->url = get_str(cfg, "serve.url");
	c->url_is_default = !c->url;
	if (!c->url)
		c->url = sy_xasprintf("http://%s:%u", c->listen_host ? c->listen_host : "127.0.0.1",
				      c->listen_port);
	size_t n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	if (rc == 0)
		rc = get_int(cfg, "serve.maxbody", (int)DEFAULT_MAX_BODY, err, &maxbody) ||
				     get_int(cfg, "serve.pipelines", 1, err, &pipelines) ||
				     get_int(cfg, "serve.shutdowntimeout", 30, err, &shutdown)
			     ? -1
			     : 0;
	if (rc == 0 && maxbody == 0)
		rc = sy_error_set(err, "serve.maxbody: 0 would refuse every webhook");
	if (rc == 0 && (pipelines < 1 || pipelines > SERVER_MAX_PIPELINES))
		rc = sy_error_set(err, "serve.pipelines: %d: not between 1 and %d", pipelines,
				  SERVER_MAX_PIPELINES);
	c->api_tokens_file = relative_to(base, api_tokens);
	char *api_read = get_str(cfg, "serve.apiread");
	if (api_read && !strcmp(api_read, "token"))
		c->api_read_token = 1;
	else if (rc == 0 && api_read && strcmp(api_read, "open"))
		rc = sy_error_set(err, "serve.apiread: '%s': expected open or token",
				  api_read);
	if (rc == 0 && c->api_read_token && !c->api_tokens_file)
		rc = sy_error_set(err, "serve.apiread = token needs serve.apitokens");
	free(api_read);
	if (rc == 0 && c->api_tokens_file)
		rc = server_check_secret_file(c->api_tokens_file, "serve.apitokens", err);
	c->sign_key = relative_to(base, sign_key);
	if (rc == 0 && c->sign_key)
		rc = server_check_secret_file(c->sign_key, "publish.signkey", err);
	if (rc == 0)
		rc = read_retention(cfg, c, err);
	c->max_body = (size_t)maxbody;
	c->pipelines = pipelines;
	c->shutdown_timeout_s = (unsigned)shutdown;
	git_config_foreach(cfg, add_repo_name, &names);
	c->repos = sy_xcalloc(names.n + 1, sizeof(*c->repos));
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		rc = read_repo(cfg, base, names.items[i], &c->repos[i], err);
		c->nrepos = i + 1;
		if (rc == 0 && !c->repos[i].sign_key && c->sign_key)
			c->repos[i].sign_key = sy_xstrdup(c->sign_key);
	}
	sy_strv_release(&names);
	free(listen);
	free(state);
	free(api_tokens);
	free(sign_key);
	return rc;
}

/* Every entry libgit2 read must be a known key (the text was checked by
 * sy_conf_check; this catches a reading of the syntax that differs). */
static int check_entries(git_config *cfg, struct sy_error *err)
{
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int rc = 0;

	if (git_config_iterator_new(&it, cfg) < 0)
		return sy_error_set(err, "cannot list keys");
	while (rc == 0 && git_config_next(&e, it) == 0)
		if (!sy_conf_key_find(server_conf_keys, server_conf_nkeys, e->name))
			rc = sy_error_set(err, "%s: unknown key", e->name);
	git_config_iterator_free(it);
	return rc;
}

int server_conf_read(const char *path, struct server_conf *conf, struct sy_error *err)
{
	git_config *cfg = NULL;
	char abs[PATH_MAX];
	int rc;

	memset(conf, 0, sizeof(*conf));
	if (!realpath(path, abs))
		return sy_error_set(err, "%s: %s", path, strerror(errno));
	conf->path = sy_xstrdup(abs);
	char *base = sy_xstrdup(abs);
	*strrchr(base, '/') = '\0';
	git_libgit2_init();
	if (git_config_open_ondisk(&cfg, abs) < 0) {
		const git_error *e = git_error_last();
		rc = sy_error_set(err, "%s: %s", path, e ? e->message : "cannot parse");
	} else if (sy_conf_check_file(path, server_conf_keys, server_conf_nkeys, err)) {
		rc = -1;
	} else {
		rc = check_entries(cfg, err) || read_all(cfg, base, conf, err) ? -1 : 0;
		if (rc)
			sy_error_prefix(err, "%s", path);
	}
	git_config_free(cfg);
	git_libgit2_shutdown();
	free(base);
	if (rc)
		server_conf_release(conf);
	return rc;
}

const struct server_repo_conf *server_conf_repo(const struct server_conf *conf,
						  const char *name)
{
	for (size_t i = 0; i < conf->nrepos; i++)
		if (!strcmp(conf->repos[i].name, name))
			return &conf->repos[i];
	return NULL;
}

char *server_read_secret(const char *path, struct sy_error *err)
{
	char *text = NULL;
	size_t len = 0;

	if (!path || sy_read_file(path, &text, &len, NULL)) {
		sy_error_set(err, "%s: cannot read the secret file", path ? path : "(none)");
		return NULL;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

static void repo_release(struct server_repo_conf *r)
{
	free(r->name);
	free(r->remote);
	sy_strv_release(&r->branches);
	free(r->forge);
	free(r->api);
	free(r->project);
	free(r->token_file);
	free(r->secret_file);
	sy_strv_release(&r->schedules);
	free(r->arch);
	free(r->channel_prefix);
	free(r->executor);
	free(r->partition);
	free(r->account);
	free(r->qos);
	sy_strv_release(&r->sbatch_options);
	sy_strv_release(&r->spec_trees);
	free(r->imageconfigs);
	free(r->rebuild_policy);
	sy_strv_release(&r->source_urls);
	free(r->sign_key);
	free(r->git_user);
	free(r->git_token_file);
	free(r->ssh_key);
	free(r->ssh_host_key);
}

void server_conf_release(struct server_conf *conf)
{
	for (size_t i = 0; i < conf->nrepos; i++)
		repo_release(&conf->repos[i]);
	free(conf->repos);
	free(conf->path);
	free(conf->listen_host);
	free(conf->state_dir);
	free(conf->url);
	free(conf->api_tokens_file);
	free(conf->sign_key);
	memset(conf, 0, sizeof(*conf));
}
