/*
 * test_filters.c - event filters (rules 6, 7, 8).
 *
 * Every case runs range(2) for 6 epochs (iterations 1..12) with one filtered
 * recorder and compares the values at which it ran with the list Ignite
 * v0.5.3 gives for the same filter.
 */
#include "trace.h"

#include <string.h>

#define MAXV 16

typedef struct filter_case {
	const char *name;
	int event;
	ig_filter filter;
	int64_t want[MAXV]; /* the values (rule 6) at which the handler ran */
	size_t nwant;
} filter_case;

static const int64_t once_list[] = { 2, 5, 9 };
static const int64_t once_4[] = { 4 };
static const int64_t once_3[] = { 3 };

#define V(...) \
	{ __VA_ARGS__ }, sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)

static const filter_case cases[] = {
	/* rule 7: every */
	{ "IC every=3", E_IC, { .every = 3 }, V(3, 6, 9, 12) },
	{ "IC every=1 is no filter", E_IC, { .every = 1 },
	    V(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) },
	/* rule 7: once, once with a list */
	{ "IC once=4", E_IC, { .once = once_4, .nonce = 1 }, V(4) },
	{ "IC once=[2,5,9]", E_IC, { .once = once_list, .nonce = 3 },
	    V(2, 5, 9) },
	/* rule 7: before / after, strictly */
	{ "IC before=4", E_IC, { .before = 4 }, V(1, 2, 3) },
	{ "IC after=9", E_IC, { .after = 9 }, V(10, 11, 12) },
	{ "IC after=2 before=6", E_IC, { .after = 2, .before = 6 },
	    V(3, 4, 5) },
	/* rule 7: every with before/after counts from after+1 */
	{ "IC every=2 after=2", E_IC, { .every = 2, .after = 2 },
	    V(3, 5, 7, 9, 11) },
	{ "IC every=2 before=6", E_IC, { .every = 2, .before = 6 },
	    V(1, 3, 5) },
	{ "IC every=3 after=1 before=8", E_IC,
	    { .every = 3, .after = 1, .before = 8 }, V(2, 5) },
	/* rule 6: ITERATION_STARTED sees the new iteration */
	{ "IS once=[2,5,9]", E_IS, { .once = once_list, .nonce = 3 },
	    V(2, 5, 9) },
	/* rule 6: GET_BATCH events see the iterations done (every=3 fires at 0) */
	{ "GBS every=3", E_GBS, { .every = 3 }, V(0, 3, 6, 9) },
	{ "GBC once=4", E_GBC, { .once = once_4, .nonce = 1 }, V(4) },
	{ "GBS before=4", E_GBS, { .before = 4 }, V(1, 2, 3) },
	/* rule 6: EPOCH events see the epoch */
	{ "EC every=2", E_EC, { .every = 2 }, V(2, 4, 6) },
	{ "ES once=3", E_ES, { .once = once_3, .nonce = 1 }, V(3) },
	{ "EC after=4", E_EC, { .after = 4 }, V(5, 6) },
	{ "EC every=2 after=1 before=6", E_EC,
	    { .every = 2, .after = 1, .before = 6 }, V(2, 4) },
	/* rule 6: COMPLETED sees the epoch */
	{ "CO every=3", E_CO, { .every = 3 }, V(6) },
	{ "CO every=4", E_CO, { .every = 4 }, { 0 }, 0 },
};

static int64_t
value_of(const tr_ev *ev)
{
	switch (ev->event) {
	case E_GBS:
	case E_GBC:
	case E_IS:
	case E_IC:
		return ev->iteration;
	default:
		return ev->epoch;
	}
}

/* Rules 6, 7: the table above. */
static void
test_rule06_07_filter_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const filter_case *fc = &cases[c];
		proc_rec rec;
		ig_engine *e = new_engine(&rec);
		ig_data *d = ig_data_range(2);
		trace t;
		trace_init(&t);
		if (trace_record_event(e, &t, fc->event, &fc->filter, 0) == 0)
			fail_msg("%s: add refused: %s", fc->name,
			    ig_engine_error(e));
		ig_run_args a = run_args(6, IG_NONE, IG_NONE);
		RUN_OK(e, d, &a);
		bool same = t.n == fc->nwant;
		for (size_t i = 0; same && i < t.n; i++)
			same = value_of(&t.v[i]) == fc->want[i] &&
			    t.v[i].event == fc->event;
		if (!same) {
			print_error("case \"%s\": handler ran at", fc->name);
			for (size_t i = 0; i < t.n; i++)
				print_error(
				    " %lld", (long long)value_of(&t.v[i]));
			print_error(" (expected");
			for (size_t i = 0; i < fc->nwant; i++)
				print_error(" %lld", (long long)fc->want[i]);
			print_error(")\n");
			fail();
		}
		trace_free(&t);
		ig_data_free(d);
		ig_engine_free(e);
	}
}

/* Rule 7: once copies its list at add. */
static void
test_rule07_once_list_copied_at_add(void **state)
{
	fixture *f = *state;
	int64_t list[] = { 3, 4 };
	ig_filter flt = { .once = list, .nonce = 2 };
	assert_true(trace_record_event(f->e, &f->t, E_IC, &flt, 0) != 0);
	list[0] = 1;
	list[1] = 2;
	f->d = ig_data_range(5);
	RUN_OK(f->e, f->d, NULL);
	static const tr_ev exp[] = { { E_IC, 1, 3 }, { E_IC, 1, 4 } };
	TRACE_EQ(&f->t, exp);
}

/* Rule 7: only one of custom filter, once, {every, before, after}. */
static bool
yes(ig_engine *e, int64_t v, void *ud)
{
	(void)e, (void)v, (void)ud;
	return true;
}

static void
test_rule07_only_one_kind_of_filter(void **state)
{
	fixture *f = *state;
	static const ig_filter bad[] = {
		{ .every = 2, .once = once_4, .nonce = 1 },
		{ .before = 5, .once = once_4, .nonce = 1 },
		{ .after = 1, .once = once_4, .nonce = 1 },
		{ .every = 2, .fn = yes },
		{ .after = 2, .fn = yes },
		{ .once = once_4, .nonce = 1, .fn = yes },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    trace_record_event(f->e, &f->t, E_IC, &bad[i], 0), 0);
		assert_string_not_equal(ig_engine_error(f->e), "");
	}
	f->d = ig_data_range(2);
	RUN_OK(f->e, f->d, NULL);
	assert_int_equal(f->t.n, 0); /* nothing was added */
}

/* Rule 6 (we differ): a filter on an event with no counter is refused at
 * add; the same events take plain handlers. */
static void
test_rule06_filter_on_event_without_counter_refused(void **state)
{
	fixture *f = *state;
	int custom = ig_engine_register_event(f->e, "no_counter", NULL);
	assert_true(custom >= IG_EVENT_CORE_COUNT);
	const int events[] = { E_DSI, E_TRM, E_TSE, E_EXR, custom };
	const ig_filter filters[] = { { .every = 2 },
		{ .once = once_4, .nonce = 1 }, { .fn = yes } };
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		for (size_t j = 0; j < sizeof(filters) / sizeof(filters[0]);
		     j++) {
			if (trace_record_event(
			        f->e, &f->t, events[i], &filters[j], 0) != 0)
				fail_msg("filter %zu on event %d accepted", j,
				    events[i]);
			assert_string_not_equal(ig_engine_error(f->e), "");
		}
		assert_true(
		    trace_record_event(f->e, &f->t, events[i], NULL, 0) != 0);
	}
}

/* Rule 8: a custom filter runs at every firing with the event's value; the
 * handler runs when it returns true.  Also rule 6's values for STARTED (0 on
 * a fresh run) and COMPLETED. */
typedef struct seen_values {
	int64_t v[64];
	size_t n;
} seen_values;

static bool
odd_and_log(ig_engine *e, int64_t value, void *ud)
{
	(void)e;
	seen_values *s = ud;
	s->v[s->n++] = value;
	return value % 2 == 1;
}

static void
test_rule08_custom_filter(void **state)
{
	fixture *f = *state;
	trace t;
	trace_init(&t);
	seen_values ic = { 0 }, st = { 0 }, co = { 0 }, ec = { 0 };
	const ig_filter fic = { .fn = odd_and_log, .fn_ud = &ic };
	const ig_filter fst = { .fn = odd_and_log, .fn_ud = &st };
	const ig_filter fco = { .fn = odd_and_log, .fn_ud = &co };
	const ig_filter fec = { .fn = odd_and_log, .fn_ud = &ec };
	assert_true(trace_record_event(f->e, &t, E_IC, &fic, 1) != 0);
	assert_true(trace_record_event(f->e, &t, E_ST, &fst, 2) != 0);
	assert_true(trace_record_event(f->e, &t, E_CO, &fco, 3) != 0);
	assert_true(trace_record_event(f->e, &t, E_EC, &fec, 4) != 0);
	f->d = ig_data_range(2);
	ig_run_args a = run_args(3, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	assert_int_equal(ic.n, 6);
	for (size_t i = 0; i < ic.n; i++)
		assert_int_equal(ic.v[i], (int64_t)i + 1);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.v[0], 0);
	assert_int_equal(ec.n, 3);
	assert_int_equal(co.n, 1);
	assert_int_equal(co.v[0], 3);
	static const tr_ev exp[] = {
		{ TG(1, E_IC), 1, 1 },
		{ TG(4, E_EC), 1, 2 },
		{ TG(1, E_IC), 2, 3 },
		{ TG(1, E_IC), 3, 5 },
		{ TG(4, E_EC), 3, 6 },
		{ TG(3, E_CO), 3, 6 },
	};
	TRACE_EQ(&t, exp);
	trace_free(&t);
}

/* Rule 6: STARTED's filter value is the current epoch on a resume. */
static void
test_rule06_started_value_on_resume(void **state)
{
	fixture *f = *state;
	seen_values st = { 0 };
	const ig_filter fst = { .fn = odd_and_log, .fn_ud = &st };
	assert_true(trace_record_event(f->e, &f->t, E_ST, &fst, 0) != 0);
	ig_state_dict sd = { .iteration = IG_NONE,
		.epoch = 2,
		.epoch_length = 2,
		.max_epochs = 3 };
	assert_int_equal(ig_engine_load_state_dict(f->e, &sd), 0);
	f->d = ig_data_range(2);
	RUN_OK(f->e, f->d, NULL);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.v[0], 2);
	assert_int_equal(f->t.n, 0); /* 2 is even: filtered out */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule06_07_filter_table),
		FX_TEST_BARE(test_rule07_once_list_copied_at_add),
		FX_TEST_BARE(test_rule07_only_one_kind_of_filter),
		FX_TEST_BARE(
		    test_rule06_filter_on_event_without_counter_refused),
		FX_TEST_BARE(test_rule08_custom_filter),
		FX_TEST_BARE(test_rule06_started_value_on_resume),
	};
	return cmocka_run_group_tests_name(
	    "engine_filters (rules 6-8)", tests, NULL, NULL);
}
