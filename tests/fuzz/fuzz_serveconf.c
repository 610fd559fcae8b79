/* The service configuration: server_conf_read (server/serveconf.h) on the
 * input written to a file. Checks what the header promises of a
 * configuration read: a listen port, at least one pipeline, repositories
 * with a name and a remote, a dashboard URL without a trailing '/'. */
#define FUZZ_HOLD_LIBGIT2 /* fuzz.h */
#include "fuzz.h"

#include "server/serveconf.h"

static void check_conf(const struct server_conf *c)
{
	size_t n = strlen(c->url);

	if (!c->path || !c->listen_host || c->listen_port > 65535 || !c->state_dir ||
	    c->pipelines < 1 || (n && c->url[n - 1] == '/'))
		abort();
	for (size_t i = 0; i < c->nrepos; i++) {
		const struct server_repo_conf *r = &c->repos[i];
		if (!r->name || !r->remote || !r->channel_prefix ||
		    server_conf_repo(c, r->name) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_conf conf;
	struct sy_error err = { { 0 } };
	char *path = fuzz_write_file("shipyard-serve.conf", data, size);

	if (server_conf_read(path, &conf, &err) == 0) {
		check_conf(&conf);
		server_conf_release(&conf);
	} else if (!err.msg[0]) {
		abort();
	}
	free(path);
	return 0;
}
