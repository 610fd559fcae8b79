/* Form-encoded webhook bodies: forge_webhook_json (forge/webhook.h) on a
 * delivery in the form fuzz.h describes; the Content-Type header decides
 * whether the body is decoded. Checks that the decoded payload is
 * NUL-terminated, no longer than the body, and absent for other content
 * types. */
#include "fuzz.h"

#include "forge/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sy_error err = { { 0 } };
	struct fuzz_delivery d;
	char *json = NULL;
	size_t json_len = 0;
	int rc;

	fuzz_delivery_split(data, size, &d);
	rc = forge_webhook_json(fuzz_header, &d, d.body, d.len, &json, &json_len, &err);
	if (rc == 0 && json && (json_len > d.len || json[json_len] != '\0'))
		abort();
	if (rc != 0 && (json || !err.msg[0]))
		abort();
	const char *type = fuzz_header(&d, "Content-Type");
	if (json && (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33)))
		abort();
	free(json);
	fuzz_delivery_release(&d);
	return 0;
}
