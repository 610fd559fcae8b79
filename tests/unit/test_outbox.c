/* The durable status outbox: order per key, backoff, Retry-After held for the
 * whole forge, one final state at most (per run of a commit), superseded
 * pending entries skipped, rejected entries reported, and the queue
 * surviving a reopen or a process dying in the middle of a send. A scripted
 * sender stands in for the forge. */
#include "testutil.h"

#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>

#include "forge/outbox.h"

#define SHA "89abcdef0123456789abcdef0123456789abcdef"
#define MAX_CALLS 64

/* One recorded send. */
struct call {
	char forge[16], context[64], state[16];
};

/* The scripted answers (consumed in order; ACCEPTED once exhausted) and the
 * recorded calls. */
static struct {
	struct forge_response answers[16];
	int n_answers, next_answer;
	struct call calls[MAX_CALLS];
	int n_calls;
	int die_in_send; /* _exit(0) inside the next send: a process killed mid-send */
	void (*in_send)(void); /* called inside the next send (another thread's work
				* while the network call runs), then cleared */
	char rejected[256];
	int n_rejected;
} script;

static struct forge forge_a = { FORGE_GITHUB, "http://a", "o/a", NULL };
static struct forge forge_b = { FORGE_GITLAB, "http://b", "o/b", NULL };

static int fake_send(const struct forge *f, const struct forge_status_request *r,
		     struct forge_response *out, struct sy_error *err)
{
	struct call *c = &script.calls[script.n_calls++];

	if (script.die_in_send)
		_exit(0);
	if (script.in_send) {
		void (*fn)(void) = script.in_send;
		script.in_send = NULL;
		fn();
	}
	assert_true(script.n_calls < MAX_CALLS);
	snprintf(c->forge, sizeof(c->forge), "%s", f == &forge_a ? "a" : "b");
	snprintf(c->context, sizeof(c->context), "%s", r->context);
	snprintf(c->state, sizeof(c->state), "%s", forge_state_name(r->state));
	if (script.next_answer < script.n_answers)
		*out = script.answers[script.next_answer++];
	else
		*out = (struct forge_response){ FORGE_ACCEPTED, 201, -1, "" };
	if (out->result == FORGE_ACCEPTED)
		return 0;
	return sy_error_set(err, "HTTP %ld", out->http_status);
}

static const struct forge *lookup(void *arg, const char *name)
{
	(void)arg;
	if (!strcmp(name, "a"))
		return &forge_a;
	if (!strcmp(name, "b"))
		return &forge_b;
	return NULL;
}

static void on_reject(void *arg, const struct forge_outbox_entry *e, long http_status,
		      const char *message)
{
	(void)arg;
	snprintf(script.rejected, sizeof(script.rejected), "%s %s %ld %s", e->request.context,
		 forge_state_name(e->request.state), http_status, message);
	script.n_rejected++;
}

static void script_answer(enum forge_result result, long http_status, long retry_after,
			  const char *message)
{
	struct forge_response *a = &script.answers[script.n_answers++];

	a->result = result;
	a->http_status = http_status;
	a->retry_after = retry_after;
	snprintf(a->message, sizeof(a->message), "%s", message);
}

/* A fresh outbox in a temporary directory. */
struct fixture {
	char *dir, *db;
	struct forge_outbox *ob;
};

static int setup(void **state)
{
	struct fixture *fx = sy_xcalloc(1, sizeof(*fx));
	struct sy_error err = { { 0 } };

	memset(&script, 0, sizeof(script));
	fx->dir = test_tmpdir();
	fx->db = sy_xasprintf("%s/state.db", fx->dir);
	fx->ob = forge_outbox_open(fx->db, &err);
	if (!fx->ob)
		fail_msg("%s", err.msg);
	forge_outbox_set_sender(fx->ob, fake_send);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	struct sy_error err;

	forge_outbox_close(fx->ob);
	sy_rm_rf(fx->dir, &err);
	free(fx->db);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Enqueues (forge, context, state) and returns enqueue's result. */
static int enqueue(struct fixture *fx, const char *forge, const char *context,
		   enum forge_state st)
{
	struct forge_status_request r = { SHA, context, st, "description", "http://dash/p/1" };
	struct sy_error err = { { 0 } };
	int rc = forge_outbox_enqueue(fx->ob, forge, &r, NULL, &err);

	if (rc < 0)
		fail_msg("%s", err.msg);
	return rc;
}

/* Drains at now; returns how many entries were accepted (stats may be
 * NULL). */
static int drain(struct fixture *fx, time_t now, struct forge_outbox_drain_stats *stats)
{
	struct forge_outbox_drain_stats mine;
	struct sy_error err = { { 0 } };

	if (!stats)
		stats = &mine;
	if (forge_outbox_drain(fx->ob, now, lookup, on_reject, NULL, stats, &err))
		fail_msg("%s", err.msg);
	return stats->accepted;
}

static long pending(struct fixture *fx)
{
	struct sy_error err = { { 0 } };

	return forge_outbox_pending_count(fx->ob, &err);
}

static long next_due(struct fixture *fx, time_t now)
{
	struct sy_error err = { { 0 } };

	return forge_outbox_next_due(fx->ob, now, &err);
}

static void assert_call(int i, const char *forge, const char *context, const char *state)
{
	assert_true(i < script.n_calls);
	assert_string_equal(script.calls[i].forge, forge);
	assert_string_equal(script.calls[i].context, context);
	assert_string_equal(script.calls[i].state, state);
}

/* Contexts left pending (a pipeline superseded, or gone while the service
 * was down) are found and closed; ended ones are left alone. */
static void test_outbox_open_contexts_are_listed_and_closed(void **state)
{
	struct fixture *fx = *state;
	struct sy_strv forges = SY_STRV_INIT, shas = SY_STRV_INIT;
	struct sy_error err = { { 0 } };

	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	enqueue(fx, "a", "shipyard/plan", FORGE_SUCCESS);
	enqueue(fx, "a", "shipyard/build", FORGE_RUNNING);
	enqueue(fx, "b", "shipyard/plan", FORGE_PENDING);
	assert_ok(forge_outbox_open_commits(fx->ob, &forges, &shas, &err), &err);
	assert_int_equal(forges.n, 2);
	assert_string_equal(forges.items[0], "a");
	assert_string_equal(shas.items[0], SHA);
	assert_int_equal(forge_outbox_close_open(fx->ob, "a", SHA, FORGE_CANCELLED,
						 "superseded by 0123456789ab", NULL, &err),
			 1);
	/* Sent to the forge: shipyard/build ends cancelled; plan stays success. */
	drain(fx, 1000, NULL);
	assert_call(script.n_calls - 1, "a", "shipyard/build", "cancelled");
	sy_strv_release(&forges);
	sy_strv_release(&shas);
	assert_ok(forge_outbox_open_commits(fx->ob, &forges, &shas, &err), &err);
	assert_int_equal(forges.n, 1);
	assert_string_equal(forges.items[0], "b");
	assert_int_equal(forge_outbox_close_open(fx->ob, "a", SHA, FORGE_ERROR, "x", NULL, &err), 0);
	sy_strv_release(&forges);
	sy_strv_release(&shas);
}

static void test_outbox_sends_in_enqueue_order(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_PENDING), 1);
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_PENDING), 1);
	assert_int_equal(enqueue(fx, "b", "shipyard/image/vhd", FORGE_PENDING), 1);
	assert_int_equal(pending(fx), 3);
	assert_int_equal(next_due(fx, 1000), 0);
	assert_int_equal(drain(fx, 1000, NULL), 3);
	assert_call(0, "a", "shipyard/plan", "pending");
	assert_call(1, "a", "shipyard/build", "pending");
	assert_call(2, "b", "shipyard/image/vhd", "pending");
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_FAILURE), 1);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_SUCCESS), 1);
	assert_int_equal(drain(fx, 1001, NULL), 2);
	assert_call(3, "a", "shipyard/build", "failure");
	assert_call(4, "a", "shipyard/plan", "success");
	assert_int_equal(pending(fx), 0);
	assert_int_equal(next_due(fx, 1001), -1);
}

static void test_outbox_retry_backs_off_1_2_4_seconds(void **state)
{
	struct fixture *fx = *state;
	struct forge_outbox_drain_stats stats;

	for (int i = 0; i < 3; i++)
		script_answer(FORGE_RETRY, 502, -1, "Bad Gateway");
	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	assert_int_equal(drain(fx, 1000, &stats), 0);
	assert_int_equal(stats.retried, 1);
	assert_int_equal(next_due(fx, 1000), 1);
	assert_int_equal(drain(fx, 1000, NULL), 0);
	assert_int_equal(script.n_calls, 1); /* not due yet: not sent */
	assert_int_equal(drain(fx, 1001, NULL), 0);
	assert_int_equal(next_due(fx, 1001), 2);
	assert_int_equal(drain(fx, 1003, NULL), 0);
	assert_int_equal(next_due(fx, 1003), 4);
	assert_int_equal(drain(fx, 1006, NULL), 0);
	assert_int_equal(script.n_calls, 3);
	assert_int_equal(drain(fx, 1007, NULL), 1);
	assert_int_equal(script.n_calls, 4);
	assert_int_equal(pending(fx), 0);
}

static void test_outbox_stats_count_outcomes_by_forge_kind(void **state)
{
	struct fixture *fx = *state;
	struct forge_outbox_drain_stats stats;

	script_answer(FORGE_ACCEPTED, 201, -1, "");
	script_answer(FORGE_REJECTED, 422, -1, "Validation Failed");
	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);  /* GitHub: accepted */
	enqueue(fx, "b", "shipyard/plan", FORGE_PENDING);  /* GitLab: rejected */
	enqueue(fx, "zz", "shipyard/plan", FORGE_PENDING); /* no forge: no kind */
	assert_int_equal(drain(fx, 1000, &stats), 1);
	assert_int_equal(stats.rejected, 2);
	assert_int_equal(stats.by_kind[FORGE_GITHUB].accepted, 1);
	assert_int_equal(stats.by_kind[FORGE_GITHUB].rejected, 0);
	assert_int_equal(stats.by_kind[FORGE_GITLAB].accepted, 0);
	assert_int_equal(stats.by_kind[FORGE_GITLAB].rejected, 1);
	assert_int_equal(stats.by_kind[FORGE_GITEA].accepted + stats.by_kind[FORGE_GITEA].rejected +
				 stats.by_kind[FORGE_GITEA].retried,
			 0);
}

static void test_outbox_backoff_is_capped_at_5_minutes(void **state)
{
	struct fixture *fx = *state;
	time_t now = 1000;

	for (int i = 0; i < 12; i++)
		script_answer(FORGE_RETRY, 0, -1, "Connection refused");
	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	for (int i = 0; i < 12; i++) {
		drain(fx, now, NULL);
		assert_true(next_due(fx, now) <= FORGE_OUTBOX_BACKOFF_MAX);
		now += next_due(fx, now);
	}
	assert_int_equal(next_due(fx, now - FORGE_OUTBOX_BACKOFF_MAX),
			 FORGE_OUTBOX_BACKOFF_MAX);
	assert_int_equal(script.n_calls, 12);
}

static void test_outbox_retry_after_holds_the_whole_forge(void **state)
{
	struct fixture *fx = *state;

	script_answer(FORGE_RETRY, 403, 30, "secondary rate limit");
	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	enqueue(fx, "a", "shipyard/build", FORGE_PENDING);
	enqueue(fx, "b", "shipyard/plan", FORGE_PENDING);
	assert_int_equal(drain(fx, 1000, NULL), 1); /* forge b is not held */
	assert_int_equal(script.n_calls, 2);
	assert_call(1, "b", "shipyard/plan", "pending");
	assert_int_equal(next_due(fx, 1000), 30);
	assert_int_equal(drain(fx, 1029, NULL), 0);
	assert_int_equal(drain(fx, 1030, NULL), 2);
	assert_call(2, "a", "shipyard/plan", "pending");
	assert_call(3, "a", "shipyard/build", "pending");
}

static void test_outbox_never_sends_a_second_final(void **state)
{
	struct fixture *fx = *state;

	enqueue(fx, "a", "shipyard/build", FORGE_PENDING);
	drain(fx, 1000, NULL);
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_SUCCESS), 1);
	/* A second final and a late pending, while the first final waits. */
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_FAILURE), 0);
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_PENDING), 0);
	assert_int_equal(drain(fx, 1001, NULL), 1);
	/* After the final was accepted. */
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_ERROR), 0);
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_RUNNING), 0);
	/* The same context on another forge is another key. */
	assert_int_equal(enqueue(fx, "b", "shipyard/build", FORGE_ERROR), 1);
	assert_int_equal(drain(fx, 1002, NULL), 1);
	assert_int_equal(script.n_calls, 3);
	assert_call(0, "a", "shipyard/build", "pending");
	assert_call(1, "a", "shipyard/build", "success");
	assert_call(2, "b", "shipyard/build", "error");
}

static void test_outbox_final_retried_until_accepted_then_never_again(void **state)
{
	struct fixture *fx = *state;

	script_answer(FORGE_RETRY, 500, -1, "Server Error");
	enqueue(fx, "a", "shipyard/plan", FORGE_SUCCESS);
	drain(fx, 1000, NULL);
	assert_int_equal(drain(fx, 1001, NULL), 1);
	assert_int_equal(drain(fx, 2000, NULL), 0);
	assert_int_equal(script.n_calls, 2);
	assert_int_equal(pending(fx), 0);
}

static void test_outbox_sends_first_pending_and_skips_later_superseded_ones(void **state)
{
	struct fixture *fx = *state;
	struct forge_outbox_drain_stats stats;

	enqueue(fx, "a", "shipyard/image/iso", FORGE_PENDING);
	enqueue(fx, "a", "shipyard/image/iso", FORGE_RUNNING);
	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	enqueue(fx, "a", "shipyard/image/iso", FORGE_SUCCESS);
	assert_int_equal(drain(fx, 1000, &stats), 3);
	assert_int_equal(stats.skipped, 1);
	assert_int_equal(script.n_calls, 3);
	assert_call(0, "a", "shipyard/image/iso", "pending");
	assert_call(1, "a", "shipyard/plan", "pending");
	assert_call(2, "a", "shipyard/image/iso", "success");
}

static void test_outbox_first_pending_waiting_for_retry_still_goes_before_final(void **state)
{
	struct fixture *fx = *state;

	script_answer(FORGE_RETRY, 503, -1, "Unavailable");
	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	drain(fx, 1000, NULL);
	enqueue(fx, "a", "shipyard/plan", FORGE_FAILURE);
	assert_int_equal(drain(fx, 1001, NULL), 2);
	assert_int_equal(script.n_calls, 3);
	assert_call(1, "a", "shipyard/plan", "pending");
	assert_call(2, "a", "shipyard/plan", "failure");
	assert_int_equal(pending(fx), 0);
}

static void test_outbox_rejected_entry_is_reported_and_queue_goes_on(void **state)
{
	struct fixture *fx = *state;
	struct forge_outbox_drain_stats stats;

	script_answer(FORGE_REJECTED, 422, -1,
		      "Validation Failed: description is too long (maximum is 140 characters)");
	enqueue(fx, "a", "shipyard/build", FORGE_SUCCESS);
	assert_int_equal(drain(fx, 1000, &stats), 0);
	assert_int_equal(stats.rejected, 1);
	assert_int_equal(script.n_rejected, 1);
	assert_string_equal(script.rejected, "shipyard/build success 422 Validation Failed: "
					     "description is too long (maximum is 140 characters)");
	assert_int_equal(pending(fx), 0);
	/* A rejected final was not accepted: another final may still go out. */
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_FAILURE), 1);
	assert_int_equal(drain(fx, 1001, NULL), 1);
	assert_call(1, "a", "shipyard/build", "failure");
}

static void test_outbox_unknown_forge_is_rejected(void **state)
{
	struct fixture *fx = *state;

	enqueue(fx, "nowhere", "shipyard/plan", FORGE_PENDING);
	assert_int_equal(drain(fx, 1000, NULL), 0);
	assert_int_equal(script.n_calls, 0);
	assert_int_equal(script.n_rejected, 1);
	assert_non_null(strstr(script.rejected, "forge 'nowhere' is not configured"));
}

static void reopen(struct fixture *fx)
{
	struct sy_error err = { { 0 } };

	forge_outbox_close(fx->ob);
	fx->ob = forge_outbox_open(fx->db, &err);
	if (!fx->ob)
		fail_msg("%s", err.msg);
	forge_outbox_set_sender(fx->ob, fake_send);
}

static void test_outbox_queue_and_finals_survive_reopening(void **state)
{
	struct fixture *fx = *state;

	enqueue(fx, "a", "shipyard/plan", FORGE_SUCCESS);
	enqueue(fx, "a", "shipyard/build", FORGE_PENDING);
	reopen(fx);
	assert_int_equal(pending(fx), 2);
	assert_int_equal(drain(fx, 1000, NULL), 2);
	reopen(fx);
	assert_int_equal(pending(fx), 0);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_FAILURE), 0);
	assert_int_equal(enqueue(fx, "a", "shipyard/build", FORGE_SUCCESS), 1);
}

/* A process that dies while it sends (child_fn of the test below). */
static int die_while_sending(void *arg)
{
	struct fixture *fx = arg;
	struct sy_error err;
	struct forge_outbox *ob = forge_outbox_open(fx->db, &err);

	forge_outbox_set_sender(ob, fake_send);
	script.die_in_send = 1;
	forge_outbox_drain(ob, 1001, lookup, NULL, NULL, NULL, &err);
	return 3; /* not reached: the send kills the process */
}

static void test_outbox_entry_sent_when_process_died_is_sent_again(void **state)
{
	struct fixture *fx = *state;
	struct sy_child c = SY_CHILD_INIT;
	struct sy_error err = { { 0 } };

	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	enqueue(fx, "a", "shipyard/build", FORGE_SUCCESS);
	drain(fx, 1000, NULL); /* both accepted */
	enqueue(fx, "a", "shipyard/image/vhd", FORGE_FAILURE);
	c.child_fn = die_while_sending;
	c.child_arg = fx;
	assert_ok(sy_child_run(&c, &err), &err);
	assert_int_equal(c.status, 0);
	reopen(fx);
	assert_int_equal(pending(fx), 1);
	assert_int_equal(drain(fx, 1002, NULL), 1);
	assert_int_equal(script.n_calls, 3);
	assert_call(2, "a", "shipyard/image/vhd", "failure");
	assert_int_equal(drain(fx, 1003, NULL), 0);
}

static const struct forge *lookup_real(void *arg, const char *name)
{
	return strcmp(name, "gh") ? NULL : arg;
}

/* Drains with the real sender; returns how many entries were accepted. */
static int drain_real(struct fixture *fx, time_t now, struct forge *gh)
{
	struct forge_outbox_drain_stats stats;
	struct sy_error err = { { 0 } };

	assert_int_equal(forge_outbox_drain(fx->ob, now, lookup_real, on_reject, gh, &stats, &err), 0);
	return stats.accepted;
}

/* Checks the recorded calls: all valid, answered with the given statuses. */
static void assert_recorded(const char *calls, const long *statuses, size_t n)
{
	struct sy_error err = { { 0 } };
	char *data = NULL;
	size_t len, i = 0;

	assert_ok(sy_read_file(calls, &data, &len, &err), &err);
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n"), i++) {
		json_t *call = json_loads(line, 0, NULL);

		assert_non_null(call);
		assert_true(i < n);
		if (!json_is_true(json_object_get(call, "valid")) ||
		    !json_is_true(json_object_get(call, "token_matched")))
			fail_msg("fake forge call %zu: %s", i, line);
		assert_int_equal(json_integer_value(json_object_get(call, "status")), statuses[i]);
		json_decref(call);
	}
	assert_int_equal(i, n);
	free(data);
}

static void test_outbox_drains_to_fake_forge_through_500_403_and_422(void **state)
{
	static const long statuses[] = { 500, 403, 201, 422, 201 };
	struct fixture *fx = *state;
	struct forge gh = FORGE_INIT;
	char *calls = sy_xasprintf("%s/calls.jsonl", fx->dir), *cmd;
	struct forge_status_request r = { SHA, "shipyard/build", FORGE_RUNNING,
					    "building", "http://dash/p/9" };
	struct sy_error err = { { 0 } };
	struct sy_child forge;
	unsigned port;

	if (test_fakeforge_start(calls, "tok-e2e", "500x1,403x1", &forge, &port)) {
		free(calls);
		skip(); /* tests/npm/node_modules absent: run `npm ci --prefix tests/npm` */
	}
	forge_outbox_set_sender(fx->ob, NULL); /* the real libcurl sender */
	gh.kind = FORGE_GITHUB;
	gh.api_url = sy_xasprintf("http://127.0.0.1:%u", port);
	gh.project = sy_xstrdup("octo/distro");
	gh.token = sy_xstrdup("tok-e2e");
	assert_int_equal(forge_outbox_enqueue(fx->ob, "gh", &r, NULL, &err), 1);
	assert_int_equal(drain_real(fx, 1000, &gh), 0);
	assert_int_equal(next_due(fx, 1000), 1); /* 500: first backoff step */
	assert_int_equal(drain_real(fx, 1001, &gh), 0);
	assert_int_equal(next_due(fx, 1001), 2); /* 403 + Retry-After: 1 s, backoff 2 s */
	assert_int_equal(drain_real(fx, 1003, &gh), 1);

	cmd = sy_xasprintf("curl -sf -XPOST http://127.0.0.1:%u/__fail -d '{\"status\":422}' "
			   ">/dev/null", port);
	test_sh(cmd);
	r.state = FORGE_SUCCESS;
	assert_int_equal(forge_outbox_enqueue(fx->ob, "gh", &r, NULL, &err), 1);
	assert_int_equal(drain_real(fx, 1004, &gh), 0);
	assert_non_null(strstr(script.rejected, "422 Validation Failed: description is too long"));
	r.state = FORGE_FAILURE;
	assert_int_equal(forge_outbox_enqueue(fx->ob, "gh", &r, NULL, &err), 1);
	assert_int_equal(drain_real(fx, 1005, &gh), 1);
	assert_int_equal(pending(fx), 0);

	test_fakeforge_stop(&forge);
	assert_recorded(calls, statuses, sizeof(statuses) / sizeof(statuses[0]));
	forge_release(&gh);
	free(cmd);
	free(calls);
}

/* A held plan's shipyard/plan failure was sent; the approval runs the
 * commit again: its statuses go out, once more ending with one final. */
static void test_outbox_reopened_commit_reports_a_new_run(void **state)
{
	struct fixture *fx = *state;
	struct sy_error err = { { 0 } };

	enqueue(fx, "a", "shipyard/plan", FORGE_PENDING);
	enqueue(fx, "a", "shipyard/plan", FORGE_FAILURE);
	enqueue(fx, "b", "shipyard/plan", FORGE_FAILURE);
	assert_int_equal(drain(fx, 1000, NULL), 3);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_PENDING), 0);
	assert_ok(forge_outbox_reopen_commit(fx->ob, "a", SHA, &err), &err);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_PENDING), 1);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_SUCCESS), 1);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_FAILURE), 0);
	/* Another forge's statuses of the commit stay ended. */
	assert_int_equal(enqueue(fx, "b", "shipyard/plan", FORGE_SUCCESS), 0);
	/* The forge saw a pending of the key already: the new one, superseded
	 * by the final, is skipped as any such. */
	assert_int_equal(drain(fx, 1001, NULL), 1);
	assert_int_equal(script.n_calls, 4);
	assert_call(3, "a", "shipyard/plan", "success");
	assert_int_equal(pending(fx), 0);
}

static struct fixture *racing;

/* What the service's HTTP thread does while the outbox thread sends the
 * held run's final: it reopens the commit and queues the new run's first
 * status, on its own connection. */
static void approve_during_send(void)
{
	struct sy_error err = { { 0 } };
	struct forge_outbox *other = forge_outbox_open(racing->db, &err);
	struct forge_status_request r = { SHA, "shipyard/plan", FORGE_PENDING, "queued", NULL };

	assert_non_null(other);
	assert_ok(forge_outbox_reopen_commit(other, "a", SHA, &err), &err);
	assert_int_equal(forge_outbox_enqueue(other, "a", &r, NULL, &err), 1);
	forge_outbox_close(other);
}

/* The held run's final, sent while the commit is reopened, must not end the
 * new run's key: its statuses would all be dropped. */
static void test_outbox_final_sent_while_reopened_does_not_end_the_new_run(void **state)
{
	struct fixture *fx = *state;

	enqueue(fx, "a", "shipyard/plan", FORGE_FAILURE);
	racing = fx;
	script.in_send = approve_during_send;
	assert_int_equal(drain(fx, 1000, NULL), 1);
	assert_int_equal(pending(fx), 1);
	assert_int_equal(enqueue(fx, "a", "shipyard/plan", FORGE_SUCCESS), 1);
	assert_int_equal(drain(fx, 1001, NULL), 1);
	assert_int_equal(script.n_calls, 2);
	assert_call(0, "a", "shipyard/plan", "failure");
	assert_call(1, "a", "shipyard/plan", "success");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outbox_sends_in_enqueue_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_open_contexts_are_listed_and_closed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_retry_backs_off_1_2_4_seconds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_backoff_is_capped_at_5_minutes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_retry_after_holds_the_whole_forge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_never_sends_a_second_final, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_final_retried_until_accepted_then_never_again,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_outbox_sends_first_pending_and_skips_later_superseded_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_outbox_first_pending_waiting_for_retry_still_goes_before_final,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_rejected_entry_is_reported_and_queue_goes_on,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_unknown_forge_is_rejected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_stats_count_outcomes_by_forge_kind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_queue_and_finals_survive_reopening, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outbox_entry_sent_when_process_died_is_sent_again,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_drains_to_fake_forge_through_500_403_and_422,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_reopened_commit_reports_a_new_run, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_outbox_final_sent_while_reopened_does_not_end_the_new_run, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
