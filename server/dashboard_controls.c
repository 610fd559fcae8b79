/* The dashboard's buttons: small forms that post to the API's write
 * endpoints (server/api.c) with the API token typed into the form (a
 * browser form cannot send an Authorization header; the API takes the
 * token from the form's "token" field and answers with a redirect to the
 * pipeline's page). Nothing is shown that the API would refuse by state. */
#include "server/dashboard-private.h"

/* A form posting to action with a token field and a submit button. */
static void form(FILE *out, const char *action, long long id, const char *label,
		 const char *extra)
{
	fprintf(out, "<form class=\"control\" method=\"post\" action=\"/api/pipelines");
	if (id)
		fprintf(out, "/%lld/%s", id, action);
	fputs("\">", out);
	fputs(extra ? extra : "", out);
	fprintf(out, "<input type=\"password\" name=\"token\" placeholder=\"API token\" required "
		     "autocomplete=\"current-password\"> <button type=\"submit\">%s</button></form>\n",
		label);
}

void dashboard_controls_pipeline(FILE *out, const json_t *p)
{
	const char *state = jget(p, "state");
	long long id = (long long)json_integer_value(json_object_get(p, "id"));

	if (!state)
		return;
	fputs("<div class=\"controls\">", out);
	if (dashboard_state_active(state))
		form(out, "cancel", id, "Cancel", NULL);
	else if (!strcmp(state, "failure") || !strcmp(state, "error") ||
		 !strcmp(state, "cancelled"))
		form(out, "retry", id, "Retry failed jobs", NULL);
	fputs("</div>\n", out);
}

void dashboard_controls_trigger(FILE *out)
{
	form(out, NULL, 0, "Run pipeline",
	     "<input name=\"repo\" placeholder=\"repository\" size=\"12\"> "
	     "<input name=\"branch\" placeholder=\"branch\" size=\"12\"> "
	     "<input name=\"commit\" placeholder=\"or commit\" size=\"14\"> ");
}
