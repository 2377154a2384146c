/*
 * metrics.h - Ignite's metrics, attached to an engine by name.
 *
 * A metric is reset at EPOCH_STARTED, updated at ITERATION_COMPLETED from the
 * process function's output, and computed into state.metrics at
 * EPOCH_COMPLETED, as Ignite's Metric.attach(engine, name) does.
 * RunningAverage differs as in Ignite: reset at STARTED, computed every
 * iteration.
 *
 * Ownership: ig_metric_*() allocate; ig_metric_attach() hands the metric to
 * the engine, which frees it at ig_metric_detach() or ig_engine_free().  A
 * metric that was never attached is freed with ig_metric_free().
 */
#ifndef IGNITE_METRICS_H
#define IGNITE_METRICS_H

#include "ignite/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ig_metric ig_metric;

/* Mean of the output field `field` over the epoch: a scalar counts once, an
 * array counts each element. */
ig_metric *ig_metric_average(const char *field);
/* Mean of a per-batch loss field, weighted by the batch size: the rows of
 * the batch, or 1 when the batch has none (Ignite's Loss). */
ig_metric *ig_metric_loss(const char *field);
/* Fraction of correct predictions.  pred is a rows x classes matrix (argmax)
 * or, with threshold >= 0 (binary), a vector of scores; target holds labels.
 * Use threshold < 0 for multi-class. */
ig_metric *ig_metric_accuracy(
    const char *pred, const char *target, double threshold);
/* Exponential moving average of a scalar field: v = alpha * v + (1 - alpha) * x. */
ig_metric *ig_metric_running_average(const char *field, double alpha);
/* The latest value of a scalar field, recorded at every iteration. */
ig_metric *ig_metric_output(const char *field);
void ig_metric_free(ig_metric *m);

/* Attach under name; on success the engine owns m.  Fails (and m stays the
 * caller's) when name is taken or the handlers cannot be added. */
int ig_metric_attach(ig_metric *m, ig_engine *e, const char *name);
int ig_metric_detach(ig_engine *e, const char *name);
bool ig_metric_is_attached(const ig_engine *e, const char *name);

/*
 * What an attached metric has accumulated, for checkpoints: an epoch-wise
 * metric's sum and count since EPOCH_STARTED, a running average's value
 * (have is false before its first update).  Fields a kind does not use are
 * 0; an output metric keeps nothing.  A resumed run restores them after the
 * STARTED / EPOCH_STARTED resets, so it goes on as if never stopped.
 */
typedef struct ig_metric_acc {
	double sum, count;
	double value;
	bool have;
} ig_metric_acc;

/* IG_ENOENT when no metric called name is attached. */
int ig_metric_state(const ig_engine *e, const char *name, ig_metric_acc *acc);
/* IG_EINVAL (nothing changed) when count is negative or not finite. */
int ig_metric_set_state(
    ig_engine *e, const char *name, const ig_metric_acc *acc);

#ifdef __cplusplus
}
#endif
#endif
