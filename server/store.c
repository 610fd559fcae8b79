#include "server/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/strv.h"
#include "common/failpoint.h"
#include "state/db.h"

struct server_store {
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char *const pipeline_state_names[SERVER_PIPELINE_NSTATES] = {
	[SERVER_PIPELINE_QUEUED] = "queued",	   [SERVER_PIPELINE_RUNNING] = "running",
	[SERVER_PIPELINE_SUCCESS] = "success",	   [SERVER_PIPELINE_FAILURE] = "failure",
	[SERVER_PIPELINE_ERROR] = "error",	   [SERVER_PIPELINE_CANCELLED] = "cancelled",
	[SERVER_PIPELINE_SUPERSEDED] = "superseded",
};

const char *server_pipeline_state_name(enum server_pipeline_state state)
{
	return (unsigned)state < SERVER_PIPELINE_NSTATES ? pipeline_state_names[state] : "?";
}

int server_pipeline_state_parse(const char *name, enum server_pipeline_state *state)
{
	for (int s = 0; s < SERVER_PIPELINE_NSTATES; s++)
		if (!strcmp(name, pipeline_state_names[s])) {
			*state = (enum server_pipeline_state)s;
			return 0;
		}
	return -1;
}

int server_pipeline_state_is_final(enum server_pipeline_state state)
{
	return state != SERVER_PIPELINE_QUEUED && state != SERVER_PIPELINE_RUNNING;
}

/* Shorthands for binding state names into SQL. */
#define QUEUED pipeline_state_names[SERVER_PIPELINE_QUEUED]
#define RUNNING pipeline_state_names[SERVER_PIPELINE_RUNNING]

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(struct server_store *st, const char *what, struct sy_error *err)
{
	return sy_error_set(err, "state database: %s: %s", what, sqlite3_errmsg(st->db));
}

int server_store_open(const char *path, struct server_store **out, struct sy_error *err)
{
	struct server_store *st = sy_xcalloc(1, sizeof(*st));

	*out = NULL;
	pthread_mutex_init(&st->lock, NULL);
	if (state_db_open(path, STATE_DB_SHARED, &st->db, err)) {
		server_store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void server_store_close(struct server_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Prepares sql; NULL when it does not compile (then steps fail). */
static sqlite3_stmt *prepare(struct server_store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? sy_xstrdup((const char *)t) : NULL;
}

/* Inserts ev unless its delivery id is stored: 1 (stored, *id set), 0 (a
 * redelivery), -1. Called with the lock held. */
static int insert_event(struct server_store *st, const struct server_store_event *ev, long *id)
{
	sqlite3_stmt *s = prepare(st, "INSERT OR IGNORE INTO events (delivery, repo, kind, ref, sha,"
				      " received) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	int rc;

	bind_text(s, 1, ev->delivery);
	bind_text(s, 2, ev->repo);
	bind_text(s, 3, ev->kind);
	bind_text(s, 4, ev->ref);
	bind_text(s, 5, ev->sha);
	sqlite3_bind_double(s, 6, now());
	if (!s || sqlite3_step(s) != SQLITE_DONE) {
		rc = -1;
	} else {
		rc = sqlite3_changes(st->db) ? 1 : 0;
		if (id)
			*id = rc ? (long)sqlite3_last_insert_rowid(st->db) : 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int server_store_add_event(struct server_store *st, const struct server_store_event *ev,
			    long *id, struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	rc = insert_event(st, ev, id);
	if (rc < 0)
		fail(st, "storing an event", err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* Marks what p supersedes; collects them into *out and *n. */
static int supersede(struct server_store *st, const struct server_store_pipeline *p,
		     struct server_store_superseded **out, size_t *n)
{
	sqlite3_stmt *s = prepare(st, "SELECT id, state, head FROM pipelines WHERE repo = ?1 AND"
				      " ref = ?2 AND state IN (?3, ?4)");
	int rc = 0;

	bind_text(s, 1, p->repo);
	bind_text(s, 2, p->ref);
	bind_text(s, 3, QUEUED);
	bind_text(s, 4, RUNNING);
	while (s && sqlite3_step(s) == SQLITE_ROW) {
		const char *head = (const char *)sqlite3_column_text(s, 2);
		*out = sy_xrealloc(*out, (*n + 1) * sizeof(**out));
		struct server_store_superseded *o = &(*out)[(*n)++];
		o->id = (long)sqlite3_column_int64(s, 0);
		o->running = !strcmp((const char *)sqlite3_column_text(s, 1), RUNNING);
		snprintf(o->head, sizeof(o->head), "%s", head ? head : "");
	}
	sqlite3_finalize(s);
	s = prepare(st, "UPDATE pipelines SET state = ?4, finished = ?3 WHERE repo = ?1"
			" AND ref = ?2 AND state IN (?5, ?6)");
	bind_text(s, 1, p->repo);
	bind_text(s, 2, p->ref);
	sqlite3_bind_double(s, 3, now());
	bind_text(s, 4, pipeline_state_names[SERVER_PIPELINE_SUPERSEDED]);
	bind_text(s, 5, QUEUED);
	bind_text(s, 6, RUNNING);
	if (!s || sqlite3_step(s) != SQLITE_DONE)
		rc = -1;
	sqlite3_finalize(s);
	return rc;
}

static int insert_pipeline(struct server_store *st, struct server_store_pipeline *p, long event)
{
	sqlite3_stmt *s = prepare(st, "INSERT INTO pipelines (event, repo, trigger, ref, channel, base,"
				      " head, release, pr, state, created, finished, summary,"
				      " approves, rebuild, requested_by) VALUES (?1, ?2, ?3, ?4, ?5,"
				      " ?6, ?7, ?8, ?9, ?11, ?10, ?12, ?13, ?14, ?15, ?16)");
	int rc;

	p->created = now();
	sqlite3_bind_int64(s, 1, event);
	bind_text(s, 2, p->repo);
	bind_text(s, 3, p->trigger);
	bind_text(s, 4, p->ref);
	bind_text(s, 5, p->channel);
	bind_text(s, 6, p->base);
	bind_text(s, 7, p->head);
	bind_text(s, 8, p->release);
	sqlite3_bind_int64(s, 9, p->pr);
	sqlite3_bind_double(s, 10, p->created);
	/* A pipeline recorded as already ended (a closed pull request) gets
	 * its final state now; any other is queued. */
	if (!server_pipeline_state_is_final(p->state))
		p->state = SERVER_PIPELINE_QUEUED;
	bind_text(s, 11, server_pipeline_state_name(p->state));
	sqlite3_bind_double(s, 12, server_pipeline_state_is_final(p->state) ? p->created : 0);
	bind_text(s, 13, p->summary);
	sqlite3_bind_int64(s, 14, p->approves);
	bind_text(s, 15, p->rebuild);
	bind_text(s, 16, p->requested_by);
	rc = s && sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(s);
	p->id = rc ? 0 : (long)sqlite3_last_insert_rowid(st->db);
	return rc;
}

/* The transaction of server_store_queue; called with the lock held.
 * Returns 1, 0 (a redelivery) or -1. */
static int queue_locked(struct server_store *st, const struct server_store_event *ev,
			struct server_store_pipeline *p, struct server_store_superseded **superseded,
			size_t *nsuperseded, long *event)
{
	int stored = 1;

	*event = 0;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (ev)
		stored = insert_event(st, ev, event);
	/* A crash here must lose the event with the pipeline, not keep an
	 * event that a redelivery would take for a duplicate. */
	sy_failpoint("store-event");
	if (stored == 1 &&
	    (supersede(st, p, superseded, nsuperseded) || insert_pipeline(st, p, *event) ||
	     sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK))
		stored = -1;
	if (stored != 1)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return stored;
}

int server_store_queue(struct server_store *st, const struct server_store_event *ev,
			struct server_store_pipeline *p, struct server_store_superseded **superseded,
			size_t *nsuperseded, long *event, struct sy_error *err)
{
	long ignored;
	int rc;

	*superseded = NULL;
	*nsuperseded = 0;
	pthread_mutex_lock(&st->lock);
	rc = queue_locked(st, ev, p, superseded, nsuperseded, event ? event : &ignored);
	if (rc < 0)
		fail(st, "queueing a pipeline", err);
	pthread_mutex_unlock(&st->lock);
	if (rc != 1) {
		free(*superseded);
		*superseded = NULL;
		*nsuperseded = 0;
		p->id = 0;
	}
	return rc;
}

#define PIPELINE_COLUMNS \
	"id, repo, trigger, ref, channel, base, head, release, pr, state, created, started," \
	" finished, attempts, summary, held, approves, approved_as, approved_by, approved_at," \
	" rebuild, requested_by"

static void read_pipeline(sqlite3_stmt *s, struct server_store_pipeline *p)
{
	memset(p, 0, sizeof(*p));
	p->id = (long)sqlite3_column_int64(s, 0);
	p->repo = col_text(s, 1);
	p->trigger = col_text(s, 2);
	p->ref = col_text(s, 3);
	p->channel = col_text(s, 4);
	p->base = col_text(s, 5);
	p->head = col_text(s, 6);
	p->release = col_text(s, 7);
	p->pr = (long)sqlite3_column_int64(s, 8);
	/* Only names of the table are written; anything else reads as an
	 * error. */
	const char *state = (const char *)sqlite3_column_text(s, 9);
	if (!state || server_pipeline_state_parse(state, &p->state))
		p->state = SERVER_PIPELINE_ERROR;
	p->created = sqlite3_column_double(s, 10);
	p->started = sqlite3_column_double(s, 11);
	p->finished = sqlite3_column_double(s, 12);
	p->attempts = sqlite3_column_int(s, 13);
	p->summary = col_text(s, 14);
	p->held = col_text(s, 15);
	p->approves = (long)sqlite3_column_int64(s, 16);
	p->approved_as = (long)sqlite3_column_int64(s, 17);
	p->approved_by = col_text(s, 18);
	p->approved_at = sqlite3_column_double(s, 19);
	p->rebuild = col_text(s, 20);
	p->requested_by = col_text(s, 21);
}

int server_store_claim(struct server_store *st, struct server_store_pipeline *out,
			struct sy_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	sqlite3_stmt *s = prepare(st, "SELECT " PIPELINE_COLUMNS " FROM pipelines WHERE state ="
				      " ?1 ORDER BY id LIMIT 1");
	bind_text(s, 1, QUEUED);
	if (s && sqlite3_step(s) == SQLITE_ROW) {
		read_pipeline(s, out);
		rc = 1;
	}
	sqlite3_finalize(s);
	if (rc == 1) {
		s = prepare(st, "UPDATE pipelines SET state = ?3, started = ?2,"
				" attempts = attempts + 1, held = NULL WHERE id = ?1");
		sqlite3_bind_int64(s, 1, out->id);
		sqlite3_bind_double(s, 2, now());
		bind_text(s, 3, RUNNING);
		if (!s || sqlite3_step(s) != SQLITE_DONE) {
			rc = fail(st, "claiming a pipeline", err);
			server_store_pipeline_release(out);
		} else {
			out->state = SERVER_PIPELINE_RUNNING;
			out->attempts++;
			free(out->held);
			out->held = NULL;
		}
		sqlite3_finalize(s);
	}
	sqlite3_exec(st->db, rc == 1 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_finish(struct server_store *st, long id, enum server_pipeline_state state,
			 const char *summary, struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	/* A pipeline marked superseded meanwhile stays so. */
	sqlite3_stmt *s = prepare(st, "UPDATE pipelines SET state = CASE state WHEN ?5 THEN state"
				      " ELSE ?2 END, summary = ?3, finished = ?4 WHERE id = ?1");
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, server_pipeline_state_name(state));
	bind_text(s, 3, summary);
	sqlite3_bind_double(s, 4, now());
	bind_text(s, 5, pipeline_state_names[SERVER_PIPELINE_SUPERSEDED]);
	rc = s && sqlite3_step(s) == SQLITE_DONE ? 0 : fail(st, "finishing a pipeline", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_cancel_queued(struct server_store *st, long id, const char *summary,
			       struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "UPDATE pipelines SET state = ?2, summary = ?3, finished = ?4"
				      " WHERE id = ?1 AND state = ?5");
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, pipeline_state_names[SERVER_PIPELINE_CANCELLED]);
	bind_text(s, 3, summary);
	sqlite3_bind_double(s, 4, now());
	bind_text(s, 5, QUEUED);
	rc = s && sqlite3_step(s) == SQLITE_DONE ? sqlite3_changes(st->db) > 0
						 : fail(st, "cancelling a pipeline", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_set_held(struct server_store *st, long id, const char *description,
			   struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "UPDATE pipelines SET held = ?2 WHERE id = ?1");
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, description);
	rc = s && sqlite3_step(s) == SQLITE_DONE ? 0 : fail(st, "recording a held plan", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* Reads pipeline id into *out with the lock held. Returns 1, 0 (none) or
 * -1. */
static int get_locked(struct server_store *st, long id, struct server_store_pipeline *out)
{
	sqlite3_stmt *s = prepare(st, "SELECT " PIPELINE_COLUMNS " FROM pipelines WHERE id = ?1");
	int rc = -1, step;

	sqlite3_bind_int64(s, 1, id);
	step = s ? sqlite3_step(s) : SQLITE_ERROR;
	if (step == SQLITE_ROW) {
		read_pipeline(s, out);
		rc = 1;
	} else if (step == SQLITE_DONE) {
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

/* The first pipeline of held's channel queued after it, or 0 (-1 on
 * error). Called with the lock held. */
static long followed_by(struct server_store *st, const struct server_store_pipeline *held)
{
	sqlite3_stmt *s = prepare(st, "SELECT id FROM pipelines WHERE channel = ?1 AND id > ?2"
				      " ORDER BY id LIMIT 1");
	long next = -1;
	int step;

	bind_text(s, 1, held->channel);
	sqlite3_bind_int64(s, 2, held->id);
	step = s ? sqlite3_step(s) : SQLITE_ERROR;
	if (step == SQLITE_ROW)
		next = (long)sqlite3_column_int64(s, 0);
	else if (step == SQLITE_DONE)
		next = 0;
	sqlite3_finalize(s);
	return next;
}

/* Why held (read in this transaction) cannot be approved: 0 when it can,
 * SERVER_STORE_REFUSED with err, -1. Called with the lock held. */
static int refuse_approval(struct server_store *st, const struct server_store_pipeline *held,
			   struct sy_error *err)
{
	long next;

	if (held->state != SERVER_PIPELINE_FAILURE || !held->held) {
		sy_error_set(err, "pipeline %ld is %s, not held for approval", held->id,
			     server_pipeline_state_name(held->state));
		return SERVER_STORE_REFUSED;
	}
	if (held->approved_as) {
		sy_error_set(err, "pipeline %ld was approved by %s already: pipeline %ld", held->id,
			     held->approved_by ? held->approved_by : "?", held->approved_as);
		return SERVER_STORE_REFUSED;
	}
	next = followed_by(st, held);
	if (next < 0)
		return fail(st, "reading pipelines", err);
	if (next > 0) {
		sy_error_set(err, "pipeline %ld of channel %s followed pipeline %ld", next,
			     held->channel, held->id);
		return SERVER_STORE_REFUSED;
	}
	return 0;
}

/* The transaction of server_store_approve; called with the lock held. */
static int approve_locked(struct server_store *st, long id, const char *by,
			  struct server_store_pipeline *out, struct sy_error *err)
{
	struct server_store_pipeline held;
	int rc = get_locked(st, id, &held);

	if (rc <= 0)
		return rc < 0 ? fail(st, "reading a pipeline", err) : 0;
	rc = refuse_approval(st, &held, err);
	if (rc == 0) {
		struct server_store_pipeline p = {
			.repo = held.repo, .trigger = "approval", .ref = held.ref,
			.channel = held.channel, .base = held.base, .head = held.head,
			.release = held.release, .pr = held.pr, .approves = held.id,
		};
		sqlite3_stmt *s = NULL;
		if (insert_pipeline(st, &p, 0) == 0)
			s = prepare(st, "UPDATE pipelines SET approved_as = ?2, approved_by = ?3,"
					" approved_at = ?4 WHERE id = ?1");
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, p.id);
		bind_text(s, 3, by);
		sqlite3_bind_double(s, 4, p.created);
		if (!s || sqlite3_step(s) != SQLITE_DONE || get_locked(st, p.id, out) != 1)
			rc = fail(st, "queueing the approved pipeline", err);
		else
			rc = 1;
		sqlite3_finalize(s);
	}
	server_store_pipeline_release(&held);
	return rc;
}

int server_store_approve(struct server_store *st, long id, const char *by,
			  struct server_store_pipeline *out, struct sy_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = fail(st, "approving a pipeline", err);
	} else {
		rc = approve_locked(st, id, by, out, err);
		if (rc == 1 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			rc = fail(st, "approving a pipeline", err);
			server_store_pipeline_release(out);
		}
		if (rc != 1)
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_newer(struct server_store *st, const struct server_store_pipeline *p,
		       long *newer, struct sy_error *err)
{
	int rc = 0, step;

	*newer = 0;
	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "SELECT max(id) FROM pipelines WHERE repo = ?1 AND ref = ?2"
				      " AND id > ?3");
	bind_text(s, 1, p->repo);
	bind_text(s, 2, p->ref);
	sqlite3_bind_int64(s, 3, p->id);
	step = s ? sqlite3_step(s) : SQLITE_ERROR;
	if (step == SQLITE_ROW)
		*newer = (long)sqlite3_column_int64(s, 0);
	else
		rc = fail(st, "reading pipelines", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_active(struct server_store *st, const char *repo, const char *head,
			struct sy_error *err)
{
	int rc, step;

	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "SELECT 1 FROM pipelines WHERE repo = ?1 AND head = ?2 AND"
				      " state IN (?3, ?4) LIMIT 1");
	bind_text(s, 1, repo);
	bind_text(s, 2, head);
	bind_text(s, 3, QUEUED);
	bind_text(s, 4, RUNNING);
	step = s ? sqlite3_step(s) : SQLITE_ERROR;
	rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : fail(st, "reading pipelines", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_recover(struct server_store *st, struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "UPDATE pipelines SET state = ?1 WHERE state = ?2");
	bind_text(s, 1, QUEUED);
	bind_text(s, 2, RUNNING);
	rc = s && sqlite3_step(s) == SQLITE_DONE ? sqlite3_changes(st->db)
						 : fail(st, "recovering pipelines", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_set_job(struct server_store *st, long pipeline,
			  const struct server_store_job *job, struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "INSERT INTO jobs (pipeline, name, state, reason, log, seconds,"
				      " seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT count(*) FROM"
				      " jobs WHERE pipeline = ?1)) ON CONFLICT (pipeline, name) DO"
				      " UPDATE SET state = ?3, reason = ?4, log = coalesce(?5, log),"
				      " seconds = ?6");
	sqlite3_bind_int64(s, 1, pipeline);
	bind_text(s, 2, job->name);
	bind_text(s, 3, builder_job_state_name(job->state));
	bind_text(s, 4, job->reason);
	bind_text(s, 5, job->log);
	sqlite3_bind_double(s, 6, job->seconds);
	rc = s && sqlite3_step(s) == SQLITE_DONE ? 0 : fail(st, "recording a job", err);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_get(struct server_store *st, long id, struct server_store_pipeline *out,
		      struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	rc = get_locked(st, id, out);
	if (rc < 0)
		fail(st, "reading a pipeline", err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_list(struct server_store *st, const struct server_store_filter *f,
		       struct server_store_pipeline **out, size_t *n, struct sy_error *err)
{
	int rc = 0;

	*out = sy_xcalloc(f->max + 1, sizeof(**out));
	*n = 0;
	pthread_mutex_lock(&st->lock);
	/* NULL parameters match every row: one statement for every filter. */
	sqlite3_stmt *s = prepare(st, "SELECT " PIPELINE_COLUMNS " FROM pipelines"
				      " WHERE (?2 IS NULL OR id < ?2) AND (?3 IS NULL OR state = ?3)"
				      " AND (?4 IS NULL OR ref = ?4) AND (?5 IS NULL OR repo = ?5)"
				      " ORDER BY id DESC LIMIT ?1");
	if (!s) {
		rc = sy_error_set(err, "state.db: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)f->max);
	if (f->before > 0)
		sqlite3_bind_int64(s, 2, f->before);
	if (f->state >= 0)
		sqlite3_bind_text(s, 3, server_pipeline_state_name((enum server_pipeline_state)f->state),
				  -1, SQLITE_STATIC);
	if (f->ref)
		sqlite3_bind_text(s, 4, f->ref, -1, SQLITE_STATIC);
	if (f->repo)
		sqlite3_bind_text(s, 5, f->repo, -1, SQLITE_STATIC);
	while (*n < f->max && sqlite3_step(s) == SQLITE_ROW)
		read_pipeline(s, &(*out)[(*n)++]);
	sqlite3_finalize(s);
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_ref_known(struct server_store *st, const char *ref, struct sy_error *err)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "SELECT 1 FROM pipelines WHERE ref = ?1 LIMIT 1");
	if (!s) {
		rc = sy_error_set(err, "state.db: %s", sqlite3_errmsg(st->db));
	} else {
		sqlite3_bind_text(s, 1, ref, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int server_store_jobs(struct server_store *st, long id, struct server_store_job **out,
		       size_t *n, struct sy_error *err)
{
	size_t alloc = 16;

	(void)err;
	*out = sy_xcalloc(alloc, sizeof(**out));
	*n = 0;
	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = prepare(st, "SELECT name, state, reason, log, seconds FROM jobs WHERE"
				      " pipeline = ?1 ORDER BY seq");
	sqlite3_bind_int64(s, 1, id);
	while (s && sqlite3_step(s) == SQLITE_ROW) {
		if (*n + 1 >= alloc) {
			alloc *= 2;
			*out = sy_xrealloc(*out, alloc * sizeof(**out));
		}
		struct server_store_job *j = &(*out)[(*n)++];
		j->name = col_text(s, 0);
		const char *state = (const char *)sqlite3_column_text(s, 1);
		if (!state || builder_job_state_parse(state, &j->state))
			j->state = BUILDER_JOB_FAILED;
		j->reason = col_text(s, 2);
		j->log = col_text(s, 3);
		j->seconds = sqlite3_column_double(s, 4);
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* Counts the rows of table by state into counts, at the index parse gives
 * each state's name; unknown names are left out; what names the count in
 * errors. Called with the lock held. */
static int count_states(struct server_store *st, const char *table, const char *what,
			long *counts, int (*parse)(const char *name, int *index),
			struct sy_error *err)
{
	char *sql = sy_xasprintf("SELECT state, count(*) FROM %s GROUP BY state", table);
	sqlite3_stmt *s = prepare(st, sql);
	int step = SQLITE_ERROR, rc, index;

	while (s && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(s, 0);
		if (state && parse(state, &index) == 0)
			counts[index] += (long)sqlite3_column_int64(s, 1);
	}
	rc = step == SQLITE_DONE ? 0 : fail(st, what, err);
	sqlite3_finalize(s);
	free(sql);
	return rc;
}

static int pipeline_index(const char *name, int *index)
{
	enum server_pipeline_state state = SERVER_PIPELINE_QUEUED;
	int rc = server_pipeline_state_parse(name, &state);

	*index = (int)state;
	return rc;
}

static int job_index(const char *name, int *index)
{
	enum builder_job_state state = BUILDER_JOB_BUILT;
	int rc = builder_job_state_parse(name, &state);

	*index = (int)state;
	return rc;
}

int server_store_counts(struct server_store *st, long counts[SERVER_PIPELINE_NSTATES],
			 long *events, struct sy_error *err)
{
	int rc;

	memset(counts, 0, SERVER_PIPELINE_NSTATES * sizeof(long));
	*events = 0;
	pthread_mutex_lock(&st->lock);
	rc = count_states(st, "pipelines", "counting pipelines", counts, pipeline_index, err);
	sqlite3_stmt *s = prepare(st, "SELECT count(*) FROM events");
	if (rc == 0 && s && sqlite3_step(s) == SQLITE_ROW)
		*events = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	if (rc)
		memset(counts, 0, SERVER_PIPELINE_NSTATES * sizeof(long));
	return rc;
}

int server_store_job_counts(struct server_store *st, long counts[BUILDER_JOB_NSTATES],
			     struct sy_error *err)
{
	int rc;

	memset(counts, 0, BUILDER_JOB_NSTATES * sizeof(long));
	pthread_mutex_lock(&st->lock);
	rc = count_states(st, "jobs", "counting jobs", counts, job_index, err);
	pthread_mutex_unlock(&st->lock);
	if (rc)
		memset(counts, 0, BUILDER_JOB_NSTATES * sizeof(long));
	return rc;
}

void server_store_pipeline_release(struct server_store_pipeline *p)
{
	free(p->repo);
	free(p->trigger);
	free(p->ref);
	free(p->channel);
	free(p->base);
	free(p->head);
	free(p->release);
	free(p->summary);
	free(p->held);
	free(p->approved_by);
	free(p->rebuild);
	free(p->requested_by);
	memset(p, 0, sizeof(*p));
}

void server_store_job_release(struct server_store_job *j)
{
	free(j->name);
	free(j->reason);
	free(j->log);
	memset(j, 0, sizeof(*j));
}
