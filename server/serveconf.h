/* The configuration of `shipyard serve` (git-config syntax, read with
 * libgit2's config API, docs/design.md "Libraries, and why"):
 *
 *   [serve]
 *       listen = 127.0.0.1:8080     address:port of the HTTP server
 *       state = /var/lib/shipyard   state directory
 *       url = https://ci.example    base of the dashboard links in statuses
 *       maxbody = 26214400          webhook body limit (bytes; GitHub's cap)
 *       pipelines = 1               pipelines run at once (1 to 16)
 *       shutdowntimeout = 30        seconds running pipelines get on SIGTERM
 *       apitokens = /etc/shipyard/api-tokens  "name token" lines of those who
 *                                   may call the API's write endpoints
 *                                   (server/apitokens.h); mode 0600 or
 *                                   stricter, or refused; none: writes
 *                                   are disabled
 *   [publish]
 *       signkey = /etc/shipyard/signing-key.asc   the OpenPGP secret key that
 *                                   signs every repository's packages and
 *                                   repodata (repo-publish/sign.h); mode
 *                                   0600 or stricter, or refused; none:
 *                                   published unsigned
 *   [retention]                 what the state directory keeps (state/retention.h;
 *                               `shipyard gc` and the service apply it)
 *       snapshots = 10          newest snapshots kept per channel (0: all)
 *       snapshotdays = 0        snapshots older than N days removed (0: no limit)
 *       images = 5              newest builds kept per image config (0: all)
 *       imagedays = 0           image builds older than N days removed
 *       pipelines = 200         newest pipeline run directories (logs,
 *                               reports) kept (0: all)
 *       pipelinedays = 0        run directories older than N days removed
 *       interval = 3600         the service collects every N seconds (0: never;
 *                               `shipyard gc` still does)
 *   [repo "minidistro"]
 *       remote = https://git.example/distro.git   (file:// for local mirrors)
 *       branch = main               branches built on push (repeatable)
 *       forge = github              github, gitea (also Forgejo) or gitlab
 *       api = https://api.github.com
 *       project = owner/distro      GitLab: numeric id or group/project
 *       tokenfile = /etc/shipyard/token            both mode 0600 or
 *       secretfile = /etc/shipyard/webhook-secret  stricter, or refused
 *       jobs = 2                    parallel builds of its pipelines
 *       poll = 60                   fetch every N seconds (0: webhooks only)
 *       schedule = 0 3 * * *        cron expression of a release (repeatable)
 *       arch = x86_64
 *       spectree = SPECS            spec trees (repeatable), image configs and
 *       imageconfigs = toolkit/imageconfigs   default rebuild policy, over
 *       rebuildpolicy = transitive  what the repository's shipyard.conf says
 *       channelprefix = mini-       put before the repository channel names
 *                                   (mini-main, mini-pr-7): needed when
 *                                   several repositories share branch names
 *       sourceurl = file:///srv/mirror   a source server asked before the
 *                                   repository's sources.url (repeatable; a
 *                                   URL or template, planner_source_url_parse)
 *       signkey = /etc/shipyard/mini-key.asc   this repository's signing
 *                                   key instead of publish.signkey
 *       gittokenfile = /etc/shipyard/git-token   a private repository over
 *                                   HTTPS: the password or token (mode 0600)
 *       gituser = x-access-token    the user name sent with it
 *       sshkey = /etc/shipyard/deploy-key      over SSH: the private key
 *                                   (mode 0600; <sshkey>.pub used if present)
 *       sshhostkey = SHA256:...     the server's host key fingerprint, as
 *                                   ssh-keygen -lf prints it; required with
 *                                   sshkey (gitwatch/mirror.h)
 * Every key is in server_conf_keys (server/servekeys.c); any other key or
 * section is refused, naming file, line and the nearest known key.
 */
#ifndef SERVER_SERVECONF_H
#define SERVER_SERVECONF_H

#include <stddef.h>

#include "common/confkeys.h"
#include "common/error.h"
#include "common/strv.h"
#include "gitwatch/mirror.h"
#include "state/retention.h"

/* Every key the file may hold, with its default and a line of description
 * (server/servekeys.c, the one place a key is added). */
extern const struct sy_conf_key server_conf_keys[];
extern const size_t server_conf_nkeys;

/* Longest repository name ([repo "<name>"]). */
#define SERVER_REPO_NAME_MAX 100

/* The most pipelines serve.pipelines may run at once. */
#define SERVER_MAX_PIPELINES 16

/* One watched repository. */
struct server_repo_conf {
	char *name;          /* the subsection name, "minidistro" */
	char *remote;        /* clone URL */
	struct sy_strv branches; /* built on push; empty: every branch */
	char *forge;         /* "github", "gitea", "gitlab", or NULL: statuses only logged */
	char *api;           /* forge API base URL */
	char *project;       /* "owner/repo" or a GitLab project id/path */
	char *token_file;    /* read when statuses are sent, never logged */
	char *secret_file;   /* webhook secret; NULL: webhooks refused */
	int jobs;            /* parallel builds (0: cores) */
	unsigned poll_s;     /* 0: no polling */
	struct sy_strv schedules; /* cron expressions */
	char *arch;          /* target arch, NULL: x86_64 */
	char *channel_prefix; /* "" or what channel names start with */
	struct sy_strv spec_trees; /* spectree: replacing the repository's */
	char *imageconfigs;  /* imageconfigs, or NULL: the repository's */
	char *rebuild_policy; /* rebuildpolicy, or NULL: the repository's */
	struct sy_strv source_urls; /* sourceurl values, as written: asked in
			      * order before shipyard.conf's sources.url */
	char *sign_key;      /* signkey, else publish.signkey, or NULL: its
			      * channels are published unsigned */
	char *git_user;      /* gituser ("x-access-token" by default) */
	char *git_token_file; /* gittokenfile, or NULL */
	char *ssh_key;       /* sshkey, or NULL */
	char *ssh_host_key;  /* sshhostkey ("SHA256:<base64>"), or NULL */
};

/* The credentials fetching repo's remote takes (pointing into repo; valid
 * while it lives). */
void server_repo_credentials(const struct server_repo_conf *repo,
			     struct gitwatch_credentials *creds);

/* The whole configuration. */
struct server_conf {
	char *path;          /* the file read */
	char *listen_host;   /* "127.0.0.1" */
	unsigned listen_port;
	char *state_dir;
	char *url;           /* dashboard base URL, no trailing '/' */
	int url_is_default;  /* 1: serve.url was not set ("http://<listen>") */
	size_t max_body;     /* bytes */
	int pipelines;       /* concurrent pipelines */
	unsigned shutdown_timeout_s; /* on SIGTERM, before running pipelines are
				      * stopped and queued again */
	char *api_tokens_file; /* serve.apitokens, or NULL: the API's write
				* endpoints answer 403 */
	char *sign_key;      /* publish.signkey, or NULL (each repository's
			      * sign_key says what its pipelines use) */
	struct state_retention retention; /* [retention]: what the state
				* directory keeps (STATE_RETENTION_DEFAULTS
				* for what is not set) */
	unsigned gc_interval_s; /* retention.interval: seconds between the
				* service's collections; 0: none */
	struct server_repo_conf *repos;
	size_t nrepos;
};

/* Reads path. Relative state and file paths are taken relative to the
 * directory of path. Defaults: listen 127.0.0.1:8080, state
 * "<dir of path>/.shipyard", url "http://<listen>", maxbody 25 MiB,
 * pipelines 1, retention STATE_RETENTION_DEFAULTS and interval 3600. Returns 0, or -1 with err naming the file and the item
 * ("shipyard.conf: repo.minidistro.remote: missing", "serve.listen 'x':
 * not host:port"); refused too: maxbody 0, pipelines outside 1 to
 * SERVER_MAX_PIPELINES, a tokenfile, secretfile or serve.apitokens file
 * that server_check_secret_file refuses, and so is a signkey; a repository name that is not
 * 1 to SERVER_REPO_NAME_MAX of [A-Za-z0-9._-] or starts with '.'; a
 * sourceurl planner_source_url_parse refuses; a schedule server_cron_parse
 * refuses; an arch planner_arch_check refuses; a gittokenfile or sshkey
 * that server_check_secret_file refuses, an sshkey without sshhostkey; a
 * key or section server_conf_keys does not hold ("<path>:7:
 * repo.mini.brnch: unknown key (did you mean repo.mini.branch?)"). Release
 * with server_conf_release. */
int server_conf_read(const char *path, struct server_conf *conf, struct sy_error *err);

/* Returns the repository named name, or NULL. */
const struct server_repo_conf *server_conf_repo(const struct server_conf *conf,
						  const char *name);

/* Checks that the secret or token file at path is the service's alone: it
 * exists, is a regular file (after following links) and neither group nor
 * others may read, write or run it (a file others can read hands them the
 * forge account, the webhook secret or the API; one they can write lets
 * them choose it). key names the configuration item in the message
 * ("repo.a.secretfile '/etc/s': group or others may access it (mode
 * 0644); chmod 600 it"). Returns 0, or -1 with err. */
int server_check_secret_file(const char *path, const char *key, struct sy_error *err);

/* Reads a secret or token file: its content without the trailing newline,
 * newly allocated (caller frees and should clear it). Returns NULL with err
 * ("<path>: cannot read: ..."; never the content) on failure. */
char *server_read_secret(const char *path, struct sy_error *err);

/* Frees the configuration. */
void server_conf_release(struct server_conf *conf);

#endif
