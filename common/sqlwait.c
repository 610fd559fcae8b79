#include "common/sqlwait.h"

#include <stdint.h>
#include <time.h>

static int busy(void *arg, int count)
{
	unsigned timeout_ms = (unsigned)(uintptr_t)arg;
	/* 0.2 ms steps for the first 10 ms, then 2 ms steps. */
	unsigned step_us = count < 50 ? 200 : 2000;
	unsigned long waited_us = count < 50 ? (unsigned long)count * 200
					     : 10000UL + (unsigned long)(count - 50) * 2000;
	struct timespec ts = { 0, (long)step_us * 1000 };

	if (waited_us >= (unsigned long)timeout_ms * 1000)
		return 0;
	nanosleep(&ts, NULL);
	return 1;
}

void sy_sqlite_busy_wait(sqlite3 *db, unsigned timeout_ms)
{
	sqlite3_busy_handler(db, busy, (void *)(uintptr_t)timeout_ms);
}
