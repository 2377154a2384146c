/* test_store_queue.c - the byte bound of the writer's queue: full past it,
 * the drain callback once it has committed down to half. */
#include <string.h>

#include "helpers.h"

#define BOUND 65536

static void
drained(void *arg)
{
	(*(int *)arg)++;
}

/* n points of series, iterations from first. */
static void
points(fixture *fx, int64_t run, int64_t series, int64_t first, size_t n)
{
	struct store_point p[256];

	assert_true(n <= 256);
	for (size_t i = 0; i < n; i++)
		p[i] = (struct store_point){ series, 0, first + (int64_t)i, 1.0,
			(double)i };
	assert_int_equal(store_points(fx->store, run, p, n), 0);
}

static void
test_full_then_drained(void **state)
{
	struct store_options opt = { .queue_bytes = BOUND };
	struct store_stats st;
	fixture fx;
	int calls = 0;

	(void)state;
	fx_init(&fx);
	fx_open(&fx, &opt);
	store_on_drain(fx.store, drained, &calls);
	int64_t run = fx_create_run(&fx, "r");
	int64_t series = fx_series(&fx, run, "loss");
	fx_flush(&fx);
	assert_false(store_full(fx.store));
	store_stats(fx.store, &st);
	assert_int_equal(st.queued_bytes, 0);

	/* under the bound: not full, however many operations */
	points(&fx, run, series, 1, 100);
	store_stats(fx.store, &st);
	assert_true(st.queued_bytes >= 100 * sizeof(struct store_point));
	assert_true(st.queued_bytes < BOUND);
	assert_false(store_full(fx.store));

	/* past it: full at once, as the points are enqueued */
	for (int64_t it = 101; !store_full(fx.store); it += 256) {
		assert_true(it < 100000);
		points(&fx, run, series, it, 256);
	}
	store_stats(fx.store, &st);
	assert_true(st.queued_bytes > BOUND);
	assert_int_equal(calls, 0);

	/* committed: drained once, and nothing is held any more */
	fx_flush(&fx);
	assert_false(store_full(fx.store));
	assert_int_equal(calls, 1);
	store_stats(fx.store, &st);
	assert_int_equal(st.queued_bytes, 0);
	assert_true(fx_query(&fx, FX_NPOINTS) > 100);

	/* no drain without a full queue first */
	points(&fx, run, series, 200000, 10);
	fx_flush(&fx);
	assert_int_equal(calls, 1);
	fx_close(&fx);
	fx_cleanup(&fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_then_drained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
