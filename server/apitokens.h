/* Who may call the service's write endpoints (POST /api/..., server/api.c):
 * the tokens of the file serve.apitokens names (server/serveconf.h), one
 * "name token" per line:
 *
 *   # name       token (openssl rand -hex 32)
 *   alice        3f9c0d...e1
 *   release-bot  77a0b2...9b
 *
 * Blank lines and lines whose first non-blank character is '#' are
 * skipped. A name is 1 to SERVER_API_TOKEN_NAME_MAX of [A-Za-z0-9._@-]: it
 * is what the store, the dashboard and the log record for an approval. A
 * token is SERVER_API_TOKEN_MIN to SERVER_API_TOKEN_MAX printable ASCII
 * characters other than space; names and tokens are each unique.
 *
 * A request carries its token as "Authorization: Bearer <token>". Only the
 * SHA-256 of each token is kept; a presented token is hashed and compared
 * with every digest of the file with CRYPTO_memcmp (fixed-size digests,
 * constant time, no early exit on a match), so that neither how long the
 * answer takes nor which entry matched says anything about a token. The
 * service reads the file for every write request, as it reads the webhook
 * secrets for every delivery: a token removed from the file is refused at
 * once, without a restart. */
#ifndef SERVER_APITOKENS_H
#define SERVER_APITOKENS_H

#include <stddef.h>

#include "common/error.h"
#include "common/hash.h"

/* Longest token name, in bytes. */
#define SERVER_API_TOKEN_NAME_MAX 64
/* Shortest token: 16 characters (openssl rand -hex 32 gives 64); a short
 * one could be guessed through the API, which does not limit attempts. */
#define SERVER_API_TOKEN_MIN 16
/* Longest token, in bytes. */
#define SERVER_API_TOKEN_MAX 512

/* One writer. */
struct server_api_token {
	char name[SERVER_API_TOKEN_NAME_MAX + 1]; /* "alice" */
	char digest[SY_SHA256_HEX_LEN + 1];       /* SHA-256 of the token (hex) */
};

/* The tokens of one file. Zero-initialise (SERVER_API_TOKENS_INIT); release
 * with server_api_tokens_release. */
struct server_api_tokens {
	struct server_api_token *items; /* in file order, malloc'ed */
	size_t n;
};

#define SERVER_API_TOKENS_INIT { NULL, 0 }

/* Reads the token file at path into *out (replacing nothing: out must be
 * empty). The file must pass server_check_secret_file (existing, regular,
 * mode 0600 or stricter: "serve.apitokens '<path>': group or others may
 * access it (mode 0644); chmod 600 it") and hold at least one token.
 * Returns 0, or -1 with err naming the file and the line ("<path>:3: alice:
 * token shorter than 16 characters"), never a token; *out is empty then. */
int server_api_tokens_load(const char *path, struct server_api_tokens *out,
			   struct sy_error *err);

/* Returns the entry of t whose token is token (len bytes, need not be
 * NUL-terminated), or NULL. Every entry is compared in constant time,
 * whichever matched. */
const struct server_api_token *server_api_tokens_check(const struct server_api_tokens *t,
						       const char *token, size_t len);

/* The credential of an Authorization header value "Bearer <token>" (the
 * scheme in any case, RFC 7235; spaces around the token ignored): returns a
 * pointer into value and its length in *len, or NULL when value is NULL,
 * of another scheme, or has no token. */
const char *server_api_bearer(const char *value, size_t *len);

/* Frees t's entries (their digests are cleared first) and empties it. */
void server_api_tokens_release(struct server_api_tokens *t);

#endif
