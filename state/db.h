/* state.db, the SQLite database of the state directory (state/layout.h):
 * its schema, its migrations and how every connection to it is opened. No
 * other module creates a table or sets a connection pragma; they open the
 * file here and run their queries on the tables below.
 *
 * The schema version is PRAGMA user_version. A read-write open brings an
 * older file up to STATE_DB_VERSION in place, in one transaction, keeping
 * every row; a file of a newer version is refused (an older shipyard must not
 * write tables it does not know). Versions:
 *   0  no version: the releases before this module (each module created its
 *      own tables; their names carried a format suffix, kv_v1, outbox_v1...)
 *   1  those same tables, created here (a version-0 file is adopted as is)
 *   2  the suffixes dropped (kv_v1 -> kv, outbox_v1 -> outbox,
 *      outbox_final_v1 -> outbox_final, spec_cache_v2 -> spec_cache): the
 *      version lives in user_version now
 *   3  pipelines gain held, approves, approved_as, approved_by and
 *      approved_at: the cascade guard's holds and their approvals through
 *      the service's API (existing pipelines: none held, none approved)
 *   4  rebuilds: the rebuild counter of each build key (builder/rebuild.h);
 *      an existing state directory starts with none recorded
 *   5  pipelines gain rebuild and requested_by: who asked for a pipeline
 *      (API retry or trigger, a pull request comment command) and the spec
 *      a rebuild names (existing pipelines: NULL)
 *   6  kv and spec_cache are rowid tables with a unique index on their key
 *      (they were WITHOUT ROWID, where a key comparison reads a large
 *      value's whole payload); rows copied as they are
 *   7  kv gains used, the day each cache value was last stored or read, for
 *      the collection of state_kv_collect (existing rows: the day of the
 *      migration; the forge-comment rows: NULL, never collected)
 *
 * Schema at version 7 (times: REAL seconds since the epoch, or INTEGER Unix
 * seconds where marked "Unix s"):
 *
 * events: what the service received (server/store.h)
 *   id            INTEGER PRIMARY KEY
 *   delivery      the forge's delivery id, UNIQUE (a redelivery shares it)
 *   repo          configured repository name
 *   kind          "push", "pull_request.opened", "ping", "poll", ...
 *   ref           branch or "pr/<n>", or NULL
 *   sha           head commit (40 hex), or NULL
 *   received      when it arrived
 * pipelines: one pipeline run each (server/store.h); index (state, id)
 *   id            INTEGER PRIMARY KEY: the pipeline's number
 *   event         events.id of the event that queued it, 0 when none
 *   repo          configured repository name
 *   trigger       "push", "pull_request", "schedule", "poll", "manual"
 *   ref           branch or "pr/<n>": what supersedes what
 *   channel       repository channel it publishes to
 *   base          base revision, or NULL (the channel's last)
 *   head          head commit (40 hex)
 *   release       a schedule's dated release name, or NULL
 *   pr            pull request number, 0 when none
 *   state         queued, running, success, failure, error, cancelled,
 *                 superseded
 *   created       when it was queued
 *   started       when it last started, 0 when never
 *   finished      when it ended, 0 when not yet
 *   attempts      times it was started (> 1 after a restart)
 *   summary       one line for the dashboard, or NULL
 *   held          the cascade guard held its plan: what it said ("9 specs
 *                 to build, over plan.maxrebuild 3; biggest causes: ..."),
 *                 or NULL
 *   approves      the held pipeline this one approves (it runs with
 *                 --approve), 0 when none
 *   approved_as   held pipelines: the pipeline its approval queued, 0 while
 *                 not approved
 *   approved_by   held pipelines: the name of the API token that approved
 *                 it, or NULL
 *   approved_at   held pipelines: when it was approved, 0 while not
 *   rebuild       the spec a "/shipyard rebuild <spec>" names, or NULL
 *   requested_by  who asked for it ("api:<token name>", "github:<login>"),
 *                 or NULL when a push, schedule or poll queued it
 * jobs: the jobs of each pipeline (server/store.h); key (pipeline, name)
 *   pipeline      pipelines.id
 *   name          spec name or "image/<config>"
 *   state         built, reused, unchanged, failed, blocked, skipped,
 *                 running, queued
 *   reason        why it is in that state, or NULL
 *   log           log file path, or NULL
 *   seconds       how long it ran
 *   seq           order of first record within the pipeline, from 0
 * outbox: forge statuses to send, in id order (forge/outbox.h);
 *   index outbox_key (status, forge, sha, context)
 *   id            INTEGER PRIMARY KEY AUTOINCREMENT: queue position
 *   forge         configured forge name
 *   sha           commit the status is for
 *   context       status context, "shipyard/build"
 *   state         forge state name: pending, running, success, failure,
 *                 error, cancelled
 *   description   one line shown by the forge, or NULL
 *   target_url    link shown by the forge, or NULL
 *   status        queued, sent, failed, skipped or dropped
 *   attempts      attempts made
 *   next_attempt  not sent before this (Unix s)
 *   enqueued_at   when it was queued (Unix s)
 *   http_status   the forge's last answer, or NULL
 *   message       the forge's last message or why it was not sent, or NULL
 * outbox_final: keys whose final state a forge accepted (forge/outbox.h);
 *   key (forge, sha, context)
 *   forge, sha, context  as in outbox
 *   state         the final state accepted
 *   entry         outbox.id of the accepted entry
 *   accepted_at   when (Unix s)
 * spec_cache: what reading a spec gave (planner/speccache.h);
 *   key (blob, path, context, arch)
 *   blob          git blob id of the .spec file
 *   path          its repository path
 *   context       digest of the macro context it was read with
 *   arch          target arch
 *   spec          BLOB in the form of planner_speccache_encode
 *   stored        when it was stored (Unix s)
 * kv: caches of values computed from content-addressed keys (state/kv.h);
 *   key (ns, key)
 *   ns            namespace: "tree-listing-v2", "view-keys-v1", "graph-v1", ...
 *   key           key within ns
 *   value         BLOB, opaque to this module
 *   used          the day (Unix s / 86400, UTC) it was last stored or read
 *                 through state/kv.h, moved at most once a day; NULL for
 *                 rows written otherwise (ns "forge-comment": forge/outbox.c
 *                 keeps its pull-request comment ids here), never collected
 * rebuilds: the rebuild counter given to each build key (builder/rebuild.h);
 *   key (name, evr, build_key)
 *   name          source package name (the spec's %{name})
 *   evr           "[epoch:]version-release" the spec states, dist tag
 *                 included, without a counter
 *   build_key     build key (64 hex digits)
 *   counter       0 for the first key built at (name, evr), then one more
 *                 than the highest of (name, evr) for each further key
 *   assigned      when it was given
 */
#ifndef STATE_DB_H
#define STATE_DB_H

#include <sqlite3.h>

#include "common/error.h"

/* The schema version this code creates, reads and writes. */
#define STATE_DB_VERSION 7

/* How state_db_open opens a connection (or'ed). */
enum state_db_flags {
	/* Read only: no migration; the file must exist at STATE_DB_VERSION. */
	STATE_DB_READONLY = 1 << 0,
	/* The handle is shared by several threads (SQLITE_OPEN_FULLMUTEX):
	 * SQLite serialises the calls. Without it the caller must. */
	STATE_DB_SHARED = 1 << 1,
	/* Maps up to 256 MiB of the file: readers of large values (kv, spec
	 * cache) then read overflow pages without a pread(2) and a copy each. */
	STATE_DB_MMAP = 1 << 2,
};

/* Opens the state database at path (normally state_db_path(state); the
 * directory must exist) with flags. Every connection gets a busy handler
 * that waits up to 10 s for the write lock in short steps (see state/db.c).
 * A read-write open creates the file when missing, sets WAL and
 * synchronous=NORMAL (a commit survives the process being killed; a power
 * loss may take the last ones) and migrates the file to STATE_DB_VERSION;
 * concurrent openers of one file, in threads or processes, all succeed and
 * migrate it once. Returns 0 with *db (close with sqlite3_close), or -1 with
 * *db NULL and err: "<path>: <SQLite message>", "<path>: migrating to
 * schema version N: ...", or "<path> is schema version 8; this shipyard
 * knows up to 7: upgrade shipyard". */
int state_db_open(const char *path, unsigned flags, sqlite3 **db, struct sy_error *err);

/* Reads the schema version (PRAGMA user_version) of an open database into
 * *version. Returns 0, or -1 with err. */
int state_db_version(sqlite3 *db, int *version, struct sy_error *err);

#endif
