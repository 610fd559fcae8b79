#include "forge/outbox.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "forge/comment.h"
#include "state/db.h"

struct forge_outbox {
	sqlite3 *db;
	char *path;
	forge_outbox_send_fn send;
};

/* Entry status values in outbox.status (table outbox, and outbox_final,
 * of state/db.h): queued (waiting or retrying), sent (accepted by the forge),
 * failed (rejected), skipped (superseded before it was sent), dropped (a
 * final for its key was accepted meanwhile). */

static int db_error(struct forge_outbox *ob, struct sy_error *err, const char *what)
{
	return sy_error_set(err, "%s: outbox %s: %s", ob->path, what, sqlite3_errmsg(ob->db));
}

struct forge_outbox *forge_outbox_open(const char *db_path, struct sy_error *err)
{
	struct forge_outbox *ob = sy_xcalloc(1, sizeof(*ob));

	ob->path = sy_xstrdup(db_path);
	ob->send = forge_send;
	if (state_db_open(db_path, STATE_DB_SHARED, &ob->db, err)) {
		forge_outbox_close(ob);
		return NULL;
	}
	return ob;
}

void forge_outbox_close(struct forge_outbox *ob)
{
	if (!ob)
		return;
	sqlite3_close(ob->db);
	free(ob->path);
	free(ob);
}

void forge_outbox_set_sender(struct forge_outbox *ob, forge_outbox_send_fn send)
{
	ob->send = send ? send : forge_send;
}

static int exec(struct forge_outbox *ob, const char *sql, struct sy_error *err)
{
	if (sqlite3_exec(ob->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(ob, err, sql);
	return 0;
}

/* Prepares sql and binds the texts (NULL binds NULL) to ?1..?n. */
static sqlite3_stmt *prepare(struct forge_outbox *ob, const char *sql, int n,
			     const char *const *texts, struct sy_error *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(ob, err, "prepare");
		return NULL;
	}
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_TRANSIENT);
	return st;
}

/* Runs a statement that returns no rows; 0 or -1 with err set. */
static int run(struct forge_outbox *ob, sqlite3_stmt *st, struct sy_error *err)
{
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(ob, err, "write");
	return 0;
}

/* Returns 1 when a final for the key was accepted (or, with queued set, is
 * queued), 0 when not, -1 with err set. */
static int final_exists(struct forge_outbox *ob, const char *forge, const char *sha,
			const char *context, int queued, struct sy_error *err)
{
	const char *t[] = { forge, sha, context };
	sqlite3_stmt *st = prepare(
		ob,
		"SELECT 1 FROM outbox_final WHERE forge = ?1 AND sha = ?2 AND context = ?3 "
		"UNION ALL SELECT 1 FROM outbox WHERE ?4 AND status = 'queued' AND forge = ?1 "
		"AND sha = ?2 AND context = ?3 AND state NOT IN ('pending', 'running') LIMIT 1",
		3, t, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int(st, 4, queued);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return db_error(ob, err, "read");
	return 0;
}

/* 1 when a status of the key was already accepted by the forge, 0 when
 * not, -1 on error. */
static int sent_exists(struct forge_outbox *ob, const char *forge, const char *sha,
		       const char *context, struct sy_error *err)
{
	const char *t[] = { forge, sha, context };
	sqlite3_stmt *st = prepare(ob,
				   "SELECT 1 FROM outbox WHERE status = 'sent' AND forge = ?1 "
				   "AND sha = ?2 AND context = ?3 LIMIT 1",
				   3, t, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_error(ob, err, "read");
}

static int insert_entry(struct forge_outbox *ob, const char *forge_name,
			const struct forge_status_request *r, int64_t *id, struct sy_error *err)
{
	const char *t[] = { forge_name, r->sha, r->context, forge_state_name(r->state),
			    r->description, r->target_url };
	sqlite3_stmt *st = prepare(ob,
				   "INSERT INTO outbox (forge, sha, context, state, description, "
				   "target_url, enqueued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				   6, t, err);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	if (run(ob, st, err))
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(ob->db);
	return 0;
}

int forge_outbox_enqueue(struct forge_outbox *ob, const char *forge_name,
			   const struct forge_status_request *r, int64_t *id,
			   struct sy_error *err)
{
	int found;

	if (id)
		*id = 0;
	if (!forge_name || !r->sha || !r->context)
		return sy_error_set(err, "%s: outbox: status without forge, sha or context",
				    ob->path);
	if (exec(ob, "BEGIN IMMEDIATE", err))
		return -1;
	found = final_exists(ob, forge_name, r->sha, r->context, 1, err);
	if (found < 0 || (!found && insert_entry(ob, forge_name, r, id, err)))
		goto fail;
	if (exec(ob, "COMMIT", err))
		goto fail;
	return !found;
fail:
	sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* One queued entry loaded by a drain. */
struct row {
	int64_t id;
	char *forge, *sha, *context, *description, *target_url;
	enum forge_state state;
	int attempts;
	int64_t next_attempt;
	int resolved; /* no longer queued after this drain's action on it */
};

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? sy_xstrdup((const char *)s) : NULL;
}

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].forge);
		free(rows[i].sha);
		free(rows[i].context);
		free(rows[i].description);
		free(rows[i].target_url);
	}
	free(rows);
}

static int load_queue(struct forge_outbox *ob, struct row **rows, size_t *n,
		      struct sy_error *err)
{
	sqlite3_stmt *st = prepare(ob,
				   "SELECT id, forge, sha, context, state, description, target_url, "
				   "attempts, next_attempt FROM outbox WHERE status = 'queued' "
				   "ORDER BY id",
				   0, NULL, err);
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row *r;

		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*rows = sy_xrealloc(*rows, cap * sizeof(**rows));
		}
		r = &(*rows)[(*n)++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->forge = column_dup(st, 1);
		r->sha = column_dup(st, 2);
		r->context = column_dup(st, 3);
		if (forge_state_parse((const char *)sqlite3_column_text(st, 4), &r->state,
					      NULL))
			r->state = FORGE_ERROR;
		r->description = column_dup(st, 5);
		r->target_url = column_dup(st, 6);
		r->attempts = sqlite3_column_int(st, 7);
		r->next_attempt = sqlite3_column_int64(st, 8);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(ob, err, "read queue");
	return 0;
}

static int same_key(const struct row *a, const struct row *b)
{
	return !strcmp(a->forge, b->forge) && !strcmp(a->sha, b->sha) &&
	       !strcmp(a->context, b->context);
}

/* Sets the status of entry id (and its last answer when status is given). */
static int mark(struct forge_outbox *ob, int64_t id, const char *status, long http_status,
		const char *message, struct sy_error *err)
{
	const char *t[] = { status, message };
	sqlite3_stmt *st = prepare(ob,
				   "UPDATE outbox SET status = ?1, message = ?2, "
				   "http_status = ?3 WHERE id = ?4",
				   2, t, err);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, http_status);
	sqlite3_bind_int64(st, 4, id);
	return run(ob, st, err);
}

/* 1 when entry id is still queued, 0 when not (forge_outbox_reopen_commit
 * skipped it while it was being sent), -1 with err. */
static int still_queued(struct forge_outbox *ob, int64_t id, struct sy_error *err)
{
	sqlite3_stmt *st = prepare(ob, "SELECT 1 FROM outbox WHERE id = ?1 AND status = 'queued'",
				   0, NULL, err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_error(ob, err, "read");
}

/* Records an accepted entry; for a final, records the key as final and drops
 * whatever else is queued for it, in one transaction; unless a new run of
 * the commit reopened it while it was being sent: the key is the new run's. */
static int record_accepted(struct forge_outbox *ob, const struct row *r, long http_status,
			   time_t now, struct sy_error *err)
{
	const char *t[] = { r->forge, r->sha, r->context, forge_state_name(r->state) };
	sqlite3_stmt *st;
	int queued;

	if (!forge_state_is_final(r->state))
		return mark(ob, r->id, "sent", http_status, NULL, err);
	if (exec(ob, "BEGIN IMMEDIATE", err))
		return -1;
	queued = still_queued(ob, r->id, err);
	if (queued < 0 || mark(ob, r->id, "sent", http_status, NULL, err))
		goto fail;
	if (!queued) {
		if (exec(ob, "COMMIT", err))
			goto fail;
		return 0;
	}
	st = prepare(ob, "INSERT OR IGNORE INTO outbox_final VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		     4, t, err);
	if (st) {
		sqlite3_bind_int64(st, 5, r->id);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)now);
	}
	if (run(ob, st, err))
		goto fail;
	st = prepare(ob,
		     "UPDATE outbox SET status = 'dropped' WHERE status = 'queued' AND "
		     "forge = ?1 AND sha = ?2 AND context = ?3",
		     3, t, err);
	if (run(ob, st, err) || exec(ob, "COMMIT", err))
		goto fail;
	return 0;
fail:
	sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Seconds to wait after the attempts-th failed attempt (1-based). */
static long backoff(int attempts, long retry_after)
{
	long delay = attempts > 9 ? FORGE_OUTBOX_BACKOFF_MAX : 1L << (attempts - 1);

	if (delay > FORGE_OUTBOX_BACKOFF_MAX)
		delay = FORGE_OUTBOX_BACKOFF_MAX;
	if (retry_after > FORGE_OUTBOX_RETRY_AFTER_MAX)
		retry_after = FORGE_OUTBOX_RETRY_AFTER_MAX;
	return retry_after > delay ? retry_after : delay;
}

/* Reschedules entry r at until and holds the forge's other queued entries
 * until then too. */
static int record_retry(struct forge_outbox *ob, const struct row *r, int64_t until,
			const struct forge_response *resp, struct sy_error *err)
{
	const char *t[] = { resp->message, r->forge };
	sqlite3_stmt *st;

	if (exec(ob, "BEGIN IMMEDIATE", err))
		return -1;
	st = prepare(ob,
		     "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?3, "
		     "http_status = ?4, message = ?1 WHERE id = ?5",
		     1, t, err);
	if (st) {
		sqlite3_bind_int64(st, 3, until);
		sqlite3_bind_int64(st, 4, resp->http_status);
		sqlite3_bind_int64(st, 5, r->id);
	}
	if (run(ob, st, err))
		goto fail;
	st = prepare(ob,
		     "UPDATE outbox SET next_attempt = MAX(next_attempt, ?3) "
		     "WHERE status = 'queued' AND forge = ?2",
		     2, t, err);
	if (st)
		sqlite3_bind_int64(st, 3, until);
	if (run(ob, st, err) || exec(ob, "COMMIT", err))
		goto fail;
	return 0;
fail:
	sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* State shared by the steps of one drain. */
struct drain {
	struct forge_outbox *ob;
	time_t now;
	forge_outbox_lookup_fn lookup;
	forge_outbox_reject_fn on_reject;
	void *arg;
	struct sy_strv held; /* forges that answered RETRY during this drain */
	struct forge_outbox_drain_stats stats;
};

static void entry_of(const struct row *r, struct forge_outbox_entry *e)
{
	e->id = r->id;
	e->forge_name = r->forge;
	e->request.sha = r->sha;
	e->request.context = r->context;
	e->request.state = r->state;
	e->request.description = r->description;
	e->request.target_url = r->target_url;
	e->attempts = r->attempts;
}

/* Rejects r (f: the forge it was sent to, NULL when none). */
static int reject(struct drain *d, const struct forge *f, struct row *r, long http_status,
		  const char *message, struct sy_error *err)
{
	struct forge_outbox_entry e;

	if (mark(d->ob, r->id, "failed", http_status, message, err))
		return -1;
	r->resolved = 1;
	d->stats.rejected++;
	if (f)
		d->stats.by_kind[f->kind].rejected++;
	entry_of(r, &e);
	if (d->on_reject)
		d->on_reject(d->arg, &e, http_status, message);
	return 0;
}

/* The id of the comment kept for key (forge/pr), 0 when none. */
static long long comment_id_get(struct forge_outbox *ob, const char *key)
{
	const char *t[] = { key };
	sqlite3_stmt *st = prepare(ob, "SELECT value FROM kv WHERE ns = 'forge-comment' AND key = ?1",
				   1, t, NULL);
	long long id = 0;

	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		id = strtoll((const char *)sqlite3_column_text(st, 0), NULL, 10);
	sqlite3_finalize(st);
	return id;
}

static int comment_id_put(struct forge_outbox *ob, const char *key, long long id,
			  struct sy_error *err)
{
	char value[32];
	const char *t[] = { key, value };

	snprintf(value, sizeof(value), "%lld", id);
	return run(ob, prepare(ob, "INSERT OR REPLACE INTO kv (ns, key, value) VALUES "
			       "('forge-comment', ?1, ?2)", 2, t, err), err);
}

/* Sends a message entry (context "forge:comment/<pr>", "forge:reaction/
 * <pr>/<comment>" or "forge:reply/<pr>/<comment>"). Returns 0 when
 * accepted, -1 with resp filled otherwise, -2 with err when the database
 * fails. */
static int send_message(struct forge_outbox *ob, const struct forge *f, const struct row *r,
			struct forge_response *resp, struct sy_error *send_err,
			struct sy_error *err)
{
	const char *what = r->context + strlen(FORGE_OUTBOX_MESSAGE);
	long long pr = 0, comment = 0;

	if (sscanf(what, "comment/%lld", &pr) == 1) {
		char *key = sy_xasprintf("%s/%lld", r->forge, pr);
		long long id = comment_id_get(ob, key);
		int rc = forge_comment_put(f, pr, &id, r->description ? r->description : "", resp,
					   send_err);
		if (rc == 0 && id && comment_id_put(ob, key, id, err))
			rc = -2;
		free(key);
		return rc;
	}
	if (sscanf(what, "reaction/%lld/%lld", &pr, &comment) == 2)
		return forge_reaction_put(f, pr, comment, r->state == FORGE_SUCCESS, resp, send_err);
	if (sscanf(what, "reply/%lld/%lld", &pr, &comment) == 2) {
		long long id = 0;
		return forge_comment_put(f, pr, &id, r->description ? r->description : "", resp,
					 send_err);
	}
	resp->result = FORGE_REJECTED;
	resp->http_status = 0;
	snprintf(resp->message, sizeof(resp->message), "unknown message '%.200s'", r->context);
	return -1;
}

/* Sends entry r (due, head of its key) and records the outcome. */
static int send_one(struct drain *d, struct row *r, struct sy_error *err)
{
	const struct forge *f = d->lookup(d->arg, r->forge);
	struct forge_response resp;
	struct forge_outbox_entry e;
	struct sy_error send_err = { { 0 } };

	if (!f) {
		char *msg = sy_xasprintf("forge '%s' is not configured", r->forge);
		int rc = reject(d, NULL, r, 0, msg, err);

		free(msg);
		return rc;
	}
	entry_of(r, &e);
	if (!strncmp(r->context, FORGE_OUTBOX_MESSAGE, strlen(FORGE_OUTBOX_MESSAGE))) {
		if (send_message(d->ob, f, r, &resp, &send_err, err) == -2)
			return -1;
	} else {
		d->ob->send(f, &e.request, &resp, &send_err);
	}
	if (resp.result == FORGE_ACCEPTED) {
		if (record_accepted(d->ob, r, resp.http_status, d->now, err))
			return -1;
		r->resolved = 1;
		d->stats.accepted++;
		d->stats.by_kind[f->kind].accepted++;
		return 0;
	}
	if (resp.result == FORGE_REJECTED)
		return reject(d, f, r, resp.http_status, resp.message[0] ? resp.message : send_err.msg,
			      err);
	sy_strv_push(&d->held, r->forge);
	d->stats.retried++;
	d->stats.by_kind[f->kind].retried++;
	return record_retry(d->ob, r, (int64_t)d->now + backoff(r->attempts + 1, resp.retry_after),
			    &resp, err);
}

/* Decides what to do with rows[i] and does it. */
static int drain_row(struct drain *d, struct row *rows, size_t n, size_t i, struct sy_error *err)
{
	struct row *r = &rows[i];
	int final;

	for (size_t j = 0; j < i; j++)
		if (!rows[j].resolved && same_key(&rows[j], r))
			return 0; /* an earlier entry of the key is still waiting */
	/* A pending superseded by a later entry is skipped, except the first
	 * one of a context: the forge always sees pending before the final. */
	int sent = forge_state_is_final(r->state)
			   ? 1
			   : sent_exists(d->ob, r->forge, r->sha, r->context, err);
	if (sent < 0)
		return -1;
	if (!forge_state_is_final(r->state) && sent) {
		for (size_t j = i + 1; j < n; j++) {
			if (same_key(&rows[j], r)) {
				r->resolved = 1;
				d->stats.skipped++;
				return mark(d->ob, r->id, "skipped", 0, "superseded", err);
			}
		}
	}
	if (sy_strv_contains(&d->held, r->forge) || r->next_attempt > (int64_t)d->now)
		return 0;
	/* A final accepted before this entry was queued (a second drainer, or a
	 * database edited by hand): never send anything more for the key. */
	final = final_exists(d->ob, r->forge, r->sha, r->context, 0, err);
	if (final < 0)
		return -1;
	if (final) {
		r->resolved = 1;
		return mark(d->ob, r->id, "dropped", 0, "final already accepted", err);
	}
	return send_one(d, r, err);
}

int forge_outbox_drain(struct forge_outbox *ob, time_t now, forge_outbox_lookup_fn lookup,
			 forge_outbox_reject_fn on_reject, void *arg,
			 struct forge_outbox_drain_stats *stats, struct sy_error *err)
{
	struct drain d = { ob, now, lookup, on_reject, arg, SY_STRV_INIT, { 0 } };
	struct row *rows = NULL;
	size_t n = 0;
	int ret = -1;

	if (load_queue(ob, &rows, &n, err))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (drain_row(&d, rows, n, i, err))
			goto out;
	ret = 0;
out:
	if (stats)
		*stats = d.stats;
	rows_free(rows, n);
	sy_strv_release(&d.held);
	return ret;
}

long forge_outbox_pending_count(struct forge_outbox *ob, struct sy_error *err)
{
	sqlite3_stmt *st = prepare(ob, "SELECT COUNT(*) FROM outbox WHERE status = 'queued'", 0,
				   NULL, err);
	long count = -1;

	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		count = (long)sqlite3_column_int64(st, 0);
	else
		db_error(ob, err, "count");
	sqlite3_finalize(st);
	return count;
}

long forge_outbox_next_due(struct forge_outbox *ob, time_t now, struct sy_error *err)
{
	sqlite3_stmt *st = prepare(ob,
				   "SELECT MIN(next_attempt) FROM outbox WHERE status = 'queued'",
				   0, NULL, err);
	long due = -2;

	if (!st)
		return -2;
	if (sqlite3_step(st) != SQLITE_ROW)
		db_error(ob, err, "next due");
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		due = -1;
	else if (sqlite3_column_int64(st, 0) <= (sqlite3_int64)now)
		due = 0;
	else
		due = (long)(sqlite3_column_int64(st, 0) - (sqlite3_int64)now);
	sqlite3_finalize(st);
	return due;
}

int forge_outbox_reopen_commit(struct forge_outbox *ob, const char *forge_name, const char *sha,
			       struct sy_error *err)
{
	const char *t[] = { forge_name, sha };

	if (exec(ob, "BEGIN IMMEDIATE", err))
		return -1;
	if (run(ob, prepare(ob, "DELETE FROM outbox_final WHERE forge = ?1 AND sha = ?2", 2, t, err),
		err) ||
	    run(ob, prepare(ob, "UPDATE outbox SET status = 'skipped' WHERE status = 'queued' AND "
				"forge = ?1 AND sha = ?2 AND state NOT IN ('pending', 'running')",
			    2, t, err),
		err) ||
	    exec(ob, "COMMIT", err)) {
		sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Keys whose statuses ended: a final accepted, queued, sent or rejected. */
#define OPEN_KEY \
	"NOT EXISTS (SELECT 1 FROM outbox_final f WHERE f.forge = o.forge AND f.sha = o.sha " \
	"AND f.context = o.context) AND NOT EXISTS (SELECT 1 FROM outbox e WHERE " \
	"e.forge = o.forge AND e.sha = o.sha AND e.context = o.context AND e.state NOT IN " \
	"('pending', 'running') AND e.status IN ('queued', 'sent', 'failed')) AND " \
	"o.context NOT LIKE '" FORGE_OUTBOX_MESSAGE "%'"

/* Runs st (prepared, bound) and appends column 0 of each row to a, column 1
 * to b (when b is not NULL). Returns 0 or -1 with err. */
static int collect(struct forge_outbox *ob, sqlite3_stmt *st, struct sy_strv *a,
		   struct sy_strv *b, struct sy_error *err)
{
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sy_strv_push(a, (const char *)sqlite3_column_text(st, 0));
		if (b)
			sy_strv_push(b, (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error(ob, err, "read");
}

int forge_outbox_open_commits(struct forge_outbox *ob, struct sy_strv *forges,
			      struct sy_strv *shas, struct sy_error *err)
{
	return collect(ob, prepare(ob, "SELECT DISTINCT forge, sha FROM outbox o WHERE " OPEN_KEY
				       " ORDER BY forge, sha", 0, NULL, err),
		       forges, shas, err);
}

int forge_outbox_close_open(struct forge_outbox *ob, const char *forge_name, const char *sha,
			    enum forge_state state, const char *description,
			    const char *target_url, struct sy_error *err)
{
	const char *t[] = { forge_name, sha };
	struct sy_strv contexts = SY_STRV_INIT;
	int n = 0;

	if (collect(ob, prepare(ob, "SELECT DISTINCT context FROM outbox o WHERE forge = ?1 AND "
				    "sha = ?2 AND " OPEN_KEY " ORDER BY context", 2, t, err),
		    &contexts, NULL, err))
		return -1;
	for (size_t i = 0; i < contexts.n && n >= 0; i++) {
		struct forge_status_request r = { sha, contexts.items[i], state, description,
						  target_url };
		int queued = forge_outbox_enqueue(ob, forge_name, &r, NULL, err);
		n = queued < 0 ? -1 : n + queued;
	}
	sy_strv_release(&contexts);
	return n;
}

int forge_outbox_enqueue_comment(struct forge_outbox *ob, const char *forge_name, long long pr,
				 const char *body, struct sy_error *err)
{
	char context[64];
	struct forge_status_request r = { FORGE_OUTBOX_NO_SHA, context, FORGE_RUNNING, body, NULL };

	snprintf(context, sizeof(context), FORGE_OUTBOX_MESSAGE "comment/%lld", pr);
	return forge_outbox_enqueue(ob, forge_name, &r, NULL, err);
}

int forge_outbox_enqueue_answer(struct forge_outbox *ob, const char *forge_name, long long pr,
				long long comment_id, int approve, const char *reply,
				struct sy_error *err)
{
	char context[96];
	/* Final states: each is sent once, a redelivered command adds none. */
	struct forge_status_request r = { FORGE_OUTBOX_NO_SHA, context,
					  approve ? FORGE_SUCCESS : FORGE_FAILURE, NULL, NULL };
	int rc;

	snprintf(context, sizeof(context), FORGE_OUTBOX_MESSAGE "reaction/%lld/%lld", pr,
		 comment_id);
	rc = forge_outbox_enqueue(ob, forge_name, &r, NULL, err);
	if (rc != 1 || !reply)
		return rc;
	snprintf(context, sizeof(context), FORGE_OUTBOX_MESSAGE "reply/%lld/%lld", pr, comment_id);
	r.state = FORGE_SUCCESS;
	r.description = reply;
	return forge_outbox_enqueue(ob, forge_name, &r, NULL, err);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? sy_xstrdup((const char *)t) : NULL;
}

int forge_outbox_history(const char *db_path, const char *forge_name, const char *sha,
			 struct forge_outbox_record **out, size_t *n, struct sy_error *err)
{
	struct forge_outbox *ob = forge_outbox_open(db_path, err);
	sqlite3_stmt *s = NULL;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!ob)
		return -1;
	if (sqlite3_prepare_v2(ob->db, "SELECT context, state, description, target_url, status,"
				       " http_status, message, enqueued_at, attempts FROM outbox"
				       " WHERE forge = ?1 AND sha = ?2 ORDER BY id", -1, &s, NULL)) {
		rc = db_error(ob, err, "history");
		goto out;
	}
	sqlite3_bind_text(s, 1, forge_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, sha, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		*out = sy_xrealloc(*out, (*n + 1) * sizeof(**out));
		struct forge_outbox_record *r = &(*out)[(*n)++];
		r->context = col_dup(s, 0);
		r->state = col_dup(s, 1);
		r->description = col_dup(s, 2);
		r->target_url = col_dup(s, 3);
		r->status = col_dup(s, 4);
		r->http_status = (long)sqlite3_column_int64(s, 5);
		r->message = col_dup(s, 6);
		r->enqueued_at = (long long)sqlite3_column_int64(s, 7);
		r->attempts = sqlite3_column_int(s, 8);
	}
out:
	sqlite3_finalize(s);
	forge_outbox_close(ob);
	return rc;
}

void forge_outbox_records_free(struct forge_outbox_record *records, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(records[i].context);
		free(records[i].state);
		free(records[i].description);
		free(records[i].target_url);
		free(records[i].status);
		free(records[i].message);
	}
	free(records);
}
