/*
 * job.c - build a job from a run spec, and free it.
 *
 * The order of job_new is the order handlers must fire in: the metrics'
 * handlers first (so actions see this iteration's values), then the
 * plugin's events, the actions in spec order, and last the handlers that
 * report points (so they report what the actions left, e.g. after evaluate).
 */
#include <stdio.h>
#include <stdlib.h>

#include "builtin/builtin.h"
#include "job_int.h"

static int check_engine(const ig_spec *spec, ig_err *err)
{
	if (spec->engine.kind != IG_ENGINE_BUILTIN)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
		                  "engine: plugin and exec engines are not supported yet");
	if (ig_builtin_find(spec->engine.target) != NULL)
		return 0;

	char names[256] = "";
	size_t used = 0;
	const ig_plugin *p;
	for (size_t i = 0; (p = ig_builtin_at(i)) != NULL && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
		                         i > 0 ? ", " : "", p->name);
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	                  "engine: no builtin called \"%s\" (builtins: %s)",
	                  spec->engine.target, names);
}

static int check_run_args(const ig_spec *spec, ig_err *err)
{
	if (spec->data.kind == IG_DATA_WORKER)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "data: worker data "
		                  "comes from an exec engine, which is not supported yet");
	if (spec->data.kind == IG_DATA_NONE && spec->epoch_length == IG_NONE)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "epoch_length: required "
		                  "when the spec has no data");
	return 0;
}

int job_new(uv_loop_t *loop, const ig_spec *spec, uid_t owner, const struct job_hooks *hooks,
            struct job **out, ig_err *err)
{
	struct job *job;
	int rc;

	*out = NULL;
	if ((rc = check_engine(spec, err)) != 0 || (rc = check_run_args(spec, err)) != 0)
		return rc;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "job: out of memory");
	job->loop = loop;
	job->hooks = *hooks;
	job->args = (ig_run_args){ spec->max_epochs, spec->epoch_length, spec->seed };
	job->plugin = ig_builtin_find(spec->engine.target);
	if ((job->trainer = ig_engine_new(job_process_train, job)) == NULL) {
		rc = ig_err_set(err, IG_PROTO_INTERNAL, "job: out of memory");
		goto fail;
	}
	if ((rc = job_data_open(job, spec, owner, err)) != 0 ||
	    (rc = job_plugin_create(job, spec, err)) != 0 ||
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

void job_free(struct job *job)
{
	if (job == NULL)
		return;
	ig_engine_free(job->trainer);
	ig_engine_free(job->evaluator);
	ig_data_free(job->train);
	ig_data_free(job->val);
	if (job->self != NULL)
		job->plugin->destroy(job->self);
	job_actions_free(job);
	free(job->metrics);
	free(job->restore.acc);
	free(job);
}

bool job_busy(const struct job *job)
{
	return job->busy;
}

ig_engine *job_engine(struct job *job)
{
	return job->trainer;
}

ig_data *job_data(struct job *job)
{
	return job->train;
}

ig_run_args job_run_args(const struct job *job)
{
	return job->args;
}
