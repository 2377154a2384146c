/*
 * embed - the seed's "basic trainer", embedded: fit y = 3x - 1 by SGD on a
 * linear model and log the batch loss every 100 iterations, as Ignite's
 * example does with @trainer.on(Events.ITERATION_COMPLETED(every=100)).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ignite/engine.h"
#include "ignite/metrics.h"

#define N_BATCHES 400
#define BATCH 16

struct model {
	double w, b, lr;
	double x[N_BATCHES][BATCH], y[N_BATCHES][BATCH];
	ig_field loss;
	ig_output out;
};

static int
update_model(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud)
{
	struct model *m = ud;
	const double *x = m->x[batch->index], *y = m->y[batch->index];
	double gw = 0, gb = 0, loss = 0;

	(void)e;
	for (int i = 0; i < BATCH; i++) {
		double err = m->w * x[i] + m->b - y[i];
		loss += err * err / BATCH;
		gw += 2 * err * x[i] / BATCH;
		gb += 2 * err / BATCH;
	}
	m->w -= m->lr * gw;
	m->b -= m->lr * gb;
	m->loss = (ig_field){ .name = "loss", .value = loss };
	m->out = (ig_output){ .fields = &m->loss, .nfields = 1 };
	*out = &m->out;
	return IG_PROCESS_DONE;
}

static int
log_training(ig_engine *e, int event, void *ud)
{
	const ig_state *s = ig_engine_state(e);
	const struct model *m = ud;

	(void)event;
	printf("Epoch %lld/%lld : %lld - batch loss: %.6f, lr: %g\n",
	    (long long)s->epoch, (long long)s->max_epochs,
	    (long long)s->iteration, ig_output_field(s->output, "loss")->value,
	    m->lr);
	return 0;
}

static int
log_epoch(ig_engine *e, int event, void *ud)
{
	const ig_state *s = ig_engine_state(e);
	const struct model *m = ud;
	double loss = 0;

	(void)event;
	ig_engine_metric(e, "loss", &loss);
	printf("Epoch %lld done in %.3f ms: mean loss %.6f, w=%.4f b=%.4f\n",
	    (long long)s->epoch, s->time_epoch * 1e3, loss, m->w, m->b);
	return 0;
}

int
main(void)
{
	static struct model m = { .lr = 0.05 };
	ig_filter every100 = { .every = 100 };
	ig_run_args args = IG_RUN_ARGS_INIT;
	ig_engine *trainer;
	ig_metric *loss;
	ig_data *data;
	int rc = 1;

	srand(7);
	for (int i = 0; i < N_BATCHES; i++)
		for (int j = 0; j < BATCH; j++) {
			m.x[i][j] = (double)rand() / RAND_MAX * 2 - 1;
			m.y[i][j] = 3 * m.x[i][j] - 1 +
			    ((double)rand() / RAND_MAX - 0.5) * 0.1;
		}
	trainer = ig_engine_new(update_model, &m);
	data = ig_data_range(N_BATCHES);
	loss = ig_metric_loss("loss");
	if (trainer == NULL || data == NULL || loss == NULL) {
		fprintf(stderr, "embed: out of memory\n");
		goto out;
	}
	if (ig_metric_attach(loss, trainer, "loss") != 0) {
		ig_metric_free(loss);
		goto fail;
	}
	if (ig_engine_on(trainer, IG_EVENT_ITERATION_COMPLETED, &every100,
	        log_training, &m) == 0 ||
	    ig_engine_on(
	        trainer, IG_EVENT_EPOCH_COMPLETED, NULL, log_epoch, &m) == 0)
		goto fail;
	args.max_epochs = 5;
	args.seed = 12;
	if (ig_engine_run(trainer, data, &args) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "embed: %s\n", ig_engine_error(trainer));
out:
	ig_engine_free(trainer);
	ig_data_free(data);
	return rc;
}
