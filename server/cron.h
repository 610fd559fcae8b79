/* Cron expressions for scheduled releases: the five fields of crontab(5)
 * (minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of week 0-7
 * with 0 and 7 Sunday), each "*", a number, a range "a-b", a list "a,b"
 * and steps "* /n" or "a-b/n" (no space; n from 1 to the field's maximum);
 * names in the month (JAN-DEC) and day of week (SUN-SAT) fields, any case,
 * alone or in ranges and lists ("MON-FRI", "SUN" at a range's end is 7, as
 * cronie reads it); the nicknames @yearly, @annually, @monthly, @weekly,
 * @daily, @midnight and @hourly (@reboot is refused: the service has no
 * boot). As in cron, when both day fields are restricted a day matching
 * either runs. Times are UTC. */
#ifndef SERVER_CRON_H
#define SERVER_CRON_H

#include <stdint.h>
#include <time.h>

#include "common/error.h"

/* A parsed expression: one bit per allowed value. */
struct server_cron {
	uint64_t minutes;
	uint32_t hours, days, months;
	uint8_t weekdays;
	int dom_any, dow_any;  /* the field was "*" */
};

/* Parses text. Returns 0, or -1 with err naming the field ("cron '0 25 * *
 * *': hour 25 out of range 0-23", "cron '0 0 * * FOO': bad day of week
 * field 'FOO' (numbers 0-7 or SUN-SAT)"). */
int server_cron_parse(const char *text, struct server_cron *c, struct sy_error *err);

/* The first minute strictly after `after` that matches (seconds since the
 * epoch), or (time_t)-1 when none within five years. */
time_t server_cron_next(const struct server_cron *c, time_t after);

#endif
