/*
 * test_state.c - set_data (rule 22), times (rule 24), batch and output
 * clearing (rule 25).
 */
#include "trace.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

/* Rule 22: set_data mid-run: the next fetch comes from the new data (from
 * its start), epoch_length unchanged.  Ignite v0.5.3 with range(3) switched
 * to a 5-item list at ITERATION_COMPLETED(once=2): items 0 1 | 0 1 2 3 4 0 1. */
typedef struct switcher {
	ig_data *to;
	int64_t at;
} switcher;

static int
switch_data(ig_engine *e, int event, void *ud)
{
	(void)event;
	switcher *s = ud;
	if (ig_engine_state(e)->iteration == s->at)
		assert_int_equal(ig_engine_set_data(e, s->to), 0);
	return 0;
}

static void
test_rule22_set_data_mid_run(void **state)
{
	fixture *f = *state;
	f->d = ig_data_range(3);
	f->d2 = ig_data_range(5);
	switcher s = { f->d2, 2 };
	assert_true(ig_engine_on(f->e, E_IC, NULL, switch_data, &s) != 0);
	ig_run_args a = run_args(3, 3, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	ASSERT_SEEN(&f->rec, 0, 1, 0, 1, 2, 3, 4, 0, 1);
	assert_int_equal(ig_engine_state(f->e)->epoch_length, 3);
	/* The switch restarts the iterator without DATALOADER_STOP_ITERATION; the
	 * new data runs out inside epoch 3. */
	trace dsi;
	trace_init(&dsi);
	trace_only(&dsi, &f->t, E_DSI);
	static const tr_ev exp[] = { { E_DSI, 3, 7 } };
	TRACE_EQ(&dsi, exp);
	trace_free(&dsi);
}

/* Rule 24: times unset before the first run, 0 at STARTED, the duration
 * stored before EPOCH_COMPLETED/COMPLETED handlers and updated after. */
typedef struct times_probe {
	double at_started_epoch, at_started_total;
	double at_ec, at_co;
} times_probe;

static void
sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

static int
probe_started(ig_engine *e, int event, void *ud)
{
	(void)event;
	times_probe *p = ud;
	p->at_started_epoch = ig_engine_state(e)->time_epoch;
	p->at_started_total = ig_engine_state(e)->time_total;
	return 0;
}

static int
probe_and_sleep(ig_engine *e, int event, void *ud)
{
	times_probe *p = ud;
	if (event == E_EC)
		p->at_ec = ig_engine_state(e)->time_epoch;
	else
		p->at_co = ig_engine_state(e)->time_total;
	sleep_ms(30);
	return 0;
}

static void
test_rule24_times(void **state)
{
	fixture *f = *state;
	assert_true(isnan(ig_engine_state(f->e)->time_epoch));
	assert_true(isnan(ig_engine_state(f->e)->time_total));
	times_probe p = { -1, -1, -1, -1 };
	assert_true(ig_engine_on(f->e, E_ST, NULL, probe_started, &p) != 0);
	assert_true(ig_engine_on(f->e, E_EC, NULL, probe_and_sleep, &p) != 0);
	assert_true(ig_engine_on(f->e, E_CO, NULL, probe_and_sleep, &p) != 0);
	f->d = ig_data_range(2);
	for (int run = 0; run < 2; run++) {
		RUN_OK(f->e, f->d, NULL);
		assert_true(p.at_started_epoch == 0.0);
		assert_true(p.at_started_total == 0.0);
		/* Stored before the handlers: without their 30 ms. */
		assert_true(p.at_ec >= 0.0 && p.at_ec < 0.025);
		/* COMPLETED's includes the EPOCH_COMPLETED handler's sleep. */
		assert_true(p.at_co >= 0.029 && p.at_co < 0.055);
		/* Updated after the handlers. */
		assert_true(ig_engine_state(f->e)->time_epoch >= 0.029);
		assert_true(ig_engine_state(f->e)->time_total >= 0.059);
	}
}

/* Rule 25: batch cleared before each fetch, output cleared after each fetch;
 * an ITERATION_STARTED handler may replace the batch. */
typedef struct batch_probe {
	int bad;
	ig_batch replaced;
} batch_probe;

static int
probe_batch(ig_engine *e, int event, void *ud)
{
	batch_probe *p = ud;
	ig_state *s = ig_engine_state(e);
	switch (event) {
	case E_GBS:
		p->bad += s->batch != NULL;
		break;
	case E_GBC:
		p->bad +=
		    s->batch == NULL || s->batch->index != (s->iteration % 3);
		p->bad += s->output != NULL;
		break;
	case E_IS:
		p->bad += s->output != NULL;
		if (s->iteration == 2) {
			p->replaced = (ig_batch){ .index = 42 };
			s->batch = &p->replaced;
		}
		break;
	case E_IC: {
		const ig_field *x =
		    s->output ? ig_output_field(s->output, "x") : NULL;
		p->bad += x == NULL || s->batch == NULL ||
		    x->value != (double)s->batch->index;
		break;
	}
	default:
		break;
	}
	return 0;
}

static void
test_rule25_batch_and_output_clearing(void **state)
{
	fixture *f = *state;
	batch_probe p = { 0, { 0 } };
	const ig_event_spec specs[] = { { E_GBS, { 0 } }, { E_GBC, { 0 } },
		{ E_IS, { 0 } }, { E_IC, { 0 } } };
	assert_true(
	    ig_engine_add_handler(f->e, specs, 4, probe_batch, &p) != 0);
	f->d = ig_data_range(3);
	ig_run_args a = run_args(2, IG_NONE, IG_NONE);
	RUN_OK(f->e, f->d, &a);
	assert_int_equal(p.bad, 0);
	ASSERT_SEEN(&f->rec, 0, 42, 2, 0, 1, 2);
}

/* Many metrics and user keys (a worker may report a thousand): each found
 * by name (past the short lists that are scanned), listed in the order set. */
static void
test_many_names(void **state)
{
	ig_engine *e = ig_engine_new(NULL, NULL);
	char name[32];
	double v;
	const size_t n = 3000;

	(void)state;
	assert_non_null(e);
	/* descending names, so the index order is the reverse of insertion */
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "m%05zu", n - i);
		assert_int_equal(ig_engine_set_metric(e, name, (double)i), 0);
	}
	assert_int_equal(ig_engine_metric_count(e), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "m%05zu", n - i);
		assert_true(ig_engine_metric(e, name, &v));
		assert_true(v == (double)i);
		assert_string_equal(ig_engine_metric_at(e, i, &v), name);
	}
	assert_false(ig_engine_metric(e, "m00000", &v));
	assert_false(ig_engine_metric(e, "zzz", &v));
	for (size_t i = 0; i < 20; i++) {
		ig_value u = { .type = IG_VALUE_INT, .u.i = (int64_t)i };
		snprintf(name, sizeof name, "k%02zu", 19 - i);
		assert_int_equal(ig_engine_set_user(e, name, &u), 0);
	}
	for (size_t i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "k%02zu", 19 - i);
		const ig_value *u = ig_engine_user(e, name);
		assert_non_null(u);
		assert_int_equal(u->u.i, (int64_t)i);
	}
	assert_null(ig_engine_user(e, "k20"));
	ig_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(test_rule22_set_data_mid_run),
		FX_TEST_BARE(test_rule24_times),
		FX_TEST_BARE(test_rule25_batch_and_output_clearing),
		cmocka_unit_test(test_many_names),
	};
	return cmocka_run_group_tests_name(
	    "engine_state (rules 22, 24, 25)", tests, NULL, NULL);
}
