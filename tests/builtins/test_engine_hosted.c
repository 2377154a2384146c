/*
 * test_engine_hosted.c - builtins under a real engine with real metrics.
 *
 * What the daemon will do, in miniature: a trainer engine over the csv
 * source's train split with Loss and Accuracy attached, an evaluator engine
 * over the validation split, and meanstd with Average metrics.  This checks
 * that the output fields are what the metrics expect.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "builtin/builtin.h"
#include "fixture.h"
#include "ignite/metrics.h"

#define NP(a) (sizeof(a) / sizeof((a)[0]))

/* A plugin instance in one mode, as an engine's process function. */
struct hosted {
	const ig_plugin *pl;
	void *self;
	int mode;
};

static int
hosted_process(ig_engine *e, const ig_batch *b, const ig_output **out, void *ud)
{
	struct hosted *h = ud;
	char err[256];

	if (h->pl->process(h->self, b, h->mode, out, err, sizeof err) != 0)
		return ig_engine_raise(e, "%s", err);
	return IG_PROCESS_DONE;
}

static ig_engine *
engine_with(
    struct hosted *h, const char *const *metrics, ig_metric **m, size_t n)
{
	ig_engine *e = ig_engine_new(hosted_process, h);

	assert_non_null(e);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(m[i]);
		assert_int_equal(ig_metric_attach(m[i], e, metrics[i]), 0);
	}
	return e;
}

static double
metric(ig_engine *e, const char *name)
{
	double v;

	if (!ig_engine_metric(e, name, &v))
		fail_msg("no metric %s (engine error: %s)", name,
		    ig_engine_error(e));
	return v;
}

struct evaluation {
	ig_engine *evaluator;
	ig_data *val;
	double first_loss;
};

static int
evaluate(ig_engine *trainer, int event, void *ud)
{
	struct evaluation *ev = ud;
	ig_run_args a = IG_RUN_ARGS_INIT;

	(void)event;
	a.max_epochs = 1;
	if (ig_engine_run(ev->evaluator, ev->val, &a) != 0)
		return ig_engine_raise(
		    trainer, "evaluator: %s", ig_engine_error(ev->evaluator));
	if (ig_engine_state(trainer)->epoch == 1)
		ev->first_loss = metric(trainer, "loss");
	print_message("engine epoch %2lld: train loss %.4f acc %.4f  val loss "
	              "%.4f acc %.4f\n",
	    (long long)ig_engine_state(trainer)->epoch, metric(trainer, "loss"),
	    metric(trainer, "acc"), metric(ev->evaluator, "loss"),
	    metric(ev->evaluator, "acc"));
	return 0;
}

static void
test_softmax_trainer_and_evaluator(void **state)
{
	ig_param dp[] = { fx_int("label", -1), fx_int("scale", 16),
		fx_int("batch_size", 32), fx_bool("shuffle", true),
		fx_dbl("val_fraction", 0.2) };
	ig_param mp[] = { fx_int("classes", 10), fx_dbl("lr", 0.5),
		fx_dbl("momentum", 0.5) };
	struct data_source tr, val;
	char err[256];

	(void)state;
	if (access(DIGITS_PATH, R_OK) != 0)
		skip();
	fx_csv(DIGITS_PATH, dp, NP(dp), &tr, &val);
	const ig_plugin *pl = builtin_find("softmax");
	void *self = pl->create(mp, NP(mp), err, sizeof err);
	assert_non_null(self);

	struct hosted th = { pl, self, IG_MODE_TRAIN },
	              eh = { pl, self, IG_MODE_EVAL };
	const char *names[] = { "loss", "acc" };
	ig_metric *tm[] = { ig_metric_loss("loss"),
		ig_metric_accuracy("y_pred", "y", -1) };
	ig_metric *em[] = { ig_metric_loss("loss"),
		ig_metric_accuracy("y_pred", "y", -1) };
	ig_engine *trainer = engine_with(&th, names, tm, 2);
	ig_engine *evaluator = engine_with(&eh, names, em, 2);
	ig_data *td = ig_data_new(tr.ops, tr.ctx),
	        *vd = ig_data_new(val.ops, val.ctx);
	assert_non_null(td);
	assert_non_null(vd);

	/* Ignite's pattern: evaluate at every EPOCH_COMPLETED of the trainer */
	struct evaluation ev = { evaluator, vd, 0 };
	assert_true(ig_engine_on(trainer, IG_EVENT_EPOCH_COMPLETED, NULL,
	                evaluate, &ev) != 0);
	ig_run_args ta = IG_RUN_ARGS_INIT;
	ta.max_epochs = 10;
	ta.seed = 5;
	assert_int_equal(ig_engine_run(trainer, td, &ta), 0);
	assert_int_equal(ig_engine_state(trainer)->epoch, 10);
	assert_true(metric(trainer, "loss") < ev.first_loss / 3);
	assert_true(metric(evaluator, "acc") > 0.9);

	ig_engine_free(trainer);
	ig_engine_free(evaluator);
	ig_data_free(td);
	ig_data_free(vd);
	pl->destroy(self);
}

static void
test_meanstd_with_average(void **state)
{
	const char *path =
	    fx_text("m.csv", "1,5\n2,5\n3,5\n4,5\n10,5\n", false);
	ig_param dp[] = { fx_int("batch_size", 2) };
	struct data_source src, none;
	char err[256];

	(void)state;
	fx_csv(path, dp, NP(dp), &src, &none);
	const ig_plugin *pl = builtin_find("meanstd");
	struct hosted h = { pl, pl->create(NULL, 0, err, sizeof err),
		IG_MODE_TRAIN };
	const char *names[] = { "mean.0", "mean2.0", "mean.1", "mean2.1" };
	ig_metric *m[NP(names)];
	for (size_t i = 0; i < NP(names); i++)
		m[i] = ig_metric_average(names[i]);
	ig_engine *e = engine_with(&h, names, m, NP(m));
	ig_data *d = ig_data_new(src.ops, src.ctx);
	ig_run_args a = IG_RUN_ARGS_INIT;

	a.max_epochs = 1;
	assert_int_equal(ig_engine_run(e, d, &a), 0);
	double mean = metric(e, "mean.0"), mean2 = metric(e, "mean2.0");
	assert_true(fabs(mean - 4) < 1e-12);
	assert_true(fabs(sqrt(mean2 - mean * mean) - sqrt(10)) < 1e-12);
	assert_true(metric(e, "mean.1") == 5);
	assert_true(fabs(metric(e, "mean2.1") - 25) < 1e-12);
	ig_engine_free(e);
	ig_data_free(d);
	pl->destroy(h.self);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_softmax_trainer_and_evaluator),
		cmocka_unit_test(test_meanstd_with_average),
	};
	return cmocka_run_group_tests(tests, NULL, fx_cleanup);
}
