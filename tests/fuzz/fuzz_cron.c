/* Cron expressions: server_cron_parse (server/cron.h) on the input as a
 * string, then server_cron_next from a fixed time. Checks that an
 * expression parsed has a minute, hour, day and month to run at, and that
 * the next run found is a later minute that the expression matches. */
#include "fuzz.h"

#include <time.h>

#include "server/cron.h"

/* 2024-02-29 12:34:56 UTC: a leap day, not on a minute boundary. */
#define FUZZ_CRON_FROM ((time_t)1709210096)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_cron c;
	struct sy_error err = { { 0 } };
	char *text = fuzz_string(data, size);
	time_t next;
	struct tm tm;

	if (server_cron_parse(text, &c, &err) == 0) {
		if (!c.minutes || !c.hours || !c.months || (!c.days && !c.weekdays))
			abort();
		next = server_cron_next(&c, FUZZ_CRON_FROM);
		if (next != (time_t)-1) {
			gmtime_r(&next, &tm);
			if (next <= FUZZ_CRON_FROM || next % 60 ||
			    !((c.minutes >> tm.tm_min) & 1) || !((c.hours >> tm.tm_hour) & 1) ||
			    !((c.months >> (tm.tm_mon + 1)) & 1))
				abort();
		}
	} else if (!err.msg[0]) {
		abort();
	}
	free(text);
	return 0;
}
