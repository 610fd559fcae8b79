/* Webhook signature checks: forge_webhook_verify (forge/webhook.h) on a
 * delivery in the form fuzz.h describes, with the secret of its first line.
 * Besides crashes, checks that a delivery is accepted only when it carries
 * the right proof, recomputed here: for GitLab an X-Gitlab-Token equal to
 * the secret; else the HMAC-SHA256 of the body under the secret, in
 * X-Hub-Signature-256 ("sha256=<hex>") or, for Gitea only and when that
 * header is absent, X-Gitea-Signature or X-Forgejo-Signature. */
#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "forge/webhook.h"

/* 1 when hex (any case) is the hex of the HMAC-SHA256 of the body. */
static int hmac_matches(const struct fuzz_delivery *d, const char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char want[2 * EVP_MAX_MD_SIZE + 1];

	if (!HMAC(EVP_sha256(), d->secret, (int)strlen(d->secret),
		  (const unsigned char *)d->body, d->len, md, &md_len))
		abort();
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	return !strcasecmp(hex, want);
}

static int authentic(struct fuzz_delivery *d)
{
	const char *sig = fuzz_header(d, "X-Hub-Signature-256");

	if (!d->secret[0])
		return 0;
	if (d->kind == FORGE_GITLAB) {
		const char *token = fuzz_header(d, "X-Gitlab-Token");
		return token && !strcmp(token, d->secret);
	}
	if (sig)
		return !strncmp(sig, "sha256=", 7) && hmac_matches(d, sig + 7);
	if (d->kind != FORGE_GITEA)
		return 0;
	sig = fuzz_header(d, "X-Gitea-Signature");
	if (!sig)
		sig = fuzz_header(d, "X-Forgejo-Signature");
	return sig && hmac_matches(d, sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sy_error err = { { 0 } };
	struct fuzz_delivery d;
	int rc;

	fuzz_delivery_split(data, size, &d);
	rc = forge_webhook_verify(d.kind, fuzz_header, &d, d.body, d.len, d.secret, &err);
	if ((rc == 0) != authentic(&d) || (rc != 0 && !err.msg[0]))
		abort();
	fuzz_delivery_release(&d);
	return 0;
}
