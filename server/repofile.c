/* GET /repos/<channel>.repo: the channel's .repo file
 * (repo-publish/repofile.h), for `curl -o /etc/yum.repos.d/x.repo` or
 * `dnf config-manager --add-repo`. */
#include "server/serve-private.h"

#include <string.h>

#include "repo-publish/publish.h"
#include "repo-publish/repofile.h"
#include "state/layout.h"

/* Longest Host header taken as the base URL (a DNS name and a port). */
#define HOST_MAX 262

/* The base URL of the answer: serve.url when configured (the service behind
 * a proxy knows its public name only from there), else the Host the client
 * asked (the name it reached the service by), else the listening address.
 * Newly allocated. */
static char *base_url(const struct serve *s, forge_header_fn header, void *header_arg)
{
	const char *host = header ? header(header_arg, "Host") : NULL;

	if (!s->conf.url_is_default || !host || !host[0] || strlen(host) > HOST_MAX ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
		    strlen(host))
		return sy_xstrdup(s->conf.url);
	return sy_xasprintf("http://%s", host);
}

int serve_on_repo_file(struct serve *s, const char *method, const char *path,
		       forge_header_fn header, void *header_arg, struct server_http_response *r)
{
	size_t n = strlen(path);
	char *channel, *repos, *snapshot;

	if (strncmp(path, "/repos/", 7) || n < 13 || strcmp(path + n - 5, ".repo") ||
	    strchr(path + 7, '/'))
		return 0;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		server_http_text(r, 405, "text/plain", "GET only\n");
		return 1;
	}
	channel = sy_xstrndup(path + 7, n - 12);
	repos = state_repos_dir(s->conf.state_dir);
	snapshot = channel[0] != '.' ? repo_publish_current_path(repos, channel) : NULL;
	if (!snapshot) {
		server_http_text(r, 404, "text/plain", "no such channel\n");
	} else {
		char *url = base_url(s, header, header_arg);
		char *text = repo_publish_repo_file(url, channel, snapshot);
		server_http_text(r, 200, "text/plain; charset=utf-8", text);
		free(text);
		free(url);
	}
	free(snapshot);
	free(repos);
	free(channel);
	return 1;
}
