/*
 * job_actions.c - the spec's declarative handlers: event + filter -> action.
 *
 *   log               the message, or a line with epoch, iteration and
 *                     state.metrics, to hooks->log
 *   checkpoint        hooks->checkpoint
 *   terminate         ig_engine_terminate
 *   terminate_epoch   ig_engine_terminate_epoch
 *   early_stopping    Ignite's EarlyStopping: terminate after patience
 *                     evaluations without an improvement over the best
 *                     score by more than min_delta
 *   terminate_on_nan  Ignite's TerminateOnNan: terminate when the output
 *                     field (or any scalar field) is NaN or infinite
 *   evaluate          run the evaluator over the validation data and copy
 *                     its metrics to the trainer
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/job_int.h"

/* ---- log ---------------------------------------------------------------- */

/* "epoch 3, iteration 1500: loss=0.1234 acc=0.96", ending in "..." if it
 * does not fit. */
static void
default_line(ig_engine *e, char *line, size_t size)
{
	const ig_state *s = ig_engine_state(e);
	size_t used, n = ig_engine_metric_count(e);
	double v;

	used = (size_t)snprintf(line, size, "epoch %lld, iteration %lld%s",
	    (long long)s->epoch, (long long)s->iteration, n > 0 ? ":" : "");
	for (size_t i = 0; i < n && used < size; i++) {
		const char *name = ig_engine_metric_at(e, i, &v);
		used += (size_t)snprintf(
		    line + used, size - used, " %s=%.6g", name, v);
	}
	if (used >= size)
		memcpy(line + size - 4, "...", 4);
}

static int
act_log(struct job_action *a, ig_engine *e)
{
	char line[1024];

	if (a->text != NULL) {
		a->job->hooks.log(a->job->hooks.ud, a->text);
		return 0;
	}
	default_line(e, line, sizeof(line));
	a->job->hooks.log(a->job->hooks.ud, line);
	return 0;
}

/* ---- early_stopping, terminate_on_nan ----------------------------------- */

/* Say why in the run's log (printf-style), and terminate. */
static int __attribute__((format(printf, 3, 4)))
terminate_saying(struct job_action *a, ig_engine *e, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	a->job->hooks.log(a->job->hooks.ud, line);
	ig_engine_terminate(e, false);
	return 0;
}

static int
act_early_stopping(struct job_action *a, ig_engine *e)
{
	double v, score;

	if (!ig_engine_metric(e, a->text, &v))
		return ig_engine_raise(e,
		    "handlers[%zu]: early_stopping: metric %s has no "
		    "value yet; fire it after the metric is computed "
		    "(EPOCH_COMPLETED, or after evaluate)",
		    a->index, a->text);
	score = a->minimize ? -v : v;
	/* Ignite's rules, NaN included: a NaN score counts as progress. */
	if (!a->have_best) {
		a->best = score;
		a->have_best = true;
		return 0;
	}
	if (!(score <= a->best + a->min_delta)) {
		a->best = score;
		a->count = 0;
		return 0;
	}
	if (score > a->best)
		a->best = score;
	if (++a->count < a->patience)
		return 0;
	return terminate_saying(a, e,
	    "early stopping: %s did not improve for %lld "
	    "evaluations; terminating",
	    a->text, (long long)a->count);
}

static bool
field_finite(const ig_field *f)
{
	if (f->data == NULL)
		return isfinite(f->value);
	for (size_t i = 0; i < f->len; i++)
		if (!isfinite(f->data[i]))
			return false;
	return true;
}

static int
act_terminate_on_nan(struct job_action *a, ig_engine *e)
{
	const ig_state *s = ig_engine_state(e);
	const ig_field *bad = NULL;

	if (s->output == NULL)
		return 0;
	if (a->text != NULL) {
		const ig_field *f = ig_output_field(s->output, a->text);
		if (f == NULL)
			return ig_engine_raise(e,
			    "handlers[%zu]: terminate_on_nan: the output "
			    "has no field %s",
			    a->index, a->text);
		bad = field_finite(f) ? NULL : f;
	} else {
		for (size_t i = 0; i < s->output->nfields && bad == NULL; i++) {
			const ig_field *f = &s->output->fields[i];
			if (f->data == NULL && !isfinite(f->value))
				bad = f;
		}
	}
	if (bad == NULL)
		return 0;
	return terminate_saying(a, e,
	    "terminate_on_nan: output %s is NaN or infinite at "
	    "iteration %lld; terminating",
	    bad->name, (long long)s->iteration);
}

/* ---- evaluate ----------------------------------------------------------- */

/* The plugin instance is shared with the trainer: after this, state.output
 * shows the last validation batch's output to the handlers that follow. */
static int
act_evaluate(struct job_action *a, ig_engine *e)
{
	struct job *job = a->job;
	ig_run_args args = { 1, IG_NONE, IG_NONE };

	if (ig_engine_run(job->evaluator, job->val, &args) != 0)
		return ig_engine_raise(
		    e, "evaluate: %s", ig_engine_error(job->evaluator));
	return job_metrics_take_val(job);
}

/* ---- attaching ---------------------------------------------------------- */

static int
on_action(ig_engine *e, int event, void *ud)
{
	struct job_action *a = ud;

	(void)event;
	switch (a->kind) {
	case IG_ACTION_LOG:
		return act_log(a, e);
	case IG_ACTION_CHECKPOINT:
		a->job->hooks.checkpoint(a->job->hooks.ud);
		return 0;
	case IG_ACTION_TERMINATE:
		ig_engine_terminate(e, false);
		return 0;
	case IG_ACTION_TERMINATE_EPOCH:
		ig_engine_terminate_epoch(e, false);
		return 0;
	case IG_ACTION_EARLY_STOPPING:
		return act_early_stopping(a, e);
	case IG_ACTION_TERMINATE_ON_NAN:
		return act_terminate_on_nan(a, e);
	case IG_ACTION_EVALUATE:
		return act_evaluate(a, e);
	}
	return 0;
}

/* What each action needs from the rest of the spec. */
static int
check_action(const struct job *job, const ig_spec_handler *h, size_t i,
    int event, ig_err *err)
{
	switch (h->action) {
	case IG_ACTION_EARLY_STOPPING:
		if (job_metric_find(job, h->metric) < 0)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "handlers[%zu].metric: "
			    "no metric called \"%s\" in metrics",
			    i, h->metric);
		return 0;
	case IG_ACTION_TERMINATE_EPOCH:
		if (event == IG_EVENT_STARTED ||
		    event == IG_EVENT_EPOCH_STARTED)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "handlers[%zu].event: "
			    "terminate_epoch at %s would end the run with an error; "
			    "use an ITERATION_ event",
			    i, h->event);
		return 0;
	case IG_ACTION_EVALUATE:
		if (job->val == NULL)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "handlers[%zu].action: "
			    "evaluate needs a validation split (data.split > 0)",
			    i);
		if (job->evaluator == NULL)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "handlers[%zu].action: "
			    "evaluate computes the metrics with split val; "
			    "there are none",
			    i);
		return 0;
	default:
		return 0;
	}
}

/* The string an action keeps, copied. */
static const char *
action_text(const ig_spec_handler *h)
{
	switch (h->action) {
	case IG_ACTION_LOG:
		return h->message;
	case IG_ACTION_EARLY_STOPPING:
		return h->metric;
	case IG_ACTION_TERMINATE_ON_NAN:
		return h->field;
	default:
		return NULL;
	}
}

static int
attach_one(struct job *job, const ig_spec_handler *h, size_t i, ig_err *err)
{
	struct job_action *a = &job->actions[i];
	const char *text = action_text(h);
	int event = ig_event_from_name(job->trainer, h->event), rc;

	if (event < 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "handlers[%zu].event: the "
		    "engine has no event %s",
		    i, h->event);
	if ((rc = check_action(job, h, i, event, err)) != 0)
		return rc;
	*a = (struct job_action){
		.job = job,
		.index = i,
		.kind = h->action,
		.patience = h->patience,
		.minimize = h->mode == IG_MODE_MIN,
		.min_delta = h->min_delta,
	};
	job->nactions++;
	if (text != NULL && (a->text = strdup(text)) == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "handlers: out of memory");

	ig_filter f = { .every = h->every,
		.before = h->before,
		.after = h->after,
		.once = h->once,
		.nonce = h->nonce };
	if (ig_engine_on(job->trainer, event, &f, on_action, a) == 0)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "handlers[%zu]: %s", i, ig_engine_error(job->trainer));
	return 0;
}

int
job_actions_attach(struct job *job, const ig_spec *spec, ig_err *err)
{
	int rc;

	if (spec->nhandlers == 0)
		return 0;
	if ((job->actions = calloc(spec->nhandlers, sizeof(*job->actions))) ==
	    NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "handlers: out of memory");
	for (size_t i = 0; i < spec->nhandlers; i++)
		if ((rc = attach_one(job, &spec->handlers[i], i, err)) != 0)
			return rc;
	return 0;
}

void
job_actions_free(struct job *job)
{
	for (size_t i = 0; i < job->nactions; i++)
		free(job->actions[i].text);
	free(job->actions);
}
