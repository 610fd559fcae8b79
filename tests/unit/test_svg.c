/* The pictures of a pipeline page: the dependency graph laid out by
 * graphviz with every name escaped, the timeline's bars, and the critical
 * path through the jobs' needs. */
#include "testutil.h"

#include <jansson.h>

#include "server/svg.h"

/* What f wrote (caller frees). */
static char *render(void (*draw)(FILE *, const json_t *, const json_t *), const json_t *a,
		    const json_t *b)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	draw(f, a, b);
	fclose(f);
	return text;
}

static void timeline(FILE *f, const json_t *jobs, const json_t *plan)
{
	server_svg_timeline(f, jobs, plan);
}

static const char plan_text[] =
	"{\"rebuild\": [{\"spec\": \"a\", \"needs\": []}, {\"spec\": \"<b>&amp\\\\N</b>\", \"needs\": [\"a\"]},"
	" {\"spec\": \"c\", \"needs\": []}]}";

static void test_svg_graph_lays_out_the_rebuild_set_escaped(void **state)
{
	(void)state;
	json_t *plan = json_loads(plan_text, 0, NULL);
	json_t *jobs = json_loads("[{\"name\": \"a\", \"state\": \"failed\"}]", 0, NULL);
	char *svg = render(server_svg_graph, plan, jobs);

	assert_non_null(strstr(svg, "<svg"));
	assert_null(strstr(svg, "<?xml"));
	assert_non_null(strstr(svg, "class=\"edge\""));
	assert_int_equal(strstr(svg, "class=\"node\"") != NULL, 1);
	assert_null(strstr(svg, "<b>"));
	assert_non_null(strstr(svg, "&lt;b&gt;&amp;amp\\N&lt;/b&gt;"));
	assert_non_null(strstr(svg, "#ffcecb")); /* a failed */
	free(svg);
	json_decref(jobs);
	json_decref(plan);
}

static void test_svg_graph_without_set_is_a_note(void **state)
{
	(void)state;
	json_t *plan = json_loads("{\"rebuild\": []}", 0, NULL);
	char *svg = render(server_svg_graph, plan, NULL);

	assert_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "No spec to rebuild"));
	free(svg);
	json_decref(plan);
}

static const char jobs_text[] =
	"[{\"name\": \"a\", \"kind\": \"build\", \"state\": \"built\","
	"  \"started\": \"2026-01-01T00:00:00.000Z\", \"finished\": \"2026-01-01T00:00:10.000Z\"},"
	" {\"name\": \"<b>&amp\\\\N</b>\", \"kind\": \"build\", \"state\": \"built\","
	"  \"started\": \"2026-01-01T00:00:10.000Z\", \"finished\": \"2026-01-01T00:00:20.000Z\"},"
	" {\"name\": \"c\", \"kind\": \"build\", \"state\": \"built\","
	"  \"started\": \"2026-01-01T00:00:00.000Z\", \"finished\": \"2026-01-01T00:00:15.000Z\"},"
	" {\"name\": \"queued\", \"kind\": \"build\", \"state\": \"queued\", \"started\": null,"
	"  \"finished\": null},"
	" {\"name\": \"image/core\", \"kind\": \"image\", \"state\": \"built\","
	"  \"started\": \"2026-01-01T00:00:20.000Z\", \"finished\": \"2026-01-01T00:00:25.000Z\"}]";

static void test_svg_critical_path_follows_needs_to_the_last_job(void **state)
{
	(void)state;
	json_t *plan = json_loads(plan_text, 0, NULL), *jobs = json_loads(jobs_text, 0, NULL);
	unsigned char crit[5];

	server_svg_critical_path(jobs, plan, crit);
	/* image/core <- <b>.. (last build before it) <- a (its need); c ran
	 * beside a but nothing needed it. */
	assert_int_equal(crit[0], 1);
	assert_int_equal(crit[1], 1);
	assert_int_equal(crit[2], 0);
	assert_int_equal(crit[3], 0);
	assert_int_equal(crit[4], 1);
	json_decref(jobs);
	json_decref(plan);
}

static void test_svg_timeline_one_bar_per_job_that_ran_escaped(void **state)
{
	(void)state;
	json_t *plan = json_loads(plan_text, 0, NULL), *jobs = json_loads(jobs_text, 0, NULL);
	char *svg = render(timeline, jobs, plan), *p = svg;
	int bars = 0, critical = 0;

	while ((p = strstr(p, "<g class=\"bar"))) {
		bars++;
		critical += !strncmp(p, "<g class=\"bar critical\"", 23);
		p++;
	}
	assert_int_equal(bars, 4);
	assert_int_equal(critical, 3);
	assert_null(strstr(svg, "<b>"));
	assert_non_null(strstr(svg, "&lt;b&gt;&amp;amp\\N&lt;/b&gt;"));
	assert_non_null(strstr(svg, ">25.0s</text>"));
	free(svg);
	json_decref(jobs);
	json_decref(plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svg_graph_lays_out_the_rebuild_set_escaped),
		cmocka_unit_test(test_svg_graph_without_set_is_a_note),
		cmocka_unit_test(test_svg_critical_path_follows_needs_to_the_last_job),
		cmocka_unit_test(test_svg_timeline_one_bar_per_job_that_ran_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
