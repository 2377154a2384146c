/*
 * test_sched.c - the preemption decision (runs/sched.h, sched_victims):
 * only preemptible runs of lower priority, the lowest first and among
 * equals the latest, and no more of them than needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "runs/sched.h"

static struct sched *
machine(int ngpus)
{
	struct sched_config cfg = { .ngpus = ngpus,
		.ncpus = 8,
		.max_running = IG_NONE,
		.max_queued = IG_NONE };

	for (int i = 0; i < ngpus; i++)
		cfg.gpu_ids[i] = i;
	return sched_new(&cfg);
}

/* A running entry holding gpus GPUs and one CPU slot. */
static void
running(struct sched *s, struct sched_entry *e, int64_t seq, int64_t prio,
    int64_t gpus, bool preemptible)
{
	*e = (struct sched_entry){ .owner = 1000,
		.priority = prio,
		.seq = seq,
		.gpus = gpus,
		.cpus = 1,
		.preemptible = preemptible };
	assert_true(sched_take(s, e));
}

static void
queued(struct sched *s, struct sched_entry *e, int64_t prio, int64_t gpus)
{
	*e = (struct sched_entry){ .owner = 1001,
		.priority = prio,
		.seq = 100,
		.gpus = gpus,
		.cpus = 1 };
	assert_int_equal(sched_enqueue(s, e), 0);
	assert_int_equal(sched_next(s, (struct sched_entry *[1]){ 0 }, 1), 0);
}

static void
test_lowest_latest_first(void **state)
{
	struct sched *s = machine(2);
	struct sched_entry a, b, h, *held[] = { &a, &b }, *out[2];

	(void)state;
	running(s, &a, 1, 0, 1, true);
	running(s, &b, 2, 0, 1, true);
	queued(s, &h, 5, 1);
	/* one GPU is enough: of two of priority 0, the later one */
	assert_int_equal(sched_victims(s, &h, held, 2, out), 1);
	assert_ptr_equal(out[0], &b);
	sched_dequeue(s, &h);
	queued(s, &h, 5, 2);
	assert_int_equal(sched_victims(s, &h, held, 2, out), 2);
	sched_free(s);
}

static void
test_never_equal_higher_or_unmarked(void **state)
{
	struct sched *s = machine(2);
	struct sched_entry a, b, h, *held[] = { &a, &b }, *out[2];

	(void)state;
	running(s, &a, 1, 3, 1, true); /* higher than h */
	running(s, &b, 2, 0, 1, false); /* not preemptible */
	queued(s, &h, 2, 1);
	assert_int_equal(sched_victims(s, &h, held, 2, out), 0);
	sched_dequeue(s, &h);
	queued(s, &h, 3, 1); /* equal to a's */
	assert_int_equal(sched_victims(s, &h, held, 2, out), 0);
	sched_free(s);
}

static void
test_no_more_than_needed(void **state)
{
	struct sched *s = machine(3);
	struct sched_entry a, b, h, *held[] = { &a, &b }, *out[2];

	(void)state;
	/* the lowest (a, 1 GPU) is taken first, but b's 2 GPUs alone are
	 * enough: a is spared */
	running(s, &a, 1, 0, 1, true);
	running(s, &b, 2, 1, 2, true);
	queued(s, &h, 5, 2);
	assert_int_equal(sched_victims(s, &h, held, 2, out), 1);
	assert_ptr_equal(out[0], &b);
	sched_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowest_latest_first),
		cmocka_unit_test(test_never_equal_higher_or_unmarked),
		cmocka_unit_test(test_no_more_than_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
