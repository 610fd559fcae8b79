#include "server/apitokens.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/fs.h"
#include "server/serveconf.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-"

/* 1 when the n bytes at s are printable ASCII other than space. */
static int token_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* The next field of line at *p (fields are separated by spaces and tabs):
 * its start, its length in *n; NULL at the end of the line. */
static const char *next_field(const char **p, size_t *n)
{
	const char *s = *p + strspn(*p, " \t");

	if (!*s)
		return NULL;
	*n = strcspn(s, " \t");
	*p = s + *n;
	return s;
}

/* Adds the entry of one line (NUL-terminated, no newline), numbered lineno
 * of path, to out. Returns 0, or -1 with err. */
static int parse_line(const char *path, size_t lineno, const char *line,
		      struct server_api_tokens *out, struct sy_error *err)
{
	const char *p = line, *name, *token;
	size_t nlen = 0, tlen = 0;
	struct server_api_token entry;

	name = next_field(&p, &nlen);
	if (!name || *name == '#')
		return 0;
	token = next_field(&p, &tlen);
	if (nlen > SERVER_API_TOKEN_NAME_MAX || strspn(name, NAME_CHARS) < nlen)
		return sy_error_set(err, "%s:%zu: a name is 1 to %d letters, digits, '.', '_', '@' or "
					 "'-'", path, lineno, SERVER_API_TOKEN_NAME_MAX);
	memcpy(entry.name, name, nlen);
	entry.name[nlen] = '\0';
	if (!token)
		return sy_error_set(err, "%s:%zu: %s: no token", path, lineno, entry.name);
	if (next_field(&p, &nlen))
		return sy_error_set(err, "%s:%zu: %s: more than a name and a token", path, lineno,
				    entry.name);
	if (tlen < SERVER_API_TOKEN_MIN || tlen > SERVER_API_TOKEN_MAX || !token_chars(token, tlen))
		return sy_error_set(err, "%s:%zu: %s: a token is %d to %d printable characters",
				    path, lineno, entry.name, SERVER_API_TOKEN_MIN,
				    SERVER_API_TOKEN_MAX);
	sy_sha256_buf(token, tlen, entry.digest);
	for (size_t i = 0; i < out->n; i++) {
		if (!strcmp(out->items[i].name, entry.name))
			return sy_error_set(err, "%s:%zu: %s: named twice", path, lineno, entry.name);
		/* Two names for one token: an approval could not say whose. */
		if (!strcmp(out->items[i].digest, entry.digest))
			return sy_error_set(err, "%s:%zu: %s: the same token as %s", path, lineno,
					    entry.name, out->items[i].name);
	}
	out->items = sy_xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
	out->items[out->n++] = entry;
	OPENSSL_cleanse(&entry, sizeof(entry));
	return 0;
}

/* Parses the whole text (NUL-terminated, modified: lines are cut). */
static int parse(const char *path, char *text, struct server_api_tokens *out,
		 struct sy_error *err)
{
	size_t lineno = 0;

	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (parse_line(path, ++lineno, line, out, err))
			return -1;
	}
	if (!out->n)
		return sy_error_set(err, "%s: no token", path);
	return 0;
}

int server_api_tokens_load(const char *path, struct server_api_tokens *out,
			   struct sy_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	out->items = NULL;
	out->n = 0;
	if (server_check_secret_file(path, "serve.apitokens", err))
		return -1;
	if (sy_read_file(path, &text, &len, NULL))
		return sy_error_set(err, "%s: cannot read the token file", path);
	if (memchr(text, '\0', len))
		rc = sy_error_set(err, "%s: not a text file", path);
	else
		rc = parse(path, text, out, err);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc)
		server_api_tokens_release(out);
	return rc;
}

const struct server_api_token *server_api_tokens_check(const struct server_api_tokens *t,
						       const char *token, size_t len)
{
	const struct server_api_token *found = NULL;
	char digest[SY_SHA256_HEX_LEN + 1];

	/* Hashing first makes every comparison one of two fixed-size digests,
	 * whatever the length of what was presented. */
	sy_sha256_buf(token, len, digest);
	for (size_t i = 0; i < t->n; i++)
		if (CRYPTO_memcmp(digest, t->items[i].digest, SY_SHA256_HEX_LEN) == 0)
			found = &t->items[i];
	OPENSSL_cleanse(digest, sizeof(digest));
	return found;
}

const char *server_api_bearer(const char *value, size_t *len)
{
	const char *token;

	if (!value || strncasecmp(value, "Bearer", 6) || (value[6] != ' ' && value[6] != '\t'))
		return NULL;
	token = value + 6 + strspn(value + 6, " \t");
	*len = strcspn(token, " \t");
	if (!*len || token[*len + strspn(token + *len, " \t")])
		return NULL;
	return token;
}

void server_api_tokens_release(struct server_api_tokens *t)
{
	if (t->items)
		OPENSSL_cleanse(t->items, t->n * sizeof(*t->items));
	free(t->items);
	t->items = NULL;
	t->n = 0;
}
