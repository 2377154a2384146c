/*
 * job_plugin.c - the process function: the engine kind resolved (a
 * builtin, a plugin loaded by plugin_load.c, or an exec worker, job_exec.c),
 * the instance made from the spec's params, its process calls from the
 * trainer and the evaluator, the threadpool for plugins flagged
 * IG_PLUGIN_BLOCKING, and a plugin's state as a file: save_file at a
 * checkpoint and load_file at a resume, both on the threadpool as the run's
 * owner.
 *
 * A blocking trainer call is queued with uv_queue_work and the engine waits
 * (IG_PROCESS_PENDING) until the after-work callback, on the loop thread,
 * completes it and wakes the run.  The evaluator runs inside a trainer
 * handler, which cannot wait, so its calls are made on the loop thread even
 * for a blocking plugin (the ABI allows it: "may run on a worker thread").
 *
 * The callbacks report in a char buffer, not an ig_err: plugin.h is a
 * plugin author's C ABI, which must not break.  The daemon turns that
 * buffer into an ig_err where it calls each one: create here, state_dict
 * and load_state_dict in job_state.c; process's message goes to
 * ig_engine_raise, the engine's own text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin/builtin.h"
#include "job/job_int.h"

static ig_value
param_value(const ig_spec_param *p)
{
	switch (p->type) {
	case IG_PARAM_INT:
		return (ig_value){ .type = IG_VALUE_INT, .u.i = p->v.i };
	case IG_PARAM_DOUBLE:
		return (ig_value){ .type = IG_VALUE_DOUBLE, .u.d = p->v.d };
	case IG_PARAM_BOOL:
		return (ig_value){ .type = IG_VALUE_BOOL, .u.b = p->v.b };
	default:
		return (ig_value){ .type = IG_VALUE_STR, .u.s = p->v.s };
	}
}

static bool
has_param(const ig_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->nparams; i++)
		if (strcmp(spec->params[i].key, key) == 0)
			return true;
	return false;
}

/* Softmax needs its class count; labelled csv data knows it.  0: no default. */
static size_t
default_classes(const struct job *job, const ig_spec *spec)
{
	if (job->plugin != &builtin_softmax || has_param(spec, "classes") ||
	    job->table == NULL)
		return 0;
	return data_table_classes(job->table);
}

static int
find_builtin(struct job *job, const char *name, ig_err *err)
{
	char names[256] = "";
	size_t used = 0;
	const ig_plugin *p;

	if ((job->plugin = builtin_find(name)) != NULL)
		return 0;
	for (size_t i = 0; (p = builtin_at(i)) != NULL && used < sizeof(names);
	     i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used,
		    "%s%s", i > 0 ? ", " : "", p->name);
	return ig_err_set(err, IG_PROTO_INVALID_PARAMS,
	    "engine: no builtin called \"%s\" (builtins: %s)", name, names);
}

int
job_plugin_resolve(struct job *job, const struct job_config *cfg,
    const ig_spec *spec, uid_t owner, ig_err *err)
{
	static const struct plugin_dirs none = { NULL, 0 };

	switch (spec->engine.kind) {
	case IG_ENGINE_BUILTIN:
		return find_builtin(job, spec->engine.target, err);
	case IG_ENGINE_PLUGIN:
		job->plugin = &job->loaded;
		return plugin_load(spec->engine.target, owner,
		    cfg != NULL ? &cfg->plugin_dirs : &none, &job->loaded,
		    &job->dl, err);
	default:
		job->plugin = &job_exec_plugin;
		return 0;
	}
}

static int
create_instance(struct job *job, const ig_spec *spec, ig_err *err)
{
	size_t n = spec->nparams, classes = default_classes(job, spec);
	ig_param *params = calloc(n + 1, sizeof(*params));
	char msg[IG_ERR_MAX] = "";

	if (params == NULL)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "params: out of memory");
	for (size_t i = 0; i < spec->nparams; i++)
		params[i] = (ig_param){ spec->params[i].key,
			param_value(&spec->params[i]) };
	if (classes > 0)
		params[n++] = (ig_param){ "classes",
			{ .type = IG_VALUE_INT, .u.i = (int64_t)classes } };
	job->self =
	    job->plugin->create(n > 0 ? params : NULL, n, msg, sizeof(msg));
	free(params);
	if (job->self == NULL)
		return ig_err_set(err, IG_PROTO_INVALID_PARAMS, "params: %s",
		    msg[0] != '\0' ? msg : "the process function refused them");
	return 0;
}

int
job_plugin_create(
    struct job *job, const ig_spec *spec, uid_t owner, ig_err *err)
{
	if (job->plugin == &job_exec_plugin)
		return job_exec_create(job, spec, owner, err);
	return create_instance(job, spec, err);
}

/* ---- process calls ------------------------------------------------------ */

static int
process_now(struct job *job, ig_engine *e, const ig_batch *batch, int mode,
    const ig_output **out)
{
	/* one byte, not a memset: this runs every iteration */
	job->perr[0] = '\0';
	if (job->plugin->process(
	        job->self, batch, mode, out, job->perr, sizeof(job->perr)) == 0)
		return IG_PROCESS_DONE;
	return ig_engine_raise(e, "%s",
	    job->perr[0] != '\0' ? job->perr : "process function failed");
}

/* Threadpool: nothing here may touch the engine or the loop. */
static void
work_cb(uv_work_t *req)
{
	struct job *job = req->data;

	job->perr[0] = '\0';
	job->work_out = NULL;
	job->work_rc = job->plugin->process(job->self, job->work_batch,
	    IG_MODE_TRAIN, &job->work_out, job->perr, sizeof(job->perr));
}

/* Loop thread. */
static void
after_work_cb(uv_work_t *req, int status)
{
	struct job *job = req->data;
	const char *msg = NULL;

	job->busy = false;
	if (status == UV_ECANCELED)
		msg = "the process call was cancelled";
	else if (job->work_rc != 0)
		msg = job->perr[0] != '\0' ? job->perr :
		                             "process function failed";
	ig_engine_complete(
	    job->trainer, msg == NULL ? job->work_out : NULL, msg);
	job->hooks.wake(job->hooks.ud);
}

static int
process_train_now(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud)
{
	return process_now(ud, e, batch, IG_MODE_TRAIN, out);
}

static int
process_train_exec(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud)
{
	(void)out;
	return job_exec_process(ud, e, batch);
}

/* A blocking plugin's process call runs on libuv's threadpool. */
static int
process_train_queued(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud)
{
	struct job *job = ud;
	int rc;

	(void)out;
	job->work.data = job;
	job->work_batch = batch;
	if ((rc = uv_queue_work(
	         job->loop, &job->work, work_cb, after_work_cb)) != 0)
		return ig_engine_raise(
		    e, "cannot queue the process call: %s", uv_strerror(rc));
	job->busy = true;
	return IG_PROCESS_PENDING;
}

ig_process_fn
job_process_train(const struct job *job)
{
	if (job->plugin == &job_exec_plugin)
		return process_train_exec;
	if (job->plugin->flags & IG_PLUGIN_BLOCKING)
		return process_train_queued;
	return process_train_now;
}

int
job_process_eval(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud)
{
	return process_now(ud, e, batch, IG_MODE_EVAL, out);
}

/* ---- the plugin's own event hook ---------------------------------------- */

static int
on_event_cb(ig_engine *e, int event, void *ud)
{
	struct job *job = ud;

	job->perr[0] = '\0';
	if (job->plugin->on_event(job->self, event, ig_engine_state(e),
	        job->perr, sizeof(job->perr)) == 0)
		return 0;
	return ig_engine_raise(
	    e, "%s", job->perr[0] != '\0' ? job->perr : "event hook failed");
}

int
job_plugin_events(struct job *job, ig_err *err)
{
	if (job->plugin->on_event == NULL)
		return 0;
	for (int ev = 0; ev < IG_EVENT_CORE_COUNT; ev++) {
		if ((job->plugin->event_mask & (1u << ev)) == 0)
			continue;
		if (ig_engine_on(job->trainer, ev, NULL, on_event_cb, job) == 0)
			return ig_err_set(err, IG_PROTO_INTERNAL, "engine: %s",
			    ig_engine_error(job->trainer));
	}
	return 0;
}

/* ---- the state as a file (save_file, load_file) ------------------------ */

/* A plugin's save_file or load_file, called as the run's owner. */
struct file_call {
	struct job *job;
	bool save;
};

static int
file_as_owner(void *arg, ig_err *err)
{
	struct file_call *fc = arg;
	struct job *job = fc->job;
	char msg[IG_ERR_MAX] = "";
	int rc = fc->save ?
	    job->plugin->save_file(
	        job->self, job->save_path, msg, sizeof(msg)) :
	    job->plugin->load_file(job->self, job->ckpt_file, msg, sizeof(msg));

	if (rc == 0)
		return 0;
	return ig_err_set(err, IG_PROTO_INTERNAL, "%s",
	    msg[0] != '\0' ? msg :
	        fc->save   ? "the plugin's save_file failed" :
	                     "the plugin refused its state file");
}

static int
file_call(struct job *job, bool save, ig_err *err)
{
	struct file_call fc = { job, save };

	return job_as_owner(job->owner, file_as_owner, &fc, "checkpoint", err);
}

/* Threadpool: the run waits (at its clean point for a save, before its
 * first step for a load), so nothing else calls the instance meanwhile.
 * save_path is set for a save only. */
static void
file_work(uv_work_t *req)
{
	struct job *job = req->data;

	file_call(job, job->save_path != NULL, &job->file_err);
}

static void
file_done(uv_work_t *req, int status)
{
	struct job *job = req->data;
	job_state_fn *saved = job->save_fn;
	job_loaded_fn *loaded = job->load_fn;
	const char *msg = NULL;

	job->busy = false;
	job->save_fn = NULL;
	job->load_fn = NULL;
	free(job->save_path);
	job->save_path = NULL;
	if (status != 0)
		msg = "ignited is stopping";
	else if (job->file_err.code != 0)
		msg = job->file_err.message;
	if (saved != NULL) {
		saved(job->file_arg, NULL, 0, msg == NULL, msg);
		return;
	}
	job->file_pending = msg != NULL;
	loaded(job->file_arg, msg);
}

/* save_file into path, then saved(arg, ...), or load_file (path NULL),
 * then loaded(arg, ...), on the threadpool; job_free waits for it (busy),
 * as for a blocking process call. */
static int
file_later(struct job *job, const char *path, job_state_fn *saved,
    job_loaded_fn *loaded, void *arg, ig_err *err)
{
	int rc;

	if (job->busy)
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "checkpoint: the plugin is busy");
	if (path != NULL && (job->save_path = strdup(path)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	job->file_err = (ig_err){ 0 };
	job->work.data = job;
	if ((rc = uv_queue_work(job->loop, &job->work, file_work, file_done)) !=
	    0) {
		free(job->save_path);
		job->save_path = NULL;
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "cannot queue the plugin's %s: %s",
		    path != NULL ? "save_file" : "load_file", uv_strerror(rc));
	}
	job->save_fn = saved;
	job->load_fn = loaded;
	job->file_arg = arg;
	job->busy = true;
	return 0;
}

int
job_plugin_save_file(
    struct job *job, const char *path, job_state_fn *fn, void *arg, ig_err *err)
{
	/* an instance whose state is not loaded yet has none to save */
	if (job->file_pending)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE,
		    "checkpoint: the plugin has not read its state file yet");
	return file_later(job, path, fn, NULL, arg, err);
}

int
job_plugin_set_file(struct job *job, const char *path, ig_err *err)
{
	if (job->plugin->load_file == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: a file for a plugin without load_file");
	free(job->ckpt_file);
	if ((job->ckpt_file = strdup(path)) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	return 0;
}

bool
job_file_pending(const struct job *job)
{
	return job->file_pending;
}

int
job_load_file(struct job *job, job_loaded_fn *fn, void *arg, ig_err *err)
{
	if (job->ckpt_file == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL,
		    "checkpoint: the plugin's state is in a file, and the "
		    "checkpoint names none");
	return file_later(job, NULL, NULL, fn, arg, err);
}
