/* The service's durable state in <state>/state.db (tables events, pipelines
 * and jobs of state/db.h): events as received, pipelines with their trigger
 * and state, and the jobs of each pipeline. A pipeline survives the service
 * being killed at any point: what was committed stays, a pipeline found
 * running at start is queued again (its finished builds are reused by build
 * key), a queued one runs. A commit survives the process being killed; a
 * power loss may take the last ones (state/db.h). One connection per store,
 * calls serialised with a mutex: the HTTP threads and the runner share it. */
#ifndef SERVER_STORE_H
#define SERVER_STORE_H

#include <stddef.h>

#include "builder/schedule.h"
#include "common/error.h"

struct server_store;

/* Where a pipeline stands. Names in server_pipeline_state_name. */
enum server_pipeline_state {
	SERVER_PIPELINE_QUEUED,     /* waiting for a runner */
	SERVER_PIPELINE_RUNNING,    /* a runner runs it */
	SERVER_PIPELINE_SUCCESS,    /* final: every stage succeeded */
	SERVER_PIPELINE_FAILURE,    /* final: a spec or image failed */
	SERVER_PIPELINE_ERROR,      /* final: it could not run */
	SERVER_PIPELINE_CANCELLED,  /* final: stopped (its pull request closed) */
	SERVER_PIPELINE_SUPERSEDED, /* final: a newer one for its ref replaced it */
	SERVER_PIPELINE_NSTATES
};

/* Returns the state's name: "queued", "running", "success", "failure",
 * "error", "cancelled" or "superseded" (static string; "?" for a value that
 * is no state). The one table of pipeline state names: the store's SQL, the
 * API and the metrics use it. */
const char *server_pipeline_state_name(enum server_pipeline_state state);

/* Parses a name server_pipeline_state_name returns. Returns 0, or -1 for any
 * other text. */
int server_pipeline_state_parse(const char *name, enum server_pipeline_state *state);

/* Returns 1 for the states a pipeline ends in, 0 for queued and running. */
int server_pipeline_state_is_final(enum server_pipeline_state state);

/* A received webhook or poll result. */
struct server_store_event {
	const char *delivery;   /* delivery id: unique (redeliveries share it) */
	const char *repo;       /* configured repository name */
	const char *kind;       /* "push", "pull_request.opened", "ping", "poll", ... */
	const char *ref;        /* branch or "pr/<n>", may be NULL */
	const char *sha;        /* head commit, may be NULL */
};

/* A pipeline as stored. Strings owned by the struct (release with
 * server_store_pipeline_release) when read back. */
struct server_store_pipeline {
	long id;
	char *repo;             /* configured repository name */
	char *trigger;          /* "push", "pull_request", "schedule", "poll", "manual" */
	char *ref;              /* branch, or "pr/<n>": what supersedes what */
	char *channel;          /* repository channel it publishes to */
	char *base;             /* base revision, or NULL (the channel's last) */
	char *head;             /* head commit (40 hex) */
	char *release;          /* schedule: the dated release name, else NULL */
	long pr;                /* pull request number, 0 when none */
	enum server_pipeline_state state;
	double created, started, finished; /* seconds since the epoch, 0: not yet */
	int attempts;           /* times it was started (> 1 after a restart) */
	char *summary;          /* one line for the dashboard, or NULL */
	char *held;             /* the cascade guard held its plan: what it said
				 * ("9 specs to build, over plan.maxrebuild 3;
				 * biggest causes: ..."), or NULL */
	long approves;          /* the held pipeline this one approves: it runs
				 * with --approve; 0 when none */
	long approved_as;       /* held: the pipeline its approval queued, 0
				 * while not approved */
	char *approved_by;      /* held: name of the API token that approved it,
				 * or NULL */
	double approved_at;     /* held: when it was approved (seconds since the
				 * epoch), 0 while not */
	char *rebuild;          /* a spec a person asked to rebuild (`/shipyard
				 * rebuild <spec>`): the run gets --rebuild; NULL */
	char *requested_by;     /* who asked for it ("api:alice", "github:bob"),
				 * NULL for a push, poll or schedule */
};

/* A job of a pipeline (a spec build or an image). */
struct server_store_job {
	char *name;             /* spec name or "image/<config>" */
	enum builder_job_state state;
	char *reason;           /* or NULL */
	char *log;              /* log file path, or NULL */
	double seconds;
};

/* Opens the store on the state database at path (state_db_open: created or
 * upgraded to the current schema when needed). Returns 0 and *out, or -1
 * with err. */
int server_store_open(const char *path, struct server_store **out, struct sy_error *err);

/* Closes the store (NULL allowed). */
void server_store_close(struct server_store *st);

/* Stores an event unless one with the same delivery id exists. Returns 1
 * (stored, *id set), 0 (a redelivery: nothing stored) or -1 with err. */
int server_store_add_event(struct server_store *st, const struct server_store_event *ev,
			    long *id, struct sy_error *err);

/* A pipeline that a newer one of the same repository and ref replaced. */
struct server_store_superseded {
	long id;        /* its id */
	char head[65];  /* its head commit (hex), "" when none */
	int running;    /* 1: it was running (its process must be stopped) */
};

/* Queues p in one transaction with: storing the event ev (NULL: none) that
 * asks for it, and marking every queued or running pipeline of the same
 * repository and ref superseded. p's id, created time and state are set
 * here: queued, or the final state p->state already holds for a pipeline
 * recorded as ended (a closed pull request: cancelled). A redelivery (ev's
 * delivery id is stored) queues nothing. The pipelines superseded are
 * returned in *superseded (malloc'ed, caller frees) and *nsuperseded, the
 * event's id in *event (may be NULL). Nothing is stored unless all of it
 * is: a crash in between loses both, so the forge's redelivery is not taken
 * for a duplicate. Returns 1 when queued, 0 for a redelivery, -1 with err. */
int server_store_queue(struct server_store *st, const struct server_store_event *ev,
			struct server_store_pipeline *p, struct server_store_superseded **superseded,
			size_t *nsuperseded, long *event, struct sy_error *err);

/* Takes the oldest queued pipeline and marks it running (started now,
 * attempts + 1, not held: each attempt plans again). Returns 1 with *out
 * filled, 0 when none is queued, -1. */
int server_store_claim(struct server_store *st, struct server_store_pipeline *out,
			struct sy_error *err);

/* Sets the final state and summary of pipeline id (unless it was marked
 * superseded meanwhile, which stays). Returns 0 or -1. */
int server_store_finish(struct server_store *st, long id, enum server_pipeline_state state,
			 const char *summary, struct sy_error *err);

/* Marks pipeline id cancelled with summary ("cancelled by api:alice") if
 * it is still queued. Returns 1 when it was, 0 when it is not queued (any
 * more), -1 with err. */
int server_store_cancel_queued(struct server_store *st, long id, const char *summary,
			       struct sy_error *err);

/* Records that the cascade guard held the plan of pipeline id, with what it
 * said (description, one line). Returns 0, or -1 with err. */
int server_store_set_held(struct server_store *st, long id, const char *description,
			   struct sy_error *err);

/* What server_store_approve returns when the pipeline is not one to
 * approve. */
#define SERVER_STORE_REFUSED 2

/* Approves held pipeline id on behalf of by (an API token name): in one
 * transaction, queues a new pipeline of the same repository, ref, channel,
 * base, head, release and pull request with trigger "approval" and
 * approves = id (the runner passes --approve), and records on pipeline id
 * who approved it, when, and the new pipeline's id. Only a pipeline that
 * ended in failure because the guard held its plan, that was not approved
 * yet, and that no later pipeline of its channel followed can be approved:
 * a newer one has planned against another published state, and approving
 * the old plan would build what nobody saw. Returns 1 with *out the new
 * pipeline (release with server_store_pipeline_release), 0 when there is
 * no pipeline id, SERVER_STORE_REFUSED with err saying why ("pipeline 4 is
 * success, not held for approval", "pipeline 4 was approved by alice
 * already: pipeline 6", "pipeline 7 of channel main followed pipeline 4"),
 * or -1 with err. */
int server_store_approve(struct server_store *st, long id, const char *by,
			  struct server_store_pipeline *out, struct sy_error *err);

/* Sets *newer to the id of the latest pipeline of p's repository and ref
 * queued after p (0 when none). Returns 0, or -1 with err. For a retry: a
 * newer pipeline of the ref is what the ref builds now. */
int server_store_newer(struct server_store *st, const struct server_store_pipeline *p,
		       long *newer, struct sy_error *err);

/* Returns 1 when a queued or running pipeline of repository repo builds
 * commit head, 0 when none does, -1 with err. */
int server_store_active(struct server_store *st, const char *repo, const char *head,
			struct sy_error *err);

/* At service start: every pipeline left running goes back to queued.
 * Returns how many, or -1. */
int server_store_recover(struct server_store *st, struct sy_error *err);

/* Records the state of one job of pipeline (inserted or replaced). */
int server_store_set_job(struct server_store *st, long pipeline,
			  const struct server_store_job *job, struct sy_error *err);

/* Reads pipeline id. Returns 1, 0 (no such pipeline) or -1. */
int server_store_get(struct server_store *st, long id, struct server_store_pipeline *out,
		      struct sy_error *err);

/* Which pipelines server_store_list returns. Nothing is owned. */
struct server_store_filter {
	size_t max;          /* at most this many */
	long before;         /* only ids below it (a page's cursor); 0: none */
	int state;           /* an enum server_pipeline_state, or -1: any */
	const char *ref;     /* only this ref (branch or "pr/<n>"), or NULL */
	const char *repo;    /* only this configured repository, or NULL */
};

/* The pipelines f selects, newest (highest id) first: *out (caller
 * releases each and frees the array) and *n. Returns 0 or -1 with err. */
int server_store_list(struct server_store *st, const struct server_store_filter *f,
		       struct server_store_pipeline **out, size_t *n, struct sy_error *err);

/* Returns 1 when some stored pipeline has ref ref, 0 when none, -1 with
 * err. */
int server_store_ref_known(struct server_store *st, const char *ref, struct sy_error *err);

/* The jobs of pipeline id in the order they were first recorded. */
int server_store_jobs(struct server_store *st, long id, struct server_store_job **out,
		       size_t *n, struct sy_error *err);

/* Pipelines per state into counts (indexed by state), and the number of
 * events stored. Returns 0, or -1 with err (counts zero). */
int server_store_counts(struct server_store *st, long counts[SERVER_PIPELINE_NSTATES],
			 long *events, struct sy_error *err);

/* Jobs of all stored pipelines per state into counts (indexed by state).
 * Returns 0, or -1 with err (counts zero). */
int server_store_job_counts(struct server_store *st, long counts[BUILDER_JOB_NSTATES],
			     struct sy_error *err);

void server_store_pipeline_release(struct server_store_pipeline *p);
void server_store_job_release(struct server_store_job *j);

#endif
