/*
 * control.c - the control verbs: terminate, pause, resume, delete.
 */
#include "runs/runs_int.h"

int
run_terminate(struct run *run, bool epoch_only, run_done_fn *ended, void *arg,
    bool *later, ig_err *err)
{
	bool stopped =
	    run->status == IG_STATUS_PAUSED || run->status == IG_STATUS_QUEUED;

	if (run->rebuilding || run->pausing)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE,
		    "run %lld is being %s; retry", (long long)run->id,
		    run->pausing ? "paused" : "set up");
	if ((!live(run) && run->status != IG_STATUS_PAUSED) ||
	    (epoch_only && run->status != IG_STATUS_RUNNING))
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is %s",
		    (long long)run->id, ig_status_name(run->status));
	if (run->ending >= 0)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld is being terminated", (long long)run->id);
	/* nothing runs: it ends where it stands, answered once recorded */
	if (stopped)
		return queue_terminate(run, ended, arg, later);
	/* a run placed on a cluster whose worker has not connected has
	 * nobody to finish its iteration: it ends where it stands */
	if (!epoch_only && remote_waiting(run)) {
		run->waiting = false;
		return queue_terminate(run, ended, arg, later);
	}
	ig_engine *e = job_engine(run->job);
	if (epoch_only) {
		ig_engine_terminate_epoch(e, false);
		return 0;
	}
	*later = false;
	/* the step that reads the flag is not held back for the store */
	unthrottle(run);
	ig_engine_terminate(e, false);
	return 0;
}

int
run_pause(struct run *run, ig_err *err)
{
	if (run->rebuilding)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE,
		    "run %lld is being set up (its worker restarting, or its "
		    "state read back); retry",
		    (long long)run->id);
	if (run->pausing)
		return 0; /* on its way: running until its pause commits */
	if (!live(run) || run->status != IG_STATUS_RUNNING)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld is %s",
		    (long long)run->id, ig_status_name(run->status));
	if (remote_waiting(run)) {
		/* no worker to stop: its last checkpoint stands, and its
		 * resume submits a job that starts from there */
		run->waiting = false;
		run_log(run, LOG_INFO, "paused while waiting for its worker");
		set_paused(run, run->reason);
		return 0;
	}
	run->suspend = SUSPEND_PAUSE;
	unthrottle(run); /* on to its clean point */
	return 0;
}

int
run_resume(struct run *run, int64_t max_epochs, run_done_fn *done, void *arg,
    bool *later, ig_err *err)
{
	struct rebuild *rb;

	*later = false;
	/* its history may be cut back to a checkpoint */
	history_forget(run->mgr->history, run->id);
	if (run->rebuilding || run->pausing)
		return ig_err_set(err, IG_PROTO_UNAVAILABLE,
		    "run %lld is being %s; retry", (long long)run->id,
		    run->pausing ? "paused" : "set up");
	if (run->status == IG_STATUS_RUNNING || run->status == IG_STATUS_QUEUED)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld is already %s", (long long)run->id,
		    ig_status_name(run->status));
	if (run->ending >= 0)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld is being terminated", (long long)run->id);
	if (run->status == IG_STATUS_FAILED && max_epochs == IG_NONE)
		return ig_err_set(err, IG_PROTO_CONFLICT, "run %lld failed: %s",
		    (long long)run->id, run->reason != NULL ? run->reason : "");
	if (live(run) && (run->store_failed || run->remote != NULL)) {
		/* points and checkpoints after the failure never reached the
		 * store: continue from what it holds, not from memory; a run
		 * placed on a cluster had its job cancelled at the pause, and
		 * a new one starts from the pause's checkpoint */
		if (job_busy(run->job))
			return ig_err_set(err, IG_PROTO_UNAVAILABLE,
			    "run %lld is finishing an "
			    "iteration; retry",
			    (long long)run->id);
		job_free(run->job);
		run->job = NULL;
		run->store_failed = false;
	}
	if (live(run))
		return resume_engine(run, max_epochs, err);
	if (max_epochs == IG_NONE && run->status != IG_STATUS_PAUSED)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld is %s: give max_epochs "
		    "above its epoch to run it further",
		    (long long)run->id, ig_status_name(run->status));
	/* its job is built again from its last checkpoint, off the loop */
	if ((rb = calloc(1, sizeof(*rb))) == NULL)
		return ig_err_set(err, IG_PROTO_INTERNAL, "out of memory");
	/* a paused run holds nothing: its job is built again from the
	 * checkpoint it paused at (or, if that failed, the one before); one
	 * placed on a cluster may have paused before its first checkpoint:
	 * it starts over */
	*rb = (struct rebuild){ .then = resumed,
		.start_over =
		    run->status == IG_STATUS_PAUSED || run->remote != NULL,
		.done = done,
		.arg = arg,
		.max_epochs = max_epochs };
	if (rebuild_later(run, rb, err) != 0)
		return err->code;
	*later = true;
	return 0;
}

/* A deleted run's checkpoint directory, removed off the loop once the
 * delete has committed (before, a crash would keep a run whose files are
 * gone). */
struct rm_dir {
	uv_work_t work;
	uv_loop_t *loop;
	uid_t owner;
	char dir[PATH_MAX];
};

static void
rm_dir_work(uv_work_t *w)
{
	struct rm_dir *r = w->data;

	ckfile_remove_dir(r->dir, r->owner);
}

static void
rm_dir_done(uv_work_t *w, int status)
{
	(void)status;
	free(w->data);
}

static void
on_deleted(void *arg, const ig_err *err)
{
	struct rm_dir *r = arg;

	r->work.data = r;
	if (err != NULL ||
	    uv_queue_work(r->loop, &r->work, rm_dir_work, rm_dir_done) != 0)
		free(r);
}

int
runs_delete(struct runs *mgr, struct run *run, ig_err *err)
{
	struct rm_dir *r = NULL;

	if (live(run) || run->ending >= 0 || run->rebuilding || run->pausing)
		return ig_err_set(err, IG_PROTO_CONFLICT,
		    "run %lld is %s: terminate it first", (long long)run->id,
		    ig_status_name(run->status));
	if (mgr->cfg->checkpoint_dir != NULL &&
	    (r = calloc(1, sizeof(*r))) != NULL) {
		r->loop = mgr->loop;
		r->owner = run->owner;
		run_dir(run, r->dir, sizeof(r->dir));
	}
	if (store_delete_run(
	        mgr->store, run->id, r != NULL ? on_deleted : NULL, r) != 0) {
		free(r);
		return ig_err_set(
		    err, IG_PROTO_INTERNAL, "the store refused the delete");
	}
	history_forget(mgr->history, run->id);
	log_msg(LOG_INFO, run->id, "deleted");
	runs_remove(mgr, run);
	run_free(run);
	return 0;
}
