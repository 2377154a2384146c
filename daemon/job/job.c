/*
 * job.c - build a job from a run spec, and free it.
 *
 * The order of job_new is the order handlers must fire in: the metrics'
 * handlers first (so actions see this iteration's values), then the
 * plugin's events, the actions in spec order, and last the handlers that
 * report points (so they report what the actions left, e.g. after evaluate).
 */
#include <stdlib.h>

#include "job/job_int.h"

/* An evaluator runs inside a trainer handler, which cannot wait for a
 * worker's answer. */
static int
check_exec(const ig_spec *spec, ig_err *err)
{
	if (spec->engine.kind != IG_ENGINE_EXEC)
		return 0;
	for (size_t i = 0; i < spec->nhandlers; i++)
		if (spec->handlers[i].action == IG_ACTION_EVALUATE)
			return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
			    "handlers[%zu]: evaluate is "
			    "not supported with exec engines; let the worker report "
			    "validation figures as metrics",
			    i);
	return 0;
}

static int
check_run_args(const ig_spec *spec, ig_err *err)
{
	if (spec->data.kind == IG_DATA_NONE && spec->epoch_length == IG_NONE)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "epoch_length: required "
		    "when the spec has no data");
	if (spec->data.kind == IG_DATA_WORKER && spec->epoch_length == IG_NONE)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		    "epoch_length: required "
		    "when the worker makes its own data");
	return 0;
}

/* The engine's warnings go to the run's log. */
static void
on_warning(ig_engine *e, const char *message, void *ud)
{
	struct job *job = ud;
	char line[600];

	(void)e;
	snprintf(line, sizeof(line), "warning: %s", message);
	job->hooks.log(job->hooks.ud, line);
}

int
job_new(uv_loop_t *loop, const struct job_config *cfg, const ig_spec *spec,
    uid_t owner, const struct job_hooks *hooks, struct job **out, ig_err *err)
{
	struct job *job;
	int rc;

	*out = NULL;
	if ((rc = check_exec(spec, err)) != 0)
		return rc;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "job: out of memory");
	job->loop = loop;
	job->hooks = *hooks;
	job->owner = owner;
	job->args =
	    (ig_run_args){ spec->max_epochs, spec->epoch_length, spec->seed };
	/* the engine first: the other checks depend on its kind */
	if ((rc = job_plugin_resolve(job, cfg, spec, owner, err)) != 0 ||
	    (rc = check_run_args(spec, err)) != 0)
		goto fail;
	if ((job->trainer = ig_engine_new(job_process_train(job), job)) ==
	    NULL) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "job: out of memory");
		goto fail;
	}
	ig_engine_on_warning(job->trainer, on_warning, job);
	if ((rc = job_data_open(job, spec, owner, err)) != 0 ||
	    (rc = job_plugin_create(job, spec, owner, err)) != 0 ||
	    (rc = job_metrics_attach(job, spec, err)) != 0 ||
	    (rc = job_plugin_events(job, err)) != 0 ||
	    (rc = job_actions_attach(job, spec, err)) != 0 ||
	    (rc = job_points_attach(job, err)) != 0)
		goto fail;
	*out = job;
	return 0;
fail:
	job_free(job);
	return rc;
}

void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	ig_engine_free(job->trainer);
	ig_engine_free(job->evaluator);
	ig_data_free(job->train);
	ig_data_free(job->val);
	if (job->self != NULL)
		job->plugin->destroy(job->self);
	plugin_unload(job->dl);
	job_actions_free(job);
	free(job->metrics);
	free(job->restore.acc);
	free(job->gpus);
	free(job->cpus);
	free(job->save_path);
	free(job->ckpt_file);
	free(job);
}

int
job_set_placement(struct job *job, const char *gpus, const char *cpus)
{
	char *g = strdup(gpus), *c = strdup(cpus);

	if (g == NULL || c == NULL) {
		free(g);
		free(c);
		return -1;
	}
	free(job->gpus);
	free(job->cpus);
	job->gpus = g;
	job->cpus = c;
	return 0;
}

bool
job_busy(const struct job *job)
{
	return job->busy;
}

bool
job_state_async(const struct job *job)
{
	if (job->plugin == &job_exec_plugin)
		return job_exec_state_async(job);
	return job->plugin->save_file != NULL;
}

int
job_request_state(
    struct job *job, const char *path, job_state_fn *fn, void *arg, ig_err *err)
{
	if (job->plugin == &job_exec_plugin)
		return job_exec_request_state(job, path, fn, arg, err);
	return job_plugin_save_file(job, path, fn, arg, err);
}

int
job_set_checkpoint_file(struct job *job, const char *path, const void *bytes,
    size_t len, ig_err *err)
{
	if (job->plugin == &job_exec_plugin)
		return job_exec_set_checkpoint_file(job, path, bytes, len, err);
	/* a plugin reads the file itself, whatever its size */
	return job_plugin_set_file(job, path, err);
}

ig_engine *
job_engine(struct job *job)
{
	return job->trainer;
}

ig_data *
job_data(struct job *job)
{
	return job->train;
}

ig_run_args
job_run_args(const struct job *job)
{
	return job->args;
}
