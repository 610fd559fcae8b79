/* Webhook deliveries to a service built in the test (server/hooks.c): which
 * configured repository a delivery goes to, decided by its signature and
 * forge before anything of the body is read. */
#define _GNU_SOURCE
#include "testutil.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "server/serve-private.h"

/* Two GitHub repositories with their own secrets and one GitLab repository. */
static const char conf_text[] =
	"[serve]\n\tstate = st\n"
	"[repo \"a\"]\n\tremote = file:///srv/a.git\n\tforge = github\n\tproject = o/a\n"
	"\tapi = http://127.0.0.1:1\n\ttokenfile = token\n"
	"\tsecretfile = secret-a\n"
	"[repo \"b\"]\n\tremote = file:///srv/b.git\n\tforge = github\n\tproject = o/b\n"
	"\tapi = http://127.0.0.1:1\n\ttokenfile = token\n"
	"\tsecretfile = secret-b\n"
	"[repo \"g\"]\n\tremote = file:///srv/g.git\n\tforge = gitlab\n\tproject = o/g\n"
	"\tapi = http://127.0.0.1:1\n\ttokenfile = token\n"
	"\tsecretfile = secret-g\n";

struct service {
	char *dir;
	struct serve s;
};

static int setup(void **state)
{
	struct service *t = calloc(1, sizeof(*t));
	char *path, *db;
	struct sy_error err = { { 0 } };

	t->dir = test_tmpdir();
	test_write_file(t->dir, "serve.conf", conf_text);
	test_write_file(t->dir, "secret-a", "secret of a\n");
	test_write_file(t->dir, "secret-b", "secret of b\n");
	test_write_file(t->dir, "secret-g", "token of g\n");
	test_write_file(t->dir, "token", "forge token\n");
	for (const char *const *f = (const char *const[]){ "secret-a", "secret-b", "secret-g",
							    "token", NULL };
	     *f; f++) {
		char *secret = sy_xasprintf("%s/%s", t->dir, *f);
		assert_int_equal(chmod(secret, 0600), 0);
		free(secret);
	}
	path = sy_xasprintf("%s/serve.conf", t->dir);
	assert_ok(server_conf_read(path, &t->s.conf, &err), &err);
	free(path);
	assert_ok(sy_mkdir_p(t->s.conf.state_dir, 0700, &err), &err);
	db = sy_xasprintf("%s/state.db", t->s.conf.state_dir);
	assert_ok(server_store_open(db, &t->s.store, &err), &err);
	free(db);
	db = sy_xasprintf("%s/outbox.db", t->s.conf.state_dir);
	t->s.outbox = forge_outbox_open(db, &err);
	assert_non_null(t->s.outbox);
	free(db);
	/* No forge API: statuses are only logged. */
	t->s.forges = calloc(t->s.conf.nrepos, sizeof(*t->s.forges));
	t->s.metrics = server_metrics_new(t->s.conf.state_dir);
	pthread_mutex_init(&t->s.lock, NULL);
	pthread_cond_init(&t->s.wake, NULL);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct service *t = *state;

	server_metrics_free(t->s.metrics);
	free(t->s.forges);
	forge_outbox_close(t->s.outbox);
	server_store_close(t->s.store);
	server_conf_release(&t->s.conf);
	pthread_mutex_destroy(&t->s.lock);
	pthread_cond_destroy(&t->s.wake);
	sy_rm_rf(t->dir, NULL);
	free(t->dir);
	free(t);
	return 0;
}

struct delivery {
	const char *event_header, *event;
	const char *sig_header;
	char sig[80];
	char id[40];
};

static const char *header_of(void *arg, const char *name)
{
	struct delivery *d = arg;

	if (!strcasecmp(name, d->event_header))
		return d->event;
	if (d->sig_header && !strcasecmp(name, d->sig_header))
		return d->sig;
	if (!strcasecmp(name, "X-GitHub-Delivery") || !strcasecmp(name, "X-Gitlab-Event-UUID"))
		return d->id;
	return NULL;
}

static char *push_body(const char *full_name)
{
	return sy_xasprintf("{\"ref\":\"refs/heads/main\",\"before\":\"6113728f27ae82c7b1a177c8d0"
			    "3f9e96e0adf246\",\"after\":\"7113728f27ae82c7b1a177c8d03f9e96e0adf246"
			    "\",\"repository\":{\"full_name\":\"%s\"}}", full_name);
}

/* POSTs a GitHub push signed with secret to /hooks/github?query; returns
 * the status, the reply in *r (caller releases). */
static int deliver_github(struct service *t, const char *query, const char *secret,
			  const char *body, struct server_http_response *r)
{
	static int n;
	struct delivery d = { .event_header = "X-GitHub-Event", .event = "push",
			      .sig_header = "X-Hub-Signature-256" };
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body,
	     strlen(body), mac, &mac_len);
	strcpy(d.sig, "sha256=");
	for (unsigned i = 0; i < mac_len; i++)
		sprintf(d.sig + 7 + 2 * i, "%02x", mac[i]);
	snprintf(d.id, sizeof(d.id), "delivery-%d", ++n);
	memset(r, 0, sizeof(*r));
	serve_on_webhook(&t->s, "github", header_of, &d, query, body, strlen(body), r);
	return r->status;
}

/* The repository of the pipeline the last reply queued. */
static char *queued_repo(struct service *t, const struct server_http_response *r)
{
	const char *id = strstr(r->body, "\"pipeline\":");
	struct server_store_pipeline p;
	struct sy_error err = { { 0 } };
	char *repo;

	assert_non_null(id);
	assert_int_equal(server_store_get(t->s.store, atol(id + 11), &p, &err), 1);
	repo = sy_xstrdup(p.repo);
	server_store_pipeline_release(&p);
	return repo;
}

/* With two GitHub repositories and no ?repo=, the secret that verifies the
 * signature picks the repository, whatever the payload claims. */
static void test_webhook_goes_to_the_repository_whose_secret_verifies_it(void **state)
{
	struct service *t = *state;
	struct server_http_response r;
	char *body = push_body("o/a"), *repo;

	assert_int_equal(deliver_github(t, "", "secret of b", body, &r), 202);
	repo = queued_repo(t, &r);
	assert_string_equal(repo, "b");
	free(repo);
	server_http_response_release(&r);

	assert_int_equal(deliver_github(t, "", "secret of a", body, &r), 202);
	repo = queued_repo(t, &r);
	assert_string_equal(repo, "a");
	free(repo);
	server_http_response_release(&r);
	free(body);
}

/* A signature no secret verifies is 401 (not a 404 that tells an attacker
 * nothing matched by name), and nothing is queued. */
static void test_webhook_with_unknown_signature_is_refused_401(void **state)
{
	struct service *t = *state;
	struct server_http_response r;
	char *body = push_body("o/a");

	assert_int_equal(deliver_github(t, "", "guessed", body, &r), 401);
	assert_non_null(strstr(r.body, "no configured repository"));
	server_http_response_release(&r);
	assert_int_equal(deliver_github(t, "repo=a", "secret of b", body, &r), 401);
	server_http_response_release(&r);
	free(body);
}

/* ?repo= names a repository of another forge: the GitLab repository's token
 * does not make a GitHub delivery for it. */
static void test_webhook_repo_query_must_match_the_forge(void **state)
{
	struct service *t = *state;
	struct server_http_response r;
	char *body = push_body("o/g");

	assert_int_equal(deliver_github(t, "repo=g", "token of g", body, &r), 404);
	server_http_response_release(&r);
	assert_int_equal(deliver_github(t, "x=1&repo=nosuch", "secret of a", body, &r), 404);
	server_http_response_release(&r);
	assert_int_equal(deliver_github(t, "x=1&repo=a", "secret of a", body, &r), 202);
	server_http_response_release(&r);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_webhook_goes_to_the_repository_whose_secret_verifies_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_with_unknown_signature_is_refused_401,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_repo_query_must_match_the_forge, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
