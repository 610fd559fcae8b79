/* Every key of the service's configuration, shipyard-serve.conf
 * (server/serveconf.h, and the [publish "s3"] section repo-publish/s3.h
 * reads from the same file), one line a key: a key missing here is refused
 * as unknown by server_conf_read, and docs/configuration.md must describe
 * each (tests/unit/test_confdocs.c). */
#include "server/serveconf.h"

#include "common/util.h"

const struct sy_conf_key server_conf_keys[] = {
	{ "serve.listen", 0, "127.0.0.1:8080", "address:port of the HTTP server" },
	{ "serve.state", 0, "<directory of the file>/.shipyard", "the state directory" },
	{ "serve.url", 0, "http://<serve.listen>", "base of the dashboard links in statuses" },
	{ "serve.maxbody", 0, "26214400", "webhook body limit (bytes)" },
	{ "serve.pipelines", 0, "1", "pipelines run at once (1 to 16)" },
	{ "serve.shutdowntimeout", 0, "30", "seconds running pipelines get on SIGTERM" },
	{ "serve.apitokens", SY_CONF_SECRET, NULL, "\"name token\" lines of who may call the API's write endpoints" },
	{ "serve.apiread", 0, "open", "whether reads under /api/ need a token too: open or token" },
	{ "publish.signkey", SY_CONF_SECRET, NULL, "the OpenPGP secret key that signs packages and repodata" },
	{ "publish.s3.endpoint", 0, NULL, "S3-compatible endpoint URL channels are copied to" },
	{ "publish.s3.bucket", 0, NULL, "the bucket" },
	{ "publish.s3.prefix", 0, "", "what object keys start with" },
	{ "publish.s3.region", 0, "us-east-1", "the signing region" },
	{ "publish.s3.credentials", SY_CONF_SECRET, NULL, "file of one line ACCESS_KEY_ID:SECRET_ACCESS_KEY" },
	{ "publish.s3.retries", 0, "4", "tries after the first on 5xx, 429 and connection errors" },
	{ "retention.snapshots", 0, "10", "newest snapshots kept per channel (0: all)" },
	{ "retention.snapshotdays", 0, "0", "snapshots older than N days removed (0: no limit)" },
	{ "retention.images", 0, "5", "newest builds kept per image config (0: all)" },
	{ "retention.imagedays", 0, "0", "image builds older than N days removed (0: no limit)" },
	{ "retention.pipelines", 0, "200", "newest pipeline run directories kept (0: all)" },
	{ "retention.pipelinedays", 0, "0", "run directories older than N days removed (0: no limit)" },
	{ "retention.interval", 0, "3600", "seconds between the service's collections (0: never)" },
	{ "retention.cachedays", 0, "14", "plan cache values unused for N days removed (0: never)" },
	{ "repo.*.remote", 0, NULL, "clone URL (required)" },
	{ "repo.*.branch", SY_CONF_MULTI, "every branch", "a branch built on push" },
	{ "repo.*.forge", 0, NULL, "github, gitea, forgejo or gitlab" },
	{ "repo.*.api", 0, NULL, "forge API base URL" },
	{ "repo.*.project", 0, NULL, "owner/repo, or a GitLab project id or path" },
	{ "repo.*.tokenfile", SY_CONF_SECRET, NULL, "the forge API token (statuses, comments)" },
	{ "repo.*.secretfile", SY_CONF_SECRET, NULL, "the webhook secret" },
	{ "repo.*.gituser", 0, "x-access-token", "the user name sent with gittokenfile over HTTPS" },
	{ "repo.*.gittokenfile", SY_CONF_SECRET, NULL, "the password or token fetching over HTTPS" },
	{ "repo.*.sshkey", SY_CONF_SECRET, NULL, "the private key fetching over SSH" },
	{ "repo.*.sshhostkey", 0, NULL, "the SSH server's host key fingerprint, SHA256:..." },
	{ "repo.*.jobs", 0, "0", "parallel builds of its pipelines (0: cores)" },
	{ "repo.*.poll", 0, "0", "fetch every N seconds (0: webhooks only)" },
	{ "repo.*.schedule", SY_CONF_MULTI, NULL, "cron expression of a release" },
	{ "repo.*.arch", 0, "x86_64", "the target arch: x86_64 or aarch64" },
	{ "repo.*.spectree", SY_CONF_MULTI, "shipyard.conf's distro.spectree", "spec trees, replacing the repository's" },
	{ "repo.*.imageconfigs", 0, "shipyard.conf's distro.imageconfigs", "image config directory" },
	{ "repo.*.rebuildpolicy", 0, "shipyard.conf's distro.rebuildpolicy", "default rebuild policy" },
	{ "repo.*.channelprefix", 0, "", "put before the repository's channel names" },
	{ "repo.*.sourceurl", SY_CONF_MULTI, NULL, "a source server asked before shipyard.conf's sources.url" },
	{ "repo.*.signkey", SY_CONF_SECRET, "publish.signkey", "this repository's signing key" },
	{ "repo.*.executor", 0, "local", "where its builds run: local or slurm" },
	{ "repo.*.partition", 0, NULL, "the Slurm partition its builds are submitted to" },
	{ "repo.*.account", 0, NULL, "the Slurm account its builds are charged to" },
	{ "repo.*.qos", 0, NULL, "the Slurm quality of service of its builds" },
	{ "repo.*.sbatchoption", SY_CONF_MULTI, NULL, "one more sbatch option (--name=value)" },
};

const size_t server_conf_nkeys = LEN(server_conf_keys);
