/* The durable outbox of forge statuses, in its own tables of the state
 * database (state/db.h): the pipeline enqueues statuses, a sender drains
 * them to the forges (forge/forge.h). Guarantees, per key (forge name, sha,
 * context):
 *  - entries are committed before forge_outbox_enqueue returns and are sent
 *    in the order they were enqueued; one that was being sent when the process
 *    died is sent again (at least once until a forge accepts it);
 *  - a pending or running entry not accepted yet is skipped when a later entry
 *    for the same key is queued (only the latest is sent);
 *  - at most one final state (success, failure, error, cancelled) is sent:
 *    once a final is queued or accepted, later entries for the key are dropped,
 *    and a final accepted with a 2xx is never sent again (until
 *    forge_outbox_reopen_commit starts a new run of the commit);
 *  - on RETRY answers the entry waits 1 s, 2 s, 4 s ... (capped at 5 min), or
 *    longer when the forge said so (Retry-After, rate-limit reset), and the
 *    other entries of that forge wait as long (the failing one probes);
 *  - a REJECTED entry (422, 404...) is marked failed and reported to the
 *    caller's callback with the forge's message; later entries go on.
 * One handle is used by one thread at a time; other threads (enqueuing while a
 * sender drains) open their own handle on the same file. Only one process or
 * thread drains a database. */
#ifndef FORGE_OUTBOX_H
#define FORGE_OUTBOX_H

#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "common/strv.h"
#include "forge/forge.h"

/* Longest wait between two attempts of one entry without a Retry-After, in
 * seconds. */
#define FORGE_OUTBOX_BACKOFF_MAX 300
/* Longest wait honoured from a forge's Retry-After or rate-limit reset, in
 * seconds. */
#define FORGE_OUTBOX_RETRY_AFTER_MAX 3600

/* An open outbox: a SQLite connection to the state database. */
struct forge_outbox;

/* One queued status, as handed to the callbacks (strings owned by the outbox,
 * valid during the call only). */
struct forge_outbox_entry {
	int64_t id;		/* position in the queue (increasing with enqueue order) */
	const char *forge_name;	/* the name given to forge_outbox_enqueue */
	struct forge_status_request request; /* the status */
	int attempts;		/* attempts made before this one */
};

/* Returns the forge called name (owned by the caller, alive during the
 * drain), or NULL when there is none: the entry is then marked failed. */
typedef const struct forge *(*forge_outbox_lookup_fn)(void *arg, const char *name);

/* Told about an entry the forge rejected (or that cannot be sent: unknown
 * forge, malformed sha); message is the forge's message or the reason. */
typedef void (*forge_outbox_reject_fn)(void *arg, const struct forge_outbox_entry *entry,
					 long http_status, const char *message);

/* Sends one status; same contract as forge_send (the default). */
typedef int (*forge_outbox_send_fn)(const struct forge *f,
				      const struct forge_status_request *r,
				      struct forge_response *out, struct sy_error *err);

/* Number of enum forge_kind values (by_kind below is indexed by kind). */
#define FORGE_OUTBOX_NKINDS (FORGE_GITLAB + 1)

/* What one forge_outbox_drain call did (counts of entries). */
struct forge_outbox_drain_stats {
	int accepted; /* sent and accepted */
	int retried;  /* sent, answered RETRY, rescheduled */
	int rejected; /* sent and rejected, or unsendable: marked failed */
	int skipped;  /* superseded pending/running entries not sent */
	/* The sent ones again by the kind of forge they went to (entries for
	 * a forge that is not configured have no kind: only in rejected). */
	struct {
		int accepted, retried, rejected;
	} by_kind[FORGE_OUTBOX_NKINDS];
};

/* Opens the outbox on the state database at db_path (state_db_open: created
 * or upgraded when needed; tables outbox and outbox_final of state/db.h). An
 * entry survives the process being killed; a power loss may take the last
 * ones, as for the store. Returns the handle (close with forge_outbox_close)
 * or NULL with err set. */
struct forge_outbox *forge_outbox_open(const char *db_path, struct sy_error *err);

/* Closes the handle (NULL is allowed). */
void forge_outbox_close(struct forge_outbox *ob);

/* Replaces the function used to send (default forge_send); for tests
 * and tools. */
void forge_outbox_set_sender(struct forge_outbox *ob, forge_outbox_send_fn send);

/* Queues the status r for the forge called forge_name (strings are copied).
 * Returns 1 when queued (committed to disk), 0 when dropped because a final
 * state for (forge_name, sha, context) is already queued or accepted, or -1
 * with err set. *id (if not NULL) gets the entry's id, or 0 when dropped. */
int forge_outbox_enqueue(struct forge_outbox *ob, const char *forge_name,
			   const struct forge_status_request *r, int64_t *id,
			   struct sy_error *err);

/* Messages to a pull request go through the same queue as statuses (same
 * order, retries and backoff per forge), as entries whose context starts
 * with FORGE_OUTBOX_MESSAGE and whose sha is FORGE_OUTBOX_NO_SHA: they
 * never count as open statuses (forge_outbox_open_commits). */
#define FORGE_OUTBOX_MESSAGE "forge:"
#define FORGE_OUTBOX_NO_SHA "0000000000000000000000000000000000000000"

/* Queues the Markdown body as shipyard's comment on pull request pr
 * (GitLab: merge request iid) of forge_name (forge/comment.h): the first
 * one sent creates the comment, whose id is kept in the state database (kv
 * namespace "forge-comment", key "<forge_name>/<pr>"), later ones edit it.
 * An entry not sent yet is replaced by a later one (only the latest text
 * is sent). Returns 1 when queued, or -1 with err. */
int forge_outbox_enqueue_comment(struct forge_outbox *ob, const char *forge_name, long long pr,
				 const char *body, struct sy_error *err);

/* Queues the answer to comment comment_id (a command) on pull request pr:
 * a +1 (approve 1) or -1 reaction, and, when reply is not NULL, a new
 * comment with the Markdown reply. Each is sent once. Returns 1 when
 * queued, 0 when already queued for that comment, or -1 with err. */
int forge_outbox_enqueue_answer(struct forge_outbox *ob, const char *forge_name, long long pr,
				long long comment_id, int approve, const char *reply,
				struct sy_error *err);

/* Sends the entries due at now (Unix seconds), in enqueue order per key, as
 * described at the top of this header. lookup finds forges by name; on_reject
 * (may be NULL) hears about rejected entries; arg is passed to both. Network
 * calls are made without holding a database transaction. stats (may be NULL)
 * receives what was sent, accepted, retried or rejected. Returns 0, or -1
 * with err set only when the database fails (a forge refusing or not
 * answering is not an error of the drain: the entry waits or is marked
 * failed). */
int forge_outbox_drain(struct forge_outbox *ob, time_t now, forge_outbox_lookup_fn lookup,
			 forge_outbox_reject_fn on_reject, void *arg,
			 struct forge_outbox_drain_stats *stats, struct sy_error *err);

/* Appends to forges and shas (parallel) every commit of a forge that has a
 * context whose statuses did not end: a pending or running status was
 * queued and no final one was (accepted, queued, sent or rejected). For the
 * service's start: a context left so by a pipeline that can no longer end
 * it must be closed. Returns 0, or -1 with err. */
int forge_outbox_open_commits(struct forge_outbox *ob, struct sy_strv *forges,
			      struct sy_strv *shas, struct sy_error *err);

/* Queues the final status state (a final state: forge_state_is_final) with
 * description and target_url (may be NULL) for every context of forge_name
 * and sha whose statuses did not end, as forge_outbox_open_commits defines
 * it. Returns how many were queued, or -1 with err. */
int forge_outbox_close_open(struct forge_outbox *ob, const char *forge_name, const char *sha,
			    enum forge_state state, const char *description,
			    const char *target_url, struct sy_error *err);

/* Lets a new run of commit sha report its contexts on forge_name again,
 * once more ending each with one final state: the finals accepted for the
 * commit are forgotten and those queued but not sent yet are skipped, so
 * that the earlier run's result cannot land after the new run's. For a run
 * a person asked for after the commit's statuses ended (the service's
 * approval of a plan the cascade guard held); a final being sent at that
 * moment is recorded as sent but does not end the keys again. Returns 0, or
 * -1 with err. */
int forge_outbox_reopen_commit(struct forge_outbox *ob, const char *forge_name, const char *sha,
			       struct sy_error *err);

/* Returns the number of entries still queued (not yet accepted, failed,
 * skipped or dropped), or -1 with err set. */
long forge_outbox_pending_count(struct forge_outbox *ob, struct sy_error *err);

/* Returns the seconds from now (Unix seconds) until the next queued entry is
 * due (0 when one is due already), -1 when nothing is queued, or -2 with err
 * set when the database fails. For the sender's sleep between drains. */
long forge_outbox_next_due(struct forge_outbox *ob, time_t now, struct sy_error *err);

/* One status of the outbox as recorded (strings owned by the record). */
struct forge_outbox_record {
	char *context;      /* "shipyard/build" */
	char *state;        /* forge_state_name: "pending", "success", ... */
	char *description;  /* or NULL */
	char *target_url;   /* or NULL */
	char *status;       /* where it stands: "queued", "sent", "failed",
			     * "skipped" or "dropped" */
	long http_status;   /* the forge's last answer, 0 when none */
	char *message;      /* the forge's message when it refused, or NULL */
	long long enqueued_at; /* when it was queued, seconds since the epoch */
	int attempts;       /* sends tried */
};

/* The statuses queued for commit sha of the forge called forge_name, in
 * the order they were queued, read through a connection of its own to the
 * state database at db_path (so that any thread may call it): *out
 * (malloc'ed; forge_outbox_records_free) and *n. Returns 0, or -1 with err
 * naming the database. */
int forge_outbox_history(const char *db_path, const char *forge_name, const char *sha,
			 struct forge_outbox_record **out, size_t *n, struct sy_error *err);

/* Frees n records of forge_outbox_history. */
void forge_outbox_records_free(struct forge_outbox_record *records, size_t n);

#endif
