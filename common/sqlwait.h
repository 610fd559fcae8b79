/* Waiting for a busy SQLite database in short steps. SQLite's own
 * sqlite3_busy_timeout sleeps 1, 2, 5, 10 ... 100 ms between tries, which
 * puts tens of milliseconds on a webhook's answer whenever a runner thread
 * holds the write lock for a moment; the service's transactions are short,
 * so polling every 0.2 ms (up to 2 ms as the wait grows) serves them in
 * turn. */
#ifndef SY_SQLWAIT_H
#define SY_SQLWAIT_H

#include <sqlite3.h>

/* Installs on db a busy handler that retries for up to timeout_ms
 * milliseconds. */
void sy_sqlite_busy_wait(sqlite3 *db, unsigned timeout_ms);

#endif
