/*
 * job_metrics.c - the spec's metrics on the trainer (split train) or the
 * evaluator (split val), and the points they report.
 *
 * Points: iteration-wise train metrics (output, running_average) at every
 * ITERATION_COMPLETED; epoch-wise train metrics at EPOCH_COMPLETED, after
 * every other handler of the job; val metrics whenever evaluate runs.  The
 * per-iteration path looks values up by name and calls the hook: nothing
 * is allocated or formatted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job/job_int.h"

static ig_metric *
metric_new(const ig_spec_metric *m)
{
	switch (m->kind) {
	case IG_METRIC_AVERAGE:
		return ig_metric_average(m->field);
	case IG_METRIC_LOSS:
		return ig_metric_loss(m->field);
	case IG_METRIC_ACCURACY:
		return ig_metric_accuracy(m->field, m->target, m->threshold);
	case IG_METRIC_RUNNING_AVERAGE:
		return ig_metric_running_average(m->field, m->alpha);
	default:
		return ig_metric_output(m->field);
	}
}

static bool
has_evaluate(const ig_spec *spec)
{
	for (size_t i = 0; i < spec->nhandlers; i++)
		if (spec->handlers[i].action == IG_ACTION_EVALUATE)
			return true;
	return false;
}

/* A val metric needs data to measure and an evaluate handler to run it. */
static int
check_val(struct job *job, const ig_spec *spec, size_t i, ig_err *err)
{
	if (job->val == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "metrics[%zu].split: val "
		    "needs a validation split (data.split > 0)",
		    i);
	if (!has_evaluate(spec))
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "metrics[%zu].split: val "
		    "metrics are computed by an evaluate handler; add one",
		    i);
	if (job->evaluator == NULL &&
	    (job->evaluator = ig_engine_new(job_process_eval, job)) == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "metrics: out of memory");
	return 0;
}

/*
 * Pair the averages of meanstd's "mean.J" and "mean2.J" fields, so that the
 * standard deviation the seed's example computes by hand after the run,
 * sqrt(mean2 - mean^2), is a metric of its own: "std.J".
 */
static void
pair_means(struct job *job, const ig_spec *spec)
{
	for (size_t i = 0; i < job->nmetrics; i++) {
		const ig_spec_metric *sq = &spec->metrics[i];
		job->metrics[i].mean_of_square = -1;
		if (sq->kind != IG_METRIC_AVERAGE ||
		    strncmp(sq->field, "mean2.", 6) != 0)
			continue;
		for (size_t k = 0; k < job->nmetrics; k++) {
			const ig_spec_metric *m = &spec->metrics[k];
			if (m->kind == IG_METRIC_AVERAGE &&
			    m->split == sq->split &&
			    strncmp(m->field, "mean.", 5) == 0 &&
			    strcmp(m->field + 5, sq->field + 6) == 0) {
				job->metrics[i].mean_of_square = (int)k;
				snprintf(job->metrics[i].std_name,
				    sizeof(job->metrics[i].std_name), "std.%s",
				    sq->field + 6);
			}
		}
	}
}

int
job_metrics_attach(struct job *job, const ig_spec *spec, ig_err *err)
{
	int rc;

	if (spec->nmetrics == 0)
		return 0;
	if ((job->metrics = calloc(spec->nmetrics, sizeof(*job->metrics))) ==
	    NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "metrics: out of memory");
	for (size_t i = 0; i < spec->nmetrics; i++) {
		const ig_spec_metric *sm = &spec->metrics[i];
		struct job_metric *m = &job->metrics[i];
		ig_metric *metric;

		memcpy(m->name, sm->name, sizeof(m->name));
		m->val = sm->split == IG_SPLIT_VAL;
		m->per_iteration = sm->kind == IG_METRIC_RUNNING_AVERAGE ||
		    sm->kind == IG_METRIC_OUTPUT;
		if (m->val && (rc = check_val(job, spec, i, err)) != 0)
			return rc;
		ig_engine *e = m->val ? job->evaluator : job->trainer;
		if ((metric = metric_new(sm)) == NULL)
			return ig_err_set(
			    err, IG_PROTO_INTERNAL, "metrics: out of memory");
		if (ig_metric_attach(metric, e, m->name) != 0) {
			ig_metric_free(metric);
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "metrics[%zu]: %s", i, ig_engine_error(e));
		}
		job->nmetrics++;
	}
	pair_means(job, spec);
	return 0;
}

int
job_metric_find(const struct job *job, const char *name)
{
	for (size_t i = 0; i < job->nmetrics; i++)
		if (strcmp(job->metrics[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Dropping a new name beyond the cap, rather than failing the run, keeps
 * the run going with every metric it had: nothing checkpointed or to come
 * is lost, and one log line says which name was the first dropped.
 */
bool
job_metric_admit(struct job *job, const char *name)
{
	double v;
	char line[256];

	/* the spec's metric of that name owns its series: two points an
	 * iteration in one series would be neither */
	if (job_metric_find(job, name) >= 0) {
		if (!job->metrics_clash) {
			job->metrics_clash = true;
			snprintf(line, sizeof(line),
			    "metrics: the worker reports %s, which the "
			    "spec's metric of that name records; the worker's value is "
			    "dropped (name it otherwise to keep both)",
			    name);
			job->hooks.log(job->hooks.ud, line);
		}
		return false;
	}
	if (ig_engine_metric(job->trainer, name, &v) ||
	    ig_engine_metric_count(job->trainer) < IG_RUN_METRICS_MAX)
		return true;
	if (!job->metrics_full) {
		job->metrics_full = true;
		snprintf(line, sizeof(line),
		    "metrics: the run has %zu metrics, and a "
		    "worker may add at most %d: %s and any other new ones are "
		    "dropped",
		    ig_engine_metric_count(job->trainer), IG_RUN_METRICS_MAX,
		    name);
		job->hooks.log(job->hooks.ud, line);
	}
	return false;
}

/* ---- points ------------------------------------------------------------- */

/* std.J from the epoch's averages of mean.J and mean2.J (population std;
 * the max guards a constant column against rounding). */
static void
report_std(struct job *job, const struct job_metric *sq, const ig_state *s)
{
	double mean, mean2;

	if (!ig_engine_metric(
	        job->trainer, job->metrics[sq->mean_of_square].name, &mean) ||
	    !ig_engine_metric(job->trainer, sq->name, &mean2))
		return;
	double std = sqrt(fmax(0, mean2 - mean * mean));
	if (ig_engine_set_metric(job->trainer, sq->std_name, std) == 0)
		job->hooks.point(
		    job->hooks.ud, sq->std_name, s->epoch, s->iteration, std);
}

static void
report(struct job *job, const ig_state *s, bool per_iteration)
{
	double v;

	for (size_t i = 0; i < job->nmetrics; i++) {
		const struct job_metric *m = &job->metrics[i];
		if (m->val || m->per_iteration != per_iteration)
			continue;
		if (ig_engine_metric(job->trainer, m->name, &v))
			job->hooks.point(
			    job->hooks.ud, m->name, s->epoch, s->iteration, v);
		if (m->mean_of_square >= 0)
			report_std(job, m, s);
	}
}

static int
on_points(ig_engine *e, int event, void *ud)
{
	struct job *job = ud;

	switch (event) {
	case IG_EVENT_EPOCH_STARTED:
		job->in_epoch = true;
		break;
	case IG_EVENT_ITERATION_COMPLETED:
		report(job, ig_engine_state(e), true);
		break;
	case IG_EVENT_EPOCH_COMPLETED:
		job->in_epoch = false;
		report(job, ig_engine_state(e), false);
		break;
	}
	return 0;
}

int
job_points_attach(struct job *job, ig_err *err)
{
	ig_event_spec events[3] = {
		{ .event = IG_EVENT_EPOCH_STARTED },
		{ .event = IG_EVENT_EPOCH_COMPLETED },
	};
	size_t n = 2;

	/* runs without iteration-wise metrics pay nothing per iteration */
	for (size_t i = 0; i < job->nmetrics; i++) {
		if (!job->metrics[i].val && job->metrics[i].per_iteration) {
			events[n++].event = IG_EVENT_ITERATION_COMPLETED;
			break;
		}
	}
	if (ig_engine_add_handler(job->trainer, events, n, on_points, job) == 0)
		return ig_err_set(err, IG_PROTO_INTERNAL, "metrics: %s",
		    ig_engine_error(job->trainer));
	return 0;
}

int
job_metrics_take_val(struct job *job)
{
	const ig_state *s = ig_engine_state(job->trainer);
	double v;

	for (size_t i = 0; i < job->nmetrics; i++) {
		const struct job_metric *m = &job->metrics[i];
		if (!m->val)
			continue;
		if (!ig_engine_metric(job->evaluator, m->name, &v))
			return ig_engine_raise(job->trainer,
			    "evaluate: metric %s has no value", m->name);
		if (ig_engine_set_metric(job->trainer, m->name, v) != 0)
			return ig_engine_raise(job->trainer,
			    "evaluate: no memory to set "
			    "metric %s",
			    m->name);
		job->hooks.point(
		    job->hooks.ud, m->name, s->epoch, s->iteration, v);
	}
	return 0;
}
