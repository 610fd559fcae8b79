/* The HTML of the dashboard's pages: escaping, the page frame (one inline
 * stylesheet, the navigation, no external assets), state badges, table
 * cells, and times and durations as the pages show them. Every function
 * writes to out (a memory stream of a page being made) and cannot fail. */
#ifndef SERVER_HTML_H
#define SERVER_HTML_H

#include <stdio.h>

#include <jansson.h>

/* Writes s to out with &, <, >, " and ' replaced by character references,
 * so that it is text in HTML content and in quoted attribute values (NULL
 * writes nothing). */
void server_html_escape(FILE *out, const char *s);

/* Writes s percent-encoded for a URL path: every byte but RFC 3986's
 * unreserved characters and '/' becomes %XX, which leaves it HTML-safe as
 * well. */
void server_html_url_escape(FILE *out, const char *s);

/* Returns root (a trusted path such as "/images/") followed by a, b and c
 * percent-encoded (server_html_url_escape) and joined by '/', newly
 * allocated. A NULL part ends it, with a trailing '/' (a directory):
 * ("/releases/", "distro", "r1", NULL) gives "/releases/distro/r1/". */
char *server_html_url(const char *root, const char *a, const char *b, const char *c);

/* Writes the page head with title (escaped) and the navigation bar, up to
 * the opening <main>. refresh_s > 0 makes the browser reload the page every
 * refresh_s seconds (a pipeline still running); 0 never. */
void server_html_page_begin(FILE *out, const char *title, int refresh_s);

/* Closes what server_html_page_begin opened. */
void server_html_page_end(FILE *out);

/* Writes a coloured badge for a state ("success", "running"; NULL shows
 * "unknown"); its CSS class keeps only the [a-z] of state. */
void server_html_badge(FILE *out, const char *state);

/* Writes a table cell holding text, escaped (NULL: empty). */
void server_html_td(FILE *out, const char *text);

/* Writes a table row "<th>name</th><td>value</td>": name is trusted HTML,
 * value is escaped ("-" when NULL). */
void server_html_kv(FILE *out, const char *name, const char *value);

/* Writes the strings of the JSON array a, escaped, joined by sep (trusted
 * HTML); members that are not strings show as empty. */
void server_html_strings(FILE *out, const json_t *a, const char *sep);

/* Formats t, an RFC 3339 UTC time as the API gives it
 * ("2026-12-07T14:55:13.042Z"), as "YYYY-MM-DD HH:MM:SSZ" into buf; "-"
 * when t is NULL or not such a time. */
void server_html_time(char buf[32], const char *t);

/* Seconds since the epoch of an RFC 3339 UTC time t as the API gives it
 * ("2026-12-07T14:55:13.042Z"), or 0 when t is NULL or not one. */
double server_html_time_parse(const char *t);

/* Formats a JSON number of seconds as "4.2s", "3m05s" or "2h07m" into buf;
 * "-" when seconds is not a number (or NULL). */
void server_html_duration(char buf[32], const json_t *seconds);

#endif
