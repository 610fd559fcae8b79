/* Webhook payloads: forge_webhook_parse (forge/webhook.h) on a delivery in
 * the form fuzz.h describes (forge, headers, body). Besides crashes, leaks
 * and undefined behaviour, checks what webhook.h promises: a failed parse
 * leaves the event empty; a parsed one has its delivery id and event name,
 * commit ids that are "" or 40/64 lowercase hex digits, and a push event on
 * a branch under refs/heads/. */
#include "fuzz.h"

#include "forge/webhook.h"

/* 1 when sha is "" or FORGE_SHA_MAX/40 lowercase hex digits. */
static int sha_ok(const char *sha)
{
	size_t n = strlen(sha);

	return strspn(sha, "0123456789abcdef") == n && (n == 0 || n == 40 || n == FORGE_SHA_MAX);
}

static void check_event(const struct forge_event *ev, enum forge_kind kind)
{
	if (ev->forge != kind || !ev->delivery_id || !ev->event_name)
		abort();
	if (!sha_ok(ev->before) || !sha_ok(ev->after) || !sha_ok(ev->head_sha) ||
	    !sha_ok(ev->base_sha))
		abort();
	if (ev->kind == FORGE_EVENT_PUSH &&
	    (!ev->ref || !ev->branch || strncmp(ev->ref, "refs/heads/", 11) ||
	     strcmp(ev->ref + 11, ev->branch) || !ev->after[0]))
		abort();
	if (ev->kind >= FORGE_EVENT_PR_OPENED && ev->kind <= FORGE_EVENT_PR_CLOSED &&
	    (!ev->head_sha[0] || !ev->head_ref || !ev->base_ref || !ev->repo_full_name))
		abort();
	if (ev->kind == FORGE_EVENT_IGNORED && !ev->ignored_reason)
		abort();
	if (!forge_event_kind_name(ev->kind))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct forge_event ev = FORGE_EVENT_INIT;
	struct sy_error err = { { 0 } };
	struct fuzz_delivery d;

	fuzz_delivery_split(data, size, &d);
	if (forge_webhook_parse(d.kind, fuzz_header, &d, d.body, d.len, &ev, &err) == 0) {
		check_event(&ev, d.kind);
	} else {
		/* Documented: *ev left empty, err set. */
		if (!err.msg[0] || ev.delivery_id || ev.event_name || ev.action || ev.ref ||
		    ev.repo_full_name || ev.branch || ev.head_ref || ev.base_ref)
			abort();
	}
	forge_event_release(&ev);
	fuzz_delivery_release(&d);
	return 0;
}
