#include "server/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/strv.h"
#include "common/util.h"

static const char *const field_names[] = { "minute", "hour", "day of month", "month",
					   "day of week" };
static const int lows[] = { 0, 0, 1, 1, 0 }, highs[] = { 59, 23, 31, 12, 7 };

/* The names crontab(5) allows in the month (JAN-DEC, 1-12) and day of week
 * (SUN-SAT, 0-6) fields, any case. */
static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* Reads one value of field f at text: a number, or a three-letter name in
 * the month and day of week fields. high: the value ends a range, where
 * "SUN" is 7 (so that MON-SUN is a range, as cronie reads it). Sets *end
 * past it; returns 0, or -1 when text holds neither. */
static int parse_value(const char *text, int f, int high, long *v, char **end)
{
	const char *const *names = f == 3 ? month_names : f == 4 ? day_names : NULL;
	size_t n = f == 3 ? LEN(month_names) : LEN(day_names);

	if (names && isalpha((unsigned char)text[0])) {
		for (size_t i = 0; i < n; i++)
			if (!strncasecmp(text, names[i], 3) && !isalpha((unsigned char)text[3])) {
				*v = f == 3 ? (long)i + 1 : (high && i == 0) ? 7 : (long)i;
				*end = (char *)text + 3;
				return 0;
			}
		return -1;
	}
	if (!isdigit((unsigned char)text[0]))
		return -1;
	*v = strtol(text, end, 10);
	return 0;
}

/* Reads "*", "a" or "a-b" (numbers or names) at part into *lo and *hi. */
static int parse_range(const char *part, int f, long *lo, long *hi)
{
	char *end;

	if (!strcmp(part, "*")) {
		*lo = lows[f];
		*hi = highs[f];
		return 0;
	}
	if (parse_value(part, f, 0, lo, &end))
		return -1;
	*hi = *lo;
	if (*end == '-' && parse_value(end + 1, f, 1, hi, &end))
		return -1;
	return *end ? -1 : 0;
}

/* Parses one comma-separated field into bits. */
static int parse_field(const char *text, int f, uint64_t *bits, int *any, const char *expr,
		       struct sy_error *err)
{
	char *copy = sy_xstrdup(text), *save = NULL;
	int rc = 0;

	*bits = 0;
	*any = !strcmp(text, "*");
	for (char *part = strtok_r(copy, ",", &save); part && rc == 0;
	     part = strtok_r(NULL, ",", &save)) {
		long lo = 0, hi = 0, step = 1;
		char *slash = strchr(part, '/'), *end;
		if (slash) {
			*slash = '\0';
			step = strtol(slash + 1, &end, 10);
			/* Bounded, so that v += step cannot overflow. */
			if (*end || step < 1 || step > highs[f])
				rc = -1;
		}
		if (rc == 0)
			rc = parse_range(part, f, &lo, &hi);
		if (rc == 0 && (lo < lows[f] || hi > highs[f] || lo > hi)) {
			sy_error_set(err, "cron '%s': %s %s out of range %d-%d", expr, field_names[f],
				     part, lows[f], highs[f]);
			free(copy);
			return -1;
		}
		for (long v = lo; rc == 0 && v <= hi; v += step)
			*bits |= 1ULL << v;
	}
	free(copy);
	/* A field of commas only ("0 , * * *") lists no value: it would never run. */
	if (rc || *bits == 0)
		return sy_error_set(err, "cron '%s': bad %s field '%s'%s", expr, field_names[f], text,
				    f == 3 ? " (numbers 1-12 or JAN-DEC)"
				    : f == 4 ? " (numbers 0-7 or SUN-SAT)" : "");
	return 0;
}

int server_cron_parse(const char *text, struct server_cron *c, struct sy_error *err)
{
	/* crontab(5)'s nicknames, but @reboot: the service has no boot. */
	static const struct { const char *name, *expr; } aliases[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	const char *expr = text;
	char fields[5][64];
	uint64_t bits[5];
	int any[5], n;

	for (size_t i = 0; i < LEN(aliases); i++)
		if (!strcasecmp(text, aliases[i].name))
			expr = aliases[i].expr;
	memset(c, 0, sizeof(*c));
	if (expr == text && text[0] == '@')
		return sy_error_set(err, "cron '%s': not supported (known: @yearly, @annually, "
				    "@monthly, @weekly, @daily, @midnight, @hourly)", text);
	n = sscanf(expr, "%63s %63s %63s %63s %63s", fields[0], fields[1], fields[2], fields[3],
		   fields[4]);
	if (n != 5)
		return sy_error_set(err, "cron '%s': expected five fields", text);
	for (int f = 0; f < 5; f++)
		if (parse_field(fields[f], f, &bits[f], &any[f], text, err))
			return -1;
	c->minutes = bits[0];
	c->hours = (uint32_t)bits[1];
	c->days = (uint32_t)bits[2];
	c->months = (uint32_t)bits[3];
	c->weekdays = (uint8_t)(bits[4] | (bits[4] >> 7)); /* 7 is Sunday too */
	c->dom_any = any[2];
	c->dow_any = any[4];
	return 0;
}

static int day_matches(const struct server_cron *c, const struct tm *t)
{
	int dom = (c->days >> t->tm_mday) & 1, dow = (c->weekdays >> t->tm_wday) & 1;

	if (c->dom_any && c->dow_any)
		return 1;
	if (c->dom_any)
		return dow;
	if (c->dow_any)
		return dom;
	return dom || dow;
}

time_t server_cron_next(const struct server_cron *c, time_t after)
{
	time_t t = after - after % 60 + 60, limit = after + 5L * 366 * 24 * 3600;
	struct tm tm;

	while (t < limit) {
		gmtime_r(&t, &tm);
		if (!((c->months >> (tm.tm_mon + 1)) & 1) || !day_matches(c, &tm)) {
			t += 24 * 3600 - tm.tm_hour * 3600 - tm.tm_min * 60; /* next day */
			continue;
		}
		if (!((c->hours >> tm.tm_hour) & 1)) {
			t += 3600 - tm.tm_min * 60; /* next hour */
			continue;
		}
		if ((c->minutes >> tm.tm_min) & 1)
			return t;
		t += 60;
	}
	return (time_t)-1;
}
