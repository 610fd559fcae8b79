#include "forge/forge.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fs.h"
#include "common/strv.h"
#include "forge/forge-private.h"

#define DESCRIPTION_MAX 140 /* characters; GitHub's limit, applied to every forge */
#define RESPONSE_MAX (64 * 1024) /* bytes of a forge's answer kept for its message */

int forge_kind_parse(const char *name, enum forge_kind *kind,
			     struct sy_error *err)
{
	if (!strcmp(name, "github"))
		*kind = FORGE_GITHUB;
	else if (!strcmp(name, "gitea") || !strcmp(name, "forgejo"))
		*kind = FORGE_GITEA;
	else if (!strcmp(name, "gitlab"))
		*kind = FORGE_GITLAB;
	else
		return sy_error_set(err, "forge kind '%s': expected github, gitea, forgejo or gitlab",
				    name);
	return 0;
}

const char *forge_kind_name(enum forge_kind kind)
{
	switch (kind) {
	case FORGE_GITHUB:
		return "github";
	case FORGE_GITEA:
		return "gitea";
	case FORGE_GITLAB:
		return "gitlab";
	}
	return "unknown";
}

int forge_load_token(const char *path, char **token, struct sy_error *err)
{
	char *data = NULL;
	size_t len = 0, start = 0;

	*token = NULL;
	if (sy_read_file(path, &data, &len, err))
		return sy_error_prefix(err, "forge token");
	while (len > 0 && isspace((unsigned char)data[len - 1]))
		data[--len] = '\0';
	while (start < len && isspace((unsigned char)data[start]))
		start++;
	if (start == len || memchr(data + start, '\n', len - start)) {
		explicit_bzero(data, len);
		free(data);
		return sy_error_set(err, "%s: forge token file is empty or holds several lines",
				    path);
	}
	*token = sy_xstrdup(data + start);
	explicit_bzero(data, len);
	free(data);
	return 0;
}

void forge_release(struct forge *f)
{
	if (f->token)
		explicit_bzero(f->token, strlen(f->token));
	free(f->token);
	free(f->api_url);
	free(f->project);
	*f = (struct forge)FORGE_INIT;
}

static const char *const state_names[] = {
	[FORGE_PENDING] = "pending", [FORGE_RUNNING] = "running",
	[FORGE_SUCCESS] = "success", [FORGE_FAILURE] = "failure",
	[FORGE_ERROR] = "error",     [FORGE_CANCELLED] = "cancelled",
};

const char *forge_state_name(enum forge_state state)
{
	if ((unsigned)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "unknown";
}

int forge_state_parse(const char *name, enum forge_state *state,
			      struct sy_error *err)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (!strcmp(name, state_names[i])) {
			*state = (enum forge_state)i;
			return 0;
		}
	}
	return sy_error_set(err, "status state '%s' is unknown", name);
}

int forge_state_is_final(enum forge_state state)
{
	return state != FORGE_PENDING && state != FORGE_RUNNING;
}

const char *forge_state_wire_name(enum forge_kind kind,
					  enum forge_state state)
{
	if (kind == FORGE_GITLAB) {
		switch (state) {
		case FORGE_PENDING:
			return "pending";
		case FORGE_RUNNING:
			return "running";
		case FORGE_SUCCESS:
			return "success";
		case FORGE_FAILURE:
		case FORGE_ERROR:
			return "failed";
		case FORGE_CANCELLED:
			return "canceled";
		}
	}
	switch (state) {
	case FORGE_PENDING:
	case FORGE_RUNNING:
		return "pending";
	case FORGE_SUCCESS:
		return "success";
	case FORGE_FAILURE:
		return "failure";
	case FORGE_ERROR:
	case FORGE_CANCELLED:
		break;
	}
	return "error";
}

char *forge_truncate_utf8(const char *s, size_t max)
{
	size_t i = 0, chars = 0;

	while (s[i] && chars < max) {
		i++;
		/* Skip the continuation bytes (10xxxxxx) of this character. */
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	return sy_xstrndup(s, i);
}

/* Percent-encodes s (curl_easy_escape: everything but ALPHA DIGIT -._~). */
static char *escape(CURL *curl, const char *s, size_t len)
{
	char *e = curl_easy_escape(curl, s, (int)len);
	char *copy = sy_xstrdup(e ? e : "");

	curl_free(e);
	return copy;
}

static int check_sha(const char *sha, struct sy_error *err)
{
	size_t n = sha ? strlen(sha) : 0;

	if (n < 7 || n > 64 || strspn(sha, "0123456789abcdefABCDEF") != n)
		return sy_error_set(err, "commit '%s' is not a hexadecimal commit id",
				    sha ? sha : "(none)");
	return 0;
}

char *forge_repo_base(const struct forge *f, struct sy_error *err)
{
	const char *p = f->project ? f->project : "";
	const char *slash = strchr(p, '/');
	size_t api_len = f->api_url ? strlen(f->api_url) : 0;
	char *owner, *repo, *url;
	CURL *curl;

	while (api_len > 0 && f->api_url[api_len - 1] == '/')
		api_len--;
	if (api_len == 0) {
		sy_error_set(err, "%s project '%s': no API URL", forge_kind_name(f->kind), p);
		return NULL;
	}
	if (f->kind == FORGE_GITLAB && !*p) {
		sy_error_set(err, "gitlab: no project id or path");
		return NULL;
	}
	if (f->kind != FORGE_GITLAB &&
	    (!slash || slash == p || !slash[1] || strchr(slash + 1, '/'))) {
		sy_error_set(err, "%s project '%s': expected owner/repo",
			     forge_kind_name(f->kind), p);
		return NULL;
	}
	curl = curl_easy_init();
	if (!curl) {
		sy_error_set(err, "libcurl: cannot create a handle");
		return NULL;
	}
	if (f->kind == FORGE_GITLAB) {
		owner = escape(curl, p, strlen(p));
		url = sy_xasprintf("%.*s/projects/%s", (int)api_len, f->api_url, owner);
	} else {
		owner = escape(curl, p, (size_t)(slash - p));
		repo = escape(curl, slash + 1, strlen(slash + 1));
		url = sy_xasprintf("%.*s%s/repos/%s/%s", (int)api_len, f->api_url,
				   f->kind == FORGE_GITEA ? "/api/v1" : "", owner, repo);
		free(repo);
	}
	free(owner);
	curl_easy_cleanup(curl);
	return url;
}

static char *build_url(const struct forge *f, const char *sha, struct sy_error *err)
{
	char *base = forge_repo_base(f, err), *url;

	if (!base)
		return NULL;
	url = sy_xasprintf("%s/statuses/%s", base, sha);
	free(base);
	return url;
}

static char *build_body(const struct forge *f, const struct forge_status_request *r)
{
	json_t *o = json_object();
	char *desc = NULL, *body;

	json_object_set_new(o, "state", json_string(forge_state_wire_name(f->kind, r->state)));
	if (r->target_url)
		json_object_set_new(o, "target_url", json_string(r->target_url));
	if (r->description) {
		desc = forge_truncate_utf8(r->description, DESCRIPTION_MAX);
		json_object_set_new(o, "description", json_string(desc));
	}
	json_object_set_new(o, f->kind == FORGE_GITLAB ? "name" : "context",
			    json_string(r->context));
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(desc);
	return body;
}

int forge_build_request(const struct forge *f,
				const struct forge_status_request *r, char **url, char **body,
				struct sy_error *err)
{
	*url = *body = NULL;
	if (check_sha(r->sha, err))
		return -1;
	if (!r->context || !*r->context)
		return sy_error_set(err, "commit %s: status without a context", r->sha);
	*url = build_url(f, r->sha, err);
	if (!*url)
		return -1;
	*body = build_body(f, r);
	if (!*body) {
		free(*url);
		*url = NULL;
		return sy_error_set(err, "commit %s context %s: status is not valid UTF-8", r->sha,
				    r->context);
	}
	return 0;
}

/* The forge's answer, collected by write_cb. */
struct answer {
	char *data;
	size_t len;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct answer *a = userdata;
	size_t n = size * nmemb, keep = n;

	if (a->len + keep > RESPONSE_MAX)
		keep = RESPONSE_MAX - a->len;
	if (keep > 0) {
		a->data = sy_xrealloc(a->data, a->len + keep + 1);
		memcpy(a->data + a->len, ptr, keep);
		a->len += keep;
		a->data[a->len] = '\0';
	}
	return n;
}

/* Frees the header list, zeroing each header first: one of them carries the
 * token. (libcurl's own request buffer is beyond reach.) */
static void free_headers(struct curl_slist *h)
{
	for (struct curl_slist *n = h; n; n = n->next)
		explicit_bzero(n->data, strlen(n->data));
	curl_slist_free_all(h);
}

static struct curl_slist *build_headers(const struct forge *f)
{
	struct curl_slist *h = NULL;
	char *auth = NULL;

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: shipyard");
	h = curl_slist_append(h, "Expect:");
	if (f->kind == FORGE_GITHUB) {
		h = curl_slist_append(h, "Accept: application/vnd.github+json");
		h = curl_slist_append(h, "X-GitHub-Api-Version: 2022-11-28");
	} else {
		h = curl_slist_append(h, "Accept: application/json");
	}
	if (f->token) {
		if (f->kind == FORGE_GITHUB)
			auth = sy_xasprintf("Authorization: Bearer %s", f->token);
		else if (f->kind == FORGE_GITEA)
			auth = sy_xasprintf("Authorization: token %s", f->token);
		else
			auth = sy_xasprintf("PRIVATE-TOKEN: %s", f->token);
		h = curl_slist_append(h, auth);
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	return h;
}

/* Returns the value of header name in the last response as a long, or -1. */
static long header_long(CURL *curl, const char *name)
{
	struct curl_header *h = NULL;
	char *end;
	long v;

	if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value)
		return -1;
	v = strtol(h->value, &end, 10);
	if (end == h->value || v < 0)
		return -1;
	return v;
}

/* Seconds to wait from Retry-After (delta seconds or an HTTP date) or from
 * GitHub's x-ratelimit-reset (epoch seconds) when x-ratelimit-remaining is 0. */
static long retry_after_seconds(CURL *curl)
{
	struct curl_header *h = NULL;
	time_t now = time(NULL);
	long v;

	v = header_long(curl, "Retry-After");
	if (v >= 0)
		return v;
	if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    h->value) {
		time_t when = curl_getdate(h->value, NULL);

		if (when != (time_t)-1)
			return when > now ? (long)(when - now) : 0;
	}
	if (header_long(curl, "x-ratelimit-remaining") == 0) {
		v = header_long(curl, "x-ratelimit-reset");
		if (v >= 0)
			return v > now ? (long)(v - now) : 0;
	}
	return -1;
}

/* Replaces every occurrence of the token in s by "***", in place. */
static void scrub_token(char *s, const char *token)
{
	size_t tl = token ? strlen(token) : 0;
	char *p;

	if (tl < 3)
		return;
	while ((p = strstr(s, token))) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + tl, strlen(p + tl) + 1);
	}
}

/* The forge's error text: "message" (GitHub, Gitea, GitLab) or "error"
 * (GitLab), with GitHub's first errors[].message or errors[].code appended. */
static void forge_message(const struct answer *a, char *buf, size_t size)
{
	json_t *root = a->data ? json_loads(a->data, 0, NULL) : NULL;
	json_t *m = json_object_get(root, "message");
	json_t *first = json_array_get(json_object_get(root, "errors"), 0);
	const char *detail = json_string_value(json_object_get(first, "message"));

	if (!m)
		m = json_object_get(root, "error");
	if (!detail)
		detail = json_string_value(json_object_get(first, "code"));
	if (json_is_string(m))
		snprintf(buf, size, "%s%s%s", json_string_value(m), detail ? ": " : "",
			 detail ? detail : "");
	else if (m) {
		char *dump = json_dumps(m, JSON_COMPACT);

		snprintf(buf, size, "%s", dump ? dump : "");
		free(dump);
	} else if (a->data) {
		snprintf(buf, size, "%.200s", a->data);
	}
	json_decref(root);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static enum forge_result classify(long status, long retry_after, CURL *curl)
{
	if (status >= 200 && status < 300)
		return FORGE_ACCEPTED;
	if (status == 0 || status >= 500 || status == 429 || status == 408)
		return FORGE_RETRY;
	if (status == 403 &&
	    (retry_after >= 0 || header_long(curl, "x-ratelimit-remaining") == 0))
		return FORGE_RETRY;
	return FORGE_REJECTED;
}

static void response_init(struct forge_response *out)
{
	out->result = FORGE_REJECTED;
	out->http_status = 0;
	out->retry_after = -1;
	out->message[0] = '\0';
}

static int perform(CURL *curl, const struct forge *f,
		   struct forge_response *out, struct answer *a)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		out->result = FORGE_RETRY;
		snprintf(out->message, sizeof(out->message), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		scrub_token(out->message, f->token);
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->http_status);
	out->retry_after = retry_after_seconds(curl);
	out->result = classify(out->http_status, out->retry_after, curl);
	if (out->result != FORGE_ACCEPTED)
		forge_message(a, out->message, sizeof(out->message));
	scrub_token(out->message, f->token);
	return out->result == FORGE_ACCEPTED ? 0 : -1;
}

int forge_http(const struct forge *f, const char *method, const char *url, const char *body,
	       struct forge_response *out, char **answer)
{
	struct answer a = { NULL, 0 };
	struct curl_slist *headers = NULL;
	CURL *curl = curl_easy_init();
	int ret = -1;

	response_init(out);
	if (answer)
		*answer = NULL;
	if (!curl) {
		out->result = FORGE_RETRY;
		snprintf(out->message, sizeof(out->message), "libcurl: cannot create a handle");
		return -1;
	}
	headers = build_headers(f);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	ret = perform(curl, f, out, &a);
	free_headers(headers);
	curl_easy_cleanup(curl);
	if (answer)
		*answer = a.data;
	else
		free(a.data);
	return ret;
}

int forge_send(const struct forge *f, const struct forge_status_request *r,
		       struct forge_response *out, struct sy_error *err)
{
	struct answer a = { NULL, 0 };
	struct curl_slist *headers = NULL;
	char *url = NULL, *body = NULL;
	CURL *curl = NULL;
	struct sy_error local;
	int ret = -1;

	if (!err)
		err = &local;
	response_init(out);
	if (forge_build_request(f, r, &url, &body, err)) {
		snprintf(out->message, sizeof(out->message), "%.500s", err->msg);
		return -1;
	}
	curl = curl_easy_init();
	if (!curl) {
		sy_error_set(err, "libcurl: cannot create a handle");
		out->result = FORGE_RETRY;
		goto out;
	}
	headers = build_headers(f);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	ret = perform(curl, f, out, &a);
	if (ret && out->http_status)
		sy_error_set(err, "%s %s commit %.12s context %s: HTTP %ld%s%s",
			     forge_kind_name(f->kind), f->project, r->sha, r->context,
			     out->http_status, out->message[0] ? ": " : "", out->message);
	else if (ret)
		sy_error_set(err, "%s %s commit %.12s context %s: %s",
			     forge_kind_name(f->kind), f->project, r->sha, r->context,
			     out->message);
out:
	free_headers(headers);
	curl_easy_cleanup(curl);
	free(a.data);
	free(url);
	free(body);
	return ret;
}
