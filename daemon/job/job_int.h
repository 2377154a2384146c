/*
 * job_int.h - what the job_*.c files share.  The run manager uses job.h.
 *
 *   job.c          build and free a job from a spec
 *   job_data.c     the train and validation data
 *   job_owner.c    open files with the owner's file access
 *   job_plugin.c   the process function: instance, calls, the threadpool
 *   job_exec.c     the exec engine: a worker process as the process function
 *   job_metrics.c  metrics by spec, train vs val, reported points
 *   job_actions.c  the declarative handlers
 *   job_state.c    job_save, job_load and the restore after a resume
 */
#ifndef IGNITED_JOB_INT_H
#define IGNITED_JOB_INT_H

#include "dataset/table.h"
#include "ignite/metrics.h"
#include "ignite/plugin.h"
#include "job/job.h"

/* A metric of the spec.  Train ones are attached to the trainer, val ones
 * to the evaluator (and copied to the trainer by evaluate). */
struct job_metric {
	char name[IG_NAME_MAX + 1];
	bool val;
	bool per_iteration; /* running_average, output */
	/* An average of a "mean2.J" field whose "mean.J" is averaged too (the
	 * meanstd builtin): the metric index of that mean, else -1; the pair
	 * gives "std.J" at every epoch's end. */
	int mean_of_square;
	char std_name[IG_NAME_MAX + 8];
};

/* A declarative handler: one spec.handlers entry. */
struct job_action {
	struct job *job;
	size_t index; /* in spec.handlers, for messages */
	int kind; /* enum ig_action */
	char *text; /* owned: log's message, terminate_on_nan's
	                         * field, early_stopping's metric; or NULL */
	/* early_stopping */
	int64_t patience;
	bool minimize;
	double min_delta;
	/* early_stopping's state, checkpointed */
	bool have_best;
	double best; /* the best score (negated metric when minimizing) */
	int64_t count; /* evaluations since the best */
};

/* The saved accumulators a resumed run gets back (job_state.c). */
struct job_restore {
	ig_handle handle; /* 0 when nothing is pending */
	ig_metric_acc *acc; /* owned; one per job metric */
	bool epoch_pending; /* restore epoch-wise ones at EPOCH_STARTED of */
	int64_t epoch; /* this epoch */
};

struct job {
	uv_loop_t *loop;
	struct job_hooks hooks;
	ig_run_args args;

	const ig_plugin *plugin; /* static storage, or &loaded */
	ig_plugin loaded; /* plugin:PATH's, copied by plugin_load */
	void *dl; /* plugin:PATH's handle, owned; or NULL */
	uid_t owner;
	void *self; /* the instance, owned */
	ig_engine *trainer; /* owned */
	ig_engine *evaluator; /* owned; NULL without val metrics */
	ig_data *train, *val; /* owned; NULL when absent */
	const struct data_table
	    *table; /* csv: borrowed from train, else NULL */

	struct job_metric *metrics; /* owned */
	size_t nmetrics;
	struct job_action *actions; /* owned */
	size_t nactions;

	bool in_epoch; /* between EPOCH_STARTED and EPOCH_COMPLETED */
	bool metrics_full; /* a worker's metric was dropped (and logged) */
	bool
	    metrics_clash; /* a worker reported a spec metric's name (logged) */
	struct job_restore restore;
	/* where its exec worker runs (job_set_placement); NULL: unset */
	char *gpus, *cpus;

	/* A blocking process call (job_plugin.c). */
	uv_work_t work;
	bool busy;
	const ig_batch *work_batch;
	const ig_output *work_out;
	int work_rc;
	char perr[IG_ERR_MAX]; /* the process function's message */

	/* A plugin's save_file or load_file on the threadpool (job_plugin.c),
	 * and the file its load_file resumes from. */
	char *save_path, *ckpt_file; /* owned */
	job_state_fn *save_fn;
	job_loaded_fn *load_fn;
	void *file_arg;
	ig_err file_err;
	bool file_pending; /* job_load left the file to job_load_file */
};

/* job_data.c: open spec.data as owner into job->train, job->val and
 * job->table. */
int job_data_open(
    struct job *job, const ig_spec *spec, uid_t owner, ig_err *err);

/* job_owner.c: run fn(arg) with the file access of owner (see there). */
int job_as_owner(uid_t owner, int (*fn)(void *arg, ig_err *err), void *arg,
    const char *field, ig_err *err);

/* job_plugin.c: resolve spec.engine into job->plugin (and job->dl) */
int job_plugin_resolve(struct job *job, const struct job_config *cfg,
    const ig_spec *spec, uid_t owner, ig_err *err);
int job_plugin_create(
    struct job *job, const ig_spec *spec, uid_t owner, ig_err *err);
/* The process functions of the trainer and the evaluator; ud is the job.
 * The trainer's is chosen once for the resolved plugin's kind (in process,
 * on the threadpool, an exec worker): it runs every iteration. */
ig_process_fn job_process_train(const struct job *job);
int job_process_eval(
    ig_engine *e, const ig_batch *batch, const ig_output **out, void *ud);
/* Forward the events the plugin asks for (on_event) from the trainer. */
int job_plugin_events(struct job *job, ig_err *err);
/* A plugin with save_file: job_request_state and job_set_checkpoint_file
 * for it. */
int job_plugin_save_file(struct job *job, const char *path, job_state_fn *fn,
    void *arg, ig_err *err);
int job_plugin_set_file(struct job *job, const char *path, ig_err *err);

/* job_exec.c: job->plugin is &job_exec_plugin, job->self its instance */
extern const ig_plugin job_exec_plugin;
int job_exec_create(
    struct job *job, const ig_spec *spec, uid_t owner, ig_err *err);
int job_exec_process(struct job *job, ig_engine *e, const ig_batch *batch);
bool job_exec_state_async(const struct job *job);
int job_exec_request_state(struct job *job, const char *path, job_state_fn *fn,
    void *arg, ig_err *err);
int job_exec_set_checkpoint_file(struct job *job, const char *path,
    const void *bytes, size_t len, ig_err *err);

/* job_metrics.c */
int job_metrics_attach(struct job *job, const ig_spec *spec, ig_err *err);
/* The handlers that report points and track the epoch: add them last. */
int job_points_attach(struct job *job, ig_err *err);
/* The index of the metric called name, or -1. */
int job_metric_find(const struct job *job, const char *name);
/* May a worker set the trainer's metric called name: one it has, or a new
 * one while the run has fewer than IG_RUN_METRICS_MAX?  The first refusal
 * is logged. */
bool job_metric_admit(struct job *job, const char *name);
/* After the evaluator ran: copy its metrics to the trainer and report them. */
int job_metrics_take_val(struct job *job);

/* job_actions.c */
int job_actions_attach(struct job *job, const ig_spec *spec, ig_err *err);
void job_actions_free(struct job *job);

#endif
