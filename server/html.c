#define _GNU_SOURCE
#include "server/html.h"

#include <string.h>
#include <time.h>

/* The one stylesheet of every page, inline: a page needs no other request
 * and no asset outside the binary. */
static const char stylesheet[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2328;"
	"background:#f6f8fa}"
	"header{background:#24292f;color:#fff;padding:.6em 1.2em}"
	"header a{color:#fff;margin-right:1.2em;text-decoration:none;font-weight:600}"
	"main{padding:1em 1.2em;max-width:1400px}"
	"h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.4em 0 .5em}"
	"table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:1em}"
	"th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}"
	"th{background:#eaeef2}td.num{text-align:right}"
	"table.kv{width:auto}table.kv th{width:10em}"
	"code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
	"font-size:13px}"
	"pre{background:#fff;border:1px solid #d0d7de;padding:.8em;overflow-x:auto;"
	"white-space:pre-wrap;word-break:break-all}"
	".badge{display:inline-block;padding:0 .55em;border-radius:1em;color:#fff;"
	"font-size:12px;font-weight:600;background:#6e7781}"
	".s-success,.s-built,.s-reused,.s-unchanged,.s-made{background:#1a7f37}"
	".s-failure,.s-failed{background:#cf222e}.s-error{background:#82071e}"
	".s-running{background:#0969da}.s-queued{background:#8c959f}"
	".s-blocked{background:#bc4c00}.s-approvalneeded{background:#9a6700}"
	".s-cancelled,.s-superseded,.s-skipped{background:#57606a}"
	".muted{color:#57606a}ul.plain{margin:0;padding-left:1.2em}"
	"pre.log{padding:0}pre.log .line{padding:0 .6em}pre.log .line:target,pre.log .line.target{background:#fff8c5}"
	"pre.log .ln{display:inline-block;min-width:3.5em;color:#8c959f;text-decoration:none;"
	"user-select:none}pre.log .ts{color:#8c959f;margin-right:1em;user-select:none}"
	"pre.log .err{background:#ffebe9}pre.log .err .tx{color:#cf222e;font-weight:600}"
	"tr.failed td{background:#fff5f5}";

void server_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

void server_html_url_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/", c))
			fputc(c, out);
		else
			fprintf(out, "%%%02X", c);
	}
}

double server_html_time_parse(const char *t)
{
	struct tm tm;
	const char *rest;
	double frac = 0;

	memset(&tm, 0, sizeof(tm));
	if (!t || !(rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*rest == '.') {
		double scale = 0.1;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
			frac += (*rest - '0') * scale;
	}
	if (strcmp(rest, "Z"))
		return 0;
	return (double)timegm(&tm) + frac;
}

void server_html_time(char buf[32], const char *t)
{
	double secs = server_html_time_parse(t);
	time_t whole = (time_t)secs;
	struct tm tm;

	if (secs <= 0 || !gmtime_r(&whole, &tm))
		snprintf(buf, 32, "-");
	else
		strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void server_html_duration(char buf[32], const json_t *seconds)
{
	double s = json_number_value(seconds);

	if (!json_is_number(seconds))
		snprintf(buf, 32, "-");
	else if (s < 60)
		snprintf(buf, 32, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, 32, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, 32, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

void server_html_badge(FILE *out, const char *state)
{
	fputs("<span class=\"badge s-", out);
	for (const char *c = state ? state : ""; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			fputc(*c, out);
	fputs("\">", out);
	server_html_escape(out, state ? state : "unknown");
	fputs("</span>", out);
}

char *server_html_url(const char *root, const char *a, const char *b, const char *c)
{
	const char *const parts[] = { a, b, c };
	char *url = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&url, &len);

	fputs(root, f);
	for (size_t i = 0; i < 3; i++) {
		if (!parts[i]) {
			fputc('/', f);
			break;
		}
		if (i)
			fputc('/', f);
		server_html_url_escape(f, parts[i]);
	}
	fclose(f);
	return url;
}

void server_html_page_begin(FILE *out, const char *title, int refresh_s)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
	      out);
	if (refresh_s > 0)
		fprintf(out, "<meta http-equiv=\"refresh\" content=\"%d\">", refresh_s);
	fputs("<title>", out);
	server_html_escape(out, title);
	fprintf(out, " - shipyard</title><style>%s</style></head><body>"
		     "<header><a href=\"/\">shipyard</a><a href=\"/\">Pipelines</a>"
		     "<a href=\"/repositories\">Repositories</a><a href=\"/images\">Images</a>"
		     "<a href=\"/releases/\">Releases</a>"
		     "<a href=\"/metrics\">Metrics</a></header><main>\n",
		stylesheet);
}

void server_html_page_end(FILE *out)
{
	fputs("</main></body></html>\n", out);
}

void server_html_td(FILE *out, const char *text)
{
	fputs("<td>", out);
	server_html_escape(out, text ? text : "");
	fputs("</td>", out);
}

void server_html_strings(FILE *out, const json_t *a, const char *sep)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (i)
			fputs(sep, out);
		server_html_escape(out, json_string_value(v));
	}
}

void server_html_kv(FILE *out, const char *name, const char *value)
{
	fprintf(out, "<tr><th>%s</th>", name);
	server_html_td(out, value ? value : "-");
	fputs("</tr>\n", out);
}
